# Fusion, tiny (CPU): ALBEF-style cross-attention fusion (mPLUG-2 §3.1 "Fusion Module"), 2 layers
# at width 64; its output is the text side (question tokens that attended to the image).
fusion = dict(type='CrossAttentionFusion', embed_dims=64, vision_dims=64, num_heads=2,
              num_layers=2)
