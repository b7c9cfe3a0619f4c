"""``DigitsDataset``: scikit-learn's bundled handwritten digits (1,797 real 8x8 images, 10 classes).

Real data that ships with an installed package, so the image-classification slice trains and is
tested without any download.
"""
import numpy as np
from mmengine.dataset import BaseDataset

from mplug_registry.registry import DATASETS

SPLITS = ('train', 'val', 'all')


@DATASETS.register_module()
class DigitsDataset(BaseDataset):
    """The sklearn digits as RGB ``uint8`` images with ``gt_label``.

    Args:
        split: ``train`` or ``val`` (a held-out, class-stratified ``val_fraction`` of the images,
            fixed by ``seed``), or ``all``.
        val_fraction: share of every class held out for ``val``.
        seed: seed of the split permutation.
        pipeline: transforms (e.g. ``ImageResize`` then ``PackMultimodalInputs``).
    """
    METAINFO = dict(classes=tuple(str(i) for i in range(10)))

    def __init__(self, split='train', val_fraction=0.2, seed=0, pipeline=(), **kwargs):
        self.check_args(split=split, val_fraction=val_fraction)
        self.split, self.val_fraction, self.seed = split, val_fraction, seed
        super().__init__(pipeline=list(pipeline), serialize_data=False, **kwargs)

    @staticmethod
    def check_args(split='train', val_fraction=0.2, **_):
        """Validate arguments without loading anything (used by config checks)."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if not 0.0 < val_fraction < 1.0:
            raise ValueError(f'val_fraction must be in (0, 1), got {val_fraction}')

    def load_data_list(self):
        from sklearn.datasets import load_digits
        digits = load_digits()
        images = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)   # [N, 8, 8]
        labels = digits.target.astype(np.int64)
        rng = np.random.default_rng(self.seed)
        val = np.zeros(len(labels), dtype=bool)
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            val[idx[:int(round(len(idx) * self.val_fraction))]] = True
        keep = {'train': ~val, 'val': val, 'all': np.ones_like(val)}[self.split]
        return [dict(img=np.repeat(images[i][:, :, None], 3, axis=2), gt_label=int(labels[i]),
                     sample_idx=int(i)) for i in np.flatnonzero(keep)]
