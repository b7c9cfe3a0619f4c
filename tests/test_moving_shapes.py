"""The moving-shapes video data: real MP4 files, labels that need the order of the frames, and the
annotation files in the Kinetics / MSR-VTT layouts."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from mplug_registry_plugins.datasets.shapes.generator import COLORS
from mplug_registry_plugins.datasets.shapes.motion import EVENTS, make_clip, make_moving_shapes


def decode(path):
    import av
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format='rgb24') for f in container.decode(video=0)])


def centroid(frame, color):
    """Centre (x, y) of the pixels close to ``color``, or None when there are none."""
    near = (np.abs(frame.astype(int) - COLORS[color]).sum(-1) < 60)
    if near.sum() < 5:
        return None
    ys, xs = np.nonzero(near)
    return xs.mean(), ys.mean()


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp('moving_shapes')
    proc = subprocess.run([sys.executable, 'tools/make_moving_shapes.py', str(out), '--num-train',
                           '42', '--num-val', '14'], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def test_clips_are_real_videos_matching_their_frames(data):
    records = json.loads((data / 'annotations' / 'msrvtt_train.json').read_text())
    assert len(records) == 42
    for i in range(3):
        frames, record = make_clip('train', i, 0, 16, 64)
        assert records[i]['video'] == record['video']
        decoded = decode(data / record['video'])
        assert decoded.shape == (16, 64, 64, 3)
        assert np.abs(decoded.astype(int) - frames).mean() < 3   # near-lossless H.264


def test_events_are_visible_in_the_decoded_frames(data):
    kinetics = (data / 'annotations' / 'kinetics_train.txt').read_text().split('\n')
    labels = {line.split()[0]: int(line.split()[1]) for line in kinetics if line}
    checked = set()
    for i in range(42):
        _, record = make_clip('train', i, 0, 16, 64)
        event, words = EVENTS[labels[record['video']]], record['caption'][0].split()
        frames = decode(data / record['video'])
        if event == 'changes colour':                   # "a square changes from red to blue"
            assert centroid(frames[0], words[4]) and centroid(frames[-1], words[6])
            assert centroid(frames[0], words[6]) is None and centroid(frames[-1], words[4]) is None
            checked.add(event)
            continue
        seen = [centroid(f, words[1]) for f in frames]
        if event.startswith('moves'):
            axis = 0 if event in ('moves left', 'moves right') else 1
            way = 1 if event in ('moves right', 'moves down') else -1
            assert way * (seen[-1][axis] - seen[0][axis]) > 15, (event, seen[0], seen[-1])
        elif event == 'appears':
            assert seen[0] is None and seen[-1] is not None
        elif event == 'disappears':
            assert seen[0] is not None and seen[-1] is None
        checked.add(event)
    assert len(checked) >= 5


def test_reversed_clip_is_the_opposite_event():
    """Order-free pooling cannot tell the temporal pairs apart: a clip reversed in time is a clip of
    the opposite event, so both give the same set of frames."""
    for i in range(60):
        frames, record = make_clip('val', i, 0, 16, 64)
        if record['event'] == 'moves left':
            reversed_frames = frames[::-1]
            color = record['caption'][0].split()[1]
            xs = [centroid(f, color)[0] for f in reversed_frames]
            assert xs[-1] > xs[0]                    # a clip of "moves right"
            assert sorted(map(bytes, frames)) == sorted(map(bytes, reversed_frames))
            return
    pytest.fail('no "moves left" clip among 60')


def test_texts_and_lists(data):
    qa = json.loads((data / 'annotations' / 'qa_val.json').read_text())
    caps = json.loads((data / 'annotations' / 'msrvtt_val.json').read_text())
    assert len(qa) == len(caps) == 14
    for q, c in zip(qa, caps):
        assert q['video'] == c['video'] and (data / q['video']).is_file()
        if c['event'].startswith('moves'):
            assert q['answer'] == c['event'].split()[1] and q['answer'] in c['caption'][0]
    labels = (data / 'annotations' / 'label_map.txt').read_text().split('\n')[:len(EVENTS)]
    assert labels == list(EVENTS)
    info = json.loads((data / 'dataset_info.json').read_text())
    assert info['splits']['val']['clips'] == 14 and sum(info['splits']['val']['per_label']) == 14


def test_rerun_keeps_data_and_bad_settings_are_one_line(data, tmp_path):
    proc = subprocess.run([sys.executable, 'tools/make_moving_shapes.py', str(data), '--num-train',
                           '42', '--num-val', '14'], cwd=ROOT, capture_output=True, text=True)
    assert 'already there' in proc.stdout
    proc = subprocess.run([sys.executable, 'tools/make_moving_shapes.py', str(tmp_path),
                           '--size', '33'], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ('make_moving_shapes: error: size must be an even number >= 32 '
                                   '(H.264 needs even sides), got 33')
    with pytest.raises(ValueError, match='num_frames must be >= 4'):
        make_moving_shapes(str(tmp_path), num_frames=2)
