"""The numeric side: fourth-order central differences of the forward, and the relative error
every comparison uses."""
from dataclasses import dataclass

from ..backend import ndarray, xp


@dataclass
class _Problem:
    """What every gradient's check shares: ``output(leaf values)`` runs the forward."""

    output: object
    values: list
    dout: ndarray
    eps: float
    kind: str
    out_shape: tuple
    batch: int


def _central_differences(problem, k):
    """d sum(out * dout) / d values[k], element by element, by the fourth-order central
    difference (8 [f(x+h) - f(x-h)] - [f(x+2h) - f(x-2h)]) / 12h.

    Its truncation error is O(h^4), so h can be 1e-4 rather than the 1e-6 of the two-point
    formula, and rounding, which grows like 1/h, drops a hundredfold: gradient elements a
    thousand times smaller than the output are still resolved to about 1e-9. Differencing the
    outputs before weighting them by dout keeps outputs that do not move out of the rounding.
    """
    values, h = problem.values, problem.eps
    grad = xp.zeros_like(values[k])
    for index in xp.ndindex(values[k].shape):
        near = _difference(problem, k, index, h)
        far = _difference(problem, k, index, 2 * h)
        grad[index] = (8 * near - far) / (12 * h)
    return grad


def _difference(problem, k, index, step):
    """sum((out(x + step) - out(x - step)) * dout), x being values[k][index]."""
    plus = problem.output(_moved(problem.values, k, index, step))
    minus = problem.output(_moved(problem.values, k, index, -step))
    return xp.sum((plus - minus) * problem.dout)


def _moved(values, k, index, step):
    moved = list(values)
    moved[k] = values[k].copy()
    moved[k][index] += step
    return moved


def _relative_error(got, expected):
    """max |got - expected| over the elements, divided by the largest magnitude in either
    array. Scaling by the largest element rather than element by element keeps gradients
    near zero from turning the rounding noise of central differences into large ratios."""
    if got.size == 0:
        return 0.0
    scale = max(float(xp.abs(got).max()), float(xp.abs(expected).max()))
    if scale == 0.0:
        return 0.0
    return float(xp.abs(got - expected).max() / scale)
