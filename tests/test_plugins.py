"""Plugin discovery through entry points: isolation of failures, blocking, strict mode, duplicates."""
import json

from conftest import run_cli, run_py

GOOD = {'goodplug/__init__.py': '''
    from mplug_registry import hookimpl

    @hookimpl
    def mplug_registry_register(registries):
        from . import comps
    ''', 'goodplug/comps.py': '''
    from mplug_registry.model.base import BaseHead
    from mplug_registry.registry import MODELS

    @MODELS.register_module()
    class GoodTestHead(BaseHead):
        """A head from a third-party package."""
        def __init__(self, num_classes=3):
            super().__init__()
            self.num_classes = num_classes
    '''}

BROKEN = {'brokenplug/__init__.py': '''
    import this_module_does_not_exist_anywhere
    '''}


def test_builtin_plugins_are_loaded_through_entry_points():
    proc = run_cli('plugins', '--json')
    assert proc.returncode == 0, proc.stderr
    recs = {r['name']: r for r in json.loads(proc.stdout)}
    for family in ('encoders', 'universal', 'heads', 'tasks', 'datasets', 'transforms', 'metrics'):
        assert recs[family]['status'] == 'loaded', recs[family]
        assert recs[family]['distribution'] == 'mplug-registry'
    assert 'DualVisionEncoder' in recs['encoders']['components']
    assert 'ComposedModel' in recs['tasks']['components']


def test_third_party_plugin_is_listed_and_usable(plugin_dist):
    root = plugin_dist('good-plug', '1.2.3', {'good': 'goodplug'}, GOOD)
    proc = run_cli('list', '--kind', 'head', '--json', extra_path=root)
    rows = {r['name']: r for r in json.loads(proc.stdout)}
    assert rows['GoodTestHead']['kind'] == 'head'
    assert rows['GoodTestHead']['plugin'] == 'good'
    assert rows['GoodTestHead']['distribution'] == 'good-plug'
    out = run_py('''
        from mplug_registry.registry import MODELS
        head = MODELS.build(dict(type='GoodTestHead', num_classes=7))
        print(type(head).__name__, head.num_classes)
    ''', extra_path=root).stdout
    assert out.split() == ['GoodTestHead', '7']


def test_failing_plugin_leaves_host_working_and_is_reported(plugin_dist):
    root = plugin_dist('broken-plug', '0.9', {'broken': 'brokenplug'}, BROKEN)
    proc = run_py('''
        from mplug_registry.registry import MODELS
        print(MODELS.get('DualVisionEncoder').__name__)
    ''', extra_path=root)
    assert proc.stdout.strip() == 'DualVisionEncoder'
    warnings = [ln for ln in proc.stderr.splitlines() if 'broken' in ln]
    assert len(warnings) == 1, proc.stderr
    assert 'broken-plug' in warnings[0] and 'ModuleNotFoundError' in warnings[0]
    proc = run_cli('plugins', '--json', extra_path=root)
    rec = {r['name']: r for r in json.loads(proc.stdout)}['broken']
    assert rec['status'] == 'failed' and rec['distribution'] == 'broken-plug'
    assert rec['version'] == '0.9' and 'this_module_does_not_exist_anywhere' in rec['error']


def test_strict_mode_makes_plugin_failures_fatal(plugin_dist):
    root = plugin_dist('broken-plug', '0.9', {'broken': 'brokenplug'}, BROKEN)
    proc = run_cli('list', extra_path=root, env={'MPLUG_REGISTRY_STRICT_PLUGINS': '1'})
    assert proc.returncode == 2
    assert "plugin 'broken' (distribution broken-plug) failed to load" in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_disable_env_blocks_plugins_by_name():
    proc = run_cli('plugins', '--json', env={'MPLUG_REGISTRY_DISABLE_PLUGINS': 'heads, metrics'})
    recs = {r['name']: r['status'] for r in json.loads(proc.stdout)}
    assert recs['heads'] == 'disabled' and recs['metrics'] == 'disabled'
    assert recs['encoders'] == 'loaded'
    proc = run_cli('list', '--json', env={'MPLUG_REGISTRY_DISABLE_PLUGINS': 'heads'})
    assert 'ClassificationHead' not in {r['name'] for r in json.loads(proc.stdout)}


def test_duplicate_component_names_name_both_distributions(plugin_dist):
    dup = {'dupplug/__init__.py': '''
        from mplug_registry.model.base import BaseHead
        from mplug_registry.registry import MODELS

        @MODELS.register_module(name='ClassificationHead')
        class Other(BaseHead):
            pass

        @MODELS.register_module()
        class DupOnlyHead(BaseHead):
            pass
        '''}
    root = plugin_dist('dup-plug', '2.0', {'dup': 'dupplug'}, dup)
    proc = run_cli('plugins', '--json', extra_path=root)
    rec = {r['name']: r for r in json.loads(proc.stdout)}['dup']
    assert rec['status'] == 'failed'
    assert 'ClassificationHead' in rec['error']
    assert 'mplug-registry' in rec['error'] and 'dup-plug' in rec['error']
    # the failed plugin's other registrations are rolled back; the original stays
    out = run_py('''
        from mplug_registry.registry import MODELS
        print(MODELS.get('DupOnlyHead'), MODELS.get('ClassificationHead').__module__)
    ''', extra_path=root).stdout.split()
    assert out == ['None', 'mplug_registry_plugins.heads.classification']
    proc = run_cli('list', extra_path=root, env={'MPLUG_REGISTRY_STRICT_PLUGINS': '1'})
    assert proc.returncode == 2 and 'registered twice' in proc.stderr


def test_plugin_config_dirs_resolve_plugin_paths(plugin_dist):
    files = dict(GOOD)
    files['goodplug/__init__.py'] += '''
    @hookimpl
    def mplug_registry_config_dirs():
        import os
        return [os.path.join(os.path.dirname(__file__), 'configs')]
    '''
    files['goodplug/configs/demo/cfg.py'] = 'x = 1\n'
    root = plugin_dist('good-plug', '1.0', {'good': 'goodplug'}, files)
    out = run_py('''
        from mplug_registry.config import load_config
        print(load_config('good::demo/cfg.py').x, load_config('good-plug::demo/cfg.py').x)
    ''', extra_path=root).stdout.split()
    assert out == ['1', '1']
    proc = run_py('''
        from mplug_registry.config import load_config
        load_config('godo::demo/cfg.py')
    ''', extra_path=root, check=False)
    assert "no plugin named 'godo'" in proc.stderr and "did you mean 'good'" in proc.stderr


def test_discovery_does_not_import_heavy_libraries():
    run_cli('list')  # builds the component index if this is a fresh machine
    out = run_py('''
        import sys
        import mplug_registry
        from mplug_registry.cli import main
        main(['list', '--json'])
        heavy = [m for m in ('mmdet', 'mmseg', 'transformers', 'deepspeed', 'torch')
                 if m in sys.modules]
        print('HEAVY', heavy)
    ''').stdout
    assert out.strip().splitlines()[-1] == 'HEAVY []'


LAZY = {'lazyplug/__init__.py': '''
    from mplug_registry import hookimpl

    @hookimpl
    def mplug_registry_register(registries):
        from mplug_registry.lazy import register_package
        register_package(__name__, __path__)
    ''', 'lazyplug/one.py': '''
    from mplug_registry.model.base import BaseFusion
    from mplug_registry.registry import MODELS

    @MODELS.register_module()
    class LazyOneFusion(BaseFusion):
        """First fusion."""
        def __init__(self, width=4):
            super().__init__()
            self.width = width
    '''}


def test_lazy_index_lists_without_import_and_follows_file_changes(plugin_dist, tmp_path):
    root = plugin_dist('lazy-plug', '1.0', {'lazy': 'lazyplug'}, LAZY)
    env = {'MPLUG_REGISTRY_CACHE': str(tmp_path / 'cache')}
    probe = '''
        import json, sys
        from mplug_registry.cli import _records
        rows = {r['name']: r for r in _records() if r['plugin'] == 'lazy'}
        print(json.dumps([sorted(rows), [rows[n]['kind'] for n in sorted(rows)],
                          'lazyplug.one' in sys.modules]))
    '''
    import json
    cold = json.loads(run_py(probe, extra_path=root, env=env).stdout.splitlines()[-1])
    assert cold == [['LazyOneFusion'], ['fusion'], True]          # first run imports, indexes
    warm = json.loads(run_py(probe, extra_path=root, env=env).stdout.splitlines()[-1])
    assert warm == [['LazyOneFusion'], ['fusion'], False]         # then lists without importing
    (root / 'lazyplug' / 'two.py').write_text(
        'from mplug_registry.model.base import BaseHead\n'
        'from mplug_registry.registry import MODELS\n\n\n'
        '@MODELS.register_module()\nclass LazyTwoHead(BaseHead):\n    pass\n')
    changed = json.loads(run_py(probe, extra_path=root, env=env).stdout.splitlines()[-1])
    assert changed[:2] == [['LazyOneFusion', 'LazyTwoHead'], ['fusion', 'head']]
    out = run_py('''
        from mplug_registry.registry import MODELS
        cls = MODELS.get('LazyOneFusion')
        print(cls.__name__, MODELS.build(dict(type='LazyOneFusion', width=7)).width,
              MODELS.owner_of('LazyOneFusion')[:2])
    ''', extra_path=root, env=env).stdout.strip().splitlines()[-1]
    assert out == "LazyOneFusion 7 ('lazy', 'lazy-plug')"


def test_importing_a_plugin_module_first_keeps_the_family_working(tmp_path):
    """User code may import a built-in module before any registry lookup loads the plugins."""
    out = run_py('''
        from mplug_registry_plugins.fusion.cross_attention import CrossAttentionFusion
        from mplug_registry.registry import MODELS
        from mplug_registry.plugin_manager import get_plugin_manager
        MODELS.get('SkipConnectedFusion')
        rec = get_plugin_manager().get('fusion')
        print(rec.status, MODELS.owner_of('CrossAttentionFusion')[0],
              MODELS.get('CrossAttentionFusion') is CrossAttentionFusion,
              len(rec.components))
    ''', env={'MPLUG_REGISTRY_CACHE': str(tmp_path)}).stdout.splitlines()[-1].split()
    assert out == ['loaded', 'fusion', 'True', '4']


def test_each_component_belongs_to_the_family_that_defines_it():
    """The heads import a metric module; the metric still belongs to the metrics family."""
    from mplug_registry.cli import _records
    rows = [r for r in _records() if r['module'].startswith('mplug_registry_plugins.')]
    wrong = [(r['name'], r['plugin'], r['module']) for r in rows
             if r['module'].split('.')[1] != r['plugin']]
    assert rows and wrong == []
