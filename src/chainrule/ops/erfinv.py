"""The inverse error function, PyTorch's ``torch.erfinv`` / ``torch.special.erfinv``: the y
in (-inf, inf) with erf(y) = x, for x in [-1, 1] (+-inf at +-1, NaN outside).

NumPy has none. Giles' single-precision approximation ("Approximating the erfinv function",
GPU Computing Gems, 2011) gives a first y (to about 1e-7 up to |x| = 1 - 1e-10, to 0.6 at
1 - 2^-52), and four Newton steps take it to float64's precision: on erf(y) = |x| up to 0.5,
beyond it on log erfc(y) = log(1 - |x|), which keeps its digits where erf(y) rounds to 1 and,
being nearly quadratic in y, converges from the tail's poor guess where Newton on erfc crawls.
float32 and float16 are computed in float64 and rounded once.
"""
import math

from ..backend import xp
from .elementwise import exp, mul
from .math import _erf
from .primitive import primitive
from .special_math import _erfc

_SQRT_PI_OVER_2 = math.sqrt(math.pi) / 2
_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
            -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
         -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)


def _polynomial(coefficients, w):
    p = xp.full_like(w, coefficients[0])
    for c in coefficients[1:]:
        p = p * w + c
    return p


def _erfinv(x):
    """erfinv of a float64 array."""
    a = xp.abs(x)
    inside = a < 1  # NaN and |x| >= 1 are set at the end
    t = xp.where(inside, a, 0.0)
    w = -xp.log((1.0 - t) * (1.0 + t))
    guess = xp.where(w < 5.0, _polynomial(_CENTRAL, w - 2.5),
                     _polynomial(_TAIL, xp.sqrt(w) - 3.0)) * t
    y, tail = guess, t > 0.5
    log_rest = xp.log(1.0 - t)  # 1 - t is exact beyond 0.5
    for _ in range(4):
        slope = _SQRT_PI_OVER_2 * xp.exp(y * y)  # 1 / erf'(y)
        rest = _erfc(y)
        y = xp.where(tail, y + (xp.log(rest) - log_rest) * rest * slope, y - (_erf(y) - t) * slope)
    y = xp.where(a == 1, xp.inf, xp.where(inside, y, xp.nan))
    return xp.copysign(y, x)


@primitive(promotion="float")
def erfinv(x):
    """The inverse error function: y with erf(y) = x, for x in [-1, 1]; +-inf at +-1 and NaN
    beyond, as PyTorch's. float64 within a few ulps.

    >>> cr.erfinv(cr.tensor([0.0, 0.5, -1.0], dtype="float64"))
    tensor([0.        , 0.47693628,       -inf], dtype=float64)
    """
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = _erfinv(xp.asarray(x, dtype=xp.float64))
    return xp.asarray(out.astype(x.dtype, copy=False))


@erfinv.vjp(formula="{grad} * sqrt(pi)/2 * exp({out}^2)")
def _(grad, out):
    return mul(exp(out * out), _SQRT_PI_OVER_2) * grad  # PyTorch's order
