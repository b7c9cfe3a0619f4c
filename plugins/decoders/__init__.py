"""Built-in decoders (filled by the module library)."""
