# Universal layers, tiny (CPU): one shared layer with 16 latents (mPLUG-2 §3.1, eqs. 6-10; the
# paper uses S = 2 layers and k = 50 latents) at width 64, the text encoder's; the 128-wide visual
# features are projected by the layer's declared `vision_proj`.
universal = dict(type='UniversalLayers', embed_dims=64, vision_dims=128, num_latents=16,
                 num_layers=1, num_heads=2)
