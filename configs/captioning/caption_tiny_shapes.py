# Image captioning with the shared decoder (mPLUG-2 §3.1 "Shared Decoder Module", appendix:
# prefix prompt "What does the image describe?", beam 5, at most 25 tokens).
# Table 2's row "Image-Text Captioning" ticks text enc + image enc + universal + fusion + decoder;
# here the decoder reads the visual features (after the universal layers) and the prompt is its
# prefix, as §3.1 states ("image captioning only requires the visual features"): a caption sample
# has no text input besides the target (the training samples' `text` IS the caption, which must not
# reach the encoders), so the text encoder and the fusion would only ever see the constant prompt.
#   python tools/train.py configs/captioning/caption_tiny_shapes.py
# CIDEr 2.63 on the 300 val images after 2 epochs, 6 min 35 s on 2 cores; see docs/results.md
_base_ = ['../_base_/datasets/shapes_caption.py', '../_base_/modules/vision_tiny.py',
          '../_base_/modules/text_tiny.py', '../_base_/modules/universal_tiny.py',
          '../_base_/modules/decoder_tiny.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    # the tokenizer frames the targets; no text input (`instruction` is absent from the samples)
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='instruction'),
    vision_encoder={{_base_.vision_encoder}},
    universal={{_base_.universal}},
    decoder={{_base_.vision_decoder}},
    heads=dict(caption=dict(type='LMHead', prompt='What does the image describe?',
                            target_field='gt_caption', max_length=32, label_smoothing=0.1,
                            num_beams=5, gen_max_length=25)),
    required_slots=('vision_encoder', 'universal', 'decoder'),
)
max_epochs = 2
train_dataloader = dict(batch_size=16)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
param_scheduler = _base_.param_scheduler
param_scheduler[0].end = 200   # warm-up iterations
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(max_keep_ckpts=1, save_best='caption/CIDEr', rule='greater'))
