# Extractive QA (SQuAD v2.0 format) on the review QA set, tiny and randomly initialised (CPU):
# text encoder -> universal layers (text alone) -> SpanHead (start/end logits per token).
#   python tools/make_review_qa.py && python tools/train.py configs/text_qa/squad_tiny_reviews.py
_base_ = ['../_base_/datasets/review_qa.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    # the samples carry their windows' ids: the preprocessor only pads them
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}}),
    # a randomly initialised 2-layer BERT of width 64 (as configs/_base_/modules/text_tiny.py)
    text_encoder=dict(type='BertTextEncoder', config=dict(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
        vocab_size=30522, max_position_embeddings=64)),
    universal=dict(type='UniversalLayers', embed_dims=64, num_latents=16, num_layers=1,
                   num_heads=2),
    heads=dict(qa=dict(type='SpanHead', in_dims=64, max_answer_length=30)),
    required_slots=('text_encoder', 'universal'),
)
# shorter windows than the MiniLM config: more contexts take two windows
window = dict(max_length=64, doc_stride=16, max_query_length=16)
train_dataloader = dict(batch_size=32, dataset=dict(fraction=0.5, **window))
val_dataloader = dict(dataset=dict(fraction=0.5, **window))
test_dataloader = val_dataloader
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=2e-3))
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(max_keep_ckpts=1, save_best='squad/f1', rule='greater'))
