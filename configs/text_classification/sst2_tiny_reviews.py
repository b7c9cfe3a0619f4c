# The same task from random init: a 2-layer BERT of width 64 with MiniLM's vocabulary, to compare
# with sst2_minilm_reviews.py (tools/report_text_classification.py runs both).
_base_ = ['./sst2_minilm_reviews.py']

model = dict(
    text_encoder=dict(_delete_=True, type='BertTextEncoder', config=dict(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
        vocab_size=30522, max_position_embeddings=64)),
    universal=dict(embed_dims=64, num_heads=2, num_layers=1),
    heads=dict(cls=dict(in_dims=64)),
)
optim_wrapper = dict(optimizer=dict(lr=1e-3), paramwise_cfg=dict(_delete_=True))
