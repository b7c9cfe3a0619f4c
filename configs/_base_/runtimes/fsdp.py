# PyTorch FSDP (full sharding) on MMEngine's FlexibleRunner, the alternative to DeepSpeed.
# Add this file to a task config's `_base_` list (next to runtimes/default.py). GPU only: FSDP
# places shards on CUDA devices; launch with torchrun and `--launcher pytorch`.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy=dict(type='torch.distributed.fsdp.wrap.size_based_auto_wrap_policy',
                              min_num_params=1e6),
        use_orig_params=True),
    state_dict_cfg='full',
)
