# Image-text retrieval trained jointly with visual grounding (mPLUG-2 trains one model on several
# tasks): configs/retrieval/retrieval_tiny_shapes.py plus the grounding head of
# configs/grounding/grounding_tiny_shapes.py on a share of the referring expressions. Batches mix
# caption pairs and expressions (ConcatDataset); each sample goes to its task's heads
# (`task_heads`: ITC + ITM for retrieval). Grounding teaches the vision encoder the shapes, which
# retrieval alone does not learn in the time (see the README).
#   python tools/train.py configs/retrieval/retrieval_grounding_tiny_shapes.py
# The vision encoder adds a convolutional stem to its patch projection (stem='hybrid', as the VQA +
# grounding config does) and the learning rate warms up over 200 iterations instead of 30: with the
# stem and the short warm-up, ITC stayed on its starting plateau; with the long one it leaves it
# during epoch 2. Validates once, at the end. See the README ("Where the objects are").
# mean R@1 0.542 after 3 epochs, 9 min 08 s on 2 cores (0.566 with seed 1); see docs/results.md
max_epochs = {{_base_.max_epochs}}
_base_ = ['./retrieval_tiny_shapes.py', '../_base_/datasets/shapes_refcoco.py',
          '../_base_/modules/grounding_w128.py']

retrieval_train = {{_base_.train_dataloader.dataset}}
# a quarter of the 14,879 expressions (every 4th): the time budget
grounding_train = dict(_base_.refcoco_shapes, fraction=0.25)
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ConcatDataset', datasets=[retrieval_train, grounding_train],
    ignore_keys=['task']))   # the datasets' METAINFO differ only in their task
model = dict(
    vision_encoder=dict(stem='hybrid'),   # patch projection + convolutional stem
    heads=dict(grounding={{_base_.grounding_head}}),
    task_heads=dict(retrieval=['itc', 'itm'], grounding='grounding'))
train_cfg = dict(val_interval=max_epochs)
param_scheduler = _base_.param_scheduler
param_scheduler[0].end = 200   # warm-up iterations
