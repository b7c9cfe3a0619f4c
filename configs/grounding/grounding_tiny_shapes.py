# Visual grounding (mPLUG-2 Table 2 row: text encoder + image encoder + universal layers + fusion +
# shared decoder), tiny CPU modules, on the generated shapes set (RefCOCO layout).
# Difference from Table 2: this config uses GroundingHead(mode='patch') - the fused [CLS] of the
# expression scores every visual patch, the patch holding the box centre is the target of a
# cross-entropy, and an MLP regresses the box from that patch (L1 + GIoU) - so it has NO decoder
# slot. The Table 2 path, mode='decoder' (the shared decoder generates the quantised box
# "x1 y1 x2 y2" as number tokens 0..99 from the fused features), needs the decoder slot; it and
# mode='regression' (one box from the fused [CLS]) collapsed to the mean box in CPU minutes, where
# the patch mode learns within its first epoch (README, docs/results.md).
# pred_bboxes and gt_bboxes: xyxy pixels of the resized 96 x 96 input image.
# Modules: _base_/modules/pair_encoders_w128.py (width 128), head: _base_/modules/grounding_w128.py.
#   python tools/train.py configs/grounding/grounding_tiny_shapes.py
# acc@0.5 0.76 (mean IoU 0.68) after 4 epochs, 6 min 11 s on 2 cores; see docs/results.md
_base_ = ['../_base_/datasets/shapes_grounding.py', '../_base_/modules/pair_encoders_w128.py',
          '../_base_/modules/grounding_w128.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']
data_root = 'data/shapes'
model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', text_field='text', max_length=20,
                           tokenizer={{_base_.tokenizer}}),
    vision_encoder={{_base_.vision_encoder}},
    text_encoder={{_base_.text_encoder}},
    universal={{_base_.universal}},
    fusion={{_base_.fusion}},
    heads=dict(grounding={{_base_.grounding_head}}),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion'),
)
train_dataloader = dict(batch_size=16, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
max_epochs = 4
# 930 iterations per epoch (14,879 expressions / 16): the base schedule's 30 warm-up iterations
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
default_hooks = dict(checkpoint=dict(save_best='grounding/accuracy', rule='greater'))
