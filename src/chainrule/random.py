"""The library's random number generator.

Layers, ``nn.init`` and Dropout draw from one NumPy Generator unless they are handed their own
``generator=``. ``manual_seed(seed)`` replaces it with a freshly seeded one, so the same seed
followed by the same program gives the same weights, the same dropout masks and the same run.

    import chainrule as cr
    cr.manual_seed(0)
    model = cr.nn.Linear(784, 10)   # the same weights every time
"""
import numbers
import operator

from .backend import xp


class _DefaultGenerator:
    # A holder rather than a bare global: manual_seed swaps the generator inside it, so code
    # that imported this module keeps seeing the current one.
    generator = None


def manual_seed(seed):
    """Reseed the library's default generator and return it.

    >>> _ = cr.manual_seed(0)
    >>> a = cr.rand(2)
    >>> _ = cr.manual_seed(0)
    >>> bool((cr.rand(2) == a).all())
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__} {seed!r}")
    seed = operator.index(seed)
    if seed < 0:
        raise ValueError(f"manual_seed: seed must be >= 0, got {seed}")
    _DefaultGenerator.generator = xp.random.default_rng(seed)
    return _DefaultGenerator.generator


def default_generator():
    """The generator that layers, init and Dropout use when given none (made on first use,
    from fresh OS entropy, if ``manual_seed`` was never called).

    >>> type(cr.default_generator()).__name__
    'Generator'
    """
    if _DefaultGenerator.generator is None:
        _DefaultGenerator.generator = xp.random.default_rng()
    return _DefaultGenerator.generator


def resolve(generator=None):
    """``generator`` if one is given, else the library's default generator."""
    if generator is None:
        return default_generator()
    if not isinstance(generator, xp.random.Generator):
        raise TypeError(f"generator must be a numpy.random.Generator (for example "
                        f"numpy.random.default_rng(0)), got {type(generator).__name__}")
    return generator


__all__ = ["manual_seed", "default_generator", "resolve"]
