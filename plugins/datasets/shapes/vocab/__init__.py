"""The WordPiece vocabulary of the "shapes" scenes, shipped as a model package.

``BertTokenizer(path='mplug_registry_plugins.datasets.shapes.vocab')`` loads it (the directory that
:func:`get_model_path` returns). Its ids: ``[PAD]`` 0, ``[UNK]`` 1, ``[CLS]`` 2, ``[SEP]`` 3,
``[MASK]`` 4, then single characters, ``##`` letters and digits, then the scenes' words (see
``encoders.tokenizer.write_wordpiece_vocab``); a word it lacks is spelt in characters.

Regenerate it after changing the scenes' language (``datasets/shapes/language.py``)::

    python -m mplug_registry_plugins.datasets.shapes.vocab
"""
import os

#: images whose texts make the vocabulary (every template and word occurs many times in them)
NUM_IMAGES = 2000
#: instructions of the shapes configs that are not in the scenes' texts
PROMPTS = ('What does the image describe?', )


def get_model_path():
    return os.path.dirname(os.path.abspath(__file__))


def scene_texts(num_images=NUM_IMAGES, seed=0, image_size=96):
    """The texts of ``num_images`` training scenes (no images are drawn)."""
    from mplug_registry_plugins.datasets.shapes.generator import record_texts, scene_record
    texts = []
    for i in range(num_images):
        texts += record_texts(scene_record('train', i, seed, image_size))
    return texts


def write(out_dir=None):
    """Write ``vocab.txt`` and ``tokenizer_config.json``; returns the vocabulary size."""
    from mplug_registry_plugins.encoders.tokenizer import write_wordpiece_vocab
    return write_wordpiece_vocab(scene_texts() + list(PROMPTS), out_dir or get_model_path())
