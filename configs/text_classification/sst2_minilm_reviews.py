# Text classification (mPLUG-2 Table 2 row: text encoder + universal layers) on real review
# sentiment, the text encoder initialised from the pretrained MiniLM; results in docs/results.md.
#   python tools/convert_rotten_tomatoes.py && python tools/train.py configs/text_classification/sst2_minilm_reviews.py
_base_ = ['../_base_/datasets/rotten_tomatoes_sst2.py', '../_base_/modules/text_minilm.py',
          '../_base_/schedules/adamw_cosine.py', '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='text', text_pair_field='text_b', max_length=64),
    text_encoder={{_base_.text_encoder}},
    universal={{_base_.universal}},
    heads=dict(cls=dict(type='ClassificationHead', num_classes=2, in_dims={{_base_.text_dims}},
                        stream='text', pool='mean', dropout=0.1)),
    required_slots=('text_encoder', 'universal'),
)
max_epochs = 1
train_cfg = dict(max_epochs=max_epochs, val_interval=1)
# fine-tuning: the pretrained encoder at a tenth of the new layers' rate
optim_wrapper = dict(optimizer=dict(lr=3e-4, weight_decay=0.01),
                     paramwise_cfg=dict(custom_keys={'text_encoder': dict(lr_mult=0.1)}))
param_scheduler = _base_.param_scheduler
param_scheduler[0].end = 30   # warm-up iterations
default_hooks = dict(logger=dict(interval=20),
                     checkpoint=dict(max_keep_ckpts=1, save_best='glue/accuracy', rule='greater'))
