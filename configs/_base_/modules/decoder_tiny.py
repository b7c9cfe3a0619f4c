# Shared decoder, tiny (CPU): 2 BERT decoder layers at width 64 (mPLUG-2 §3.1 "Shared Decoder
# Module"). `decoder` reads the fused features (question answering, grounding); `vision_decoder`
# is the same decoder reading the visual features (captioning).
# init_std = 64 ** -0.5: BERT's 0.02 (sized for width 768) makes the cross-attention of a 64-wide
# decoder much weaker than its residual (at init the decoder states hardly vary from image to
# image), so a decoder trained from scratch learns a language model that hardly reads its memory;
# with 0.125 captioning reaches in 1 epoch a higher CIDEr than in 2 before (docs/results.md).
decoder = dict(type='SharedTextDecoder', arch='tiny', embed_dims=64, num_layers=2, num_heads=2,
               memory_dims=64, memory_stream='fused', max_position_embeddings=64, init_std=0.125)
vision_decoder = dict(decoder, memory_stream='vision')
