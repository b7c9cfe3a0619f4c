"""Predict on one image, video or text:  mplug-registry infer CONFIG CHECKPOINT [--image PATH | --video PATH] [--question TEXT] [--text TEXT]

Also ``python tools/infer.py CONFIG CHECKPOINT ...``. Prints the prediction (class / answer /
caption / box / matching score). With ``--image`` it writes a picture with the prediction drawn on
the image. With ``--video``, a test pipeline that decodes videos (mmaction2's ``DecordInit`` /
``UniformSample`` / ``DecordDecode`` or the like) runs as it is on the file (``--num-frames`` sets
its ``clip_len``); a pipeline of image transforms gets the video decoded by PyAV, ``--num-frames``
frames sampled uniformly (default: the ``num_frames`` of the config's test data, else 4) and each
frame transformed. The model gets ``[1, T, 3, H, W]``; the picture is the strip of the frames it
saw (``--out``, default ``work_dirs/infer/<file>_pred.png``). Text alone (``--text`` or
``--question`` without an image or video) is for text-only models: the prediction is printed, no
picture is written; an extractive QA model takes ``--question`` about the context ``--text`` (its
dataset's windows, merged into one answer). A model trained on several tasks (``model.task_heads``)
predicts with the heads of ``--task`` (default: the task of the config's test dataset).
"""
import argparse
import os

from mplug_registry.errors import ConfigError
from mplug_registry.runtime import user_errors

#: frames sampled from a video when neither --num-frames nor the config's test data give a number
DEFAULT_NUM_FRAMES = 4


def parse_args(argv=None, prog=None):
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument('config', help='config file or PLUGIN::path')
    p.add_argument('checkpoint', help='checkpoint file (.pth)')
    media = p.add_mutually_exclusive_group()
    media.add_argument('--image', help='an image file (PNG, JPEG, ...)')
    media.add_argument('--video', help='a video file (MP4, AVI, WebM, ...), decoded with PyAV')
    p.add_argument('--num-frames', type=int,
                   help='frames sampled uniformly from --video (default: the num_frames of the '
                        f"config's test data, else {DEFAULT_NUM_FRAMES})")
    p.add_argument('--question', help='a question about the image or video (VQA), or about the '
                   '--text context (extractive QA)')
    p.add_argument('--text', help='a text: referring expression (grounding), caption (matching), '
                   'the input of a text-only model, or the context of an extractive QA question')
    p.add_argument('--text-pair', help='the second sentence of a sentence-pair model (GLUE pairs)')
    p.add_argument('--task', help='for a multi-task model: which task (its heads) predicts')
    p.add_argument('--out', help='where to write the picture')
    p.add_argument('--topk', type=int, default=5, help='classes to print for classifiers')
    p.add_argument('--score-thr', type=float, default=0.3,
                   help='detection models: least score of a drawn and printed detection')
    from mmengine.config import DictAction
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                   help='override config keys, e.g. test_dataloader.dataset.data_root=DIR')
    args = p.parse_args(argv)
    if not (args.image or args.video or args.question or args.text):
        p.error('give an input: --image, --video, or --text / --question alone for a text model')
    if args.text_pair is not None and not args.text:
        p.error('--text-pair goes with --text')
    if args.num_frames is not None and not args.video:
        p.error('--num-frames goes with --video')
    if args.num_frames is not None and args.num_frames < 1:
        p.error(f'--num-frames must be a positive integer, got {args.num_frames}')
    return args


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


def sample_indices(total, num_frames):
    """``num_frames`` frame indices spread uniformly over ``total`` (the centres of equal segments)."""
    return [min(total - 1, int((i + 0.5) * total / num_frames)) for i in range(num_frames)]


def _decode(av, path, wanted):
    """``({index: RGB frame} for the indices in wanted, number of frames decoded)``."""
    frames, count = {}, 0
    with av.open(path) as container:
        if not container.streams.video:
            return frames, 0
        stream = container.streams.video[0]
        stream.thread_type = 'AUTO'
        for i, frame in enumerate(container.decode(stream)):
            if i in wanted:
                frames[i] = frame.to_ndarray(format='rgb24')
            count = i + 1
    return frames, count


def load_video(path, num_frames):
    """``(frames [T, H, W, 3] uint8 sampled uniformly, number of frames in the video)``."""
    import numpy as np
    if not os.path.isfile(path):
        raise ConfigError('--video', f"no video file at '{path}'")
    try:
        import av
    except ImportError as err:
        raise ConfigError('--video', 'reading videos needs PyAV', 'pip install av') from err
    try:
        with av.open(path) as container:
            total = container.streams.video[0].frames if container.streams.video else 0
        # the container's frame count can be absent or wrong: then count by decoding, and pick again
        for _ in range(2):
            wanted = set(sample_indices(total, num_frames)) if total else set()
            frames, decoded = _decode(av, path, wanted)
            if decoded == 0:
                raise ConfigError('--video', f"'{path}' has no video frames")
            if wanted and wanted <= frames.keys():
                return np.stack([frames[i] for i in sample_indices(total, num_frames)]), total
            total = decoded
    except ConfigError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as err:
        raise ConfigError('--video', f"cannot read '{path}' as a video: {err}") from err
    raise ConfigError('--video', f"cannot read '{path}' as a video: its frames could not be decoded")


def _find_key(node, name):
    """The first value of ``name`` anywhere in nested dicts / lists, else None."""
    if isinstance(node, dict):
        if name in node:
            return node[name]
        node = list(node.values())
    if isinstance(node, (list, tuple)):
        for value in node:
            found = _find_key(value, name)
            if found is not None:
                return found
    return None


def config_num_frames(cfg):
    """The ``num_frames`` of the config's test (else val) dataset or its pipeline, else None."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    value = _find_key(loader.get('dataset') or {}, 'num_frames')
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _dataset_class(cfg):
    """The class of the config's test (else val) dataset, or None when unknown."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset') or {}
    if not isinstance(dataset.get('type'), str):
        return None
    from mplug_registry.registry import DATASETS
    return DATASETS.get(dataset['type'])


def dataset_metainfo(cfg):
    """``METAINFO`` of the class of the config's test (else val) dataset, updated by what its files
    name (``config_metainfo``: a video list's ``label_map``) and by the config's own ``metainfo``
    (e.g. class names); ``{}`` if unknown."""
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    dataset = loader.get('dataset') or {}
    given = dataset.get('metainfo')
    klass = _dataset_class(cfg)
    from_files = klass.config_metainfo(dataset) if hasattr(klass, 'config_metainfo') else {}
    return {**(getattr(klass, 'METAINFO', {}) or {}), **from_files,
            **(given if isinstance(given, dict) else {})}


def _head_needing_vision(model, names):
    """The first of the heads ``names`` that cannot predict without an image or video, else None."""
    for name in names:
        needs = set(getattr(model.heads[name], 'requires', ()))
        # a decoder of a model with a vision encoder reads the visual tokens as its memory
        if needs & {'vision', 'fused'} or ('decoder' in needs and model.vision_encoder is not None):
            return name
    return None


def _run(steps, results):
    for step in steps:
        results = step(results)
    return results


def decodes_video(pipeline):
    """Whether a pipeline decodes video files itself (a ``*Init`` / ``*Decode`` step, as
    mmaction2's ``DecordInit`` / ``PyAVDecode``)."""
    return any(isinstance(step, dict) and isinstance(step.get('type'), str) and
               step['type'].rsplit('.', 1)[-1].endswith(('Init', 'Decode')) for step in pipeline)


def test_pipeline(cfg):
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader') or {}
    return (loader.get('dataset') or {}).get('pipeline') or []


def _decode_video(steps, results, path):
    """Run a decoding pipeline's steps on a video file; a file that does not decode is one line."""
    from mplug_registry.video import video_problem
    try:
        return _run(steps, results)
    except Exception as err:   # the file's fault or the pipeline's: the probe decides
        problem = video_problem(path)
        if problem is None:
            raise
        raise ConfigError('--video', f"cannot read '{path}' as a video: {problem}") from err


def predict(cfg, checkpoint, image=None, question=None, text=None, task=None, frames=None,
            text_pair=None, video=None):
    """``(packed input tensor, data sample with predictions)`` for one input.

    ``image``: ``H x W x 3``; ``frames``: a video's ``T x H x W x 3`` (each frame goes through the
    test pipeline's transforms before packing, then they are packed together); ``video``: a video
    file for a test pipeline that decodes it (:func:`decodes_video`); none: text alone.
    """
    import numpy as np
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
    pipeline = test_pipeline(cfg)
    results = dict(img_path='<input>', sample_idx=0)
    if question:
        results['question'] = question
    if text:
        results['text'] = text
    if text_pair:
        results['text_b'] = text_pair
    if (loader.get('dataset') or {}).get('instruction'):   # the task instruction its data gives
        results['instruction'] = loader['dataset']['instruction']
    if model.task_heads is not None:
        results['task'] = task or dataset_metainfo(cfg).get('task')
        if results['task'] is None:
            raise ConfigError('--task', 'this model predicts several tasks: choose one of '
                              f'{", ".join(model.task_heads)}')
    elif task is not None:
        raise ConfigError('--task', 'this model has no task_heads: it has one task')
    if image is None and frames is None and video is None:
        names = model.heads if model.task_heads is None else \
            model.task_heads.get(results['task'], ())
        name = _head_needing_vision(model, names)
        if name is not None:
            raise ConfigError('--image', f"head '{name}' ({type(model.heads[name]).__name__}) of "
                              'this model needs an image or a video: give --image or --video')
    steps = [build_component(dict(step), f'test_dataloader.dataset.pipeline[{i}]',
                             registry=TRANSFORMS) for i, step in enumerate(pipeline)]
    dataset_cls = _dataset_class(cfg)
    if image is None and frames is None and hasattr(dataset_cls, 'infer_infos'):
        # one input, several samples (extractive QA's windows), merged back into one answer
        try:
            infos = dataset_cls.infer_infos(loader.get('dataset'), question=question, text=text)
        except ValueError as err:
            raise ConfigError('--text', str(err)) from None
        packed = [_run(steps, dict(info, sample_idx=i)) for i, info in enumerate(infos)]
        with torch.no_grad():
            data = model.data_preprocessor(dict(inputs=[p['inputs'] for p in packed],
                                                data_samples=[p['data_samples'] for p in packed]))
            samples = model(**data, mode='predict')
        for key, value in dataset_cls.merge_predictions(samples).items():
            samples[0].set_field(value, f'pred_{key}')
        return None, samples[0]
    # the transforms before the packing one work on one image (a video: on each frame)
    pack = next((i for i, s in enumerate(steps) if type(s).__name__.startswith('Pack')),
                len(steps))
    if video is not None:
        del results['img_path']
        results = _decode_video(steps[:pack], dict(results, filename=video, video_path=video,
                                                   start_index=0, modality='RGB'), video)
    elif frames is not None:
        done = [_run(steps[:pack], dict(results, img=f, ori_shape=f.shape[:2])) for f in frames]
        results = {k: v for k, v in done[0].items() if k != 'img'}
        results['frames'] = np.stack([r['img'] for r in done])
    elif image is not None:
        results = _run(steps[:pack], dict(results, img=image, ori_shape=image.shape[:2]))
    # text alone: the image transforms have nothing to work on, only the packing runs
    results = _run(steps[pack:], results)
    with torch.no_grad():
        data = model.data_preprocessor(dict(inputs=[results['inputs']],
                                            data_samples=[results['data_samples']]))
        sample = model(**data, mode='predict')[0]
    return results['inputs'].get('images'), sample


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


def frame_strip(frames, min_height=160):
    """A video's packed frames ``[T, 3, H, W]`` side by side: one ``H x T*W x 3`` picture, small
    frames enlarged (nearest, by a whole factor) to at least ``min_height`` pixels."""
    t, c, h, w = frames.shape
    strip = frames.permute(2, 0, 3, 1).reshape(h, t * w, c).cpu().numpy()
    factor = -(-min_height // h)
    return strip.repeat(factor, 0).repeat(factor, 1) if factor > 1 else strip


def main(argv=None, prog=None):
    """``prog``: the name in usage and error lines (default: the script's, errors as ``infer``)."""
    args = parse_args(argv, prog)
    with user_errors(prog or 'infer'):
        from mplug_registry.config import load_config
        from mplug_registry.visualize import describe, draw_prediction
        if not os.path.isfile(args.checkpoint):
            raise ConfigError('checkpoint', f"no checkpoint file at '{args.checkpoint}'")
        cfg = load_config(args.config, args.cfg_options)
        from mplug_registry.commands.infer_dense import infer_dense, toolbox_of
        if toolbox_of(cfg):
            if not args.image:
                raise ConfigError('--image', f'this is an {toolbox_of(cfg)} model: give --image')
            out = infer_dense(cfg, args.checkpoint, args.image, args.out, args.score_thr)
            print(f'picture: {out}')
            return 0
        original = frames = video = None
        if args.image:
            original = load_image(args.image)
        elif args.video and decodes_video(test_pipeline(cfg)):
            if not os.path.isfile(args.video):
                raise ConfigError('--video', f"no video file at '{args.video}'")
            video = original = args.video
            if args.num_frames:
                for step in test_pipeline(cfg):
                    if 'clip_len' in step:
                        step['clip_len'] = args.num_frames
        elif args.video:
            num_frames = args.num_frames or config_num_frames(cfg) or DEFAULT_NUM_FRAMES
            frames, total = load_video(args.video, num_frames)
            original = frames[0]
            print(f'video: {num_frames} of {total} frames, sampled uniformly')
        inputs, sample = predict(cfg, args.checkpoint, None if args.video else original,
                                 args.question, args.text, args.task, frames=frames,
                                 text_pair=args.text_pair, video=video)
        if video is not None:
            print(f'video: {inputs.shape[0]} frames decoded and sampled by the test pipeline')
        classes = dataset_metainfo(cfg).get('classes')
        for line in describe(sample, classes):
            print(line)
        if original is not None and video is None:
            print_boxes(sample, inputs.shape[-2:], original.shape[:2])
        if sample.get('pred_score') is not None and sample.get('pred_label') is not None:
            scores = sample.pred_score
            top = scores.topk(min(args.topk, scores.numel()))
            print('top-k: ' + ', '.join(f'{classes[i] if classes else i}={v:.3f}'
                                        for v, i in zip(top.values.tolist(), top.indices.tolist())))
        if original is None:
            return   # text alone: no picture
        from PIL import Image
        name = os.path.splitext(os.path.basename(args.image or args.video))[0]
        out = args.out or os.path.join('work_dirs', 'infer', name + '_pred.png')
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        picture = frame_strip(inputs) if args.video else inputs
        Image.fromarray(draw_prediction(picture, sample, classes)).save(out)
        print(f'picture: {out}')


if __name__ == '__main__':
    main()
