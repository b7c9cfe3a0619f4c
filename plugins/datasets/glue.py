"""``GlueDataset``: GLUE-style text classification (single sentences and sentence pairs).

Reads the TSV files of the GLUE benchmark as distributed (Wang et al., 2018) or a JSON Lines file.
A sample has ``text`` (first sentence), ``text_b`` (second sentence of a pair task) and
``gt_label`` (a class index; a float score for STS-B) when the file has labels; GLUE's test files
have none, and their samples carry ``index`` for a submission file.
"""
import csv
import logging

from mmengine.logging import print_log

from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.base import BadRow, MultimodalDataset, read_jsonl, read_lines


def _layout(text, text_b=None, label=None, labels=None, header=True, columns=None):
    return dict(text=text, text_b=text_b, label=label, labels=labels, header=header,
                columns=columns)


#: GLUE task -> TSV layout: text / pair / label columns (by header name; CoLA's train and dev
#: files have no header, so positions), and the label strings in class-index order
LAYOUTS = {
    'CoLA': _layout('sentence', label='label', labels=('0', '1'), header=False,
                    columns=('source', 'label', 'original_label', 'sentence')),
    'SST-2': _layout('sentence', label='label', labels=('0', '1')),
    'MRPC': _layout('#1 String', '#2 String', 'Quality', labels=('0', '1')),
    'QQP': _layout('question1', 'question2', 'is_duplicate', labels=('0', '1')),
    'STS-B': _layout('sentence1', 'sentence2', 'score'),
    'MNLI': _layout('sentence1', 'sentence2', 'gold_label',
                    labels=('entailment', 'neutral', 'contradiction')),
    'QNLI': _layout('question', 'sentence', 'label', labels=('entailment', 'not_entailment')),
    'RTE': _layout('sentence1', 'sentence2', 'label', labels=('entailment', 'not_entailment')),
    'WNLI': _layout('sentence1', 'sentence2', 'label', labels=('0', '1')),
}


@DATASETS.register_module()
class GlueDataset(MultimodalDataset):
    """GLUE tasks from their TSV files, or any text classification from JSON Lines.

    Args:
        ann_file: a ``.tsv`` file in the layout of ``glue_task`` (train, dev or test file:
            a file whose header lacks the label column is read without labels), or a ``.jsonl``
            file with ``{"text": ..., "text_b": ... (pairs), "label": ...}`` per line (``label``
            a class index, or one of ``labels``; a float for a regression task).
        glue_task: one of :data:`LAYOUTS` (``'SST-2'``, ``'MNLI'``, ...); sets the columns and the
            label strings. ``None`` (JSON Lines only): labels are class indices or ``labels``.
        labels: the file's label strings in class-index order, overriding the task's (e.g. for
            a TSV in SST-2's layout whose labels are words). Class *names* for display go in
            ``metainfo=dict(classes=...)`` as for any dataset.
        regression: labels are floats (STS-B's similarity score); default: the task's.
        skip_bad: log and count bad rows (:attr:`num_skipped`, :attr:`skipped_rows`) instead of
            raising on the first.

    A bad row (a missing column, an empty sentence, a label that is not an integer index nor
    one of the classes) is a one-line :class:`BadRow` (a ``ValueError``) naming the file and the
    line. The other arguments are those of :class:`MultimodalDataset`; the samples' task is
    ``'text'``.
    """
    METAINFO = dict(task='text')

    def __init__(self, *args, glue_task=None, labels=None, regression=None, skip_bad=False,
                 **kwargs):
        if glue_task is not None and glue_task not in LAYOUTS:
            from mplug_registry.errors import close_match
            match = close_match(glue_task, LAYOUTS)
            raise ValueError(f'glue_task must be one of {sorted(LAYOUTS)}, got {glue_task!r}'
                             + (f" (did you mean '{match}'?)" if match else ''))
        layout = LAYOUTS.get(glue_task) or _layout(None)
        self.layout = dict(layout, labels=tuple(labels) if labels else layout['labels'])
        self.glue_task = glue_task
        self.regression = (glue_task == 'STS-B') if regression is None else bool(regression)
        self.skip_bad = skip_bad
        self.skipped_rows = []
        super().__init__(*args, **kwargs)

    @property
    def num_skipped(self):
        return len(self.skipped_rows)

    @property
    def num_classes(self):
        return 1 if self.regression else len(self.layout['labels'] or ())

    def parse_annotations(self):
        self.skipped_rows = []
        if self.ann_file.endswith('.jsonl'):
            rows = self._read_jsonl()
        elif self.glue_task is None:
            raise BadRow(f"'{self.ann_file}': a TSV file needs `glue_task` (one of "
                             f'{sorted(LAYOUTS)}) to know its columns')
        else:
            rows = self._read_tsv()
        samples = []
        for where, row in rows:
            try:
                samples.append(self._sample(where, row))
            except BadRow as err:
                if not self.skip_bad:
                    raise
                self.skipped_rows.append(str(err))
        if self.skipped_rows:
            print_log(f'{type(self).__name__}: skipped {self.num_skipped} bad row(s) of '
                      f"'{self.ann_file}', the first: {self.skipped_rows[0]}", logger='current',
                      level=logging.WARNING)
        if not samples:
            raise BadRow(f"'{self.ann_file}': no samples"
                             + (f' ({self.num_skipped} bad rows skipped)' if self.skipped_rows
                                else ''))
        return samples

    def _read_tsv(self):
        lines = read_lines(self.ann_file)
        columns, start = self.layout['columns'], 0
        if self.layout['header'] or (lines and lines[0].split('\t')[0] == 'index'):
            columns, start = lines[0].split('\t') if lines else [], 1    # GLUE's test files
        wanted = [self.layout['text'], self.layout['text_b']]
        missing = [c for c in wanted if c is not None and c not in columns]
        if missing:
            raise BadRow(f"'{self.ann_file}', line 1: the header has no column {missing[0]!r} "
                             f'of the {self.glue_task} layout (columns: {columns})')
        self.has_labels = self.layout['label'] in columns
        for number, line in enumerate(lines[start:], start + 1):
            if not line.strip():
                continue
            # QUOTE_NONE: GLUE's TSVs carry quotes as text
            fields = next(csv.reader([line], delimiter='\t', quoting=csv.QUOTE_NONE))
            yield f"'{self.ann_file}', line {number}", (columns, fields)

    def _read_jsonl(self):
        self.has_labels = None                                # decided per row
        yield from read_jsonl(self.ann_file)

    def _sample(self, where, row):
        from_tsv = isinstance(row, tuple)                     # a TSV line: (columns, fields)
        if from_tsv:
            columns, fields = row
            if len(fields) < len(columns):
                raise BadRow(f'{where}: {len(fields)} columns, the header has {len(columns)} '
                             f'(missing {columns[len(fields)]!r})')
            row = dict(zip(columns, fields))
            keys = dict(text=self.layout['text'], text_b=self.layout['text_b'],
                        label=self.layout['label'] if self.has_labels else None)
        else:
            keys = dict(text='text', text_b='text_b', label='label')
        sample = {} if from_tsv else dict(row)                # JSON Lines keeps its other fields
        for field in ('text', 'text_b'):
            if keys[field] is None:
                continue
            value = row.get(keys[field])
            if not isinstance(value, str) or not value.strip():
                raise BadRow(f'{where}: {keys[field]!r} must be a non-empty sentence, got '
                             f'{value!r}')
            sample[field] = value
        if 'index' in row:
            sample['index'] = row['index']
        sample.pop('label', None)
        if keys['label'] is not None and row.get(keys['label']) is not None:
            sample['gt_label'] = self._label(where, keys['label'], row[keys['label']])
        return sample

    def _label(self, where, column, value):
        if self.regression:
            try:
                return float(value)
            except (TypeError, ValueError):
                raise BadRow(f'{where}: {column!r} must be a number (a regression score), got '
                             f'{value!r}') from None
        classes = self.layout['labels']
        if classes and isinstance(value, str) and value in classes:
            return classes.index(value)
        if isinstance(value, int) and not isinstance(value, bool) or \
                isinstance(value, str) and value.strip().lstrip('-').isdigit():
            index = int(value)
            if 0 <= index < (len(classes) if classes else float('inf')):
                return index
            raise BadRow(f'{where}: {column!r} = {index} is not a class index in '
                         f'[0, {len(classes) - 1}]')
        expected = f'an integer class index or one of {list(classes)}' if classes else \
            'an integer class index'
        raise BadRow(f'{where}: {column!r} must be {expected}, got {value!r}')
