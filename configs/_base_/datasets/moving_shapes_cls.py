# Moving-shapes video classification: the Kinetics-style lists, 7 events (label_map.txt).
_base_ = ['moving_shapes.py']
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoClassificationDataset', data_root={{_base_.data_root}},
                 ann_file='annotations/kinetics_train.txt', label_map='annotations/label_map.txt',
                 pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=25, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoClassificationDataset', data_root={{_base_.data_root}},
                 ann_file='annotations/kinetics_val.txt', label_map='annotations/label_map.txt',
                 pipeline={{_base_.test_pipeline}}, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1, ))
test_evaluator = val_evaluator
