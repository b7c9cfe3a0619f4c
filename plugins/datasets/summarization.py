"""``GigawordDataset``: abstractive summarization in the Gigaword layout (Rush et al., 2015).

The layout is two plain-text files of the same length: line ``i`` of the source file is an
article (Gigaword: its first sentence) and line ``i`` of the target file its summary (Gigaword: the
headline), e.g. ``train.src`` / ``train.tgt``, ``dev.src`` / ``dev.tgt``. mPLUG-2 (Table 2)
summarizes with the text encoder, the universal layers and the shared decoder reading the text
features (``SharedTextDecoder(memory_stream='text')`` + ``LMHead``), scored by ROUGE-1/2/L
(``RougeMetric``).
"""
import logging

from mmengine.logging import print_log

from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.base import (BadRow, MultimodalDataset, check_data_paths,
                                                  read_lines)


@DATASETS.register_module()
class GigawordDataset(MultimodalDataset):
    """Source / target line pairs: ``text`` = the source line, ``gt_summary`` = the target line.

    Args:
        ann_file: the source file, one example per line (relative to ``data_root``).
        target_file: the target file, line ``i`` summarising source line ``i``; ``None`` for an
            unlabelled test set (samples without ``gt_summary``).
        skip_bad: skip bad rows, log them once and count them (:attr:`num_skipped_rows`,
            :attr:`skipped_rows`) instead of raising.
        **kwargs: those of :class:`MultimodalDataset` (``data_root``, ``pipeline``, ``test_mode``,
            ``fraction``...); no media directory.

    A bad row is a one-line :class:`BadRow` (a ``ValueError``) naming the file and the 1-based
    line: an empty
    (or blank) source or target line, or a line of one file that the other file lacks (the files
    have different line counts). Each sample also has ``text_id``, its line number. The samples'
    task is ``'summarization'``.
    """
    METAINFO = dict(task='summarization')

    def __init__(self, ann_file='', target_file=None, skip_bad=False, **kwargs):
        self.target_file, self.skip_bad = target_file, bool(skip_bad)
        self.skipped_rows = []   # (file, line, reason)
        super().__init__(ann_file=ann_file, **kwargs)

    def checked_args(self):
        return dict(target_file=self.target_file)

    @classmethod
    def check_args(cls, ann_file='', target_file=None, data_root='', data_prefix=None,
                   **others):
        """Validate argument names and both paths without loading anything."""
        cls.check_names(others)
        check_data_paths(ann_file, data_root, data_prefix, target_file=target_file)

    @property
    def num_skipped_rows(self):
        """How many rows were skipped as bad (``skip_bad=True``)."""
        return len(self.skipped_rows)

    def parse_annotations(self):
        sources = read_lines(self.ann_file)
        target_path = self.data_file(self.target_file) if self.target_file else None
        targets = read_lines(target_path) if target_path else None
        infos = []
        for index in range(max(len(sources), len(targets or ()))):
            number = index + 1
            problem = self._problem(sources, targets, index, target_path)
            if problem is not None:
                if not self.skip_bad:
                    raise BadRow(f"'{problem[0]}', line {number}: {problem[1]}")
                self.skipped_rows.append((problem[0], number, problem[1]))
                continue
            info = dict(text=sources[index].strip(), text_id=number)
            if targets is not None:
                info['gt_summary'] = targets[index].strip()
            infos.append(info)
        if self.skipped_rows:
            file, number, reason = self.skipped_rows[0]
            print_log(f'{type(self).__name__}: skipped {self.num_skipped_rows} bad row(s) of '
                      f"'{self.ann_file}', first: '{file}', line {number}: {reason}",
                      logger='current', level=logging.WARNING)
        return infos

    def _problem(self, sources, targets, index, target_path):
        """``(file, reason)`` of what is wrong with row ``index``, or ``None``."""
        if index >= len(sources):
            return target_path, (f"a target line without a source line ('{self.ann_file}' has "
                                 f'{len(sources)} lines, this file {len(targets)})')
        if targets is not None and index >= len(targets):
            return self.ann_file, (f"a source line without a target line ('{target_path}' has "
                                   f'{len(targets)} lines, this file {len(sources)})')
        if not sources[index].strip():
            return self.ann_file, 'empty source line'
        if targets is not None and not targets[index].strip():
            return target_path, 'empty target line'
        return None
