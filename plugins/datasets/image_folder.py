"""``ImageFolderDataset``: image classification from an ImageNet-style folder tree or list file.

Two layouts, as torchvision's ``ImageFolder`` and mmpretrain's ``ImageNet`` / ``CustomDataset``
read them (the image directory is ``data_root`` joined with ``data_prefix['img_path']``)::

    folder tree (no ann_file)          list file (ann_file='meta/train.txt')
    train/circle/circle_00001.png      circle/circle_00001.png 0
    train/square/square_00002.png      square/square_00002.png 1

Classes: ``classes`` (a sequence of names, or a text file of one name a line, relative to
``data_root``), else ``data_root/classes.txt`` when there, else (folder tree) the sorted
sub-folder names, or (list file) ``0 .. max label``. In a folder tree a class's label is its
position in the classes; sub-folders that are not classes are left out. Each sample has
``img_path`` and ``gt_label``; the image is loaded as in :class:`ImageTextDataset`.

Every mistake in the data is one line naming the file: a missing path is a
:class:`~mplug_registry.errors.DataPathError`, a bad list line a :class:`BadRow`, an empty tree or
an unreadable image an :class:`ImageFolderError`.
"""
import os

from mplug_registry.errors import DataPathError, MplugRegistryError
from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.base import (BadRow, ImageTextDataset, join_path,
                                                  read_lines)

#: file endings read as images (mmpretrain's ``IMG_EXTENSIONS``), any case
IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


class ImageFolderError(MplugRegistryError, ValueError):
    """An image folder with no images, or an image that cannot be read (one line, exit 2)."""


@DATASETS.register_module()
class ImageFolderDataset(ImageTextDataset):
    """ImageNet-style image classification (see the module docstring).

    Args:
        ann_file: list file of ``relative/path label`` lines (relative to the image directory);
            empty (default): scan the folder tree.
        classes: class names (a sequence) or a file of them; default: see the module docstring.
        **kwargs: :class:`ImageTextDataset` (``data_root``, ``data_prefix``, ``pipeline``,
            ``test_mode``, ``skip_bad_images``, ``fraction``...).
    """
    METAINFO = dict(task='classification')

    def __init__(self, ann_file='', classes=None, **kwargs):
        self.classes_arg = classes
        try:
            super().__init__(ann_file=ann_file, **kwargs)
        except FileNotFoundError as err:
            if isinstance(err, MplugRegistryError):
                raise
            raise DataPathError('', f'{type(self).__name__}: {err}') from None

    def checked_args(self):
        return dict(classes=self.classes_arg)

    @classmethod
    def check_args(cls, ann_file='', data_root='', data_prefix=None, classes=None, **others):
        """Validate argument names and paths without loading anything (used by config checks)."""
        cls.check_names(others)
        prefix = {} if data_prefix is None else data_prefix
        if not isinstance(prefix, dict) or not isinstance(prefix.get('img_path', ''), str):
            raise ValueError(f"data_prefix must be a dict like dict(img_path='train'), got "
                             f'{data_prefix!r}')
        if data_root and not os.path.isdir(data_root):
            raise FileNotFoundError(f"data_root: no directory '{data_root}'")
        image_dir = join_path(data_root, prefix.get('img_path', ''))
        if image_dir and not os.path.isdir(image_dir):
            raise FileNotFoundError(f"data_prefix.img_path: no image directory '{image_dir}'")
        if ann_file and not os.path.isfile(join_path(data_root, ann_file)):
            raise FileNotFoundError(f"ann_file: no file '{join_path(data_root, ann_file)}'")
        if isinstance(classes, str):
            if not os.path.isfile(join_path(data_root, classes)):
                raise FileNotFoundError(f"classes: no file '{join_path(data_root, classes)}'")
        elif classes is not None and (not isinstance(classes, (list, tuple)) or not classes or
                                      not all(isinstance(c, str) and c for c in classes)):
            raise ValueError(f'classes must be a file name or a list of class names, got '
                             f'{classes!r}')

    @property
    def image_dir(self):
        return os.path.normpath(self.img_prefix or self.data_root or '.')

    def given_classes(self):
        """The classes of the config or of ``classes.txt``, or None."""
        classes = self.classes_arg
        if classes is None and os.path.isfile(join_path(self.data_root, 'classes.txt')):
            classes = 'classes.txt'
        if isinstance(classes, str):
            path = join_path(self.data_root, classes)
            classes = [line.strip() for line in read_lines(path) if line.strip()]
            if not classes:
                raise ImageFolderError(f"classes file '{path}' names no class")
        if classes is not None and len(set(classes)) != len(classes):
            raise ImageFolderError(f'classes repeat a name: {list(classes)}')
        return None if classes is None else tuple(classes)

    def parse_annotations(self):
        classes = self.given_classes()
        if self.ann_file:
            infos, classes = self.read_list(classes)
        else:
            infos, classes = self.scan_folders(classes)
        self._metainfo.update(classes=classes)
        return infos

    def read_list(self, classes):
        """``(infos, classes)`` from the list file (mmpretrain's ``path label`` lines)."""
        infos = []
        for number, line in enumerate(read_lines(self.ann_file), 1):
            if not line.strip():
                continue
            where = f"'{self.ann_file}', line {number}"
            parts = line.strip().rsplit(None, 1)
            path, label = parts if len(parts) == 2 else ('', '')
            if not label.isdigit():
                raise BadRow(f"{where}: expected 'relative/path.png LABEL' with an integer "
                             f'label, got {line.strip()!r}')
            if classes is not None and int(label) >= len(classes):
                raise BadRow(f'{where}: label {label} is not a class (there are {len(classes)}: '
                             f'0-{len(classes) - 1})')
            infos.append(dict(img_path=join_path(self.image_dir, path),
                              gt_label=int(label)))
        if not infos:
            raise ImageFolderError(f"list file '{self.ann_file}' names no image")
        if classes is None:
            classes = tuple(str(i) for i in range(max(i['gt_label'] for i in infos) + 1))
        return infos, classes

    def scan_folders(self, classes):
        """``(infos, classes)`` from the tree ``image_dir/<class>/**/<image>``, sorted by path."""
        root = self.image_dir
        folders = sorted(e.name for e in os.scandir(root) if e.is_dir())
        if classes is None:
            classes = tuple(folders)
        missing = [c for c in classes if c not in folders]
        if missing:
            raise DataPathError('', f"{type(self).__name__}: no folder for class(es) {missing} "
                                f"in '{root}'")
        infos = []
        for label, name in enumerate(classes):
            for directory, dirs, files in os.walk(os.path.join(root, name)):
                dirs.sort()
                infos += [dict(img_path=os.path.join(directory, f), gt_label=label)
                          for f in sorted(files) if f.lower().endswith(IMG_EXTENSIONS)]
        if not infos:
            raise ImageFolderError(f"no images in '{root}': expected {root}/<class>/<image> "
                                   f"(image endings: {', '.join(IMG_EXTENSIONS)})")
        return infos, classes

    def prepare_data(self, idx):
        try:
            return super().prepare_data(idx)
        except (FileNotFoundError, ValueError) as err:
            # the image of this sample is missing or unreadable (the message names it): one line
            if isinstance(err, MplugRegistryError) or \
                    self.get_data_info(idx)['img_path'] not in str(err):
                raise
            raise ImageFolderError(str(err)) from None
