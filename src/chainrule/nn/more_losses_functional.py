"""Margin, embedding and likelihood losses with ``torch.nn.functional``'s names, signatures
and reductions, composed of existing ops: margin_ranking_loss, soft_margin_loss,
hinge_embedding_loss, cosine_embedding_loss, poisson_nll_loss, gaussian_nll_loss,
triplet_margin_loss and multilabel_soft_margin_loss.

Inputs broadcast against each other as in PyTorch. PyTorch's deprecated ``size_average`` and
``reduce`` keep their positions in the signatures but are refused: ``reduction`` says it."""
import math
from numbers import Number

from ..backend import xp
from ..errors import ArgumentError, ShapeError
from ..ops import minimum, where
from ..ops.activations import log_sigmoid, softplus
from ..ops.fused import reduce_losses
from ..tensor import Tensor
from .losses_functional import (_as_tensor, _check_reduction, not_differentiable_in,
                                refuse_integers)
from .more_functional import pairwise_distance


def _start(op, reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:
        raise ArgumentError(f"{op}: size_average and reduce are PyTorch's deprecated options; "
                            f"pass reduction='mean', 'sum' or 'none' instead")
    _check_reduction(op, reduction)


def _clamp_min_zero(z):
    # PyTorch's clamp_min(0): the gradient passes where z >= 0 (at exactly 0 too, not at a
    # NaN), and a NaN stays NaN.
    data = z.detach()._data
    kept = where(data >= 0, z, 0)
    return where(data != data, z.detach(), kept) if (data != data).any() else kept


def margin_ranking_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                        reduction="mean"):
    """max(0, -y (x1 - x2) + margin) per element, y = 1 or -1 saying which input should rank
    higher (PyTorch's F.margin_ranking_loss).

    >>> cr.nn.functional.margin_ranking_loss(cr.tensor([1., 2.]), cr.tensor([2., 0.]),
    ...                                      cr.tensor([1., 1.]), margin=0.5)
    tensor(0.75, dtype=float32)
    """
    _start("margin_ranking_loss", reduction, size_average, reduce)
    input1, input2, target = _as_tensor(input1), _as_tensor(input2), _as_tensor(target)
    if not input1.ndim == input2.ndim == target.ndim:
        raise ShapeError(f"margin_ranking_loss: input1 {tuple(input1.shape)}, input2 "
                         f"{tuple(input2.shape)} and target {tuple(target.shape)} must have "
                         f"the same number of dimensions")
    losses = _clamp_min_zero(-target * (input1 - input2) + margin)
    return reduce_losses(losses, reduction, "margin_ranking_loss")


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """log(1 + exp(-y x)) per element for labels y = 1 or -1 (PyTorch's F.soft_margin_loss),
    computed as softplus(-y x), so a large margin gives its value rather than inf.

    >>> cr.nn.functional.soft_margin_loss(cr.tensor([0., 2.]), cr.tensor([1., -1.]),
    ...                                   reduction="none")
    tensor([0.6931472, 2.126928 ], dtype=float32)
    """
    _start("soft_margin_loss", reduction, size_average, reduce)
    input, target = _as_tensor(input), _as_tensor(target)
    refuse_integers("soft_margin_loss", input=input)
    try:
        fits = xp.broadcast_shapes(tuple(target.shape), tuple(input.shape)) == input.shape
    except ValueError:
        fits = False
    if not fits:  # PyTorch's loss has the input's shape
        raise ShapeError(f"soft_margin_loss: target of shape {tuple(target.shape)} does not "
                         f"broadcast to the input's shape {tuple(input.shape)}")
    not_differentiable_in("soft_margin_loss", target=target)
    return reduce_losses(softplus(-target * input), reduction, "soft_margin_loss")


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """x where y = 1, max(0, margin - x) where y = -1 (PyTorch's F.hinge_embedding_loss; a
    label that is neither counts both terms, as there).

    >>> cr.nn.functional.hinge_embedding_loss(cr.tensor([0.3, 0.3]), cr.tensor([1, -1]),
    ...                                       reduction="none")
    tensor([0.3, 0.7], dtype=float32)
    """
    _start("hinge_embedding_loss", reduction, size_average, reduce)
    input, target = _as_tensor(input), _as_tensor(target)
    refuse_integers("hinge_embedding_loss", input=input)
    labels = target.detach()._data
    hinge = where(labels != 1, _clamp_min_zero(margin - input), 0)
    return reduce_losses(hinge + where(labels != -1, input, 0), reduction,
                         "hinge_embedding_loss")


def cosine_embedding_loss(input1, input2, target, margin=0.0, size_average=None, reduce=None,
                          reduction="mean"):
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, the cosine
    taken along the last dimension of (N, D) inputs with (N,) labels or (D,) with a 0-d label
    (PyTorch's F.cosine_embedding_loss, its 1e-12 added to each squared norm).

    >>> x = cr.tensor([[1., 0.], [1., 1.]])
    >>> cr.nn.functional.cosine_embedding_loss(x, cr.tensor([[1., 0.], [1., 0.]]),
    ...                                        cr.tensor([1, -1]), reduction="none")
    tensor([0.        , 0.70710677], dtype=float32)
    """
    _start("cosine_embedding_loss", reduction, size_average, reduce)
    input1, input2, target = _as_tensor(input1), _as_tensor(input2), _as_tensor(target)
    if target.ndim > 1:
        raise ShapeError(f"cosine_embedding_loss: expected a 0-D or 1-D target, got shape "
                         f"{tuple(target.shape)}")
    if input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        raise ShapeError(f"cosine_embedding_loss: a {target.ndim}-D target expects "
                         f"{target.ndim + 1}-D inputs, got input1 {tuple(input1.shape)} and "
                         f"input2 {tuple(input2.shape)}")
    axis = target.ndim
    product = (input1 * input2).sum(axis)
    # PyTorch's EPSILON is the float 1e-12f (9.99999996e-13), whatever the dtype: it sets
    # the gradient at a vector of zeros.
    eps = float(xp.float32(1e-12))
    squares = ((input1 * input1).sum(axis) + eps) * ((input2 * input2).sum(axis) + eps)
    cos = product / squares.sqrt()
    labels = target.detach()._data
    losses = where(labels == 1, 1 - cos, 0) + where(labels == -1, _clamp_min_zero(cos - margin),
                                                    0)
    return reduce_losses(losses, reduction, "cosine_embedding_loss")


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """The Poisson negative log-likelihood, PyTorch's F.poisson_nll_loss: exp(x) - y x for
    log-rates (``log_input=True``), else x - y log(x + eps); ``full`` adds Stirling's
    approximation of log(y!), y log y - y + log(2 pi y) / 2, where y > 1.

    >>> cr.nn.functional.poisson_nll_loss(cr.tensor([0., 1.]), cr.tensor([1., 2.]),
    ...                                   reduction="none")
    tensor([1.      , 0.718282], dtype=float32)
    """
    _start("poisson_nll_loss", reduction, size_average, reduce)
    input, target = _as_tensor(input), _as_tensor(target)
    if log_input:
        losses = input.exp() - target * input
    else:
        losses = input - target * (input + eps).log()
    if full:
        above = target.detach()._data > 1
        safe = where(above, target, 2)  # keeps log(0) out of the gradient of the masked part
        stirling = safe * safe.log() - safe + 0.5 * (2 * math.pi * safe).log()
        losses = losses + where(above, stirling, 0)
    return reduce_losses(losses, reduction, "poisson_nll_loss")


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """The Gaussian negative log-likelihood, PyTorch's F.gaussian_nll_loss:
    (log(var) + (x - y)^2 / var) / 2, plus log(2 pi) / 2 with ``full``. ``var`` has the
    input's shape, or one dimension of it 1, or the last dimension missing; a number is one
    variance for all. As in PyTorch var is clamped at ``eps`` without changing its gradient.

    >>> cr.nn.functional.gaussian_nll_loss(cr.tensor([1., 3.]), cr.tensor([1., 1.]),
    ...                                    cr.tensor([1., 4.]), reduction="none")
    tensor([0.        , 1.1931472], dtype=float32)
    """
    _check_reduction("gaussian_nll_loss", reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    if isinstance(var, Number):
        if var < 0:
            raise ValueError(f"gaussian_nll_loss: var must be non-negative, got {var}")
        var = Tensor._wrap(xp.full(tuple(input.shape), var, dtype=input.dtype))
    var = _as_tensor(var)
    refuse_integers("gaussian_nll_loss", var=var)
    if (var.detach()._data < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim and
                  sum(b for a, b in zip(input.shape, var.shape) if a != b) == 1):
            raise ShapeError(f"gaussian_nll_loss: var of shape {tuple(var.shape)} does not fit "
                             f"the input of shape {tuple(input.shape)}: give the input's shape, "
                             f"it with one dimension 1, or it without its last dimension")
    fixed = var.detach()
    var = var - fixed + fixed.clamp(min=eps)
    diff = input - target
    losses = 0.5 * (var.log() + diff * diff / var)
    if full:
        losses = losses + 0.5 * math.log(2 * math.pi)
    return reduce_losses(losses, reduction, "gaussian_nll_loss")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2.0, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """max(0, margin + d(a, p) - d(a, n)) with the pairwise p-norm distance d along the last
    dimension (PyTorch's F.triplet_margin_loss); ``swap`` takes d(a, n) as the smaller of it
    and d(p, n).

    >>> a = cr.tensor([[0., 0.]])
    >>> cr.nn.functional.triplet_margin_loss(a, cr.tensor([[3., 4.]]), cr.tensor([[0., 1.]]))
    tensor(4.9999995, dtype=float32)
    """
    _start("triplet_margin_loss", reduction, size_average, reduce)
    if margin <= 0:
        raise ValueError(f"triplet_margin_loss: margin must be greater than 0, got {margin}")
    anchor, positive, negative = map(_as_tensor, (anchor, positive, negative))
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise ShapeError(f"triplet_margin_loss: anchor {tuple(anchor.shape)}, positive "
                         f"{tuple(positive.shape)} and negative {tuple(negative.shape)} must "
                         f"have the same number of dimensions")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    losses = _clamp_min_zero(margin + d_pos - d_neg)
    return reduce_losses(losses, reduction, "triplet_margin_loss")


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """Binary cross-entropy of sigmoid(x) against each 0/1 label, times ``weight`` (one per
    class), averaged over the classes (the last dimension): PyTorch's
    F.multilabel_soft_margin_loss.

    >>> cr.nn.functional.multilabel_soft_margin_loss(cr.tensor([[0., 0.]]),
    ...                                              cr.tensor([[1., 0.]]))
    tensor(0.6931472, dtype=float32)
    """
    _start("multilabel_soft_margin_loss", reduction, size_average, reduce)
    input, target = _as_tensor(input), _as_tensor(target)
    if input.ndim == 0:
        raise ShapeError("multilabel_soft_margin_loss: the input needs a class dimension, "
                         "got a 0-d input")
    losses = -(target * log_sigmoid(input) + (1 - target) * log_sigmoid(-input))
    if weight is not None:
        losses = losses * weight
    losses = losses.sum(input.ndim - 1) / input.shape[-1]
    return reduce_losses(losses, reduction, "multilabel_soft_margin_loss")


__all__ = ["margin_ranking_loss", "soft_margin_loss", "hinge_embedding_loss",
           "cosine_embedding_loss", "poisson_nll_loss", "gaussian_nll_loss",
           "triplet_margin_loss", "multilabel_soft_margin_loss"]
