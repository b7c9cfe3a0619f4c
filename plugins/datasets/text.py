"""``TextDataset``: text-only samples (no image, no video) from a JSON Lines file."""
import json

from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.base import MEDIA_PREFIXES, MultimodalDataset


@DATASETS.register_module()
class TextDataset(MultimodalDataset):
    """Text-only samples: ``ann_file`` is a JSON Lines file, one object per line, e.g.
    ``{"text": "a red circle on the left", "label": 2}``.

    Every row needs ``text`` (a non-empty string). ``label`` (an integer class index) becomes
    ``gt_label``, which :class:`PackMultimodalInputs` packs as a tensor and
    ``ClassificationHead(stream='text')`` reads; the other fields are kept as they are (the packing
    transform copies those it knows, e.g. ``question``, ``answers``, ``text_id``). Blank lines are
    skipped. A bad row is a one-line :class:`ValueError` naming the file and the line.

    ``data_prefix`` names no media directory; ``fraction``, ``instruction`` and the other arguments
    are those of :class:`MultimodalDataset`. The samples' task is ``'text'``
    (``metainfo=dict(task=...)`` names another, for ``task_heads``).
    """
    METAINFO = dict(task='text')

    def parse_annotations(self):
        with open(self.ann_file, encoding='utf-8') as f:
            return [self._row(line, number) for number, line in enumerate(f, 1) if line.strip()]

    def _row(self, line, number):
        where = f"'{self.ann_file}', line {number}"
        try:
            row = json.loads(line.rstrip('\r\n'))
        except json.JSONDecodeError as err:
            raise ValueError(f'{where}: not valid JSON ({err.msg}, column {err.colno})') from None
        if not isinstance(row, dict):
            raise ValueError(f'{where}: expected an object like {{"text": ...}}, '
                             f'got a {type(row).__name__}')
        text = row.get('text')
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f'{where}: `text` must be a non-empty string, got {text!r}')
        media = [key for key in MEDIA_PREFIXES if key in row]
        if media:
            raise ValueError(f'{where}: a text-only sample has no `{media[0]}` (an image or video '
                             'dataset reads samples with media)')
        if 'label' in row:
            label = row.pop('label')
            if isinstance(label, bool) or not isinstance(label, int):
                raise ValueError(f'{where}: `label` must be an integer class index, got {label!r}')
            row['gt_label'] = label
        return row
