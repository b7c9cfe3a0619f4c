# Shapes VQA (tools/make_shapes.py; VQA v2 file layout, 5 questions per image, 10 human answers
# each). Samples carry `question`, `answers` / `answer_weights` (unique answers, count / 10) and
# `gt_answers` (for the official soft accuracy).
data_root = 'data/shapes'
image_size = 96
_vqa_files = dict(data_prefix=dict(img_path='images/'),
                  img_name_template='SHAPES_{data_subtype}_{image_id:012d}.png')
train_pipeline = [dict(type='ImageResize', size=image_size), dict(type='PackMultimodalInputs')]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=64, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='VQADataset', data_root=data_root,
                 ann_file='annotations/v2_OpenEnded_shapes_train_questions.json',
                 answer_file='annotations/v2_shapes_train_annotations.json',
                 pipeline=train_pipeline, **_vqa_files))
val_dataloader = dict(
    batch_size=100, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VQADataset', data_root=data_root,
                 ann_file='annotations/v2_OpenEnded_shapes_val_questions.json',
                 answer_file='annotations/v2_shapes_val_annotations.json',
                 pipeline=test_pipeline, test_mode=True, **_vqa_files))
test_dataloader = val_dataloader
# per-question-type accuracy as well (6 types here: 'what shape is the', 'how many', ...)
val_evaluator = dict(type='VQAAccuracy', by_question_type=True)
test_evaluator = val_evaluator
