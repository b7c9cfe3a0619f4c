# Video classification, mPLUG-2 Table 2 row "Video Classification": video encoder + universal
# layers, a linear head on the pooled feature. 7 events of the moving shapes; "moves left/right/
# up/down" and "appears/disappears" need the order of the frames (time-reversed pairs).
#   python tools/make_moving_shapes.py && python tools/train.py configs/video_classification/video_cls_tiny_moving_shapes.py
_base_ = ['../_base_/datasets/moving_shapes_cls.py', '../_base_/modules/video_tiny.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/default.py']
model = dict(
    type='ComposedModel',
    vision_encoder={{_base_.vision_encoder}},
    universal={{_base_.universal}},
    heads=dict(cls=dict(type='ClassificationHead', num_classes=7, in_dims=128,
                        label_smoothing=0.1)),
    required_slots=('vision_encoder', 'universal'),
)
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=5e-4))
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
