"""Draw a composed model: slots as boxes (type, kind, parameters), data flow as arrows.

:func:`layout_composition` places everything by hand, in inches: nodes in columns by their longest
path from the inputs; one port per edge on each side of a box, so parallel streams between two
boxes are separate arrows; edges are orthogonal polylines whose vertical runs each get their own
track in the gap between two columns; an edge that skips columns runs in a corridor above or below
the boxes it passes. Each stream label sits on the last horizontal run of its edge, in a strip of
the gap that no vertical run enters. :func:`draw_composition` renders that layout at its own size.
"""
from dataclasses import dataclass, field

_COLORS = {'input': '#e8e8e8', 'encoder': '#cfe2ff', 'neck': '#d9f2f2', 'universal': '#d1f0d1',
           'fusion': '#ffe5b4', 'decoder': '#f8d0e0', 'head': '#e6d9f7'}
_INPUT_LABELS = {'images': 'images / video\n[B,(T,)3,H,W]', 'video': 'video\n[B,T,3,H,W]',
                 'text': 'text\ntoken ids'}

# lengths in inches (drawn at one data unit per inch), fonts in points
NODE_FONT, LABEL_FONT, TITLE_FONT = 8, 7, 9
BOX_PAD = 0.12        # node text to box border
PORT_STEP = 0.24      # between two ports on one side of a box; more than a label's height
ROW_GAP = 0.45        # between two boxes of a column
TRACK_STEP = 0.14     # between two vertical tracks of a gap, or two corridors on one side
GAP_MARGIN = 0.16     # box side to the first track; around the label strip; corridor to boxes
ARROW_ROOM = 0.08     # arrow head, between the label strip and the target box
LABEL_PAD = 0.035     # label text to its white box
MARGIN = 0.2          # around the drawing
TITLE_ROOM = 0.35     # title band at the top


@dataclass
class Node:
    id: str
    text: str
    kind: str
    column: int
    rect: tuple = None            # (x0, y0, x1, y1)


@dataclass
class Edge:
    src: str
    dst: str
    stream: str
    points: list = field(default_factory=list)    # polyline from src's right to dst's left side
    label_rect: tuple = None      # white box of the stream label; None for an unlabelled edge


@dataclass
class Layout:
    width: float
    height: float
    nodes: dict                   # id -> Node
    edges: list                   # [Edge]
    title: str = ''

    def label_boxes(self):
        """``[(stream, rect)]`` of the labelled edges."""
        return [(e.stream, e.label_rect) for e in self.edges if e.label_rect is not None]


# ---------------------------------------------------------------------------------- the data
def _columns(node_ids, edges, outputs=()):
    """Column of each node: the longest path to it from a node without inputs (0 for inputs);
    the ``outputs`` (the heads) share the last column."""
    preds = {n: [] for n in node_ids}
    for src, dst, _ in edges:
        preds[dst].append(src)
    column, visiting = {}, set()

    def visit(n):
        if n not in column:
            if n in visiting:
                raise ValueError(f'the data flow has a cycle through {n!r}')
            visiting.add(n)
            column[n] = max((visit(p) + 1 for p in preds[n]), default=0)
        return column[n]
    for n in node_ids:
        visit(n)
    last = max(column.values(), default=0)
    return {n: last if n in outputs else c for n, c in column.items()}


def composition_graph(model):
    """``(nodes, edges)`` of a model with ``composition()`` and ``data_flow()`` (a
    :class:`~mplug_registry.model.composed.ComposedModel`): nodes ``{id: (column, label, kind)}``,
    edges ``[(src, dst, stream)]``."""
    from .toolbox import view_of
    model = view_of(model)   # an mmdet / mmseg model: its parts as slots
    edges = list(dict.fromkeys(tuple(e) for e in model.data_flow()))
    info = {}
    for slot, name, kind, params in model.composition():
        title = f'head "{slot[len("heads."):]}"' if slot.startswith('heads.') else slot
        info[slot] = (f'{title}\n{name}\n{params:,} params', kind)
    ids = list(dict.fromkeys([n for e in edges for n in e[:2] if n not in info] + list(info)))
    for n in ids:
        info.setdefault(n, (_INPUT_LABELS.get(n, n), 'input'))
    column = _columns(ids, edges, outputs=[n for n in ids if info[n][1] == 'head'])
    return {n: (column[n], *info[n]) for n in ids}, edges


# ---------------------------------------------------------------------------------- the layout
def _text_size(text, size):
    """(width, height) in inches of ``text`` (lines joined by newlines) at ``size`` points."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath
    prop, measure = FontProperties(size=size), TextToPath()
    lines = text.split('\n')
    width = max(measure.get_text_width_height_descent(line, prop, ismath=False)[0]
                for line in lines)
    return width / 72, len(lines) * 1.2 * size / 72


def _order_columns(nodes, edges):
    """Nodes of each column top to bottom: by the mean rank of their sources (one sweep)."""
    columns = {}
    for nid, node in nodes.items():
        columns.setdefault(node.column, []).append(nid)
    rank = {}
    for c in sorted(columns):
        ids = columns[c]
        keys = {}
        for i, n in enumerate(ids):
            src = [rank[s] for s, d, _ in edges if d == n and s in rank]
            keys[n] = sum(src) / len(src) if src else (i + 0.5) / len(ids)
        ids.sort(key=keys.get)
        rank.update({n: (i + 0.5) / len(ids) for i, n in enumerate(ids)})
    return columns


def _pack(wants, heights):
    """Centres closest (least squares) to ``wants`` that keep the boxes in order, top to bottom,
    ``ROW_GAP`` apart: blocks of touching boxes merge and sit at the mean of their wishes."""
    blocks = []                          # [first index, offsets below the first centre, sum]
    for i, want in enumerate(wants):
        blocks.append([i, [0.0], want])
        while len(blocks) > 1:
            (a, off_a, sum_a), (b, off_b, sum_b) = blocks[-2], blocks[-1]
            last = a + len(off_a) - 1
            sep = off_a[-1] + heights[last] / 2 + ROW_GAP + heights[b] / 2
            if sum_a / len(off_a) - sep >= sum_b / len(off_b) - 1e-12:
                break
            blocks[-2] = [a, off_a + [o + sep for o in off_b], sum_a + sum_b + sep * len(off_b)]
            blocks.pop()
    return [s / len(offs) - o for _, offs, s in blocks for o in offs]


def _port_offsets(nodes, edges, centre):
    """Height of each edge's out- and in-port relative to its box centre: ports ordered by the
    height of the box at the other end, so that edges between two columns do not cross."""
    out_off, in_off = {}, {}
    for n in nodes:
        order = sorted((i for i, e in enumerate(edges) if e[0] == n),
                       key=lambda i: (-centre[edges[i][1]], i))
        out_off.update(zip(order, _ports(len(order), 0.0)))
        order = sorted((i for i, e in enumerate(edges) if e[1] == n),
                       key=lambda i: (-centre[edges[i][0]], i))
        in_off.update(zip(order, _ports(len(order), 0.0)))
    return out_off, in_off


def _place_rows(nodes, columns, edges, heights, sweeps=3):
    """Vertical centres: columns stacked, then sweeps left to right and back that move each box
    to where its edges from the previous (next) columns would run straight."""
    centre = {}
    for ids in columns.values():
        wants = [-sum(heights[m] + ROW_GAP for m in ids[:k]) for k in range(len(ids))]
        placed = _pack(wants, [heights[n] for n in ids])
        mid = (placed[0] + heights[ids[0]] / 2 + placed[-1] - heights[ids[-1]] / 2) / 2
        centre.update({n: y - mid for n, y in zip(ids, placed)})
    order = sorted(columns)
    for sweep in range(2 * sweeps + 1):
        forward = sweep % 2 == 0
        out_off, in_off = _port_offsets(nodes, edges, centre)
        for c in order if forward else order[::-1]:
            ids = columns[c]
            wants = []
            for n in ids:
                if forward:
                    ys = [centre[s] + out_off[i] - in_off[i] for i, (s, d, _) in enumerate(edges)
                          if d == n]
                else:
                    ys = [centre[d] + in_off[i] - out_off[i] for i, (s, d, _) in enumerate(edges)
                          if s == n]
                wants.append(sum(ys) / len(ys) if ys else centre[n])
            centre.update(zip(ids, _pack(wants, [heights[n] for n in ids])))
    return centre


def _ports(count, centre):
    """``count`` port heights on one side of a box, top first."""
    return [centre + ((count - 1) / 2 - k) * PORT_STEP for k in range(count)]


def _corridors(edges, nodes, columns, centre, heights):
    """A corridor height for each edge that skips columns: above or below the boxes it passes
    (whichever bends less); corridors sharing gaps stack outwards, the one whose ends lie
    nearest to the boxes innermost, so that their bends do not cross."""
    wanted = []                          # (side, nearness, edge, first gap, last gap, base)
    for i, (src, dst, _) in enumerate(edges):
        c0, c1 = nodes[src].column, nodes[dst].column
        if c1 - c0 < 2:
            continue
        passed = [n for c in range(c0 + 1, c1) for n in columns[c]]
        top = max(centre[n] + heights[n] / 2 for n in passed) + GAP_MARGIN
        bottom = min(centre[n] - heights[n] / 2 for n in passed) - GAP_MARGIN
        bend = {y: abs(centre[src] - y) + abs(centre[dst] - y) for y in (top, bottom)}
        side = 1 if bend[top] <= bend[bottom] else -1
        wanted.append((side, side * (centre[src] + centre[dst]), i, c0, c1 - 1,
                       top if side == 1 else bottom))
    taken, corridor = [], {}             # taken: (side, first gap, last gap, height)
    for side, _, i, first, last, y in sorted(wanted):
        while any(s == side and a <= last and first <= b and abs(h - y) < TRACK_STEP * 0.99
                  for s, a, b, h in taken):
            y += side * TRACK_STEP
        taken.append((side, first, last, y))
        corridor[i] = y
    return corridor


def _assign_tracks(runs):
    """Order the vertical runs of one gap left to right (fewest crossings for runs that go the
    same way: a run going down starts further right the higher it starts, and the reverse for
    runs going up). ``runs``: [(key, y_from, y_to)] -> {key: track index}."""
    down = sorted((r for r in runs if r[1] > r[2]), key=lambda r: r[1])
    up = sorted((r for r in runs if r[1] <= r[2]), key=lambda r: -r[1])
    return {r[0]: k for k, r in enumerate(down + up)}


def layout_composition(model, title=''):
    """Place the composition of ``model``: node rectangles, edge polylines and label boxes, in
    inches, with the origin at the bottom left of a ``width`` x ``height`` figure."""
    graph, edges = composition_graph(model)
    nodes = {n: Node(n, text, kind, col) for n, (col, text, kind) in graph.items()}
    columns = _order_columns(nodes, edges)
    text_size = {n: _text_size(node.text, NODE_FONT) for n, node in nodes.items()}
    outs = {n: [i for i, e in enumerate(edges) if e[0] == n] for n in nodes}
    ins = {n: [i for i, e in enumerate(edges) if e[1] == n] for n in nodes}
    heights = {n: max(text_size[n][1] + 2 * BOX_PAD, (max(len(outs[n]), len(ins[n])) + 1) *
                      PORT_STEP) for n in nodes}
    centre = _place_rows(nodes, columns, edges, heights)
    corridor = _corridors(edges, nodes, columns, centre, heights)

    # ports: out-edges ordered by where they head, in-edges by where they come from
    out_y, in_y = {}, {}
    for n in nodes:
        order = sorted(outs[n], key=lambda i: (-corridor.get(i, centre[edges[i][1]]), i))
        out_y.update(zip(order, _ports(len(order), centre[n])))
        order = sorted(ins[n], key=lambda i: (-corridor.get(i, centre[edges[i][0]]), i))
        in_y.update(zip(order, _ports(len(order), centre[n])))

    # vertical runs per gap (gap g lies between columns g and g + 1)
    runs = {}
    for i, (src, dst, _) in enumerate(edges):
        c0, c1 = nodes[src].column, nodes[dst].column
        legs = [(c0, out_y[i], in_y[i])] if i not in corridor else \
            [(c0, out_y[i], corridor[i]), (c1 - 1, corridor[i], in_y[i])]
        for leg, (gap, y0, y1) in enumerate(legs):
            if abs(y0 - y1) > 1e-9:
                runs.setdefault(gap, []).append(((i, leg), y0, y1))
    tracks = {g: _assign_tracks(r) for g, r in runs.items()}
    label_size = {i: _text_size(e[2], LABEL_FONT) for i, e in enumerate(edges) if e[2]}

    # columns left to right: box width, then the gap (tracks, label strip, arrow head)
    x0, col_x, strip = MARGIN, {}, {}
    last = max(columns)
    for c in range(last + 1):
        ids = columns.get(c, [])
        width = max((text_size[n][0] + 2 * BOX_PAD for n in ids), default=0.0)
        col_x[c] = (x0, x0 + width)
        n_tracks = len(tracks.get(c, {}))
        strip_w = max((label_size[i][0] + 2 * LABEL_PAD for i in label_size
                       if nodes[edges[i][1]].column == c + 1), default=0.0)
        strip_x0 = x0 + width + GAP_MARGIN + max(n_tracks - 1, 0) * TRACK_STEP + \
            (GAP_MARGIN if n_tracks else 0.0)
        strip[c] = (strip_x0, strip_x0 + strip_w)
        x0 = strip_x0 + strip_w + GAP_MARGIN + ARROW_ROOM
    for n, node in nodes.items():
        (a, b), y = col_x[node.column], centre[n]
        node.rect = ((a + b - text_size[n][0]) / 2 - BOX_PAD, y - heights[n] / 2,
                     (a + b + text_size[n][0]) / 2 + BOX_PAD, y + heights[n] / 2)

    def track_x(gap, key):
        return col_x[gap][1] + GAP_MARGIN + tracks[gap][key] * TRACK_STEP

    routed = []
    for i, (src, dst, stream) in enumerate(edges):
        start, end = (nodes[src].rect[2], out_y[i]), (nodes[dst].rect[0], in_y[i])
        points = [start]
        c0, c1 = nodes[src].column, nodes[dst].column
        if i in corridor:
            y = corridor[i]
            for leg, gap, (ya, yb) in ((0, c0, (out_y[i], y)), (1, c1 - 1, (y, in_y[i]))):
                if abs(ya - yb) > 1e-9:
                    x = track_x(gap, (i, leg))
                    points += [(x, ya), (x, yb)]
                else:                   # level with the corridor: no bend here
                    points.append((col_x[gap][1] + GAP_MARGIN, ya))
        elif (i, 0) in tracks.get(c0, {}):
            x = track_x(c0, (i, 0))
            points += [(x, out_y[i]), (x, in_y[i])]
        points.append(end)
        label_rect = None
        if stream:
            (w, h), (a, b) = label_size[i], strip[c1 - 1]
            cx = (a + b) / 2
            label_rect = (cx - w / 2 - LABEL_PAD, end[1] - h / 2 - LABEL_PAD,
                          cx + w / 2 + LABEL_PAD, end[1] + h / 2 + LABEL_PAD)
        routed.append(Edge(src, dst, stream, points, label_rect))

    # everything above MARGIN, title band on top; the width also fits the title
    boxes = [n.rect for n in nodes.values()] + [e.label_rect for e in routed if e.label_rect]
    ys = [p[1] for e in routed for p in e.points] + [r[1] for r in boxes] + [r[3] for r in boxes]
    dy = MARGIN - min(ys)
    for node in nodes.values():
        node.rect = _moved(node.rect, dy)
    for e in routed:
        e.points = [(x, y + dy) for x, y in e.points]
        e.label_rect = _moved(e.label_rect, dy) if e.label_rect else None
    width = max(col_x[last][1] + MARGIN,
                _text_size(title, TITLE_FONT)[0] + 2 * MARGIN if title else 0.0)
    height = max(ys) - min(ys) + 2 * MARGIN + (TITLE_ROOM if title else 0.0)
    return Layout(width, height, nodes, routed, title)


def _moved(rect, dy):
    return rect[0], rect[1] + dy, rect[2], rect[3] + dy


# ---------------------------------------------------------------------------------- drawing
def draw_composition(model, path, title=''):
    """Write the picture of ``model``'s composition to ``path`` (any format matplotlib writes)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
    from matplotlib.path import Path
    name = getattr(model, 'display_name', type(model).__name__)
    layout = layout_composition(model, title=f'{name}: {title}' if title else name)
    fig = plt.figure(figsize=(layout.width, layout.height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, layout.width)
    ax.set_ylim(0, layout.height)
    ax.axis('off')
    for node in layout.nodes.values():
        x0, y0, x1, y1 = node.rect
        ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0,
                                    boxstyle='round,pad=0,rounding_size=0.06',
                                    fc=_COLORS.get(node.kind, 'white'), ec='#333333', lw=1.1,
                                    zorder=1))
        ax.text((x0 + x1) / 2, (y0 + y1) / 2, node.text, ha='center', va='center',
                fontsize=NODE_FONT, linespacing=1.2, zorder=4)
    for edge in layout.edges:
        ax.add_patch(FancyArrowPatch(path=Path(edge.points), arrowstyle='-|>', mutation_scale=9,
                                     color='#444444', lw=1.0, shrinkA=0, shrinkB=0, zorder=2))
        if edge.label_rect:
            x0, y0, x1, y1 = edge.label_rect
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fc='white', ec='none', zorder=3))
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, edge.stream, ha='center', va='center',
                    fontsize=LABEL_FONT, color='#555555', zorder=4)
    ax.text(layout.width / 2, layout.height - TITLE_ROOM / 2, layout.title, ha='center',
            va='center', fontsize=TITLE_FONT)
    fig.savefig(path, dpi=120)
    plt.close(fig)
