"""The module-level functions with PyTorch's names: ``cr.sum(x, 1)`` is ``x.sum(1)``.

Each takes a tensor (or anything ``tensor()`` accepts) first and means what the Tensor method of
the same name means (docs/semantics.md), NumPy's keyword spellings included.
"""
from .ops import concatenate, stack
from .tensor import Tensor, tensor


def _tensor(x):
    return x if isinstance(x, Tensor) else tensor(x)


def sum(input, *args, **kwargs):
    return _tensor(input).sum(*args, **kwargs)


def mean(input, *args, **kwargs):
    return _tensor(input).mean(*args, **kwargs)


def max(input, *args, **kwargs):
    return _tensor(input).max(*args, **kwargs)


def min(input, *args, **kwargs):
    return _tensor(input).min(*args, **kwargs)


def amax(input, *args, **kwargs):
    return _tensor(input).amax(*args, **kwargs)


def amin(input, *args, **kwargs):
    return _tensor(input).amin(*args, **kwargs)


def var(input, *args, **kwargs):
    return _tensor(input).var(*args, **kwargs)


def std(input, *args, **kwargs):
    return _tensor(input).std(*args, **kwargs)


def argmax(input, *args, **kwargs):
    return _tensor(input).argmax(*args, **kwargs)


def argmin(input, *args, **kwargs):
    return _tensor(input).argmin(*args, **kwargs)


def logsumexp(input, *args, **kwargs):
    return _tensor(input).logsumexp(*args, **kwargs)


def softmax(input, *args, **kwargs):
    return _tensor(input).softmax(*args, **kwargs)


def log_softmax(input, *args, **kwargs):
    return _tensor(input).log_softmax(*args, **kwargs)


def transpose(input, *dims):
    return _tensor(input).transpose(*dims)


def permute(input, *dims):
    return _tensor(input).permute(*dims)


def squeeze(input, *args, **kwargs):
    return _tensor(input).squeeze(*args, **kwargs)


def unsqueeze(input, dim):
    return _tensor(input).unsqueeze(dim)


def flatten(input, start_dim=0, end_dim=-1):
    return _tensor(input).flatten(start_dim, end_dim)


def reshape(input, *shape):
    return _tensor(input).reshape(*shape)


def broadcast_to(input, shape):
    return _tensor(input).broadcast_to(shape)


def clip(input, *args, **kwargs):
    return _tensor(input).clip(*args, **kwargs)


clamp = clip
cat = concatenate

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "var", "std", "argmax", "argmin",
           "logsumexp", "softmax", "log_softmax", "transpose", "permute", "squeeze",
           "unsqueeze", "flatten", "reshape", "broadcast_to", "clip", "clamp", "cat", "concatenate", "stack"]
