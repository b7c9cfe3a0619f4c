# Moving-shapes video captioning (MSR-VTT layout): the retrieval lists, read as captions. Train: one
# sample per caption; test: one per video with its references in `gt_caption`.
_base_ = ['moving_shapes_retrieval.py']
train_dataloader = dict(dataset=dict(type='VideoCaptionDataset'))
val_dataloader = dict(dataset=dict(type='VideoCaptionDataset'))
test_dataloader = val_dataloader
val_evaluator = [dict(type='CaptionMetrics', metrics=('BLEU', 'METEOR', 'ROUGE_L', 'CIDEr'))]
test_evaluator = val_evaluator
