"""Gradient clipping, in place, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_."""
import math

from ...backend import xp
from ...errors import GradientError
from ...tensor import Tensor


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """Scale the gradients of ``parameters`` in place so that their total ``norm_type``-norm
    (the norm of the per-parameter norms, as if all gradients were one vector) is at most
    ``max_norm``; returns that total norm, before clipping, as a tensor.

    As PyTorch: the factor is max_norm / (total + 1e-6), capped at 1, and is applied to every
    gradient; parameters without a gradient are skipped; ``norm_type`` may be ``inf`` (the
    largest absolute value). A nan or inf total raises with ``error_if_nonfinite=True`` and
    otherwise turns the gradients into nan, as PyTorch's does. ``foreach`` is accepted and
    changes nothing.

    >>> w = cr.tensor([3., 4.], requires_grad=True)
    >>> (w * cr.tensor([3., 4.])).sum().backward()
    >>> cr.nn.utils.clip_grad_norm_([w], max_norm=1.0)
    tensor(5., dtype=float32)
    >>> w.grad
    tensor([0.5999999 , 0.79999983], dtype=float32)
    """
    norm_type = float(norm_type)
    grads = [p.grad for p in _as_list(parameters, "clip_grad_norm_") if p.grad is not None]
    if not grads:
        return Tensor._wrap(0.0)
    total = clip_arrays([g._data for g in grads], max_norm, norm_type, error_if_nonfinite)
    for g in grads:
        g._bump_version()
    return Tensor._wrap(total)


def clip_arrays(grads, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """clip_grad_norm_ on the gradients' arrays (the compiled step replays it too): scale them
    in place so that their total norm is at most ``max_norm``; returns the total norm before
    clipping, a NumPy scalar."""
    if math.isinf(norm_type) and any(g.size == 0 for g in grads):
        shapes = [tuple(g.shape) for g in grads if g.size == 0]
        raise GradientError(f"clip_grad_norm_: the {norm_type} norm of an empty gradient "
                            f"(shapes {shapes}) is undefined (a max or min over nothing), as in "
                            f"PyTorch; use a finite norm_type or leave those parameters out")
    norms = [xp.linalg.norm(g.reshape(-1), ord=norm_type) for g in grads]
    dtype = xp.result_type(*(g.dtype for g in grads))
    total = xp.linalg.norm(xp.asarray(norms, dtype=dtype), ord=norm_type).astype(dtype)
    if error_if_nonfinite and not math.isfinite(total):
        raise GradientError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"non-finite ({total}), so it cannot be clipped; to scale the gradients by it "
            f"anyway (making them nan), set error_if_nonfinite=False")
    coefficient = min(max_norm / (total + dtype.type(1e-6)), 1.0)
    for g in grads:
        with xp.errstate(invalid="ignore"):  # inf * 0 is nan, as in PyTorch, without a warning
            g *= g.dtype.type(coefficient)
    return total


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient of ``parameters`` in place to [-clip_value, clip_value]; returns
    None. ``foreach`` is accepted and changes nothing.

    >>> w = cr.tensor([1., 2.], requires_grad=True)
    >>> (w * cr.tensor([-5., 0.5])).sum().backward()
    >>> cr.nn.utils.clip_grad_value_([w], clip_value=1.0)
    >>> w.grad
    tensor([-1. ,  0.5], dtype=float32)
    """
    clip_value = float(clip_value)
    for p in _as_list(parameters, "clip_grad_value_"):
        if p.grad is not None:
            xp.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)
            p.grad._bump_version()


def _as_list(parameters, name):
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for index, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameter {index} is a {type(p).__name__}, not a Tensor")
    return parameters
