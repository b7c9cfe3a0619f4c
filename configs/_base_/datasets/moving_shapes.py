# Moving-shapes clips (tools/make_moving_shapes.py): decoded and sampled with mmaction2's transforms
# (cross-scope types: segment-based random frames for training, the segments' middles for testing;
# a clip shorter than num_frames repeats frames in order), then our crop and flip, the same for
# every frame of a clip (mPLUG-2 appendix B: ResizedCrop min 0.5, HorizontalFlip 0.5). The flip
# swaps left/right in texts and, through flip_label_map, the "moves left" / "moves right" classes.
data_root = 'data/moving_shapes'
num_frames = 8
image_size = 64
train_pipeline = [
    dict(type='mmaction.DecordInit'),
    dict(type='mmaction.UniformSample', clip_len=num_frames, num_clips=1),
    dict(type='mmaction.DecordDecode'),
    dict(type='RandomResizedCrop', size=image_size, scale=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, flip_label_map={0: 1, 1: 0}),
    dict(type='PackMultimodalInputs'),
]
# the captions name where the subject is (thirds of the frame), which a crop would move: the
# retrieval and captioning configs resize and flip only
train_pipeline_no_crop = [step if step['type'] != 'RandomResizedCrop' else
                          dict(type='ImageResize', size=image_size) for step in train_pipeline]
test_pipeline = [
    dict(type='mmaction.DecordInit'),
    dict(type='mmaction.UniformSample', clip_len=num_frames, num_clips=1, test_mode=True),
    dict(type='mmaction.DecordDecode'),
    dict(type='ImageResize', size=image_size),
    dict(type='PackMultimodalInputs'),
]
