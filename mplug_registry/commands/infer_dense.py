"""``infer`` for mmdet / mmseg models (detection, instance and semantic segmentation).

The toolbox's own inference API runs the config's test pipeline on the image, and its visualizer
draws the prediction: boxes, masks and class names (``DetLocalVisualizer``) or the class map over
the image (``SegLocalVisualizer``). The prediction is also printed. The checkpoint is compared with
the model first (:func:`~mplug_registry.checkpoint.check_checkpoint`): one from another config is
a one-line error, not a model with random layers.
"""
import copy
import importlib
import os
import warnings

from mplug_registry.errors import ConfigError

#: toolbox by the default scope of a config
TOOLBOXES = ('mmdet', 'mmseg')


def toolbox_of(cfg):
    """``'mmdet'`` / ``'mmseg'`` when the config's model is one of those toolboxes', else None."""
    scope = cfg.get('default_scope')
    model_type = str((cfg.get('model') or {}).get('type', ''))
    prefix = model_type.split('.')[0] if '.' in model_type else scope
    return prefix if prefix in TOOLBOXES else None


def read_image(path):
    """The image at ``path`` as ``H x W x 3`` BGR uint8 (as the toolboxes' loaders read it)."""
    import mmcv
    if not os.path.isfile(path):
        raise ConfigError('--image', f"no image file at '{path}'")
    try:
        image = mmcv.imread(path, flag='color', channel_order='bgr')
    except Exception as err:   # noqa: BLE001  mmcv / cv2 raise several kinds for a bad file
        raise ConfigError('--image', f"cannot read '{path}' as an image") from err
    if image is None or image.size == 0:
        raise ConfigError('--image', f"cannot read '{path}' as an image")
    return image


def _config_metainfo(cfg):
    """The test dataset's metainfo (classes, palette), built without reading its files."""
    from mmengine.registry import DATASETS
    dataset = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset['lazy_init'] = True
    try:
        return dict(DATASETS.build(dataset).metainfo)
    except Exception:   # noqa: BLE001  e.g. a dataset that checks its files when built
        return dict(dataset.get('metainfo') or {})


def load_model(cfg, checkpoint, toolbox):
    """The toolbox model of ``cfg`` with the weights of ``checkpoint`` (checked against it first)
    and ``dataset_meta`` (classes, palette) from the checkpoint, else from the config."""
    from mmengine.model.utils import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint

    from mplug_registry.checkpoint import (allow_mmengine_checkpoints, check_checkpoint,
                                           check_checkpoint_file, compare_state_dicts,
                                           load_local_state_dict)
    check_checkpoint_file(checkpoint, 'checkpoint')
    allow_mmengine_checkpoints()   # MMEngine's checkpoints hold its message hub
    cfg = copy.deepcopy(cfg)
    init_default_scope(toolbox)
    if toolbox == 'mmseg':   # mmseg's inference reads the top-level `test_pipeline`
        cfg.test_pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
    # built as the toolboxes' init_detector / init_model do, the weights loaded below
    models = importlib.import_module(f'{toolbox}.registry').MODELS
    with warnings.catch_warnings():   # the toolboxes' advice on building (loss defaults, ...)
        warnings.simplefilter('ignore', UserWarning)
        model = revert_sync_batchnorm(models.build(cfg.model))
    model.cfg = cfg
    partial = check_checkpoint(model, checkpoint)   # raises for other shapes / compositions
    state = load_local_state_dict(checkpoint, key='checkpoint')
    report = compare_state_dicts(model.state_dict(), state)
    untrained = [slot for slot, entry in report.items() if entry['missing'] and not entry['loaded']]
    if untrained:   # a whole part would predict with random weights
        raise ConfigError('checkpoint', f"'{checkpoint}' has no weights for {', '.join(untrained)} "
                          'of this model', 'was it trained with another config?')
    for line in partial:
        print(line)
    meta = load_checkpoint(model, checkpoint, map_location='cpu', logger='silent').get('meta', {})
    model.dataset_meta = {**_config_metainfo(cfg), **(meta.get('dataset_meta') or {})}
    model.eval()
    return model


def _print_detections(sample, classes, score_thr):
    inst = sample.pred_instances
    keep = inst.scores >= score_thr
    print(f'{int(keep.sum())} detections with score >= {score_thr} '
          f'(of {len(inst.scores)}), boxes (x1, y1, x2, y2) in image pixels:')
    masks = inst.get('masks')
    for i in keep.nonzero().flatten().tolist():
        label = int(inst.labels[i])
        name = classes[label] if classes and label < len(classes) else str(label)
        box = ', '.join(f'{v:.0f}' for v in inst.bboxes[i].tolist())
        area = f', mask {int(masks[i].sum())} px' if masks is not None else ''
        print(f'  {name:<12} {float(inst.scores[i]):.3f}  [{box}]{area}')


def _print_segmentation(sample, classes):
    seg = sample.pred_sem_seg.data.squeeze(0)
    total = seg.numel()
    print('predicted classes by share of the image:')
    for label, count in sorted(zip(*[t.tolist() for t in seg.unique(return_counts=True)]),
                               key=lambda item: -item[1]):
        name = classes[label] if classes and label < len(classes) else str(label)
        print(f'  {name:<12} {count / total:6.1%}')


def infer_dense(cfg, checkpoint, image_path, out=None, score_thr=0.3):
    """Predict on ``image_path`` with an mmdet / mmseg config and write the drawn picture;
    returns the picture's path."""
    toolbox = toolbox_of(cfg)
    image = read_image(image_path)   # before the model: a bad file fails fast
    model = load_model(cfg, checkpoint, toolbox)
    classes = model.dataset_meta.get('classes')
    if toolbox == 'mmdet':
        from mmdet.apis import inference_detector
        from mmdet.visualization import DetLocalVisualizer as Visualizer
        sample = inference_detector(model, image)
        _print_detections(sample, classes, score_thr)
    else:
        from mmseg.apis import inference_model
        from mmseg.visualization import SegLocalVisualizer as Visualizer
        sample = inference_model(model, image)
        _print_segmentation(sample, classes)
    out = out or os.path.join('work_dirs', 'infer',
                              f'{os.path.splitext(os.path.basename(image_path))[0]}_pred.png')
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    visualizer = Visualizer.get_instance(f'infer_{toolbox}')
    visualizer.dataset_meta = model.dataset_meta
    kwargs = dict(pred_score_thr=score_thr) if toolbox == 'mmdet' else {}
    with warnings.catch_warnings():   # "out of bounds" for every box that touches the border
        warnings.simplefilter('ignore', UserWarning)
        visualizer.add_datasample(os.path.basename(image_path), image[..., ::-1], sample,
                                  draw_gt=False, show=False, out_file=out, **kwargs)
    return out
