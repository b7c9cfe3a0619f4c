"""Bad input never gets a raw traceback: each malformed config gives one line naming the key."""
import pytest

from conftest import ROOT
from mplug_registry.config import load_config, validate_config
from mplug_registry.errors import ConfigError

CONFIG = str(ROOT / 'configs/image_classification/digits_tiny.py')
TD = 'train_dataloader'

# (options merged into the digits config, key the message starts with, text it contains)
CASES = {
    'unknown model type': ({'model.type': 'ComposedModle'}, 'model.type',
                           "did you mean 'ComposedModel'?"),
    'unknown slot type': ({'model.vision_encoder.type': 'DualVisonEncoder'},
                          'model.vision_encoder.type', "did you mean 'DualVisionEncoder'?"),
    'wrong kind in slot': ({'model.fusion': dict(type='DualVisionEncoder')}, 'model.fusion.type',
                           'is a encoder, but this slot takes a fusion'),
    'wrong kind in head': ({'model.heads.cls.type': 'UniversalLayers'}, 'model.heads.cls.type',
                           'is a universal, but this slot takes a head'),
    'missing required slot': ({'model.universal': None}, 'model.universal',
                              'this task requires the slot'),
    'head without its input': ({'model.vision_encoder': None, 'model.universal': None,
                                'model.required_slots': []}, 'model.vision_encoder',
                               "head 'cls' (ClassificationHead) needs vision features"),
    'no heads': ({'model.heads': dict(_delete_=True)}, 'model.heads', 'at least one head'),
    'slot without type': ({'model.universal': dict(_delete_=True, embed_dims=192)},
                          'model.universal', 'has no `type`'),
    'hidden size mismatch': ({'model.heads.cls.in_dims': 100}, 'model.heads.cls',
                             'expects vision features of size 100, but model.universal '
                             'produces 192'),
    'unknown argument': ({'model.universal.num_latent': 3}, 'model.universal.num_latent',
                         "did you mean 'num_latents'?"),
    'bad preset': ({'model.vision_encoder.arch': 'huge'}, 'model.vision_encoder',
                   "unknown arch 'huge'"),
    'bad image size for patch': ({'model.vision_encoder.image_size': 30},
                                 'model.vision_encoder', 'not a multiple of'),
    'unknown dataset': ({f'{TD}.dataset.type': 'DigitDataset'}, f'{TD}.dataset.type',
                        "did you mean 'DigitsDataset'?"),
    'bad dataset split': ({f'{TD}.dataset.split': 'tran'}, f'{TD}.dataset',
                          'split must be one of'),
    'bad data root': ({f'{TD}.dataset.data_root': '/no/such/dir'}, f'{TD}.dataset.data_root',
                      "no directory '/no/such/dir'"),
    'bad annotation file': ({f'{TD}.dataset.ann_file': '/no/such/ann.json'},
                            f'{TD}.dataset.ann_file', 'no annotation file'),
    'bad frame count': ({f'{TD}.dataset.num_frames': 0}, f'{TD}.dataset.num_frames',
                        'must be a positive integer, got 0'),
    'unknown transform': ({f'{TD}.dataset.pipeline': [dict(type='ImageResise', size=32)]},
                          f'{TD}.dataset.pipeline[0].type', "did you mean 'ImageResize'?"),
    'bad transform value': ({f'{TD}.dataset.pipeline': [dict(type='ImageResize', size=-3)]},
                            f'{TD}.dataset.pipeline[0]', 'size must be a positive int'),
    'unknown transform argument': ({f'{TD}.dataset.pipeline': [dict(type='ImageResize',
                                                                    size=32, sise=3)]},
                                   f'{TD}.dataset.pipeline[0].sise', "did you mean 'size'?"),
    'zero batch size': ({f'{TD}.batch_size': 0}, f'{TD}.batch_size', 'positive integer'),
    'negative workers': ({f'{TD}.num_workers': -1}, f'{TD}.num_workers', 'non-negative'),
    'unknown metric': ({'val_evaluator.type': 'Acuracy'}, 'val_evaluator.type',
                       "did you mean 'Accuracy'?"),
    'bad metric value': ({'val_evaluator.topk': 0}, 'val_evaluator', 'topk must be positive'),
    'negative lr': ({'optim_wrapper.optimizer.lr': -0.001}, 'optim_wrapper.optimizer.lr',
                    'must be a positive number'),
    'unknown optimizer': ({'optim_wrapper.optimizer.type': 'AdamWW'},
                          'optim_wrapper.optimizer.type', "did you mean 'AdamW'?"),
    'zero epochs': ({'train_cfg.max_epochs': 0}, 'train_cfg.max_epochs', 'positive integer'),
    'unknown mmdet type': ({'model.vision_encoder.type': 'mmdet.ResNett'},
                           'model.vision_encoder.type', "did you mean 'mmdet.ResNet'?"),
}


@pytest.mark.parametrize('name', list(CASES))
def test_malformed_config_gives_one_clear_line(name):
    options, key, text = CASES[name]
    cfg = load_config(CONFIG)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    message = str(err.value)
    assert '\n' not in message
    assert message.startswith(f'{key}: '), message
    assert text in message, message


def test_the_unmodified_config_is_valid():
    model = validate_config(load_config(CONFIG))
    assert type(model).__name__ == 'ComposedModel'


def test_missing_data_is_collected_for_tools_that_do_not_read_it():
    """``check`` and ``infer`` build the model of a config whose data is not there yet; the missing
    paths are collected (every one, not only the first) while other mistakes still raise."""
    from mplug_registry.errors import DataPathError
    cfg = load_config(CONFIG)
    cfg.merge_from_dict({f'{TD}.dataset.data_root': '/no/such/dir',
                         'val_dataloader.dataset.ann_file': '/no/such/ann.json'})
    with pytest.raises(DataPathError):
        validate_config(cfg)
    missing = []
    assert type(validate_config(cfg, missing_data=missing)).__name__ == 'ComposedModel'
    assert [e.key for e in missing] == [f'{TD}.dataset.data_root', 'val_dataloader.dataset.ann_file']
    cfg.merge_from_dict({'val_evaluator.type': 'Acuracy'})
    with pytest.raises(ConfigError, match="did you mean 'Accuracy'"):
        validate_config(cfg, missing_data=[])


def test_check_on_a_config_without_its_data_prints_the_composition_and_a_note(tmp_path, capsys):
    from mplug_registry.cli import main
    cfg_file = tmp_path / 'nodata.py'
    cfg_file.write_text(f"_base_ = ['{CONFIG}']\n"
                        f"train_dataloader = dict(dataset=dict(data_root='{tmp_path}/absent'))\n")
    main(['check', str(cfg_file)])
    out, err = capsys.readouterr()
    assert 'vision_encoder' in out and 'total' in out
    assert f"train_dataloader.dataset.data_root: no directory '{tmp_path}/absent'" in err
