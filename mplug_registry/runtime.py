"""What ``tools/train.py``, ``tools/test.py`` and the CLI share: clean errors, runner set-up."""
import contextlib
import os
import sys

from .errors import ConfigError, MplugRegistryError


@contextlib.contextmanager
def user_errors(prog='mplug-registry'):
    """Print a :class:`MplugRegistryError` as one line and exit 2; bugs keep their traceback."""
    try:
        yield
    except MplugRegistryError as err:
        print(f'{prog}: error: {err}', file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        print(f'{prog}: interrupted', file=sys.stderr)
        raise SystemExit(130) from None


@contextlib.contextmanager
def distributed_teardown():
    """Leave a distributed run cleanly: all ranks meet at a barrier, then the process group is
    destroyed before the interpreter exits.

    Without it each rank tears gloo down on its own at exit; a rank that exits while its peer's gloo
    threads still hold the connection can abort with "terminate called without an active
    exception" after training finished (seen as a SIGABRT under torchrun)."""
    try:
        yield
    finally:
        import torch.distributed as dist
        if dist.is_available() and dist.is_initialized():
            if sys.exc_info()[0] is None:
                dist.barrier()
            dist.destroy_process_group()


def default_work_dir(config_path):
    stem = os.path.splitext(os.path.basename(config_path.split('::')[-1]))[0]
    return os.path.join('work_dirs', stem)


def uses_strategy(cfg):
    return cfg.get('strategy') is not None or cfg.get('runner_type') == 'FlexibleRunner'


def apply_amp(cfg):
    """``--amp``: bf16 autocast on CPU and bf16-capable GPUs, fp16 + loss scaling elsewhere."""
    import torch
    if uses_strategy(cfg):
        raise ConfigError('--amp', 'the config uses a strategy (DeepSpeed/FSDP); set its bf16/fp16 '
                          'options instead of --amp')
    wrapper = cfg.optim_wrapper
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AutocastOptimWrapper',
                                                   'AmpOptimWrapper'):
        raise ConfigError('optim_wrapper.type', f"--amp cannot change a '{wrapper.type}'")
    if torch.cuda.is_available() and not torch.cuda.is_bf16_supported():
        wrapper.update(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
    else:
        wrapper.update(type='AutocastOptimWrapper', dtype='bfloat16')


def prepare_config(cfg):
    """Fill in what depends on the machine: CPU process groups, DDP without devices, DeepSpeed's
    micro-batch size from the dataloader."""
    import torch
    launcher = cfg.get('launcher', 'none')
    if launcher != 'none':
        # composed models leave parameters unused by design (LT modules on images, text-side
        # layers without text): DDP must look for them
        cfg.setdefault('find_unused_parameters', True)
    if launcher != 'none' and not torch.cuda.is_available():
        # MMEngine's init_dist calls torch.cuda.set_device: on CPU make the gloo group here
        if not torch.distributed.is_initialized() and not uses_strategy(cfg):
            torch.distributed.init_process_group('gloo')
        cfg.setdefault('model_wrapper_cfg', dict(
            type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False,
            find_unused_parameters=cfg.find_unused_parameters))
    strategy = cfg.get('strategy')
    if isinstance(strategy, dict) and isinstance(strategy.get('type'), str) \
            and '.' not in strategy['type']:
        from .registry import STRATEGIES
        if strategy['type'] in STRATEGIES.module_dict:
            # FlexibleRunner builds the strategy before any default scope exists
            strategy['type'] = f"{STRATEGIES.scope}.{strategy['type']}"
    if isinstance(strategy, dict) and 'DeepSpeed' in str(strategy.get('type', '')):
        _adapt_to_deepspeed(cfg, strategy)
    return cfg


def _adapt_to_deepspeed(cfg, strategy):
    """Let any task config run under DeepSpeed with one ``_base_`` line: the micro-batch size comes
    from the dataloader, and a plain ``optim_wrapper`` becomes a ``DeepSpeedOptimWrapper`` whose
    gradient clipping and accumulation move into the DeepSpeed config."""
    loader = cfg.get('train_dataloader') or {}
    if strategy.get('train_micro_batch_size_per_gpu') is None and 'batch_size' in loader:
        strategy['train_micro_batch_size_per_gpu'] = loader['batch_size']
    wrapper = cfg.get('optim_wrapper')
    if wrapper is None or wrapper.get('type') == 'DeepSpeedOptimWrapper':
        return
    if wrapper.get('type', 'OptimWrapper') not in ('OptimWrapper', 'AmpOptimWrapper',
                                                   'AutocastOptimWrapper'):
        raise ConfigError('optim_wrapper.type', f"'{wrapper.get('type')}' cannot run under "
                          'DeepSpeed; use DeepSpeedOptimWrapper')
    clip = wrapper.get('clip_grad') or {}
    if clip.get('max_norm') is not None:
        strategy.setdefault('gradient_clipping', clip['max_norm'])
    if wrapper.get('accumulative_counts'):
        strategy.setdefault('gradient_accumulation_steps', wrapper['accumulative_counts'])
    keep = {k: wrapper[k] for k in ('optimizer', 'paramwise_cfg', 'constructor') if k in wrapper}
    cfg.optim_wrapper = dict(type='DeepSpeedOptimWrapper', **keep)


#: what a runner needs all or none of, per stage
_STAGES = {'train': ('train_dataloader', 'train_cfg', 'optim_wrapper'),
           'val': ('val_dataloader', 'val_cfg', 'val_evaluator'),
           'test': ('test_dataloader', 'test_cfg', 'test_evaluator')}
_LOADER_NEEDS = {'dataset': "dataset=dict(type='DigitsDataset', pipeline=[...])",
                 'sampler': "sampler=dict(type='DefaultSampler', shuffle=True)"}


def check_runner_config(cfg):
    """What a runner requires of a whole config, one line each instead of its traceback: each
    stage's settings come all or none, a dataloader has a ``dataset`` and a ``sampler``, and the
    checkpoint to load or resume from is a PyTorch checkpoint (with ``resume`` and no
    ``load_from``, MMEngine resumes from the work dir's latest checkpoint or starts afresh); and
    the types of loops, log processor and strategy, which :func:`check_config` leaves out."""
    from .checkpoint import check_checkpoint_file
    from .config import RUNNER_ONLY, check_runner_types
    check_runner_types(cfg, RUNNER_ONLY)
    for stage, keys in _STAGES.items():
        unset = [k for k in keys if cfg.get(k) is None]
        if 0 < len(unset) < len(keys):
            given = [k for k in keys if k not in unset]
            raise ConfigError(unset[0], f"is unset, but {' and '.join(given)} "
                              f"{'is' if len(given) == 1 else 'are'} set",
                              f"the {stage} stage needs all of {', '.join(keys)} or none")
    for key in (keys[0] for keys in _STAGES.values()):
        loader = cfg.get(key)
        for name, example in _LOADER_NEEDS.items():
            if isinstance(loader, dict) and name not in loader:
                raise ConfigError(key, f'has no `{name}`', f'e.g. {example}')
    if cfg.get('load_from'):
        check_checkpoint_file(cfg.get('load_from'), 'load_from',
                              ' to resume from' if cfg.get('resume') else '')


def pretrained_inits(node, key):
    """``(dotted key, checkpoint)`` of every ``init_cfg=dict(type='Pretrained', checkpoint=...)``
    in a model config (MMEngine loads them when the runner initialises the weights)."""
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield f'{key}.checkpoint', node['checkpoint']
        for name, value in node.items():
            yield from pretrained_inits(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from pretrained_inits(value, f'{key}[{i}]')


def check_pretrained_inits(cfg):
    """Training initialises the weights: every ``Pretrained`` init_cfg's file must be there."""
    from .checkpoint import check_checkpoint_file
    for key, path in pretrained_inits(cfg.get('model'), 'model'):
        check_checkpoint_file(path, key, " (an init_cfg of type 'Pretrained': train or fetch "
                                         'those weights first)')


def check_load_from(runner, cfg):
    """Before loading ``load_from`` into a new run: fail clearly on a checkpoint of another
    composition, and report missing/unexpected keys by slot."""
    from .checkpoint import check_checkpoint
    if cfg.get('load_from') and not cfg.get('resume'):
        for line in check_checkpoint(runner.model, cfg.load_from):
            print(line, file=sys.stderr)


def build_runner(cfg):
    """MMEngine ``Runner`` (or ``FlexibleRunner`` when the config names a ``strategy``)."""
    from .checkpoint import allow_mmengine_checkpoints, use_atomic_local_writes
    from .config import check_config
    allow_mmengine_checkpoints()
    use_atomic_local_writes()
    check_config(cfg)
    check_runner_config(cfg)
    prepare_config(cfg)
    if uses_strategy(cfg):
        from mmengine.runner import FlexibleRunner
        return FlexibleRunner.from_cfg(cfg)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    check_load_from(runner, cfg)
    return runner
