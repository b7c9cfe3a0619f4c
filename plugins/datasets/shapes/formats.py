"""Writers of the "shapes" annotations in the standard formats (see :mod:`.generator`).

Each writer follows the public file layout field by field: COCO captions / instances, ALBEF/BLIP
Karpathy lists, VQA v2 questions and annotations, RefCOCO ``refs(unc).p`` and CLEVR scene graphs.
"""
import json
import os
import pickle
from collections import Counter

import numpy as np

_INFO = dict(description='shapes: generated scenes of coloured shapes')


def dump_json(obj, path):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, separators=(',', ':'))


def save_pickle(obj, path):
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)   # the protocol of the RefCOCO files


def polygon(o):
    """COCO ``segmentation`` polygon of an object (a 16-gon for circles)."""
    x1, y1, x2, y2 = o['bbox']
    if o['shape'] == 'square':
        pts = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    elif o['shape'] == 'triangle':
        pts = [(x1, y2), (x2, y2), ((x1 + x2) / 2, y1)]
    else:
        cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2
        pts = [(cx + r * np.cos(t), cy + r * np.sin(t)) for t in np.arange(16) * np.pi / 8]
    return [[round(float(v), 2) for p in pts for v in p]]


def _coco_images(records, image_size):
    return [dict(id=r['image_id'], file_name=r['file_name'], width=image_size, height=image_size)
            for r in records]


def write_split(ann_dir, split, records, image_size, info):
    """Captions (COCO + Karpathy), VQA, retrieval and scenes of one split; returns its counts."""
    files = info['files'].setdefault(split, {})

    def put(kind, name, obj):
        dump_json(obj, os.path.join(ann_dir, name))
        files[kind] = f'annotations/{name}'

    # official COCO captions: {info, licenses, images, annotations}
    caps = [dict(id=r['image_id'] * 10 + k, image_id=r['image_id'], caption=c)
            for r in records for k, c in enumerate(r['captions'])]
    put('coco_captions', f'captions_{split}.json', dict(
        info=_INFO, licenses=[], images=_coco_images(records, image_size), annotations=caps))
    # ALBEF/BLIP Karpathy lists: train one entry per caption, val one per image
    image = [f"images/{r['file_name']}" for r in records]
    if split == 'train':
        karpathy = [dict(caption=c, image=image[i], image_id=f"shapes_{r['image_id']}")
                    for i, r in enumerate(records) for c in r['captions']]
        retrieval = [dict(image=image[i], caption=c, image_id=i)
                     for i, r in enumerate(records) for c in r['captions']]
    else:
        karpathy = [dict(image=image[i], caption=list(r['captions'])) for i, r in
                    enumerate(records)]
        retrieval = karpathy
    put('karpathy_captions', f'coco_karpathy_{split}.json', karpathy)
    put('retrieval', f'retrieval_{split}.json', retrieval)
    # VQA v2: questions + annotations, question_id = image_id * 1000 + k as in VQA v2
    questions, answers = [], []
    for r in records:
        for k, q in enumerate(r['questions']):
            qid = r['image_id'] * 1000 + k
            questions.append(dict(image_id=r['image_id'], question=q['question'], question_id=qid))
            answers.append(dict(
                question_type=q['question_type'], multiple_choice_answer=q['answer'],
                answers=[dict(answer=a, answer_confidence=c, answer_id=j + 1)
                         for j, (a, c) in enumerate(q['answers'])],
                image_id=r['image_id'], answer_type=q['answer_type'], question_id=qid))
    if split == 'train':   # ALBEF's answer_list.json: candidates for ranking, most frequent first
        counts = Counter(a['answer'] for ann in answers for a in ann['answers'])
        put('answer_list', 'answer_list.json', sorted(counts, key=lambda a: (-counts[a], a)))
    common = dict(info=_INFO, license={}, data_type='shapes', data_subtype=split)
    put('vqa_questions', f'v2_OpenEnded_shapes_{split}_questions.json',
        dict(common, task_type='Open-Ended', questions=questions))
    put('vqa_annotations', f'v2_shapes_{split}_annotations.json',
        dict(common, annotations=answers))
    # CLEVR-style scene graphs: relationships[rel][i] = objects that are `rel` of object i
    scenes = []
    for index, r in enumerate(records):
        objs = r['objects']
        cx = [o['center'][0] for o in objs]
        scenes.append(dict(
            image_index=index, image_id=r['image_id'], image_filename=r['file_name'], split=split,
            objects=[dict(shape=o['shape'], color=o['color'], size=o['size'], area=o['area'],
                          bbox=[o['bbox'][0], o['bbox'][1], o['bbox'][2] - o['bbox'][0],
                                o['bbox'][3] - o['bbox'][1]], pixel_coords=o['center'])
                     for o in objs],
            relationships=dict(
                left=[[j for j in range(len(objs)) if cx[j] < cx[i]] for i in range(len(objs))],
                right=[[j for j in range(len(objs)) if cx[j] > cx[i]] for i in range(len(objs))])))
    put('scenes', f'scenes_{split}.json', dict(info=dict(_INFO, split=split), scenes=scenes))
    return dict(images=len(records), captions=len(caps), questions=len(questions),
                objects=sum(len(r['objects']) for r in records))


def write_grounding(ann_dir, per_split, image_size, info, shapes):
    """RefCOCO layout: ``refs(unc).p`` (every object of every image is a ref) and one COCO
    ``instances.json`` for all splits; ``shapes`` are the category names."""
    cat_id = {s: i + 1 for i, s in enumerate(shapes)}
    images, anns, refs, sent_id = [], [], [], 0
    for split, records in per_split.items():
        images += _coco_images(records, image_size)
        refs_before = len(refs)
        for r in records:
            for k, (o, sents) in enumerate(zip(r['objects'], r['expressions'])):
                ann_id = r['image_id'] * 10 + k
                x1, y1, x2, y2 = o['bbox']
                anns.append(dict(id=ann_id, image_id=r['image_id'], category_id=cat_id[o['shape']],
                                 bbox=[x1, y1, x2 - x1, y2 - y1], area=o['area'], iscrowd=0,
                                 segmentation=polygon(o),
                                 attributes=dict(color=o['color'], size=o['size'])))
                sentences = []
                for s in sents:
                    sentences.append(dict(tokens=s.split(), raw=s[0].upper() + s[1:],
                                          sent_id=sent_id, sent=s))
                    sent_id += 1
                stem = os.path.splitext(r['file_name'])[0]
                refs.append(dict(
                    sent_ids=[x['sent_id'] for x in sentences], file_name=f'{stem}_{ann_id}.png',
                    ann_id=ann_id, ref_id=len(refs), image_id=r['image_id'], split=split,
                    sentences=sentences, category_id=cat_id[o['shape']]))
        info['splits'][split].update(refs=len(refs) - refs_before, sentences=sum(
            len(x['sentences']) for x in refs[refs_before:]))
    categories = [dict(id=i, name=s, supercategory='shape') for s, i in cat_id.items()]
    dump_json(dict(info=_INFO, licenses=[], images=images, annotations=anns, categories=categories),
          os.path.join(ann_dir, 'instances.json'))
    save_pickle(refs, os.path.join(ann_dir, 'refs(unc).p'))
    info['files']['grounding'] = dict(refs='annotations/refs(unc).p',
                                      instances='annotations/instances.json')
    return refs
