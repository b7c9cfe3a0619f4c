"""The composition contract: base classes per kind, the composed model, the data preprocessor.

Imported lazily (it imports torch); ``import mplug_registry`` does not import it.
"""
