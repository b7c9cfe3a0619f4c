# VQA trained jointly with visual grounding (mPLUG-2 trains one model on several tasks): the
# same composed model as configs/vqa/vqa_tiny_shapes.py plus the grounding head of
# configs/grounding/grounding_tiny_shapes.py. Every batch mixes VQA questions and referring
# expressions (ConcatDataset); each sample carries its dataset's task and goes to that task's head
# (`task_heads`), the question or the expression is its text (`text_field`).
# Why: VQA alone does not teach the vision encoder the shapes (a linear probe on its patch features
# reads an object's shape no better than at initialisation), and its shape questions stay at chance.
# Grounding scores every patch against the expression and does teach them. The vision encoder adds a
# small convolutional stem to its patch projection (stem='hybrid'): 0.686 -> 0.766. See the README.
#   python tools/train.py configs/vqa/vqa_grounding_tiny_shapes.py
#   python tools/test.py configs/vqa/vqa_grounding_tiny_shapes.py work_dirs/.../epoch_4.pth
# validates and tests on VQA (0.766 after these 4 epochs, 9 min 13 s on 2 cores; VQA alone: see
# vqa_tiny_shapes.py). tools/infer.py answers with --question, or boxes with --task grounding --text.
_base_ = ['./vqa_tiny_shapes.py']

vqa_train = {{_base_.train_dataloader.dataset}}
grounding_train = dict(
    type='RefCOCODataset', data_root='data/shapes', ann_file='annotations/refs(unc).p',
    instances_file='annotations/instances.json', data_prefix=dict(img_path='images/'),
    split='train', pipeline=[dict(type='ImageResize', size=96), dict(type='PackMultimodalInputs')],
    fraction=0.5)   # half of the 14,879 expressions (every 2nd): the time budget
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ConcatDataset', datasets=[vqa_train, grounding_train],
    ignore_keys=['task']))   # the datasets' METAINFO differ only in their task
model = dict(
    vision_encoder=dict(stem='hybrid'),   # patch projection + convolutional stem (README)
    data_preprocessor=dict(text_field=('question', 'text')),
    heads=dict(grounding=dict(type='GroundingHead', mode='patch', embed_dims=128,
                              loss_l1_weight=5.0, loss_giou_weight=2.0)),
    task_heads=dict(vqa='vqa', grounding='grounding'))
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5,
         convert_to_iter_based=True),
]
