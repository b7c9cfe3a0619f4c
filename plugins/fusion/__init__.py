"""Built-in fusion (filled by the module library)."""
