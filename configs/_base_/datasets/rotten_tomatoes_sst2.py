# Real movie-review sentiment in GLUE's SST-2 layout (tools/convert_rotten_tomatoes.py: 3,873 train
# / 993 dev reviews, whole movies held out). Any GLUE task: set glue_task and the files.
data_root = 'data/text/rotten_tomatoes'
pipeline = [dict(type='PackMultimodalInputs')]
metainfo = dict(classes=('rotten', 'fresh'))   # label 0, 1
train_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='GlueDataset', glue_task='SST-2', data_root=data_root,
                 ann_file='train.tsv', pipeline=pipeline, metainfo=metainfo))
val_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='GlueDataset', glue_task='SST-2', data_root=data_root,
                 ann_file='dev.tsv', pipeline=pipeline, metainfo=metainfo, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = [dict(type='GlueMetric', metrics=('accuracy', 'f1', 'mcc'))]
test_evaluator = val_evaluator
