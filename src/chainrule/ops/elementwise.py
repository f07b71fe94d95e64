"""Elementwise primitives. Binary VJPs return gradients in the broadcast shape; the engine
reduces them to each input's shape."""
from ..backend import xp
from ..dtypes import default_float, fill_number
from ..engine import mode
from ..errors import ArgumentError, DtypeError, GradientError
from .primitive import primitive

# Compared with `is` on every product (NumPy's float16 dtype is one object): `==` and a helper
# call cost the 500-op chain 3% of its instructions.
_HALF, _SINGLE, _DOUBLE = xp.dtype(xp.float16), xp.dtype(xp.float32), xp.dtype(xp.float64)


def _half_and_number(a, b):
    """Whether a float16 array meets a Python number, or a 0-d float32/float64 array as its
    second operand (a 0-d tensor that _promote left in its dtype: PyTorch reads it as a
    number). PyTorch's float16 product and quotient then compute in float32 and round once;
    NumPy rounds the number to float16 first, so x * 0.1 would differ from PyTorch's in a third
    of the elements."""
    return (type(b) in (int, float) and getattr(a, "dtype", None) == _HALF or
            type(a) in (int, float) and getattr(b, "dtype", None) == _HALF or
            getattr(a, "dtype", None) == _HALF and isinstance(b, xp.ndarray) and
            not b.ndim and b.dtype in (_SINGLE, _DOUBLE))


def _half_in(out, a):
    """Whether float16 is in a product or quotient: its result's dtype, or its first operand's
    (float16 times a 0-d float32 array gives float32), compared with `is` first because this
    runs on every product (see above)."""
    return getattr(out, "dtype", None) is _HALF or getattr(a, "dtype", None) is _HALF


def in_single(function, *args):
    """``function`` of float16 arrays computed in float32 and rounded once to float16, as
    PyTorch's float16 kernels compute (NumPy rounds each intermediate step to float16)."""
    return function(*(a.astype(_SINGLE) if getattr(a, "dtype", None) == _HALF else a
                      for a in args)).astype(_HALF)


@primitive(promotion="promote")
def add(a, b):
    """a + b, elementwise with broadcasting.

    >>> cr.ops.add(cr.tensor([1.0]), 2)
    tensor([3.], dtype=float32)
    """
    return a + b


@add.vjp("a", formula="{grad}")
def _(grad):
    return grad


@add.vjp("b", formula="{grad}")
def _(grad):
    return grad


@primitive(promotion="promote", bools="operand")
def sub(a, b):
    return a - b


@sub.vjp("a", formula="{grad}")
def _(grad):
    return grad


@sub.vjp("b", formula="-{grad}")
def _(grad):
    return -grad


@primitive(promotion="promote")
def mul(a, b):
    out = a * b
    if _half_in(out, a) and _half_and_number(a, b):
        return in_single(xp.multiply, a, b)
    return out


@mul.vjp("a", formula="{grad} * {b}")
def _(grad, b):
    out = grad * b
    return mul(grad, b) if _half_in(out, grad) and _half_and_number(grad, b) else out


@mul.vjp("b", formula="{grad} * {a}")
def _(grad, a):
    out = grad * a
    return mul(grad, a) if _half_in(out, grad) and _half_and_number(grad, a) else out


@primitive(promotion="float")
def div(a, b):
    out = a / b
    if _half_in(out, a) and _half_and_number(a, b):
        return in_single(xp.divide, a, b)
    return out


@div.vjp("a", formula="{grad} / {b}")
def _(grad, b):
    out = grad / b
    return div(grad, b) if _half_in(out, grad) and _half_and_number(grad, b) else out


@div.vjp("b", formula="-{grad} * ({a} / {b}) / {b}")
def _(grad, a, b):
    # (a / b) / b rather than a / b^2: b^2 under- or overflows where the quotients do not
    # (b = 1e-300), and it is PyTorch's order, so inf and nan land where PyTorch's do.
    return -grad * ((a / b) / b)


@primitive
def neg(x):
    """-x, elementwise.

    >>> cr.neg(cr.tensor([1.0, -2.0]))
    tensor([-1.,  2.], dtype=float32)
    """
    if x.dtype.kind == "b":
        raise DtypeError("neg: not implemented for bool tensors (as in PyTorch); to invert a "
                         "mask, use ~mask or logical_not")
    return -x


@neg.vjp(formula="-{grad}")
def _(grad):
    return -grad


@primitive(promotion="promote", bools="result", exact_ints=("b",))
def pow(a, b):
    """a to the power b, elementwise.

    >>> cr.tensor([4.0, -0.0]) ** 0.5
    tensor([ 2., -0.], dtype=float32)
    """
    if getattr(a, "dtype", None) == _HALF and type(b) in (int, float):
        fill_number("pow", b, _HALF)  # PyTorch refuses an exponent beyond float16's range
    if not isinstance(b, xp.ndarray) and a.dtype.kind == "f" and b in (3, -2):
        # PyTorch's kernel computes these two by products, x * x * x and 1 / (x * x) (in
        # float32 for float16), which round differently from C's pow.
        by_products = _cube if b == 3 else _inverse_square
        return in_single(by_products, a) if a.dtype == _HALF else by_products(a)
    if not isinstance(b, xp.ndarray) and a.dtype.kind == "f" and b in (0.5, -0.5):
        if a.dtype != _HALF:
            # PyTorch computes a power by a number 0.5 or -0.5 as sqrt or 1 / sqrt, which
            # differ from pow at -0 and -inf (sqrt(-0) = -0, pow(-0, 0.5) = 0).
            return xp.sqrt(a) if b > 0 else 1 / xp.sqrt(a)
        b = xp.array(b, a.dtype)  # float16: C's pow, as PyTorch's (made full size below)
    if isinstance(b, xp.ndarray):
        # A tensor exponent is C's pow, as PyTorch's. NumPy takes shortcuts for an exponent
        # that is one number broadcast (sqrt for 0.5: nan at -inf, where pow gives inf), so a
        # broadcast exponent is first made full size.
        shape = xp.broadcast_shapes(xp.shape(a), b.shape)
        if b.shape != shape:
            b = xp.broadcast_to(b, shape).copy()
        if b.dtype.kind in "iu" and xp.asarray(a).dtype.kind in "iu" and (b < 0).any():
            return _integer_power(a, b)
        return xp.power(a, b)
    return a ** b


def _cube(x):
    return x * x * x


def _inverse_square(x):
    return 1 / (x * x)


def _integer_power(a, b):
    # PyTorch's integer power by a negative tensor exponent (NumPy refuses it): 1 stays 1, -1
    # alternates, every other base gives 0 (2 ** -1 is 0, as integer division would).
    negative = xp.where(a == 1, 1, xp.where(a == -1, xp.where(b % 2 == 0, 1, -1), 0))
    out = xp.power(a, xp.maximum(b, 0))
    return xp.where(b < 0, negative, out).astype(out.dtype, copy=False)


@pow.vjp("a", formula="{grad} * {b} * {a}^({b} - 1), 0 where {b} = 0")
def _(grad, a, b):
    # x^0 is the constant 1, so its slope is 0 even at x = 0 (where 0 * 0^-1 would be nan), as
    # in PyTorch. The branch not taken keeps its 0^-1, as PyTorch's: the second derivative at
    # x = 0 for a tensor exponent 0 is NaN there (0 * inf), as PyTorch's.
    if not isinstance(b, xp.ndarray) and not hasattr(b, "_data"):  # a number, as PyTorch's
        # mul: a float16 product by the number in float32, as PyTorch's.
        return where(False, grad, 0) if b == 0 else grad * mul(pow(a, b - 1), b)
    with xp.errstate(divide="ignore", invalid="ignore"):
        return where(b == 0, 0, grad * (b * a ** (b - 1)))


@pow.vjp("b", formula="{grad} * {out} * log({a}), 0 where {a} = 0 and {b} >= 0")
def _(grad, a, b, out):
    # a^b log(a), PyTorch's formula everywhere: nan for a < 0 (a real power of a negative base
    # has no derivative in b), -inf at a = 0 with b < 0; at a = 0 and b >= 0, where 0^b is flat
    # from the right, PyTorch takes 0. The branch not taken keeps its log(0), as PyTorch's: the
    # second derivative at a = 0 is NaN (0 * -inf).
    with xp.errstate(divide="ignore", invalid="ignore"):
        return grad * where((a == 0) & (b >= 0), 0, out * log(a))


@primitive(promotion="float")
def exp(x):
    """e to the power x, elementwise.

    >>> cr.exp(cr.tensor([0.0, 1.0]))
    tensor([1.      , 2.718282], dtype=float32)
    """
    return xp.exp(x)


@exp.vjp(formula="{grad} * {out}")
def _(grad, out):
    return grad * out


@primitive(promotion="float")
def log(x):
    """The natural logarithm, elementwise.

    >>> cr.log(cr.tensor([1.0, 2.718281828]))
    tensor([0., 1.], dtype=float32)
    """
    return xp.log(x)


@log.vjp(formula="{grad} / {x}")
def _(grad, x):
    return grad / x


@primitive(promotion="float")
def sqrt(x):
    """The square root, elementwise.

    >>> cr.sqrt(cr.tensor([4.0, 9.0]))
    tensor([2., 3.], dtype=float32)
    """
    return xp.sqrt(x)


@sqrt.vjp(formula="{grad} / (2 {out})")
def _(grad, out):
    return grad / (out * 2)


@primitive
def abs(x):
    """|x|, elementwise; the gradient at 0 is 0, as in PyTorch.

    >>> cr.abs(cr.tensor([-1.5, 2.0]))
    tensor([1.5, 2. ], dtype=float32)
    """
    if x.dtype.kind == "b":
        raise DtypeError("abs: not implemented for bool tensors (as in PyTorch); convert "
                         "with .to(cr.int64) first")
    return xp.abs(x)


@abs.vjp(formula="{grad} * sign({x})")
def _(grad, x):
    # Subgradient 0 at x = 0, as in PyTorch.
    return grad * sign(x)


@primitive(promotion="float")
def tanh(x):
    """The hyperbolic tangent, elementwise.

    >>> cr.tanh(cr.tensor([0.0, 1.0]))
    tensor([0.       , 0.7615942], dtype=float32)
    """
    return xp.tanh(x)


@tanh.vjp(formula="{grad} * (1 - {out}^2)")
def _(grad, out):
    if out.dtype is _HALF:  # in float32, rounded once, as PyTorch's tanh_backward
        return in_single(lambda grad, out: grad * (1 - out * out), grad, out)
    return grad * (1 - out * out)


@primitive(promotion="float")
def sigmoid(x):
    """1 / (1 + exp(-x)), elementwise, without overflow for large |x|.

    >>> cr.sigmoid(cr.tensor([0., 100., -100.]))
    tensor([5.0e-01, 1.0e+00, 3.8e-44], dtype=float32)
    """
    if x.dtype is _HALF:
        return in_single(sigmoid, x)
    # exp only ever sees -|x|, so it cannot overflow; each sign takes its own form.
    e = xp.exp(-xp.abs(x))
    # The numerator is 1 where x >= 0 and e elsewhere (e <= 1): the same numbers as
    # where(x >= 0, 1 / (1 + e), e / (1 + e)), without where's branch on a mixed-sign mask
    # (about 15x slower than the arithmetic on a (32, 1024) float32 array).
    return xp.maximum(e, x >= 0) / (1 + e)


@sigmoid.vjp(formula="{grad} * {out} * (1 - {out})")
def _(grad, out):
    # PyTorch's order of the products (its float16 kernel too rounds each step), so the
    # gradient is PyTorch's to the last bit.
    return grad * (1 - out) * out


@primitive(promotion="float")
def softplus(x, *, beta=1.0, threshold=None):
    """log(1 + exp(beta x)) / beta, without overflow; with a ``threshold``, x itself where
    beta x > threshold (as PyTorch's ``nn.functional.softplus``, whose threshold is 20).

    >>> cr.softplus(cr.tensor([0., 100.]))
    tensor([  0.6931472, 100.       ], dtype=float32)
    """
    scaled = x * beta if beta != 1 else x
    out = xp.logaddexp(xp.zeros((), dtype=scaled.dtype), scaled)
    out = out / beta if beta != 1 else out
    return out if threshold is None else xp.where(scaled > threshold, x, out)


@softplus.vjp(formula="{grad} * sigmoid(beta {x})")
def _(grad, x, beta, threshold):
    if x.dtype == _HALF:  # in float32, rounded once, as PyTorch's softplus_backward
        return in_single(lambda grad, x: _softplus_slope(grad, x, beta, threshold), grad, x)
    return _softplus_slope(grad, x, beta, threshold)


def _softplus_slope(grad, x, beta, threshold):
    scaled = x * beta if beta != 1 else x
    if threshold is None:
        return grad * sigmoid(scaled)
    # From beta x = threshold on, PyTorch's second derivative is 0 (its forward switches to x
    # only above it): the slope there is the constant sigmoid(threshold). (>= rather than <,
    # so that a NaN x keeps its NaN slope.)
    slope = sigmoid(where(scaled >= threshold, threshold, scaled))
    return grad * where(scaled > threshold, 1.0, slope)


@primitive
def leaky_relu(x, *, negative_slope=0.01):
    """x where x > 0, ``negative_slope * x`` elsewhere (the slope applies at 0 too, as in
    PyTorch).

    >>> cr.ops.elementwise.leaky_relu(cr.tensor([-2., 3.]), negative_slope=0.1)
    tensor([-0.2,  3. ], dtype=float32)
    """
    return xp.where(x > 0, x, x * negative_slope)


@leaky_relu.residual
def positive(x):
    return x > 0


@leaky_relu.vjp(formula="{grad} * where({x} > 0, 1, negative_slope)")
def _(grad, positive, negative_slope):
    # Like ReLU, a boolean mask (1 byte per unit) instead of the input.
    return grad * where(positive, 1.0, negative_slope)


@primitive
def relu(x):
    """max(x, 0), elementwise; the gradient at 0 is 0.

    >>> cr.relu(cr.tensor([-1.0, 2.0]))
    tensor([0., 2.], dtype=float32)
    """
    if x.dtype.kind == "b":
        raise DtypeError(f"relu: bool inputs are not supported (as in PyTorch), shape "
                         f"{x.shape}; convert with .float() first")
    # x kept at a tie, so -0 stays -0 and 1 / relu(-0) is -inf, as in PyTorch.
    return _max_keeping_x(0, x)


def _max_keeping_x(bound, x):
    """maximum(bound, x), x itself where they tie (-0 against 0). NumPy's maximum returns its
    second argument at a tie for float32 and float64, but its first for float16."""
    return xp.maximum(x, bound) if x.dtype == _HALF else xp.maximum(bound, x)


def _min_keeping_x(bound, x):
    return xp.minimum(x, bound) if x.dtype == _HALF else xp.minimum(bound, x)


@relu.residual
def mask(out):
    # "not <= 0" rather than "> 0": a NaN input passes its gradient, as in PyTorch.
    return ~(out <= 0)


@relu.vjp(formula="{grad} * 1[{out} > 0]")
def _(grad, mask):
    # ReLU keeps a boolean mask (1 byte per unit) rather than its output, so its output is
    # freed as soon as the next matmul has computed its weight gradient: this lowers a
    # 784-1024-1024-10 step's peak at batch 1024 below PyTorch's (bench/run.py, memory row).
    # The subgradient at exactly 0 is 0, as in PyTorch. Selected rather than multiplied: an
    # inf or NaN arriving where the input was negative is dropped, as PyTorch's
    # threshold_backward.
    if type(grad) is xp.ndarray and grad.dtype.kind == "f":
        return _select(mask, grad)
    return where(mask, grad, 0)  # with create_graph: a tensor, recorded


def _select(mask, grad):
    """``np.where(mask, grad, 0)``, bit for bit, as a bitwise AND of ``grad``'s words with
    all-ones (mask) or all-zeros words: about 4x faster than ``np.where`` on float arrays,
    which ReLU's backward runs once per layer per step."""
    words = xp.dtype(f"i{grad.itemsize}")
    keep = xp.array(mask, dtype=words)  # an array even for a 0-d mask (a NumPy scalar)
    xp.negative(keep, out=keep)  # 1 -> -1: every bit set
    return xp.bitwise_and(grad.view(words), keep, out=keep).view(grad.dtype)


@primitive(promotion="promote")
def maximum(a, b):
    """The larger of a and b, elementwise; at ties the gradient is shared.

    >>> cr.maximum(cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0]))
    tensor([3., 5.], dtype=float32)
    """
    return xp.maximum(a, b)


@maximum.vjp("a", formula="{grad} * 1[not {a} < {b}] (ties share 1/2)")
def _(grad, a, b):
    # At ties the gradient is shared equally between the two inputs, as in PyTorch; where
    # either is NaN (so is the result) both inputs get the whole gradient, as in PyTorch.
    return where(a == b, grad * 0.5, where(a < b, 0, grad))


@maximum.vjp("b", formula="{grad} * 1[not {b} < {a}] (ties share 1/2)")
def _(grad, a, b):
    return where(a == b, grad * 0.5, where(b < a, 0, grad))


@primitive(promotion="promote")
def minimum(a, b):
    """The smaller of a and b, elementwise; at ties the gradient is shared.

    >>> cr.minimum(cr.tensor([1.0, 5.0]), cr.tensor([3.0, 2.0]))
    tensor([1., 2.], dtype=float32)
    """
    return xp.minimum(a, b)


@minimum.vjp("a", formula="{grad} * 1[not {a} > {b}] (ties share 1/2)")
def _(grad, a, b):
    return where(a == b, grad * 0.5, where(a > b, 0, grad))


@minimum.vjp("b", formula="{grad} * 1[not {b} > {a}] (ties share 1/2)")
def _(grad, a, b):
    return where(a == b, grad * 0.5, where(b > a, 0, grad))


@primitive(promotion="promote", unpromoted=("condition",), exact_ints=("a", "b"))
def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b``. Gradients flow only to the branch taken, but
    a NaN or inf computed in the other branch still poisons the gradient through multiplication
    upstream; guard the input of such a branch with an inner where (see pow's VJP).

    >>> x = cr.tensor([-1.0, 2.0])
    >>> cr.where(x > 0, x, 0.0)
    tensor([0., 2.], dtype=float32)
    """
    if getattr(condition, "dtype", bool) != bool:
        raise DtypeError(f"where: condition must be a bool tensor (as in PyTorch), got "
                         f"{condition.dtype}; compare it first (x != 0)")
    return xp.where(condition, a, b)


@where.vjp("a", formula="where({condition}, {grad}, 0)")
def _(grad, condition):
    return where(condition, grad, 0)


@where.vjp("b", formula="where({condition}, 0, {grad})")
def _(grad, condition):
    return where(condition, 0, grad)


@primitive
def clip(x, *, low=None, high=None):
    if low is None and high is None:
        raise ArgumentError("clamp: at least one of min or max must not be None")
    if mode.enabled and any(getattr(b, "requires_grad", False) for b in (low, high)):
        raise GradientError(f"clamp: gradients with respect to tensor bounds (min/max that "
                            f"require grad) are not implemented, input shape {x.shape}; "
                            f"detach the bounds, or use maximum / minimum (which share a "
                            f"tie's gradient)")
    if x.dtype.kind in "iub" and any(isinstance(b, float) for b in (low, high)):
        x = x.astype(default_float())  # as in PyTorch: an int tensor clamped at a float
    if x.dtype.kind == "b" and all(isinstance(b, (bool, xp.bool_)) for b in (low, high)
                                   if b is not None):
        # PyTorch's clamp by numbers has no bool kernel (an int bound gives int64; bool
        # tensor bounds go through maximum and minimum, which have one).
        raise DtypeError(f"clamp: not implemented for a bool tensor with bool numbers as "
                         f"bounds (as in PyTorch), shape {x.shape}")
    if x.dtype.kind in "iu":
        # An int bound must fit x's dtype, as in PyTorch, whose range for an unsigned dtype
        # reaches down to -max and wraps there (a uint8 clamp(min=-1) clamps at 255); NumPy
        # would wrap any bound (an int8 clamp(max=128) clamped everything to -128).
        low, high = (_wrapped(bound, x.dtype) for bound in (low, high))
    elif x.dtype.kind == "f":
        for bound in (low, high):  # a finite number beyond x's range is refused, not inf
            if type(bound) in (int, float):
                fill_number("clamp", bound, x.dtype)
    # An x equal to a bound is kept (clamp(-0, min=0) is -0, as in PyTorch; clip gives 0).
    out = x if low is None else _max_keeping_x(low, x)
    return out if high is None else _min_keeping_x(high, out)


def _wrapped(bound, dtype):
    if type(bound) is not int:
        return bound
    return fill_number("clamp", bound, dtype)[()]


@clip.vjp("x", formula="{grad} * 1[low <= {x} <= high]")
def _(grad, x, low, high):
    # The gradient passes where low <= x <= high (inclusive), as in PyTorch's clamp.
    if low is None:
        inside = x <= high
    elif high is None:
        inside = x >= low
    else:
        inside = (x >= low) & (x <= high)
    return where(inside, grad, 0)


@primitive
def astype(x, *, dtype, copy=False):
    """``x`` converted to ``dtype``; into a float dtype the gradient flows back, cast to x's dtype.

    >>> cr.astype(cr.tensor([1.7, -1.7]), dtype=cr.int64)
    tensor([ 1, -1], dtype=int64)
    """
    return x.astype(dtype, copy=copy)


@astype.vjp(formula="{grad} cast back to {x}'s dtype")
def _(grad, x_dtype):
    return astype(grad, dtype=x_dtype)


@primitive
def sign(x):
    """-1, 0 or 1 by the sign of each element (0 for NaN, as in PyTorch); its gradient is 0.

    >>> cr.sign(cr.tensor([-3.0, 0.0, 2.0, float('nan')]))
    tensor([-1.,  0.,  1.,  0.], dtype=float32)
    """
    if x.dtype.kind == "b":
        return x.copy()  # a bool is its own sign, as in PyTorch
    if x.dtype.kind != "f":
        return xp.sign(x)
    return xp.where(xp.isnan(x), xp.zeros((), dtype=x.dtype), xp.sign(x))


@sign.vjp(formula="0 (sign is flat wherever it is differentiable)")
def _(grad):
    # where, not grad * 0: an inf or nan upstream stays out of it, as PyTorch's zeros_like.
    return where(False, grad, 0)


# -- Comparisons and bitwise operators: their results carry no gradient. --

def _no_gradient(name, ufunc, promotion="promote"):
    def forward(a, b):
        return ufunc(a, b)
    forward.__name__ = forward.__qualname__ = name
    forward.__doc__ = f"{name} of two tensors, elementwise; the result carries no gradient."
    return primitive(forward, differentiable=False, promotion=promotion)


equal = _no_gradient("equal", xp.equal)
not_equal = _no_gradient("not_equal", xp.not_equal)
less = _no_gradient("less", xp.less)
less_equal = _no_gradient("less_equal", xp.less_equal)
greater = _no_gradient("greater", xp.greater)
greater_equal = _no_gradient("greater_equal", xp.greater_equal)
logical_and = _no_gradient("logical_and", xp.logical_and, promotion=None)
logical_or = _no_gradient("logical_or", xp.logical_or, promotion=None)
logical_xor = _no_gradient("logical_xor", xp.logical_xor, promotion=None)
logical_and.__doc__ = """Whether both are nonzero, elementwise; a bool tensor.

    >>> cr.logical_and(cr.tensor([1, 0, 2]), cr.tensor([1, 1, 0]))
    tensor([ True, False, False], dtype=bool)
    """
logical_or.__doc__ = """Whether either is nonzero, elementwise.

    >>> cr.logical_or(cr.tensor([1, 0, 0]), cr.tensor([0, 0, 3]))
    tensor([ True, False,  True], dtype=bool)
    """
logical_xor.__doc__ = """Whether exactly one is nonzero, elementwise.

    >>> cr.logical_xor(cr.tensor([1, 0, 2]), cr.tensor([1, 1, 0]))
    tensor([False,  True,  True], dtype=bool)
    """


def _integers_only(name, *arrays):
    for a in arrays:
        if xp.asarray(a).dtype.kind == "f":
            raise DtypeError(f"{name}: needs integer or bool tensors, got "
                            f"{xp.asarray(a).dtype} (as in PyTorch; for a logical test of "
                            f"floats, compare them first: (a > 0) & (b > 0))")


@primitive(differentiable=False, promotion="promote")
def bitwise_and(a, b):
    """``a & b``: bitwise on integers, logical on bools (as in PyTorch).

    >>> cr.tensor([6]) & cr.tensor([3])
    tensor([2], dtype=int64)
    """
    _integers_only("bitwise_and (&)", a, b)
    return a & b


@primitive(differentiable=False, promotion="promote")
def bitwise_or(a, b):
    """``a | b``: bitwise on integers, logical on bools (as in PyTorch).

    >>> cr.tensor([6]) | cr.tensor([3])
    tensor([7], dtype=int64)
    """
    _integers_only("bitwise_or (|)", a, b)
    return a | b


@primitive(differentiable=False, promotion="promote")
def bitwise_xor(a, b):
    """``a ^ b``: bitwise on integers, logical on bools (as in PyTorch).

    >>> cr.tensor([6]) ^ cr.tensor([3])
    tensor([5], dtype=int64)
    """
    _integers_only("bitwise_xor (^)", a, b)
    return a ^ b


@primitive(differentiable=False)
def bitwise_not(x):
    """``~x``: bitwise on integers, logical on bools (as in PyTorch).

    >>> ~cr.tensor([True, False])
    tensor([False,  True], dtype=bool)
    """
    _integers_only("bitwise_not (~)", x)
    return ~x


@primitive(differentiable=False)
def logical_not(x):
    """Logical negation, elementwise; a bool tensor.

    >>> cr.logical_not(cr.tensor([0, 2]))
    tensor([ True, False], dtype=bool)
    """
    return xp.logical_not(x)
