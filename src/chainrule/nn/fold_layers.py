"""Unfold (im2col) and Fold (col2im) as layers, with PyTorch's names and options."""
from . import functional as F
from .module import Module


class Unfold(Module):
    """Sliding blocks of an image as columns: ``F.unfold(input, kernel_size, dilation,
    padding, stride)`` (PyTorch's nn.Unfold).

    >>> cr.nn.Unfold(kernel_size=2, padding=1)(cr.ones(2, 3, 4, 4)).shape
    cr.Size([2, 12, 25])
    """

    def __init__(self, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.kernel_size, self.dilation = kernel_size, dilation
        self.padding, self.stride = padding, stride

    def forward(self, input):
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class Fold(Module):
    """Columns of blocks summed back into an image of ``output_size``: ``F.fold(input,
    output_size, kernel_size, dilation, padding, stride)`` (PyTorch's nn.Fold).

    >>> cr.nn.Fold(output_size=(4, 4), kernel_size=2)(cr.ones(1, 8, 9)).shape
    cr.Size([1, 2, 4, 4])
    """

    def __init__(self, output_size, kernel_size, dilation=1, padding=0, stride=1):
        super().__init__()
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, input):
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding,
                      self.stride)

    def extra_repr(self):
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")
