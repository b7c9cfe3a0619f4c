"""Helpers for the tests that run tools/train.py in subprocesses (single, torchrun, killed)."""
import os
import re
import socket
import subprocess
import sys

from conftest import ROOT

MICRO = 'tests/configs/digits_micro.py'
MICRO_DS = 'tests/configs/digits_micro_ds_zero2.py'
MICRO_SGD = 'tests/configs/digits_micro_sgd.py'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def train_cmd(config, work_dir, *options, nproc=1, extra=(), launcher=False):
    args = ['tools/train.py', config, '--work-dir', str(work_dir), *extra]
    if options:
        args += ['--cfg-options', *options]
    if nproc == 1 and not launcher:
        return [sys.executable, *args]
    return [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
            f'--master_port={free_port()}', *args, '--launcher', 'pytorch']


def env(threads=1):
    e = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONHASHSEED='0')
    e.pop('MPLUG_REGISTRY_DISABLE_PLUGINS', None)
    return e


def train(config, work_dir, *options, nproc=1, extra=(), timeout=600, launcher=False):
    proc = subprocess.run(train_cmd(config, work_dir, *options, nproc=nproc, extra=extra,
                                    launcher=launcher),
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env(1 if nproc > 1 else 2))
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    return log


def run_tool(*args):
    """Run a tool script (``tools/train.py`` ...) with one thread; its stdout (MMEngine logs there)."""
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def logged_losses(log):
    return [float(v) for v in re.findall(r'Epoch\(train\).*?\sloss: ([\d.]+)', log)]


def assert_learns(log):
    """The last (up to) three logged losses average clearly below the first ones; single losses
    are noisy. One epoch of the micro configs, 11 losses: 2.42 -> 2.19 measured."""
    losses = logged_losses(log)
    assert len(losses) >= 4, log[-3000:]
    k = min(3, len(losses) // 2)          # 2 GPUs halve the steps of an epoch
    assert sum(losses[-k:]) / k < sum(losses[:k]) / k - 0.05, losses


def state_dict(path):
    import torch
    from mplug_registry.checkpoint import load_local_state_dict
    return load_local_state_dict(str(path)) if os.path.isfile(path) else torch.load(
        os.path.join(path, 'mp_rank_00_model_states.pt'), map_location='cpu',
        weights_only=False)['module']
