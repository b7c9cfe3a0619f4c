"""Registries: scope, cross-scope use both ways, kinds, errors with close matches."""
import pytest

from mplug_registry.errors import ConfigError, DuplicateComponentError, KindError, UnknownTypeError
from mplug_registry.kinds import KINDS
from mplug_registry.registry import ALL, DATASETS, METRICS, MODELS, TRANSFORMS


def test_registries_are_children_of_mmengine_roots_in_our_scope():
    from mmengine import registry as mme
    for ours, root in ((MODELS, mme.MODELS), (DATASETS, mme.DATASETS),
                       (TRANSFORMS, mme.TRANSFORMS), (METRICS, mme.METRICS)):
        assert ours.scope == 'mplug_registry'
        assert ours.parent is root
        assert root.children['mplug_registry'] is ours


def test_every_record_has_a_kind_from_the_vocabulary():
    kinds = {}
    for reg in ALL.values():
        for name, kind, *_ in reg.records():
            assert kind in KINDS, (name, kind)
            kinds[name] = kind
    assert kinds['DualVisionEncoder'] == 'encoder'
    assert kinds['UniversalLayers'] == 'universal'
    assert kinds['ClassificationHead'] == 'head'
    assert kinds['ComposedModel'] == 'task'
    assert kinds['DigitsDataset'] == 'dataset'
    assert kinds['PackMultimodalInputs'] == 'transform'
    assert kinds['Accuracy'] == 'metric'


def test_mmdet_and_mmseg_configs_can_use_our_components():
    from mmdet.registry import MODELS as MMDET_MODELS
    from mmseg.registry import MODELS as MMSEG_MODELS
    for registry in (MMDET_MODELS, MMSEG_MODELS):
        enc = registry.build(dict(type='mplug_registry.DualVisionEncoder', arch='tiny',
                                  image_size=32, patch_size=8, layers=1))
        assert type(enc).__name__ == 'DualVisionEncoder'


def test_our_configs_can_use_mmdet_and_mmseg_components():
    resnet = MODELS.build(dict(type='mmdet.ResNet', depth=18))
    assert type(resnet).__module__.startswith('mmdet')
    fcn = MODELS.get('mmseg.FCNHead')
    assert fcn is not None and fcn.__module__.startswith('mmseg')
    # other scopes' components get the kind their package declares (necks, backbones, heads)
    assert [MODELS.kind_of(n) for n in ('mmdet.ResNet', 'mmdet.FPN', 'mmseg.FCNHead',
                                        'mmdet.DetDataPreprocessor')] == \
        ['encoder', 'neck', 'head', 'external']


def test_unknown_type_suggests_close_match():
    with pytest.raises(UnknownTypeError) as err:
        MODELS.get_checked('DualVisonEncoder', 'model.vision_encoder.type')
    msg = str(err.value)
    assert msg.startswith('model.vision_encoder.type: unknown type')
    assert "did you mean 'DualVisionEncoder'?" in msg
    assert '\n' not in msg


def test_wrong_kind_is_rejected_with_the_key():
    with pytest.raises(KindError) as err:
        MODELS.get_checked('DualVisionEncoder', 'model.fusion.type', 'fusion')
    assert str(err.value) == ("model.fusion.type: 'DualVisionEncoder' is a encoder, "
                              'but this slot takes a fusion')


def test_registering_without_a_kind_is_an_error():
    class NoKind:
        pass
    with pytest.raises(ValueError, match='has no kind'):
        MODELS.register_module(module=NoKind)
    assert MODELS.get('NoKind') is None


def test_explicit_kind_and_duplicates_in_user_code():
    class Extra:
        pass
    try:
        MODELS.register_module(module=Extra, kind='fusion')
        assert MODELS.kind_of('Extra') == 'fusion'
        assert MODELS.owner_of('Extra')[0] == '<user code>'

        class Extra2:
            pass
        with pytest.raises(DuplicateComponentError, match="'Extra' is registered twice"):
            MODELS.register_module(name='Extra', module=Extra2, kind='fusion')
    finally:
        MODELS.unregister('Extra')
    with pytest.raises(ValueError, match="kind 'bogus'"):
        MODELS.register_module(module=Extra, kind='bogus')


def test_config_error_is_a_value_error_with_key():
    err = ConfigError('a.b', 'bad', 'hint')
    assert str(err) == 'a.b: bad (hint)' and err.key == 'a.b'
