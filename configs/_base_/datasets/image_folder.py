# An ImageNet-style image folder: `data_root/{train,val}/<class>/<image>` (torchvision ImageFolder),
# or add ann_file='meta/train.txt' for mmpretrain's `relative/path.png label` lists. The made data:
#   python tools/make_image_folder.py data/image_folder   (3 shapes, 1,200 train / 300 val, 48 px)
# ImageNet itself: data_root='data/imagenet', image_size=224, a 1000-class head.
# Training augmentation, mPLUG-2 appendix B.2.1 ("RandomCrop, HorizontalFlip, RandAug and
# RandErase"): RandomResizedCrop, flip, mmdet's RandAugment (2 ops of its 15, each magnitude drawn
# at random) and mmdet's RandomErasing of one patch with probability 0.25 (DeiT / BEiT's reprob).
data_root = 'data/image_folder'
image_size = 32
train_pipeline = [
    dict(type='RandomResizedCrop', size=image_size),   # area 0.5-1 (the paper's image-text crop)
    dict(type='RandomFlip', prob=0.5),
    # `_scope_`: RandAugment builds its 15 operations by name, in mmdet's registry
    dict(type='mmdet.RandAugment', _scope_='mmdet', aug_num=2),
    dict(type='mmcv.RandomApply', prob=0.25, transforms=[
        dict(type='mmdet.RandomErasing', n_patches=1, ratio=(0.15, 0.55), squared=False,
             img_border_value=0)]),   # black: a gray patch would look like background
    dict(type='PackMultimodalInputs'),
]
test_pipeline = [dict(type='ImageResize', size=image_size), dict(type='PackMultimodalInputs')]
train_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, data_prefix=dict(img_path='train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=100, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ImageFolderDataset', data_root=data_root, data_prefix=dict(img_path='val'),
                 ann_file='meta/val.txt', test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
