"""The shared text decoder (mPLUG-2) and the LM head: loss masking, tying, caching, search."""
import copy
from difflib import SequenceMatcher

import pytest
import torch
import torch.nn.functional as F

from mplug_registry.builder import build_component
from mplug_registry.errors import ConfigError
from mplug_registry.structures import MultimodalDataSample
from mplug_registry_plugins.decoders.generation import beam_search
from mplug_registry_plugins.decoders.shared_decoder import DecodingStep, SharedTextDecoder

BOS, EOS, PAD = 1, 2, 0
MEM_DIMS = 48


class CharTokenizer:
    """Stand-in for the BERT tokenizer: ``[CLS]=1 chars... [SEP]=2``, right-padded with 0."""
    chars = " abcdefghijklmnopqrstuvwxyz?'"

    def __call__(self, texts, max_length=40):
        rows = [[BOS] + [3 + self.chars.index(c) for c in t.lower()][:max_length - 2] + [EOS]
                for t in texts]
        width = max(map(len, rows))
        ids = torch.tensor([r + [PAD] * (width - len(r)) for r in rows])
        return dict(input_ids=ids, attention_mask=(ids != PAD).long())

    def decode(self, ids):
        return ''.join(self.chars[i - 3] for i in ids if i >= 3)


def tiny_decoder(peaky=True, **kwargs):
    """Two layers, width 32, vocab 40. ``peaky``: large random weights, so that the next token
    depends on the memory and generations end at varied lengths (BERT init is near uniform)."""
    torch.manual_seed(0)
    cfg = dict(arch='tiny', embed_dims=32, num_layers=2, num_heads=2, memory_dims=MEM_DIMS,
               vocab_size=40, bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD, dropout=0.0,
               attn_dropout=0.0)
    cfg.update(kwargs)
    decoder = SharedTextDecoder(**cfg).eval()
    if peaky:
        with torch.no_grad():
            for p in decoder.parameters():
                if p.dim() == 2:
                    p.normal_(0, 0.3)
            decoder.head.proj.bias[EOS] = 1.5
    return decoder


def memory(batch=6, tokens=7, seed=1):
    return torch.randn(batch, tokens, MEM_DIMS, generator=torch.Generator().manual_seed(seed))


def text_batch():
    """Two rows: prompt lengths 3 and 5 (bos included), row 1 right-padded."""
    ids = torch.tensor([[BOS, 5, 6, 7, 8, 9, 10, EOS],
                        [BOS, 11, 12, 13, 14, 15, EOS, PAD]])
    return ids, (ids != PAD).long(), torch.tensor([3, 5])


def test_beam1_equals_greedy():
    decoder, mem = tiny_decoder(), memory()
    greedy = decoder.generate(mem, num_beams=1, max_length=12)
    beam = beam_search(DecodingStep(decoder, mem, None, use_cache=True),
                       torch.full((6, 1), BOS), num_beams=1, max_length=12, min_length=1,
                       eos_id=EOS, pad_id=PAD)
    assert beam.sequences == greedy.sequences
    assert beam.scores == pytest.approx(greedy.scores, abs=1e-5)
    lengths = [len(s) for s in greedy.sequences]
    assert min(lengths) < 12 and max(lengths) == 12 and len(set(lengths)) >= 3  # eos exercised
    assert decoder.generate(mem, num_beams=3, max_length=12).sequences != greedy.sequences


@pytest.mark.parametrize('num_beams', [1, 3])
def test_cached_and_uncached_generation_give_identical_tokens(num_beams):
    decoder, mem = tiny_decoder(), memory()
    mask = torch.ones(6, 7, dtype=torch.long)
    mask[::2, 4:] = 0                                           # padded memories
    prompt = torch.tensor([BOS, 7, 8])
    cached = decoder.generate(mem, mask, prompt, num_beams=num_beams, max_length=12)
    plain = decoder.generate(mem, mask, prompt, num_beams=num_beams, max_length=12,
                             use_cache=False)
    assert cached.sequences == plain.sequences
    assert cached.scores == pytest.approx(plain.scores, abs=1e-4)
    assert len(set(map(tuple, cached.sequences))) > 3           # memories make a difference


def test_lm_projection_is_tied_to_word_embeddings():
    decoder = tiny_decoder(peaky=False)
    emb, proj = decoder.word_embeddings.weight, decoder.head.proj.weight
    assert proj is emb and proj.data_ptr() == emb.data_ptr()
    opt = torch.optim.SGD(decoder.parameters(), lr=1.0)
    decoder.loss(memory(2), text_batch()[0]).backward()
    opt.step()
    assert torch.equal(decoder.head.proj.weight, decoder.word_embeddings.weight)
    n_unique = sum(p.numel() for p in decoder.parameters())
    n_state = sum(v.numel() for v in decoder.state_dict().values())
    assert n_state - n_unique == 40 * 32                        # counted once, saved under 2 keys


def test_prompt_prefix_is_excluded_from_loss():
    decoder, mem = tiny_decoder(), memory(2)
    ids, mask, prompt_lengths = text_batch()
    outputs = []
    handle = decoder.head.register_forward_hook(lambda m, i, o: o.retain_grad() or outputs.append(o))
    loss = decoder.loss(mem, ids, mask, prompt_lengths=prompt_lengths)
    loss.backward()
    handle.remove()
    logits = outputs[0]                                          # [2, 8, V]
    ce = F.cross_entropy(logits[:, :-1].flatten(0, 1), ids[:, 1:].flatten(),
                         reduction='none').view(2, 7)            # target = token t+1
    pos = torch.arange(1, 8)
    keep = (pos[None] >= prompt_lengths[:, None]) & (mask[:, 1:] == 1)
    assert keep.sum(1).tolist() == [5, 2]
    assert loss.item() == pytest.approx((ce * keep).sum().item() / 7, rel=1e-5)
    # positions that predict prompt tokens (or padding) get no gradient at all
    grad = logits.grad[:, :-1].abs().sum(-1)                     # [2, 7]
    assert torch.all(grad[~keep] == 0) and torch.all(grad[keep] > 0)
    # any weight on the prompt tokens would change the loss; the prompt really is excluded
    no_prompt = decoder.loss(mem, ids, mask)
    assert no_prompt.item() == pytest.approx((ce * (mask[:, 1:] == 1)).sum().item() / 13, rel=1e-5)
    per_row = decoder.loss(mem, ids, mask, prompt_lengths=prompt_lengths, reduction='none')
    assert per_row.tolist() == pytest.approx((ce * keep).sum(1).tolist(), rel=1e-5)


def test_with_cp_gives_same_loss_and_gradients():
    plain = tiny_decoder(peaky=False, dropout=0.1, attn_dropout=0.1).train()
    ckpt = copy.deepcopy(plain)
    ckpt.with_cp = True
    ids, mask, prompt_lengths = text_batch()
    results = []
    for decoder in (plain, ckpt):
        mem = memory(2).requires_grad_()
        torch.manual_seed(3)                                     # same dropout masks
        loss = decoder.loss(mem, ids, mask, prompt_lengths=prompt_lengths, label_smoothing=0.1)
        loss.backward()
        results.append((loss, mem.grad, [p.grad for p in decoder.parameters()]))
    (l0, m0, g0), (l1, m1, g1) = results
    assert l0.item() == pytest.approx(l1.item(), abs=1e-6)
    assert torch.allclose(m0, m1, atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g0, g1))


@pytest.mark.parametrize('num_beams', [1, 3])
def test_min_length_forbids_early_eos(num_beams):
    decoder, mem = tiny_decoder(), memory(3)
    with torch.no_grad():
        decoder.head.proj.bias[EOS] = 30.0                       # eos wins whenever allowed
    free = decoder.generate(mem, num_beams=num_beams, min_length=0)
    forced = decoder.generate(mem, num_beams=num_beams, min_length=4)
    assert [len(s) for s in free.sequences] == [0, 0, 0]
    assert [len(s) for s in forced.sequences] == [4, 4, 4]
    assert all(EOS not in s for s in forced.sequences)


@pytest.mark.parametrize('num_beams', [1, 3])
def test_batch_of_memories_equals_separate_calls(num_beams):
    decoder, mem = tiny_decoder(), memory(3, tokens=9)
    valid = [9, 5, 7]
    mask = torch.tensor([[1] * n + [0] * (9 - n) for n in valid])
    batched = decoder.generate(mem, mask, num_beams=num_beams, max_length=12)
    for i, n in enumerate(valid):
        alone = decoder.generate(mem[i:i + 1, :n], num_beams=num_beams, max_length=12)
        assert alone.sequences[0] == batched.sequences[i]
        assert alone.scores[0] == pytest.approx(batched.scores[i], abs=1e-4)


def test_text_rows_share_memory_rows_without_copy():
    decoder, mem = tiny_decoder(), memory(2)
    ids = torch.randint(3, 40, (6, 5), generator=torch.Generator().manual_seed(0))
    grouped = decoder(mem, ids)                                  # row r reads memory r // 3
    expanded = decoder(mem.repeat_interleave(3, dim=0), ids)
    assert torch.allclose(grouped, expanded, atol=1e-5)
    with pytest.raises(ValueError, match='B dividing the 6 text rows'):
        decoder(memory(4), ids)


# ---------------------------------------------------------------------- LMHead in a model
VISION = dict(type='DualVisionEncoder', arch='tiny', image_size=16, patch_size=8, layers=1,
              width=MEM_DIMS, heads=2)
PROMPT = 'what is it?'


def captioner(**head):
    decoder = dict(type='SharedTextDecoder', arch='tiny', embed_dims=32, num_layers=1,
                   num_heads=2, memory_dims=MEM_DIMS, memory_stream='vision', vocab_size=40,
                   bos_token_id=BOS, eos_token_id=EOS, pad_token_id=PAD, dropout=0.0,
                   attn_dropout=0.0)
    cfg = dict(type='ComposedModel', vision_encoder=VISION, decoder=decoder,
               data_preprocessor=dict(type='MultimodalDataPreprocessor',
                                      tokenizer=CharTokenizer()),
               heads=dict(lm=dict(dict(type='LMHead', prompt=PROMPT, num_beams=3), **head)))
    return build_component(cfg, 'model', 'task')


def test_tiny_captioner_overfits_and_generates_each_images_caption():
    torch.manual_seed(0)
    model = captioner()
    captions = ['a red circle', 'two blue squares']
    images = torch.randint(0, 255, (2, 3, 16, 16), dtype=torch.uint8)
    samples = [MultimodalDataSample(gt_caption=[c, 'another caption']) for c in captions]
    data = model.data_preprocessor(dict(inputs=list(images), data_samples=samples), True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(60):
        loss = model(**data, mode='loss')['lm.loss_lm']
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.02                      # 0.004 measured
    model.eval()
    preds = [p.pred_caption for p in model(**data, mode='predict')]
    # exact here; a character of slack for other CPUs (the two captions match at 0.21)
    assert all(SequenceMatcher(None, p, c).ratio() > 0.9 for p, c in zip(preds, captions)), preds
    assert model.heads.lm.requires == ('decoder', 'vision')


def test_lm_head_checks_its_memory_slot_and_tokenizer_at_build():
    with pytest.raises(ConfigError, match=r"^model.vision_encoder: head 'lm' \(LMHead\) decodes "
                       r'from vision features'):
        build_component(dict(type='ComposedModel', heads=dict(lm=dict(type='LMHead')),
                             decoder=dict(type='SharedTextDecoder', arch='tiny',
                                          memory_stream='vision'),
                             data_preprocessor=dict(type='MultimodalDataPreprocessor',
                                                    tokenizer=CharTokenizer())), 'model', 'task')
    with pytest.raises(ConfigError, match=r'^model.data_preprocessor.tokenizer: .* needs a '
                       r'tokenizer'):
        build_component(dict(type='ComposedModel', vision_encoder=VISION,
                             heads=dict(lm=dict(type='LMHead')),
                             decoder=dict(type='SharedTextDecoder', arch='tiny',
                                          memory_dims=MEM_DIMS, memory_stream='vision')),
                        'model', 'task')
    with pytest.raises(ConfigError, match=r"^model.decoder: SharedTextDecoder: memory_stream "
                       r"must be one of \('fused', 'vision', 'text'\) or several joined by '\+' "
                       r"\(e.g. 'vision\+fused'\), got 'image'"):
        build_component(dict(type='SharedTextDecoder', memory_stream='image'), 'model.decoder',
                        'decoder')


def test_init_std_sets_the_weight_scale_and_how_much_the_memory_matters_at_init():
    """BERT's 0.02 is sized for width 768: at width 32 the cross-attention barely reaches the
    states, so a decoder trained from scratch starts as a pure language model. ``init_std`` of
    about ``width ** -0.5`` makes the states depend on the memory many times more."""
    def spread(decoder):  # relative change of the bos states between different memories
        with torch.no_grad():
            h = decoder.hidden_states(memory(), torch.full((6, 1), BOS))          # [6, 1, 32]
        return float((h - h.mean(0)).norm() / h.norm())

    bert, scaled = tiny_decoder(peaky=False), tiny_decoder(peaky=False, init_std=32 ** -0.5)
    assert abs(bert.layers[0].cross_attn.q.weight.std().item() - 0.02) < 0.002
    assert abs(scaled.layers[0].cross_attn.q.weight.std().item() - 32 ** -0.5) < 0.02
    assert scaled.word_embeddings.weight[PAD].abs().sum().item() == 0.0
    assert spread(scaled) > 10 * spread(bert)
    with pytest.raises(ValueError, match='init_std must be a positive number'):
        tiny_decoder(peaky=False, init_std=0)
