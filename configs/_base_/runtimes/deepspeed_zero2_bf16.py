# DeepSpeed ZeRO-2 + BF16 on MMEngine's FlexibleRunner. Add this file to a task config's `_base_`
# list (next to runtimes/default.py) and the same config trains on CPU (gloo) and GPU (nccl).
# The train dataloader's batch size becomes `train_micro_batch_size_per_gpu`, and the task's
# optim_wrapper becomes a DeepSpeedOptimWrapper (its clip_grad -> gradient_clipping).
runner_type = 'FlexibleRunner'
strategy = dict(
    type='MplugDeepSpeedStrategy',
    bf16=dict(enabled=True),
    zero_optimization=dict(stage=2, allgather_partitions=True, reduce_scatter=True,
                           overlap_comm=False, contiguous_gradients=True),
    inputs_to_half=['inputs'],  # the preprocessor's output key; only float tensors are cast
)
