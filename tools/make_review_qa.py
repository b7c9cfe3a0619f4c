"""Make the review QA set (SQuAD v1.1 / v2.0 json):  python tools/make_review_qa.py [--force]

Extractive questions over the real rotten-tomatoes reviews (``read_reviews``). The reviews of a
movie are grouped, in file order, into contexts of 1, 2 or 3 reviews (cycling)::

    Review of About a Boy: <review 1> Verdict: fresh. Second opinion: <review 2> Verdict: rotten.
    Third opinion: <review 3> Verdict: fresh.

and each context is asked (every answer is a span of the context):

* ``movie``: "Which movie is reviewed?" -> the title;
* ``verdict``: "What is the verdict?" -> the first review's verdict (``fresh`` / ``rotten``);
* ``first``: "What does the critic say first?" -> the first clause of the first review (up to its
  first comma, semicolon, colon, dash or sentence end);
* ``second``: "What is the verdict of the second opinion?" -> the second review's verdict; in
  v1.1 only asked when there is one, in v2.0 also asked without one (unanswerable);
* ``director`` (v2.0 only, every third context): "Who directed the movie?" -> unanswerable (no
  context names a director).

Contexts of three long reviews are longer than 96 tokens, so they take two or more windows. 20 %
of the movies (every fifth, by sorted name) are held out for dev. The same reviews give
byte-identical files; existing files are kept unless ``--force``. ``--max-contexts N`` keeps the
first N contexts of each split (small sets for tests).
"""
import argparse
import json
import os
import re
import sys
import time

SPLITS = ('train', 'dev')
VERSIONS = ('v1.1', 'v2.0')
QUESTIONS = {
    'movie': 'Which movie is reviewed?',
    'verdict': 'What is the verdict?',
    'first': 'What does the critic say first?',
    'second': 'What is the verdict of the second opinion?',
    'director': 'Who directed the movie?',
}
OPINIONS = ('Review of {title}: ', 'Second opinion: ', 'Third opinion: ')
VERDICTS = {0: 'rotten', 1: 'fresh'}
SMALL_WORDS = {'a', 'an', 'and', 'as', 'at', 'by', 'for', 'in', 'of', 'on', 'or', 'the', 'to'}
# the first clause ends at the first comma, semicolon, colon, dash, or sentence end
CLAUSE_END = re.compile(r'[,;:.!?]|\s--?\s|--')


def title_of(movie):
    """``'about_a_boy'`` -> ``'About a Boy'`` (small words lower case except the first)."""
    words = [w for w in movie.split('_') if w]
    return ' '.join(w if i and w in SMALL_WORDS else w[:1].upper() + w[1:]
                    for i, w in enumerate(words)) or 'Untitled'


def first_clause(text):
    """``(start, clause)`` of a review's first clause: leading quotes and marks skipped."""
    start = next((i for i, c in enumerate(text) if c.isalnum()), None)
    if start is None:
        return None
    match = CLAUSE_END.search(text, start)
    end = match.start() if match else len(text)
    clause = text[start:end].rstrip()
    return (start, clause) if clause else None


def make_context(title, reviews):
    """The context text and the character spans of its parts: ``(context, spans)`` with
    ``spans['verdicts']`` = ``[(start, text)]`` per review and ``spans['first']`` the first
    clause of the first review."""
    parts, verdicts, first = [], [], None
    position = 0
    for i, review in enumerate(reviews):
        lead = OPINIONS[i].format(title=title)
        text = review['text'].rstrip()
        if i == 0:
            clause = first_clause(text)
            if clause is not None:
                first = (position + len(lead) + clause[0], clause[1])
        verdict = VERDICTS[review['label']]
        tail = ' Verdict: '
        body = lead + text + tail
        verdicts.append((position + len(body), verdict))
        piece = body + verdict + '.'
        parts.append(piece)
        position += len(piece) + 1      # the joining space
    context = ' '.join(parts)
    title_start = len('Review of ')
    return context, dict(title=(title_start, title), verdicts=verdicts, first=first)


def qa(qid, kind, span=None):
    """One SQuAD question: ``span = (answer_start, text)`` or ``None`` (unanswerable)."""
    answers = [] if span is None else [dict(text=span[1], answer_start=span[0])]
    return dict(id=qid, question=QUESTIONS[kind], answers=answers, is_impossible=span is None)


def contexts_of(reviews):
    """``{movie: [[review, ...] per context]}``: each movie's reviews in file order, grouped by
    1, 2, 3, 1, 2, 3, ... reviews."""
    by_movie = {}
    for review in reviews:
        by_movie.setdefault(review['movie'], []).append(review)
    grouped = {}
    for movie in sorted(by_movie):
        rows, groups, size = by_movie[movie], [], 1
        while rows:
            groups.append(rows[:size])
            rows, size = rows[size:], size % 3 + 1
        grouped[movie] = groups
    return grouped


def build_split(grouped, movies, split, version, max_contexts=None):
    """A SQuAD dict of ``movies``' contexts (the first ``max_contexts`` when given)."""
    data, count = [], 0
    for movie in movies:
        paragraphs = []
        for k, group in enumerate(grouped[movie]):
            if max_contexts is not None and count >= max_contexts:
                break
            count += 1
            context, spans = make_context(title_of(movie), group)
            base = f'{split}-{movie}-{k:02d}'
            qas = [qa(f'{base}-movie', 'movie', spans['title']),
                   qa(f'{base}-verdict', 'verdict', spans['verdicts'][0])]
            if spans['first'] is not None:
                qas.append(qa(f'{base}-first', 'first', spans['first']))
            if len(group) > 1:
                qas.append(qa(f'{base}-second', 'second', spans['verdicts'][1]))
            elif version == 'v2.0':
                qas.append(qa(f'{base}-second', 'second'))
            if version == 'v2.0' and k % 3 == 0:
                qas.append(qa(f'{base}-director', 'director'))
            if version == 'v1.1':
                for q in qas:
                    q.pop('is_impossible')
            for q in qas:          # every answer is a span of its context
                for a in q['answers']:
                    if context[a['answer_start']:][:len(a['text'])] != a['text']:
                        raise ValueError(f"{q['id']}: the answer is not at answer_start")
            paragraphs.append(dict(context=context, qas=qas))
        if paragraphs:
            data.append(dict(title=title_of(movie), paragraphs=paragraphs))
    return dict(version=version, data=data)


def counts(squad):
    paragraphs = [p for article in squad['data'] for p in article['paragraphs']]
    questions = [q for p in paragraphs for q in p['qas']]
    impossible = sum(1 for q in questions if not q['answers'])
    return dict(contexts=len(paragraphs), questions=len(questions), unanswerable=impossible)


def make_review_qa(out_dir, force=False, max_contexts=None):
    """Write ``{train,dev}-v1.1.json`` and ``-v2.0.json`` under ``out_dir``; returns
    ``{file name: counts}``. Files already there are read back, not rewritten, unless ``force``."""
    names = [f'{split}-{version}.json' for split in SPLITS for version in VERSIONS]
    paths = {name: os.path.join(out_dir, name) for name in names}
    if not force and all(os.path.isfile(p) for p in paths.values()):
        out = {}
        for name, path in paths.items():
            with open(path, encoding='utf-8') as f:
                out[name] = counts(json.load(f))
        return out
    from mplug_registry_plugins.datasets.reviews import read_reviews
    grouped = contexts_of(read_reviews())
    movies = sorted(grouped)
    held_out = {split: [m for i, m in enumerate(movies) if (i % 5 == 4) == (split == 'dev')]
                for split in SPLITS}
    os.makedirs(out_dir, exist_ok=True)
    out = {}
    for split in SPLITS:
        for version in VERSIONS:
            squad = build_split(grouped, held_out[split], split, version, max_contexts)
            name = f'{split}-{version}.json'
            with open(paths[name], 'w', encoding='utf-8') as f:
                json.dump(squad, f, ensure_ascii=False, indent=None, separators=(',', ':'))
                f.write('\n')
            out[name] = counts(squad)
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default='data/text/review_qa',
                   help='output directory (default data/text/review_qa)')
    p.add_argument('--force', action='store_true', help='rewrite files that are already there')
    p.add_argument('--max-contexts', type=int, default=None,
                   help='keep the first N contexts of each split (default: all)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.max_contexts is not None and args.max_contexts < 1:
        print(f'make_review_qa: error: --max-contexts must be >= 1, got {args.max_contexts}',
              file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        info = make_review_qa(args.out_dir, force=args.force, max_contexts=args.max_contexts)
    except (FileNotFoundError, ValueError) as err:
        print(f'make_review_qa: error: {err}', file=sys.stderr)
        return 2
    for name, row in info.items():
        print(f"{name}: {row['contexts']} contexts, {row['questions']} questions, "
              f"{row['unanswerable']} unanswerable")
    print(f'{args.out_dir} ready in {time.perf_counter() - start:.1f}s')
    return 0


if __name__ == '__main__':
    sys.exit(main())
