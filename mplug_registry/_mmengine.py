"""Import ``mmengine.model`` without importing ``transformers``.

``mmengine.model`` imports ``mmengine.optim``, whose module body does ``from transformers import
Adafactor`` to register that optimizer: importing any MMEngine model class would load transformers
(seconds), which listing components must not do. Here ``mmengine.optim`` is imported once with
transformers hidden, and ``Adafactor`` is registered as a function that imports transformers when an
optimizer config actually asks for it, so behaviour is unchanged.
"""
import sys


def import_mmengine_model():
    if 'mmengine.optim' in sys.modules or 'transformers' in sys.modules:
        import mmengine.model  # noqa: F401
        return
    sys.modules['transformers'] = None  # `from transformers import X` raises ImportError
    try:
        import mmengine.optim  # noqa: F401
    finally:
        del sys.modules['transformers']
    from mmengine.registry import OPTIMIZERS
    if OPTIMIZERS.get('Adafactor') is None:
        def Adafactor(*args, **kwargs):
            """transformers' Adafactor, imported when first built."""
            from transformers import Adafactor as cls
            return cls(*args, **kwargs)
        OPTIMIZERS.register_module(name='Adafactor', module=Adafactor)
    import mmengine.model  # noqa: F401
