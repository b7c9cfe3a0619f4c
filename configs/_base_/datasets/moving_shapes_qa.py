# Moving-shapes video QA (MSR-VTT-QA layout: {video, question, answer}).
_base_ = ['moving_shapes.py']
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoQADataset', data_root={{_base_.data_root}},
                 ann_file='annotations/qa_train.json', pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=25, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoQADataset', data_root={{_base_.data_root}},
                 ann_file='annotations/qa_val.json', pipeline={{_base_.test_pipeline}},
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='VQAAccuracy', exact=True)
test_evaluator = val_evaluator
