# Detection and instance segmentation on the generated shapes scenes (tools/make_shapes.py): COCO
# instances with exact RLE masks, one class per shape. Images keep their 96 px.
# With default_scope mmdet (its runtime base), unprefixed types are mmdet's; ours carry 'mplug_registry.'.
data_root = 'data/shapes/'
metainfo = dict(classes=('circle', 'square', 'triangle'))
image_scale = (96, 96)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]
train_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='mplug_registry.CheckedCocoDataset', data_root=data_root,
                 metainfo=metainfo, ann_file='annotations/instances_train.json',
                 data_prefix=dict(img='images/'), filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='mplug_registry.CheckedCocoDataset', data_root=data_root,
                 metainfo=metainfo, ann_file='annotations/instances_val.json',
                 data_prefix=dict(img='images/'), test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json',
                     metric=['bbox', 'segm'])
test_evaluator = val_evaluator
