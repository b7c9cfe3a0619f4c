# Moving-shapes video-text retrieval (MSR-VTT layout: {video, caption: [...]}). Train: one pair per
# caption; test: every caption against every video.
_base_ = ['moving_shapes.py']
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VideoRetrievalDataset', data_root={{_base_.data_root}},
                 ann_file='annotations/msrvtt_train.json',
                 pipeline={{_base_.train_pipeline_no_crop}}))
val_dataloader = dict(
    batch_size=25, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VideoRetrievalDataset', data_root={{_base_.data_root}},
                 ann_file='annotations/msrvtt_val.json', pipeline={{_base_.test_pipeline}},
                 test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='RetrievalRecall')
test_evaluator = val_evaluator
