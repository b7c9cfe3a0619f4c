# Image classification, mPLUG-2 Table 2 row "Image Classification" (image encoder + universal
# layers), on an ImageNet-style folder with the paper's recipe (appendix B.2.1): RandomResizedCrop,
# flip, RandAugment, RandomErasing (configs/_base_/datasets/image_folder.py), label smoothing 0.1
# and layer-wise lr decay. The paper gives neither value: 0.1 is BEiT's; BEiT / EVA decay by
# 0.65-0.9 when fine-tuning, 0.85 here is mild as this encoder trains from scratch.
#   python tools/make_image_folder.py data/image_folder
#   python tools/train.py configs/image_classification/image_folder_tiny.py --val-at-start
_base_ = ['../_base_/datasets/image_folder.py', '../_base_/schedules/adamw_cosine.py',
          '../_base_/runtimes/default.py']

model = dict(
    type='ComposedModel',
    # stem='conv': a small convolutional stem, for training from scratch on 1,200 images
    vision_encoder=dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=4,
                        stem='conv'),
    universal=dict(type='UniversalLayers', embed_dims=192, num_latents=16, num_layers=1,
                   num_heads=3),
    heads=dict(cls=dict(type='ClassificationHead', num_classes=3, in_dims=192,
                        label_smoothing=0.1)),
    required_slots=('vision_encoder', 'universal'),
)
# lr of layer i (0: embeddings, 1-4: encoder blocks, 5: the rest) = lr * decay_rate ** (5 - i)
optim_wrapper = dict(constructor='VisionLayerDecayOptimizerConstructor',
                     paramwise_cfg=dict(decay_rate=0.85),
                     optimizer=dict(lr=2e-3))
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(max_keep_ckpts=1, save_best='accuracy/top1', rule='greater'))
