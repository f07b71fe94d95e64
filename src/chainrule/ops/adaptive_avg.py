"""F.adaptive_avg_pool1d: average pooling of (N, C, L) or (C, L) to a fixed number of windows,
window i covering [floor(i L / out), ceil((i + 1) L / out)) as PyTorch's, so that windows of
a size that does not divide L overlap. One gather of weighted taps (resample's primitive)."""
from ..backend import xp
from ..errors import ArgumentError, DtypeError, ShapeError
from .resample import _window, resample
from .shape import reshape


def adaptive_avg_pool1d(input, output_size):
    """The mean of each of ``output_size`` windows along the last dimension of ``input``
    (N, C, L) or (C, L).

    >>> cr.nn.functional.adaptive_avg_pool1d(cr.tensor([[[1., 2., 3., 4., 5.]]]), 2)
    tensor([[[2., 4.]]], dtype=float32)
    """
    if input.ndim not in (2, 3):
        raise ShapeError(f"adaptive_avg_pool1d: expected a 2-D (C, L) or 3-D (N, C, L) input, "
                         f"got shape {tuple(input.shape)}")
    size = _output_size(output_size)
    if xp.dtype(input.dtype).kind != "f":
        raise DtypeError(f"adaptive_avg_pool1d: needs a floating-point input, got "
                         f"{input.dtype} of shape {tuple(input.shape)} (as in PyTorch)")
    length = input.shape[-1]
    if length == 0:
        raise ShapeError(f"adaptive_avg_pool1d: the pooled (last) dimension of the input is "
                         f"empty, shape {tuple(input.shape)}")
    batched = input if input.ndim == 3 else reshape(input, shape=(1,) + tuple(input.shape))
    out = resample(batched, [_window(length, size)])
    return out if input.ndim == 3 else reshape(out, shape=tuple(out.shape[1:]))


def _output_size(output_size):
    """PyTorch's output_size: one int, or a sequence of one int."""
    size = output_size
    if isinstance(size, (tuple, list)):
        if len(size) != 1:
            raise ArgumentError(f"adaptive_avg_pool1d: output_size must be one int, got "
                                f"{output_size!r}")
        size = size[0]
    if isinstance(size, bool) or not isinstance(size, (int, xp.integer)):
        raise TypeError(f"adaptive_avg_pool1d: output_size must be an int or a tuple of one "
                        f"int, got {output_size!r}")
    if size < 0:
        raise ArgumentError(f"adaptive_avg_pool1d: output_size must be non-negative, got "
                            f"{output_size!r}")
    return int(size)


__all__ = ["adaptive_avg_pool1d"]
