"""Training machinery for real, on CPU: DeepSpeed ZeRO-2 + bf16 (1 and 2 processes), DDP with
torchrun against a single process, resume after kill -9, bf16 autocast."""
import os
import re
import signal
import subprocess
import time

import pytest
import torch

from conftest import ROOT
from scale_utils import (MICRO, MICRO_DS, MICRO_SGD, assert_learns, env, logged_losses, state_dict,
                         train, train_cmd)

ONE_EPOCH = ('train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
             'default_hooks.logger.interval=2')


@pytest.mark.parametrize('nproc', [1, 2])
def test_deepspeed_zero2_bf16_trains_on_cpu(tmp_path, nproc):
    log = train(MICRO_DS, tmp_path, *ONE_EPOCH, f'train_cfg.max_epochs={nproc}', nproc=nproc)
    assert_learns(log)
    ckpt = tmp_path / f'epoch_{nproc}.pth'
    assert ckpt.is_dir()   # a DeepSpeed checkpoint directory
    shards = sorted(p.name for p in ckpt.iterdir() if 'optim_states' in p.name)
    assert len(shards) == nproc and all(s.startswith('bf16_zero') for s in shards)
    params = state_dict(ckpt)
    floats = [v for v in params.values() if v.is_floating_point()]
    assert floats and all(v.dtype == torch.bfloat16 for v in floats)


def test_ddp_two_processes_match_one_process_at_same_global_batch(tmp_path):
    """torchrun with 2 gloo processes x 32 = one process x 64: same data, same updates.

    Plain SGD, so the comparison is not blurred by Adam turning float-rounding differences of
    near-zero gradients into +-lr steps."""
    common = (*ONE_EPOCH, 'train_dataloader.drop_last=True')
    single_log = train(MICRO_SGD, tmp_path / 'single', *common, 'train_dataloader.batch_size=64')
    log = train(MICRO_SGD, tmp_path / 'ddp', *common, 'train_dataloader.batch_size=32', nproc=2)
    assert 'Distributed launcher: pytorch' in log and 'Distributed training: True' in log
    assert len(logged_losses(log)) == len(logged_losses(single_log)) == 11   # 22 steps, every 2
    single = state_dict(tmp_path / 'single' / 'epoch_1.pth')
    ddp = state_dict(tmp_path / 'ddp' / 'epoch_1.pth')
    assert single.keys() == ddp.keys()
    worst = max((single[k] - ddp[k]).abs().max().item() for k in single)
    assert worst < 1e-5, worst                                     # 1.2e-7 measured
    acc = [float(re.search(r'accuracy/top1: ([\d.]+)', t).group(1)) for t in (single_log, log)]
    assert abs(acc[0] - acc[1]) < 1.5 / 360, acc   # equal here; a near-tie of 1 of the 360 may flip


def test_resume_after_kill_9_equals_uninterrupted_run(tmp_path):
    opts = ('train_cfg.max_epochs=3', 'train_cfg.val_interval=3')
    train(MICRO, tmp_path / 'full', *opts)
    work = tmp_path / 'killed'
    proc = subprocess.Popen(train_cmd(MICRO, work, *opts), cwd=ROOT, env=env(2),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 300
    while not (work / 'epoch_1.pth').exists():
        assert proc.poll() is None and time.time() < deadline, 'training ended before epoch 1'
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 right after the first checkpoint
    proc.wait()
    assert not (work / 'epoch_3.pth').exists()
    log = train(MICRO, work, *opts, extra=('--resume', ))
    assert 'Auto resumed from the latest checkpoint' in log and 'resumed epoch: ' in log
    full = state_dict(tmp_path / 'full' / 'epoch_3.pth')
    resumed = state_dict(work / 'epoch_3.pth')
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full)


def test_amp_flag_trains_with_bf16_autocast_on_cpu(tmp_path):
    log = train(MICRO, tmp_path, *ONE_EPOCH, extra=('--amp', ))
    assert "type='AutocastOptimWrapper'" in log and "dtype='bfloat16'" in log
    assert_learns(log)


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    from mmengine.fileio import get_file_backend

    from mplug_registry.checkpoint import use_atomic_local_writes
    use_atomic_local_writes()
    target = tmp_path / 'epoch_1.pth'
    backend = get_file_backend(str(target))
    assert type(backend).__name__ == 'AtomicLocalBackend'
    target.write_bytes(b'old complete checkpoint')

    def crash(fd):
        raise OSError('killed while writing')
    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(OSError, match='killed while writing'):
        backend.put(b'new checkpoint', str(target))
    assert target.read_bytes() == b'old complete checkpoint'   # never a half-written file
    assert [p.name for p in tmp_path.iterdir()] == ['epoch_1.pth']   # no temp file left
    monkeypatch.undo()
    backend.put(b'new checkpoint', str(target))
    backend.put_text('epoch_1.pth', str(tmp_path / 'last_checkpoint'))
    assert target.read_bytes() == b'new checkpoint'
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_1.pth'


@pytest.fixture(scope='module')
def micro_checkpoint(tmp_path_factory):
    """One epoch of the micro config, trained once for the tests that only need its checkpoint."""
    work = tmp_path_factory.mktemp('micro')
    train(MICRO, work, *ONE_EPOCH)
    return work / 'epoch_1.pth'


def test_checkpoint_of_another_composition_is_a_clear_error(tmp_path, micro_checkpoint):
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, 'tools/test.py', 'configs/image_classification/'
                           'digits_tiny.py', str(micro_checkpoint), '--work-dir',
                           str(tmp_path / 'test')], cwd=ROOT,
                          capture_output=True, text=True, env=env())
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("test: error: checkpoint: '") and 'does not fit this model' in last
    assert 'vision_encoder' in last and 'Traceback' not in proc.stderr


def test_missing_and_unexpected_keys_are_reported_by_slot(tmp_path):
    from mplug_registry.checkpoint import check_checkpoint
    from mplug_registry.config import load_config, validate_config
    model = validate_config(load_config(str(ROOT / MICRO)))
    sd = model.state_dict()
    sd.pop('universal.latents')
    sd['heads.cls.extra'] = torch.zeros(1)
    path = tmp_path / 'partial.pth'
    torch.save({'state_dict': sd}, path)
    lines = check_checkpoint(model, str(path))
    assert len(lines) == 2
    assert lines[0].startswith('checkpoint slot heads.cls: 2 loaded, 1 unexpected')
    assert lines[1].startswith('checkpoint slot universal: ') and '1 missing' in lines[1]
    assert 'universal.latents' in lines[1]
    torch.save({'state_dict': {'fusion.x': torch.zeros(2)}}, path)
    with pytest.raises(Exception, match='saved from another composition: it has slots fusion'):
        check_checkpoint(model, str(path))


def test_pretrained_weights_load_through_init_cfg_under_deepspeed(tmp_path, micro_checkpoint):
    pretrained = state_dict(micro_checkpoint)
    log = train(MICRO_DS, tmp_path / 'ds', *ONE_EPOCH, 'optim_wrapper.optimizer.lr=1e-12',
                f'model.init_cfg.checkpoint={micro_checkpoint}', 'model.init_cfg.type=Pretrained')
    assert f'load model from: {micro_checkpoint}' in log
    loaded = state_dict(tmp_path / 'ds' / 'epoch_1.pth')
    for key, value in pretrained.items():   # bf16 copies of the pretrained weights (lr ~ 0)
        assert torch.allclose(loaded[key].float(), value.to(torch.bfloat16).float(),
                              atol=1e-6), key


def test_distributed_teardown_destroys_the_group_after_a_barrier(tmp_path):
    """tools/train.py and tools/test.py leave through distributed_teardown: the process group is
    gone afterwards (an exit with gloo still alive can abort a rank after training finished)."""
    import torch.distributed as dist
    from mplug_registry.runtime import distributed_teardown
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    with distributed_teardown():
        assert dist.is_initialized()
    assert not dist.is_initialized()
    with distributed_teardown():  # nothing to tear down: a no-op
        pass
