# Shared decoder, tiny (CPU): 2 BERT decoder layers at width 64 (mPLUG-2 §3.1 "Shared Decoder
# Module"). `decoder` reads the fused features (question answering, grounding); `vision_decoder`
# is the same decoder reading the visual features (captioning).
decoder = dict(type='SharedTextDecoder', arch='tiny', embed_dims=64, num_layers=2, num_heads=2,
               memory_dims=64, memory_stream='fused', max_position_embeddings=64)
vision_decoder = dict(decoder, memory_stream='vision')
