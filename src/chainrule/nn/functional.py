"""Activations, dropout, losses and the L2 penalty as functions of tensors.

Every loss takes ``reduction``: "mean" (the default) averages the per-example losses over the
batch, "sum" adds them, "none" returns them one per example. Losses accept Tensors or NumPy
arrays and return a Tensor. See docs/losses-and-regularisation.md for the formulas.
"""
from ..backend import xp
from ..errors import ShapeError
from ..ops import (leaky_relu, log_softmax, relu, sigmoid, softmax, softmax_cross_entropy,
                   softplus, tanh, where)
from ..ops.fused import REDUCTIONS, check_labels, reduce_losses
from ..random import resolve
from ..tensor import Tensor


def dropout(x, p=0.5, training=True, generator=None):
    """Inverted dropout: in training, zero each element with probability ``p`` and scale the
    survivors by 1/(1-p), so the expected output equals ``x`` and evaluation needs no
    rescaling; outside training, return ``x`` unchanged."""
    check_probability(p)
    x = _as_tensor(x)
    if not training or p == 0:
        return x
    if p == 1:
        return x * 0
    keep = resolve(generator).random(x.shape) >= p
    dtype = x.dtype if x.dtype.kind == "f" else xp.dtype(xp.float32)
    return x * (keep.astype(dtype) / dtype.type(1 - p))


def cross_entropy(logits, labels, reduction="mean"):
    """Softmax cross-entropy of (N, C) ``logits`` against integer ``labels`` of shape (N,):
    -log softmax(logits_i)[y_i] per example. Computed by the fused, overflow-free primitive
    ``chainrule.softmax_cross_entropy``, whose gradient is softmax(logits) - onehot(y)."""
    _check_reduction("cross_entropy", reduction)
    return softmax_cross_entropy(_as_tensor(logits), _labels(labels), reduction=reduction)


def multiclass_hinge_loss(scores, labels, margin=1.0, reduction="mean"):
    """The multiclass SVM loss of cs231n: per example, sum over the wrong classes j != y of
    max(0, s_j - s_y + margin).

    Unlike PyTorch's ``MultiMarginLoss``, which divides each example's sum by the number of
    classes C, this is the plain sum, so ``multiclass_hinge_loss / C`` equals
    ``torch.nn.functional.multi_margin_loss``. At a kink (s_j - s_y + margin exactly 0) the
    term counts as inactive: its subgradient is 0, as in cs231n's svm_loss and in PyTorch.
    """
    _check_reduction("multiclass_hinge_loss", reduction)
    scores = _as_tensor(scores)
    labels = _labels(labels)
    check_labels("multiclass_hinge_loss", scores.data, labels)
    n, classes = scores.shape
    correct = scores[xp.arange(n), labels].reshape((n, 1))
    # relu's subgradient at 0 is 0, which gives the inactive-at-the-kink convention above.
    hinge = relu(scores - correct + margin)
    wrong_class = xp.arange(classes) != labels[:, None]
    return reduce_losses(where(wrong_class, hinge, 0).sum(axis=1), reduction,
                         "multiclass_hinge_loss")


def mse_loss(pred, target, reduction="mean"):
    """Mean squared error, (pred - target)^2 averaged over every element."""
    _check_reduction("mse_loss", reduction)
    pred, target = _as_tensor(pred), _as_tensor(target)
    _check_same_shape("mse_loss", pred, target)
    diff = pred - target
    return reduce_losses(diff * diff, reduction, "mse_loss")


def binary_cross_entropy_with_logits(logits, targets, reduction="mean"):
    """Binary cross-entropy of sigmoid(logits) against targets in [0, 1], computed from the
    logits: -[y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))] = softplus(x) - x y."""
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    logits, targets = _as_tensor(logits), _as_tensor(targets)
    _check_same_shape("binary_cross_entropy_with_logits", logits, targets)
    if targets.dtype.kind != "f":
        targets = targets.astype(logits.dtype)
    # softplus never exponentiates a positive number, so no logit overflows, and the
    # subtraction x*y cancels softplus's linear part exactly when x is huge.
    return reduce_losses(softplus(logits) - logits * targets, reduction,
                         "binary_cross_entropy_with_logits")


def l2_penalty(params, lam):
    """lam/2 * sum of squared Frobenius norms: the s of J = L + s in the textbooks.

    ``params`` is an iterable of tensors or a dict of named ones. Its gradient with respect to
    each W is lam * W, so adding it to the loss matches ``SGD(..., weight_decay=lam)``.
    """
    if isinstance(lam, bool) or not isinstance(lam, (int, float, xp.number)) or lam < 0:
        raise ValueError(f"l2_penalty: lam must be a number >= 0, got {lam!r}")
    tensors = params.values() if isinstance(params, dict) else params
    total = None
    for w in tensors:
        square = (w * w).sum()
        total = square if total is None else total + square
    if total is None:
        return Tensor(0.0)
    return total * (lam / 2)


def check_probability(p):
    if isinstance(p, bool) or not isinstance(p, (int, float, xp.number)) or not 0 <= p <= 1:
        raise ValueError(f"dropout probability p must be a number in [0, 1], got {p!r}")


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor(x)


def _labels(labels):
    return labels.data if isinstance(labels, Tensor) else xp.asarray(labels)


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(op, a, b):
    # Broadcasting (N, 1) against (N,) would silently compare every pair; refuse it.
    if a.shape != b.shape:
        raise ShapeError(f"{op}: input shape {a.shape} and target shape {b.shape} differ; "
                         f"reshape one to match the other")


__all__ = ["relu", "sigmoid", "tanh", "leaky_relu", "softmax", "log_softmax", "dropout",
           "cross_entropy", "multiclass_hinge_loss", "mse_loss",
           "binary_cross_entropy_with_logits", "l2_penalty"]
