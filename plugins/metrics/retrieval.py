"""``RetrievalRecall``: image-text retrieval recall@K in both directions (ALBEF's ``itm_eval``).

ALBEF (Li et al., NeurIPS 2021) and mPLUG (Sec. 5.2.3; mPLUG-2 Table 6) evaluate retrieval in two
stages: the ITC similarity ranks every text for every image (and every image for every text), then
the ITM head re-scores the k best candidates of each query (k = 256 on COCO, 128 on Flickr30K); all
other candidates keep a very low score (-100). That gives two score matrices, ``scores_i2t
[N_img, N_txt]`` and ``scores_t2i [N_txt, N_img]`` (not transposes of each other: the re-ranked
top-k differs per direction), and the ground truth ``img2txt`` (the texts of each image; COCO and
Flickr30K have 5) and ``txt2img`` (the image of each text). :func:`itm_eval` computes the recalls
from these; :class:`RetrievalRecall` assembles them from per-image data samples.

Rank of a query = the number of negatives scoring at least as high as its best positive, so ties are
counted against the model (ALBEF's ``argsort`` orders ties arbitrarily; the two agree without ties).
Recall@K = share of queries with rank < K. Recalls are in [0, 1] (ALBEF reports them x100).
"""
import torch
from mmengine.evaluator import BaseMetric

from mplug_registry.registry import METRICS
from mplug_registry_plugins.metrics._fields import sample_field


def retrieval_ranks(scores, positives):
    """Rank of each query's best positive: ``scores`` and ``positives`` (bool) are ``[Q, C]``."""
    if not bool(positives.any(dim=1).all()):
        raise ValueError(f'query {int((~positives.any(dim=1)).nonzero()[0])} has no positive '
                         'candidate')
    best = scores.masked_fill(~positives, float('-inf')).amax(dim=1)  # [Q]
    return ((scores >= best[:, None]) & ~positives).sum(dim=1)  # [Q]


def recall_at_k(ranks, topk):
    """``{k: share of ranks < k}``."""
    return {k: (ranks < k).double().mean().item() for k in topk}


def _positive_mask(lists, num_queries, num_candidates, name):
    """Bool ``[num_queries, num_candidates]`` from one list of candidate indices per query."""
    if len(lists) != num_queries:
        raise ValueError(f'{name} has {len(lists)} entries for {num_queries} queries')
    mask = torch.zeros(num_queries, num_candidates, dtype=torch.bool)
    for query, cands in enumerate(lists):
        for cand in cands:
            if not 0 <= int(cand) < num_candidates:
                raise ValueError(f'{name}[{query}] names candidate {cand}, outside 0..'
                                 f'{num_candidates - 1}')
            mask[query, int(cand)] = True
    return mask


def itm_eval(scores_i2t, scores_t2i, img2txt, txt2img, topk=(1, 5, 10)):
    """Recall@K of image->text (``txt_r{k}``: texts retrieved for an image) and text->image
    (``img_r{k}``), each direction's mean (``txt_r_mean``, ``img_r_mean``) and their mean
    (``r_mean``), as ALBEF's ``itm_eval`` but in [0, 1].

    ``scores_i2t [N_img, N_txt]``, ``scores_t2i [N_txt, N_img]``; ``img2txt``: per image, the list
    of its text indices; ``txt2img``: per text, its image index.
    """
    scores_i2t, scores_t2i = (s if s.is_floating_point() else s.double() for s in
                              (torch.as_tensor(scores_i2t), torch.as_tensor(scores_t2i)))
    n_img, n_txt = scores_i2t.shape
    if tuple(scores_t2i.shape) != (n_txt, n_img):
        raise ValueError(f'scores_t2i must be [{n_txt}, {n_img}] (texts x images), got '
                         f'{list(scores_t2i.shape)}')
    i2t_pos = _positive_mask(img2txt, n_img, n_txt, 'img2txt')
    t2i_pos = _positive_mask([[i] for i in txt2img], n_txt, n_img, 'txt2img')
    out = {}
    for name, scores, pos in (('txt', scores_i2t, i2t_pos), ('img', scores_t2i, t2i_pos)):
        recalls = recall_at_k(retrieval_ranks(scores, pos), topk)
        out.update({f'{name}_r{k}': v for k, v in recalls.items()})
        out[f'{name}_r_mean'] = sum(recalls.values()) / len(recalls)
    out['r_mean'] = (out['txt_r_mean'] + out['img_r_mean']) / 2
    return out


def txt2img_from_img2txt(img2txt, num_texts):
    """Invert ``img2txt``; every text must belong to exactly one image."""
    txt2img = [None] * num_texts
    for img, texts in enumerate(img2txt):
        for txt in texts:
            if not 0 <= int(txt) < num_texts:
                raise ValueError(f'image {img} lists text {txt}, but the score rows have '
                                 f'{num_texts} texts')
            if txt2img[int(txt)] is not None:
                raise ValueError(f'text {txt} is listed under two images ({txt2img[int(txt)]} '
                                 f'and {img}); each text describes exactly one image')
            txt2img[int(txt)] = img
    orphans = [t for t, img in enumerate(txt2img) if img is None]
    if orphans:
        raise ValueError(f'texts {orphans[:5]} belong to no image: every text index must appear in '
                         "one data sample's img2txt")
    return txt2img


@METRICS.register_module()
class RetrievalRecall(BaseMetric):
    """Retrieval recall@K (keys ``retrieval/txt_r1`` ... ``retrieval/img_r10``, the direction means
    ``txt_r_mean``/``img_r_mean`` and ``r_mean``; see :func:`itm_eval`). Values in [0, 1].

    Contract: one data sample per **image** of the evaluation set (``N_img`` samples, any order,
    any number of ranks); the texts are indexed ``0..N_txt-1`` in one fixed order shared by all
    samples.
    Each sample carries

    - ``pred_scores``: float ``[N_txt]``, this image's row of ``scores_i2t`` — the score of every
      text for this image (ALBEF: ITM score for the k ITC-best texts, -100 for the rest);
    - ``pred_scores_t2i`` (optional): float ``[N_txt]``, this image's column of ``scores_t2i`` —
      the score this image received when each text was the query (ITM score where this image was
      among that text's k ITC-best images, -100 elsewhere). Without it ``pred_scores`` serves both
      directions (ITC-only evaluation, ``scores_t2i = scores_i2t.T``);
    - ``img2txt``: list of int, the indices of this image's texts (ground truth, from the dataset).
      Every text index appears under exactly one image; ``txt2img`` is derived from these lists;
    - ``pred_scores_itc`` (optional): float ``[N_txt]``, this image's row of the ITC similarity
      before re-ranking. When every sample has it, the same recalls of the first stage alone are
      reported too, as ``itc_txt_r1`` ... ``itc_r_mean``: whether the ITM re-ranking helps is
      read off one evaluation.

    ``topk``: the K of recall@K (ALBEF: 1, 5, 10).
    """
    default_prefix = 'retrieval'

    def __init__(self, topk=(1, 5, 10), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.check_args(topk)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)

    @staticmethod
    def check_args(topk=(1, 5, 10), **_):
        ks = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not ks or not all(isinstance(k, int) and k > 0 for k in ks):
            raise ValueError(f'topk must be positive integers, got {topk!r}')

    def process(self, data_batch, data_samples):
        for sample in data_samples:  # dicts (MMEngine's evaluator converts data samples)
            i2t = torch.as_tensor(sample_field(sample, 'pred_scores', 'RetrievalRecall',
                                               'written by the retrieval head')).cpu().float()
            t2i = sample.get('pred_scores_t2i')
            t2i = i2t if t2i is None else torch.as_tensor(t2i).cpu().float()
            texts = sample_field(sample, 'img2txt', 'RetrievalRecall', 'from the dataset')
            itc = sample.get('pred_scores_itc')
            itc = None if itc is None else torch.as_tensor(itc).cpu().float().flatten()
            self.results.append((i2t.flatten(), t2i.flatten(),
                                 [int(t) for t in torch.as_tensor(texts).flatten()], itc))

    def compute_metrics(self, results):
        lengths = {len(r[0]) for r in results} | {len(r[1]) for r in results}
        if len(lengths) != 1:
            raise ValueError('score rows must all cover the same texts, got lengths '
                             f'{sorted(lengths)}')
        scores_i2t = torch.stack([r[0] for r in results])  # [N_img, N_txt]
        scores_t2i = torch.stack([r[1] for r in results], dim=1)  # [N_txt, N_img]
        img2txt = [r[2] for r in results]
        txt2img = txt2img_from_img2txt(img2txt, scores_i2t.shape[1])
        out = itm_eval(scores_i2t, scores_t2i, img2txt, txt2img, self.topk)
        if all(r[3] is not None for r in results):
            itc = torch.stack([r[3] for r in results])  # [N_img, N_txt]
            out.update({f'itc_{k}': v for k, v in
                        itm_eval(itc, itc.t(), img2txt, txt2img, self.topk).items()})
        return out
