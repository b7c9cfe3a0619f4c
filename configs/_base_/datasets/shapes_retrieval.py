# Image-text retrieval on the generated "shapes" set (tools/make_shapes.py), in the Flickr30K/COCO
# Karpathy layout of ALBEF: train = one (image, caption) pair per caption (image_id marks pairs that
# are not negatives of each other); val = one sample per image (300) with all 1,500 captions scored
# by the two-stage ITC + ITM protocol (task configs set val_cfg/test_cfg
# to RetrievalValLoop/RetrievalTestLoop). No flip: captions say "left"/"right".
data_root = 'data/shapes'
image_size = 96
train_pipeline = [dict(type='ImageResize', size=image_size), dict(type='PackMultimodalInputs')]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=32, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='RetrievalDataset', data_root=data_root,
                 ann_file='annotations/retrieval_train.json', data_prefix=dict(img_path=''),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='RetrievalDataset', data_root=data_root,
                 ann_file='annotations/retrieval_val.json', data_prefix=dict(img_path=''),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='RetrievalRecall', topk=(1, 5, 10))
test_evaluator = val_evaluator
