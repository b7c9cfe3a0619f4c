"""Detection and segmentation (mmdet / mmseg models with our backbone) end to end on tiny data:
Mask R-CNN on 16 generated shapes scenes and UPerNet on the real StarDist nuclei train two
iterations, are tested (the toolbox's metric keys printed) and predict on a real image (a picture
drawn); ``check`` prints each dense config's mPLUG-2 Table 2 row, ``graph`` draws one, and bad
``infer`` inputs are one line. Each model's train / test / infer run in one fresh process: importing
the toolboxes is most of a tool's time on a small machine."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, run_py

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')
skimage = pytest.importorskip('skimage')

COFFEE = str(Path(skimage.__file__).parent / 'data' / 'coffee.png')   # a real photo
DENSE_CONFIGS = sorted(str(p.relative_to(ROOT)) for folder in ('detection', 'segmentation')
                       for p in (ROOT / 'configs' / folder).glob('*.py'))
ROWS = {'detection': 'Image Detection', 'segmentation': 'Image Segmentation'}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# two iterations of two images, one validation
SHORT = ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=2',
         'train_dataloader.dataset.indices=4', 'default_hooks.logger.interval=1']


def run_tool(*args):
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.fixture(scope='module')
def shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp('shapes')
    run_tool('tools/make_shapes.py', out, '--num-train', '16', '--num-val', '8')
    return out


@pytest.fixture(scope='module')
def stardist(tmp_path_factory):
    if importlib.util.find_spec('stardist') is None:   # only its data files are read
        pytest.skip('the stardist package (its sample image) is not installed')
    out = tmp_path_factory.mktemp('stardist')
    run_tool('tools/convert_stardist.py', out)
    return out


def run_tools(config, work, options, image, extra_infer=()):
    """tools/train.py (short), tools/test.py on its checkpoint, tools/infer.py on ``image``, in
    one process; returns (train log, test metrics, infer output, picture path)."""
    picture = work / 'pred.png'
    train = [config, '--work-dir', str(work), '--cfg-options', *options, *SHORT]
    test = [config, str(work / 'epoch_1.pth'), '--work-dir', str(work / 'test'),
            '--cfg-options', *options]
    infer = [config, str(work / 'epoch_1.pth'), '--image', image, '--out', str(picture),
             *extra_infer]
    proc = run_py(f"""
        from mplug_registry.commands import infer, test, train
        train.main({train!r})
        print('=== test', flush=True)
        test.main({test!r})
        print('=== infer', flush=True)
        infer.main({infer!r})""")
    log, rest = proc.stdout.split('=== test\n')
    test_out, infer_out = rest.split('=== infer\n')
    metrics = json.loads(test_out.strip().splitlines()[-1])
    return log + proc.stderr, metrics, infer_out, picture


def assert_drawn(picture, image):
    """The picture is the image (same size) with the prediction drawn on it."""
    from PIL import Image
    with Image.open(picture) as drawn, Image.open(image) as source:
        assert drawn.size == source.size
        assert np.abs(np.asarray(drawn.convert('RGB'), dtype=int)
                      - np.asarray(source.convert('RGB'), dtype=int)).mean() > 1.0


def test_mask_rcnn_shapes_trains_tests_and_infers(shapes, tmp_path):
    config = 'configs/detection/mask_rcnn_tiny_shapes.py'
    ann = f'{shapes}/annotations/instances_val.json'
    options = [f'{loader}.dataset.data_root={shapes}/' for loader in LOADERS] + \
        [f'{key}.ann_file={ann}' for key in ('val_evaluator', 'test_evaluator')]
    log, metrics, out, picture = run_tools(config, tmp_path, options, COFFEE,
                                           ['--score-thr', '0'])
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\].*loss_mask: [\d.]+', log), log[-3000:]
    assert re.search(r'Epoch\(val\) \[1\].*coco/bbox_mAP: [\d.]+', log), log[-3000:]
    assert {'coco/bbox_mAP', 'coco/segm_mAP'} <= set(metrics), metrics
    assert 0.0 <= metrics['coco/bbox_mAP'] <= 1.0
    found = re.search(r'^(\d+) detections with score >= 0.0', out, flags=re.M)
    assert found and int(found.group(1)) > 0, out
    assert re.search(r'^  (circle|square|triangle) +[\d.]+  \[[\d, ]+\], mask \d+ px$', out,
                     flags=re.M), out
    assert_drawn(picture, COFFEE)


def test_upernet_stardist_trains_tests_and_infers(stardist, tmp_path):
    config = 'configs/segmentation/upernet_tiny_stardist.py'
    options = [f'{loader}.dataset.data_root={stardist}/' for loader in LOADERS]
    tile = str(stardist / 'images' / 'val' / 'img2d_r1_c1.png')   # real microscopy
    log, metrics, out, picture = run_tools(config, tmp_path, options, tile)
    assert re.search(r'Epoch\(train\) \[1\]\[2/2\].*decode.loss_ce: [\d.]+', log), log[-3000:]
    assert re.search(r'\|\s+nucleus\s+\|', log), log[-3000:]   # the foreground IoU's row
    assert 'mIoU' in metrics and 0.0 <= metrics['mIoU'] <= 100.0, metrics
    shares = re.findall(r'^  (background|nucleus) +([\d.]+)%$', out, flags=re.M)
    assert shares and abs(sum(float(s) for _, s in shares) - 100.0) < 0.5, out
    assert_drawn(picture, tile)


def test_check_prints_the_table2_row_of_every_dense_config(capsys):
    from mplug_registry.cli import main
    assert len(DENSE_CONFIGS) >= 7
    for config in DENSE_CONFIGS:
        assert main(['check', config]) == 0
        out = capsys.readouterr().out
        assert out.splitlines()[1].lstrip().startswith('backbone.encoder    DualVisionEncoder'), out
        assert re.search(r'^  (neck|decode_head) ', out, flags=re.M), out   # the toolbox's parts
        row = ROWS[Path(config).parent.name]
        assert f"mPLUG-2 Table 2 row '{row}'" in out and '(matches the row)' in out, out


def test_graph_draws_a_dense_config(tmp_path, capsys):
    from PIL import Image

    from mplug_registry.cli import main
    out = tmp_path / 'cascade.png'
    assert main(['graph', 'configs/detection/cascade_mask_rcnn_tiny_shapes.py', '-o',
                 str(out)]) == 0
    assert f'wrote {out}' in capsys.readouterr().out
    with Image.open(out) as im:
        assert im.size[0] > 200 and im.size[1] > 100
        assert len(np.unique(np.asarray(im.convert('L')))) > 2   # boxes and text, not blank


@pytest.mark.parametrize('checkpoint, image, expected', [
    ('{tmp}/none.pth', COFFEE, "checkpoint: no checkpoint file at '{tmp}/none.pth'"),
    ('{tmp}/empty.pth', '{tmp}/none.png', "--image: no image file at '{tmp}/none.png'"),
    ('{tmp}/empty.pth', 'README.md', "--image: cannot read 'README.md' as an image"),
    ('{tmp}/empty.pth', COFFEE, "checkpoint: not a PyTorch checkpoint: '{tmp}/empty.pth' "
                                '(an empty file)'),
])
def test_bad_infer_inputs_are_one_line(checkpoint, image, expected, tmp_path, capsys):
    from mplug_registry.commands.infer import main
    (tmp_path / 'empty.pth').write_bytes(b'')
    argv = [value.format(tmp=tmp_path) for value in (checkpoint, '--image', image)]
    with pytest.raises(SystemExit) as exc:
        main(['configs/segmentation/upernet_tiny_shapes.py', *argv])
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ['infer: error: ' + expected.format(tmp=tmp_path)], lines
