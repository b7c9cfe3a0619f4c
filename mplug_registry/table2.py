"""mPLUG-2 Table 2: the modules each downstream task uses, and which row a config is.

``mplug-registry check`` prints the row of a config beside the modules its model composes. The row
is the config's ``paper_row`` when it names one, else it follows from the test dataset's task
(``METAINFO['task']``) and media (image, video or text alone) and from the model's heads.
"""
#: Table 2's module columns, in its order
MODULES = ('text enc', 'image enc', 'video enc', 'universal', 'fusion', 'text dec', 'image dec',
           'video dec')

#: row -> the modules it ticks (mPLUG-2 appendix, Table 2)
ROWS = {
    'Video-Text Retrieval': ('text enc', 'video enc', 'universal', 'fusion'),
    'Video-Text Question Answering': ('text enc', 'video enc', 'universal', 'fusion',
                                      'video dec'),
    'Video-Text Captioning': ('text enc', 'video enc', 'universal', 'fusion', 'video dec'),
    'Image-Text Retrieval': ('text enc', 'image enc', 'universal', 'fusion'),
    'Image-Text Question Answering': ('text enc', 'image enc', 'universal', 'fusion',
                                      'image dec'),
    'Image-Text Captioning': ('text enc', 'image enc', 'universal', 'fusion', 'image dec'),
    'Visual Grounding': ('text enc', 'image enc', 'universal', 'fusion', 'image dec'),
    'Video Classification': ('video enc', 'universal'),
    'Image Classification': ('image enc', 'universal'),
    'Image Detection': ('image enc', 'universal'),
    'Image Segmentation': ('image enc', 'universal'),
    'Text Classification': ('text enc', 'universal'),
    'Text Question Answering': ('text enc', 'universal'),
    'Text Summarization': ('text enc', 'universal', 'text dec'),
}

#: (media, dataset task) -> row
_BY_TASK = {
    ('video', 'classification'): 'Video Classification',
    ('video', 'retrieval'): 'Video-Text Retrieval',
    ('video', 'vqa'): 'Video-Text Question Answering',
    ('video', 'caption'): 'Video-Text Captioning',
    ('image', 'classification'): 'Image Classification',
    ('image', 'retrieval'): 'Image-Text Retrieval',
    ('image', 'vqa'): 'Image-Text Question Answering',
    ('image', 'caption'): 'Image-Text Captioning',
    ('image', 'grounding'): 'Visual Grounding',
    ('image', 'detection'): 'Image Detection',
    ('image', 'segmentation'): 'Image Segmentation',
    ('text', 'text'): 'Text Classification',
    ('text', 'extractive_qa'): 'Text Question Answering',
    ('text', 'summarization'): 'Text Summarization',
}


def _test_dataset_class(cfg):
    from .registry import DATASETS
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        dataset = (cfg.get(key) or {}).get('dataset') or {}
        if isinstance(dataset.get('type'), str):
            try:
                return DATASETS.get(dataset['type'])
            except Exception:   # another scope's dataset that does not import here
                return None
    return None


#: the dataset task of a toolbox model whose backbone is ours, by the toolbox
_TOOLBOX_TASKS = {'mmdet': 'detection', 'mmseg': 'segmentation'}


def _parts(model):
    """``(vision encoder, universal layers)`` of a composed model or of a toolbox model whose
    backbone is ours (``DualVisionBackbone``)."""
    backbone = getattr(model, 'backbone', None)
    owner = backbone if hasattr(backbone, 'encoder') else model
    encoder = getattr(owner, 'vision_encoder', None) or getattr(owner, 'encoder', None)
    return encoder, getattr(owner, 'universal', None)


def media_of(cfg, model):
    """``'video'``, ``'image'`` or ``'text'``: what the config's model sees."""
    if _parts(model)[0] is None:
        return 'text'
    klass = _test_dataset_class(cfg)
    return 'video' if getattr(klass, 'MEDIA_KEY', None) == 'video' else 'image'


def row_of(cfg, model):
    """The Table 2 row of a config (``paper_row`` or inferred), or None when none fits."""
    if cfg.get('paper_row'):
        if cfg['paper_row'] not in ROWS:
            from .errors import ConfigError, close_match
            match = close_match(cfg['paper_row'], ROWS)
            raise ConfigError('paper_row', f"{cfg['paper_row']!r} is not a row of mPLUG-2 "
                              'Table 2', f"did you mean '{match}'?" if match else
                              f"one of: {', '.join(ROWS)}")
        return cfg['paper_row']
    media = media_of(cfg, model)
    klass = _test_dataset_class(cfg)
    task = (getattr(klass, 'METAINFO', None) or {}).get('task') \
        or _TOOLBOX_TASKS.get(type(model).__module__.split('.')[0])
    if task is None and media == 'image':
        heads = {type(h).__name__ for h in getattr(model, 'heads', {}).values()}
        task = 'classification' if 'ClassificationHead' in heads else None
    return _BY_TASK.get((media, task))


def modules_of(cfg, model):
    """The Table 2 modules a composed model has, in Table 2's order."""
    media = media_of(cfg, model)
    have = set()
    if getattr(model, 'text_encoder', None) is not None:
        have.add('text enc')
    encoder, universal = _parts(model)
    if encoder is not None:
        have.add(f'{media} enc')
    if universal is not None:
        have.add('universal')
    if getattr(model, 'fusion', None) is not None:
        have.add('fusion')
    if getattr(model, 'decoder', None) is not None:
        have.add(f'{media} dec')
    return [m for m in MODULES if m in have]


def describe(cfg, model):
    """Lines for ``check``: the row, its modules, and how the config's modules compare."""
    row = row_of(cfg, model)
    have = modules_of(cfg, model)
    if row is None:
        return [f'mPLUG-2 Table 2: no row fits this config (modules: {", ".join(have)}; set '
                "paper_row='...' to name one)"]
    want = ROWS[row]
    lines = [f"mPLUG-2 Table 2 row '{row}': {', '.join(want)}"]
    missing = [m for m in want if m not in have]
    extra = [m for m in have if m not in want]
    if not missing and not extra:
        lines.append(f'  this config: {", ".join(have)} (matches the row)')
    else:
        diff = '; '.join(part for part in (
            f'without {", ".join(missing)}' if missing else '',
            f'with {", ".join(extra)} too' if extra else '') if part)
        lines.append(f'  this config: {", ".join(have)} (differs: {diff})')
    return lines
