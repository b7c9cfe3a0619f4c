"""ImageNet-style image classification: the folder / list dataset and its errors, the made-data
tool, layer-wise lr decay on our parameter names, the augmentation pipeline (mmdet's RandAugment
and RandomErasing across scopes), and the config trained end to end for one epoch."""
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

CONFIG = 'configs/image_classification/image_folder_tiny.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
CLASSES = ('circle', 'square', 'triangle')


def run_tool(*args, check=True):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert not check or proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp('image_folder')
    proc = run_tool('tools/make_image_folder.py', str(out), '--num-train', '60', '--num-val',
                    '30', '--image-size', '32')
    assert 'train: 60 images (circle 20, square 20, triangle 20)' in proc.stdout
    assert 'val: 30 images (circle 10, square 10, triangle 10)' in proc.stdout
    return out


def dataset(**kwargs):
    from mplug_registry_plugins.datasets.image_folder import ImageFolderDataset
    return ImageFolderDataset(**kwargs)


def test_made_data_is_deterministic_and_flip_keeps_the_shape(data, tmp_path):
    run_tool('tools/make_image_folder.py', str(tmp_path), '--num-train', '6', '--num-val', '3',
             '--image-size', '32')
    for rel in ('train/square/square_00002.png', 'val/triangle/triangle_00003.png',
                'classes.txt'):
        assert (tmp_path / rel).read_bytes() == (data / rel).read_bytes(), rel
    small = (tmp_path / 'meta' / 'train.txt').read_text()   # a prefix of the larger set
    assert len(small.splitlines()) == 6
    assert (data / 'meta' / 'train.txt').read_text().startswith(small)
    assert (data / 'classes.txt').read_text().split() == list(CLASSES)
    from PIL import Image
    for shape in CLASSES:   # every shape is mirror-symmetric: a flip keeps the label
        name = f'{shape}_{CLASSES.index(shape) + 1:05d}.png'
        mask = (np.asarray(Image.open(data / 'train' / shape / name)) != 128).any(-1)
        cols = np.flatnonzero(mask.any(0))
        part = mask[:, cols[0]:cols[-1] + 1]
        assert (part != part[:, ::-1]).mean() < 0.05, shape


def test_folder_and_list_give_the_same_samples(data):
    tree = dataset(data_root=str(data), data_prefix=dict(img_path='train'))
    listed = dataset(data_root=str(data), data_prefix=dict(img_path='train'),
                     ann_file='meta/train.txt')
    assert len(tree) == len(listed) == 60
    assert tree.metainfo['classes'] == listed.metainfo['classes'] == CLASSES
    assert tree.metainfo['task'] == 'classification'
    pairs = lambda ds: sorted((ds.get_data_info(i)['img_path'], ds.get_data_info(i)['gt_label'])
                              for i in range(len(ds)))
    assert pairs(tree) == pairs(listed)
    sample = tree.prepare_data(25)
    assert sample['img'].shape == (32, 32, 3) and sample['img'].dtype == np.uint8
    assert sample['gt_label'] == CLASSES.index(sample['img_path'].split('/')[-2]) == 1


def test_classes_from_argument_or_sorted_folders(data, tmp_path):
    two = dataset(data_root=str(data), data_prefix=dict(img_path='val'),
                  classes=['triangle', 'circle'])
    assert two.metainfo['classes'] == ('triangle', 'circle') and len(two) == 20
    assert {two.get_data_info(i)['img_path'].split('/')[-2]: two.get_data_info(i)['gt_label']
            for i in range(len(two))} == {'triangle': 0, 'circle': 1}
    from PIL import Image
    for name in ('zebra', 'ant'):   # no classes.txt: the sorted folder names
        (tmp_path / name / 'sub').mkdir(parents=True)
        Image.new('RGB', (8, 8)).save(tmp_path / name / 'sub' / 'a.JPG')
    (tmp_path / 'ant' / 'notes.txt').write_text('not an image')
    ds = dataset(data_root=str(tmp_path))
    assert ds.metainfo['classes'] == ('ant', 'zebra') and len(ds) == 2
    assert [ds.get_data_info(i)['gt_label'] for i in range(2)] == [0, 1]


def test_bad_data_is_one_clear_error(data, tmp_path):
    from mplug_registry.errors import DataPathError, MplugRegistryError
    with pytest.raises(DataPathError, match=f"data_root: no directory '{tmp_path}/none'"):
        dataset(data_root=str(tmp_path / 'none'))
    with pytest.raises(DataPathError, match="data_prefix.img_path: no image directory .*/test'"):
        dataset(data_root=str(data), data_prefix=dict(img_path='test'))
    with pytest.raises(DataPathError, match=r"no folder for class\(es\) \['hexagon'\]"):
        dataset(data_root=str(data), data_prefix=dict(img_path='val'), classes=['hexagon'])
    (tmp_path / 'empty' / 'cat').mkdir(parents=True)
    with pytest.raises(MplugRegistryError, match="no images in '.*empty'"):
        dataset(data_root=str(tmp_path / 'empty'))
    rows = (data / 'meta' / 'val.txt').read_text().splitlines()
    for bad, why in ((f'{rows[0]}\ncircle/x.png 3', 'line 2: label 3 is not a class'),
                     (f'{rows[0]}\ncircle/x.png cat', "line 2: expected 'relative/path.png LABEL'"),
                     ('circle/x.png', "line 1: expected 'relative/path.png LABEL'")):
        (tmp_path / 'bad.txt').write_text(bad + '\n')
        with pytest.raises(MplugRegistryError, match=re.escape(f"'{tmp_path}/bad.txt', {why}")):
            dataset(data_root=str(data), data_prefix=dict(img_path='val'),
                    ann_file=str(tmp_path / 'bad.txt'))
    (tmp_path / 'broken' / 'cat').mkdir(parents=True)
    (tmp_path / 'broken' / 'cat' / 'a.png').write_bytes(b'not a png')
    ds = dataset(data_root=str(tmp_path / 'broken'))
    with pytest.raises(MplugRegistryError, match=r"cannot read image '.*cat/a.png'"):
        ds[0]


def test_config_check_names_the_missing_data_key(tmp_path):
    from mplug_registry.config import check_config, load_config
    from mplug_registry.errors import DataPathError
    cfg = load_config(CONFIG, {f'{k}.dataset.data_root': f'{tmp_path}/none' for k in LOADERS})
    with pytest.raises(DataPathError, match=f"^train_dataloader.dataset: ImageFolderDataset: "
                       f"data_root: no directory '{tmp_path}/none'$"):
        check_config(cfg)


def _expected_layer(name, depth):
    if name.startswith('vision_encoder.transformer.resblocks.'):
        return int(name.split('.')[3]) + 1
    if name.split('.')[1] in ('conv1', 'class_embedding', 'positional_embedding', 'ln_pre'):
        return 0
    return depth + 1


def test_layer_decay_scales_every_parameter_by_its_layer():
    from mplug_registry.builder import build_component
    from mplug_registry.errors import ConfigError
    from mplug_registry.registry import OPTIM_WRAPPER_CONSTRUCTORS
    model = build_component(dict(
        type='ComposedModel',
        vision_encoder=dict(type='DualVisionEncoder', arch='tiny', layers=3, image_size=32,
                            patch_size=8),
        universal=dict(type='UniversalLayers', embed_dims=192, num_latents=4, num_layers=1,
                       num_heads=3),
        heads=dict(cls=dict(type='ClassificationHead', num_classes=3, in_dims=192))), 'model')
    wrapper_cfg = dict(type='OptimWrapper',
                       optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
    build = lambda paramwise: OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='VisionLayerDecayOptimizerConstructor', optim_wrapper_cfg=wrapper_cfg,
        paramwise_cfg=paramwise))(model)
    groups = build(dict(decay_rate=0.5)).optimizer.param_groups   # num_layers: 3, the depth
    seen = {}
    for group in groups:
        for name, param in zip(group['param_names'], group['params']):
            seen[name] = param
            layer = _expected_layer(name, 3)
            assert group['lr'] == pytest.approx(1e-3 * 0.5 ** (4 - layer)), name
            no_decay = param.ndim == 1 or name.endswith('.bias') or 'embedding' in name
            assert group['weight_decay'] == (0.0 if no_decay else 0.05), name
    params = dict(model.named_parameters())
    assert seen.keys() == params.keys() and all(seen[n] is params[n] for n in params)
    lrs = {n: g['lr'] for g in groups for n in g['param_names']}
    assert lrs['vision_encoder.conv1.weight'] == pytest.approx(1e-3 / 16)
    assert lrs['vision_encoder.transformer.resblocks.2.attn.in_proj_weight'] == pytest.approx(5e-4)
    assert lrs['heads.cls.fc.weight'] == lrs['vision_encoder.ln_post.weight'] == 1e-3
    for bad, key in ((dict(), 'decay_rate'), (dict(decay_rate=1.5), 'decay_rate'),
                     (dict(decay_rate=0.9, num_layers=-1), 'num_layers'),
                     (dict(decay_rate=0.9, decay_type='stage_wise'), 'decay_type')):
        with pytest.raises(ConfigError, match=f'^optim_wrapper.paramwise_cfg.{key}: '):
            build(bad)


def test_recipe_pipeline_gives_image_tensors(data):
    from mmengine.registry import DefaultScope

    from mplug_registry.config import load_config
    from mplug_registry.registry import TRANSFORMS
    cfg = load_config(CONFIG)
    np.random.seed(0)
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        ds = dataset(data_root=str(data), data_prefix=dict(img_path='train'),
                     pipeline=cfg.train_pipeline)
        names = [type(t).__name__ for t in ds.pipeline.transforms]
        assert names == ['RandomResizedCrop', 'RandomFlip', 'RandAugment', 'RandomApply',
                         'PackMultimodalInputs']
        erase = TRANSFORMS.build(cfg.train_pipeline[3].transforms[0])
        augment = TRANSFORMS.build(cfg.train_pipeline[2])
    for i in range(0, 60, 7):
        out = ds[i]
        assert out['inputs']['images'].shape == (3, 32, 32)
        assert out['inputs']['images'].dtype == torch.uint8
        assert int(out['data_samples'].gt_label) == ds.get_data_info(i)['gt_label']
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    erased = erase(dict(img=img.copy(), img_shape=img.shape[:2]))['img']
    gone = (erased != img).any(-1)
    assert gone.any() and (erased[gone] == 0).all()   # one black patch
    changed = [not np.array_equal(augment(dict(img=img.copy(), img_shape=(32, 32)))['img'], img)
               for _ in range(10)]
    assert sum(changed) >= 5   # 2 of 15 operations per call (a few, e.g. Equalize, may no-op)


def test_config_trains_one_epoch(data, tmp_path):
    proc = run_tool('tools/train.py', CONFIG, '--work-dir', str(tmp_path), '--val-at-start',
                    '--cfg-options', *[f'{k}.dataset.data_root={data}' for k in LOADERS],
                    'train_dataloader.batch_size=20', 'train_cfg.max_epochs=1',
                    'train_cfg.val_interval=1', 'default_hooks.logger.interval=1')
    log = proc.stdout + proc.stderr
    assert re.search(r'layer-wise lr decay 0.85 over 4 blocks: \d+ groups, lr scales '
                     r'\[0.4437, 0.522, 0.6141, 0.7225, 0.85, 1.0\]', log), log[-3000:]
    for epoch in (0, 1):
        assert re.search(rf'Epoch\(val\) \[{epoch}\].*accuracy/top1: [\d.]+', log), log[-3000:]
    losses = [float(v) for v in re.findall(r'Epoch\(train\).*? loss: ([\d.]+)', log)]
    assert len(losses) == 3 and all(0 < v < 5 for v in losses), log[-3000:]


def test_check_prints_the_table2_row(capsys):
    from mplug_registry.cli import main
    assert main(['check', CONFIG]) == 0
    out = capsys.readouterr().out
    assert "mPLUG-2 Table 2 row 'Image Classification'" in out and '(matches the row)' in out, out
