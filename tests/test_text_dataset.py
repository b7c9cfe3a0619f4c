"""Samples without an image: the text-only ``TextDataset`` and video samples of the dataset base."""
import json

import pytest
import torch

from mplug_registry.registry import DATASETS

PACK = [dict(type='PackMultimodalInputs')]
ROWS = [dict(text='a red circle on the left', label=2, text_id=10),
        dict(text='how many squares are there?', label=0, question='how many squares?'),
        dict(text='the small yellow triangle', label=1)]
SHAPES_VOCAB = 'mplug_registry_plugins.datasets.shapes.vocab'


def build(cfg):
    """A dataset from its config; pipelines resolve in our scope, as under the runner."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        return DATASETS.build(cfg)


@pytest.fixture
def texts(tmp_path):
    """A JSON Lines file of ROWS, with a blank line between rows 2 and 3."""
    path = tmp_path / 'texts.jsonl'
    lines = [json.dumps(r) for r in ROWS]
    path.write_text('\n'.join(lines[:2] + ['', lines[2]]) + '\n')
    return path


def test_text_dataset_packs_samples_without_an_image(texts):
    ds = build(dict(type='TextDataset', data_root=str(texts.parent), ann_file=texts.name,
                    pipeline=PACK))
    assert len(ds) == 3                                   # the blank line is skipped
    for i, row in enumerate(ROWS):
        packed = ds[i]
        sample = packed['data_samples']
        assert packed['inputs'] == {}                     # no image, no video
        assert sample.text == row['text'] and sample.task == 'text'
        assert sample.gt_label.dtype == torch.int64 and sample.gt_label.item() == row['label']
        assert sample.sample_idx == i and 'img_shape' not in sample.metainfo
    assert ds[0]['data_samples'].text_id == 10
    assert ds[1]['data_samples'].question == 'how many squares?'


def test_text_only_batch_is_tokenized_and_has_no_images(texts):
    from mmengine.dataset import pseudo_collate

    from mplug_registry.model.preprocessor import MultimodalDataPreprocessor
    ds = build(dict(type='TextDataset', ann_file=str(texts), pipeline=PACK))
    pre = MultimodalDataPreprocessor(tokenizer=dict(type='BertTokenizer', path=SHAPES_VOCAB),
                                     max_length=16)
    out = pre(pseudo_collate([ds[i] for i in range(len(ds))]))
    assert set(out['inputs']) == {'text'}
    want = pre.tokenizer([r['text'] for r in ROWS], max_length=16)['input_ids']
    assert torch.equal(out['inputs']['text']['input_ids'], want)
    assert (want[:, 0] == 2).all() and (want != 1).all()   # [CLS] first, no [UNK]


def test_fraction_and_instruction_apply_to_text_samples(texts):
    ds = build(dict(type='TextDataset', ann_file=str(texts), pipeline=PACK, fraction=0.5,
                    instruction='Which shape is it?'))
    assert [ds[i]['data_samples'].text for i in range(len(ds))] == [ROWS[0]['text'],
                                                                     ROWS[2]['text']]
    assert ds[1]['data_samples'].instruction == 'Which shape is it?'


@pytest.mark.parametrize('line, message', [
    ('{"text": "a red circle"', 'not valid JSON'),
    ('["a red circle"]', 'expected an object like'),
    ('{"label": 1}', '`text` must be a non-empty string, got None'),
    ('{"text": "  "}', '`text` must be a non-empty string'),
    ('{"text": "a red circle", "label": "red"}', "`label` must be an integer class index"),
    ('{"text": "a red circle", "img_path": "a.png"}', 'a text-only sample has no `img_path`'),
])
def test_bad_rows_are_one_line_errors_naming_the_file_and_line(tmp_path, line, message):
    path = tmp_path / 'bad.jsonl'
    path.write_text('{"text": "a blue square", "label": 0}\n' + line + '\n')
    with pytest.raises(ValueError) as info:
        build(dict(type='TextDataset', ann_file=str(path)))
    assert f"'{path}', line 2: {message}" in str(info.value)
    assert '\n' not in str(info.value)


def test_check_args_needs_no_image_directory_for_text(texts):
    from mplug_registry.config import check_config
    cls = DATASETS.get('TextDataset')
    root = str(texts.parent)
    cls.check_args(ann_file=texts.name, data_root=root)
    cls.check_args(ann_file=texts.name, data_root=root, data_prefix=dict())
    with pytest.raises(FileNotFoundError, match="data_prefix.img_path: no image directory"):
        cls.check_args(ann_file=texts.name, data_root=root, data_prefix=dict(img_path='img/'))
    with pytest.raises(FileNotFoundError, match="data_prefix.video_path: no video directory"):
        cls.check_args(ann_file=texts.name, data_root=root, data_prefix=dict(video_path='vid/'))
    with pytest.raises(ValueError, match="no argument 'instructions' .*'instruction'"):
        cls.check_args(ann_file=texts.name, data_root=root, instructions='Which shape?')
    check_config(dict(train_dataloader=dict(batch_size=2, num_workers=0, dataset=dict(
        type='TextDataset', ann_file=texts.name, data_root=root, pipeline=PACK))))


def test_video_samples_keep_their_path_for_a_decode_transform(tmp_path):
    from mplug_registry_plugins.datasets.base import MultimodalDataset

    class Clips(MultimodalDataset):
        def parse_annotations(self):
            return [dict(video_path=self.video_path('clip_0.mp4'), text='a red circle moves')]

    (tmp_path / 'videos').mkdir()
    (tmp_path / 'clips.json').write_text('[]')
    with pytest.raises(FileNotFoundError, match='data_prefix.video_path: no video directory'):
        Clips(ann_file='clips.json', data_root=str(tmp_path), data_prefix=dict(video_path='vids/'))
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        ds = Clips(ann_file='clips.json', data_root=str(tmp_path),
                   data_prefix=dict(video_path='videos/'), pipeline=PACK)
    packed = ds[0]   # the video file does not exist: nothing is read before a decode transform
    assert packed['inputs'] == {} and packed['data_samples'].text == 'a red circle moves'
    assert packed['data_samples'].video_path == str(tmp_path / 'videos' / 'clip_0.mp4')
