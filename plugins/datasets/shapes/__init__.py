"""The generated "shapes" image-text dataset: scenes of 1-4 coloured shapes in standard formats.

* :mod:`.generator`: the scenes, their images and the files of the dataset (:func:`make_shapes`;
  ``tools/make_shapes.py`` is its command line);
* :mod:`.language`: the scenes' captions, VQA questions and answers, referring expressions;
* :mod:`.formats`: the writers of the annotation files (COCO, Karpathy, VQA v2, RefCOCO, CLEVR);
* :mod:`.dense`: the COCO instance files (exact RLE masks) and semantic masks;
* :mod:`.vocab`: the scenes' WordPiece vocabulary, a model package
  (``BertTokenizer(path='mplug_registry_plugins.datasets.shapes.vocab')``).

Nothing here is registered: the datasets of :mod:`mplug_registry_plugins.datasets.image_text` read
the files.
"""
