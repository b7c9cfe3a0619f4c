"""Multi-task batches: which heads a sample goes to, and the sub-batch of each task.

mPLUG-2 trains one model on several tasks. In a config that mixes datasets (MMEngine's
``ConcatDataset``), every data sample carries its dataset's ``task`` (the ``task`` of the
dataset's ``METAINFO``, e.g. ``'vqa'``, ``'grounding'``), and ``ComposedModel(task_heads=...)``
maps each task to the heads that train on it and predict for it. A batch may mix tasks: it is
split by task, each part runs the slots and its own heads, and predictions come back in the
batch's order.
"""
import torch

from ..errors import ConfigError


def check_task_heads(task_heads, head_names):
    """``{task: head name | [head names]}`` -> ``{task: (head names, ...)}``; each name must
    be one of ``head_names``."""
    if task_heads is None:
        return None
    if not isinstance(task_heads, dict) or not task_heads:
        raise ConfigError('model.task_heads', 'must map task names to head names, got '
                          f'{task_heads!r}',
                          "e.g. task_heads=dict(vqa='vqa', grounding='grounding')")
    routes = {}
    for task, names in task_heads.items():
        names = (names, ) if isinstance(names, str) else tuple(names)
        for name in names:
            if name not in head_names:
                raise ConfigError(f'model.task_heads.{task}', f"no head named '{name}'",
                                  f'heads: {", ".join(head_names)}')
        routes[task] = names
    return routes


def group_by_task(routes, data_samples, all_heads):
    """``[(head names, sample indices or None for the whole batch)]`` for one batch.

    Without ``routes`` (single-task configs) every head sees the whole batch. With them each
    sample's ``task`` picks its heads; a sample without a task, or with a task ``routes`` does not
    name, is an error naming the task and the known ones.
    """
    if routes is None or data_samples is None:
        return [(tuple(all_heads), None)]
    order = {}
    for i, sample in enumerate(data_samples):
        task = sample.get('task')
        if task not in routes:
            raise ConfigError('model.task_heads', f'a sample of task {task!r} has no heads '
                              f'(img_path {sample.metainfo.get("img_path")!r})',
                              f'map it, e.g. task_heads=dict({task}=...); known: '
                              f'{", ".join(map(str, routes))}')
        order.setdefault(task, []).append(i)
    if len(order) == 1:
        return [(routes[next(iter(order))], None)]
    return [(routes[task], idx) for task, idx in order.items()]


def select(inputs, idx, batch_size):
    """The rows ``idx`` of every tensor with ``batch_size`` rows in a (nested) dict of inputs."""
    if isinstance(inputs, dict):
        return {k: select(v, idx, batch_size) for k, v in inputs.items()}
    if isinstance(inputs, torch.Tensor) and inputs.dim() and inputs.shape[0] == batch_size:
        return inputs[torch.as_tensor(idx, device=inputs.device)]
    if isinstance(inputs, (list, tuple)) and len(inputs) == batch_size:
        return type(inputs)(inputs[i] for i in idx)
    return inputs
