_base_ = ['./digits_micro.py', '../../configs/_base_/runtimes/fsdp.py']
