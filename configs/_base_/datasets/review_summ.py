# Summarization data in the Gigaword layout (line i of *.src is summarised by line i of *.tgt),
# made from the rotten-tomatoes reviews by tools/make_review_summaries.py; scored by ROUGE-1/2/L.
data_root = 'data/text/review_summ'
pipeline = [dict(type='PackMultimodalInputs')]
train_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='GigawordDataset', data_root=data_root, ann_file='train.src',
                 target_file='train.tgt', pipeline=pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='GigawordDataset', data_root=data_root, ann_file='dev.src',
                 target_file='dev.tgt', pipeline=pipeline, test_mode=True))
test_dataloader = val_dataloader
# a list: MMEngine reads a dict with a `metrics` key as an Evaluator config, not a metric
val_evaluator = [dict(type='RougeMetric', rouge_types=('rouge1', 'rouge2', 'rougeL'))]
test_evaluator = val_evaluator
