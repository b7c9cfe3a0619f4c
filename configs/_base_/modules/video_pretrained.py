# The video encoder of a video-classification run (configs/video_classification/
# video_cls_tiny_moving_shapes.py, its last checkpoint): the tiny stand-in for mPLUG-2's pre-trained
# weights that its video tasks fine-tune from, loaded by MMEngine when training starts (`check` and
# `graph` do not need it). Train that config first; another checkpoint:
#   --cfg-options model.vision_encoder.init_cfg.checkpoint=PATH
video_encoder_init = dict(type='Pretrained', prefix='vision_encoder.',
                          checkpoint='work_dirs/video_cls_tiny_moving_shapes/epoch_10.pth')
