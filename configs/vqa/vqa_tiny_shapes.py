# Visual question answering, mPLUG-2 Table 2 row "Image-Text Question Answering":
# text enc + image enc + universal layers + fusion + shared text decoder. The question goes
# through the text encoder, the universal layers and the fusion; the decoder generates the answer
# from the fused tokens (trained with the answer-weighted LM loss of VQAHead).
#   python tools/train.py configs/vqa/vqa_tiny_shapes.py
# Ranking a closed answer list instead of generating (ALBEF's rank_answer):
#   --cfg-options model.heads.vqa.inference=rank \
#       model.heads.vqa.answer_list=data/shapes/annotations/answer_list.json
# Modules at width 128 (_base_/modules/pair_encoders_w128.py + decoder_w128.py): in the same
# epochs they reach a higher VQA accuracy than the 64-wide set.
# VQA soft accuracy 0.65 after 7 epochs, 6 min 25 s on 2 cores; see docs/results.md
_base_ = ['../_base_/datasets/shapes_vqa.py', '../_base_/modules/pair_encoders_w128.py',
          '../_base_/modules/decoder_w128.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='question', max_length=20),
    vision_encoder={{_base_.vision_encoder}},
    text_encoder={{_base_.text_encoder}},
    universal={{_base_.universal}},
    fusion={{_base_.fusion}},
    decoder={{_base_.decoder}},
    heads=dict(vqa=dict(type='VQAHead', inference='generate', num_beams=3, gen_max_length=6)),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion', 'decoder'),
)
# 7 epochs of 313 iterations. lr 1e-3: 3e-3 diverged at width 128 (only yes/no answers)
max_epochs = 7
train_dataloader = dict(batch_size=32)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = _base_.param_scheduler
param_scheduler[0].end = 100   # warm-up iterations
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(max_keep_ckpts=1))
