"""Elementwise primitives. Binary VJPs return gradients in the broadcast shape; the engine
reduces them to each input's shape."""
from ..backend import xp
from .primitive import primitive


@primitive(vjp_returns="view")
def add(a, b):
    return a + b


@add.vjp("a")
def _(grad):
    return grad


@add.vjp("b")
def _(grad):
    return grad


@primitive(vjp_returns="view")
def sub(a, b):
    return a - b


@sub.vjp("a")
def _(grad):
    return grad


@sub.vjp("b")
def _(grad):
    return -grad


@primitive
def mul(a, b):
    return a * b


@mul.vjp("a")
def _(grad, b):
    return grad * b


@mul.vjp("b")
def _(grad, a):
    return grad * a


@primitive
def div(a, b):
    return a / b


@div.vjp("a")
def _(grad, b):
    return grad / b


@div.vjp("b")
def _(grad, a, b):
    return -grad * a / (b * b)


@primitive
def neg(x):
    return -x


@neg.vjp
def _(grad):
    return -grad


@primitive
def pow(a, b):
    return a ** b


@pow.vjp("a")
def _(grad, a, b):
    return grad * b * a ** (b - 1)


@pow.vjp("b")
def _(grad, a, out):
    # d(a^b)/db = a^b log(a), defined for a > 0; elsewhere we return 0 as PyTorch does for a = 0.
    # The inner where keeps log from seeing a <= 0, so no NaN leaks through the branch not taken.
    positive = a > 0
    return where(positive, grad * out * log(where(positive, a, 1)), 0)


@primitive
def exp(x):
    return xp.exp(x)


@exp.vjp
def _(grad, out):
    return grad * out


@primitive
def log(x):
    return xp.log(x)


@log.vjp
def _(grad, x):
    return grad / x


@primitive
def sqrt(x):
    return xp.sqrt(x)


@sqrt.vjp
def _(grad, out):
    return grad / (out * 2)


@primitive
def abs(x):
    return xp.abs(x)


@abs.vjp
def _(grad, x):
    # Subgradient 0 at x = 0, as in PyTorch.
    return grad * sign(x)


@primitive
def tanh(x):
    return xp.tanh(x)


@tanh.vjp
def _(grad, out):
    return grad * (1 - out * out)


@primitive
def relu(x):
    return xp.maximum(x, 0)


@relu.residual
def mask(out):
    return out > 0


@relu.vjp
def _(grad, mask):
    # ReLU keeps a boolean mask (1 byte per unit) rather than its output, so its output is
    # freed as soon as the next matmul has computed its weight gradient: this lowers a
    # 784-1024-1024-10 step's peak at batch 1024 below PyTorch's (bench/run.py, memory row).
    # The subgradient at exactly 0 is 0, as in PyTorch.
    return grad * mask


@primitive
def maximum(a, b):
    return xp.maximum(a, b)


@maximum.vjp("a")
def _(grad, a, b):
    # At ties the gradient is shared equally between the two inputs, as in PyTorch.
    return where(a > b, grad, where(a == b, grad * 0.5, 0))


@maximum.vjp("b")
def _(grad, a, b):
    return where(b > a, grad, where(a == b, grad * 0.5, 0))


@primitive
def minimum(a, b):
    return xp.minimum(a, b)


@minimum.vjp("a")
def _(grad, a, b):
    return where(a < b, grad, where(a == b, grad * 0.5, 0))


@minimum.vjp("b")
def _(grad, a, b):
    return where(b < a, grad, where(a == b, grad * 0.5, 0))


@primitive
def where(condition, a, b):
    """``a`` where ``condition`` holds, else ``b``. Gradients flow only to the branch taken, but
    a NaN or inf computed in the other branch still poisons the gradient through multiplication
    upstream; guard the input of such a branch with an inner where (see pow's VJP)."""
    return xp.where(condition, a, b)


@where.vjp("a")
def _(grad, condition):
    return where(condition, grad, 0)


@where.vjp("b")
def _(grad, condition):
    return where(condition, 0, grad)


@primitive
def clip(x, *, low=None, high=None):
    if low is None and high is None:
        raise ValueError("clip needs low, high or both")
    return x.clip(low, high)


@clip.vjp("x")
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
    return x.astype(dtype, copy=copy)


@astype.vjp
def _(grad, x_dtype):
    return astype(grad, dtype=x_dtype)


# -- Non-differentiable elementwise functions: they return tensors that need no gradient. --

def _comparison(name, ufunc):
    def compare(a, b):
        return ufunc(a, b)
    compare.__name__ = compare.__qualname__ = name
    return primitive(compare, differentiable=False)


equal = _comparison("equal", xp.equal)
not_equal = _comparison("not_equal", xp.not_equal)
less = _comparison("less", xp.less)
less_equal = _comparison("less_equal", xp.less_equal)
greater = _comparison("greater", xp.greater)
greater_equal = _comparison("greater_equal", xp.greater_equal)
logical_and = _comparison("logical_and", xp.logical_and)
logical_or = _comparison("logical_or", xp.logical_or)


@primitive(differentiable=False)
def logical_not(x):
    return xp.logical_not(x)


@primitive(differentiable=False)
def sign(x):
    return xp.sign(x)
