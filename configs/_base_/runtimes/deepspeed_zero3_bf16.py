# DeepSpeed ZeRO-3 (parameters, gradients and optimizer states partitioned) + BF16.
# Same use as deepspeed_zero2_bf16.py.
runner_type = 'FlexibleRunner'
strategy = dict(
    type='MplugDeepSpeedStrategy',
    bf16=dict(enabled=True),
    zero_optimization=dict(stage=3, overlap_comm=False, contiguous_gradients=True,
                           stage3_gather_16bit_weights_on_model_save=True),
    inputs_to_half=['inputs'],
)
