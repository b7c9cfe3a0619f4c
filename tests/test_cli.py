"""The `mplug-registry` command: list, plugins, show, check, graph, and one-line errors."""
import json

from conftest import ROOT, run_cli, run_py

CONFIG = str(ROOT / 'configs/image_classification/digits_tiny.py')


def test_list_json_has_components_of_several_kinds():
    proc = run_cli('list', '--json')
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    kinds = {r['kind'] for r in rows}
    assert {'encoder', 'universal', 'head', 'task', 'dataset', 'transform', 'metric'} <= kinds
    for row in rows:
        assert row['plugin'] and row['distribution'] == 'mplug-registry'


def test_list_filters_by_kind_and_rejects_unknown_kinds():
    proc = run_cli('list', '--kind', 'encoder')
    assert 'DualVisionEncoder' in proc.stdout and 'ClassificationHead' not in proc.stdout
    proc = run_cli('list', '--kind', 'encodr')
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("mplug-registry: error: --kind: unknown kind 'encodr' "
                                   "(did you mean 'encoder'?)")


def test_show_prints_arguments_defaults_and_docstring():
    proc = run_cli('show', 'UniversalLayers')
    assert proc.returncode == 0
    assert 'kind: universal' in proc.stdout
    assert 'num_latents = 50' in proc.stdout and 'num_layers = 2' in proc.stdout
    assert 'eqs. 6-10' in proc.stdout
    assert 'num_classes (required)' in run_cli('show', 'ClassificationHead').stdout
    assert 'size (required)' in run_cli('show', 'ImageResize').stdout   # a transform, lazily listed


def test_check_prints_composition_with_parameter_counts():
    proc = run_cli('check', CONFIG)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    slots = [ln.split()[0] for ln in lines[1:5]]
    assert slots == ['vision_encoder', 'universal', 'heads.cls', 'total']
    counts = [int(ln.split()[-2].replace(',', '')) for ln in lines[1:5]]
    assert sum(counts[:-1]) == counts[-1] and counts[2] == 192 * 10 + 10
    assert lines[5:] == ["mPLUG-2 Table 2 row 'Image Classification': image enc, universal",
                         '  this config: image enc, universal (matches the row)']


def test_check_reports_config_errors_in_one_line(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text(f"_base_ = ['{CONFIG}']\n"
                   "model = dict(fusion=dict(type='DualVisionEncoder'))\n")
    proc = run_cli('check', str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "mplug-registry: error: model.fusion.type: 'DualVisionEncoder' is a encoder, but this "
        'slot takes a fusion']
    proc = run_cli('check', str(tmp_path / 'missing.py'))
    assert proc.returncode == 2 and 'no config file at' in proc.stderr


def test_graph_writes_a_png(tmp_path):
    out = tmp_path / 'model.png'
    proc = run_cli('graph', CONFIG, '-o', str(out))
    assert proc.returncode == 0, proc.stderr
    data = out.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 5000


def test_composition_graph_edges_follow_the_data_flow():
    from mplug_registry.builder import build_component
    from mplug_registry.config import load_config
    from mplug_registry.graph import composition_graph
    model = build_component(load_config(CONFIG).model.to_dict(), 'model', 'task')
    nodes, edges = composition_graph(model)
    assert set(nodes) == {'images', 'vision_encoder', 'universal', 'heads.cls'}
    assert edges == [('images', 'vision_encoder', ''), ('vision_encoder', 'universal', 'vision'),
                     ('universal', 'heads.cls', 'vision')]


def test_run_commands_take_the_tools_arguments_and_report_errors_in_one_line(tmp_path):
    proc = run_cli('--help')
    assert all(name in proc.stdout for name in ('train', 'test', 'infer'))
    proc = run_cli('train', '--help')
    assert proc.returncode == 0 and proc.stdout.startswith('usage: mplug-registry train')
    assert all(opt in proc.stdout for opt in ('--work-dir', '--resume', '--cfg-options', '--amp',
                                              '--launcher'))
    proc = run_cli('infer', CONFIG, str(tmp_path / 'missing.pth'), '--video', 'clip.mp4')
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"mplug-registry infer: error: checkpoint: no checkpoint file at '{tmp_path}/missing.pth'"]
    proc = run_cli('test', CONFIG, str(tmp_path / 'missing.pth'))
    assert proc.returncode == 2 and 'mplug-registry test: error: checkpoint: ' in proc.stderr


def test_importing_the_cli_imports_no_torch():
    proc = run_py('import sys, mplug_registry.cli\n'
                  'print(sorted(m for m in ("torch", "mmengine", "mmcv") if m in sys.modules))')
    assert proc.stdout.strip() == '[]'
