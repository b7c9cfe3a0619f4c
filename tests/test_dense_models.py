"""Our backbone inside mmdet / mmseg models: shapes, windowed attention, CLIP weights, and the
toolboxes' own packaged configs with only the backbone and neck replaced (one training iteration
and one prediction on a real image each)."""
import copy
import os

import numpy as np
import pytest
import torch

pytest.importorskip('mmdet')
pytest.importorskip('mmseg')

from mplug_registry.config import load_config  # noqa: E402
from mplug_registry.registry import MODELS  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(type='DualVisionEncoder', arch='tiny', layers=2, width=64, heads=2, patch_size=8,
            image_size=64)


def backbone(**kwargs):
    cfg = dict(type='DualVisionBackbone', encoder=dict(TINY),
               neck=dict(type='SimpleFeaturePyramid', out_dims=32, scales=(2, 1, 0.5, 0.25)))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_pyramid_strides_and_any_input_size():
    model = backbone().eval()
    with torch.no_grad():
        maps = model(torch.randn(2, 3, 64, 96))
    assert [tuple(m.shape) for m in maps] == [(2, 32, 16, 24), (2, 32, 8, 12), (2, 32, 4, 6),
                                              (2, 32, 2, 3)]   # strides 4, 8, 16, 32
    with torch.no_grad():   # not a multiple of the patch: padded, position embedding interpolated
        maps = model(torch.randn(1, 3, 70, 50))
    assert tuple(maps[1].shape[-2:]) == (9, 7)       # 72 x 56 after padding, patch 8


def test_windows_covering_the_grid_equal_global_attention():
    torch.manual_seed(0)
    glob = backbone(neck=None).eval()
    win = backbone(neck=None, window_size=8).eval()
    win.load_state_dict(glob.state_dict())
    small = backbone(neck=None, window_size=2).eval()
    small.load_state_dict(glob.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        a, b, c = glob(x)[0], win(x)[0], small(x)[0]
    assert torch.allclose(a, b, atol=1e-5)           # one 8x8 window = the whole grid
    assert (a - c).abs().max() > 1e-3                 # 2x2 windows attend locally


def test_universal_layers_in_the_backbone():
    model = backbone(universal=dict(type='UniversalLayers', num_latents=4, num_layers=1,
                                    num_heads=2)).eval()
    assert model.universal.in_dims.get('vision', 64) == 64
    with torch.no_grad():
        maps = model(torch.randn(1, 3, 64, 64))
    assert len(maps) == 4 and maps[0].shape[1] == 32


def test_clip_checkpoint_loads_into_the_backbone(tmp_path):
    reference = MODELS.build(dict(TINY))
    path = tmp_path / 'clip.pth'
    torch.save({f'visual.{k}': v for k, v in reference.state_dict().items()
                if '.temporal.' not in k}, path)
    model = backbone(encoder=dict(TINY, pretrained=str(path)))
    for key, value in reference.state_dict().items():
        if '.temporal.' not in key:
            assert torch.equal(model.encoder.state_dict()[key], value), key


def test_bad_arguments_are_one_line():
    with pytest.raises(ValueError, match='global_attn_indexes'):
        backbone(window_size=2, global_attn_indexes=(5, ))
    with pytest.raises(ValueError, match='window_size'):
        backbone(window_size=0)


# ------------------------------------------------------------------ the toolboxes' packaged configs
def _real_image_with_boxes():
    """A real aerial image of deepforest with its hand-drawn tree crowns (xyxy), cropped."""
    import importlib.util
    import csv
    spec = importlib.util.find_spec('deepforest')
    if spec is None:
        pytest.skip('deepforest (its data files) is not installed')
    data = os.path.join(spec.submodule_search_locations[0], 'data')
    from PIL import Image
    image = np.asarray(Image.open(os.path.join(data, 'OSBS_029.png')).convert('RGB'))
    with open(os.path.join(data, 'OSBS_029.csv')) as f:
        boxes = [[float(r[k]) for k in ('xmin', 'ymin', 'xmax', 'ymax')] for r in csv.DictReader(f)]
    return image[:192, :192].copy(), np.array([b for b in boxes if b[2] <= 192 and b[3] <= 192],
                                       dtype=np.float32)


def _packaged(package, path):
    """A config that a toolbox ships in its wheel (what ``_base_ = 'mmdet::...'`` reads)."""
    import importlib

    from mmengine.config import Config
    root = os.path.dirname(importlib.import_module(package).__file__)
    return Config.fromfile(os.path.join(root, '.mim', 'configs', path))


def _packaged_model(path, scope):
    from mmengine.registry import init_default_scope
    cfg = load_config(os.path.join(ROOT, path))
    init_default_scope(scope)   # as the toolbox's runner does (conftest restores ours after)
    return cfg


def test_mmdet_packaged_mask_rcnn_with_our_backbone_and_neck():
    from mmdet.registry import MODELS as DET_MODELS
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    from mmdet.structures.mask import BitmapMasks
    cfg = _packaged_model('configs/detection/mask_rcnn_vit_tiny_coco.py', 'mmdet')
    packaged = _packaged('mmdet', 'mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py')
    ours, theirs = copy.deepcopy(cfg.model.to_dict()), packaged.model.to_dict()
    for key in ('backbone', 'neck', '_scope_'):   # _scope_: mmengine's mark of a cross-scope base
        ours.pop(key, None), theirs.pop(key, None)
    assert ours == theirs                               # only backbone and neck replaced
    model = DET_MODELS.build(cfg.model)
    image, boxes = _real_image_with_boxes()
    inputs = torch.from_numpy(image).permute(2, 0, 1).contiguous()
    sample = DetDataSample(metainfo=dict(img_shape=image.shape[:2], ori_shape=image.shape[:2],
                                         pad_shape=image.shape[:2], scale_factor=(1.0, 1.0)))
    masks = np.zeros((len(boxes), *image.shape[:2]), np.uint8)
    for m, (x1, y1, x2, y2) in zip(masks, boxes.astype(int)):
        m[y1:y2, x1:x2] = 1
    sample.gt_instances = InstanceData(bboxes=torch.from_numpy(boxes),
                                       labels=torch.zeros(len(boxes), dtype=torch.long),
                                       masks=BitmapMasks(masks, *image.shape[:2]))
    optim = torch.optim.SGD(model.parameters(), lr=1e-3)
    model.train()
    losses = model(**model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]), True),
                   mode='loss')
    total = sum(v.sum() if isinstance(v, torch.Tensor) else sum(v) for k, v in losses.items()
                if 'loss' in k)
    assert torch.isfinite(total) and {'loss_rpn_cls', 'loss_cls', 'loss_mask'} <= set(losses)
    total.backward()
    grads = [p.grad for p in model.backbone.encoder.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)   # the loss reaches our encoder
    optim.step()
    model.eval()
    with torch.no_grad():
        pred = model(**model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]),
                                               False), mode='predict')[0]
    assert pred.pred_instances.bboxes.shape[-1] == 4


def test_mmseg_packaged_upernet_with_our_backbone():
    from mmengine.structures import PixelData
    from mmseg.registry import MODELS as SEG_MODELS
    from mmseg.structures import SegDataSample
    cfg = _packaged_model('configs/segmentation/upernet_vit_tiny_ade20k.py', 'mmseg')
    packaged = _packaged('mmseg', 'vit/vit_vit-b16_mln_upernet_8xb2-80k_ade20k-512x512.py')
    ours, theirs = cfg.model.to_dict(), packaged.model.to_dict()
    for key in ('backbone', 'neck', 'pretrained', '_scope_'):
        ours.pop(key, None), theirs.pop(key, None)
    for head in ('decode_head', 'auxiliary_head'):   # SyncBN -> BN on CPU, nothing else
        assert ours[head].pop('norm_cfg')['type'] == 'BN'
        theirs[head].pop('norm_cfg')
    assert ours == theirs
    image, boxes = _real_image_with_boxes()
    image = image[:64, :64].copy()   # UPerHead reads 768-channel maps: a small input keeps it quick
    cfg.model.data_preprocessor.size = image.shape[:2]   # the config pads to its 512 x 512 crops
    model = SEG_MODELS.build(cfg.model)
    seg = np.zeros(image.shape[:2], np.int64)
    for x1, y1, x2, y2 in boxes.astype(int):
        seg[y1:y2, x1:x2] = 1
    inputs = torch.from_numpy(image).permute(2, 0, 1).contiguous()
    sample = SegDataSample(metainfo=dict(img_shape=image.shape[:2], ori_shape=image.shape[:2],
                                         pad_shape=image.shape[:2]))
    sample.gt_sem_seg = PixelData(data=torch.from_numpy(seg)[None])
    model.train()   # two images: the pooling branch's BatchNorm needs more than one value
    data = model.data_preprocessor(dict(inputs=[inputs, inputs.flip(-1)],
                                        data_samples=[sample, sample]), True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        pred = model(**model.data_preprocessor(dict(inputs=[inputs], data_samples=[sample]),
                                               False), mode='predict')[0]
    assert tuple(pred.pred_sem_seg.data.shape[-2:]) == image.shape[:2]
