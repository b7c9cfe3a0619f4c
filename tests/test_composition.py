"""The composition contract: slots by kind, build-time checks, one forward for every mode."""
import pytest
import torch

from mplug_registry.builder import build_component
from mplug_registry.errors import ConfigError, DimensionMismatchError, KindError
from mplug_registry.structures import MultimodalDataSample

VISION = dict(type='DualVisionEncoder', arch='tiny', image_size=32, patch_size=8, layers=2,
              width=64, heads=2)
UNIVERSAL = dict(type='UniversalLayers', embed_dims=64, num_latents=4, num_layers=1, num_heads=2)
HEAD = dict(type='ClassificationHead', num_classes=3, in_dims=64)


def build(**slots):
    cfg = dict(type='ComposedModel', vision_encoder=VISION, universal=UNIVERSAL,
               heads=dict(cls=HEAD))
    cfg.update(slots)
    return build_component(cfg, 'model', 'task')


def batch(n=4, video=False):
    shape = (n, 2, 3, 32, 32) if video else (n, 3, 32, 32)
    images = torch.randint(0, 255, shape, dtype=torch.uint8)
    samples = [MultimodalDataSample(gt_label=torch.tensor(i % 3)) for i in range(n)]
    return dict(inputs=list(images), data_samples=samples)


def test_wrong_kind_in_a_slot():
    with pytest.raises(KindError) as err:
        build(fusion=dict(type='DualVisionEncoder'))
    assert str(err.value) == ("model.fusion.type: 'DualVisionEncoder' is a encoder, but this "
                              'slot takes a fusion')


def test_missing_required_slot():
    with pytest.raises(ConfigError) as err:
        build(universal=None, required_slots=('universal', ))
    assert str(err.value).startswith('model.universal: this task requires the slot')


def test_head_needing_a_missing_slot():
    with pytest.raises(ConfigError) as err:
        build(vision_encoder=None, universal=None)
    assert str(err.value) == ("model.vision_encoder: head 'cls' (ClassificationHead) needs "
                              'vision features, but the config has no `model.vision_encoder`')


def test_hidden_size_mismatch_names_both_slots_and_sizes():
    with pytest.raises(DimensionMismatchError) as err:
        build(universal=dict(UNIVERSAL, vision_dims=96))
    msg = str(err.value)
    assert 'model.universal expects vision features of size 96' in msg
    assert 'model.vision_encoder produces 64' in msg and '\n' not in msg
    with pytest.raises(DimensionMismatchError, match=r'heads.cls expects vision features of '
                       r'size 32, but model.universal produces 64'):
        build(heads=dict(cls=dict(HEAD, in_dims=32)))


def test_declared_projection_connects_different_sizes():
    model = build(universal=dict(UNIVERSAL, embed_dims=32, vision_dims=64),
                  heads=dict(cls=dict(HEAD, in_dims=32)))
    out = model(**model.data_preprocessor(batch()), mode='tensor')
    assert out['vision'].shape == (4, 17, 32)


def test_unknown_type_and_unknown_argument_suggest_close_matches():
    with pytest.raises(ConfigError, match=r"^model.universal.type: unknown type 'UniversalLayer' "
                       r".*did you mean 'UniversalLayers'\?"):
        build(universal=dict(UNIVERSAL, type='UniversalLayer'))
    with pytest.raises(ConfigError) as err:
        build(universal=dict(UNIVERSAL, num_latent=3))
    assert str(err.value) == ("model.universal.num_latent: UniversalLayers has no argument "
                              "'num_latent' (did you mean 'num_latents'?)")
    with pytest.raises(ConfigError, match=r'^model.vision_encoder: DualVisionEncoder: unknown '
                       r"arch 'huge'"):
        build(vision_encoder=dict(VISION, arch='huge'))


def test_forward_modes_on_images_and_videos():
    torch.manual_seed(0)
    model = build()
    for video in (False, True):
        data = model.data_preprocessor(batch(video=video))
        losses = model(**data, mode='loss')
        assert set(losses) == {'cls.loss_cls', 'cls.acc'} and losses['cls.loss_cls'].ndim == 0
        preds = model(**data, mode='predict')
        assert all(p.pred_score.shape == (3, ) for p in preds)
        assert abs(float(preds[0].pred_score.sum()) - 1) < 1e-5
        tensors = model(**data, mode='tensor')
        tokens = 1 + (2 if video else 1) * 16
        assert tensors['vision'].shape == (4, tokens, 64)
    with pytest.raises(ValueError, match='forward mode'):
        model(**data, mode='bogus')


def test_forward_loss_alone_trains_the_model():
    """What MMEngine's DeepSpeed wrapper does: preprocess, forward(mode='loss'), step; no train_step."""
    torch.manual_seed(0)
    model = build()
    data = model.data_preprocessor(batch(n=6), training=True)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(15):
        loss = model(**data, mode='loss')['cls.loss_cls']
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.5 * first


def test_composition_lists_slots_with_parameter_counts():
    model = build()
    rows = {slot: (name, kind, n) for slot, name, kind, n in model.composition()}
    assert rows['vision_encoder'][:2] == ('DualVisionEncoder', 'encoder')
    assert rows['universal'][:2] == ('UniversalLayers', 'universal')
    assert rows['heads.cls'] == ('ClassificationHead', 'head', 64 * 3 + 3)
    assert sum(r[2] for r in rows.values()) == sum(p.numel() for p in model.parameters())


def test_data_sample_carries_every_task_field():
    s = MultimodalDataSample(text='a red circle', question='what colour?', answers=['red'],
                             gt_label=torch.tensor(2), gt_bboxes=torch.zeros(1, 4),
                             gt_caption=['a red circle'], image_id=7)
    s.pred_caption = 'a red circle'
    assert s.text == 'a red circle' and s.answers == ['red'] and int(s.gt_label) == 2
    assert s.to_dict()['pred_caption'] == 'a red circle'
