"""Installable as a real package: the wheel carries every package, the built-in configs and the data
files, and its ``mplug-registry`` checks and trains a built-in config from outside the repository."""
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

#: not part of the source tree that is built (the build itself writes build/ and *.egg-info)
IGNORED = shutil.ignore_patterns('.*', 'data', 'work_dirs', '__pycache__', 'build', 'dist',
                                 '*.egg-info')


def run(cmd, cwd, env=None, timeout=600):
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f'{cmd}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}'
    return proc


@pytest.fixture(scope='module')
def built(tmp_path_factory):
    """``(wheel, source tree it was built from)``: ``pip wheel`` of a copy of the repository."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    shutil.copytree(ROOT, src, ignore=IGNORED)
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
         '--disable-pip-version-check', '-q', '-w', tmp / 'dist', src], cwd=tmp)
    return next((tmp / 'dist').glob('mplug_registry-*.whl')), src


@pytest.fixture(scope='module')
def fresh(built, tmp_path_factory):
    """``(venv dir, environment)``: a new venv with the wheel installed; the heavy dependencies
    come from this project's environment (a ``.pth`` line), the source checkout is not on its path."""
    tmp = tmp_path_factory.mktemp('fresh')
    venv = tmp / 'venv'
    run([sys.executable, '-m', 'venv', '--without-pip', venv], cwd=tmp)
    python = venv / 'bin' / 'python'
    site = run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
               cwd=tmp).stdout.strip()
    ours = sorted({sysconfig.get_paths()['purelib'], sysconfig.get_paths()['platlib']})
    Path(site, 'project_dependencies.pth').write_text('\n'.join(ours) + '\n')
    env = {k: v for k, v in os.environ.items()
           if k not in ('PYTHONPATH', 'VIRTUAL_ENV', 'MPLUG_REGISTRY_DISABLE_PLUGINS',
                        'MPLUG_REGISTRY_STRICT_PLUGINS')}
    env.update(MPLUG_REGISTRY_CACHE=str(tmp / 'cache'), OMP_NUM_THREADS='2',
               PATH=f'{venv / "bin"}{os.pathsep}{env.get("PATH", "")}')
    # --ignore-installed: pip sees the editable install of this environment and must leave it alone
    run([python, '-m', 'pip', 'install', '--no-deps', '--ignore-installed', '--no-index',
         '--disable-pip-version-check', '-q', built[0]], cwd=tmp, env=env)
    return venv, env


def test_wheel_holds_every_module_config_and_data_file(built):
    wheel, src = built
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = zf.read('mplug_registry-0.1.0.dist-info/entry_points.txt').decode()
    want = {p.relative_to(src).as_posix() for p in (src / 'mplug_registry').rglob('*.py')}
    for folder, prefix, patterns in (('plugins', 'mplug_registry_plugins', ('*.py', '*.txt', '*.json')),
                                     ('configs', 'mplug_registry_plugins/configs', ('*.py', ))):
        want |= {f'{prefix}/{p.relative_to(src / folder).as_posix()}'
                 for pattern in patterns for p in (src / folder).rglob(pattern)}
    assert want - names == set()
    assert any(n.startswith('mplug_registry_plugins/layers/') for n in names)
    assert any(n.endswith('/vocab.txt') for n in names)
    assert 'mplug-registry = mplug_registry.cli:main' in entry_points


def test_installed_wheel_is_what_gets_imported_with_its_configs(fresh, tmp_path):
    venv, env = fresh
    code = ('import mplug_registry, mplug_registry_plugins\n'
            'from mplug_registry.plugin_manager import get_plugin_manager\n'
            'pm = get_plugin_manager()\n'
            'print(mplug_registry.__file__)\n'
            'print(mplug_registry_plugins.__file__)\n'
            'print(pm.config_dirs("tasks")["tasks"][0])\n'
            'print(",".join(r.name for r in pm.records if r.status != "loaded") or "-")\n')
    out = run([venv / 'bin' / 'python', '-c', code], cwd=tmp_path, env=env).stdout.splitlines()
    core, plugins, configs, not_loaded = out[-4:]
    for path in (core, plugins, configs):
        assert Path(path).resolve().is_relative_to(venv.resolve()), path
    assert Path(configs, 'vqa', 'vqa_grounding_tiny_shapes.py').is_file()
    assert not_loaded == '-'


def test_installed_command_checks_and_trains_builtin_configs_outside_the_repo(fresh, tmp_path):
    venv, env = fresh
    command = venv / 'bin' / 'mplug-registry'
    out = run([command, 'check', 'tasks::vqa/vqa_grounding_tiny_shapes.py'], cwd=tmp_path,
              env=env).stdout
    assert 'DualVisionEncoder' in out and 'fusion' in out and 'total' in out
    # one epoch on 64 of the digits (MMEngine's dataset `indices`), validated on 64
    proc = run([command, 'train', 'tasks::image_classification/digits_tiny.py', '--cfg-options',
                'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                'train_dataloader.dataset.indices=64', 'val_dataloader.dataset.indices=64'],
               cwd=tmp_path, env=env)
    assert (tmp_path / 'work_dirs' / 'digits_tiny' / 'epoch_1.pth').is_file()
    log = proc.stdout + proc.stderr
    assert 'Epoch(train) [1][2/2]' in log and 'Epoch(val) [1]' in log, log[-3000:]
