"""PyTorch's other dropout layers: channel dropout of 1-d and 3-d feature maps (Dropout1d,
Dropout3d) and alpha dropout for SELU networks (AlphaDropout, FeatureAlphaDropout). Active in
training mode, the identity in evaluation mode; masks come from the library's generator unless
``generator=`` is given."""
from . import functional as F
from .module import Module


class _DropoutNd(Module):
    function = None

    def __init__(self, p=0.5, inplace=False, generator=None):
        if not 0 <= p <= 1:
            raise ValueError(f"{type(self).__name__}: dropout probability has to be between 0 "
                             f"and 1, but got {p}")
        self.p, self.inplace, self.generator = p, inplace, generator

    def forward(self, input):
        return type(self).function(input, self.p, self.training, self.inplace,
                                   generator=self.generator)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class Dropout1d(_DropoutNd):
    """Zero whole channels of (N, C, L) or (C, L) inputs with probability ``p`` in training.

    >>> cr.nn.Dropout1d(0.5).eval()(cr.ones(2, 3, 4)).shape
    cr.Size([2, 3, 4])
    """
    function = staticmethod(F.dropout1d)


class Dropout3d(_DropoutNd):
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability ``p``
    in training.

    >>> cr.nn.Dropout3d(0.5).eval()(cr.ones(1, 2, 2, 2, 2)).shape
    cr.Size([1, 2, 2, 2, 2])
    """
    function = staticmethod(F.dropout3d)


class _AlphaDropoutNd(_DropoutNd):
    def forward(self, input):
        return type(self).function(input, self.p, self.training, generator=self.generator)


class AlphaDropout(_AlphaDropoutNd):
    """Alpha dropout of elements in training, keeping a zero-mean unit-variance input's mean
    and variance (for SELU networks). As PyTorch's, ``inplace`` is kept but not used.

    >>> cr.nn.AlphaDropout(0.2).eval()(cr.ones(3))
    tensor([1., 1., 1.], dtype=float32)
    """
    function = staticmethod(F.alpha_dropout)


class FeatureAlphaDropout(_AlphaDropoutNd):
    """Alpha dropout of whole channels (dimension 1) in training. As PyTorch's, ``inplace``
    is kept but not used.

    >>> cr.nn.FeatureAlphaDropout(0.2).eval()(cr.ones(2, 3)).shape
    cr.Size([2, 3])
    """
    function = staticmethod(F.feature_alpha_dropout)


__all__ = ["Dropout1d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
