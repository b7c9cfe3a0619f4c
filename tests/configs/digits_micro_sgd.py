# digits_micro with plain SGD (for exact-equivalence tests, e.g. DDP against one process).
_base_ = ['./digits_micro.py']
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05))
