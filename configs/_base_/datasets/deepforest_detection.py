# Tree-crown detection on real aerial images: DeepForest's annotated RGB tiles as COCO boxes, one
# class (tools/convert_deepforest.py data/deepforest). Tiles are at most 256 px, crowns ~15-65 px:
# the anchors' sizes at strides 4-8, so images keep their size. Boxes only: no masks are loaded.
# With default_scope mmdet (its runtime base), unprefixed types are mmdet's;
# ours carry 'mplug_registry.'.
data_root = 'data/deepforest/'
metainfo = dict(classes=('tree', ))
image_scale = (256, 256)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs')]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
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
# The AP50 DeepForest reports is CocoMetric's bbox_mAP_50 (IoU 0.5, all box sizes).
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/val.json',
                     metric='bbox')
test_evaluator = val_evaluator
