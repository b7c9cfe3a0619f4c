"""Helpers shared by the metric modules (not a metric itself)."""


def sample_field(sample, key, metric, writer):
    """``sample[key]`` or a ValueError naming the metric, the field and what writes it."""
    value = sample.get(key)
    if value is None:
        raise ValueError(f"{metric} needs data samples with '{key}' ({writer})")
    return value
