"""The README's "Writing a plugin package" section, followed as written: files, install, list, use."""
import json
import re
import subprocess
import sys

from conftest import ROOT, run_cli, run_py


def readme_files():
    """{path: content} of the README code blocks whose first line is '# file: PATH'."""
    text = (ROOT / 'README.md').read_text()
    files = {}
    for block in re.findall(r'```\w*\n(.*?)```', text, flags=re.S):
        first, _, rest = block.partition('\n')
        if first.startswith('# file: '):
            files[first[len('# file: '):].strip()] = rest
    return files


def test_readme_plugin_package_installs_lists_and_builds(tmp_path):
    files = readme_files()
    assert {'mplug-cosine-head/setup.cfg', 'mplug-cosine-head/pyproject.toml',
            'mplug-cosine-head/mplug_cosine_head.py', 'my_digits.py'} <= set(files)
    for rel, content in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(content)
    site = tmp_path / 'site'
    # the README installs into the project's venv; here into a private target dir on PYTHONPATH
    subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-build-isolation', '--no-deps',
                    '-q', '--target', str(site), str(tmp_path / 'mplug-cosine-head')],
                   check=True, capture_output=True)
    rows = json.loads(run_cli('list', '--kind', 'head', '--json', extra_path=site).stdout)
    row = {r['name']: r for r in rows}['CosineHead']
    assert (row['plugin'], row['distribution'], row['version']) == \
        ('cosine_head', 'mplug-cosine-head', '0.1.0')
    plugins = run_cli('plugins', extra_path=site).stdout
    assert re.search(r'loaded\s+cosine_head\s+mplug-cosine-head 0.1.0', plugins)
    # the README's config, placed at the repository root as the README says
    config = ROOT / 'my_digits_readme_test.py'
    config.write_text(files['my_digits.py'])
    try:
        proc = run_cli('check', str(config), extra_path=site)
        assert proc.returncode == 0, proc.stderr
        assert re.search(r'heads\.cls\s+CosineHead\s+head\s+1,920 params', proc.stdout)
        out = run_py(f'''
            import torch
            from mplug_registry.builder import build_component
            from mplug_registry.config import load_config
            from mplug_registry.structures import MultimodalDataSample
            model = build_component(load_config({str(config)!r}).model.to_dict(), 'model', 'task')
            data = model.data_preprocessor(dict(
                inputs=list(torch.randint(0, 255, (4, 3, 32, 32), dtype=torch.uint8)),
                data_samples=[MultimodalDataSample(gt_label=torch.tensor(i)) for i in range(4)]))
            loss = model(**data, mode='loss')['cls.loss_cls']
            loss.backward()
            print(float(loss) > 0, model.heads.cls.weight.grad.abs().sum().item() > 0)
        ''', extra_path=site).stdout.split()
        assert out == ['True', 'True']
    finally:
        config.unlink()
