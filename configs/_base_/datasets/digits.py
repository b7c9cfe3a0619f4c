# scikit-learn's handwritten digits (real, shipped with the package): 1,437 train / 360 held-out.
image_size = 32
train_pipeline = [dict(type='ImageResize', size=image_size), dict(type='PackMultimodalInputs')]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='DigitsDataset', split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='DigitsDataset', split='val', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
