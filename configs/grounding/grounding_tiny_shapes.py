# Visual grounding (mPLUG-2 Table 2 row: text encoder + image encoder + universal layers + fusion +
# shared decoder), tiny CPU modules, on the generated shapes set (RefCOCO layout).
# Difference from Table 2: this config uses GroundingHead(mode='patch') - the fused [CLS] of the
# expression scores every visual patch, the patch holding the box centre is the target of a
# cross-entropy, and an MLP regresses the box from that patch (L1 + GIoU) - so it has NO decoder
# slot. The Table 2 path, mode='decoder' (the shared decoder generates the quantised box
# "x1 y1 x2 y2" as number tokens 0..99 from the fused features), needs the decoder slot; it and
# mode='regression' (one box from the fused [CLS]) stayed near acc@0.5 0.02 in CPU minutes, the
# patch mode reaches 0.62 after one epoch (see the README).
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
    heads=dict(grounding=dict(type='GroundingHead', mode='patch', embed_dims=C,
                              loss_l1_weight=5.0, loss_giou_weight=2.0)),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion'),
)
train_dataloader = dict(batch_size=16, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# 930 iterations per epoch (14,879 expressions / 16), ~1.5 min on 2 cores: 30 warm-up
# iterations, then cosine over the run
param_scheduler = [
    dict(type='LinearLR', start_factor=0.05, by_epoch=False, begin=0, end=30),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=0, end=max_epochs, eta_min=1e-5,
         convert_to_iter_based=True),
]
default_hooks = dict(checkpoint=dict(save_best='grounding/accuracy', rule='greater'))
