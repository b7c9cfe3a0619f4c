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
    assert len(val) == 1 and val[0] > 0.5, log[-2000:]   # chance is 0.1
    ckpt = work / 'epoch_2.pth'
    assert ckpt.is_file()
    out, _ = run_tool('tools/test.py', CONFIG, str(ckpt), '--work-dir', str(tmp_path / 'test'))
    metrics = json.loads(out.strip().splitlines()[-1])
    assert abs(metrics['accuracy/top1'] - val[0]) < 1e-4


def test_train_reports_bad_config_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, 'tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                           '--cfg-options', 'train_dataloader.dataset.type=DigitDataset'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        "train: error: train_dataloader.dataset.type: unknown type 'DigitDataset' in the dataset "
        "registry (did you mean 'DigitsDataset'?)")
