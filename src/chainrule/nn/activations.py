"""Activation layers with PyTorch's names and options; each calls the function of the same name
in ``nn.functional``. Those that take ``inplace=`` in PyTorch take it here, with its meaning."""
from . import functional as F
from .module import Module


def in_place(module, function, input, *args):
    """``function(input, *args)`` written into ``input``'s memory and ``input`` returned, as
    PyTorch's ``inplace=True``: inside a graph the change is recorded (and a graph that saved
    the old values refuses to backward); on a leaf that requires grad it raises, as PyTorch."""
    return input._inplace(lambda t, _: function(t, *args), None,
                          f"{type(module).__name__}(inplace=True)")


def inplace_repr(module, text=""):
    """PyTorch's repr: ``inplace=True`` is shown only when set."""
    if not module.inplace:
        return text
    return f"{text}, inplace=True" if text else "inplace=True"


class _Activation(Module):
    """An activation without options: ``forward`` applies ``function``."""

    function = None

    def forward(self, input):
        return type(self).function(input)


class _InPlaceActivation(_Activation):
    """An activation whose only option is PyTorch's ``inplace``."""

    def __init__(self, inplace=False):
        self.inplace = inplace

    def forward(self, input):
        if self.inplace:
            return in_place(self, type(self).function, input)
        return type(self).function(input)

    def extra_repr(self):
        return inplace_repr(self)


class ReLU(Module):
    """max(x, 0), elementwise.

    >>> cr.nn.ReLU()(cr.tensor([-1., 2.]))
    tensor([0., 2.], dtype=float32)
    >>> x = cr.tensor([-1., 2.])
    >>> cr.nn.ReLU(inplace=True)(x) is x, x
    (True, tensor([0., 2.], dtype=float32))
    """
    def __init__(self, inplace=False):
        self.inplace = inplace

    def forward(self, input):
        return in_place(self, F.relu, input) if self.inplace else F.relu(input)

    def extra_repr(self):
        return inplace_repr(self)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise.

    >>> cr.nn.Sigmoid()(cr.tensor([0.]))
    tensor([0.5], dtype=float32)
    """
    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x), elementwise.

    >>> cr.nn.Tanh()(cr.tensor([0.]))
    tensor([0.], dtype=float32)
    """
    def forward(self, input):
        return F.tanh(input)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope * x`` otherwise.

    >>> cr.nn.LeakyReLU(0.1)(cr.tensor([-2., 2.]))
    tensor([-0.2,  2. ], dtype=float32)
    """
    def __init__(self, negative_slope=0.01, inplace=False):
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        if self.inplace:
            return in_place(self, F.leaky_relu, input, self.negative_slope)
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return inplace_repr(self, f"negative_slope={self.negative_slope}")


class GELU(Module):
    """x * Phi(x); ``approximate="tanh"`` uses the tanh formula.

    >>> cr.nn.GELU()(cr.tensor([0., 1.]))
    tensor([0.       , 0.8413447], dtype=float32)
    """

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(_InPlaceActivation):
    """x * sigmoid(x).

    >>> cr.nn.SiLU()(cr.tensor([0., 1.]))
    tensor([0.       , 0.7310586], dtype=float32)
    """
    function = staticmethod(F.silu)


class Mish(_InPlaceActivation):
    """x * tanh(softplus(x)).

    >>> cr.nn.Mish()(cr.tensor([0., 1.]))
    tensor([0.       , 0.8650984], dtype=float32)
    """
    function = staticmethod(F.mish)


class Softsign(_Activation):
    """x / (1 + |x|).

    >>> cr.nn.Softsign()(cr.tensor([1.]))
    tensor([0.5], dtype=float32)
    """
    function = staticmethod(F.softsign)


class LogSigmoid(_Activation):
    """log(sigmoid(x)).

    >>> cr.nn.LogSigmoid()(cr.tensor([0.]))
    tensor([-0.6931472], dtype=float32)
    """
    function = staticmethod(F.log_sigmoid)


class SELU(_InPlaceActivation):
    """Scaled ELU with the self-normalising constants.

    >>> cr.nn.SELU()(cr.tensor([1.]))
    tensor([1.050701], dtype=float32)
    """
    function = staticmethod(F.selu)


class ReLU6(_InPlaceActivation):
    """min(max(0, x), 6).

    >>> cr.nn.ReLU6()(cr.tensor([-1., 8.]))
    tensor([0., 6.], dtype=float32)
    """
    function = staticmethod(F.relu6)


class Hardsigmoid(_InPlaceActivation):
    """relu6(x + 3) / 6.

    >>> cr.nn.Hardsigmoid()(cr.tensor([0.]))
    tensor([0.5], dtype=float32)
    """
    function = staticmethod(F.hardsigmoid)

    def extra_repr(self):
        return ""  # PyTorch's repr does not show inplace for this one


class Hardswish(_InPlaceActivation):
    """x * hardsigmoid(x).

    >>> cr.nn.Hardswish()(cr.tensor([4.]))
    tensor([4.], dtype=float32)
    """
    function = staticmethod(F.hardswish)

    def extra_repr(self):
        return ""  # PyTorch's repr does not show inplace for this one


class Tanhshrink(_Activation):
    """x - tanh(x).

    >>> cr.nn.Tanhshrink()(cr.tensor([0.]))
    tensor([0.], dtype=float32)
    """
    function = staticmethod(F.tanhshrink)


class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise.

    >>> cr.nn.ELU(alpha=1.0)(cr.tensor([2.]))
    tensor([2.], dtype=float32)
    """

    def __init__(self, alpha=1.0, inplace=False):
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input):
        if self.inplace:
            return in_place(self, type(self).function, input, self.alpha)
        return type(self).function(input, self.alpha)

    function = staticmethod(F.elu)

    def extra_repr(self):
        return inplace_repr(self, f"alpha={self.alpha}")


class CELU(ELU):
    """x for x > 0, alpha (exp(x / alpha) - 1) otherwise.

    >>> cr.nn.CELU(alpha=2.0)(cr.tensor([2.]))
    tensor([2.], dtype=float32)
    """

    function = staticmethod(F.celu)


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear where beta x > threshold.

    >>> cr.nn.Softplus(beta=2.0)(cr.tensor([0.]))
    tensor([0.3465736], dtype=float32)
    """

    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """x clipped to [min_val, max_val].

    >>> cr.nn.Hardtanh(-0.5, 0.5)(cr.tensor([-1., 0.2, 1.]))
    tensor([-0.5,  0.2,  0.5], dtype=float32)
    """

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val {min_val} is above max_val {max_val}")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input):
        if self.inplace:
            return in_place(self, F.hardtanh, input, self.min_val, self.max_val)
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self):
        return inplace_repr(self, f"min_val={self.min_val}, max_val={self.max_val}")


class Threshold(Module):
    """x where x > threshold, else ``value``.

    >>> cr.nn.Threshold(0.5, -1.0)(cr.tensor([0.2, 0.9]))
    tensor([-1. ,  0.9], dtype=float32)
    """

    def __init__(self, threshold, value, inplace=False):
        self.threshold, self.value, self.inplace = threshold, value, inplace

    def forward(self, input):
        if self.inplace:
            return in_place(self, F.threshold, input, self.threshold, self.value)
        return F.threshold(input, self.threshold, self.value)

    def extra_repr(self):
        return inplace_repr(self, f"threshold={self.threshold}, value={self.value}")


class _AlongDim(Module):
    def __init__(self, dim=None):
        self.dim = dim

    def _dim(self, input):
        # PyTorch's implicit choice when dim is None: 0 for 0-, 1- and 3-d inputs, else 1.
        return self.dim if self.dim is not None else (0 if input.ndim in (0, 1, 3) else 1)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim``.

    >>> cr.nn.Softmax(dim=1)(cr.zeros(1, 4))
    tensor([[0.25, 0.25, 0.25, 0.25]], dtype=float32)
    """

    def forward(self, input):
        return F.softmax(input, self._dim(input))


class LogSoftmax(_AlongDim):
    """log(softmax(x)) along ``dim``.

    >>> cr.nn.LogSoftmax(dim=0)(cr.zeros(2))
    tensor([-0.6931472, -0.6931472], dtype=float32)
    """

    def forward(self, input):
        return F.log_softmax(input, self._dim(input))


class Softmin(_AlongDim):
    """softmax(-x) along ``dim``.

    >>> cr.nn.Softmin(dim=0)(cr.tensor([0., 0.]))
    tensor([0.5, 0.5], dtype=float32)
    """

    def forward(self, input):
        return F.softmin(input, self._dim(input))


class Identity(Module):
    """Returns its input; takes (and ignores) any arguments, as PyTorch's does.

    >>> cr.nn.Identity()(cr.tensor([1., 2.]))
    tensor([1., 2.], dtype=float32)
    """

    def __init__(self, *args, **kwargs):
        pass

    def forward(self, input):
        return input


__all__ = ["GELU", "SiLU", "Mish", "Softsign", "LogSigmoid", "SELU", "ReLU6", "Hardsigmoid",
           "Hardswish", "Tanhshrink", "ELU", "CELU", "Softplus", "Hardtanh", "Threshold",
           "Softmax", "LogSoftmax", "Softmin", "Identity"]
