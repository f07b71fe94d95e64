"""Elementary functions beyond arithmetic: trigonometric and hyperbolic functions, logs and
exponentials in other bases, erf, rounding, remainders and the float tests (isnan, ...).

Integer inputs of the transcendental functions become the default float dtype first (float32
unless ``cr.set_default_dtype`` changed it), as in PyTorch. Each VJP is written with primitives,
so it is itself differentiable (second derivatives, create_graph).
"""
import math

from ..backend import xp
from ..errors import ArgumentError, DtypeError, IntegerDivisionError
from .elementwise import _half_and_number, exp, in_single, log, mul, sqrt, where
from .primitive import primitive

# erf without SciPy or a Python loop. float64: W. J. Cody's rational Chebyshev approximations
# (Math. Comp. 23, 1969; SPECFUN's CALERF), relative error below 1e-15: erf itself for
# |x| <= 0.46875, erfc for (0.46875, 4] and beyond 4. Coefficients highest power first.
_CODY_A = (1.85777706184603153e-1, 3.16112374387056560e0, 1.13864154151050156e2,
           3.77485237685302021e2, 3.20937758913846947e3)
_CODY_B = (1.0, 2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
           2.84423683343917062e3)
_CODY_C = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e0,
           6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
           1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3)
_CODY_D = (1.0, 1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
           1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
           3.43936767414372164e3, 1.23033935480374942e3)
_CODY_P = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
           1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)
_CODY_Q = (1.0, 2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
# float32: Eigen's odd/even minimax rational on [-4, 4] (beyond, erf rounds to +-1), in x^2.
_SINGLE_NUM = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
               -5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03,
               -1.60960333262415e-02)
_SINGLE_DEN = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
               -7.37332916720468e-03, -1.42647390514189e-02)


def _horner(coefficients, x, out=None):
    """The polynomial at x, computed in place in one array (``out`` if given)."""
    out = xp.multiply(x, coefficients[0], out=out)
    out += coefficients[1]
    for c in coefficients[2:]:
        out *= x
        out += c
    return out


def _erf_single(x):
    # Three arrays in all, the rest in place.
    x2 = xp.clip(x, -4.0, 4.0)
    x2 *= x2
    ratio = _horner(_SINGLE_NUM, x2)
    den = _horner(_SINGLE_DEN, x2)
    ratio /= den
    ratio *= xp.clip(x, -4.0, 4.0, out=den)  # last, so a subnormal x does not underflow
    return ratio


def _erfc_cody(y):
    """erfc(y) for y > 0.46875: Cody's second interval up to 4, his asymptotic form beyond,
    0 from 6 on (erfc(6) < 2.2e-17, below float64's resolution of erf near 1)."""
    # A single exp(-y^2) suffices for erf: its rounding error is scaled by erfc in 1 - erfc.
    y = xp.minimum(y, 6.0)  # no inf * 0 for an infinite x
    out = xp.exp(-(y * y))
    out *= _horner(_CODY_C, y)
    out /= _horner(_CODY_D, y)
    tail = xp.flatnonzero(y > 4.0)
    if tail.size:
        far = y.take(tail)
        z = 1.0 / (far * far)
        series = (0.56418958354775628695 - z * _horner(_CODY_P, z) / _horner(_CODY_Q, z)) / far
        xp.put(out, tail, xp.where(far < 6.0, xp.exp(-(far * far)) * series, 0.0))
    return out


def _erf_double(x):
    # Each interval on its own elements, gathered by index (take/put: boolean indexing was
    # ten times slower), the results written over |x| (a NaN is in neither and stays).
    out = xp.abs(x)
    small = xp.flatnonzero(out <= 0.46875)
    large = xp.flatnonzero(out > 0.46875)
    far = out.take(large)
    xs = x.take(small)
    z = xs * xs
    xp.put(out, small, xs * _horner(_CODY_A, z) / _horner(_CODY_B, z))
    if large.size:
        xp.put(out, large, xp.copysign(1.0 - _erfc_cody(far), x.take(large)))
    return out


def _erf(x, block=1 << 15):
    # In blocks whose temporaries stay in the cache and in malloc's reused memory: whole
    # 1e6-element temporaries ran 2-3x slower, mostly in page faults for fresh memory.
    if x.size > block:
        flat = x.reshape(-1)
        out = xp.empty(flat.shape, x.dtype)
        for start in range(0, flat.size, block):
            out[start:start + block] = _erf(flat[start:start + block])
        return out.reshape(x.shape)
    if x.ndim == 0:  # NumPy's ufuncs return scalars there, which the kernels cannot write into
        return _erf(x.reshape(1)).reshape(())
    if x.dtype == xp.float64:
        return _erf_double(x)
    if x.dtype == xp.float32:
        return _erf_single(x)
    return _erf_single(x.astype(xp.float32)).astype(x.dtype)  # float16: in float32

# ln 10 as PyTorch's gradient of log10 spells it, 1 ulp below math.log(10.0): with the
# latter, log10's float64 gradient differed from PyTorch's in nine elements out of ten.
_LN2, _LN10 = math.log(2.0), 2.3025850929940456
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _zeros_like(grad):
    # A zero gradient of grad's shape and dtype: an inf or nan upstream stays out of it,
    # as PyTorch's zeros_like(grad) does.
    return where(False, grad, 0)


# -- trigonometric and hyperbolic ----------------------------------------------------------

@primitive(promotion="float")
def sin(x):
    """The sine, elementwise (radians).

    >>> cr.sin(cr.tensor([0.0, 1.5708]))
    tensor([0., 1.], dtype=float32)
    """
    return xp.sin(x)


@sin.vjp(formula="{grad} * cos({x})")
def _(grad, x):
    return grad * cos(x)


@primitive(promotion="float")
def cos(x):
    """The cosine, elementwise.

    >>> cr.cos(cr.tensor([0.0, 3.1416]))
    tensor([ 1., -1.], dtype=float32)
    """
    return xp.cos(x)


@cos.vjp(formula="-{grad} * sin({x})")
def _(grad, x):
    return -grad * sin(x)


@primitive(promotion="float")
def tan(x):
    """The tangent, elementwise.

    >>> cr.tan(cr.tensor([0.0, 0.7854]))
    tensor([0.       , 1.0000036], dtype=float32)
    """
    return xp.tan(x)


@tan.vjp(formula="{grad} * (1 + {out}^2)")
def _(grad, out):
    return grad * (1 + out * out)


@primitive(promotion="float")
def asin(x):
    """The inverse sine, elementwise, in [-pi/2, pi/2].

    >>> cr.asin(cr.tensor([0.0, 1.0]))
    tensor([0.       , 1.5707964], dtype=float32)
    """
    return xp.arcsin(x)


@asin.vjp(formula="{grad} / sqrt(1 - {x}^2)")
def _(grad, x):
    # PyTorch's form, grad * rsqrt(1 - x^2): the same numbers to the last bit.
    return grad * rsqrt(1 - x * x)


@primitive(promotion="float")
def acos(x):
    """The inverse cosine, elementwise, in [0, pi].

    >>> cr.acos(cr.tensor([1.0, 0.0]))
    tensor([0.       , 1.5707964], dtype=float32)
    """
    return xp.arccos(x)


@acos.vjp(formula="-{grad} / sqrt(1 - {x}^2)")
def _(grad, x):
    return grad * -rsqrt(1 - x * x)


@primitive(promotion="float")
def atan(x):
    """The inverse tangent, elementwise.

    >>> cr.atan(cr.tensor([0.0, 1.0]))
    tensor([0.       , 0.7853982], dtype=float32)
    """
    return xp.arctan(x)


@atan.vjp(formula="{grad} / (1 + {x}^2)")
def _(grad, x):
    return grad / (1 + x * x)


@primitive(promotion="float")
def atan2(a, b):
    """The angle of the point (b, a), in (-pi, pi]: ``atan2(y, x)``.

    >>> cr.atan2(cr.tensor([1.0, -1.0]), cr.tensor([0.0, 0.0]))
    tensor([ 1.5707964, -1.5707964], dtype=float32)
    """
    return xp.arctan2(a, b)


@atan2.vjp("a", formula="{grad} * {b} / ({a}^2 + {b}^2), 0 where {a}^2 + {b}^2 = 0")
def _(grad, a, b):
    return grad * b * _inverse_square_radius(a, b)


@atan2.vjp("b", formula="-{grad} * {a} / ({a}^2 + {b}^2), 0 where {a}^2 + {b}^2 = 0")
def _(grad, a, b):
    return grad * -a * _inverse_square_radius(a, b)


def _inverse_square_radius(a, b):
    # 1 / (a^2 + b^2), taken as 0 where the sum is 0 (the origin, or squares that underflow),
    # as PyTorch does: atan2 has no derivative at the origin and PyTorch gives 0 there. The
    # branch not taken keeps its 1 / 0: the second derivative there is NaN, as PyTorch's.
    square = a * a + b * b
    with xp.errstate(divide="ignore"):
        return where(square == 0, 0, 1 / square)


@primitive(promotion="float")
def sinh(x):
    """The hyperbolic sine, elementwise.

    >>> cr.sinh(cr.tensor([0.0, 1.0]))
    tensor([0.       , 1.1752012], dtype=float32)
    """
    return xp.sinh(x)


@sinh.vjp(formula="{grad} * cosh({x})")
def _(grad, x):
    return grad * cosh(x)


@primitive(promotion="float")
def cosh(x):
    """The hyperbolic cosine, elementwise. (The example is rounded: NumPy's float32 kernels
    differ in the last digit from one CPU to another.)

    >>> cr.cosh(cr.tensor([0.0, 1.0])).round(decimals=4)
    tensor([1.    , 1.5431], dtype=float32)
    """
    return xp.cosh(x)


@cosh.vjp(formula="{grad} * sinh({x})")
def _(grad, x):
    return grad * sinh(x)


@primitive(promotion="float")
def asinh(x):
    """The inverse hyperbolic sine, elementwise.

    >>> cr.asinh(cr.tensor([0.0, 1.0]))
    tensor([0.       , 0.8813736], dtype=float32)
    """
    return xp.arcsinh(x)


@asinh.vjp(formula="{grad} / sqrt({x}^2 + 1)")
def _(grad, x):
    return grad * rsqrt(x * x + 1)


@primitive(promotion="float")
def acosh(x):
    """The inverse hyperbolic cosine, elementwise (x >= 1).

    >>> cr.acosh(cr.tensor([1.0, 2.0]))
    tensor([0.      , 1.316958], dtype=float32)
    """
    return xp.arccosh(x)


@acosh.vjp(formula="{grad} / sqrt({x}^2 - 1)")
def _(grad, x):
    # x^2 - 1 as PyTorch: at x = -1 it is +0 (so +inf), where (x - 1)(x + 1) is -0.
    return grad * rsqrt(x * x - 1)


@primitive(promotion="float")
def atanh(x):
    """The inverse hyperbolic tangent, elementwise (|x| < 1).

    >>> cr.atanh(cr.tensor([0.0, 0.5]))
    tensor([0.        , 0.54930615], dtype=float32)
    """
    return xp.arctanh(x)


@atanh.vjp(formula="{grad} / (1 - {x}^2)")
def _(grad, x):
    return grad / (1 - x * x)


# -- logs, exponentials, powers --------------------------------------------------------------

@primitive(promotion="float")
def erf(x):
    """The error function, 2/sqrt(pi) * integral from 0 to x of exp(-t^2) dt; in float64
    within 1e-15 relative error, in float32 within 8 ulps (about 4e-7 relative).

    >>> cr.erf(cr.tensor([0.0, 1.0], dtype="float64"))
    tensor([0.        , 0.84270079], dtype=float64)
    """
    return _erf(x)


@erf.vjp(formula="{grad} * 2/sqrt(pi) * exp(-{x}^2)")
def _(grad, x):
    # PyTorch's order; mul, not *, so that a float16 product by the constant is computed in
    # float32 as PyTorch's.
    return mul(exp(-(x * x)), _TWO_OVER_SQRT_PI) * grad


@primitive(promotion="float")
def log1p(x):
    """log(1 + x), accurate for small x.

    >>> cr.log1p(cr.tensor([0.0, 1e-8]))
    tensor([0.e+00, 1.e-08], dtype=float32)
    """
    return xp.log1p(x)


@log1p.vjp(formula="{grad} / (1 + {x})")
def _(grad, x):
    return grad / (1 + x)


@primitive(promotion="float")
def expm1(x):
    """exp(x) - 1, accurate for small x.

    >>> cr.expm1(cr.tensor([0.0, 1e-8]))
    tensor([0.e+00, 1.e-08], dtype=float32)
    """
    return xp.expm1(x)


@expm1.vjp(formula="{grad} * ({out} + 1)")
def _(grad, out):
    return grad * (out + 1)


@primitive(promotion="float")
def log2(x):
    """The base-2 logarithm, elementwise.

    >>> cr.log2(cr.tensor([1.0, 8.0]))
    tensor([0., 3.], dtype=float32)
    """
    return xp.log2(x)


@log2.vjp(formula="{grad} / ({x} ln 2)")
def _(grad, x):
    return grad / mul(x, _LN2)


@primitive(promotion="float")
def log10(x):
    """The base-10 logarithm, elementwise. (The example is rounded: with AVX-512, NumPy's
    float32 log10(1000) is 3.0000002.)

    >>> cr.log10(cr.tensor([1.0, 1000.0])).round(decimals=4)
    tensor([0., 3.], dtype=float32)
    """
    return xp.log10(x)


@log10.vjp(formula="{grad} / ({x} ln 10)")
def _(grad, x):
    return grad / mul(x, _LN10)


@primitive(promotion="float")
def exp2(x):
    """2 to the power x, elementwise.

    >>> cr.exp2(cr.tensor([0.0, 3.0]))
    tensor([1., 8.], dtype=float32)
    """
    return xp.exp2(x)


@exp2.vjp(formula="{grad} * {out} ln 2")
def _(grad, out):
    return mul(grad * out, _LN2)


@primitive(promotion="float")
def reciprocal(x):
    """1 / x, elementwise (integers become the default float dtype).

    >>> cr.reciprocal(cr.tensor([2.0, 4]))
    tensor([0.5 , 0.25], dtype=float32)
    """
    return 1 / x


@reciprocal.vjp(formula="-{grad} * {out}^2")
def _(grad, out):
    return -grad * (out * out)


@primitive(promotion="float")
def rsqrt(x):
    """1 / sqrt(x).

    >>> cr.rsqrt(cr.tensor([4.0, 16.0]))
    tensor([0.5 , 0.25], dtype=float32)
    """
    if x.dtype == xp.float16:
        return in_single(rsqrt, x)
    return 1 / xp.sqrt(x)


@rsqrt.vjp(formula="-{grad} * {out}^3 / 2")
def _(grad, out):
    # PyTorch's order, -0.5 grad out^3, with a float16 cube computed in float32 as its pow.
    cube = in_single(_cube, out) if out.dtype == xp.float16 else out * out * out
    return (grad * -0.5) * cube


def _cube(x):
    return x * x * x


# -- rounding: flat almost everywhere, so their gradient is zero (as in PyTorch) -------------

def _rounding(name, function):
    def forward(x):
        if x.dtype.kind == "b":
            raise DtypeError(f"{name}: not implemented for bool tensors (as in PyTorch), shape "
                             f"{x.shape}")
        return function(x) if x.dtype.kind == "f" else x.copy()
    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f"{name} of each element (integers are returned as they are)."
    op = primitive(forward)

    @op.vjp(formula="0 (flat wherever it is differentiable)")
    def _(grad):
        return _zeros_like(grad)
    return op


floor = _rounding("floor", xp.floor)
ceil = _rounding("ceil", xp.ceil)
trunc = _rounding("trunc", xp.trunc)
floor.__doc__ = """The largest integer <= x, elementwise; its gradient is zero.

    >>> cr.floor(cr.tensor([-1.5, 1.5]))
    tensor([-2.,  1.], dtype=float32)
    """
ceil.__doc__ = """The smallest integer >= x, elementwise; its gradient is zero.

    >>> cr.ceil(cr.tensor([-1.5, 1.5]))
    tensor([-1.,  2.], dtype=float32)
    """
trunc.__doc__ = """x rounded toward zero, elementwise; its gradient is zero.

    >>> cr.trunc(cr.tensor([-1.5, 1.5]))
    tensor([-1.,  1.], dtype=float32)
    """


@primitive
def round(x, *, decimals=0):
    """Round to ``decimals`` places, halves to even (as PyTorch and NumPy do).

    >>> cr.round(cr.tensor([0.5, 1.5, 1.26]), decimals=0)
    tensor([0., 2., 1.], dtype=float32)
    """
    if x.dtype.kind == "b" or x.dtype.kind in "iu" and decimals != 0:
        raise DtypeError(f"round: not implemented for {x.dtype} tensors" + (
            f" with decimals={decimals}" if x.dtype.kind != "b" else "") + f" (as in PyTorch), "
            f"shape {x.shape}")
    if x.dtype.kind != "f":
        return x.copy()
    if x.dtype == xp.float16 and decimals != 0:  # x * 10^decimals in float32, as PyTorch
        return in_single(lambda v: xp.round(v, decimals), x)
    return xp.round(x, decimals)


@round.vjp(formula="0 (flat wherever it is differentiable)")
def _(grad):
    return _zeros_like(grad)


@primitive
def frac(x):
    """The fractional part, x - trunc(x), with x's sign.

    >>> cr.frac(cr.tensor([1.25, -2.5]))
    tensor([ 0.25, -0.5 ], dtype=float32)
    """
    if x.dtype.kind != "f":
        raise TypeError(f"frac: needs a floating-point tensor, got {x.dtype} (as in PyTorch)")
    return x - xp.trunc(x)


@frac.vjp(formula="{grad}")
def _(grad):
    return grad


def _no_integer_zero(name, a, b):
    # Both operands decide: a float tensor // 0 (a Python int, left as it is beside one float
    # dtype) is a float division, inf or nan, as in PyTorch.
    if xp.asarray(a).dtype.kind in "biu" and xp.asarray(b).dtype.kind in "biu" and \
            xp.any(xp.asarray(b) == 0):
        raise IntegerDivisionError(f"{name}: integer division by zero (PyTorch raises too)")


@primitive(promotion="promote", bools="result")
def fmod(a, b):
    """The remainder of a / b rounded toward zero: it has a's sign (C's fmod).

    >>> cr.fmod(cr.tensor([-5.0, 5.0]), 3)
    tensor([-2.,  2.], dtype=float32)
    """
    _no_integer_zero("fmod", a, b)
    return xp.fmod(a, b)


@fmod.vjp("a", formula="{grad}")
def _(grad):
    return grad


@fmod.vjp("b", formula="-{grad} * trunc({a} / {b})")
def _(grad, a, b):
    # The rounded quotient as one flat op: trunc(a / b) would send its zero gradient back
    # through a / b, and 0 * inf is NaN in the second derivative where b is 0.
    return -grad * rounded_div(a, b, rounding_mode="trunc")


@primitive(promotion="promote", bools="result")
def remainder(a, b):
    """The remainder of a / b rounded down: it has b's sign (Python's %).

    >>> cr.remainder(cr.tensor([-5.0, 5.0]), 3)
    tensor([1., 2.], dtype=float32)
    >>> cr.tensor([-5, 5]) % 3
    tensor([1, 2], dtype=int64)
    """
    _no_integer_zero("remainder (%)", a, b)
    out = xp.remainder(a, b)
    if out.dtype.kind == "f":
        # A zero remainder has a's sign, as PyTorch's (fmod's); NumPy gives it b's.
        out = xp.where(out == 0, xp.copysign(xp.zeros((), out.dtype), a), out)
    return out


@remainder.vjp("a", formula="{grad}")
def _(grad):
    return grad


@remainder.vjp("b", formula="-{grad} * ({a} // {b})")
def _(grad, a, b):
    # The floored quotient as Python's // computes it, not floor(a / b): they differ where
    # a / b rounds (1 // -inf is -1, floor(1 / -inf) is -0), and PyTorch uses the former.
    return -grad * rounded_div(a, b, rounding_mode="floor")


@primitive(promotion="promote", bools="result")
def floor_divide(a, b):
    """a / b rounded down (Python's //). Not differentiable, as in PyTorch: use
    ``div(a, b, rounding_mode="floor")``, whose gradient is zero, inside a graph.

    >>> cr.tensor([-7, 7]) // 2
    tensor([-4,  3], dtype=int64)
    """
    _no_integer_zero("floor_divide (//)", a, b)
    if _half_and_number(a, b):
        return in_single(xp.floor_divide, a, b)
    return xp.floor_divide(a, b)


@floor_divide.vjp("a", formula="none: floor_divide has no derivative")
def _(grad):
    return _refuse_floor_divide()


@floor_divide.vjp("b", formula="none: floor_divide has no derivative")
def _(grad):
    return _refuse_floor_divide()


def _refuse_floor_divide():
    from ..errors import GradientError
    raise GradientError("floor_divide (//) has no derivative (PyTorch raises too); for a "
                        "rounded division inside a graph use div(a, b, rounding_mode='floor'), "
                        "whose gradient is zero")


@primitive(promotion="promote", bools="result")
def rounded_div(a, b, *, rounding_mode):
    """a / b rounded toward zero ("trunc") or down ("floor"); integers stay integers.

    >>> cr.div(cr.tensor([-7.0, 7.0]), 2, rounding_mode='trunc')
    tensor([-3.,  3.], dtype=float32)
    """
    _no_integer_zero(f"div(rounding_mode={rounding_mode!r})", a, b)
    if _half_and_number(a, b) or rounding_mode == "trunc" and _by_half_scalar(a, b):
        return in_single(lambda a, b: rounded_div(a, b, rounding_mode=rounding_mode), a, b)
    if rounding_mode == "floor":
        return xp.floor_divide(a, b)
    if a.dtype.kind == "f":
        return xp.trunc(a / b)
    quotient = xp.floor_divide(a, b)
    return quotient + ((quotient < 0) & (quotient * b != a))  # round up what floor pushed down


def _by_half_scalar(a, b):
    """A float16 array divided by a 0-d float16 one (a 0-d tensor): PyTorch reads the divisor
    as a number and truncates the float32 quotient; rounding it to float16 first moved 3% of
    div(x_half, tensor(0.1, dtype=float16), rounding_mode='trunc') toward zero by one."""
    return getattr(a, "dtype", None) == xp.float16 and xp.ndim(a) > 0 and \
        isinstance(b, xp.ndarray) and not b.ndim and b.dtype == xp.float16


@rounded_div.vjp("a", formula="0 (a rounded quotient is flat)")
def _(grad):
    return _zeros_like(grad)


@rounded_div.vjp("b", formula="0 (a rounded quotient is flat)")
def _(grad):
    return _zeros_like(grad)


@primitive(promotion="float")
def copysign(a, b):
    """|a| with b's sign.

    >>> cr.copysign(cr.tensor([1.0, -2.0]), cr.tensor([-1.0, 1.0]))
    tensor([-1.,  2.], dtype=float32)
    """
    return xp.copysign(a, b)


@copysign.vjp("a", formula="{grad} * ({out} / {a}), 0 at {a} = 0")
def _(grad, a, out):
    # out / a (that is, +-1) before the product, as PyTorch: grad * out can round (denormals).
    # The branch not taken keeps its 0 / 0: the second derivative at 0 is NaN, as PyTorch's.
    with xp.errstate(invalid="ignore"):
        return where(a == 0, 0, grad * (out / a))


@copysign.vjp("b", formula="0 (only b's sign matters)")
def _(grad):
    return _zeros_like(grad)


@primitive
def nan_to_num(x, *, nan=0.0, posinf=None, neginf=None):
    """x with NaN, +inf and -inf replaced (by 0 and the dtype's largest and smallest values
    unless given).

    >>> cr.nan_to_num(cr.tensor([float('nan'), float('inf'), 1.0]), posinf=9.0)
    tensor([0., 9., 1.], dtype=float32)
    """
    if x.dtype.kind != "f":
        return x.copy()
    return xp.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf)


@nan_to_num.vjp(formula="{grad} where {x} is finite, else 0")
def _(grad, x):
    return where(isfinite(x), grad, 0)


# -- tests of the values: no gradient ----------------------------------------------------------

@primitive(differentiable=False)
def isnan(x):
    """Whether each element is NaN; a bool tensor without gradient.

    >>> cr.isnan(cr.tensor([1.0, float('nan')]))
    tensor([False,  True], dtype=bool)
    """
    return xp.isnan(x)


@primitive(differentiable=False)
def isinf(x):
    """Whether each element is +inf or -inf.

    >>> cr.isinf(cr.tensor([1.0, float('-inf')]))
    tensor([False,  True], dtype=bool)
    """
    return xp.isinf(x)


@primitive(differentiable=False)
def isfinite(x):
    """Whether each element is neither inf nor NaN.

    >>> cr.isfinite(cr.tensor([1.0, float('inf')]))
    tensor([ True, False], dtype=bool)
    """
    return xp.isfinite(x)


@primitive(differentiable=False)
def isclose(a, b, *, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether |a - b| <= atol + rtol * |b|, elementwise; two tensors must have one dtype, as
    in PyTorch (which does not promote here).

    >>> cr.isclose(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.1]))
    tensor([ True, False], dtype=bool)
    """
    if isinstance(b, xp.ndarray) and a.dtype != b.dtype:
        raise DtypeError(f"isclose: {a.dtype} did not match {b.dtype} (as in PyTorch, shapes "
                         f"{a.shape} and {b.shape}); convert one with .to(dtype) first")
    if rtol < 0 or atol < 0:
        raise ArgumentError(f"isclose: rtol and atol must be greater than or equal to zero "
                            f"(as in PyTorch), got rtol={rtol}, atol={atol}")
    return xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def _shift(name, ufunc):
    def forward(a, b):
        if xp.asarray(a).dtype.kind not in "iu" or xp.asarray(b).dtype.kind not in "iu":
            raise DtypeError(f"{name}: needs integer tensors, got {xp.asarray(a).dtype} and "
                             f"{xp.asarray(b).dtype}")
        return ufunc(a, b)
    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f"{name} of integers, elementwise; carries no gradient."
    return primitive(forward, differentiable=False, promotion="promote")


bitwise_left_shift = _shift("bitwise_left_shift", xp.left_shift)
bitwise_right_shift = _shift("bitwise_right_shift", xp.right_shift)
bitwise_left_shift.__doc__ = """a << b: a times 2**b, for integers.

    >>> cr.tensor([1, 3]) << 2
    tensor([ 4, 12], dtype=int64)
    """
bitwise_right_shift.__doc__ = """a >> b: a divided by 2**b rounded down, for integers.

    >>> cr.tensor([8, -8]) >> 2
    tensor([ 2, -2], dtype=int64)
    """


# -- composites --------------------------------------------------------------------------------

def square(x):
    """x * x (integers stay integers, and bools become int64, as in PyTorch).

    >>> cr.square(cr.tensor([-2, 3]))
    tensor([4, 9], dtype=int64)
    """
    if x.dtype == xp.bool_:  # True * True is True; PyTorch's square counts: 1
        x = x.to(xp.int64)
    # A float is PyTorch's pow(x, 2), whose slope grad * (2 x) overflows where 2 x does (x * x
    # would sum grad * x twice: finite for float16 x = 60000, where PyTorch's is inf).
    return x ** 2 if x.dtype.kind == "f" else x * x


def _lerp_dtypes(start, end, weight):
    # PyTorch's lerp does not promote: it needs floats, and end (and a weight tensor with
    # dimensions) in start's dtype.
    if start.dtype.kind != "f":
        raise DtypeError(f"lerp: not implemented for {start.dtype} tensors (as in PyTorch), "
                         f"shape {tuple(start.shape)}")
    for name, other in (("end", end), ("weight", weight)):
        dtype = getattr(other, "dtype", None)
        if dtype is not None and dtype != start.dtype and (name == "end" or other.ndim):
            raise DtypeError(f"lerp: expected dtype {start.dtype} for `{name}` but got {dtype} "
                             f"(as in PyTorch, which does not promote here), shapes "
                             f"{tuple(start.shape)} and {tuple(other.shape)}")


def lerp(start, end, weight):
    """start + weight * (end - start), computed from the nearer end as PyTorch does (so
    ``lerp(a, b, 1)`` is exactly b, and overflow and NaN appear where PyTorch's do).

    >>> cr.lerp(cr.tensor([0.0]), cr.tensor([10.0]), 0.25)
    tensor([2.5], dtype=float32)
    """
    _lerp_dtypes(start, end, weight)
    if type(weight) is int and not -2 ** 63 <= weight < 2 ** 64:
        raise DtypeError(f"lerp: the weight {weight} is out of range (PyTorch reads an int "
                         f"weight as a 64-bit integer and refuses this one); use a float")
    if start.dtype == xp.float16:  # in float32, rounded once, as PyTorch's float16 lerp
        single = [each.astype(xp.float32) if hasattr(each, "astype") else each
                  for each in (start, end, weight)]
        return lerp(*single).astype(xp.float16)
    difference = end - start
    if isinstance(weight, (int, float)):
        if -0.5 < weight < 0.5:
            return start + weight * difference
        return end - difference * (1 - weight)
    from .elementwise import abs as absolute
    near_start = absolute(weight) < 0.5
    # Each branch sees the weight only where it is taken (0 and 1 elsewhere), so that the
    # branch not taken sends back 0 * finite, not 0 * inf = NaN for an infinite weight.
    from_start = start + where(near_start, weight, 0) * difference
    from_end = end - difference * (1 - where(near_start, 1, weight))
    return where(near_start, from_start, from_end)


@primitive(promotion="promote")
def logaddexp(a, b):
    """log(exp(a) + exp(b)), without overflow (NumPy's logaddexp factors out the larger), for
    operands whose common dtype is floating point (PyTorch refuses integers and bools).

    >>> cr.logaddexp(cr.tensor([1000.0]), cr.tensor([1000.0]))
    tensor([1000.6932], dtype=float32)
    """
    for each in (a, b):
        if type(each) is not int and xp.asarray(each).dtype.kind != "f":
            raise DtypeError(f"logaddexp: not implemented for {xp.asarray(each).dtype} (as in "
                             f"PyTorch), shapes {xp.shape(a)} and {xp.shape(b)}; convert with "
                             f".float() first")
    return xp.logaddexp(a, b)


# A primitive rather than a composite so that an infinite input has PyTorch's gradient: at
# a = inf, b finite, a's share is 1 and b's 0 (a composite's exp(a - a) gives nan there).
@logaddexp.vjp("a", formula="{grad} / (1 + exp({b} - {a}))")
def _(grad, a, b):
    return grad / (1 + exp(b - a))


@logaddexp.vjp("b", formula="{grad} / (1 + exp({a} - {b}))")
def _(grad, a, b):
    return grad / (1 + exp(a - b))
