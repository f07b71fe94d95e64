"""Padding layers with PyTorch's names and constructors, each ``F.pad`` with its mode:
ZeroPad, ConstantPad, ReflectionPad, ReplicationPad and CircularPad in 1, 2 and 3 dimensions.
``padding`` is one int for every side or (left, right[, top, bottom[, front, back]])."""
from ..errors import ShapeError
from . import functional as F
from .module import Module


class _PadNd(Module):
    dims, mode = 1, "constant"

    def __init__(self, padding, value=0.0):
        if isinstance(padding, int):
            padding = (padding,) * (2 * self.dims)
        self.padding, self.value = tuple(padding), value

    def forward(self, input):
        if self.mode != "constant" and input.ndim not in (self.dims + 1, self.dims + 2):
            raise ShapeError(f"{type(self).__name__}: expected a {self.dims + 1}-D or "
                             f"{self.dims + 2}-D input (unbatched or batched), got shape "
                             f"{tuple(input.shape)}")
        if self.mode == "constant" and len(self.padding) > 2 * input.ndim:
            raise ShapeError(f"{type(self).__name__}: padding {self.padding} pads more "
                             f"dimensions than the input of shape {tuple(input.shape)} has")
        value = self.value if self.mode == "constant" else None
        return F.pad(input, self.padding, self.mode, value)

    def extra_repr(self):
        return f"{self.padding}"


class _ZeroPadNd(_PadNd):
    def __init__(self, padding):
        super().__init__(padding)


class _ConstantPadNd(_PadNd):
    def __init__(self, padding, value):
        super().__init__(padding, value)

    def extra_repr(self):
        return f"padding={self.padding}, value={self.value}"


class ZeroPad1d(_ZeroPadNd):
    """Zero padding of the last dimension (PyTorch's nn.ZeroPad1d).

    >>> cr.nn.ZeroPad1d((1, 2))(cr.ones(1, 2))
    tensor([[0., 1., 1., 0., 0.]], dtype=float32)
    """
    dims, mode = 1, "constant"


class ZeroPad2d(_ZeroPadNd):
    """Zero padding of the last 2 dimensions (PyTorch's nn.ZeroPad2d).

    >>> cr.nn.ZeroPad2d(1)(cr.ones(1, 1, 1)).shape
    cr.Size([1, 3, 3])
    """
    dims, mode = 2, "constant"


class ZeroPad3d(_ZeroPadNd):
    """Zero padding of the last 3 dimensions (PyTorch's nn.ZeroPad3d).

    >>> cr.nn.ZeroPad3d(1)(cr.ones(1, 1, 1, 1)).shape
    cr.Size([1, 3, 3, 3])
    """
    dims, mode = 3, "constant"


class ConstantPad1d(_ConstantPadNd):
    """Constant padding of the last dimension (PyTorch's nn.ConstantPad1d).

    >>> cr.nn.ConstantPad1d((1, 0), 3.5)(cr.ones(1, 2))
    tensor([[3.5, 1. , 1. ]], dtype=float32)
    """
    dims, mode = 1, "constant"


class ConstantPad2d(_ConstantPadNd):
    """Constant padding of the last 2 dimensions (PyTorch's nn.ConstantPad2d).

    >>> cr.nn.ConstantPad2d((1, 0, 0, 1), -1.)(cr.ones(1, 1, 1))
    tensor([[[-1.,  1.],
             [-1., -1.]]], dtype=float32)
    """
    dims, mode = 2, "constant"


class ConstantPad3d(_ConstantPadNd):
    """Constant padding of the last 3 dimensions (PyTorch's nn.ConstantPad3d).

    >>> cr.nn.ConstantPad3d(1, 2.)(cr.ones(1, 1, 1, 1)).sum()
    tensor(53., dtype=float32)
    """
    dims, mode = 3, "constant"


class ReflectionPad1d(_PadNd):
    """Reflection padding of the last dimension (PyTorch's nn.ReflectionPad1d).

    >>> cr.nn.ReflectionPad1d(2)(cr.tensor([[1., 2., 3.]]))
    tensor([[3., 2., 1., 2., 3., 2., 1.]], dtype=float32)
    """
    dims, mode = 1, "reflect"


class ReflectionPad2d(_PadNd):
    """Reflection padding of the last 2 dimensions (PyTorch's nn.ReflectionPad2d).

    >>> cr.nn.ReflectionPad2d((1, 0, 0, 0))(cr.tensor([[[1., 2.]]]))
    tensor([[[2., 1., 2.]]], dtype=float32)
    """
    dims, mode = 2, "reflect"


class ReflectionPad3d(_PadNd):
    """Reflection padding of the last 3 dimensions (PyTorch's nn.ReflectionPad3d).

    >>> cr.nn.ReflectionPad3d(1)(cr.ones(1, 2, 2, 2)).shape
    cr.Size([1, 4, 4, 4])
    """
    dims, mode = 3, "reflect"


class ReplicationPad1d(_PadNd):
    """Replication padding of the last dimension (PyTorch's nn.ReplicationPad1d).

    >>> cr.nn.ReplicationPad1d((2, 1))(cr.tensor([[1., 2.]]))
    tensor([[1., 1., 1., 2., 2.]], dtype=float32)
    """
    dims, mode = 1, "replicate"


class ReplicationPad2d(_PadNd):
    """Replication padding of the last 2 dimensions (PyTorch's nn.ReplicationPad2d).

    >>> cr.nn.ReplicationPad2d((0, 0, 1, 0))(cr.tensor([[[1., 2.]]]))
    tensor([[[1., 2.],
             [1., 2.]]], dtype=float32)
    """
    dims, mode = 2, "replicate"


class ReplicationPad3d(_PadNd):
    """Replication padding of the last 3 dimensions (PyTorch's nn.ReplicationPad3d).

    >>> cr.nn.ReplicationPad3d(1)(cr.ones(1, 1, 1, 1)).shape
    cr.Size([1, 3, 3, 3])
    """
    dims, mode = 3, "replicate"


class CircularPad1d(_PadNd):
    """Circular padding of the last dimension (PyTorch's nn.CircularPad1d).

    >>> cr.nn.CircularPad1d((2, 1))(cr.tensor([[1., 2., 3.]]))
    tensor([[2., 3., 1., 2., 3., 1.]], dtype=float32)
    """
    dims, mode = 1, "circular"


class CircularPad2d(_PadNd):
    """Circular padding of the last 2 dimensions (PyTorch's nn.CircularPad2d).

    >>> cr.nn.CircularPad2d((0, 0, 1, 0))(cr.tensor([[[1.], [2.]]]))
    tensor([[[2.],
             [1.],
             [2.]]], dtype=float32)
    """
    dims, mode = 2, "circular"


class CircularPad3d(_PadNd):
    """Circular padding of the last 3 dimensions (PyTorch's nn.CircularPad3d).

    >>> cr.nn.CircularPad3d(1)(cr.ones(1, 2, 2, 2)).shape
    cr.Size([1, 4, 4, 4])
    """
    dims, mode = 3, "circular"


__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]
