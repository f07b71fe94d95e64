"""Elementwise primitives of PyTorch's that a composite of other ops cannot give with PyTorch's
value or gradient at every point: logit, xlogy, sinc, hypot, erfc, fmax/fmin, logaddexp2, and
nextafter, ldexp, frexp's mantissa and the ones without a gradient (signbit, heaviside,
gcd, lcm). Each VJP is written with
primitives, so it is itself differentiable."""
import math

from ..backend import xp
from ..errors import DtypeError, GradientError
from .elementwise import exp, in_single, mul, where
from .math import _CODY_C, _CODY_D, _CODY_P, _CODY_Q, _erf, _horner, cos, exp2, isnan, sin
from .primitive import primitive

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _floats_only(name, *arrays):
    for a in arrays:
        # A Python int beside a float tensor is left as it is by promotion: a float operand.
        if type(a) is not int and xp.asarray(a).dtype.kind != "f":
            raise DtypeError(f"{name}: needs floating-point tensors, got {xp.asarray(a).dtype} "
                             f"(as in PyTorch)")


@primitive(promotion="float")
def logit(x, *, eps=None):
    """log(x / (1 - x)), with x first clamped to [eps, 1 - eps] when eps is given.

    >>> cr.logit(cr.tensor([0.5, 0.75, 1.0]))
    tensor([0.       , 1.0986123,       inf], dtype=float32)
    """
    if eps is not None:
        x = xp.clip(x, eps, 1 - eps)
    with xp.errstate(divide="ignore", invalid="ignore"):
        return xp.log(x / (1 - x))


@logit.vjp(formula="{grad} / ({x} (1 - {x})); outside [eps, 1 - eps] 0, or NaN outside "
                   "[0, 1] without eps")
def _(grad, x, eps):
    # PyTorch's choices: grad / (x (1 - x)) even at 0 and 1, where it is grad * inf to the
    # sign and NaN (+ 0 makes the -0 of x = -0 a +0, so +inf there too, as PyTorch's kernel),
    # and outside the domain the clamp's zero slope, or NaN without a clamp. The + 0 rather
    # than a where keeps x (1 - x) in the graph: the second derivative at 0 and 1 is NaN
    # (inf * 0 in the product), as PyTorch's.
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = grad / (x * (1 - x) + 0.0)
    if eps is None:
        return where((x < 0) | (x > 1), math.nan, out)
    return where((x < eps) | (x > 1 - eps), 0, out)


@primitive(promotion="float")
def xlogy(a, b):
    """a * log(b), 0 where a is 0 (even where b is 0 or inf), NaN where b is NaN.

    >>> cr.xlogy(cr.tensor([0.0, 2.0, 3.0]), cr.tensor([0.0, 1.0, 2.0]))
    tensor([0.       , 0.       , 2.0794415], dtype=float32)
    """
    dtype = xp.result_type(a, b)  # a Python number is weak, as in PyTorch
    a, b = xp.asarray(a, dtype), xp.asarray(b, dtype)
    with xp.errstate(divide="ignore", invalid="ignore"):
        out = xp.where(a == 0, xp.zeros((), dtype), a * xp.log(b))
    return xp.where(xp.isnan(b), b, out)


@xlogy.vjp("a", formula="xlogy({grad}, {b}), 0 where {a} = 0 and {b} <= 0")
def _(grad, a, b):
    return where((a == 0) & (b <= 0), 0, xlogy(grad, b))


@xlogy.vjp("b", formula="{grad} * {a} / {b}")
def _(grad, a, b):
    return grad * a / b


@primitive(promotion="float")
def sinc(x):
    """sin(pi x) / (pi x), 1 at x = 0.

    >>> cr.sinc(cr.tensor([0.0, 0.5, 1.0], dtype="float64"))
    tensor([1.00000000e+00, 6.36619772e-01, 3.89817183e-17], dtype=float64)
    """
    if x.dtype == xp.float16:
        return in_single(sinc, x)
    px = x * math.pi
    with xp.errstate(invalid="ignore", divide="ignore"):
        return xp.where(x == 0, xp.ones((), x.dtype), xp.sin(px) / px)


@sinc.vjp(formula="{grad} * (pi x cos(pi x) - sin(pi x)) / (pi x^2), 0 where pi x^2 = 0")
def _(grad, x):
    # As PyTorch: 0 where x * x * pi underflows to 0 (x = 0 and tiny x), not 0 / 0; the
    # quotient itself stays 0 / 0 there, so that the second derivative is NaN, as PyTorch's.
    # mul, not *, for the products by pi: a float16 x times pi in float32, as PyTorch's.
    square = mul(x * x, math.pi)
    px = mul(x, math.pi)
    with xp.errstate(divide="ignore", invalid="ignore"):
        return where(square == 0, 0, grad * (px * cos(px) - sin(px)) / square)


@primitive(promotion="promote")
def hypot(a, b):
    """sqrt(a^2 + b^2) without overflow, for floating-point tensors.

    >>> cr.hypot(cr.tensor([3.0, 1e30]), cr.tensor([4.0, 1e30]))
    tensor([5.0000000e+00, 1.4142135e+30], dtype=float32)
    """
    _floats_only("hypot", a, b)
    return xp.hypot(a, b)


@hypot.vjp("a", formula="{grad} * {a} / {out}")
def _(grad, a, out):
    return grad * a / out


@hypot.vjp("b", formula="{grad} * {b} / {out}")
def _(grad, b, out):
    return grad * b / out


def _erfc_positive(y):
    """erfc(y) for y > 0.46875 in float64: Cody's rational forms, with exp(-y^2) taken as
    exp(-s^2) exp(-(y - s)(y + s)) for s = y rounded to 1/16, so that the rounding of y^2
    (up to 700 ulps of the exponent near y = 26) does not enter the result."""
    s = xp.trunc(y * 16.0) / 16.0
    with xp.errstate(under="ignore", over="ignore", invalid="ignore"):
        near = _horner(_CODY_C, y) / _horner(_CODY_D, y)
        z = 1.0 / (y * y)
        far = (0.56418958354775628695 - z * _horner(_CODY_P, z) / _horner(_CODY_Q, z)) / y
        return xp.exp(-(s * s)) * (xp.exp(-((y - s) * (y + s))) * xp.where(y <= 4.0, near, far))


def _erfc(x):
    x64 = xp.asarray(x, dtype=xp.float64)
    small = xp.abs(x64) <= 0.46875
    y = xp.where(small, 1.0, xp.abs(x64))  # a NaN stays, inf gives 0 below
    tail = _erfc_positive(xp.where(xp.isinf(y), 40.0, y))
    out = xp.where(x64 < 0, 2.0 - tail, tail)
    out = xp.where(small, 1.0 - xp.asarray(_erf(xp.where(small, x64, 0.0))), out)
    return out.astype(x.dtype)


@primitive(promotion="float")
def erfc(x):
    """The complementary error function, 1 - erf(x), accurate where it is tiny (large x):
    float64 within about 1e-15 relative error; float32 computed in float64 and rounded.

    >>> cr.erfc(cr.tensor([0.0, 1.0, 10.0], dtype="float64"))
    tensor([1.00000000e+00, 1.57299207e-01, 2.08848758e-45], dtype=float64)
    """
    return _erfc(x)


@erfc.vjp(formula="-{grad} * 2/sqrt(pi) * exp(-{x}^2)")
def _(grad, x):
    return mul(exp(-(x * x)), -_TWO_OVER_SQRT_PI) * grad  # PyTorch's order


def _nan_ignoring(name, ufunc, compare):
    def forward(a, b):
        # PyTorch's a if a >= b (fmax) or b is NaN, else b: of 0 and -0 the first is kept.
        first = ((a >= b) if compare == ">=" else (a <= b)) | xp.isnan(b)
        return xp.where(first, a, b).astype(xp.result_type(a, b), copy=False)
    forward.__name__ = forward.__qualname__ = name
    op = primitive(forward, promotion="promote")

    # As PyTorch: a tie, or a NaN b, sends the whole gradient to a.
    @op.vjp("a", formula=f"{{grad}} where {{a}} {compare} {{b}} or {{b}} is NaN, else 0")
    def _(grad, a, b):
        return where(_first(a, b, compare), grad, 0)

    @op.vjp("b", formula=f"{{grad}} where not ({{a}} {compare} {{b}} or {{b}} is NaN)")
    def _(grad, a, b):
        return where(_first(a, b, compare), 0, grad)
    return op


def _first(a, b, compare):
    return ((a >= b) if compare == ">=" else (a <= b)) | isnan(b)


fmax = _nan_ignoring("fmax", xp.fmax, ">=")
fmin = _nan_ignoring("fmin", xp.fmin, "<=")
fmax.__doc__ = """The elementwise maximum, ignoring NaN: the other element where one is NaN.

    >>> cr.fmax(cr.tensor([1.0, float('nan'), 3.0]), cr.tensor([2.0, 0.0, float('nan')]))
    tensor([2., 0., 3.], dtype=float32)
    """
fmin.__doc__ = """The elementwise minimum, ignoring NaN: the other element where one is NaN.

    >>> cr.fmin(cr.tensor([1.0, float('nan'), 3.0]), cr.tensor([2.0, 0.0, float('nan')]))
    tensor([1., 0., 3.], dtype=float32)
    """


@primitive(promotion="promote")
def logaddexp2(a, b):
    """log2(2^a + 2^b), without overflow, for floating-point tensors.

    >>> cr.logaddexp2(cr.tensor([1.0, 1000.0]), cr.tensor([1.0, 1000.0]))
    tensor([   2., 1001.], dtype=float32)
    """
    _floats_only("logaddexp2", a, b)
    return xp.logaddexp2(a, b)


# As logaddexp's: a's share 1 / (1 + 2^(b - a)) is 1 at a = inf, b finite.
@logaddexp2.vjp("a", formula="{grad} / (1 + 2^({b} - {a}))")
def _(grad, a, b):
    return grad / (1 + exp2(b - a))


@logaddexp2.vjp("b", formula="{grad} / (1 + 2^({a} - {b}))")
def _(grad, a, b):
    return grad / (1 + exp2(a - b))


def _refuse(name):
    raise GradientError(f"the derivative of {name} is not implemented (PyTorch's is not "
                        f"either)")


@primitive
def heaviside(input, values):
    """0 where input < 0, 1 where input > 0, ``values`` where input is 0 (a NaN stays NaN);
    the two must have one dtype, as in PyTorch. Has no derivative.

    >>> cr.heaviside(cr.tensor([-1.5, 0.0, 2.0]), cr.tensor([0.5]))
    tensor([0. , 0.5, 1. ], dtype=float32)
    """
    if input.dtype != values.dtype:
        raise DtypeError(f"heaviside: input ({input.dtype}) and values ({values.dtype}) must "
                         f"have one dtype (as in PyTorch)")
    # values at 0, else input > 0: 0 for NaN, as PyTorch (NumPy's heaviside gives NaN).
    return xp.where(input == 0, values, input > 0).astype(input.dtype)


@heaviside.vjp("input", formula="none: heaviside has no derivative")
def _(grad):
    _refuse("heaviside")


@heaviside.vjp("values", formula="none: heaviside has no derivative")
def _(grad):
    _refuse("heaviside")


@primitive(promotion="promote")
def nextafter(input, other):
    """The next floating-point number after input toward other. Its gradient is PyTorch's:
    the upstream gradient for input (a step of one ulp is taken as the identity) except where
    input equals other (the result is then other itself: 0), and 0 for other.

    >>> cr.nextafter(cr.tensor([1.0], dtype="float64"), cr.tensor([2.0], dtype="float64")) - 1
    tensor([2.22044605e-16], dtype=float64)
    """
    _floats_only("nextafter", input, other)
    out = xp.nextafter(input, other)
    if out.dtype == xp.float16:  # NumPy's float16 gives input where the two are equal, C other
        out = xp.where(input == other, other, out).astype(xp.float16, copy=False)
    return out


@nextafter.vjp("input", formula="{grad} where input != other, 0 where they are equal (the "
                                 "result is then other itself)")
def _(grad, input, other):
    return where(input == other, 0, grad)


@nextafter.vjp("other", formula="0")
def _(grad):
    return where(False, grad, 0)


@primitive(differentiable=False)
def signbit(x):
    """Whether each element's sign bit is set (True for -0.0 and negative NaNs).

    >>> cr.signbit(cr.tensor([-1.0, -0.0, 0.0, 2.0]))
    tensor([ True,  True, False, False], dtype=bool)
    """
    return xp.signbit(x)


def _integers(name, ufunc):
    def forward(a, b):
        for each in (a, b):
            if xp.asarray(each).dtype.kind not in "iu":
                raise DtypeError(f"{name}: needs integer tensors, got {xp.asarray(each).dtype}"
                                 f" (as in PyTorch)")
        return ufunc(a, b)
    forward.__name__ = forward.__qualname__ = name
    return primitive(forward, differentiable=False, promotion="promote")


def _gcd(a, b):
    """NumPy's gcd, but as PyTorch's C loop where an operand is the dtype's lowest number,
    whose abs stays negative there and whose remainders truncate: gcd(-128, 6) is -2 in
    int8 (NumPy: 2); gcd(-128, 0) is -128 in both."""
    out = xp.asarray(xp.gcd(a, b))
    if out.dtype.kind != "i" or not out.size:
        return out
    shape, low = out.shape, xp.iinfo(out.dtype).min
    a, b = (xp.broadcast_to(xp.asarray(v, dtype=out.dtype), shape).reshape(-1) for v in (a, b))
    odd = (a == low) | (b == low)
    if not odd.any():
        return out
    x, y = xp.abs(a[odd]), xp.abs(b[odd])
    while (x != 0).any():
        going = x != 0
        x[going], y[going] = xp.fmod(y[going], x[going]), x[going]
    out = out.reshape(-1)
    out[odd] = y
    return out.reshape(shape)


gcd = _integers("gcd", _gcd)
lcm = _integers("lcm", xp.lcm)
gcd.__doc__ = """The greatest common divisor, elementwise, of integers (never negative).

    >>> cr.gcd(cr.tensor([12, -9, 0]), cr.tensor([18, 6, 0]))
    tensor([6, 3, 0], dtype=int64)
    """
lcm.__doc__ = """The least common multiple, elementwise, of integers (never negative).

    >>> cr.lcm(cr.tensor([4, -6, 0]), cr.tensor([6, 4, 5]))
    tensor([12, 12,  0], dtype=int64)
    """


@primitive
def ldexp(x, exponent):
    """x * 2 ** exponent for an integer exponent, exactly (no overflow of 2 ** exponent).

    >>> from chainrule.ops.special_math import ldexp
    >>> ldexp(cr.tensor([1.0, 3.0]), cr.tensor([3, -1]))
    tensor([8. , 1.5], dtype=float32)
    """
    # An exponent beyond int32 wraps into it, as PyTorch's C++ int does: x * 2 ** (2 ** 40)
    # is x there (it was clipped to 2 ** 31 - 1 here, inf).
    return xp.ldexp(x, xp.asarray(exponent).astype(xp.int32))


@ldexp.vjp("x", formula="{grad} * 2^{exponent}")
def _(grad, exponent):
    return ldexp(grad, exponent)


@primitive
def frexp_mantissa(x):
    """frexp's mantissa: x / 2^e with |x / 2^e| in [0.5, 1) (0, inf and NaN as they are).

    >>> from chainrule.ops.special_math import frexp_mantissa
    >>> frexp_mantissa(cr.tensor([8.0, -0.75]))
    tensor([ 0.5 , -0.75], dtype=float32)
    """
    return xp.frexp(x)[0]


@frexp_mantissa.vjp(formula="{grad} / 2^e, e = frexp's exponent of {x}")
def _(grad, x):
    # 2^e in x's dtype. (PyTorch takes it in float32, so its float64 gradient is 0 or inf for
    # |e| > 127, as at x = 1e-300.)
    exponent = xp.frexp(x.detach().numpy() if hasattr(x, "detach") else x)[1]
    return grad / xp.exp2(exponent.astype(x.dtype))


# -- lgamma, digamma and trigamma (float64 kernels; float32 is computed in float64) -----------

def _zeta_minus_one(k, n=60):
    """zeta(k) - 1 for k >= 2: the sum to n - 1, then Euler-Maclaurin's tail from n."""
    head = math.fsum(m ** -k for m in range(2, n))
    tail = (n ** (1 - k) / (k - 1) + n ** -k / 2 + k * n ** (-k - 1) / 12
            - k * (k + 1) * (k + 2) * n ** (-k - 3) / 720
            + k * (k + 1) * (k + 2) * (k + 3) * (k + 4) * n ** (-k - 5) / 30240)
    return head + tail


_EULER = 0.57721566490153286061
# lgamma(2 + z) = (1 - gamma) z + sum over k >= 2 of (-1)^k (zeta(k) - 1) z^k / k, |z| <= 1/2;
# coefficients highest power first, for _horner (z times this polynomial).
_NEAR_TWO = tuple((-1) ** k * _zeta_minus_one(k) / k for k in range(40, 1, -1)) + (1 - _EULER,)
# Stirling's series: B_2k / (2k (2k - 1) x^(2k - 1)), in 1/x^2, highest power first.
_STIRLING = (-3617 / 510 / 240, 7 / 6 / 182, -691 / 2730 / 132, 5 / 66 / 90, -1 / 30 / 56,
             1 / 42 / 30, -1 / 30 / 12, 1 / 6 / 2)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _lgamma_positive(x):
    """lgamma for x > 0 (float64): a series about 2 (and 1, through log1p) where lgamma has
    its zeros, the recurrence down to [1.5, 2.5] below 10, Stirling's series from 10."""
    out = xp.empty_like(x)
    small = x < 0.5
    near_one = (x >= 0.5) & (x < 1.5)
    mid = (x >= 1.5) & (x < 10)
    large = x >= 10
    z = x[small]  # lgamma(z) = lgamma(1 + z) - log z
    out[small] = z * _horner(_NEAR_TWO, z) - xp.log1p(z) - xp.log(z)
    z = x[near_one] - 1
    out[near_one] = z * _horner(_NEAR_TWO, z) - xp.log1p(z)
    y = x[mid]
    shift = xp.floor(y - 1.5)  # 0 to 8 steps down to [1.5, 2.5)
    product = xp.ones_like(y)
    for _ in range(8):
        step = shift > 0
        y = xp.where(step, y - 1, y)
        product *= xp.where(step, y, 1.0)
        shift -= 1
    out[mid] = (y - 2) * _horner(_NEAR_TWO, y - 2) + xp.log(product)
    y = x[large]
    with xp.errstate(over="ignore", under="ignore"):
        log_y = xp.log(y)
        series = _horner(_STIRLING, 1 / (y * y)) / y
        out[large] = y * (log_y - 1) - 0.5 * log_y + _HALF_LOG_2PI + series
    return out


def _lgamma(x):
    """lgamma in x's dtype; below 0 by the reflection log(pi / |sin(pi x)|) - lgamma(1 - x)."""
    x64 = xp.asarray(x, dtype=xp.float64).reshape(-1)
    out = xp.full(x64.shape, xp.inf)  # 0, the negative integers and -inf: inf, as PyTorch
    positive = (x64 > 0) & (x64 < xp.inf)
    out[positive] = _lgamma_positive(x64[positive])
    negative = (x64 < 0) & (x64 != xp.round(x64))
    y = x64[negative]
    sin_pi = xp.abs(xp.sin(math.pi * (y - xp.round(y))))  # y - round(y) is exact
    out[negative] = xp.log(math.pi / sin_pi) - _lgamma_positive(1 - y)
    out[xp.isnan(x64)] = xp.nan
    return out.reshape(xp.shape(x)).astype(x.dtype)


# PyTorch's calc_digamma (Cephes): the recurrence up to 10, then the asymptotic series.
_PSI_10 = 2.25175258906672110764
_DIGAMMA_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
              -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
              8.33333333333333333333e-2)


def _digamma_from(x):
    """digamma for x > 0, step for step as PyTorch's kernel."""
    result = xp.zeros_like(x)
    for _ in range(10):
        below = x < 10
        result -= xp.where(below, 1 / xp.where(below, x, 1.0), 0.0)
        x = xp.where(below, x + 1, x)
    z = 1 / (x * x)
    y = xp.where(x < 1e17, z * _horner(_DIGAMMA_A, z), 0.0)
    return xp.where(x == 10, result + _PSI_10, result + xp.log(x) - 0.5 / x - y)


def _native(x):
    # digamma and trigamma are computed in x's own precision, as PyTorch's kernels are (their
    # float32 values at the poles and huge arguments are float32's rounding of pi x).
    x = xp.asarray(x)
    return x if x.dtype in (xp.float32, xp.float64) else x.astype(xp.float32)


def _digamma(x):
    x64 = _native(x)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reflected = x64 < 0
        y = xp.where(reflected, 1 - x64, x64)
        out = _digamma_from(xp.where(y > 0, y, xp.ones((), y.dtype)))
        # psi(x) = psi(1 - x) - pi / tan(pi r), r = x's fraction; NaN at negative integers.
        # pi / tan(pi r) in float64 and rounded once, as PyTorch's float kernel does (in
        # float32 it was 36 ulp off at x = -0.5, and differed from PyTorch in 6 of 10 draws).
        r = x64 - xp.trunc(x64)
        cotangent = (math.pi / xp.tan(math.pi * r.astype(xp.float64))).astype(x64.dtype)
        out = xp.where(reflected, out - cotangent, out)
        out = xp.where(reflected & (r == 0), xp.nan, out)
        out = xp.where(x64 == 0, xp.copysign(xp.inf, -x64), out)  # -inf at +0, inf at -0
        out = xp.where(xp.isnan(x64) | (x64 == -xp.inf), xp.nan, out)
    return out.astype(x.dtype)


def _trigamma(x):
    """PyTorch's calc_trigamma: the reflection below 1/2, six steps of the recurrence, then
    the asymptotic series."""
    x = _native(x)
    with xp.errstate(divide="ignore", invalid="ignore", over="ignore"):
        reflected = x < 0.5
        pi = x.dtype.type(math.pi)  # pi squared in x's precision, as the kernel's pi<float>
        sin_pi = xp.sin(pi * x)
        result = xp.where(reflected, -(pi * pi) / (sin_pi * sin_pi), 0.0).astype(x.dtype)
        x = xp.where(reflected, 1 - x, x)
        for _ in range(6):
            result += 1 / (x * x)
            x = x + 1
        ixx = 1 / (x * x)
        result += (1 + 1 / (2 * x) + ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / x
    return xp.where(reflected, -result, result)


@primitive(promotion="float")
def lgamma(x):
    """log |Gamma(x)|, elementwise (inf at 0 and the negative integers); in float64 within
    about 1e-14 relative error away from its zeros below -2.

    >>> cr.lgamma(cr.tensor([0.5, 1.0, 3.0, 100.0], dtype="float64"))
    tensor([  0.57236494,   0.        ,   0.69314718, 359.13420537], dtype=float64)
    """
    return _lgamma(x)


@lgamma.vjp(formula="{grad} * digamma({x})")
def _(grad, x):
    return grad * digamma(x)


@primitive(promotion="float")
def digamma(x):
    """The logarithmic derivative of Gamma, d/dx lgamma(x), elementwise (PyTorch's kernel:
    NaN at the negative integers, -inf at +0, inf at -0).

    >>> cr.digamma(cr.tensor([1.0, 0.5, 10.0], dtype="float64"))
    tensor([-0.57721566, -1.96351003,  2.25175259], dtype=float64)
    """
    with xp.errstate(divide="ignore", invalid="ignore"):
        return _digamma(x)


@digamma.vjp(formula="{grad} * polygamma(1, {x})")
def _(grad, x):
    return grad * trigamma(x)


@primitive
def trigamma(x):
    """polygamma(1, x), the derivative of digamma (PyTorch's kernel); its own derivative is
    refused.

    >>> from chainrule.ops.special_math import trigamma
    >>> trigamma(cr.tensor([1.0], dtype="float64"))
    tensor([1.64493407], dtype=float64)
    """
    return _trigamma(x).astype(x.dtype)


@trigamma.vjp(formula="none: polygamma(2, x) is not implemented")
def _(grad):
    raise GradientError("the derivative of polygamma(1, x) (the second derivative of digamma,"
                        " the third of lgamma) needs polygamma(2, x), which chainrule does not "
                        "implement yet")
