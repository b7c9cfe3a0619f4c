"""Predict on one image:  python tools/infer.py CONFIG CHECKPOINT --image PATH [--question TEXT | --text TEXT]

Prints the prediction (class / answer / caption / box / matching score) and writes a picture with
the prediction drawn on the image (``--out``, default ``work_dirs/infer/<image>_pred.png``).
A model trained on several tasks (``model.task_heads``) predicts with the heads of ``--task``
(default: the task of the config's test dataset).
"""
import argparse
import os

from mplug_registry.errors import ConfigError
from mplug_registry.runtime import user_errors


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', help='config file or PLUGIN::path')
    p.add_argument('checkpoint', help='checkpoint file (.pth)')
    p.add_argument('--image', required=True, help='an image file (PNG, JPEG, ...)')
    group = p.add_mutually_exclusive_group()
    group.add_argument('--question', help='a question about the image (VQA)')
    group.add_argument('--text', help='a text: referring expression (grounding) or caption (matching)')
    p.add_argument('--task', help='for a multi-task model: which task (its heads) predicts')
    p.add_argument('--out', help='where to write the picture')
    p.add_argument('--topk', type=int, default=5, help='classes to print for classifiers')
    return p.parse_args(argv)


def load_image(path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    if not os.path.isfile(path):
        raise ConfigError('--image', f"no image file at '{path}'")
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert('RGB'))
    except (UnidentifiedImageError, OSError) as err:
        raise ConfigError('--image', f"cannot read '{path}' as an image: {err}") from err


def dataset_metainfo(cfg):
    """``METAINFO`` of the class of the config's test (else val) dataset; ``{}`` if unknown."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset') or {}
    if not isinstance(dataset.get('type'), str):
        return {}
    from mplug_registry.registry import DATASETS
    return getattr(DATASETS.get(dataset['type']), 'METAINFO', {}) or {}


def predict(cfg, checkpoint, image, question=None, text=None, task=None):
    """``(packed image tensor, data sample with predictions)`` for one image."""
    import torch

    from mplug_registry.builder import build_component
    from mplug_registry.checkpoint import check_checkpoint, load_local_state_dict
    from mplug_registry.config import validate_config
    from mplug_registry.registry import TRANSFORMS
    model = validate_config(cfg, missing_data=[])  # predicting needs no dataset on disk
    check_checkpoint(model, checkpoint)
    model.load_state_dict(load_local_state_dict(checkpoint), strict=False)
    model.eval()
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    pipeline = (loader.get('dataset') or {}).get('pipeline') or []
    results = dict(img=image, img_path='<input>', ori_shape=image.shape[:2], sample_idx=0)
    if question:
        results['question'] = question
    if text:
        results['text'] = text
    if model.task_heads is not None:
        results['task'] = task or dataset_metainfo(cfg).get('task')
        if results['task'] is None:
            raise ConfigError('--task', 'this model predicts several tasks: choose one of '
                              f'{", ".join(model.task_heads)}')
    elif task is not None:
        raise ConfigError('--task', 'this model has no task_heads: it has one task')
    for i, step in enumerate(pipeline):
        results = build_component(dict(step), f'test_dataloader.dataset.pipeline[{i}]',
                                  registry=TRANSFORMS)(results)
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[results['inputs']],
                                            data_samples=[results['data_samples']]))
        sample = model(**data, mode='predict')[0]
    return results['inputs']['images'], sample


def print_boxes(sample, input_hw, original_hw):
    """Print predicted boxes (xyxy) in the photo's pixels and in the model input's."""
    import numpy as np
    boxes = sample.get('pred_bboxes')
    if boxes is None:
        return
    boxes = np.asarray(boxes.detach().cpu() if hasattr(boxes, 'detach') else boxes,
                       dtype=np.float64).reshape(-1, 4)
    (h, w), (h0, w0) = input_hw, original_hw
    scale = np.array([w0 / w, h0 / h, w0 / w, h0 / h])
    for box in boxes:
        photo = ', '.join(f'{v:.0f}' for v in box * scale)
        model = ', '.join(f'{v:.1f}' for v in box)
        print(f'box (x1, y1, x2, y2): {photo} in the image ({w0} x {h0}); {model} in the '
              f'{w} x {h} model input')


def main(argv=None):
    args = parse_args(argv)
    with user_errors('infer'):
        from PIL import Image

        from mplug_registry.config import load_config
        from mplug_registry.visualize import describe, draw_prediction
        if not os.path.isfile(args.checkpoint):
            raise ConfigError('checkpoint', f"no checkpoint file at '{args.checkpoint}'")
        cfg = load_config(args.config)
        original = load_image(args.image)
        image, sample = predict(cfg, args.checkpoint, original, args.question, args.text,
                                args.task)
        classes = dataset_metainfo(cfg).get('classes')
        for line in describe(sample, classes):
            print(line)
        print_boxes(sample, image.shape[-2:], original.shape[:2])
        if sample.get('pred_score') is not None and sample.get('pred_label') is not None:
            scores = sample.pred_score
            top = scores.topk(min(args.topk, scores.numel()))
            print('top-k: ' + ', '.join(f'{classes[i] if classes else i}={v:.3f}'
                                        for v, i in zip(top.values.tolist(), top.indices.tolist())))
        out = args.out or os.path.join(
            'work_dirs', 'infer', os.path.splitext(os.path.basename(args.image))[0] + '_pred.png')
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        Image.fromarray(draw_prediction(image, sample, classes)).save(out)
        print(f'picture: {out}')


if __name__ == '__main__':
    main()
