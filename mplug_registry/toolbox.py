"""The composition of an mmdet / mmseg model whose backbone is ours, for ``check`` and ``graph``.

There the toolbox's model class owns the data flow (DESIGN: detection and segmentation); this view
lists its parts as slots, like :meth:`ComposedModel.composition`: our backbone's encoder, universal
layers and pyramid, then the toolbox's neck and heads, each with its parameter count, and the edges
between them in the order the toolbox runs them.
"""
from .kinds import EXTERNAL, external_kind

#: toolbox parts after the backbone, in running order: (attribute, kind, reads)
_PARTS = (('neck', 'neck', 'backbone'), ('rpn_head', 'head', 'neck'),
          ('roi_head', 'head', 'neck'), ('bbox_head', 'head', 'neck'),
          ('mask_head', 'head', 'neck'), ('decode_head', 'head', 'neck'),
          ('auxiliary_head', 'head', 'neck'))
#: our backbone's parts: (attribute, slot name, kind)
_BACKBONE_PARTS = (('encoder', 'backbone.encoder', 'encoder'),
                   ('universal', 'backbone.universal', 'universal'),
                   ('neck', 'backbone.pyramid', 'neck'))


def _params(module):
    return sum(p.numel() for p in module.parameters())


class ToolboxView:
    """``composition()`` and ``data_flow()`` of a toolbox model (see the module docstring)."""

    def __init__(self, model):
        self.model = model
        self.display_name = f"{type(model).__name__} ({type(model).__module__.split('.')[0]})"

    def _backbone_rows(self):
        backbone = self.model.backbone
        rows = [(slot, type(getattr(backbone, attr)).__name__, kind,
                 _params(getattr(backbone, attr)))
                for attr, slot, kind in _BACKBONE_PARTS
                if getattr(backbone, attr, None) is not None]
        if not rows:   # a backbone of the toolbox itself (ResNet, ...)
            rows = [('backbone', type(backbone).__name__, 'encoder', _params(backbone))]
        return rows

    def _parts(self):
        return [(attr, kind, reads) for attr, kind, reads in _PARTS
                if getattr(self.model, attr, None) is not None]

    def composition(self):
        """``[(slot, class name, kind, parameters)]``, backbone parts first."""
        rows = self._backbone_rows()
        for attr, kind, _ in self._parts():
            module = getattr(self.model, attr)
            declared = external_kind(type(module))
            rows.append((attr, type(module).__name__, kind if declared == EXTERNAL else declared,
                         _params(module)))
        return rows

    def data_flow(self):
        """Edges ``[(source, target, stream)]`` from ``images`` through the backbone's parts to the
        toolbox's neck and heads."""
        chain = [slot for slot, *_ in self._backbone_rows()]
        edges = [('images', chain[0], '')] + [(a, b, 'vision') for a, b in zip(chain, chain[1:])]
        has_neck = getattr(self.model, 'neck', None) is not None
        source = {'backbone': chain[-1], 'neck': 'neck' if has_neck else chain[-1]}
        for attr, _, reads in self._parts():
            edges.append((source[reads], attr, 'maps'))
        return edges


def view_of(model):
    """The model itself when it has ``composition()`` (ours), else a :class:`ToolboxView`."""
    return model if hasattr(model, 'composition') else ToolboxView(model)
