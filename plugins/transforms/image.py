"""Image transforms on ``results['img']`` (``H x W x 3`` ``uint8`` numpy arrays), or on every frame
of a clip alike: ``results['imgs']``, the list of ``H x W x 3`` frames that video decoders write
(mmaction2's ``DecordDecode`` / ``PyAVDecode``)."""
import numpy as np
from mmcv.transforms import BaseTransform

from mplug_registry.registry import TRANSFORMS

_INTERP = ('nearest', 'bilinear', 'bicubic')


def _pil_resize(img, size, interpolation):
    from PIL import Image
    mode = {'nearest': Image.NEAREST, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}
    return np.array(Image.fromarray(img).resize((size[1], size[0]), mode[interpolation]))


def first_image(results):
    """The image, or a clip's first frame (its size is every frame's)."""
    imgs = results.get('imgs')
    return imgs[0] if imgs is not None else results['img']


def map_images(results, fn):
    """Apply ``fn`` to the image, or to every frame of a clip (the same ``fn``: same crop / flip)."""
    if results.get('imgs') is not None:
        results['imgs'] = [fn(frame) for frame in results['imgs']]
    else:
        results['img'] = fn(results['img'])
    return results


@TRANSFORMS.register_module()
class ImageResize(BaseTransform):
    """Resize ``img`` (or every frame of ``imgs``) to ``size`` (an int for a square or ``(h, w)``);
    scales ``gt_bboxes`` too."""

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
        h, w = first_image(results).shape[:2]
        map_images(results, lambda img: _pil_resize(img, self.size, self.interpolation))
        if results.get('gt_bboxes') is not None:
            sy, sx = self.size[0] / h, self.size[1] / w
            results['gt_bboxes'] = np.asarray(results['gt_bboxes'], np.float32) * \
                np.array([sx, sy, sx, sy], np.float32)
        results['img_shape'] = self.size
        return results
