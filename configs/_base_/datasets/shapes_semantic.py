# Semantic segmentation on the generated shapes scenes (tools/make_shapes.py): per-pixel class
# maps in semantic/ (0 background, then one class per shape), images resized from 96 to 128 px.
# With default_scope mmseg (its runtime base), unprefixed types are mmseg's; ours carry 'mplug_registry.'.
data_root = 'data/shapes/'
metainfo = dict(classes=('background', 'circle', 'square', 'triangle'))
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')]
_dataset = dict(type='mplug_registry.CheckedSegDataset', data_root=data_root, metainfo=metainfo,
                img_suffix='.png', seg_map_suffix='.png')
train_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, data_prefix=dict(img_path='images/', seg_map_path='semantic/'),
                 ann_file='annotations/semantic_train.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, data_prefix=dict(img_path='images/', seg_map_path='semantic/'),
                 ann_file='annotations/semantic_val.txt', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
