"""Draw a prediction on its image: class, caption, answer, boxes (MMEngine ``Visualizer``)."""
import textwrap

import numpy as np


def _as_hwc_uint8(image):
    import torch
    if isinstance(image, torch.Tensor):
        image = image.detach().cpu()
        if image.dim() == 4:          # a video: show its first frame
            image = image[0]
        if image.shape[0] in (1, 3):
            image = image.permute(1, 2, 0)
        image = image.numpy()
    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image[..., :3] if image.ndim == 3 else
                                np.repeat(image[..., None], 3, axis=2))


def describe(sample, classes=None, wrap=40):
    """Text lines for the prediction fields a sample carries (texts wrapped at ``wrap`` chars)."""
    get = sample.get
    lines = []
    if get('pred_label') is not None:
        label = int(get('pred_label'))
        name = classes[label] if classes and label < len(classes) else str(label)
        score = get('pred_score')
        conf = f' ({float(score[label]):.2f})' if score is not None else ''
        truth = get('gt_label')
        lines.append(f'class {name}{conf}' + (f', truth {int(truth)}' if truth is not None else ''))
    elif get('pred_score') is not None and np.size(get('pred_score')) == 1:   # a regression
        lines.append(f'score {float(get("pred_score")):.3f}')
    for field, title in (('question', 'Q'), ('pred_answer', 'A'), ('pred_caption', 'caption'),
                         ('pred_summary', 'summary'), ('text', 'text')):
        if field == 'pred_answer' and get(field) == '':       # extractive QA found no span
            lines.append('A: (no answer in the text)')
        elif get(field) is not None and (field != 'text' or get('pred_bboxes') is not None):
            # long texts (captions) are wrapped so that they stay inside a small picture
            lines += textwrap.wrap(f'{title}: {get(field)}', width=wrap, subsequent_indent='  ')
    if get('itm_score') is not None:
        lines.append(f'match: {float(get("itm_score")):.2f}')
    return lines


def draw_prediction(image, sample, classes=None, scale=4):
    """An RGB ``uint8`` picture of ``image`` (upscaled ``scale``x when small) with the prediction."""
    from mmengine.visualization import Visualizer
    img = _as_hwc_uint8(image)
    factor = scale if max(img.shape[:2]) < 256 else 1
    if factor > 1:
        img = np.kron(img, np.ones((factor, factor, 1), dtype=np.uint8))
    vis = Visualizer(image=img)
    for field, color in (('gt_bboxes', (0, 200, 0)), ('pred_bboxes', (255, 40, 40))):
        boxes = sample.get(field)
        if boxes is not None:
            vis.draw_bboxes(np.asarray(boxes, dtype=np.float32).reshape(-1, 4) * factor,
                            edge_colors=color, line_widths=2)
    lines = describe(sample, classes)
    if lines:
        size = max(8, min(14, img.shape[1] // 24))
        vis.draw_texts('\n'.join(lines), np.array([4, 4]), font_sizes=size, colors=(255, 255, 255),
                       bboxes=dict(facecolor='black', alpha=0.6, pad=2))
    return vis.get_image()
