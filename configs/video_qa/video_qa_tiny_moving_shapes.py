# Video question answering, mPLUG-2 Table 2 row "Video-Text Question Answering": text enc + video
# enc + universal layers + fusion + shared decoder. The question goes through the text encoder, the
# universal layers and the fusion; the decoder reads the fused tokens and the visual ones
# (memory_stream='vision+fused') and generates the answer.
# The video encoder starts from the video-classification run (_base_/modules/video_pretrained.py),
# as mPLUG-2 fine-tunes from pre-trained weights: from random init, QA stays at the answer prior in
# this budget (README "Video tasks").
#   python tools/make_moving_shapes.py
#   python tools/train.py configs/video_classification/video_cls_tiny_moving_shapes.py
#   python tools/train.py configs/video_qa/video_qa_tiny_moving_shapes.py
_base_ = ['../_base_/datasets/moving_shapes_qa.py', '../_base_/modules/video_tiny.py',
          '../_base_/modules/video_pretrained.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']
model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='question', max_length=20),
    vision_encoder=dict(_base_.vision_encoder, init_cfg={{_base_.video_encoder_init}}),
    text_encoder={{_base_.text_encoder}},
    universal={{_base_.universal}},
    fusion={{_base_.fusion}},
    decoder=dict(_base_.decoder, memory_stream='vision+fused'),
    heads=dict(vqa=dict(type='VQAHead', inference='generate', num_beams=3, gen_max_length=6)),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion', 'decoder'),
)
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(max_keep_ckpts=1, save_best='vqa/accuracy', rule='greater'))
