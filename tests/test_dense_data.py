"""Dense data: the shapes instance / semantic files, the DeepForest and StarDist converters, and
the checked COCO / segmentation datasets with their one-line errors and counted skips."""
import importlib.util
import json
import logging
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT
from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.shapes.generator import (BACKGROUND, SHAPES, loader_configs,
                                                              make_shapes)

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')
mask_utils = pytest.importorskip('pycocotools.mask')
from pycocotools.coco import COCO  # noqa: E402

from mplug_registry_plugins.dense.datasets import BadAnnotation  # noqa: E402

SIZE = 64


@pytest.fixture(autouse=True)
def scope():
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        yield


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp('shapes')
    make_shapes(str(out), seed=0, num_train=6, num_val=3, image_size=SIZE)
    return out


def image(path):
    from PIL import Image
    with Image.open(path) as im:
        return np.asarray(im)


# ---------------------------------------------------------------------------- shapes
@pytest.mark.parametrize('split', ['train', 'val'])
def test_shapes_instances_are_the_exact_rendered_masks(shapes, split):
    coco = COCO(str(shapes / f'annotations/instances_{split}.json'))
    assert [(c['id'], c['name']) for c in coco.loadCats(coco.getCatIds())] == \
        [(i + 1, s) for i, s in enumerate(SHAPES)]
    refcoco = {a['id']: a for a in json.loads(
        (shapes / 'annotations/instances.json').read_text())['annotations']}
    for img_id in coco.getImgIds():
        info = coco.loadImgs(img_id)[0]
        pixels = image(shapes / 'images' / info['file_name']).astype(int)
        semantic = image(shapes / 'semantic' / info['file_name'])
        assert semantic.shape == (SIZE, SIZE) and semantic.dtype == np.uint8
        expected = np.zeros((SIZE, SIZE), np.uint8)
        for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
            mask = mask_utils.decode(ann['segmentation']).astype(bool)
            assert mask.shape == (SIZE, SIZE) and mask.sum() == ann['area'] == \
                mask_utils.area(ann['segmentation'])
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                   ys.max() - ys.min() + 1]   # tight
            colours = np.unique(pixels[mask], axis=0)
            assert len(colours) == 1 and tuple(colours[0]) != BACKGROUND   # one shape's pixels
            assert refcoco[ann['id']]['bbox'] == ann['bbox']   # the RefCOCO file's objects
            expected[mask] = ann['category_id']
        np.testing.assert_array_equal(semantic, expected)
        assert ((pixels == BACKGROUND).all(-1) == (semantic == 0)).all()


def test_shapes_dataset_info_and_loader_configs(shapes):
    info = json.loads((shapes / 'dataset_info.json').read_text())
    assert info['files']['val']['instances'] == 'annotations/instances_val.json'
    assert info['splits']['train']['instances'] == info['splits']['train']['objects']
    lines = (shapes / info['files']['val']['semantic_list']).read_text().split()
    assert lines == [f'SHAPES_val_{1_000_001 + i:012d}' for i in range(3)]
    cfg = loader_configs('val')
    det = DATASETS.build(dict(cfg['mmdet.CocoDataset'], type='CheckedCocoDataset',
                              data_root=str(shapes)))
    seg = DATASETS.build(dict(cfg['mmseg.BaseSegDataset'], type='CheckedSegDataset',
                              data_root=str(shapes), test_mode=True))
    assert len(det) == len(seg) == 3 and det.num_skipped == seg.num_skipped == 0
    assert sum(len(det[i]['instances']) for i in range(3)) == info['splits']['val']['objects']
    assert seg[0]['seg_map_path'].endswith('semantic/SHAPES_val_000001000001.png')


# ---------------------------------------------------------------------------- converters
def run_tool(name, out):
    proc = subprocess.run([sys.executable, f'tools/{name}.py', str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def needs(package):
    if importlib.util.find_spec(package) is None:
        pytest.skip(f'{package} is not installed (pip install --no-deps {package})')


def check_coco(root, split, category):
    coco = COCO(str(root / f'annotations/{split}.json'))
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == [category]
    for ann in coco.loadAnns(coco.getAnnIds()):
        info = coco.loadImgs(ann['image_id'])[0]
        x, y, w, h = ann['bbox']
        assert w > 0 and h > 0 and x >= 0 and y >= 0
        assert x + w <= info['width'] and y + h <= info['height']
    for info in coco.loadImgs(coco.getImgIds()):
        assert image(root / 'images' / info['file_name']).shape[:2] == \
            (info['height'], info['width'])
    return coco


def test_deepforest_converter_writes_tiled_coco_detection(tmp_path):
    needs('deepforest')
    out = run_tool('convert_deepforest', tmp_path / 'trees')
    assert 'labelled images' in out and 'train:' in out
    info = json.loads((tmp_path / 'trees/dataset_info.json').read_text())
    train, val = (check_coco(tmp_path / 'trees', s, 'tree') for s in ('train', 'val'))
    tiles, boxes = len(train.imgs) + len(val.imgs), len(train.anns) + len(val.anns)
    assert 0.15 <= len(val.imgs) / tiles <= 0.3 and 0.15 <= len(val.anns) / boxes <= 0.3
    labelled = sum(s['boxes'] for s in info['sources'])
    assert len(info['sources']) >= 3 and labelled >= 500 and 0.95 * labelled <= boxes <= labelled
    assert info['splits']['val'] == dict(images=len(val.imgs), annotations=len(val.anns))
    assert max(max(i['width'], i['height']) for i in train.imgs.values()) <= 256


def test_stardist_converter_writes_instances_and_semantic_masks(tmp_path):
    needs('stardist')
    out = run_tool('convert_stardist', tmp_path / 'a')
    assert 'nuclei' in out
    run_tool('convert_stardist', tmp_path / 'b')
    for path in sorted((tmp_path / 'a').rglob('*.*')):   # the same bytes again
        assert path.read_bytes() == (tmp_path / 'b' / path.relative_to(tmp_path / 'a')).read_bytes()
    root = tmp_path / 'a'
    info = json.loads((root / 'dataset_info.json').read_text())
    assert 100 <= info['nuclei'] <= 150 and info['splits']['val']['images'] == 4
    for split in ('train', 'val'):
        coco = check_coco(root, split, 'nucleus')
        assert len(coco.anns) == info['splits'][split]['instances']
        for img_id, info_img in coco.imgs.items():
            semantic = image(root / 'semantic' / info_img['file_name'])
            assert semantic.shape == (info_img['height'], info_img['width'])
            assert set(np.unique(semantic)) <= {0, 1}
            for ann in coco.loadAnns(coco.getAnnIds(imgIds=img_id)):
                mask = mask_utils.decode(ann['segmentation']).astype(bool)
                assert mask.shape == semantic.shape and mask.sum() == ann['area'] >= 16
                assert semantic[mask].all()
    total = info['splits']['train']['instances'] + info['splits']['val']['instances']
    assert info['nuclei'] <= total <= 1.6 * info['nuclei']   # cut nuclei count once per tile


def test_converters_say_how_to_install_a_missing_package(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location('convert_stardist',
                                                  ROOT / 'tools/convert_stardist.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(importlib.util, 'find_spec', lambda name: None)
    assert tool.main(['unused']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pip install --no-deps stardist' in err


# ---------------------------------------------------------------------------- checked COCO
def coco_file(tmp_path, anns, images=None):
    images = images or [dict(id=1, file_name='a.png', width=40, height=30),
                        dict(id=2, file_name='b.png', width=40, height=30)]
    data = dict(images=images, annotations=anns, categories=[dict(id=1, name='thing')])
    path = tmp_path / 'ann.json'
    path.write_text(json.dumps(data))
    return str(path)


def ann(id, image_id=1, bbox=(2, 3, 10, 10), **kw):
    return dict(id=id, image_id=image_id, category_id=1, bbox=list(bbox), area=100, iscrowd=0,
                **kw)


def coco_dataset(path, **kw):
    return DATASETS.build(dict(type='CheckedCocoDataset', ann_file=path, data_prefix=dict(img=''),
                               metainfo=dict(classes=('thing', )), **kw))


BAD_COCO = {
    'box outside': ([ann(7, bbox=(35, 3, 10, 10))], "image 1 'a.png', annotation 7: box",
                    'beyond the 40x30 image'),
    'empty box': ([ann(8, image_id=2, bbox=(2, 3, 0, 5))], "image 2 'b.png', annotation 8",
                  'non-positive size'),
    'mask size': ([ann(9, segmentation=dict(size=[40, 30], counts='abc'))],
                  "image 1 'a.png', annotation 9: mask size [40, 30]", 'image size [30, 40]'),
    'polygon': ([ann(3, segmentation=[[1, 1, 50, 1, 1, 20]])], 'annotation 3', 'polygon'),
    'unknown image': ([ann(4, image_id=99)], 'annotation 4: image_id 99', 'not in `images`'),
    'unknown category': ([dict(ann(5), category_id=6)], 'annotation 5: category_id 6',
                         'not in `categories`'),
    'repeated id': ([ann(2)], 'annotation id 2', 'used twice'),
    'empty list': ([], 'the `annotations` list is empty', ''),
}


@pytest.mark.parametrize('case', BAD_COCO)
def test_checked_coco_raises_one_line_naming_file_and_entry(tmp_path, case):
    anns, entry, problem = BAD_COCO[case]
    path = coco_file(tmp_path, [ann(1), ann(2, image_id=2)] + anns if anns else [])
    with pytest.raises(BadAnnotation) as err:
        coco_dataset(path)
    text = str(err.value)
    assert '\n' not in text and text.startswith(f"'{path}': ") and entry in text and problem in text
    assert isinstance(err.value, ValueError)


def test_checked_coco_skips_and_counts_bad_annotations_and_images(tmp_path):
    from mmengine.logging import MMLogger
    images = [dict(id=1, file_name='a.png', width=40, height=30),
              dict(id=2, file_name='b.png', width=0, height=30)]
    anns = [ann(1), ann(2, image_id=2), ann(7, bbox=(35, 3, 10, 10)),
            ann(9, segmentation=dict(size=[40, 30], counts='abc')), ann(4, image_id=99)]
    lines = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: lines.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        ds = coco_dataset(coco_file(tmp_path, anns, images), skip_bad_annotations=True)
    finally:
        logger.removeHandler(handler)
    assert ds.num_skipped == 4 and len(ds) == 1 and len(ds[0]['instances']) == 1
    assert len(lines) == 1 and 'skipped 4 bad' in lines[0]


def test_checked_coco_builds_from_an_mmdet_config_and_matches_coco_dataset(shapes):
    from mmdet.registry import DATASETS as MMDET_DATASETS
    from mmengine.registry import DefaultScope
    cfg = dict(loader_configs('train')['mmdet.CocoDataset'], data_root=str(shapes),
               filter_cfg=dict(filter_empty_gt=True))
    with DefaultScope.overwrite_default_scope('mmdet'):
        checked = MMDET_DATASETS.build(dict(cfg, type='mplug_registry.CheckedCocoDataset'))
        plain = MMDET_DATASETS.build(dict(cfg, type='CocoDataset'))
    assert type(checked).__name__ == 'CheckedCocoDataset' and len(checked) == len(plain) == 6
    for i in range(len(plain)):
        assert checked.get_data_info(i) == plain.get_data_info(i)


def test_bad_annotation_reaches_the_tools_as_one_line(tmp_path, capsys):
    from mplug_registry.runtime import user_errors
    path = coco_file(tmp_path, [ann(7, bbox=(35, 3, 10, 10))])
    with pytest.raises(SystemExit) as stop, user_errors('train'):
        coco_dataset(path)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count('\n') == 1
    assert err.startswith(f"train: error: '{path}': image 1 'a.png', annotation 7")


# ---------------------------------------------------------------------------- checked seg
@pytest.fixture
def seg_root(tmp_path):
    """Four 8x6 samples: good, a mask of the wrong size, a missing mask, a label of no class."""
    from PIL import Image
    for folder in ('img', 'ann'):
        (tmp_path / folder).mkdir()
    masks = {'a': np.zeros((6, 8)), 'b': np.zeros((5, 8)), 'd': np.full((6, 8), 7)}
    masks['a'][2:4, 2:4] = 1
    masks['d'][0, 0] = 255   # the ignore index is fine
    for name in 'abcd':
        Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / 'img' / f'{name}.png')
        if name in masks:
            Image.fromarray(masks[name].astype(np.uint8)).save(tmp_path / 'ann' / f'{name}.png')
    return tmp_path


def seg_dataset(root, **kw):
    return DATASETS.build(dict(type='CheckedSegDataset', data_root=str(root),
                               data_prefix=dict(img_path='img', seg_map_path='ann'),
                               img_suffix='.png', metainfo=dict(classes=('bg', 'fg')), **kw))


def test_checked_seg_raises_one_line_naming_the_map(seg_root):
    with pytest.raises(BadAnnotation, match=r"^segmentation map '.*b\.png' is 8x5 but its image "
                                            r"'.*b\.png' is 8x6 \(and 1 more problems\)"):
        seg_dataset(seg_root)
    (seg_root / 'img' / 'b.png').unlink()
    with pytest.raises(BadAnnotation, match=r"^segmentation map '.*c\.png' of image .* missing"):
        seg_dataset(seg_root)
    (seg_root / 'img' / 'c.png').unlink()
    with pytest.raises(BadAnnotation, match=r"d\.png' of image '.*': labels 7 are outside the 2 "
                                            r'classes 0-1 \(ignore index 255\)'):
        seg_dataset(seg_root, test_mode=True)
    train = seg_dataset(seg_root)   # labels are read when a sample is first served
    assert train[0]['seg_map_path'].endswith('a.png')
    with pytest.raises(BadAnnotation, match='labels 7'):
        train.prepare_data(1)


def test_checked_seg_skips_and_counts_bad_samples(seg_root):
    test = seg_dataset(seg_root, test_mode=True, skip_bad_samples=True)
    assert len(test) == 1 and test.num_skipped == 3
    train = seg_dataset(seg_root, skip_bad_samples=True)
    assert len(train) == 2 and train.num_skipped == 2
    assert train.prepare_data(1) is None and train.num_skipped == 3
    assert all(train[1]['seg_map_path'].endswith('a.png') for _ in range(3))   # another sample
    assert train.num_skipped == 3
