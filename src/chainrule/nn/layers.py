"""Layers: Linear, the activations, Flatten and Dropout."""
from ..backend import xp
from ..errors import ShapeError
from ..ops import flatten, leaky_relu, relu, sigmoid, tanh
from . import init as initializers
from .functional import check_probability, dropout
from .module import Module, Parameter


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features): PyTorch's layout, which is
    also the textbooks' W in R^{h x d}.

    ``init`` names the weight's initialiser in ``nn.init`` ("kaiming_uniform", the default, is
    He's uniform initialisation for ReLU networks; "d2l" is N(0, 0.01^2); a function
    f(tensor, generator=None) also works). The bias starts at zero. ``dtype`` is float32
    unless given (use "float64" for gradient checks).

    >>> layer = cr.nn.Linear(3, 2)
    >>> layer(cr.ones(4, 3)).shape
    (4, 2)
    >>> layer.weight.shape
    (2, 3)
    """

    def __init__(self, in_features, out_features, bias=True, init="kaiming_uniform",
                 generator=None, dtype="float32"):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < 1:
                raise ValueError(f"Linear: {name} must be a positive int, got {value!r}")
        dtype = xp.dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"Linear: dtype must be a float type, got {dtype}")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        # PyTorch's shape (out, in), stored in Fortran order: weight.T is then C-contiguous, so
        # x @ weight.T and its gradients run the same BLAS kernels as hand-written x @ W with
        # W of shape (in, out); the transposed kernel was 7% slower (605 vs 563 us for a
        # 256x784 @ 784x256 product, bench/run.py's inference row).
        self.weight = Parameter(xp.empty((self.out_features, self.in_features), dtype=dtype,
                                         order="F"))
        initializers.get(init)(self.weight, generator=generator)
        self.bias = Parameter(xp.zeros(self.out_features, dtype=dtype)) if bias else None

    def forward(self, x):
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            features = "a scalar" if x.ndim == 0 else f"{x.shape[-1]} features"
            raise ShapeError(f"Linear({self.in_features}, {self.out_features}): input has "
                             f"{features}, expected {self.in_features}; input shape {x.shape}")
        # weight.T is a view: matmul and its VJP hand BLAS the transposed layout, no copy.
        out = x @ self.weight.T
        if self.bias is not None:
            out = out + self.bias
        return out

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class ReLU(Module):
    """max(x, 0), elementwise.

    >>> cr.nn.ReLU()(cr.tensor([-1., 2.]))
    tensor([0., 2.], dtype=float32)
    """
    def forward(self, x):
        return relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise.

    >>> cr.nn.Sigmoid()(cr.tensor([0.]))
    tensor([0.5], dtype=float32)
    """
    def forward(self, x):
        return sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise.

    >>> cr.nn.Tanh()(cr.tensor([0.]))
    tensor([0.], dtype=float32)
    """
    def forward(self, x):
        return tanh(x)


class LeakyReLU(Module):
    """x for x > 0, ``negative_slope * x`` otherwise.

    >>> cr.nn.LeakyReLU(0.1)(cr.tensor([-2., 2.]))
    tensor([-0.2,  2. ], dtype=float32)
    """
    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim`` (by default all but the batch).

    >>> cr.nn.Flatten()(cr.zeros(2, 3, 4)).shape
    (2, 12)
    """

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Dimension ``dim`` split into ``unflattened_size``: (N, 784) to (N, 1, 28, 28) for a
    convolutional network fed flat images.

    >>> cr.nn.Unflatten(1, (1, 28, 28))(cr.zeros(5, 784)).shape
    (5, 1, 28, 28)
    """

    def __init__(self, dim, unflattened_size):
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, x):
        from ..ops import unflatten
        return unflatten(x, self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Dropout(Module):
    """Inverted dropout with drop probability ``p``: active in training mode, the identity in
    evaluation mode (``model.eval()``). Masks come from the library's generator unless
    ``generator=`` is given.

    >>> drop = cr.nn.Dropout(0.5).eval()
    >>> drop(cr.ones(3))
    tensor([1., 1., 1.], dtype=float32)
    """

    def __init__(self, p=0.5, generator=None):
        check_probability(p)
        self.p = p
        self.generator = generator

    def forward(self, x):
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self):
        return f"p={self.p}"


__all__ = ["Linear", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "Flatten", "Unflatten", "Dropout"]
