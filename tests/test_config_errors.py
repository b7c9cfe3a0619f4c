"""Bad input never gets a raw traceback: each malformed config gives one line naming the key."""
import random
import subprocess
import sys
import zipfile

import pytest
import torch

from conftest import ROOT
from mplug_registry.config import check_config, load_config, validate_config
from mplug_registry.errors import ConfigError
from mplug_registry.runtime import build_runner, check_runner_config

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
    # a container of the wrong kind: a dict where the runner reads a list, or the reverse
    'pipeline as a dict': ({f'{TD}.dataset.pipeline': dict(_delete_=True, type='ImageResize',
                                                           size=32)},
                           f'{TD}.dataset.pipeline', 'must be a list, got a dict (e.g. pipeline=['),
    'heads as a list': ({'model.heads': [dict(type='ClassificationHead', num_classes=10)]},
                        'model.heads', 'must be a dict, got a list (e.g. heads=dict('),
    'scheduler as a string': ({'param_scheduler': 'cosine'}, 'param_scheduler',
                              "must be a dict or a list, got 'cosine'"),
    'scheduler item as a string': ({'param_scheduler': ['cosine']}, 'param_scheduler[0]',
                                   "must be a dict with a `type`, got 'cosine'"),
    'dataloader as a list': ({TD: [dict(batch_size=8)]}, TD, 'must be a dict, got a list'),
    'custom hooks as a dict': ({'custom_hooks': dict(type='EMAHook')}, 'custom_hooks',
                               'must be a list, got a dict'),
    'optim wrapper as a list': ({'optim_wrapper': [dict(type='OptimWrapper')]}, 'optim_wrapper',
                                'must be a dict, got a list'),
    'default hook as a list': ({'default_hooks.checkpoint': [dict(type='CheckpointHook')]},
                               'default_hooks.checkpoint', 'must be a dict, got a list'),
    'evaluator as a number': ({'val_evaluator': 1}, 'val_evaluator',
                              'must be a dict or a list, got 1'),
    'train loop with neither type nor by_epoch': ({'train_cfg': dict(_delete_=True, max_epochs=2)},
                                                  'train_cfg', 'it has neither'),
    'train loop with type and by_epoch': ({'train_cfg.by_epoch': True}, 'train_cfg',
                                          'it has both'),
    # a misspelt type in each registry a runner builds from, with the closest registered name
    'unknown scheduler': ({'param_scheduler': [
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1),
        dict(type='CosineAnealingLR', by_epoch=True, begin=1, end=12)]},
        'param_scheduler[1].type', "did you mean 'CosineAnnealingLR'?"),
    'unknown default hook': ({'default_hooks.checkpoint.type': 'CheckpointHok'},
                             'default_hooks.checkpoint.type', "did you mean 'CheckpointHook'?"),
    'unknown custom hook': ({'custom_hooks': [dict(type='EMAHok')]}, 'custom_hooks[0].type',
                            "unknown type 'EMAHok' in the hook registry (did you mean 'EMAHook'?)"),
    'unknown optim wrapper': ({'optim_wrapper.type': 'OptimWraper'}, 'optim_wrapper.type',
                              "did you mean 'OptimWrapper'?"),
    'unknown optim wrapper constructor': (
        {'optim_wrapper.constructor': 'DefaultOptimWrapperConstructr'},
        'optim_wrapper.constructor', "did you mean 'DefaultOptimWrapperConstructor'?"),
    'unknown train loop': ({'train_cfg.type': 'EpochBasedTrainLop'}, 'train_cfg.type',
                           "did you mean 'EpochBasedTrainLoop'?"),
    'unknown test loop': ({'test_cfg.type': 'TestLop'}, 'test_cfg.type',
                          "did you mean 'TestLoop'?"),
    'unknown visualizer': ({'visualizer': dict(type='Visualiser')}, 'visualizer.type',
                           "did you mean 'Visualizer'?"),
    'unknown vis backend': ({'visualizer': dict(type='Visualizer', vis_backends=[
        dict(type='LocalVisBakend')])}, 'visualizer.vis_backends[0].type',
        "did you mean 'LocalVisBackend'?"),
    'unknown log processor': ({'log_processor.type': 'LogProcesor'}, 'log_processor.type',
                              "did you mean 'LogProcessor'?"),
    'unknown sampler': ({f'{TD}.sampler.type': 'DefaultSamplr'}, f'{TD}.sampler.type',
                        "did you mean 'DefaultSampler'?"),
    'unknown collate function': ({f'{TD}.collate_fn': dict(type='pseudo_colate')},
                                 f'{TD}.collate_fn.type', "did you mean 'pseudo_collate'?"),
    'unknown strategy': ({'strategy': dict(type='DeepSpeedStrategi')}, 'strategy.type',
                         "did you mean 'DeepSpeedStrategy'?"),
    'unknown type in the mmengine scope': ({'default_hooks.checkpoint.type':
                                            'mmengine.CheckpointHok'},
                                           'default_hooks.checkpoint.type',
                                           "did you mean 'mmengine.CheckpointHook'?"),
    'unknown scope': ({'custom_hooks': [dict(type='mmnothing.EMAHook')]}, 'custom_hooks[0].type',
                      "no 'mmnothing' registry is loaded"),
    'default hook without type': ({'default_hooks.timer': dict(_delete_=True, interval=2)},
                                  'default_hooks.timer', 'has no `type`'),
    'metric read as an evaluator': ({'val_evaluator': dict(_delete_=True, type='Accuracy',
                                                           metrics=['x'])},
                                    'val_evaluator', "is built as an Evaluator, but 'Accuracy' "
                                    'is a metric'),
    # what the runner itself requires of a whole config
    'train stage incomplete': ({'optim_wrapper': None}, 'optim_wrapper',
                               'is unset, but train_dataloader and train_cfg are set'),
    'dataloader without sampler': ({TD: dict(_delete_=True, batch_size=8, dataset=dict(
        type='DigitsDataset', split='train', pipeline=[dict(type='PackMultimodalInputs')]))},
        TD, "has no `sampler` (e.g. sampler=dict(type='DefaultSampler'"),
}


@pytest.mark.parametrize('name', list(CASES))
def test_malformed_config_gives_one_clear_line(name):
    options, key, text = CASES[name]
    cfg = load_config(CONFIG)
    cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
        check_runner_config(cfg)  # what build_runner adds: loops, log processor, strategy, ...
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


# the other forms the runner accepts must not be mistaken for errors
VALID = {
    'one scheduler dict': {'param_scheduler': dict(_delete_=True, type='CosineAnnealingLR',
                                                   by_epoch=True, begin=0, end=12)},
    'a list of evaluators': {'val_evaluator': [dict(type='Accuracy', topk=(1, ))]},
    'an evaluator with metrics': {'val_evaluator': dict(_delete_=True, type='Evaluator',
                                                        metrics=[dict(type='Accuracy')])},
    'a loop by epoch': {'train_cfg': dict(_delete_=True, by_epoch=True, max_epochs=2)},
    'scoped and dropped hooks': {'custom_hooks': [dict(type='mmengine.EMAHook')],
                                 'default_hooks.sampler_seed': None},
    'collate function and vis backend dict': {
        f'{TD}.collate_fn': dict(type='default_collate'),
        'visualizer': dict(type='Visualizer', vis_backends=dict(type='LocalVisBackend'))},
    'schedulers per optimizer': {'param_scheduler': dict(_delete_=True, main=[
        dict(type='LinearLR', by_epoch=True, begin=0, end=1)])},
}


@pytest.mark.parametrize('name', list(VALID))
def test_other_accepted_forms_pass_the_check(name):
    cfg = load_config(CONFIG)
    cfg.merge_from_dict(VALID[name])
    check_config(cfg)
    check_runner_config(cfg)


def test_a_child_config_of_the_wrong_container_fails_on_load(tmp_path):
    """Merging a dict onto a list of the ``_base_`` (or an override naming a list item by a name)
    fails inside MMEngine's Config: one line, naming what was merged."""
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{CONFIG}']\n"
                     f"{TD} = dict(dataset=dict(pipeline=dict(type='ImageResize', size=16)))\n")
    with pytest.raises(ConfigError) as err:
        load_config(str(child))
    assert str(err.value).startswith('config: cannot load') and '\n' not in str(err.value)
    assert 'pipeline' in str(err.value)
    with pytest.raises(ConfigError, match=r'^--cfg-options: cannot apply them: TypeError.*'
                                          r'\(a list item is named by its index'):
        load_config(CONFIG, {f'{TD}.dataset.pipeline.size': 16})


def _not_checkpoints(tmp_path):
    """``{name: (path, what the message says about it)}``: files that are no PyTorch checkpoint."""
    text = tmp_path / 'notes.txt'
    text.write_text('epoch 3: accuracy 0.91\n')
    noise = tmp_path / 'noise.pth'
    noise.write_bytes(b'\0' + random.Random(0).randbytes(511))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    archive = tmp_path / 'weights.zip'
    with zipfile.ZipFile(archive, 'w') as z:
        z.writestr('readme.txt', 'not a checkpoint')
    cut = tmp_path / 'cut.pth'
    torch.save({'state_dict': {'w': torch.zeros(64, 64)}}, cut)
    cut.write_bytes(cut.read_bytes()[:2000])
    return {'text': (text, 'neither the zip archive of torch.save nor a pickle'),
            'random bytes': (noise, 'neither the zip archive of torch.save nor a pickle'),
            'empty': (empty, 'an empty file'),
            'zip': (archive, 'a zip archive that torch.save did not write'),
            'cut': (cut, 'a damaged or cut zip archive')}


@pytest.mark.parametrize('resume', [False, True])
def test_a_file_that_is_no_checkpoint_fails_before_the_runner_is_built(tmp_path, resume):
    for path, what in _not_checkpoints(tmp_path).values():
        cfg = load_config(CONFIG)
        cfg.work_dir, cfg.load_from, cfg.resume = str(tmp_path / 'work'), str(path), resume
        with pytest.raises(ConfigError) as err:
            build_runner(cfg)
        assert str(err.value) == f"load_from: not a PyTorch checkpoint: '{path}' ({what})"


def test_resume_from_a_missing_file_names_it_and_auto_resume_starts_afresh(tmp_path):
    cfg = load_config(CONFIG)
    missing = tmp_path / 'epoch_9.pth'
    cfg.work_dir, cfg.load_from, cfg.resume = str(tmp_path / 'work'), str(missing), True
    with pytest.raises(ConfigError) as err:
        build_runner(cfg)
    assert str(err.value) == f"load_from: no checkpoint file at '{missing}' to resume from"
    cfg = load_config(CONFIG)
    cfg.work_dir, cfg.load_from, cfg.resume = str(tmp_path / 'work'), None, True
    runner = build_runner(cfg)
    runner.load_or_resume()  # nothing in the work dir: a fresh start, as in MMEngine
    assert not runner._has_loaded


class _Opaque:
    """A class that weights-only loading refuses to rebuild."""


def test_checkpoints_that_torch_refuses_or_that_do_not_fit_give_one_line(tmp_path):
    from mplug_registry.checkpoint import check_checkpoint
    model = torch.nn.Linear(2, 2)
    cases = {
        'refused': ({'state_dict': {'weight': _Opaque()}},
                    r"^checkpoint: not a loadable PyTorch checkpoint: '.*refused\.pth' "
                    r'\(weights-only loading refused it: Unsupported global'),
        'no state dict': ([1, 2], r"^checkpoint: '.*' holds a list, not a state dict"),
        'other shapes': ({'state_dict': {'weight': torch.zeros(3, 3), 'bias': torch.zeros(2)}},
                         r"^checkpoint: '.*' does not fit this model: 1 tensors have other shapes"),
    }
    for name, (obj, pattern) in cases.items():
        path = tmp_path / f'{name}.pth'
        torch.save(obj, path)
        with pytest.raises(ConfigError, match=pattern) as err:
            check_checkpoint(model, str(path))
        assert '\n' not in str(err.value)


@pytest.mark.parametrize('tool', ['test', 'train'])
def test_the_tools_print_one_line_for_a_bad_checkpoint(tmp_path, tool):
    text = tmp_path / 'notes.txt'
    text.write_text('not a checkpoint\n')
    missing = tmp_path / 'epoch_9.pth'
    args = [str(text)] if tool == 'test' else ['--resume', str(missing)]
    proc = subprocess.run([sys.executable, f'tools/{tool}.py', CONFIG, *args, '--work-dir',
                           str(tmp_path / 'work')], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 2 and 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    expected = {'test': f"test: error: load_from: not a PyTorch checkpoint: '{text}' (neither "
                        'the zip archive of torch.save nor a pickle)',
                'train': f"train: error: load_from: no checkpoint file at '{missing}' to resume "
                         'from'}[tool]
    assert proc.stderr.strip().splitlines()[-1] == expected
