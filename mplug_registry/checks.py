"""Value checks shared by components and configs: one rule, one message format."""
import math
import numbers


def check_positive(name, value, integer=True, allow_zero=False):
    """Return ``value`` if it is a positive integer (``integer=False``: a finite positive number;
    ``allow_zero=True``: zero allowed too), else raise ``ValueError`` in the shared format
    ``"{name} must be a positive integer, got {value!r}"``. Booleans are not numbers here."""
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and (
        isinstance(value, numbers.Integral) or math.isfinite(value)) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"{'integer' if integer else 'number'}, got {value!r}")
    return value
