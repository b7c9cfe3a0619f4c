"""Moving shapes: short clips of coloured shapes written as real MP4 files (PyAV), with
Kinetics-style labels, MSR-VTT-style captions, video QA and retrieval lists
(``tools/make_moving_shapes.py`` is the command line).

Each clip has one *subject* shape doing one :data:`EVENTS` item and up to two still distractors.
The clips are symmetric in time on purpose: a clip of "moves left" played backwards is a clip of
"moves right" from the same distribution (the path is centred at random), and "appears" backwards
is "disappears". So the direction and appearance labels cannot be read from any one frame nor from
an order-free pooling of the frames: a model has to use their order. Layout under ``out_dir``::

    videos/{split}_{index:06d}.mp4                   the clips (H.264, yuv420p)
    annotations/label_map.txt                        one event per line: label index = line
    annotations/kinetics_{split}.txt                 Kinetics / mmaction list: "<video> <label>"
    annotations/msrvtt_{split}.json                  [{video, caption: [str], label, event}]
    annotations/qa_{split}.json                      [{video, question, answer}] (MSR-VTT-QA)
    dataset_info.json                                counts, seed, settings, labels

Clip ``i`` of a split depends only on ``(seed, split, i)``; the same arguments give the same
annotation files (and the same frames before encoding).
"""
import json
import os

import numpy as np

from mplug_registry_plugins.datasets.shapes.generator import (BACKGROUND, COLORS, SHAPES, render,
                                                              side_of)

#: the subject's event per clip: Kinetics-style label index = position here
EVENTS = ('moves left', 'moves right', 'moves up', 'moves down', 'appears', 'disappears',
          'changes colour')
#: the labels that need the order of the frames (time-reversed pairs)
TEMPORAL = ('moves left', 'moves right', 'moves up', 'moves down', 'appears', 'disappears')
SPLITS = ('train', 'val')
TRAVEL = 0.45      # the subject's path, as a fraction of the image side
MAX_DISTRACTORS = 2


def _clip_plan(rng, num_frames, size):
    """The subject's event, its objects per frame and the texts of one clip."""
    event = EVENTS[int(rng.integers(len(EVENTS)))]
    color, shape = list(COLORS)[int(rng.integers(len(COLORS)))], SHAPES[int(rng.integers(3))]
    second = [c for c in COLORS if c != color][int(rng.integers(len(COLORS) - 1))]
    # distractors never share the subject's colours: its colour alone names it
    pairs = [(c, s) for c in COLORS for s in SHAPES if c not in (color, second)]
    others = [pairs[int(k)] for k in rng.choice(len(pairs), MAX_DISTRACTORS, replace=False)]
    side = side_of('small', size)
    t = np.arange(num_frames) - (num_frames - 1) / 2
    path = TRAVEL * size
    low, high = side / 2 + 1 + path / 2, size - side / 2 - 1 - path / 2
    cx, cy = rng.uniform(side / 2 + 1, size - side / 2 - 1, size=2)
    xs, ys = np.full(num_frames, cx), np.full(num_frames, cy)
    sign = 1 if event in ('moves right', 'moves down') else -1
    if event in ('moves left', 'moves right'):
        xs = rng.uniform(low, high) + sign * path * t / max(num_frames - 1, 1)
    elif event in ('moves up', 'moves down'):
        ys = rng.uniform(low, high) + sign * path * t / max(num_frames - 1, 1)
    switch = int(rng.integers(num_frames // 4, num_frames - num_frames // 4 + 1))
    frames = []
    for k in range(num_frames):
        visible = not ((event == 'appears' and k < switch) or
                       (event == 'disappears' and k >= switch))
        now = second if event == 'changes colour' and k >= switch else color
        x1, y1 = int(round(xs[k] - side / 2)), int(round(ys[k] - side / 2))
        frames.append([dict(shape=shape, color=now, bbox=[x1, y1, x1 + side, y1 + side])]
                      if visible else [])
    swept = [min(xs) - side / 2, min(ys) - side / 2, max(xs) + side / 2, max(ys) + side / 2]
    still = _place_distractors(rng, others, swept, size)
    frames = [objs + still for objs in frames]
    # where: the row of a horizontal path, the column of a vertical one, both for a still subject
    axes = {'moves left': 'y', 'moves right': 'y', 'moves up': 'x', 'moves down': 'x'}
    place = position(xs.mean(), ys.mean(), size, axes.get(event, 'xy'))
    return event, dict(color=color, second=second, shape=shape, place=place), frames


def position(x, y, size, axes='xy'):
    """Where ``(x, y)`` is, in thirds of the image: "at the top", "on the left", "at the bottom
    right", "in the middle"... ``axes``: ``'y'`` the row only, ``'x'`` the column only."""
    row = ('top', 'middle', 'bottom')[min(2, int(3 * y / size))] if 'y' in axes else 'middle'
    col = ('left', 'middle', 'right')[min(2, int(3 * x / size))] if 'x' in axes else 'middle'
    if row == col == 'middle':
        return 'in the middle'
    if row == 'middle':
        return f'on the {col}'
    return f'at the {row}' + ('' if col == 'middle' else f' {col}')


def _place_distractors(rng, others, swept, size, tries=50):
    """Up to :data:`MAX_DISTRACTORS` still shapes clear of the subject's whole path."""
    placed, boxes = [], [swept]
    for color, shape in others[:int(rng.integers(MAX_DISTRACTORS + 1))]:
        side = side_of('small', size)
        for _ in range(tries):
            x, y = (int(v) for v in rng.integers(1, size - side, size=2))
            box = [x, y, x + side, y + side]
            if all(box[2] + 2 <= b[0] or b[2] + 2 <= box[0] or box[3] + 2 <= b[1] or
                   b[3] + 2 <= box[1] for b in boxes):
                placed.append(dict(shape=shape, color=color, bbox=box))
                boxes.append(box)
                break
    return placed


def clip_texts(event, subject):
    """``(captions, (question, answer))`` of a clip, e.g. "a red circle moves left at the top",
    "the red circle at the top moves left" and ("which way does the red circle move?", "left").
    The place tells apart clips of the same subject and event (retrieval)."""
    name, place = f"{subject['color']} {subject['shape']}", subject['place']
    if event == 'changes colour':
        captions = [f"a {subject['shape']} changes from {subject['color']} to "
                    f"{subject['second']} {place}", f"the {name} {place} turns {subject['second']}"]
        return captions, (f"what colour does the {name} turn?", subject['second'])
    article = 'an' if name[0] in 'aeiou' else 'a'
    captions = [f'{article} {name} {event} {place}', f'the {name} {place} {event}']
    if event.startswith('moves'):
        return captions, (f'which way does the {name} move?', event.split()[1])
    return captions, (f'does the {name} appear or disappear?', event[:-1])


def write_mp4(path, frames, fps=8):
    """``T x H x W x 3`` uint8 frames -> an H.264 MP4 (yuv420p) through PyAV."""
    import av
    with av.open(path, 'w') as container:
        stream = container.add_stream('libx264', rate=fps)
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = 'yuv420p'
        stream.options = {'crf': '12', 'preset': 'veryfast'}   # near-lossless: colours stay readable
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format='rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_clip(split, i, seed, num_frames, size):
    """Clip ``i`` of a split: ``(frames [T, S, S, 3] uint8, record)``."""
    rng = np.random.default_rng([seed, SPLITS.index(split), i])
    event, subject, objects = _clip_plan(rng, num_frames, size)
    frames = np.stack([render(objs, size) for objs in objects])
    captions, (question, answer) = clip_texts(event, subject)
    record = dict(video=f'videos/{split}_{i:06d}.mp4', label=EVENTS.index(event), event=event,
                  caption=captions, question=question, answer=answer)
    return frames, record


def make_moving_shapes(out_dir, seed=0, num_train=800, num_val=200, num_frames=16, size=64,
                       progress=None):
    """Write the clips and annotations of both splits under ``out_dir``; returns the info dict.

    ``progress(split, done, total)`` is called after each clip (a long run shows where it is).
    """
    if size % 2 or size < 32:
        raise ValueError(f'size must be an even number >= 32 (H.264 needs even sides), got {size}')
    if num_frames < 4:
        raise ValueError(f'num_frames must be >= 4, got {num_frames}')
    os.makedirs(os.path.join(out_dir, 'videos'), exist_ok=True)
    os.makedirs(os.path.join(out_dir, 'annotations'), exist_ok=True)
    ann = os.path.join(out_dir, 'annotations')
    with open(os.path.join(ann, 'label_map.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(EVENTS) + '\n')
    counts = {}
    for split, total in (('train', num_train), ('val', num_val)):
        records = []
        for i in range(total):
            frames, record = make_clip(split, i, seed, num_frames, size)
            write_mp4(os.path.join(out_dir, record['video']), frames)
            records.append(record)
            if progress is not None:
                progress(split, i + 1, total)
        with open(os.path.join(ann, f'kinetics_{split}.txt'), 'w', encoding='utf-8') as f:
            f.writelines(f"{r['video']} {r['label']}\n" for r in records)
        _dump(os.path.join(ann, f'msrvtt_{split}.json'),
              [dict(video=r['video'], caption=r['caption'], label=r['label'], event=r['event'])
               for r in records])
        _dump(os.path.join(ann, f'qa_{split}.json'),
              [dict(video=r['video'], question=r['question'], answer=r['answer'])
               for r in records])
        counts[split] = dict(clips=total, per_label=[sum(r['label'] == k for r in records)
                                                     for k in range(len(EVENTS))])
    info = dict(seed=seed, num_frames=num_frames, size=size, labels=list(EVENTS),
                temporal_labels=list(TEMPORAL), background=list(BACKGROUND), splits=counts)
    _dump(os.path.join(out_dir, 'dataset_info.json'), info)
    return info


def _dump(path, obj):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=1)
