"""PyTorch's smaller layer functions, as composites: F.bilinear (x1^T A x2 + b per output),
F.channel_shuffle (ShuffleNet's reshape-transpose-reshape), F.local_response_norm (AlexNet's
normalisation across neighbouring channels) and F.pdist (the distances between the rows of a
matrix)."""
from ..backend import xp
from ..errors import ArgumentError, DtypeError, ShapeError
from ..linalg import vector_norm
from ..ops.composite import stop_gradient
from ..ops.elementwise import where
from ..ops.layout import pad
from ..tensor import Tensor


def _tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def bilinear(input1, input2, weight, bias=None):
    """y_o = x1^T A_o x2 + b_o for each output o: ``input1`` (*, in1), ``input2`` (*, in2)
    with the same leading dimensions, ``weight`` (out, in1, in2), ``bias`` (out,).

    >>> cr.nn.functional.bilinear(cr.ones(2, 3), cr.ones(2, 4), cr.ones(5, 3, 4)).shape
    cr.Size([2, 5])
    """
    input1, input2, weight = _tensor(input1), _tensor(input2), _tensor(weight)
    shapes = (f"input1 of shape {tuple(input1.shape)}, input2 of shape {tuple(input2.shape)} "
              f"and weight of shape {tuple(weight.shape)}")
    if input1.ndim != input2.ndim or input1.ndim == 0:
        raise ShapeError(f"bilinear: the inputs must have the same number of dimensions (at "
                         f"least 1), got {shapes}")
    if input1.shape[:-1] != input2.shape[:-1]:
        raise ShapeError(f"bilinear: the inputs' leading (batch) dimensions must match, got "
                         f"{shapes}")
    if weight.ndim != 3 or weight.shape[1:] != (input1.shape[-1], input2.shape[-1]):
        raise ShapeError(f"bilinear: weight must be (out_features, {input1.shape[-1]}, "
                         f"{input2.shape[-1]}) for these inputs, got {shapes}")
    if bias is not None and tuple(_tensor(bias).shape) != (weight.shape[0],):
        raise ShapeError(f"bilinear: bias must have shape ({weight.shape[0]},), got "
                         f"{tuple(_tensor(bias).shape)}")
    out, in1, in2 = weight.shape
    batch = tuple(input1.shape[:-1])
    x1, x2 = input1.reshape(-1, in1), input2.reshape(-1, in2)
    # x1 times A arranged as (in1, out * in2): one matrix product, then the dot with x2.
    left = (x1 @ weight.permute(1, 0, 2).reshape(in1, out * in2)).reshape(-1, out, in2)
    y = (left * x2.reshape(-1, 1, in2)).sum(-1).reshape(batch + (out,))
    return y if bias is None else y + bias


def channel_shuffle(input, groups):
    """The channels (dimension 1) of ``input`` (N, C, *) regrouped: viewed as (groups,
    C / groups) and transposed, so that each group's channels are spread over all groups.

    >>> cr.nn.functional.channel_shuffle(cr.arange(4.).reshape(1, 4, 1), 2).flatten()
    tensor([0., 2., 1., 3.], dtype=float32)
    """
    input = _tensor(input)
    if input.ndim <= 2:
        raise ShapeError(f"channel_shuffle: expects an input of more than 2 dimensions (N, C, "
                         f"*), got shape {tuple(input.shape)}")
    if isinstance(groups, bool) or not isinstance(groups, (int, xp.integer)) or groups <= 0:
        raise ArgumentError(f"channel_shuffle: groups must be a positive int, got {groups!r} "
                            f"(input shape {tuple(input.shape)})")
    n, channels, *rest = input.shape
    if channels % groups:
        raise ShapeError(f"channel_shuffle: the number of channels ({channels}) must be "
                         f"divisible by groups ({groups}), input shape {tuple(input.shape)}")
    grouped = input.reshape(n, groups, channels // groups, *rest)
    return grouped.transpose(1, 2).reshape(n, channels, *rest)


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """x / (k + alpha * mean of x^2 over ``size`` neighbouring channels)^beta, the window
    reaching size // 2 channels back and (size - 1) // 2 forward (zeros beyond the edges), as
    PyTorch's. ``input`` is (N, C, *), at least 3-D.

    >>> cr.nn.functional.local_response_norm(cr.ones(1, 3, 1), 2, alpha=1.0, beta=1.0)
    tensor([[[0.6666667],
             [0.5      ],
             [0.5      ]]], dtype=float32)
    """
    input = _tensor(input)
    if input.ndim < 3:
        raise ShapeError(f"local_response_norm: expected an input of 3 or more dimensions "
                         f"(N, C, *), got shape {tuple(input.shape)}")
    if isinstance(size, bool) or not isinstance(size, (int, xp.integer)) or size <= 0:
        raise ArgumentError(f"local_response_norm: size must be a positive int, got {size!r} "
                            f"(input shape {tuple(input.shape)})")
    if not input.numel():
        return input
    channels = input.shape[1]
    widths = [0, 0] * (input.ndim - 2) + [size // 2, (size - 1) // 2]
    squares = pad(input * input, widths)
    total = squares[:, 0:channels]
    for offset in range(1, size):
        total = total + squares[:, offset:offset + channels]
    return input / ((total / size) * alpha + k) ** beta


def pdist(input, p=2):
    """The p-norm distances between the rows of ``input`` (N, M), for each pair i < j in
    row-major order: N (N - 1) / 2 of them, as PyTorch's (p in [0, inf]).

    >>> cr.nn.functional.pdist(cr.tensor([[0., 0.], [3., 4.], [0., 1.]]))
    tensor([5.       , 1.       , 4.2426405], dtype=float32)
    """
    input = _tensor(input)
    if input.ndim != 2:
        raise ShapeError(f"pdist: only supports 2-D (N, M) input, got shape "
                         f"{tuple(input.shape)}")
    if xp.dtype(input.dtype).kind != "f":
        raise DtypeError(f"pdist: only supports floating-point input, got {input.dtype} of "
                         f"shape {tuple(input.shape)} (as in PyTorch)")
    if not p >= 0:
        raise ArgumentError(f"pdist: only supports non-negative p, got {p} (input shape "
                            f"{tuple(input.shape)})")
    first, second = xp.triu_indices(input.shape[0], 1)
    diff = input[first] - input[second]
    distance = vector_norm(diff, ord=p, dim=1)
    if p != float("inf") or not diff.numel():
        return distance
    # PyTorch's pdist gives each tied largest |difference| the whole gradient, where
    # vector_norm shares it out among them: the value is the norm's, the slope this sum's
    # (on rows of a finite distance, where top - top is 0 and not inf - inf).
    size = diff.abs()
    values = size.detach()._data
    finite = xp.isfinite(distance.detach()._data)
    tied = (values == values.max(axis=1, keepdims=True)) & finite[:, None]
    top = where(tied, size, 0).sum(1)
    return where(finite, stop_gradient(distance) + (top - stop_gradient(top)), distance)


__all__ = ["bilinear", "channel_shuffle", "local_response_norm", "pdist"]
