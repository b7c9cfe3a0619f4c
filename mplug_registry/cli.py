"""``mplug-registry``: train, test, infer; list components and plugins, show a component, check or
draw a config."""
import argparse
import contextlib
import importlib
import inspect
import json
import sys

from .errors import ConfigError, close_match
from .runtime import user_errors

#: commands run by mplug_registry.commands.<name>.main(argv), imported only when called (torch, ...)
RUN_COMMANDS = {
    'train': 'train a model from a config (tools/train.py)',
    'test': 'evaluate a checkpoint on the test set of a config (tools/test.py)',
    'infer': 'predict on one image, video or text (tools/infer.py)',
}


def _records(kind=None):
    from .registry import ALL
    rows = []
    for reg in ALL.values():
        for name, k, plugin, dist, version, obj in reg.records():
            if kind is None or k == kind:
                rows.append(dict(name=name, kind=k, registry=reg.name, plugin=plugin,
                                 distribution=dist, version=version,
                                 module=getattr(obj, '__module__', '')))
    return rows


def cmd_list(args):
    from .kinds import KINDS
    if args.kind and args.kind not in KINDS:
        match = close_match(args.kind, KINDS)
        raise ConfigError('--kind', f"unknown kind '{args.kind}'",
                          f"did you mean '{match}'?" if match else f'kinds: {", ".join(KINDS)}')
    rows = _records(args.kind)
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    order = {k: i for i, k in enumerate(KINDS)}
    rows.sort(key=lambda r: (order.get(r['kind'], 99), r['name']))
    w = max([len(r['name']) for r in rows] + [4])
    print(f"{'NAME':<{w}}  {'KIND':<9}  {'PLUGIN':<11}  DISTRIBUTION")
    for r in rows:
        print(f"{r['name']:<{w}}  {r['kind']:<9}  {r['plugin']:<11}  "
              f"{r['distribution']} {r['version']}".rstrip())
    print(f'{len(rows)} components')


def cmd_plugins(args):
    from .plugin_manager import get_plugin_manager
    pm = get_plugin_manager()
    if args.json:
        print(json.dumps([dict(name=r.name, distribution=r.dist, version=r.version,
                               status=r.status, error=r.error, target=r.value,
                               components=[n for _, n in r.components]) for r in pm.records],
                         indent=1))
        return
    for r in pm.records:
        line = f'{r.status:<8}  {r.name:<12}  {r.dist} {r.version}  ({r.value})'
        if r.status == 'loaded':
            line += f'  {len(r.components)} components'
        print(line)
        if r.status == 'failed':
            print(f'          error: {r.error}')
            if args.verbose:
                print('          ' + r.details.replace('\n', '\n          '))
    failed = sum(r.status == 'failed' for r in pm.records)
    print(f'{len(pm.records)} plugins, {failed} failed')


def cmd_show(args):
    from .builder import constructor_params
    from .registry import ALL
    matches = [(reg, rec) for reg in ALL.values() for rec in reg.records() if rec[0] == args.name]
    if not matches:
        names = [r['name'] for r in _records()]
        match = close_match(args.name, names)
        raise ConfigError('NAME', f"no component named '{args.name}'",
                          f"did you mean '{match}'?" if match else 'see `mplug-registry list`')
    for reg, (name, kind, plugin, dist, version, _) in matches:
        obj = reg.get(name)  # imports a lazily listed component
        print(f'{name}  [kind: {kind}, registry: {reg.name}, plugin: {plugin}, '
              f'distribution: {dist} {version}]')
        print(f'  defined in {obj.__module__}')
        print('  arguments:')
        for pname, default in constructor_params(obj).items():
            shown = '(required)' if default is inspect.Parameter.empty else f'= {default!r}'
            print(f'    {pname} {shown}')
        doc = inspect.getdoc(obj) or '(no docstring)'
        print('\n  ' + doc.replace('\n', '\n  '))


def _build_model(path):
    """``(config, its model)``; the config's data need not exist yet (listed on stderr if it does
    not)."""
    from .config import load_config, validate_config
    missing = []
    # notices of libraries imported by the checks (DeepSpeed's accelerator line) go to stderr
    with contextlib.redirect_stdout(sys.stderr):
        cfg = load_config(path)
        model = validate_config(cfg, missing_data=missing)
    for err in missing:
        print(f'note: data not found (training and testing need it): {err}', file=sys.stderr)
    return cfg, model


def cmd_check(args):
    from .table2 import describe
    cfg, model = _build_model(args.config)
    from .toolbox import view_of
    rows = view_of(model).composition()
    w = max(len(r[0]) for r in rows)
    print(f'{type(model).__name__} from {args.config}')
    for slot, name, kind, params in rows:
        print(f'  {slot:<{w}}  {name:<28} {kind:<9} {params:>12,} params')
    total = sum(p.numel() for p in model.parameters())
    print(f'  {"total":<{w}}  {"":<28} {"":<9} {total:>12,} params')
    for line in describe(cfg, model):
        print(line)


def cmd_graph(args):
    from .graph import draw_composition
    from .toolbox import view_of
    _, model = _build_model(args.config)
    draw_composition(view_of(model), args.output, title=args.config)
    print(f'wrote {args.output}')


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in RUN_COMMANDS:
        command = importlib.import_module(f'mplug_registry.commands.{argv[0]}')
        command.main(argv[1:], prog=f'mplug-registry {argv[0]}')
        return 0
    p = argparse.ArgumentParser(prog='mplug-registry', description=__doc__)
    sub = p.add_subparsers(dest='command', required=True)
    for name, text in RUN_COMMANDS.items():   # listed in --help; their own parsers take the rest
        sub.add_parser(name, help=text, add_help=False)
    s = sub.add_parser('list', help='every registered component with kind, plugin, distribution')
    s.add_argument('--kind', help='only this kind (encoder, universal, fusion, decoder, head, '
                   'task, dataset, transform, metric, other)')
    s.add_argument('--json', action='store_true')
    s.set_defaults(func=cmd_list)
    s = sub.add_parser('plugins', help='loaded and failed plugins with versions')
    s.add_argument('--json', action='store_true')
    s.add_argument('-v', '--verbose', action='store_true', help='full tracebacks of failures')
    s.set_defaults(func=cmd_plugins)
    s = sub.add_parser('show', help="a component's arguments and docstring")
    s.add_argument('name')
    s.set_defaults(func=cmd_show)
    s = sub.add_parser('check', help='build the model of a config and print its composition')
    s.add_argument('config')
    s.set_defaults(func=cmd_check)
    s = sub.add_parser('graph', help='draw the composed model of a config to a PNG')
    s.add_argument('config')
    s.add_argument('-o', '--output', default='model.png')
    s.set_defaults(func=cmd_graph)
    args = p.parse_args(argv)
    with user_errors('mplug-registry'):
        # what plugins print while they load (e.g. DeepSpeed's accelerator notice when an index is
        # rebuilt) goes to stderr, so `list --json` and friends stay machine-readable
        with contextlib.redirect_stdout(sys.stderr):
            from .plugin_manager import get_plugin_manager
            get_plugin_manager()
        args.func(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
