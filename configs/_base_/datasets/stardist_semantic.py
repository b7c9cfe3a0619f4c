# Semantic segmentation of nuclei in a real fluorescence microscopy image (StarDist's 2018 Data
# Science Bowl sample, tools/convert_stardist.py data/stardist): 128 px tiles, masks in semantic/
# (0 background, 1 nucleus), found by folder (no list file). The foreground IoU is the 'nucleus'
# row of IoUMetric's per-class table; mIoU averages it with the background's.
# With default_scope mmseg (its runtime base), unprefixed types are mmseg's;
# ours carry 'mplug_registry.'.
data_root = 'data/stardist/'
metainfo = dict(classes=('background', 'nucleus'))
crop_size = (128, 128)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')]
_dataset = dict(type='mplug_registry.CheckedSegDataset', data_root=data_root, metainfo=metainfo,
                img_suffix='.png', seg_map_suffix='.png')
train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, data_prefix=dict(img_path='images/train', seg_map_path='semantic/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, data_prefix=dict(img_path='images/val', seg_map_path='semantic/val'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
