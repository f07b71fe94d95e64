"""More of PyTorch's elementwise and special functions under their names and signatures,
declared public as those of functions.py are (chainrule/public.py). The primitives are in
ops/special_math.py; the rest are composites here."""
import math
from collections import namedtuple

from . import ops
from .backend import xp
from .dtypes import default_float, result_type
from .errors import DtypeError
from .ops import special_math as sm
from .public import public
from .tensor import Tensor, tensor
from .tensor import as_input as _t

# PyTorch's torch.return_types.frexp: a named pair.
frexp_result = namedtuple("frexp", "mantissa exponent")


def _floating(x):
    """x, or x in the default float dtype if it is an integer or bool tensor."""
    return x if x.dtype.kind == "f" else x.astype(default_float())


for _op in (sm.xlogy, sm.hypot, sm.erfc, sm.fmax, sm.fmin, sm.nextafter, sm.heaviside,
            sm.sinc):
    public(_op, method=True, inplace=_op.__name__ not in ("fmax", "fmin"))
for _op in (sm.lgamma, sm.digamma):
    public(_op, method=True, inplace=True)
public(sm.logaddexp2, method=True)
public(sm.signbit, method=True)


@public(method=True)
def gcd(input, other):
    """The greatest common divisor, elementwise, of integer tensors (never negative).

    >>> cr.gcd(cr.tensor([12, -9, 0]), cr.tensor([18, 6, 0]))
    tensor([6, 3, 0], dtype=int64)
    """
    return sm.gcd(_t(input), _tensor_only("gcd", other))


@public(method=True)
def lcm(input, other):
    """The least common multiple, elementwise, of integer tensors (never negative).

    >>> cr.lcm(cr.tensor([4, -6, 0]), cr.tensor([6, 4, 5]))
    tensor([12, 12,  0], dtype=int64)
    """
    return sm.lcm(_t(input), _tensor_only("lcm", other))


def _tensor_only(name, other):
    if not isinstance(other, Tensor):
        raise TypeError(f"{name}(): other must be a Tensor, not {type(other).__name__} (as in "
                        f"PyTorch)")
    return other


@public(method=True, inplace=True)
def logit(input, eps=None):
    """log(p / (1 - p)), the inverse of sigmoid; with ``eps``, p is first clamped to
    [eps, 1 - eps] (and gets no gradient outside it).

    >>> cr.logit(cr.tensor([0.25, 0.5, 1.0]), eps=1e-6)
    tensor([-1.0986123,  0.       , 13.802318 ], dtype=float32)
    """
    return sm.logit(_t(input), eps=eps)


@public(method=True, inplace=True)
def deg2rad(input):
    """Degrees to radians, x * pi / 180 (integers become the default float dtype).

    >>> cr.deg2rad(cr.tensor([180, -90]))
    tensor([ 3.1415927, -1.5707964], dtype=float32)
    """
    return _floating(_t(input)) * (math.pi / 180)


@public(method=True, inplace=True)
def rad2deg(input):
    """Radians to degrees, x * 180 / pi (integers become the default float dtype).

    >>> cr.rad2deg(cr.tensor([3.1415927, 1.0]))
    tensor([180.     ,  57.29578], dtype=float32)
    """
    return _floating(_t(input)) * (180 / math.pi)


@public(method=True, inplace=True)
def sgn(input):
    """The sign of each element, -1, 0 or 1 (0 for NaN); for real tensors, ``sign``.

    >>> cr.sgn(cr.tensor([-2.0, 0.0, 3.0]))
    tensor([-1.,  0.,  1.], dtype=float32)
    """
    return ops.sign(_t(input))


@public(method=True)
def positive(input):
    """The input itself (unary plus); refuses bools, as PyTorch.

    >>> x = cr.tensor([-1.0, 2.0])
    >>> cr.positive(x) is x
    True
    """
    x = _t(input)
    if x.dtype.kind == "b":
        raise DtypeError("positive: not defined for bool tensors (as in PyTorch); use "
                         "logical_not or ~ for a negation")
    return x


def _float64(x):
    x = _t(x) if isinstance(x, Tensor) else tensor(x, dtype=xp.float64)
    return x if x.dtype == xp.float64 else x.astype(xp.float64)


@public(method=True)
def float_power(input, exponent):
    """input ** exponent computed in float64, whatever the dtypes (as PyTorch).

    >>> cr.float_power(cr.tensor([2, 3]), 2)
    tensor([4., 9.], dtype=float64)
    """
    if type(exponent) in (int, float):
        # A number stays a number, as PyTorch's pow(Tensor, Scalar): 0.5 and -0.5 are sqrt and
        # 1 / sqrt there (NaN at -inf, -inf at -0), not C's pow of a tensor exponent.
        return ops.pow(_float64(input), float(exponent))
    return ops.pow(_float64(input), _float64(exponent))


def _float_power_(self, exponent):
    """In place: ``float_power``'s result written into this tensor, which must be float64
    (as PyTorch requires).

    >>> x = cr.tensor([2.0, 3.0], dtype="float64")
    >>> x.float_power_(2)
    tensor([4., 9.], dtype=float64)
    """
    if self.dtype != xp.float64:
        raise DtypeError(f"float_power_: the tensor must be float64 to hold the result, got "
                         f"{self.dtype} (as in PyTorch)")
    return self._inplace(lambda t, e: float_power(t, e), exponent, "float_power_")


@public(method=True, inplace=True)
def ldexp(input, other):
    """input * 2 ** other (integers become the default float dtype).

    >>> cr.ldexp(cr.tensor([1.0, 3.0]), cr.tensor([3, -1]))
    tensor([8. , 1.5], dtype=float32)
    """
    x, other = _t(input), _t(other)
    if other.dtype.kind == "b" and x.dtype.kind == "f":  # PyTorch's kernel has no bool exponent
        raise DtypeError(f"ldexp: a bool exponent for a {x.dtype} input is not implemented (as "
                         f"in PyTorch), shapes {tuple(x.shape)} and {tuple(other.shape)}; "
                         f"convert it with .int() first")
    # The result has the operands' common dtype made floating point, as in PyTorch: a float16
    # or 0-d float64 exponent sets it as in any product (ldexp(int, float16) is float16).
    dtype = result_type([x._data, other._data])
    dtype = dtype if dtype.kind == "f" else default_float()
    integral = x.dtype.kind in "iub"
    x = x if x.dtype == dtype else x.astype(dtype)
    if other.dtype.kind in "iub" and integral:
        # PyTorch's ldexp of integers is input * 2.0 ** other, whose power overflows: 0 with
        # an exponent of 200 is NaN there (0 * inf); exact only for a float input.
        return x * Tensor._wrap(xp.exp2(other._data.astype(dtype)))
    if other.dtype.kind in "iub":
        return sm.ldexp(x, other.detach().numpy().astype(xp.int64))
    # A float exponent's power of 2 is rounded to the exponent's own dtype first, as PyTorch's
    # (ldexp(float32, float16) multiplies by a float16 2 ** other).
    power = ops.exp2(other)
    return x * (power if power.dtype == dtype else power.astype(dtype))


@public(method=True)
def frexp(input):
    """(mantissa, exponent) with input = mantissa * 2 ** exponent, |mantissa| in [0.5, 1)
    (0 for 0; inf and NaN as they are, with exponent 0); the exponent is int32. The mantissa's
    gradient is grad / 2 ** exponent.

    >>> cr.frexp(cr.tensor([8.0, -0.75, 0.0]))
    frexp(mantissa=tensor([ 0.5 , -0.75,  0.  ], dtype=float32), exponent=tensor([4, 0, 0], dtype=int32))
    """
    x = _t(input)
    if x.dtype.kind != "f":
        raise DtypeError(f"frexp: needs a floating-point tensor, got {x.dtype} (as in PyTorch)")
    exponent = xp.frexp(x.detach().numpy())[1].astype(xp.int32)
    return frexp_result(sm.frexp_mantissa(x), tensor(exponent))


def _gcd_(self, other):
    """In place: ``gcd``'s result written into this integer tensor, which is returned.

    >>> x = cr.tensor([12, 9])
    >>> x.gcd_(cr.tensor([18, 6]))
    tensor([6, 3], dtype=int64)
    """
    return self._inplace(gcd, other, "gcd_")


def _lcm_(self, other):
    """In place: ``lcm``'s result written into this integer tensor, which is returned.

    >>> x = cr.tensor([4, 6])
    >>> x.lcm_(cr.tensor([6, 4]))
    tensor([12, 12], dtype=int64)
    """
    return self._inplace(lcm, other, "lcm_")


for _method in (_float_power_, _gcd_, _lcm_):
    _method.__name__ = _method.__name__[1:]
    _method.__qualname__ = f"Tensor.{_method.__name__}"
    setattr(Tensor, _method.__name__, _method)
