# Video-text retrieval, mPLUG-2 Table 2 row "Video-Text Retrieval": text enc + video enc +
# universal layers + fusion, trained with ITC (in-batch) + ITM (hard negatives),
# id_field='image_id' (the captions of one video are never negatives); evaluated with ALBEF's
# two-stage protocol (ITC ranks every caption against every video, ITM re-ranks the top k_test).
# The video encoder starts from the video-classification run (_base_/modules/video_pretrained.py),
# as mPLUG-2 fine-tunes from pre-trained weights.
#   python tools/make_moving_shapes.py
#   python tools/train.py configs/video_classification/video_cls_tiny_moving_shapes.py
#   python tools/train.py configs/video_retrieval/video_retrieval_tiny_moving_shapes.py
_base_ = ['../_base_/datasets/moving_shapes_retrieval.py', '../_base_/modules/video_tiny.py',
          '../_base_/modules/video_pretrained.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']
C = 128
model = dict(
    type='ComposedModel',
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{_base_.tokenizer}},
                           text_field='text', max_length=24),
    vision_encoder=dict(_base_.vision_encoder, init_cfg={{_base_.video_encoder_init}}),
    text_encoder={{_base_.text_encoder}},
    universal={{_base_.universal}},
    fusion={{_base_.fusion}},
    heads=dict(
        # in-batch negatives only: no queue and no distillation, hence no momentum encoders
        # (they cost a forward of every encoder; the step is ~1.9 s with them, ~1.3 s without)
        itc=dict(type='ITCHead', vision_dims=C, text_dims=C, embed_dims=C, queue_size=0,
                 alpha=0.0, id_field='image_id'),
        itm=dict(type='ITMHead', embed_dims=C, id_field='image_id')),
    required_slots=('vision_encoder', 'text_encoder', 'universal', 'fusion'),
)
max_epochs = 3
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(_delete_=True, type='RetrievalValLoop', k_test=16)
test_cfg = dict(_delete_=True, type='RetrievalTestLoop', k_test=16)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
default_hooks = dict(logger=dict(interval=25),
                     checkpoint=dict(max_keep_ckpts=1, save_best='retrieval/r_mean',
                                     rule='greater'))
