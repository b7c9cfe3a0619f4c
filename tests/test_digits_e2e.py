"""End to end on real data: tools/train.py trains the digits slice, tools/test.py reproduces it."""
import json
import re
import subprocess
import sys

from conftest import ROOT

CONFIG = 'configs/image_classification/digits_tiny.py'


def run_tool(*args):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, proc.stderr


def test_digits_train_then_test_reproduces_accuracy(tmp_path):
    work = tmp_path / 'work'
    log = '\n'.join(run_tool('tools/train.py', CONFIG, '--work-dir', str(work), '--cfg-options',
                   'train_cfg.max_epochs=2', 'train_cfg.val_interval=2'))
    # a progress line per logging interval, with the loss
    assert len(re.findall(r'Epoch\(train\)\s+\[\d+\]\[\s*\d+/45\].*loss_cls', log)) >= 8
    val = [float(v) for v in re.findall(r'Epoch\(val\) \[2\].*accuracy/top1: ([\d.]+)', log)]
    assert len(val) == 1 and val[0] > 0.4, log[-2000:]   # 0.70 measured; chance is 0.1
    ckpt = work / 'epoch_2.pth'
    assert ckpt.is_file()
    show = tmp_path / 'show'
    out, _ = run_tool('tools/test.py', CONFIG, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                      '--show-dir', str(show), '--show-max', '5')
    metrics = json.loads(out.strip().splitlines()[-1])
    assert abs(metrics['accuracy/top1'] - val[0]) < 1e-4
    pictures = sorted(show.glob('*.png'))
    assert len(pictures) == 5 and all(p.stat().st_size > 1000 for p in pictures)
    # one image file through tools/infer.py: printed prediction and a picture
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits
    digit = (load_digits().images[0] * (255 / 16)).round().astype(np.uint8)
    Image.fromarray(digit).save(tmp_path / 'digit.png')
    out, _ = run_tool('tools/infer.py', CONFIG, str(ckpt), '--image', str(tmp_path / 'digit.png'),
                      '--out', str(tmp_path / 'digit_pred.png'))
    assert re.search(r'^class \d \(\d\.\d\d\)$', out, flags=re.M), out
    assert re.search(r'^top-k: (\d=\d\.\d{3}, ){4}\d=\d\.\d{3}$', out, flags=re.M), out
    with Image.open(tmp_path / 'digit_pred.png') as pic:
        assert pic.size[0] >= 64


def test_train_reports_bad_config_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                           '--cfg-options', 'train_dataloader.dataset.type=DigitDataset'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "train: error: train_dataloader.dataset.type: unknown type 'DigitDataset' in the dataset "
        "registry (did you mean 'DigitsDataset'?)")
