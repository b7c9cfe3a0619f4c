"""The language of the "shapes" scenes: captions, VQA questions with 10 answers, referring expressions.

A scene is a list of objects ``{shape, color, size, bbox: [x1, y1, x2, y2], center: [cx, cy]}`` with
distinct ``(color, shape)`` pairs and centres at least a few pixels apart in ``x``, so "left of"
(by centre) and every "the <color> <shape>" are unambiguous. Every function is deterministic given
the scene and the ``numpy`` generator.
"""
NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five')
#: what a minority of the 10 VQA annotators answer instead (synonyms and near-misses)
ALTERNATIVES = {
    'red': ('dark red', 'orange'), 'green': ('dark green', 'lime'), 'blue': ('dark blue', 'navy'),
    'yellow': ('gold', 'orange'), 'purple': ('violet', 'pink'), 'orange': ('red', 'yellow'),
    'circle': ('round', 'oval'), 'square': ('rectangle', 'box'), 'triangle': ('triangular', 'pyramid'),
    'small': ('tiny', 'little'), 'large': ('big', 'medium'),
    'yes': ('no', ), 'no': ('yes', ), 'left': ('right', ), 'right': ('left', ),
}
#: how many of the 10 annotators disagree: 0, 1, 2 or 3 with these probabilities
DISAGREEMENT = (0.45, 0.30, 0.17, 0.08)
NUM_ANSWERS = 10


def article(phrase):
    return ('an ' if phrase[0] in 'aeiou' else 'a ') + phrase


def name(obj, size=True):
    """``'large red circle'`` (``size=False``: ``'red circle'``)."""
    return ' '.join(([obj['size']] if size else []) + [obj['color'], obj['shape']])


def listing(phrases):
    """``'a, b and c'``."""
    return phrases[0] if len(phrases) == 1 else ', '.join(phrases[:-1]) + ' and ' + phrases[-1]


def left_to_right(objects):
    return sorted(objects, key=lambda o: o['center'][0])


def unique(objects, obj, *keys):
    """Whether no other object shares ``obj``'s values of ``keys``."""
    return sum(all(o[k] == obj[k] for k in keys) for o in objects) == 1


def captions(objects):
    """Five paraphrased references, each describing every object and their left-right order."""
    objs = left_to_right(objects)
    full = [article(name(o)) for o in objs]
    short = [article(name(o, size=False)) for o in objs]
    count = f'{NUMBER_WORDS[len(objs)]} shapes: ' if len(objs) > 1 else 'one '
    by_kind = [article(name(o, size=False))
               for o in sorted(objs, key=lambda o: (o['shape'], o['color']))]
    if len(objs) == 1:
        return [full[0], f'{short[0]} on a gray background', count + name(objs[0]),
                f'a single {name(objs[0], size=False)}', f'an image with {full[0]}']
    if len(objs) == 2:
        chain = [f'{full[0]} left of {full[1]}', f'{short[1]} right of {short[0]}',
                 f'{full[0]} on the left and {full[1]} on the right']
    else:
        chain = [f'{listing(full)} from left to right',
                 f'from right to left: {listing(short[::-1])}',
                 f'{full[0]} on the left, {full[-1]} on the right and {listing(full[1:-1])} '
                 'in the middle']
    return [chain[0], chain[1], count + listing(full), chain[2],
            f'an image with {listing(by_kind)}']


def _questions_by_type(objects, rng):
    """Candidate ``(question, answer, question_type)`` lists per answer type."""
    objs = left_to_right(objects)
    n = len(objs)
    cands = {'count': [('how many shapes are there?', n, 'how many')],
             'color': [], 'shape': [], 'size': [], 'position': [], 'exist': []}
    for shape in ('circle', 'square', 'triangle'):
        cands['count'].append((f'how many {shape}s are there?',
                               sum(o['shape'] == shape for o in objs), 'how many'))
    for color in sorted({o['color'] for o in objs}):
        cands['count'].append((f'how many {color} shapes are there?',
                               sum(o['color'] == color for o in objs), 'how many'))
    for o in objs:
        if unique(objs, o, 'shape'):
            cands['color'].append((f"what color is the {o['shape']}?", o['color'],
                                   'what color is the'))
        elif unique(objs, o, 'size', 'shape'):
            cands['color'].append((f"what color is the {o['size']} {o['shape']}?", o['color'],
                                   'what color is the'))
        if unique(objs, o, 'color'):
            cands['shape'].append((f"what shape is the {o['color']} object?", o['shape'],
                                   'what shape is the'))
        cands['size'].append((f'what size is the {name(o, size=False)}?', o['size'],
                              'what size is the'))
    if n > 1:
        for side, o in (('leftmost', objs[0]), ('rightmost', objs[-1])):
            cands['color'].append((f'what color is the {side} shape?', o['color'],
                                   'what color is the'))
            cands['shape'].append((f'what shape is the {side} object?', o['shape'],
                                   'what shape is the'))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = name(objs[i], size=False), name(objs[j], size=False)   # a is left of b
            if rng.random() < 0.5:
                a, b, truth = b, a, 'right'
            else:
                truth = 'left'
            word = 'left' if rng.random() < 0.5 else 'right'
            cands['position'].append((f'is the {a} {word} of the {b}?',
                                      'yes' if word == truth else 'no', 'is the'))
            cands['position'].append((f'is the {a} to the left or to the right of the {b}?',
                                      truth, 'is the'))
    present = sorted({(o['color'], o['shape']) for o in objs})
    c, s = present[int(rng.integers(len(present)))]
    cands['exist'].append((f'is there {article(c + " " + s)}?', 'yes', 'is there a'))
    colors = sorted({o['color'] for o in objs} | {'red', 'blue'})
    absent = [(c, s) for c in colors for s in ('circle', 'square', 'triangle')
              if (c, s) not in present]
    c, s = absent[int(rng.integers(len(absent)))]
    cands['exist'].append((f'is there {article(c + " " + s)}?', 'no', 'is there a'))
    return {k: v for k, v in cands.items() if v}


def answer_type(answer):
    if answer in ('yes', 'no'):
        return 'yes/no'
    return 'number' if answer.isdigit() else 'other'


def annotator_answers(answer, rng):
    """10 answers: mostly ``answer``, a few annotators giving an alternative (see ALTERNATIVES;
    numbers: the word or one off). Returns ``[(answer, confidence)]``."""
    if answer.isdigit():
        k = int(answer)
        alts = (NUMBER_WORDS[k], str(k + 1) if k == 0 or rng.random() < 0.5 else str(k - 1))
    else:
        alts = ALTERNATIVES[answer]
    out = [(answer, 'yes')] * NUM_ANSWERS
    n_alt = int(rng.choice(len(DISAGREEMENT), p=DISAGREEMENT))
    for pos in rng.choice(NUM_ANSWERS, n_alt, replace=False):
        out[int(pos)] = (alts[int(rng.integers(len(alts)))], 'maybe')
    return out


def questions(objects, rng, count=5):
    """Up to ``count`` distinct questions, answer types spread out: ``[dict(question, answer,
    answer_type, question_type, answers=[(answer, confidence)] * 10)]``."""
    cands = _questions_by_type(objects, rng)
    types = list(cands)
    out, seen = [], set()
    order = [types[int(i)] for i in rng.permutation(len(types))]
    while len(out) < count and any(cands[t] for t in order):
        for t in order:
            if len(out) == count or not cands[t]:
                continue
            q, a, qtype = cands[t].pop(int(rng.integers(len(cands[t]))))
            if q in seen:
                continue
            seen.add(q)
            a = str(a)
            out.append(dict(question=q, answer=a, answer_type=answer_type(a), question_type=qtype,
                            answers=annotator_answers(a, rng)))
    return out


def expressions(objects, obj, rng, count=3):
    """Referring expressions for ``obj``, each unique within the scene: the full name first, then
    up to ``count - 1`` others (shorter names, "leftmost"/"on the right" forms)."""
    objs = left_to_right(objects)
    cands = [f'the {name(obj, size=False)}']
    if unique(objs, obj, 'shape'):
        cands.append(f"the {obj['shape']}")
    elif unique(objs, obj, 'size', 'shape'):
        cands.append(f"the {obj['size']} {obj['shape']}")
    if unique(objs, obj, 'color'):
        cands.append(f"the {obj['color']} shape")
    if len(objs) > 1:
        for side, end in (('left', objs[0]), ('right', objs[-1])):
            if end is obj:
                cands += [f'the {side}most shape', f'the {name(obj, size=False)} on the {side}']
    picked = rng.choice(len(cands), min(count - 1, len(cands)), replace=False)
    return [f'the {name(obj)}'] + [cands[int(i)] for i in sorted(picked)]


def vocabulary(texts):
    """Sorted words of ``texts`` (punctuation split off)."""
    words = set()
    for t in texts:
        words.update(t.replace('?', ' ').replace(',', ' ').replace(':', ' ').split())
    return sorted(words)
