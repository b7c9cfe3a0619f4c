"""`mplug-registry graph`: the layout of a composed model is checked geometrically: no edge runs
through a box, no two stream labels overlap, every (src, dst, stream) edge of the data flow is
drawn; on every shipped config and on a busier composition (neck, video, many heads)."""
import pytest

from conftest import ROOT
from mplug_registry.graph import draw_composition, layout_composition

CONFIGS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / 'configs').rglob('*.py')
                 if '_base_' not in p.parts)
VQA_GROUNDING = 'configs/vqa/vqa_grounding_tiny_shapes.py'
EPS = 1e-6


def build(config, **options):
    from mplug_registry.config import load_config, validate_config
    return validate_config(load_config(str(ROOT / config), options), missing_data=[])


def flow_of(model):
    from mplug_registry.toolbox import view_of
    return view_of(model).data_flow()


def segment_enters(p, q, rect):
    """Whether segment p-q has a piece of positive length inside ``rect`` (its border excluded):
    Liang-Barsky clipping against the rectangle shrunk by EPS."""
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for d, dist in ((-dx, x0 - rect[0] - EPS), (dx, rect[2] - EPS - x0),
                    (-dy, y0 - rect[1] - EPS), (dy, rect[3] - EPS - y0)):
        if d == 0:
            if dist < 0:
                return False
        elif d < 0:
            lo = max(lo, dist / d)
        else:
            hi = min(hi, dist / d)
    return hi - lo > EPS


def overlap(a, b):
    return min(a[2], b[2]) - max(a[0], b[0]) > EPS and min(a[3], b[3]) - max(a[1], b[1]) > EPS


def check_layout(layout, flow):
    """The layout's geometric promises; returns the edges by (src, dst, stream)."""
    rects = {n: node.rect for n, node in layout.nodes.items()}
    edges = {(e.src, e.dst, e.stream): e for e in layout.edges}
    assert sorted(edges) == sorted(set(map(tuple, flow)))
    for n, a in rects.items():
        assert a[0] < a[2] and a[1] < a[3]
        assert 0 <= a[0] and a[2] <= layout.width and 0 <= a[1] and a[3] <= layout.height
        assert not any(overlap(a, b) for m, b in rects.items() if m != n), n
    for key, e in edges.items():
        (xs, ys), (xd, yd) = e.points[0], e.points[-1]
        src, dst = rects[e.src], rects[e.dst]
        # leaves its source on the right side, enters its target on the left side
        assert xs == pytest.approx(src[2]) and src[1] < ys < src[3], key
        assert xd == pytest.approx(dst[0]) and dst[1] < yd < dst[3], key
        for p, q in zip(e.points, e.points[1:]):
            assert p[0] == pytest.approx(q[0]) or p[1] == pytest.approx(q[1]), key  # orthogonal
            for n, rect in rects.items():
                assert not segment_enters(p, q, rect), (key, n)
            assert all(0 <= v <= layout.width for v in (p[0], q[0]))
            assert all(0 <= v <= layout.height for v in (p[1], q[1]))
    labels = layout.label_boxes()
    assert sorted(s for s, _ in labels) == sorted(s for (_, _, s) in edges if s)
    for i, (stream, box) in enumerate(labels):
        assert not any(overlap(box, other) for _, other in labels[i + 1:]), stream
        assert not any(overlap(box, rect) for rect in rects.values()), stream
        assert 0 <= box[0] and box[2] <= layout.width and 0 <= box[1] and box[3] <= layout.height
    return edges


@pytest.mark.parametrize('config', CONFIGS)
def test_layout_of_every_config_keeps_edges_off_boxes_and_labels_apart(config):
    model = build(config)
    check_layout(layout_composition(model, title=config), flow_of(model))


def test_layout_with_a_neck_slot():
    model = build(VQA_GROUNDING, **{'model.neck': dict(type='SimpleFeaturePyramid', in_dims=128)})
    layout = layout_composition(model)
    check_layout(layout, flow_of(model))
    assert layout.nodes['neck'].kind == 'neck'
    assert layout.nodes['neck'].column > layout.nodes['universal'].column


def test_vqa_grounding_parallel_streams_are_separate_arrows_around_the_decoder():
    model = build(VQA_GROUNDING)
    layout = layout_composition(model)
    edges = check_layout(layout, flow_of(model))
    nodes = layout.nodes
    # vision and text from the universal layers to the fusion: two arrows, two labels at two heights
    pair = [e for (s, d, _), e in edges.items() if (s, d) == ('universal', 'fusion')]
    assert sorted(e.stream for e in pair) == ['text', 'vision']
    assert abs(pair[0].points[-1][1] - pair[1].points[-1][1]) > 0.1
    # the fused features skip the decoder's column on their way to the heads
    assert nodes['fusion'].column < nodes['decoder'].column < nodes['heads.vqa'].column
    skip = edges[('fusion', 'heads.vqa', 'fused')]
    x0, y0, x1, y1 = nodes['decoder'].rect
    over = [(p, q) for p, q in zip(skip.points, skip.points[1:])
            if min(p[0], q[0]) < x0 and max(p[0], q[0]) > x1]
    assert len(over) == 1 and not y0 <= over[0][0][1] <= y1     # above or below the decoder


class BusyModel:
    """A composition with a neck, video input and five heads, for the layout only."""
    rows = [('vision_encoder', 'DualVisionEncoder', 'encoder', 5_000_000),
            ('text_encoder', 'BertTextEncoder', 'encoder', 4_000_000),
            ('neck', 'SimpleFeaturePyramid', 'neck', 300_000),
            ('universal', 'UniversalLayers', 'universal', 1_000_000),
            ('fusion', 'CrossAttentionFusion', 'fusion', 2_000_000),
            ('decoder', 'SharedTextDecoder', 'decoder', 3_000_000),
            ('heads.itc', 'ITCHead', 'head', 50_000), ('heads.itm', 'ITMHead', 'head', 300),
            ('heads.grounding', 'GroundingHead', 'head', 20_000),
            ('heads.vqa', 'VQAHead', 'head', 0), ('heads.caption', 'LMHead', 'head', 0)]
    flow = [('images', 'vision_encoder', 'images'), ('video', 'vision_encoder', 'video'),
            ('text', 'text_encoder', ''), ('vision_encoder', 'neck', 'vision'),
            ('neck', 'universal', 'vision'), ('text_encoder', 'universal', 'text'),
            ('universal', 'fusion', 'vision'), ('universal', 'fusion', 'text'),
            ('fusion', 'decoder', 'fused'), ('universal', 'decoder', 'vision'),
            ('universal', 'heads.itc', 'vision'), ('universal', 'heads.itc', 'text'),
            ('universal', 'heads.itm', 'vision'), ('universal', 'heads.itm', 'text'),
            ('fusion', 'heads.itm', 'fused'), ('neck', 'heads.grounding', 'vision'),
            ('text_encoder', 'heads.grounding', 'text'), ('fusion', 'heads.grounding', 'fused'),
            ('decoder', 'heads.vqa', 'decoder'), ('fusion', 'heads.vqa', 'fused'),
            ('decoder', 'heads.caption', 'decoder'), ('vision_encoder', 'heads.caption', 'vision')]

    def composition(self):
        return self.rows

    def data_flow(self):
        return self.flow


def test_busy_composition_columns_follow_the_longest_path_and_the_layout_holds():
    model = BusyModel()
    layout = layout_composition(model, title='busy')
    check_layout(layout, model.flow)
    column = {n: node.column for n, node in layout.nodes.items()}
    assert column == {'images': 0, 'video': 0, 'text': 0, 'vision_encoder': 1, 'text_encoder': 1,
                      'neck': 2, 'universal': 3, 'fusion': 4, 'decoder': 5, 'heads.itc': 6,
                      'heads.itm': 6, 'heads.grounding': 6, 'heads.vqa': 6, 'heads.caption': 6}
    assert layout.nodes['neck'].kind == 'neck' and layout.nodes['video'].kind == 'input'


def test_cycle_in_the_data_flow_is_an_error():
    model = BusyModel()
    model.flow = BusyModel.flow + [('decoder', 'universal', 'loop')]
    with pytest.raises(ValueError, match='cycle'):
        layout_composition(model)


def test_picture_size_follows_the_layout(tmp_path):
    from PIL import Image
    model = BusyModel()
    out = tmp_path / 'busy.png'
    draw_composition(model, str(out), title='busy')
    layout = layout_composition(model, title='BusyModel: busy')
    with Image.open(out) as pic:
        assert pic.size == (pytest.approx(layout.width * 120, abs=1),
                            pytest.approx(layout.height * 120, abs=1))
