# Visual grounding (mPLUG-2 Table 2 row: text encoder + image encoder + universal layers + fusion +
# shared decoder), tiny CPU modules, on the generated shapes set (RefCOCO layout).
# Difference from Table 2: this config uses GroundingHead(mode='regression') - an MLP on the fused
# [CLS] regresses the normalised (cx, cy, w, h) with L1 + GIoU (TransVG-style) - so it has NO
# decoder slot. The Table 2 path, mode='decoder' (the shared decoder generates the quantised box
# "x1 y1 x2 y2" as number tokens 0..99 from the fused features), needs the decoder slot.
# pred_bboxes and gt_bboxes: xyxy pixels of the resized 96 x 96 input image.
# Modules: _base_/modules/pair_encoders_w128.py (width 128).
#   python tools/train.py configs/grounding/grounding_tiny_shapes.py
_base_ = ['../_base_/datasets/shapes_grounding.py', '../_base_/modules/pair_encoders_w128.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/default.py']
data_root = 'data/shapes'
C = 128
model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', text_field='text', max_length=20,
                           tokenizer={{_base_.tokenizer}}),
    vision_encoder={{_base_.vision_encoder}},
    text_encoder={{_base_.text_encoder}},
    universal={{_base_.universal}},
    fusion={{_base_.fusion}},
    heads=dict(grounding=dict(type='GroundingHead', mode='regression', embed_dims=C,
                              loss_l1_weight=5.0, loss_giou_weight=2.0)),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion'),
)
train_dataloader = dict(batch_size=16, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
# 930 iterations per epoch (14,879 expressions / 16): 30 warm-up iterations, then cosine
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=False, begin=30, end=930, eta_min=1e-5),
]
default_hooks = dict(checkpoint=dict(save_best='grounding/accuracy', rule='greater'))
