"""``TextDataset``: text-only samples (no image, no video) from a JSON Lines file."""
from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.base import (MEDIA_PREFIXES, BadRow, MultimodalDataset,
                                                  read_jsonl)


@DATASETS.register_module()
class TextDataset(MultimodalDataset):
    """Text-only samples: ``ann_file`` is a JSON Lines file, one object per line, e.g.
    ``{"text": "a red circle on the left", "label": 2}``.

    Every row needs ``text`` (a non-empty string). ``label`` (an integer class index) becomes
    ``gt_label``, which :class:`PackMultimodalInputs` packs as a tensor and
    ``ClassificationHead(stream='text')`` reads; the other fields are kept as they are (the packing
    transform copies those it knows, e.g. ``question``, ``answers``, ``text_id``). Blank lines are
    skipped. A bad row is a one-line :class:`BadRow` (a ``ValueError``) naming the file and the
    line.

    ``data_prefix`` names no media directory; ``fraction``, ``instruction`` and the other arguments
    are those of :class:`MultimodalDataset`. The samples' task is ``'text'``
    (``metainfo=dict(task=...)`` names another, for ``task_heads``).
    """
    METAINFO = dict(task='text')

    def parse_annotations(self):
        return [self._row(where, row) for where, row in read_jsonl(self.ann_file)]

    def _row(self, where, row):
        text = row.get('text')
        if not isinstance(text, str) or not text.strip():
            raise BadRow(f'{where}: `text` must be a non-empty string, got {text!r}')
        media = [key for key in MEDIA_PREFIXES if key in row]
        if media:
            raise BadRow(f'{where}: a text-only sample has no `{media[0]}` (an image or video '
                         'dataset reads samples with media)')
        if 'label' in row:
            label = row.pop('label')
            if isinstance(label, bool) or not isinstance(label, int):
                raise BadRow(f'{where}: `label` must be an integer class index, got {label!r}')
            row['gt_label'] = label
        return row
