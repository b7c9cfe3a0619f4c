"""Image-text retrieval evaluation loops: ALBEF's two-stage protocol (ITC ranking, ITM re-ranking).

ALBEF (Li et al., 2021, ``evaluation`` of ``Retrieval.py``) and mPLUG (§5.2.3; mPLUG-2 Table 6)
score every image against every text of the split in two stages:

1. **ITC candidates.** The unimodal features of all images and of all texts are encoded once and
   projected by the ITC head (``s(I, T) = g_v(v_cls)^T g_w(w_cls)``, mPLUG §3.3); this ranks every
   text for every image and every image for every text.
2. **ITM re-ranking.** For each query, the ``k_test`` best candidates by ITC are paired with it,
   fused (universal layers, when present, then the fusion module) and scored by the ITM head;
   the other candidates get :data:`NOT_RERANKED`, below any re-ranked score. The i2t and t2i
   score matrices differ because the re-ranked top-k differs per direction.

**Re-ranked score.** ``ITM log-odds + s(I, T) / tau``: the sum of the two models' log-scores
(the ITC logit over its learnt temperature ``tau`` is ``log p_itc`` up to a per-query constant),
a product of experts. ALBEF and BLIP add the bare cosine (``score + topk_sim``), which puts the
first stage on a scale about ``1 / tau`` (~100x) smaller than the one it was trained with, so
a weak ITM head overrides it (measured on the shapes set: docs/results.md; ``retrieval/itc_*``
report the first stage).

The loops write, per image data sample, what
:class:`~mplug_registry_plugins.metrics.retrieval.RetrievalRecall` reads: ``pred_scores`` (the
image's row of ``scores_i2t``), ``pred_scores_t2i`` (its column of ``scores_t2i``), ``img2txt`` (its
text indices, from the dataset) and, when re-ranking, ``pred_scores_itc`` (its row of the ITC
similarity, so the metric also reports the first stage alone as ``itc_*``). The dataset is a
test-mode ``RetrievalDataset``: one sample per image, all texts in its ``texts`` attribute.

Config::

    val_cfg = dict(type='RetrievalValLoop', k_test=16)
    test_cfg = dict(type='RetrievalTestLoop', k_test=16)

Runs in one process (every image and text is scored there; a distributed run raises).

The loops know no head class: they take the model's first head that can embed
(:class:`Embedder`, e.g. ``ITCHead``) and the first that can score fused pairs
(:class:`PairScorer`, e.g. ``ITMHead``), and run the slots through the composed model's data-flow
API (``model.unimodal``, ``model.pair``).
"""
from typing import Protocol, runtime_checkable

import torch
import torch.distributed as dist
from mmengine.runner import TestLoop, ValLoop

from mplug_registry.checks import check_positive
from mplug_registry.model.flow import cat_rows, select_rows
from mplug_registry.registry import LOOPS
from mplug_registry.structures import Features

#: score of the candidates outside a query's ITC top-k (ALBEF: -100); below any ITM log-odds
NOT_RERANKED = -1e4


@runtime_checkable
class Embedder(Protocol):
    """A head giving the first stage: unit embeddings ``[B, D]`` of one modality and the scale
    ``1 / tau`` that turns their cosine similarity into its trained logit."""

    def embed(self, feats, stream): ...

    def logit_scale(self): ...


@runtime_checkable
class PairScorer(Protocol):
    """A head giving the second stage: log-odds ``[R]`` that fused pairs match."""

    def score_pairs(self, fused): ...


def _find_head(model, protocol):
    found = model.find_head(lambda h: isinstance(h, protocol))
    return None if found is None else found[1]


def _detach(feats):
    return Features(tokens=feats.tokens.detach(), pooled=feats.pooled.detach(),
                    mask=None if feats.mask is None else feats.mask.detach(), grid=feats.grid)


def _pad_cat(feats):
    """Concatenate :class:`Features` whose token counts may differ (text batches): right-pad the
    tokens with zeros and the masks with 0 (padding, never attended to)."""
    length = max(f.tokens.shape[1] for f in feats)
    out = []
    for f in feats:
        pad = length - f.tokens.shape[1]
        mask = f.mask if f.mask is not None else \
            f.tokens.new_ones(f.tokens.shape[:2], dtype=torch.long)
        out.append(Features(tokens=torch.nn.functional.pad(f.tokens, (0, 0, 0, pad)),
                            mask=torch.nn.functional.pad(mask, (0, pad)), pooled=f.pooled))
    return cat_rows(*out)


@torch.no_grad()
def encode_unimodal(model, stream, inputs):
    """Encoder features (kept for fusion) and ITC embedding ``[B, D]`` of one modality
    (``inputs``: the preprocessed ``{'images': ...}`` or ``{'text': {ids, mask}}``).

    With universal layers the ITC embedding is taken from the universal output of that modality
    alone, which is what ``Features.unimodal`` holds when both modalities are given.
    """
    enc, uni = model.unimodal(stream, inputs)
    return _detach(enc), _find_head(model, Embedder).embed(uni, stream)


@torch.no_grad()
def itm_scores(model, vision, text, image_rows, text_rows, batch_size=128):
    """ITM log-odds ``[R]`` of the pairs ``(image_rows[r], text_rows[r])`` (encoder features)."""
    itm = _find_head(model, PairScorer)
    out = []
    for start in range(0, len(image_rows), batch_size):
        img, txt = image_rows[start:start + batch_size], text_rows[start:start + batch_size]
        fused = model.pair(select_rows(vision, img), select_rows(text, txt))[2]
        out.append(itm.score_pairs(fused))
    return torch.cat(out) if out else vision.tokens.new_zeros(0)


@torch.no_grad()
def rerank(model, sim, vision, text, k, transpose=False, batch_size=128, sim_scale=1.0):
    """Scores ``[Q, C]``: for each query's ``k`` best candidates by ``sim`` ``[Q, C]``, the ITM
    log-odds plus ``sim_scale * sim`` (``1 / tau``: the ITC logit, see the module doc; the ITC
    order breaks ties and survives an ITM that cannot tell the candidates apart);
    :data:`NOT_RERANKED` elsewhere. Queries are images (``transpose=False``) or texts."""
    k = min(k, sim.shape[1])
    top = sim.topk(k, dim=1).indices                                        # [Q, k]
    queries = torch.arange(sim.shape[0], device=sim.device)[:, None].expand(-1, k).flatten()
    cands = top.flatten()
    img, txt = (cands, queries) if transpose else (queries, cands)
    scores = sim.new_full(sim.shape, NOT_RERANKED)
    itm = itm_scores(model, vision, text, img, txt, batch_size).to(sim.dtype)
    scores[queries, cands] = itm + sim_scale * sim[queries, cands]
    return scores


@torch.no_grad()
def retrieval_scores(model, images, texts, k_test, text_batch_size=64, itm_batch_size=128):
    """``(scores_i2t [N_img, N_txt], scores_t2i [N_txt, N_img] or None, sim [N_img, N_txt])`` of
    ALBEF's protocol; ``sim`` is the ITC similarity of the first stage.

    ``images``: list of preprocessed image batches ``[b, 3, H, W]``; ``texts``: all texts.
    ``k_test = 0``: ITC similarity only (``scores_t2i`` is ``None``: the transpose).
    """
    pre = model.data_preprocessor
    vis_parts, img_embeds = zip(*(encode_unimodal(model, 'vision', dict(images=x)) for x in images))
    txt_parts, txt_embeds = [], []
    for start in range(0, len(texts), text_batch_size):
        tok = pre.tokenizer(list(texts[start:start + text_batch_size]), max_length=pre.max_length)
        enc, emb = encode_unimodal(model, 'text',
                                   dict(text={k: v.to(pre.device) for k, v in tok.items()}))
        txt_parts.append(enc)
        txt_embeds.append(emb)
    sim = torch.cat(img_embeds) @ torch.cat(txt_embeds).t()                 # [N_img, N_txt]
    if not k_test:
        return sim, None, sim
    vision, text = cat_rows(*vis_parts), _pad_cat(txt_parts)
    scale = _find_head(model, Embedder).logit_scale()                     # ITC logit = sim / tau
    i2t = rerank(model, sim, vision, text, k_test, False, itm_batch_size, scale)
    t2i = rerank(model, sim.t(), vision, text, k_test, True, itm_batch_size, scale)
    return i2t, t2i, sim


class RetrievalLoopMixin:
    """The shared run of :class:`RetrievalValLoop` and :class:`RetrievalTestLoop`."""
    phase = 'val'

    def _setup(self, k_test, text_batch_size, itm_batch_size):
        for name, value in dict(text_batch_size=text_batch_size,
                                itm_batch_size=itm_batch_size).items():
            check_positive(name, value)
        if not isinstance(k_test, int) or k_test < 0:
            raise ValueError(f'k_test must be an integer >= 0 (0: ITC only), got {k_test!r}')
        self.k_test, self.text_batch_size, self.itm_batch_size = \
            k_test, text_batch_size, itm_batch_size

    def _texts(self):
        dataset = self.dataloader.dataset
        texts, img2txt = getattr(dataset, 'texts', None), getattr(dataset, 'img2txt', None)
        if texts is None or img2txt is None:
            raise ValueError(f'{type(self).__name__} needs a test-mode retrieval dataset exposing '
                             f'`texts` and `img2txt`, got {type(dataset).__name__}')
        return texts, img2txt

    def _check_model(self, model):
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            raise RuntimeError(f'{type(self).__name__} scores the whole split in one process; '
                               'run the evaluation without a distributed launcher')
        if _find_head(model, Embedder) is None:
            raise ValueError(f'{type(self).__name__} needs a model with an ITCHead')
        if self.k_test and (_find_head(model, PairScorer) is None
                            or not model.has_stream('fused')):
            raise ValueError(f'{type(self).__name__}: k_test={self.k_test} re-ranks with ITM, but '
                             'the model has no ITMHead or fusion (set k_test=0 for ITC only)')

    def run(self):
        phase, runner = self.phase, self.runner
        runner.call_hook(f'before_{phase}')
        runner.call_hook(f'before_{phase}_epoch')
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        model.eval()
        self._check_model(model)
        texts, img2txt = self._texts()
        batches, images = [], []
        for data_batch in self.dataloader:
            data = model.data_preprocessor(data_batch, False)
            batches.append((data_batch, data['data_samples']))
            images.append(data['inputs']['images'])
        with torch.autocast(model.data_preprocessor.device.type, enabled=self.fp16):
            i2t, t2i, sim = retrieval_scores(model, images, texts, self.k_test,
                                             self.text_batch_size, self.itm_batch_size)
        i2t, t2i = i2t.float().cpu(), None if t2i is None else t2i.float().cpu()
        sim = sim.float().cpu() if t2i is not None else None   # re-ranked: report ITC alone too
        row = 0
        for idx, (data_batch, samples) in enumerate(batches):
            runner.call_hook(f'before_{phase}_iter', batch_idx=idx, data_batch=data_batch)
            for sample in samples:
                sample.pred_scores = i2t[row]
                if t2i is not None:
                    sample.pred_scores_t2i = t2i[:, row]
                    sample.pred_scores_itc = sim[row]
                sample.img2txt = list(img2txt[int(sample.metainfo['sample_idx'])])
                row += 1
            self.evaluator.process(data_samples=samples, data_batch=data_batch)
            runner.call_hook(f'after_{phase}_iter', batch_idx=idx, data_batch=data_batch,
                             outputs=samples)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        runner.call_hook(f'after_{phase}_epoch', metrics=metrics)
        runner.call_hook(f'after_{phase}')
        return metrics


@LOOPS.register_module(kind='other')
class RetrievalValLoop(RetrievalLoopMixin, ValLoop):
    """Validation with ALBEF's two-stage retrieval protocol (see the module docstring).

    Args:
        k_test: candidates per query re-ranked by ITM (ALBEF: 256 on COCO, 128 on Flickr30K);
            0: ITC similarity only.
        text_batch_size: texts encoded per forward pass.  itm_batch_size: pairs fused per pass.
        fp16: autocast during scoring.
    """
    phase = 'val'

    def __init__(self, runner, dataloader, evaluator, k_test=256, text_batch_size=64,
                 itm_batch_size=128, fp16=False):
        self._setup(k_test, text_batch_size, itm_batch_size)
        super().__init__(runner, dataloader, evaluator, fp16=fp16)


@LOOPS.register_module(kind='other')
class RetrievalTestLoop(RetrievalLoopMixin, TestLoop):
    """Test with ALBEF's two-stage retrieval protocol; arguments as :class:`RetrievalValLoop`."""
    phase = 'test'

    def __init__(self, runner, dataloader, evaluator, k_test=256, text_batch_size=64,
                 itm_batch_size=128, fp16=False):
        self._setup(k_test, text_batch_size, itm_batch_size)
        super().__init__(runner, dataloader, evaluator, fp16=fp16)
