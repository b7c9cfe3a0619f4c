"""GPU paths (DeepSpeed on CUDA, FSDP, bf16 AMP on a GPU). Skipped, with the reason, without a GPU."""
import pytest
import torch

from scale_utils import MICRO, MICRO_DS, assert_learns, train

needs_gpu = pytest.mark.skipif(not torch.cuda.is_available(),
                               reason='no CUDA GPU on this machine (CPU paths are tested in '
                                      'test_training_scale.py)')
ONE_EPOCH = ('train_cfg.max_epochs=1', 'default_hooks.logger.interval=2')


@needs_gpu
def test_deepspeed_zero2_bf16_on_gpu(tmp_path):
    assert_learns(train(MICRO_DS, tmp_path, *ONE_EPOCH))


@needs_gpu
def test_fsdp_on_gpu(tmp_path):
    nproc = min(2, torch.cuda.device_count())
    assert_learns(train('tests/configs/digits_micro_fsdp.py', tmp_path, *ONE_EPOCH, nproc=nproc,
                        launcher=True))


@needs_gpu
def test_amp_on_gpu(tmp_path):
    log = train(MICRO, tmp_path, *ONE_EPOCH, extra=('--amp', ))
    assert 'AutocastOptimWrapper' in log or 'AmpOptimWrapper' in log
