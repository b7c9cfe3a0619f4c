"""Image transforms on ``results['img']`` (``H x W x 3`` ``uint8`` numpy arrays)."""
import numpy as np
from mmcv.transforms import BaseTransform

from mplug_registry.registry import TRANSFORMS

_INTERP = ('nearest', 'bilinear', 'bicubic')


def _pil_resize(img, size, interpolation):
    from PIL import Image
    mode = {'nearest': Image.NEAREST, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}
    return np.array(Image.fromarray(img).resize((size[1], size[0]), mode[interpolation]))


@TRANSFORMS.register_module()
class ImageResize(BaseTransform):
    """Resize ``img`` to ``size`` (an int for a square or ``(h, w)``); scales ``gt_bboxes`` too."""

    def __init__(self, size, interpolation='bicubic'):
        self.check_args(size, interpolation)
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.interpolation = interpolation

    @staticmethod
    def check_args(size, interpolation='bicubic'):
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation must be one of {_INTERP}, got {interpolation!r}')
        pair = (size, size) if isinstance(size, int) else tuple(size)
        if len(pair) != 2 or not all(isinstance(v, int) and v > 0 for v in pair):
            raise ValueError(f'size must be a positive int or (h, w), got {size!r}')

    def transform(self, results):
        img = results['img']
        h, w = img.shape[:2]
        results['img'] = _pil_resize(img, self.size, self.interpolation)
        if results.get('gt_bboxes') is not None:
            sy, sx = self.size[0] / h, self.size[1] / w
            results['gt_bboxes'] = np.asarray(results['gt_bboxes'], np.float32) * \
                np.array([sx, sy, sx, sy], np.float32)
        results['img_shape'] = self.size
        return results
