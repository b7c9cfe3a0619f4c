import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _keep_default_scope():
    """A test that runs an mmdet / mmseg runner in-process leaves that toolbox's scope current
    (MMEngine keeps the latest ``DefaultScope``); the next test starts with the scopes as before."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


def write_dist(root, dist, version, entry_points, files):
    """Write an installed-looking distribution (``*.dist-info`` + modules) under ``root``.

    ``entry_points``: {name: 'module'} in the ``mplug_registry.plugins`` group;
    ``files``: {relative path: source}.
    """
    root = Path(root)
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n')
    eps = '\n'.join(f'{n} = {m}' for n, m in entry_points.items())
    (info / 'entry_points.txt').write_text(f'[mplug_registry.plugins]\n{eps}\n')
    for rel, src in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(src))
    return root


def run_py(code, extra_path=None, env=None, check=True):
    """Run python code in a fresh interpreter (plugins are discovered per process)."""
    full_env = dict(os.environ)
    full_env.pop('MPLUG_REGISTRY_DISABLE_PLUGINS', None)
    full_env.pop('MPLUG_REGISTRY_STRICT_PLUGINS', None)
    if extra_path:
        full_env['PYTHONPATH'] = os.pathsep.join([str(extra_path), full_env.get('PYTHONPATH', '')])
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, env=full_env, cwd=ROOT, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f'exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}')
    return proc


def run_cli(*args, extra_path=None, env=None):
    code = f'import sys; from mplug_registry.cli import main; sys.argv=["mplug-registry"]+{list(args)!r}; sys.exit(main())'
    return run_py(code, extra_path=extra_path, env=env, check=False)


@pytest.fixture
def plugin_dist(tmp_path):
    def make(dist, version='0.1', entry_points=None, files=None):
        return write_dist(tmp_path, dist, version, entry_points or {}, files or {})
    return make


@pytest.fixture(autouse=True, scope='session')
def _one_thread():
    """Tiny models in-process: threads only add overhead (subprocess runs keep their own)."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
