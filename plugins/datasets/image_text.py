"""Image-text datasets in their standard file formats: captioning, retrieval, pre-training pairs,
VQA and visual grounding.

The image-text tasks of mPLUG-2 Table 2 and §4.2: COCO Caption and COCO / Flickr30K retrieval on the
Karpathy split, VQA v2, RefCOCO / RefCOCO+ / RefCOCOg, and the image-text pairs of pre-training (COCO,
VG, CC, SBU as in mPLUG §4.1). Paths, image loading and ``skip_bad_images`` are those of
:class:`ImageTextDataset` (:mod:`.base`).

Examples::

    dict(type='CocoCaptionDataset', data_root='data/coco', ann_file='coco_karpathy_test.json',
         data_prefix=dict(img_path=''), test_mode=True, pipeline=[...])
    dict(type='VQADataset', data_root='data/coco',
         ann_file='v2_OpenEnded_mscoco_val2014_questions.json',
         answer_file='v2_mscoco_val2014_annotations.json', data_prefix=dict(img_path='val2014/'))
    dict(type='RefCOCODataset', data_root='data/refcoco', ann_file='refs(unc).p',
         instances_file='instances.json', split='testA', data_prefix=dict(img_path='train2014/'))
"""
import os
import pickle
from collections import Counter

import numpy as np

from mplug_registry.registry import DATASETS
from mplug_registry_plugins.datasets.base import (ImageTextDataset, check_data_paths, image_id_of,
                                                  read_caption_file, read_json)


@DATASETS.register_module()
class CocoCaptionDataset(ImageTextDataset):
    """COCO Caption: a Karpathy-split list (``coco_karpathy_*.json``) or an official COCO
    ``captions_*.json`` (see :func:`read_caption_file`).

    Train mode: one sample per caption with ``text`` and ``gt_caption`` (that caption, a ``str``).
    Test mode: one sample per image with every reference in ``gt_caption`` (a ``list`` of ``str``).
    Both have ``image_id`` (COCO's integer id where the file names carry one, as captioning metrics
    expect) and ``img_path``.
    """
    METAINFO = dict(task='caption')

    def parse_annotations(self):
        infos = []
        for item in read_caption_file(self.ann_file, self.MEDIA_KEY):
            base = dict(self.media(item['image']), image_id=item['image_id'])
            if self.test_mode:
                infos.append(dict(base, gt_caption=list(item['captions'])))
            else:
                infos.extend(dict(base, text=c, gt_caption=c) for c in item['captions'])
        return infos


@DATASETS.register_module()
class ImageTextPairDataset(ImageTextDataset):
    """Pre-training image-text pairs: a json list of ``{image, caption}`` (COCO, VG, CC, SBU as in
    ALBEF/BLIP's pre-training files; an official COCO captions file works too).

    One sample per caption (a ``caption`` list gives one pair per entry of it; ALBEF draws one at
    random instead) with ``text``, ``image_id`` and ``text_id`` (the caption's position in the file).
    Combine several files with MMEngine's ``ConcatDataset``.
    """
    METAINFO = dict(task='pretrain')

    def parse_annotations(self):
        infos = []
        for item in read_caption_file(self.ann_file, self.MEDIA_KEY):
            for c in item['captions']:
                infos.append(dict(self.media(item['image']),
                                  image_id=item['image_id'], text=c, text_id=len(infos)))
        return infos


@DATASETS.register_module()
class RetrievalDataset(ImageTextDataset):
    """Image-text retrieval on Flickr30K / COCO in the Karpathy layout of ALBEF's
    ``flickr30k_{train,val,test}.json`` / ``coco_karpathy_*.json`` (list of ``{image, caption}``,
    ``caption`` one string or a list).

    Train mode: one (image, caption) pair per caption with ``text``, ``image_id`` (the image's
    position among the file's distinct images, as ALBEF's ``img_ids``; equal ids mark pairs that
    must not be contrastive negatives) and ``text_id``.

    Test mode: one sample per image (``image_id`` = its index, ``text_id`` = the indices of its
    captions, ``gt_caption`` = its captions) and, as attributes and in ``metainfo``, what a retrieval
    evaluation needs to score every text against every image, as ALBEF's ``re_eval_dataset``:
    ``texts`` (all captions, image after image), ``txt2img`` (text index -> image index) and
    ``img2txt`` (image index -> list of text indices). They follow ``indices`` and skipped images.
    """
    METAINFO = dict(task='retrieval')

    def parse_annotations(self):
        infos = []
        for index, item in enumerate(read_caption_file(self.ann_file, self.MEDIA_KEY)):
            media = self.media(item['image'])
            if self.test_mode:
                infos.append(dict(media, gt_caption=list(item['captions'])))
            else:
                infos.extend(dict(media, image_id=index, text=c)
                             for c in item['captions'])
        return infos

    def full_init(self):
        if self._fully_initialized:
            return
        super().full_init()
        self.texts = self.txt2img = self.img2txt = None
        if not self.test_mode:
            return
        texts, txt2img, img2txt = [], [], []
        for i in range(len(self)):
            caps = self.get_data_info(i)['gt_caption']
            img2txt.append(list(range(len(texts), len(texts) + len(caps))))
            txt2img.extend([i] * len(caps))
            texts.extend(caps)
        self.texts, self.txt2img, self.img2txt = texts, txt2img, img2txt
        self._metainfo.update(texts=texts, txt2img=txt2img, img2txt=img2txt)

    def get_data_info(self, idx):
        info = super().get_data_info(idx)
        if self.test_mode:
            info['image_id'] = info['sample_idx']
            if getattr(self, 'img2txt', None) is not None:
                info['text_id'] = list(self.img2txt[info['sample_idx']])
        else:
            info['text_id'] = info['sample_idx']
        return info


def answer_weights(answers):
    """Unique answers (in order of first appearance) and their weights ``count / total``, as in
    ALBEF/BLIP's VQA datasets (each of the 10 annotators' answers adds ``1/10``)."""
    counts = Counter(answers)
    unique = list(dict.fromkeys(answers))
    return unique, [counts[a] / len(answers) for a in unique]


@DATASETS.register_module()
class VQADataset(ImageTextDataset):
    """VQA v2: official questions json (+ annotations json), or ALBEF's simpler list.

    * official: ``ann_file`` = ``{data_subtype, questions: [{question_id, image_id, question}]}``;
      ``answer_file`` (optional, absent for test-dev) = ``{annotations: [{question_id, answer_type,
      answers: [{answer}] * 10}]}``; the image file is ``img_name_template`` formatted with
      ``image_id`` and the questions file's ``data_subtype`` (COCO's
      ``COCO_val2014_000000xxxxxx.jpg`` by default).
    * ALBEF list: ``[{question_id, question, image, answer: [str] | str}]`` (``image`` relative to
      the image directory).

    One sample per question with ``question``, ``question_id``, ``image_id`` and, where answers are
    known, ``answers`` (unique), ``answer_weights`` (count / total, see :func:`answer_weights`),
    ``gt_answers`` (every annotator's answer, for the official soft accuracy
    ``min(#humans that said it / 3, 1)``) and ``answer_type``.
    """
    METAINFO = dict(task='vqa')

    def __init__(self, ann_file='', answer_file=None,
                 img_name_template='COCO_{data_subtype}_{image_id:012d}.jpg', **kwargs):
        self.answer_file, self.img_name_template = answer_file, img_name_template
        super().__init__(ann_file=ann_file, **kwargs)

    def checked_args(self):
        return dict(answer_file=self.answer_file, img_name_template=self.img_name_template)

    @staticmethod
    def check_template(template):
        try:
            template.format(data_subtype='val2014', image_id=1)
        except (KeyError, IndexError, ValueError, AttributeError) as err:
            raise ValueError(f'img_name_template may use only {{data_subtype}} and {{image_id}}, '
                             f'got {template!r} ({type(err).__name__}: {err})') from None

    @classmethod
    def check_args(cls, ann_file='', answer_file=None, data_root='', data_prefix=None,
                   img_name_template='COCO_{data_subtype}_{image_id:012d}.jpg', **others):
        """Validate argument names, paths and the image-name template without loading anything."""
        cls.check_names(others)
        cls.check_template(img_name_template)
        check_data_paths(ann_file, data_root, data_prefix, answer_file=answer_file)

    def parse_annotations(self):
        data = read_json(self.ann_file)
        if isinstance(data, list):
            return [self._albef_entry(e, i) for i, e in enumerate(data)]
        if not isinstance(data, dict) or 'questions' not in data:
            raise ValueError(f"'{self.ann_file}': expected VQA questions ({{questions: [...]}}) or "
                             'a list of {question_id, question, image, answer}')
        annotations = {}
        if self.answer_file:
            path = self.data_file(self.answer_file)
            annotations = {a['question_id']: a for a in read_json(path)['annotations']}
        subtype = data.get('data_subtype', '')
        infos = []
        for q in data['questions']:
            name = self.img_name_template.format(data_subtype=subtype, image_id=q['image_id'])
            info = dict(self.media(name), image_id=q['image_id'],
                        question=q['question'], question_id=q['question_id'])
            if self.answer_file:
                if q['question_id'] not in annotations:
                    raise ValueError(f"'{path}' has no answers for question_id {q['question_id']}")
                ann = annotations[q['question_id']]
                self._add_answers(info, [a['answer'] for a in ann['answers']])
                info['answer_type'] = ann.get('answer_type')
                info['question_type'] = ann.get('question_type')
            infos.append(info)
        return infos

    def _albef_entry(self, entry, i):
        key = self.MEDIA_KEY
        if not isinstance(entry, dict) or 'question' not in entry or key not in entry:
            raise ValueError(f"'{self.ann_file}': entry {i} needs `question` and `{key}`")
        info = dict(self.media(entry[key]), question=entry['question'],
                    question_id=entry.get('question_id', i),
                    image_id=image_id_of(entry[key], entry.get(f'{key}_id')))
        if entry.get('answer') is not None:
            answer = entry['answer']
            self._add_answers(info, answer if isinstance(answer, list) else [answer])
        return info

    @staticmethod
    def _add_answers(info, raw):
        info['gt_answers'] = list(raw)
        info['answers'], info['answer_weights'] = answer_weights(raw)


@DATASETS.register_module()
class RefCOCODataset(ImageTextDataset):
    """Visual grounding on RefCOCO / RefCOCO+ / RefCOCOg.

    * official: ``ann_file`` = the ``refs(unc).p`` / ``refs(umd).p`` pickle (``[{ref_id, ann_id,
      image_id, split, sentences: [{sent}]}]``; loading a pickle runs code: use trusted files) and
      ``instances_file`` = COCO ``instances.json`` (the box is the annotation's ``bbox``, the image
      file the image's ``file_name``);
    * simple json list: ``[{image, bbox: [x, y, w, h], text: str | [str], image_id?, split?}]``.

    ``split`` keeps one split (``train``, ``val``, ``testA``, ``testB``, ``test``...); None keeps all.
    One sample per referring expression with ``text``, ``gt_bboxes`` (``[1, 4]`` float32 ``xyxy``
    in original image pixels: COCO's ``[x, y, w, h]`` -> ``[x, y, x + w, y + h]``), ``image_id``,
    ``ref_id``, ``ann_id`` and, once the image is loaded, ``ori_shape``.
    """
    METAINFO = dict(task='grounding')

    def __init__(self, ann_file='', instances_file=None, split=None, **kwargs):
        self.instances_file, self.split = instances_file, split
        super().__init__(ann_file=ann_file, **kwargs)

    def checked_args(self):
        return dict(instances_file=self.instances_file)

    @staticmethod
    def is_pickle(ann_file):
        return os.path.splitext(str(ann_file))[1].lower() in ('.p', '.pkl', '.pickle')

    @staticmethod
    def check_format(ann_file, instances_file):
        if RefCOCODataset.is_pickle(ann_file) and not instances_file:
            raise ValueError(f"a refs pickle ('{ann_file}') needs instances_file (the COCO "
                             'instances.json with the boxes)')

    @classmethod
    def check_args(cls, ann_file='', instances_file=None, data_root='', data_prefix=None, **others):
        """Validate argument names and paths without loading anything."""
        cls.check_names(others)
        cls.check_format(ann_file, instances_file)
        check_data_paths(ann_file, data_root, data_prefix, instances_file=instances_file)

    def parse_annotations(self):
        rows = self._refs_rows() if self.is_pickle(self.ann_file) else self._json_rows()
        splits = sorted({str(r['split']) for r in rows})
        if self.split is not None:
            rows = [r for r in rows if r['split'] == self.split]
            if not rows:
                raise ValueError(f"split={self.split!r}: no referring expressions in "
                                 f"'{self.ann_file}' (its splits: {', '.join(splits)})")
        return rows

    def _row(self, image, bbox, text, image_id, split, ref_id, ann_id):
        x, y, w, h = (float(v) for v in bbox)
        return dict(img_path=self.image_path(image), text=text, image_id=image_id, split=split,
                    ref_id=ref_id, ann_id=ann_id,
                    gt_bboxes=np.array([[x, y, x + w, y + h]], dtype=np.float32))   # [1, 4]

    def _refs_rows(self):
        with open(self.ann_file, 'rb') as f:
            refs = pickle.load(f)
        instances = read_json(self.data_file(self.instances_file))
        images = {img['id']: img for img in instances['images']}
        anns = {ann['id']: ann for ann in instances['annotations']}
        rows = []
        for ref in refs:
            if ref['ann_id'] not in anns or ref['image_id'] not in images:
                raise ValueError(f"ref {ref['ref_id']}: ann_id {ref['ann_id']} or image_id "
                                 f"{ref['image_id']} is not in '{self.instances_file}'")
            for sent in ref['sentences']:
                rows.append(self._row(images[ref['image_id']]['file_name'],
                                      anns[ref['ann_id']]['bbox'], sent['sent'], ref['image_id'],
                                      ref['split'], ref['ref_id'], ref['ann_id']))
        return rows

    def _json_rows(self):
        data = read_json(self.ann_file)
        if not isinstance(data, list):
            raise ValueError(f"'{self.ann_file}': expected a refs pickle or a json list of "
                             '{image, bbox, text}')
        rows = []
        for i, entry in enumerate(data):
            if not all(k in entry for k in ('image', 'bbox', 'text')):
                raise ValueError(f"'{self.ann_file}': entry {i} needs `image`, `bbox` and `text`")
            texts = entry['text'] if isinstance(entry['text'], list) else [entry['text']]
            image_id = image_id_of(entry['image'], entry.get('image_id'))
            rows.extend(self._row(entry['image'], entry['bbox'], t, image_id,
                                  entry.get('split'), entry.get('ref_id', i), entry.get('ann_id'))
                        for t in texts)
        return rows
