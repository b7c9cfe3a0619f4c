"""Draw a composed model: slots as boxes (type, kind, parameters), data flow as arrows."""
from .model.base import memory_parts
from .model.composed import SLOTS, count_params

_COLORS = {'input': '#e8e8e8', 'encoder': '#cfe2ff', 'universal': '#d1f0d1', 'fusion': '#ffe5b4',
           'decoder': '#f8d0e0', 'head': '#e6d9f7'}
_STAGE = {'vision_encoder': 1, 'text_encoder': 1, 'universal': 2, 'fusion': 3, 'decoder': 4}


def composition_graph(model):
    """``(nodes, edges)``: nodes ``{id: (column, label, kind)}``, edges ``[(src, dst, stream)]``."""
    nodes, edges, streams = {}, [], {}
    for slot in SLOTS:
        module = getattr(model, slot, None)
        if module is None:
            continue
        label = f'{slot}\n{type(module).__name__}\n{count_params(module):,} params'
        nodes[slot] = (_STAGE[slot], label, SLOTS[slot])
        if slot == 'vision_encoder':
            nodes['images'] = (0, 'images / video\n[B,(T,)3,H,W]', 'input')
            edges.append(('images', slot, ''))
            streams['vision'] = slot
        elif slot == 'text_encoder':
            nodes['text'] = (0, 'text\ntoken ids', 'input')
            edges.append(('text', slot, ''))
            streams['text'] = slot
        elif slot in ('universal', 'fusion'):
            for stream in ('vision', 'text'):
                if stream in streams:
                    edges.append((streams[stream], slot, stream))
            if slot == 'universal':
                streams.update({s: slot for s in ('vision', 'text') if s in streams})
            else:
                streams['fused'] = slot
        elif slot == 'decoder':
            for stream in memory_parts(module):
                if stream in streams:
                    edges.append((streams[stream], slot, stream))
            streams['decoder'] = slot
    for name, head in model.heads.items():
        hid = f'heads.{name}'
        nodes[hid] = (5, f'head "{name}"\n{type(head).__name__}\n{count_params(head):,} params',
                      'head')
        for stream in getattr(head, 'requires', ()):
            if stream in streams:
                edges.append((streams[stream], hid, stream))
    return nodes, edges


def draw_composition(model, path, title=''):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch
    nodes, edges = composition_graph(model)
    columns = {}
    for nid, (col, _, _) in nodes.items():
        columns.setdefault(col, []).append(nid)
    used = sorted(columns)
    xpos = {c: i * 2.6 for i, c in enumerate(used)}
    pos = {}
    for col, ids in columns.items():
        for j, nid in enumerate(ids):
            pos[nid] = (xpos[col], (len(ids) - 1) / 2 * 1.6 - j * 1.6)
    fig_w = max(6, 2.6 * len(used) + 1)
    fig_h = max(3, 1.6 * max(len(v) for v in columns.values()) + 1.2)
    fig, ax = plt.subplots(figsize=(fig_w, fig_h))
    bw, bh = 2.0, 1.1
    for nid, (col, label, kind) in nodes.items():
        x, y = pos[nid]
        ax.add_patch(FancyBboxPatch((x - bw / 2, y - bh / 2), bw, bh,
                                    boxstyle='round,pad=0.05', fc=_COLORS.get(kind, 'white'),
                                    ec='#333333', lw=1.2))
        ax.text(x, y, label, ha='center', va='center', fontsize=8)
    for src, dst, stream in edges:
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        ax.annotate('', xy=(x1 - bw / 2, y1), xytext=(x0 + bw / 2, y0),
                    arrowprops=dict(arrowstyle='->', color='#444444', lw=1.2))
        if stream:
            ax.text((x0 + x1) / 2, (y0 + y1) / 2 + 0.12, stream, ha='center', fontsize=7,
                    color='#555555')
    ax.set_xlim(-1.3, max(xpos.values()) + 1.3)
    ys = [p[1] for p in pos.values()]
    ax.set_ylim(min(ys) - 1, max(ys) + 1)
    ax.axis('off')
    ax.set_title(f'{type(model).__name__}: {title}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
