# Shared decoder at width 128 (CPU), for the tasks built on _base_/modules/pair_encoders_w128.py:
# 2 BERT decoder layers reading the fused features. init_std = 128 ** -0.5 for the reason given in
# decoder_tiny.py (BERT's 0.02 is sized for width 768).
decoder = dict(type='SharedTextDecoder', arch='tiny', embed_dims=128, num_layers=2, num_heads=4,
               memory_dims=128, memory_stream='fused', max_position_embeddings=64,
               init_std=128 ** -0.5,
               # the shapes vocabulary of pair_encoders_w128.py
               vocab_size=192, bos_token_id=2, eos_token_id=3, pad_token_id=0)
