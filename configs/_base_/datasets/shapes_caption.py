# Shapes captioning (tools/make_shapes.py; Karpathy-split layout, 5 captions per image). Train:
# one sample per caption (`gt_caption` = that caption); test: one sample per image with all five
# references in `gt_caption`, as CaptionMetrics reads them.
data_root = 'data/shapes'
image_size = 96
train_pipeline = [dict(type='ImageResize', size=image_size), dict(type='PackMultimodalInputs')]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='CocoCaptionDataset', data_root=data_root,
                 ann_file='annotations/coco_karpathy_train.json', data_prefix=dict(img_path=''),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=50, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='CocoCaptionDataset', data_root=data_root,
                 ann_file='annotations/coco_karpathy_val.json', data_prefix=dict(img_path=''),
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
# a list: MMEngine reads a dict with a `metrics` key as an Evaluator config, not a metric
val_evaluator = [dict(type='CaptionMetrics', metrics=('BLEU', 'METEOR', 'ROUGE_L', 'CIDEr'))]
test_evaluator = val_evaluator
