_base_ = ['./digits_micro.py', '../../configs/_base_/runtimes/deepspeed_zero2_bf16.py']
