# Instance segmentation of nuclei in a real fluorescence microscopy image (StarDist's 2018 Data
# Science Bowl sample, tools/convert_stardist.py data/stardist): COCO instances with RLE masks, one
# class. Tiles of 128 px are doubled: nuclei (~7-30 px) then reach the smallest anchors (32 px).
# With default_scope mmdet (its runtime base), unprefixed types are mmdet's;
# ours carry 'mplug_registry.'.
data_root = 'data/stardist/'
metainfo = dict(classes=('nucleus', ))
image_scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]
_dataset = dict(type='mplug_registry.CheckedCocoDataset', data_root=data_root, metainfo=metainfo,
                data_prefix=dict(img='images/'))
train_dataloader = dict(
    batch_size=4, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(_dataset, ann_file='annotations/train.json', filter_cfg=dict(filter_empty_gt=True),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=4, num_workers=0, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_dataset, ann_file='annotations/val.json', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json',
                     metric=['bbox', 'segm'])
test_evaluator = val_evaluator
