"""Resizing layers with PyTorch's names, constructors and printed form: Upsample (any mode of
``F.interpolate``), UpsamplingNearest2d and UpsamplingBilinear2d (align_corners=True)."""
from . import functional as F
from .module import Module


class Upsample(Module):
    """``F.interpolate`` as a layer: resize (N, C, L), (N, C, H, W) or (N, C, D, H, W) inputs
    to ``size`` or by ``scale_factor`` in ``mode``.

    >>> cr.nn.Upsample(scale_factor=2, mode="trilinear")(cr.ones(1, 2, 2, 3, 4)).shape
    cr.Size([1, 2, 4, 6, 8])
    """

    def __init__(self, size=None, scale_factor=None, mode="nearest", align_corners=None,
                 recompute_scale_factor=None):
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, tuple):
            self.scale_factor = tuple(float(f) for f in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor else None
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             recompute_scale_factor=self.recompute_scale_factor)

    def extra_repr(self):
        where = (f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else
                 f"size={self.size!r}")
        return f"{where}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest resizing of (N, C, H, W) inputs (``Upsample(mode="nearest")``).

    >>> cr.nn.UpsamplingNearest2d(scale_factor=2)(cr.ones(1, 1, 2, 3)).shape
    cr.Size([1, 1, 4, 6])
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear resizing of (N, C, H, W) inputs with the corners aligned
    (``Upsample(mode="bilinear", align_corners=True)``).

    >>> cr.nn.UpsamplingBilinear2d(size=(3, 3))(cr.tensor([[[[0., 2.], [4., 6.]]]]))[0, 0, 1]
    tensor([2., 3., 4.], dtype=float32)
    """

    def __init__(self, size=None, scale_factor=None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


__all__ = ["Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d"]
