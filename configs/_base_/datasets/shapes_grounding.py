# Visual grounding on the generated "shapes" set in the RefCOCO layout (shapes_refcoco.py): one
# sample per referring expression, gt_bboxes [1, 4] xyxy. ImageResize scales the boxes with the
# image, so gt_bboxes and the head's pred_bboxes are both in the resized input frame
# (image_size x image_size pixels). No flip or crop: expressions say "left"/"right".
_base_ = ['./shapes_refcoco.py']
data_root = 'data/shapes'
image_size = 96
train_pipeline = [dict(type='ImageResize', size=image_size), dict(type='PackMultimodalInputs')]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_base_.refcoco_shapes, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.refcoco_shapes, split='val', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='GroundingAccuracy', iou_thr=0.5)
test_evaluator = val_evaluator
