# VQA trained jointly with visual grounding (mPLUG-2 trains one model on several tasks): the
# same composed model as configs/vqa/vqa_tiny_shapes.py plus the grounding head of
# configs/grounding/grounding_tiny_shapes.py. Every batch mixes VQA questions and referring
# expressions (ConcatDataset); each sample carries its dataset's task and goes to that task's head
# (`task_heads`), the question or the expression is its text (`text_field`).
# Why: VQA alone does not teach the vision encoder the shapes (a linear probe on its patch features
# reads an object's shape no better than at initialisation), and its shape questions stay at chance.
# Grounding scores every patch against the expression and does teach them. What each setting below
# gave is in the README ("Where the objects are") and docs/results.md:
# - stem='hybrid': a small convolutional stem next to the patch projection;
# - fusion vision_pos='sincos': fixed 2-D position codes on the visual tokens the fusion reads
#   (trained from scratch, the encoder's own position signal is nearly gone: a linear probe reads
#   an object's x from its tokens well at init, hardly after training);
# - RandomFlip with left/right swapped in the question, the answers and the expression;
# - no dropout in the text encoder and decoder (the model underfits), 5 epochs, 40 % of the
#   expressions.
#   python tools/train.py configs/vqa/vqa_grounding_tiny_shapes.py
#   python tools/test.py configs/vqa/vqa_grounding_tiny_shapes.py work_dirs/.../epoch_5.pth
# validates and tests on VQA. tools/infer.py answers with --question, or boxes with
# --task grounding --text.
# VQA soft accuracy 0.809 after 5 epochs, 8 min 43 s on 2 cores (seed 1: 0.822); docs/results.md
_base_ = ['./vqa_tiny_shapes.py', '../_base_/datasets/shapes_refcoco.py',
          '../_base_/modules/grounding_w128.py']

flip_pipeline = [dict(type='ImageResize', size=96), dict(type='RandomFlip', prob=0.5),
                 dict(type='PackMultimodalInputs')]
vqa_train = dict(
    type='VQADataset', data_root='data/shapes',
    ann_file='annotations/v2_OpenEnded_shapes_train_questions.json',
    answer_file='annotations/v2_shapes_train_annotations.json',
    data_prefix=dict(img_path='images/'),
    img_name_template='SHAPES_{data_subtype}_{image_id:012d}.png', pipeline=flip_pipeline)
# 40 % of the 14,879 expressions (evenly spread): the time budget
grounding_train = dict(_base_.refcoco_shapes, pipeline=flip_pipeline, fraction=0.4)
train_dataloader = dict(dataset=dict(
    _delete_=True, type='ConcatDataset', datasets=[vqa_train, grounding_train],
    ignore_keys=['task']))   # the datasets' METAINFO differ only in their task
model = dict(
    vision_encoder=dict(stem='hybrid'),   # patch projection + convolutional stem (README)
    text_encoder=dict(config=dict(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)),
    fusion=dict(vision_pos='sincos'),
    decoder=dict(dropout=0.0, attn_dropout=0.0),
    data_preprocessor=dict(text_field=('question', 'text')),
    heads=dict(grounding={{_base_.grounding_head}}),
    task_heads=dict(vqa='vqa', grounding='grounding'))
max_epochs = 5
# the warm-up (100 iterations) and the cosine of vqa_tiny_shapes.py, over these 5 epochs
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
