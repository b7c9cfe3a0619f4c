# Summarization (mPLUG-2 Table 2: text encoder + universal layers + shared decoder), tiny and
# randomly initialised for CPU: the decoder reads the text features after the universal layers
# (memory_stream='text') and LMHead generates the summary with beam search (beam 5 as the paper),
# a length penalty and no repeated trigram. Data: _base_/datasets/review_summ.py.
#   python tools/make_review_summaries.py
#   python tools/train.py configs/text_summarization/gigaword_tiny_reviews.py
_base_ = ['../_base_/datasets/review_summ.py', '../_base_/modules/text_tiny.py',
          '../_base_/modules/decoder_tiny.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    # the source line is the text input; sources longer than 64 tokens are cut
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='text', max_length=64),
    text_encoder={{_base_.text_encoder}},
    # universal_tiny.py's layer without its vision projection (no vision here)
    universal=dict(type='UniversalLayers', embed_dims=64, num_latents=16, num_layers=1,
                   num_heads=2),
    decoder=dict(_base_.decoder, memory_stream='text'),
    heads=dict(summary=dict(type='LMHead', prompt=None, target_field='gt_summary',
                            pred_field='pred_summary', max_length=24, label_smoothing=0.1,
                            num_beams=5, gen_max_length=20, length_penalty=1.0,
                            no_repeat_ngram_size=3)),
    required_slots=('text_encoder', 'universal', 'decoder'),
)
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(max_keep_ckpts=1, save_best='rouge/rougeL', rule='greater'))
