"""``MplugDeepSpeedStrategy``: MMEngine's DeepSpeed strategy, made to run on CPU as well as on GPU.

What it changes (everything else is MMEngine's ``DeepSpeedStrategy``):

* distributed set-up without CUDA: MMEngine's ``init_dist`` calls ``torch.cuda.set_device``; here,
  when no GPU is present, ``deepspeed.init_distributed(dist_backend='gloo')`` is called instead, also
  for a single process started without a launcher (DeepSpeed always needs a process group);
* ``train_micro_batch_size_per_gpu`` defaults to the train dataloader's batch size (the runtime
  fills it in, see :func:`mplug_registry.runtime.prepare_config`);
* ``inputs_to_half`` names keys of the data preprocessor's output (``'inputs'`` or a nested
  ``'inputs.images'``) and casts only floating-point tensors, so token ids stay integers.

The class is created on first build: importing this module (plugin discovery) does not import
deepspeed.
"""
import functools
import os

import torch

from mplug_registry.registry import STRATEGIES


def _free_port():
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def init_cpu_process_group():
    """A gloo process group from torchrun's variables, or a single-process one without them."""
    import deepspeed
    os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
    os.environ.setdefault('MASTER_PORT', str(_free_port()))
    for var, default in (('RANK', '0'), ('LOCAL_RANK', '0'), ('WORLD_SIZE', '1')):
        os.environ.setdefault(var, default)
    deepspeed.init_distributed(dist_backend='gloo', auto_mpi_discovery=False)
    # gloo's all_gather_into_tensor writes into split views of the flat bf16 buffer, which autograd
    # refuses ("Output 0 of Split is a view and is being modified inplace") when ZeRO gathers the
    # updated partitions; without it DeepSpeed takes its list-based all_gather path, which works.
    from deepspeed.comm import comm
    comm.cdb.all_gather_function = None


def _cast_floating(value, dtype):
    if isinstance(value, torch.Tensor):
        return value.to(dtype) if value.is_floating_point() else value
    if isinstance(value, dict):
        return {k: _cast_floating(v, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast_floating(v, dtype) for v in value)
    return value


@functools.lru_cache(maxsize=None)
def _strategy_class():
    from mmengine._strategy.deepspeed import DeepSpeedStrategy, MMDeepSpeedEngineWrapper

    class EngineWrapper(MMDeepSpeedEngineWrapper):
        def _cast_inputs_half(self, inputs):
            if self._inputs_to_half is None or not isinstance(inputs, dict):
                return inputs
            dtype = next(self.model.parameters()).dtype
            for key in self._inputs_to_half:
                top, _, sub = str(key).partition('.')
                if top not in inputs:
                    continue
                if sub and isinstance(inputs[top], dict) and sub in inputs[top]:
                    inputs[top][sub] = _cast_floating(inputs[top][sub], dtype)
                elif not sub:
                    inputs[top] = _cast_floating(inputs[top], dtype)
            return inputs

    class Strategy(DeepSpeedStrategy):
        def _setup_env(self, *args, **kwargs):
            super()._setup_env(*args, **kwargs)
            if not torch.cuda.is_available() and not torch.distributed.is_initialized():
                init_cpu_process_group()  # launcher 'none': DeepSpeed still needs a group
                self._rank, self._world_size = 0, 1

        def _setup_distributed(self, launcher=None, backend='nccl', **kwargs):
            if torch.cuda.is_available():
                return super()._setup_distributed(launcher, backend, **kwargs)
            init_cpu_process_group()

        def _wrap_model(self, model):
            import deepspeed
            if hasattr(self, 'optim_wrapper'):
                engine, self.optim_wrapper.optimizer, *_ = deepspeed.initialize(
                    model=model, optimizer=self.optim_wrapper.optimizer, config=self.config)
            else:
                engine, *_ = deepspeed.initialize(model=model, config=self.config)
            return EngineWrapper(model=engine, inputs_to_half=self._inputs_to_half)

    Strategy.__name__ = Strategy.__qualname__ = 'MplugDeepSpeedStrategy'
    return Strategy


@STRATEGIES.register_module()
def MplugDeepSpeedStrategy(**kwargs):
    """MMEngine ``DeepSpeedStrategy`` that also runs on CPU (gloo); see this module's docstring.

    Takes the arguments of ``mmengine._strategy.DeepSpeedStrategy``: ``zero_optimization``,
    ``bf16``, ``fp16``, ``gradient_clipping``, ``activation_checkpointing``, ``inputs_to_half``,
    ``train_micro_batch_size_per_gpu``, ``gradient_accumulation_steps``, ``config`` (a DeepSpeed JSON
    path or dict), ...
    """
    return _strategy_class()(**kwargs)
