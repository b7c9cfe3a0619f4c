# Video captioning, mPLUG-2 Table 2 row "Video-Text Captioning": text enc + video enc + universal
# layers + fusion + shared decoder. The instruction "what does the video describe?" (mPLUG-2 §3.2) is
# the text input through the text encoder, the universal layers and the fusion; the decoder reads
# the visual tokens and the fused ones (memory_stream='vision+fused') and generates the caption
# after the same prompt (beam 5, as in appendix B).
# The video encoder starts from the video-classification run (_base_/modules/video_pretrained.py),
# as mPLUG-2 fine-tunes from pre-trained weights.
#   python tools/make_moving_shapes.py
#   python tools/train.py configs/video_classification/video_cls_tiny_moving_shapes.py
#   python tools/train.py configs/video_captioning/video_caption_tiny_moving_shapes.py
_base_ = ['../_base_/datasets/moving_shapes_caption.py', '../_base_/modules/video_tiny.py',
          '../_base_/modules/video_pretrained.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']
instruction = 'what does the video describe?'
model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='instruction', max_length=12),
    vision_encoder=dict(_base_.vision_encoder, init_cfg={{_base_.video_encoder_init}}),
    text_encoder={{_base_.text_encoder}},
    universal={{_base_.universal}},
    fusion={{_base_.fusion}},
    decoder=dict(type='SharedTextDecoder', arch='tiny', embed_dims=128, num_layers=2, num_heads=4,
                 memory_dims=128, memory_stream='vision+fused', max_position_embeddings=64,
                 init_std=128 ** -0.5),
    heads=dict(caption=dict(type='LMHead', prompt=instruction, target_field='gt_caption',
                            max_length=32, label_smoothing=0.1, num_beams=5, gen_max_length=20)),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion', 'decoder'),
)
train_dataloader = dict(dataset=dict(instruction=instruction))
val_dataloader = dict(dataset=dict(instruction=instruction))
test_dataloader = val_dataloader
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(max_keep_ckpts=1, save_best='caption/CIDEr', rule='greater'))
