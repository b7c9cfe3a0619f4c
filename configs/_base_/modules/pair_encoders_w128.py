# Image + text encoders, universal layers and fusion at width 128 (CPU), for the tasks that align
# the two modalities from scratch (retrieval, grounding): at width 64 their contrastive loss
# stalled within the 10-minute budget. Same module types as the *_tiny.py files.
# Text: the shapes scenes' own WordPiece vocabulary (178 entries, shipped with the plugins; a word
# it lacks is spelt in letters) instead of BERT's 30,522, which cost the VQA model a large share of
# a step in the output projection and the embeddings' updates (benchmarks/vocab_speed.py,
# docs/results.md). Its [PAD], [CLS], [SEP] are ids 0, 2, 3 (the decoder's pad/bos/eos in
# decoder_w128.py).
C = 128
tokenizer = dict(type='BertTokenizer', path='mplug_registry_plugins.datasets.shapes.vocab')
vocab_size = 192
vision_encoder = dict(type='DualVisionEncoder', arch='tiny', width=C, layers=2, heads=4,
                      patch_size=12, image_size=96)
text_encoder = dict(type='BertTextEncoder', config=dict(
    hidden_size=C, num_hidden_layers=2, num_attention_heads=4, intermediate_size=2 * C,
    vocab_size=vocab_size, pad_token_id=0, max_position_embeddings=64))
universal = dict(type='UniversalLayers', embed_dims=C, num_latents=16, num_layers=1, num_heads=4)
fusion = dict(type='CrossAttentionFusion', embed_dims=C, num_heads=4, num_layers=2)
