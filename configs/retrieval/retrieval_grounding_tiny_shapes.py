# Image-text retrieval trained jointly with visual grounding (mPLUG-2 trains one model on several
# tasks): configs/retrieval/retrieval_tiny_shapes.py plus the grounding head of
# configs/grounding/grounding_tiny_shapes.py on a share of the referring expressions. Batches mix
# caption pairs and expressions (ConcatDataset); each sample goes to its task's heads
# (`task_heads`: ITC + ITM for retrieval). Grounding teaches the vision encoder the shapes, which
# retrieval alone does not learn in the time (see the README).
#   python tools/train.py configs/retrieval/retrieval_grounding_tiny_shapes.py
# mean R@1 0.399 after 3 epochs, 8 min 34 s on 2 cores (0.446 in 9 min 35 s before the encoder
# outputs were kept for ITM and AdamW fused: the spread between runs; retrieval alone: 0.40);
# validates once, at the end.
_base_ = ['./retrieval_tiny_shapes.py']

retrieval_train = {{_base_.train_dataloader.dataset}}
grounding_train = dict(
    type='RefCOCODataset', data_root='data/shapes', ann_file='annotations/refs(unc).p',
    instances_file='annotations/instances.json', data_prefix=dict(img_path='images/'),
    split='train', pipeline=[dict(type='ImageResize', size=96), dict(type='PackMultimodalInputs')],
    fraction=0.25)   # a quarter of the 14,879 expressions (every 4th): the time budget
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ConcatDataset', datasets=[retrieval_train, grounding_train],
    ignore_keys=['task']))   # the datasets' METAINFO differ only in their task
model = dict(
    heads=dict(grounding=dict(type='GroundingHead', mode='patch', embed_dims=128,
                              loss_l1_weight=5.0, loss_giou_weight=2.0)),
    task_heads=dict(retrieval=['itc', 'itm'], grounding='grounding'))
train_cfg = dict(val_interval={{_base_.max_epochs}})
