"""PyTorch's in-place activation functions, ``F.relu_`` and the like: the activation's result
written into ``input``, which is returned. Each goes through Tensor._inplace, as
``nn.ReLU(inplace=True)`` and ``x.relu_()`` do: inside a graph the change is recorded (a graph
that saved the old values refuses to backward), and a leaf that requires grad refuses it."""
from ..ops.activations import celu, elu, hardtanh, leaky_relu, selu
from ..ops.activations import threshold as threshold_function
from ..ops.elementwise import relu
from ..ops.random_activations import rrelu


def _write(name, function, input, *args):
    return input._inplace(lambda t, _: function(t, *args), None, name)


def relu_(input):
    """relu, in place.

    >>> x = cr.tensor([-1., 2.])
    >>> cr.nn.functional.relu_(x) is x, x
    (True, tensor([0., 2.], dtype=float32))
    """
    return _write("relu_", relu, input)


def elu_(input, alpha=1.0):
    """elu, in place.

    >>> x = cr.tensor([0., 2.])
    >>> cr.nn.functional.elu_(x, alpha=0.5) is x, x
    (True, tensor([0., 2.], dtype=float32))
    """
    return _write("elu_", elu, input, alpha)


def leaky_relu_(input, negative_slope=0.01):
    """leaky_relu, in place.

    >>> x = cr.tensor([-1., 2.])
    >>> cr.nn.functional.leaky_relu_(x, 0.5) is x, x
    (True, tensor([-0.5,  2. ], dtype=float32))
    """
    return _write("leaky_relu_", leaky_relu, input, negative_slope)


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """hardtanh, in place.

    >>> x = cr.tensor([-3., 0.5])
    >>> cr.nn.functional.hardtanh_(x) is x, x
    (True, tensor([-1. ,  0.5], dtype=float32))
    """
    return _write("hardtanh_", hardtanh, input, min_val, max_val)


def threshold_(input, threshold, value):
    """threshold, in place: ``value`` where x <= threshold.

    >>> x = cr.tensor([0.5, 2.])
    >>> cr.nn.functional.threshold_(x, 1.0, -1.0) is x, x
    (True, tensor([-1.,  2.], dtype=float32))
    """
    return _write("threshold_", threshold_function, input, threshold, value)


def selu_(input):
    """selu, in place.

    >>> x = cr.tensor([0., 1.])
    >>> cr.nn.functional.selu_(x) is x, x
    (True, tensor([0.      , 1.050701], dtype=float32))
    """
    return _write("selu_", selu, input)


def celu_(input, alpha=1.0):
    """celu, in place.

    >>> x = cr.tensor([0., 2.])
    >>> cr.nn.functional.celu_(x) is x, x
    (True, tensor([0., 2.], dtype=float32))
    """
    return _write("celu_", celu, input, alpha)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False, generator=None):
    """rrelu, in place (evaluation mode by default: the slope (lower + upper) / 2).

    >>> x = cr.tensor([-1., 2.])
    >>> cr.nn.functional.rrelu_(x, 0.1, 0.3) is x, x
    (True, tensor([-0.2,  2. ], dtype=float32))
    """
    return rrelu(input, lower, upper, training, inplace=True, generator=generator)


__all__ = ["relu_", "elu_", "leaky_relu_", "hardtanh_", "threshold_", "selu_", "celu_",
           "rrelu_"]
