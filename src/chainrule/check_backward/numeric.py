"""The numeric side: fourth-order central differences of the forward (built from gradcheck's
central difference), the one-sided slopes at kinks, and the relative error every comparison
uses."""
from dataclasses import dataclass

from ..backend import ndarray, xp
from ..gradcheck import central_difference

DIAGNOSIS_TOL = 1e-6  # central differences are good to about 1e-9 here; mistakes are far larger
MAX_KINK_PROBES = 1000  # elements whose one-sided slopes are measured, at most


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
    difference (4 C(h) - C(2h)) / 3, C being gradcheck's central difference with step h.

    Its truncation error is O(h^4), so h can be 1e-4 rather than the 1e-6 of the two-point
    formula, and rounding, which grows like 1/h, drops a hundredfold: gradient elements a
    thousand times smaller than the output are still resolved to about 1e-9. Differencing the
    outputs before weighting them by dout keeps outputs that do not move out of the rounding.
    """
    values, h = problem.values, problem.eps
    grad = xp.zeros_like(values[k])
    for index in xp.ndindex(values[k].shape):
        along = _unit(values[k].shape, index)
        f = _output_of(problem, k)
        slope = (4 * central_difference(f, values[k], along, h)
                 - central_difference(f, values[k], along, 2 * h)) / 3
        grad[index] = xp.sum(slope * problem.dout)
    return grad


def one_sided_slopes(problem, k, index):
    """(from the left, from the right): the first-order differences of sum(out * dout) at
    values[k][index]; they differ where the input sits at a kink (relu at 0)."""
    f = _output_of(problem, k)
    centre = xp.sum(f(problem.values[k]) * problem.dout)
    slopes = []
    for step in (-problem.eps, problem.eps):
        moved = xp.sum(f(problem.values[k] + step * _unit(problem.values[k].shape, index))
                       * problem.dout)
        slopes.append(float((moved - centre) / step) + 0.0)  # + 0.0 prints -0.0 as 0
    return tuple(slopes)


def is_kink(left, right):
    return abs(right - left) > 10 * (1e-3 * max(abs(right), abs(left)) + 1e-6)


def accept_subgradients(problem, k, got, expected):
    """``expected`` with each element where ``got`` differs from it, the input sits at a kink
    and ``got`` lies between the one-sided slopes (a valid subgradient, such as PyTorch's 0 for
    relu at 0) replaced by ``got``; and the indices so accepted. Central differences average
    the two sides of a kink, which no correct backward need return."""
    if got is None or got.shape != expected.shape or not xp.isfinite(got).all():
        return expected, []
    scale = max(float(xp.abs(got).max(initial=0)), float(xp.abs(expected).max(initial=0)), 1e-300)
    suspects = xp.argwhere(xp.abs(got - expected) > DIAGNOSIS_TOL * scale)[:MAX_KINK_PROBES]
    adjusted, accepted = expected.copy(), []
    for index in map(tuple, suspects):
        left, right = one_sided_slopes(problem, k, index)
        low, high = min(left, right), max(left, right)
        margin = 1e-3 * max(abs(left), abs(right)) + 1e-6  # the one-sided slopes' O(h) error
        if is_kink(left, right) and low - margin <= got[index] <= high + margin:
            adjusted[index] = got[index]
            accepted.append(tuple(int(i) for i in index))
    return adjusted, accepted


def _output_of(problem, k):
    """The forward's output as a function of values[k] alone."""
    def output(value):
        moved = list(problem.values)
        moved[k] = value
        return problem.output(moved)
    return output


def _unit(shape, index):
    along = xp.zeros(shape)
    along[index] = 1.0
    return along


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
