"""Layers: Linear, Flatten, Unflatten and Dropout (the activation modules are in activations.py)."""
import math

from ..backend import xp
from ..dtypes import float_dtype
from ..errors import ShapeError
from ..ops import flatten
from . import init as initializers
from .activations import in_place
from .functional import check_probability, dropout, linear
from .module import Module, Parameter


def reset_affine(weight, bias, generator=None):
    """PyTorch's default for Linear and convolution layers: the weight Kaiming-uniform with
    a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the bias from the same interval
    (fan_in from the weight, ``weight.size(1)`` times the kernel size)."""
    initializers.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        fan_in = initializers.fans(weight.shape)[0]
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        initializers.uniform_(bias, -bound, bound, generator=generator)


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features): PyTorch's layout, which is
    also the textbooks' W in R^{h x d}.

    Initialised as PyTorch's Linear (``reset_parameters()``): W and b uniform in
    +-1/sqrt(in_features) (Kaiming-uniform with a = sqrt(5)). ``init`` names another weight
    initialiser in ``nn.init`` instead ("kaiming_uniform" is He's initialisation for ReLU
    networks, "d2l" is N(0, 0.01^2); a function f(tensor, generator=None) also works), with the
    bias then starting at zero. ``dtype`` is the default float dtype unless given (float32
    unless ``cr.set_default_dtype`` changed it; use float64 for gradient checks).

    >>> layer = cr.nn.Linear(3, 2)
    >>> layer(cr.ones(4, 3)).shape
    cr.Size([4, 2])
    >>> layer.weight.shape
    cr.Size([2, 3])
    """

    def __init__(self, in_features, out_features, bias=True, init=None, generator=None,
                 dtype=None):
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {value!r}")
        dtype = float_dtype(dtype, "Linear")
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.weight = Parameter(xp.empty((self.out_features, self.in_features), dtype=dtype))
        self.bias = Parameter(xp.empty(self.out_features, dtype=dtype)) if bias else None
        if init is None:
            self.reset_parameters(generator)
        else:
            initializers.get(init)(self.weight, generator=generator)
            if self.bias is not None:
                initializers.zeros_(self.bias)

    def reset_parameters(self, generator=None):
        """Draw the weight and bias afresh from PyTorch's default distributions.

        >>> layer = cr.nn.Linear(4, 2)
        >>> layer.reset_parameters()
        >>> bool(layer.bias.abs().max() <= 0.5)
        True
        """
        reset_affine(self.weight, self.bias, generator)

    def forward(self, input):
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            features = "a scalar" if input.ndim == 0 else f"{input.shape[-1]} features"
            raise ShapeError(f"Linear({self.in_features}, {self.out_features}): input has "
                             f"{features}, expected {self.in_features}; input shape {input.shape}")
        # (A Fortran-ordered weight ran 7% faster, but its layout showed through view().)
        return linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Flatten(Module):
    """Merge dimensions ``start_dim`` to ``end_dim`` (by default all but the batch).

    >>> cr.nn.Flatten()(cr.zeros(2, 3, 4)).shape
    cr.Size([2, 12])
    """

    def __init__(self, start_dim=1, end_dim=-1):
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input):
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Dimension ``dim`` split into ``unflattened_size``: (N, 784) to (N, 1, 28, 28) for a
    convolutional network fed flat images.

    >>> cr.nn.Unflatten(1, (1, 28, 28))(cr.zeros(5, 784)).shape
    cr.Size([5, 1, 28, 28])
    """

    def __init__(self, dim, unflattened_size):
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        from ..ops import unflatten
        return unflatten(input, self.dim, self.unflattened_size)

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

    def __init__(self, p=0.5, inplace=False, generator=None):
        check_probability(p)
        self.p, self.inplace = p, inplace
        self.generator = generator

    def forward(self, input):
        # p = 0 (or nothing to drop) leaves the input untouched in place, as PyTorch: no
        # in-place write, so a leaf that requires grad is no error.
        if self.inplace and self.training and self.p > 0:
            if not input.numel():
                return input
            return in_place(self, dropout, input, self.p, True, False, self.generator)
        return dropout(input, self.p, self.training, generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


__all__ = ["Linear", "Flatten", "Unflatten", "Dropout"]
