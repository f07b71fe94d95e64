"""Pooling layers with PyTorch's names, constructors (argument order included), attributes and
printed form: MaxPool1d/2d/3d (``ceil_mode``, ``return_indices``), AvgPool1d/2d/3d
(``ceil_mode``, ``count_include_pad``, ``divisor_override``) and MaxUnpool1d/2d/3d, which
take the indices a MaxPool returned."""
from ..ops.conv import pair, single
from ..ops.conv3d import triple
from . import functional as F
from .module import Module

TUPLES = {1: single, 2: pair, 3: triple}


class _MaxPoolNd(Module):
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False,
                 ceil_mode=False):
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input):
        pool = getattr(F, f"max_pool{self.dims}d")
        return pool(input, self.kernel_size, self.stride, self.padding, self.dilation,
                    ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    """The maximum of each window of (N, C, L) inputs; with ``return_indices=True`` also
    where each maximum was (for ``MaxUnpool1d``).

    >>> cr.nn.MaxPool1d(2, ceil_mode=True)(cr.ones(1, 3, 7)).shape
    cr.Size([1, 3, 4])
    """
    dims = 1


class MaxPool2d(_MaxPoolNd):
    """The maximum of each window of (N, C, H, W) inputs; ``ceil_mode`` rounds the output size
    up; ``return_indices=True`` also returns where each maximum was (for ``MaxUnpool2d``).

    >>> cr.nn.MaxPool2d(2)(cr.ones(1, 3, 8, 8)).shape
    cr.Size([1, 3, 4, 4])
    """
    dims = 2


class MaxPool3d(_MaxPoolNd):
    """The maximum of each 3-D window of (N, C, D, H, W) inputs.

    >>> cr.nn.MaxPool3d(2)(cr.ones(1, 3, 4, 8, 8)).shape
    cr.Size([1, 3, 2, 4, 4])
    """
    dims = 3


class _AvgPoolNd(Module):
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True, divisor_override=None):
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None and stride != [] else kernel_size
        self.padding = padding
        self.ceil_mode, self.count_include_pad = ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input):
        pool = getattr(F, f"avg_pool{self.dims}d")
        options = {} if self.dims == 1 else {"divisor_override": self.divisor_override}
        return pool(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                    self.count_include_pad, **options)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """The mean of each window of (N, C, L) inputs.

    >>> cr.nn.AvgPool1d(3, stride=2, padding=1)(cr.ones(1, 3, 8)).shape
    cr.Size([1, 3, 4])
    """
    dims = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False,
                 count_include_pad=True):
        # PyTorch's AvgPool1d keeps its sizes as 1-tuples (the 2-D and 3-D ones as given).
        kernel = single(kernel_size, "kernel_size", "AvgPool1d")
        stride = kernel if stride is None or stride == [] else single(stride, "stride",
                                                                       "AvgPool1d")
        super().__init__(kernel, stride, single(padding, "padding", "AvgPool1d"), ceil_mode,
                         count_include_pad)


class AvgPool2d(_AvgPoolNd):
    """The mean of each window of (N, C, H, W) inputs (PyTorch's argument order: kernel_size,
    stride, padding, ceil_mode, count_include_pad, divisor_override).

    >>> cr.nn.AvgPool2d(2, stride=2)(cr.ones(1, 3, 8, 8)).shape
    cr.Size([1, 3, 4, 4])
    """
    dims = 2


class AvgPool3d(_AvgPoolNd):
    """The mean of each 3-D window of (N, C, D, H, W) inputs.

    >>> cr.nn.AvgPool3d(2)(cr.ones(1, 3, 4, 8, 8)).shape
    cr.Size([1, 3, 2, 4, 4])
    """
    dims = 3


class _MaxUnpoolNd(Module):
    dims = 2

    def __init__(self, kernel_size, stride=None, padding=0):
        tuples = TUPLES[self.dims]
        name = type(self).__name__
        self.kernel_size = tuples(kernel_size, "kernel_size", name)
        self.stride = tuples(stride if stride is not None else kernel_size, "stride", name)
        self.padding = tuples(padding, "padding", name)

    def forward(self, input, indices, output_size=None):
        unpool = getattr(F, f"max_unpool{self.dims}d")
        return unpool(input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Each value of (N, C, L) input written back where ``indices`` (from MaxPool1d with
    ``return_indices=True``) say, zeros elsewhere.

    >>> pool, unpool = cr.nn.MaxPool1d(2, return_indices=True), cr.nn.MaxUnpool1d(2)
    >>> unpool(*pool(cr.tensor([[[1., 3., 2., 5.]]])))
    tensor([[[0., 3., 0., 5.]]], dtype=float32)
    """
    dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Each value of (N, C, H, W) input written back where ``indices`` (from MaxPool2d with
    ``return_indices=True``) say, zeros elsewhere; ``output_size`` picks the size when the
    pooled input's was odd.

    >>> pool, unpool = cr.nn.MaxPool2d(2, return_indices=True), cr.nn.MaxUnpool2d(2)
    >>> values, indices = pool(cr.arange(25.).reshape(1, 1, 5, 5))
    >>> unpool(values, indices, output_size=(5, 5)).shape
    cr.Size([1, 1, 5, 5])
    """
    dims = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Each value of (N, C, D, H, W) input written back where ``indices`` (from MaxPool3d
    with ``return_indices=True``) say, zeros elsewhere.

    >>> pool, unpool = cr.nn.MaxPool3d(2, return_indices=True), cr.nn.MaxUnpool3d(2)
    >>> unpool(*pool(cr.ones(1, 1, 2, 4, 4))).shape
    cr.Size([1, 1, 2, 4, 4])
    """
    dims = 3


__all__ = ["MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d", "AvgPool3d",
           "MaxUnpool1d", "MaxUnpool2d", "MaxUnpool3d"]
