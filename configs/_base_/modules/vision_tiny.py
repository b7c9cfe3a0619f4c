# Image encoder, tiny (CPU): the dual-vision encoder (mPLUG-2 §3.1, eqs. 1-5) at width 128,
# 2 layers, for 96-pixel images cut into 12-pixel patches (8 x 8 grid).
vision_encoder = dict(type='DualVisionEncoder', arch='tiny', width=128, layers=2, heads=4,
                      patch_size=12, image_size=96)
