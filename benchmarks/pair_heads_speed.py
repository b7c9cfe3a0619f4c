"""Training-step time of retrieval (ITC + ITM with universal layers) with the encoder outputs kept
on the bundle against running the encoders a second time for ITM's new pairs.

With universal layers, ITM (and MLM) pair the *encoder* outputs anew (``heads/pairs.py``).
They used to get them by running the vision and text encoders once more per batch; the composed
model now keeps the outputs of its own forward pass in ``FeatureBundle.encoded``. This script
builds ``configs/retrieval/retrieval_tiny_shapes.py`` twice with the same weights, one as shipped
and one whose bundles drop ``encoded`` (so the encoders run again, the old behaviour), and times
full training steps (data preprocessing, forward, backward, AdamW) on the same batches of a small
generated shapes set, interleaved, reporting medians and the ratio.

    python benchmarks/pair_heads_speed.py             # batch 32 (the config's), 10 timed steps each
    python benchmarks/pair_heads_speed.py --quick     # batch 8, 3 steps each
"""
import torch

from vocab_speed import build, median_step_times, size_args, step_fn

CONFIG = 'configs/retrieval/retrieval_tiny_shapes.py'


def rerun_encoders(model):
    """Make ``model`` drop the kept encoder outputs, so that ITM runs the encoders again."""
    extract = model.extract_feat

    def extract_feat(inputs):
        feats = extract(inputs)
        feats.encoded.clear()
        return feats
    model.extract_feat = extract_feat
    return model


def main(argv=None):
    batch, repeats = size_args(__doc__, argv)
    steps = {}
    for name in ('encoder outputs kept', 'encoders run again'):
        cfg, model = build({}, CONFIG)
        if name == 'encoders run again':
            rerun_encoders(model)
        steps[name] = step_fn(model)
    med = median_step_times(steps, cfg, batch, repeats)
    print(f'retrieval training step (ITC + ITM), {CONFIG}, batch {batch}, '
          f'{torch.get_num_threads()} threads, median of {repeats}:')
    for name, value in med.items():
        print(f'  {name:22s} {value * 1000:7.1f} ms')
    kept, again = med.values()
    print(f'speed-up of keeping the encoder outputs: {again / kept:.2f}x')


if __name__ == '__main__':
    main()
