"""Image-text data: the shapes generator, the standard-format loaders and the augmentations."""
import collections
import contextlib
import io
import json
import os
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT
from mplug_registry.registry import DATASETS, TRANSFORMS
from mplug_registry_plugins.datasets.shapes.generator import COLORS, loader_configs, make_shapes

SIZE = 64


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    """A tiny shapes set (12 train / 4 val images), made with the command-line tool."""
    out = tmp_path_factory.mktemp('shapes') / 'shapes'
    proc = subprocess.run([sys.executable, 'tools/make_shapes.py', str(out), '--seed', '0',
                           '--num-train', '12', '--num-val', '4', '--image-size', str(SIZE)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return out


def load(root, name):
    path = root / name
    if path.suffix == '.p':
        return pickle.loads(path.read_bytes())
    return json.loads(path.read_text())


def build(root, name, split='val', **overrides):
    """A dataset of the shapes set; pipelines resolve in our scope, as under the runner."""
    from mmengine.registry import DefaultScope
    cfg = dict(loader_configs(split)[name], data_root=str(root), **overrides)
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        return DATASETS.build(dict(type=name, **cfg))


def scenes(root, split):
    graphs = load(root, f'annotations/scenes_{split}.json')['scenes']
    return {s['image_id']: s['objects'] for s in graphs}


def oracle(question, objects):
    """The answer to a generated question, computed from the scene graph."""
    objs = sorted(objects, key=lambda o: o['pixel_coords'][0])
    find = lambda **kw: [o for o in objs if all(o[k] == v for k, v in kw.items())]   # noqa: E731
    side = {'leftmost': objs[0], 'rightmost': objs[-1]}
    if question == 'how many shapes are there?':
        return str(len(objs))
    if m := re.fullmatch(r'how many (circle|square|triangle)s are there\?', question):
        return str(len(find(shape=m[1])))
    if m := re.fullmatch(r'how many (\w+) shapes are there\?', question):
        return str(len(find(color=m[1])))
    if m := re.fullmatch(r'what (color|shape) is the (leftmost|rightmost) (?:shape|object)\?',
                         question):
        return side[m[2]][m[1]]
    if m := re.fullmatch(r'what color is the (?:(small|large) )?(\w+)\?', question):
        (o, ) = find(shape=m[2], **({'size': m[1]} if m[1] else {}))
        return o['color']
    if m := re.fullmatch(r'what shape is the (\w+) object\?', question):
        (o, ) = find(color=m[1])
        return o['shape']
    if m := re.fullmatch(r'what size is the (\w+) (\w+)\?', question):
        (o, ) = find(color=m[1], shape=m[2])
        return o['size']
    pair = r'the (\w+) (\w+) (left|right|to the \w+ or to the \w+) of the (\w+) (\w+)\?'
    if m := re.fullmatch('is ' + pair, question):
        (a, ), (b, ) = find(color=m[1], shape=m[2]), find(color=m[4], shape=m[5])
        truth = 'left' if a['pixel_coords'][0] < b['pixel_coords'][0] else 'right'
        return truth if m[3].startswith('to') else ('yes' if m[3] == truth else 'no')
    if m := re.fullmatch(r'is there an? (\w+) (\w+)\?', question):
        return 'yes' if find(color=m[1], shape=m[2]) else 'no'
    raise AssertionError(f'no oracle for {question!r}')


# ---------------------------------------------------------------------------- generator
def test_same_seed_gives_identical_bytes_and_images_depend_only_on_their_index(shapes, tmp_path):
    info = make_shapes(str(tmp_path / 'again'), seed=0, num_train=12, num_val=4, image_size=SIZE)
    names = sorted(p.relative_to(shapes) for p in shapes.rglob('*') if p.is_file())
    assert len(names) == 16 + 16 + 19 + 1   # images, semantic masks, annotations, dataset_info
    for name in names:
        assert (shapes / name).read_bytes() == (tmp_path / 'again' / name).read_bytes(), name
    assert info['splits']['train']['images'] == 12 and info['seed'] == 0
    make_shapes(str(tmp_path / 'small'), seed=0, num_train=3, num_val=0, image_size=SIZE)
    make_shapes(str(tmp_path / 'other'), seed=1, num_train=3, num_val=0, image_size=SIZE)
    first = 'images/SHAPES_train_000000000001.png'
    assert (tmp_path / 'small' / first).read_bytes() == (shapes / first).read_bytes()
    assert (tmp_path / 'other' / first).read_bytes() != (shapes / first).read_bytes()


def test_dataset_info_counts_match_the_files(shapes):
    info = load(shapes, 'dataset_info.json')
    assert info['splits']['val']['questions'] == len(
        load(shapes, 'annotations/v2_OpenEnded_shapes_val_questions.json')['questions'])
    assert info['splits']['train']['refs'] + info['splits']['val']['refs'] == len(
        load(shapes, 'annotations/refs(unc).p'))
    assert {'red', 'circle', 'left', 'leftmost'} <= set(info['vocabulary']['words'])
    assert info['vocabulary']['colors']['red'] == list(COLORS['red'])


def test_captions_name_every_shape_from_left_to_right(shapes):
    graph = scenes(shapes, 'val')
    for entry in load(shapes, 'annotations/coco_karpathy_val.json'):
        objs = sorted(graph[int(entry['image'][-16:-4])], key=lambda o: o['pixel_coords'][0])
        first = entry['caption'][0]
        names = [f"{o['size']} {o['color']} {o['shape']}" for o in objs]
        positions = [first.index(n) for n in names]
        assert positions == sorted(positions), (first, names)
        assert len(entry['caption']) == 5 and len(set(entry['caption'])) == 5


def test_vqa_answers_match_the_scene_with_minor_disagreement(shapes):
    anns = {a['question_id']: a for a in
            load(shapes, 'annotations/v2_shapes_train_annotations.json')['annotations']}
    graph = scenes(shapes, 'train')
    kinds, disagreeing = collections.Counter(), 0
    for q in load(shapes, 'annotations/v2_OpenEnded_shapes_train_questions.json')['questions']:
        ann = anns[q['question_id']]
        votes = collections.Counter(a['answer'] for a in ann['answers'])
        truth = oracle(q['question'], graph[q['image_id']])
        assert ann['multiple_choice_answer'] == truth == votes.most_common(1)[0][0], q
        assert len(ann['answers']) == 10 and votes[truth] >= 7
        disagreeing += votes[truth] < 10
        kinds[q['question'].split()[1]] += 1
    assert kinds['many'] > 0 and disagreeing > 0   # count questions; soft accuracy matters


def test_grounding_boxes_hold_the_described_shape_and_expressions_are_unique(shapes):
    from PIL import Image
    ds = build(shapes, 'RefCOCODataset', split='train')
    refs_of = collections.defaultdict(set)   # (image, expression) -> refs it is used for
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        refs_of[info['image_id'], info['text']].add(info['ref_id'])
        color = [w for w in info['text'].split() if w in COLORS]
        if not color:
            continue
        img = np.asarray(Image.open(info['img_path']).convert('RGB')).astype(int)
        mask = (img == COLORS[color[0]]).all(-1)                    # [H, W]
        x1, y1, x2, y2 = info['gt_bboxes'][0].astype(int)
        inside = mask[y1:y2, x1:x2]
        assert inside.mean() > 0.4, info['text']
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()
        ring = mask[max(y1 - 1, 0):y2 + 1, max(x1 - 1, 0):x2 + 1].sum() - inside.sum()
        assert ring == 0, info['text']   # the box is tight
    refs = [r for r in load(shapes, 'annotations/refs(unc).p') if r['split'] == 'train']
    assert len(ds) == sum(len(r['sentences']) for r in refs)
    assert all(len(refs) == 1 for refs in refs_of.values())   # unique within the image
    assert len(refs_of) == len(ds)   # and within the ref


# ---------------------------------------------------------------------------- loaders
def test_caption_loader_reads_karpathy_and_official_coco_files(shapes):
    train = build(shapes, 'CocoCaptionDataset', split='train')
    ann = load(shapes, 'annotations/coco_karpathy_train.json')
    assert len(train) == len(ann) == 60
    sample = train[7]
    assert sample['text'] == sample['gt_caption'] == ann[7]['caption']
    assert sample['image_id'] == int(ann[7]['image_id'].split('_')[1])
    assert sample['img'].dtype == np.uint8 and sample['img'].shape == (SIZE, SIZE, 3)
    test = build(shapes, 'CocoCaptionDataset', test_mode=True)
    coco = build(shapes, 'CocoCaptionDataset', test_mode=True,
                 ann_file='annotations/captions_val.json', data_prefix=dict(img_path='images/'))
    val = load(shapes, 'annotations/coco_karpathy_val.json')
    assert len(test) == len(coco) == 4
    for i in range(4):
        a, b = test.get_data_info(i), coco.get_data_info(i)
        assert a['gt_caption'] == b['gt_caption'] == val[i]['caption']
        assert a['image_id'] == b['image_id'] == 1_000_001 + i and a['img_path'] == b['img_path']


def test_vqa_loader_gives_unique_answers_weights_and_raw_answers(shapes, tmp_path):
    ds = build(shapes, 'VQADataset')
    qs = load(shapes, 'annotations/v2_OpenEnded_shapes_val_questions.json')['questions']
    anns = load(shapes, 'annotations/v2_shapes_val_annotations.json')['annotations']
    assert len(ds) == len(qs) == 20
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        raw = [a['answer'] for a in anns[i]['answers']]
        assert info['question'] == qs[i]['question'] and info['question_id'] == qs[i]['question_id']
        assert info['gt_answers'] == raw and info['answers'] == list(dict.fromkeys(raw))
        assert info['answer_weights'] == [raw.count(a) / 10 for a in info['answers']]
        assert (info['answer_type'], info['question_type']) == (anns[i]['answer_type'],
                                                                anns[i]['question_type'])
        assert os.path.basename(info['img_path']) == f"SHAPES_val_{qs[i]['image_id']:012d}.png"
    # ALBEF's list format: the same samples
    albef = [dict(question_id=q['question_id'], question=q['question'], dataset='vqa',
                  image=f"SHAPES_val_{q['image_id']:012d}.png",
                  answer=[x['answer'] for x in a['answers']]) for q, a in zip(qs, anns)]
    (tmp_path / 'vqa_val.json').write_text(json.dumps(albef))
    lst = DATASETS.build(dict(type='VQADataset', ann_file=str(tmp_path / 'vqa_val.json'),
                              data_prefix=dict(img_path=str(shapes / 'images'))))
    keys = ('img_path', 'image_id', 'question', 'question_id', 'answers', 'answer_weights')
    for i in (0, 13):
        assert {k: lst.get_data_info(i)[k] for k in keys} == \
            {k: ds.get_data_info(i)[k] for k in keys}
    assert ds[3]['img'].shape == (SIZE, SIZE, 3)


def test_refcoco_loader_reads_pickle_and_simple_json_with_xyxy_boxes(shapes, tmp_path):
    ds = build(shapes, 'RefCOCODataset')
    instances = load(shapes, 'annotations/instances.json')
    boxes = {a['id']: a['bbox'] for a in instances['annotations']}
    info = ds.get_data_info(2)
    x, y, w, h = boxes[info['ann_id']]
    assert info['gt_bboxes'].dtype == np.float32
    np.testing.assert_array_equal(info['gt_bboxes'], [[x, y, x + w, y + h]])
    assert ds[2]['ori_shape'] == (SIZE, SIZE)
    rows = [ds.get_data_info(i) for i in range(len(ds))]
    simple = [dict(image=os.path.basename(r['img_path']), text=[r['text']],
                   bbox=boxes[r['ann_id']], split='val') for r in rows]
    (tmp_path / 'ref.json').write_text(json.dumps(simple))
    js = build(shapes, 'RefCOCODataset', ann_file=str(tmp_path / 'ref.json'), instances_file=None)
    assert len(js) == len(ds)
    np.testing.assert_array_equal(js.get_data_info(5)['gt_bboxes'], rows[5]['gt_bboxes'])
    assert js.get_data_info(5)['text'] == rows[5]['text']
    with pytest.raises(ValueError, match=r"split='testA'.*its splits: train, val"):
        build(shapes, 'RefCOCODataset', split='testA')


def test_retrieval_test_mode_exposes_texts_and_both_mappings(shapes):
    test = build(shapes, 'RetrievalDataset', test_mode=True)
    val = load(shapes, 'annotations/retrieval_val.json')
    assert len(test) == 4 and test.texts == [c for e in val for c in e['caption']]
    assert test.img2txt == [list(range(5 * i, 5 * i + 5)) for i in range(4)]
    assert test.txt2img == [i for i in range(4) for _ in range(5)]
    meta = test.metainfo
    assert meta['texts'] == test.texts and meta['txt2img'] == test.txt2img
    assert test.get_data_info(2)['text_id'] == [10, 11, 12, 13, 14]
    train = build(shapes, 'RetrievalDataset', split='train')
    ids = [train.get_data_info(i)['image_id'] for i in range(len(train))]
    assert ids == [i for i in range(12) for _ in range(5)]
    assert train.get_data_info(6)['text'] == load(shapes, 'annotations/retrieval_train.json')[6][
        'caption']
    pairs = build(shapes, 'ImageTextPairDataset', split='train')
    assert len(pairs) == 60 and pairs.get_data_info(0)['image_id'] == 1


# ---------------------------------------------------------------------------- bad images
@pytest.fixture
def with_bad_image(shapes, tmp_path):
    """A Karpathy list over 3 images whose second is ``bad.png`` (not written yet)."""
    images = tmp_path / 'images'
    images.mkdir()
    for k in (1, 3):
        shutil.copy(shapes / f'images/SHAPES_train_{k:012d}.png', images / f'img{k}.png')
    entries = [dict(image=f'img{k}.png', caption=[f'caption {k}a', f'caption {k}b'])
               for k in (1, 2, 3)]
    entries[1]['image'] = 'bad.png'
    (tmp_path / 'ann.json').write_text(json.dumps(entries))
    return tmp_path


def _captions(root, **kw):
    return DATASETS.build(dict(type='CocoCaptionDataset', data_root=str(root), ann_file='ann.json',
                               data_prefix=dict(img_path='images/'), **kw))


def test_missing_image_raises_an_error_naming_the_file(with_bad_image):
    ds = _captions(with_bad_image)
    with pytest.raises(FileNotFoundError, match=r"image file not found: '.*images/bad\.png'"):
        ds[2]


def test_corrupt_image_raises_an_error_naming_the_file(with_bad_image):
    (with_bad_image / 'images' / 'bad.png').write_bytes(b'\x89PNG garbage bytes' * 4)
    ds = _captions(with_bad_image, test_mode=True)
    with pytest.raises(ValueError, match=r"cannot read image '.*images/bad\.png'"):
        ds[1]


def test_skip_bad_images_skips_and_counts_in_train_and_test_mode(with_bad_image):
    (with_bad_image / 'images' / 'bad.png').write_bytes(b'not an image')
    train = _captions(with_bad_image, skip_bad_images=True)
    texts = [train[i]['text'] for i in range(len(train))]
    assert len(train) == 6 and train.num_skipped == 1
    assert texts == ['caption 1a', 'caption 1b', 'caption 3a', 'caption 3a', 'caption 3a',
                     'caption 3b']   # a bad sample is replaced by the next good one
    assert list(train.skipped_images) == [str(with_bad_image / 'images' / 'bad.png')]
    test = DATASETS.build(dict(type='RetrievalDataset', data_root=str(with_bad_image),
                               ann_file='ann.json', data_prefix=dict(img_path='images/'),
                               test_mode=True, skip_bad_images=True))
    assert len(test) == 2 and test.num_skipped == 1
    assert test.texts == ['caption 1a', 'caption 1b', 'caption 3a', 'caption 3b']
    assert test.img2txt == [[0, 1], [2, 3]]
    assert test[1]['gt_caption'] == ['caption 3a', 'caption 3b']


def test_check_args_and_check_config_name_the_bad_path(shapes):
    from mplug_registry.config import check_config
    from mplug_registry.errors import ConfigError
    cfg = dict(loader_configs()['VQADataset'], data_root=str(shapes))
    DATASETS.get('VQADataset').check_args(**cfg)
    with pytest.raises(FileNotFoundError, match='answer_file: no file'):
        DATASETS.get('VQADataset').check_args(**dict(cfg, answer_file='nope.json'))
    with pytest.raises(ValueError, match="no argument 'skip_bad_image' .*'skip_bad_images'"):
        DATASETS.get('VQADataset').check_args(**dict(cfg, skip_bad_image=True, pipeline=[]))
    bad = dict(train_dataloader=dict(dataset=dict(type='RefCOCODataset', **dict(
        loader_configs()['RefCOCODataset'], data_root=str(shapes),
        data_prefix=dict(img_path='imgs/')))))
    with pytest.raises(ConfigError, match=r"train_dataloader.dataset: RefCOCODataset: "
                                          r"data_prefix.img_path: no image directory"):
        check_config(bad)


# ---------------------------------------------------------------------------- transforms
def test_random_flip_swaps_left_right_words_and_flips_boxes():
    flip = TRANSFORMS.build(dict(type='RandomFlip', prob=1.0))
    img = np.zeros((4, 10, 3), np.uint8)
    img[:, 1] = 255
    out = flip(dict(img=img, gt_bboxes=np.array([[1, 2, 4, 3]], np.float32),
                    text='The left circle, right of the Leftmost square (bright).',
                    question='is it LEFT or right?', gt_caption=['left of', 'rightmost'],
                    answers=['left', 'right', 'up']))
    np.testing.assert_array_equal(out['gt_bboxes'], [[6, 2, 9, 3]])   # x -> 10 - x
    assert out['img'][:, 8].min() == 255 and out['img'][:, 1].max() == 0
    assert out['text'] == 'The right circle, left of the Rightmost square (bright).'
    assert out['question'] == 'is it RIGHT or left?'
    assert out['gt_caption'] == ['right of', 'leftmost']
    assert out['answers'] == ['right', 'left', 'up'] and out['flip'] is True
    keep = TRANSFORMS.build(dict(type='RandomFlip', prob=0.0))(dict(img=img, text='left'))
    assert keep['text'] == 'left' and keep['flip'] is False


def test_seeded_transforms_repeat_their_draws():
    def draws(seed):
        flip = TRANSFORMS.build(dict(type='RandomFlip', seed=seed))
        crop = TRANSFORMS.build(dict(type='RandomResizedCrop', size=16, seed=seed))
        img = np.zeros((40, 40, 3), np.uint8)
        return [(flip(dict(img=img))['flip'], crop(dict(img=img))['crop_bbox']) for _ in range(8)]
    assert draws(3) == draws(3) and draws(3) != draws(4)
    assert len({f for f, _ in draws(3)}) == 2


def test_random_resized_crop_keeps_boxes_on_the_same_pixels(shapes):
    ds = build(shapes, 'RefCOCODataset', split='train')
    infos = [ds[i] for i in range(0, len(ds), 3)]
    for contain in (True, False):
        crop = TRANSFORMS.build(dict(type='RandomResizedCrop', size=48, interpolation='nearest',
                                     contain_boxes=contain, seed=0))
        for info in infos:
            color = COLORS[[w for w in info['text'].split() if w in COLORS][0]]
            box = info['gt_bboxes'][0].copy()
            alone = np.full_like(info['img'], 128)   # only the referred shape, on the background
            bx = box.astype(int)
            alone[bx[1]:bx[3], bx[0]:bx[2]] = info['img'][bx[1]:bx[3], bx[0]:bx[2]]
            out = crop(dict(img=alone, gt_bboxes=info['gt_bboxes'].copy()))
            x0, y0, x1, y1 = out['crop_bbox']
            assert out['img'].shape == (48, 48, 3) and x1 - x0 >= 0.5 ** 0.5 * SIZE * 0.75
            expect = (np.clip(box - [x0, y0, x0, y0], 0, [x1 - x0, y1 - y0] * 2) *
                      np.array([48 / (x1 - x0), 48 / (y1 - y0)] * 2))
            np.testing.assert_allclose(out['gt_bboxes'][0], expect, rtol=1e-5)
            inside = x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1
            assert inside or not contain
            ys, xs = np.nonzero((out['img'] == color).all(-1))
            if len(xs) == 0:
                continue   # cropped away (contain_boxes=False)
            bx1, by1, bx2, by2 = out['gt_bboxes'][0]
            # every pixel of the shape is in its box; a box that was not cut is still tight
            assert (xs.min() >= bx1 - 1 and xs.max() + 1 <= bx2 + 1 and ys.min() >= by1 - 1 and
                    ys.max() + 1 <= by2 + 1)
            if inside:
                assert (abs(xs.min() - bx1) <= 1 and abs(xs.max() + 1 - bx2) <= 1 and
                        abs(ys.min() - by1) <= 1 and abs(ys.max() + 1 - by2) <= 1)


def test_flipped_questions_still_match_the_flipped_scene(shapes):
    ds = build(shapes, 'VQADataset', pipeline=[dict(type='RandomFlip', prob=1.0)])
    graph = scenes(shapes, 'val')
    for i in range(len(ds)):
        out = ds[i]
        objs = [dict(o, pixel_coords=[SIZE - o['pixel_coords'][0], o['pixel_coords'][1]])
                for o in graph[out['image_id']]]
        votes = collections.Counter(out['gt_answers'])
        assert oracle(out['question'], objs) == votes.most_common(1)[0][0], out['question']


def test_flipped_expressions_still_point_at_their_object(shapes):
    """Grounding under RandomFlip: the flipped box holds the named colour and shape, and "the
    leftmost shape" / "... on the left" is the leftmost object of the flipped scene."""
    ds = build(shapes, 'RefCOCODataset', pipeline=[dict(type='RandomFlip', prob=1.0)])
    graph = scenes(shapes, 'val')
    sides = collections.Counter()
    for i in range(len(ds)):
        out = ds[i]
        objs = sorted(graph[out['image_id']], key=lambda o: -o['pixel_coords'][0])  # flipped
        x1, y1, x2, y2 = out['gt_bboxes'][0]
        target = min(objs, key=lambda o: abs(SIZE - o['pixel_coords'][0] - (x1 + x2) / 2) +
                     abs(o['pixel_coords'][1] - (y1 + y2) / 2))
        words = out['text'].split()
        assert all(w not in words for w in ('red', 'green', 'blue', 'yellow', 'purple', 'orange',
                                            'circle', 'square', 'triangle')
                   if w not in (target['color'], target['shape'])), out['text']
        for side, end in (('left', objs[0]), ('right', objs[-1])):
            if f'{side}most' in words or out['text'].endswith(f'on the {side}'):
                assert target is end, out['text']
                sides[side] += 1
    assert sides, 'no left/right expression in the tiny set'


def test_pipeline_packs_a_data_sample_with_the_fields_and_a_uint8_image(shapes):
    pipeline = [dict(type='RandomResizedCrop', size=32, seed=0), dict(type='RandomFlip', seed=0),
                dict(type='ImageResize', size=24), dict(type='PackMultimodalInputs')]
    packed = build(shapes, 'VQADataset', pipeline=pipeline)[0]
    images, sample = packed['inputs']['images'], packed['data_samples']
    assert images.dtype == torch.uint8 and images.shape == (3, 24, 24)
    raw = build(shapes, 'VQADataset').get_data_info(0)
    assert sample.question_id == raw['question_id'] and len(sample.gt_answers) == 10
    assert sample.answer_weights == raw['answer_weights'] and sample.image_id == raw['image_id']
    grounding = build(shapes, 'RefCOCODataset', pipeline=pipeline)[1]['data_samples']
    assert grounding.gt_bboxes.shape == (1, 4) and grounding.gt_bboxes.dtype == torch.float32
    assert grounding.text and grounding.ori_shape == (SIZE, SIZE)
    assert grounding.img_shape == (24, 24)
    caption = build(shapes, 'CocoCaptionDataset', pipeline=pipeline, test_mode=True)[0]
    assert len(caption['data_samples'].gt_caption) == 5


def test_cli_lists_the_image_text_datasets():
    from mplug_registry.cli import main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(['list', '--kind', 'dataset', '--json'])
    names = {r['name'] for r in json.loads(buf.getvalue())}
    assert {'CocoCaptionDataset', 'VQADataset', 'RefCOCODataset', 'RetrievalDataset',
            'ImageTextPairDataset'} <= names
