"""Fused primitives: composites given a VJP of their own because it is both faster and more
stable than differentiating their pieces one by one."""
from ..backend import xp
from ..errors import LabelError
from .composite import softmax
from .primitive import primitive

REDUCTIONS = ("mean", "sum", "none")


def check_labels(op, scores, labels):
    """Validate integer class labels against (N, C) scores; errors give value and range."""
    if scores.ndim != 2:
        raise LabelError(f"{op}: scores must be 2-D of shape (N, C), got shape {scores.shape}")
    n, classes = scores.shape
    if n == 0:
        raise LabelError(f"{op}: the batch is empty (scores of shape {scores.shape})")
    if labels.dtype.kind not in "iu":
        raise LabelError(f"{op}: labels must be integers, got dtype {labels.dtype}; "
                         f"convert them with .astype('int64')")
    if labels.ndim != 1:
        raise LabelError(f"{op}: labels must be 1-D of shape ({n},), got shape {labels.shape}")
    if labels.shape[0] != n:
        raise LabelError(f"{op}: scores have {n} rows but labels have {labels.shape[0]} entries")
    low, high = labels.min(), labels.max()
    if low < 0 or high >= classes:
        position = int(xp.flatnonzero((labels < 0) | (labels >= classes))[0])
        raise LabelError(f"{op}: label {labels[position]} at position {position} is out of range "
                         f"for {classes} classes [0, {classes})")


def reduce_losses(losses, reduction, op):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    if reduction == "none":
        return losses
    raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


@primitive
def softmax_cross_entropy(logits, labels, *, reduction="mean"):
    """-log softmax(logits)[label] per row, reduced by ``reduction``.

    >>> cr.softmax_cross_entropy(cr.zeros(2, 4), np.array([0, 3]))
    tensor(1.3862944, dtype=float32)
    """
    check_labels("cross_entropy", logits, labels)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_total = xp.log(xp.exp(shifted).sum(axis=1))
    losses = log_total - shifted[xp.arange(len(labels)), labels]
    return reduce_losses(losses, reduction, "cross_entropy")


@softmax_cross_entropy.vjp("logits", formula="{grad} * (softmax({logits}) - onehot({labels})) / N")
def _(grad, logits, labels, reduction):
    # d(loss_i)/d(logits_i) = softmax(logits_i) - onehot(label_i): recomputing the softmax here
    # costs one exp over an (N, C) array and saves keeping the probabilities alive.
    n, classes = logits.shape
    if isinstance(logits, xp.ndarray):
        # First-order backward on arrays: the softmax written out (one exp, two reductions),
        # which skips five composite calls (about 8 us a step on small batches).
        delta = xp.exp(logits - logits.max(axis=1, keepdims=True))
        delta /= delta.sum(axis=1, keepdims=True)
        delta[xp.arange(n), labels] -= 1
    else:
        delta = softmax(logits, axis=1) - (xp.arange(classes) == labels[:, None])
    if reduction == "mean":
        return delta * (grad / n)
    if reduction == "sum":
        return delta * grad
    return delta * grad[:, None]


softmax_cross_entropy.declare(loss=True, title="softmax cross-entropy", labels=("labels",))


@primitive(promotion="promote")
def binary_cross_entropy_elementwise(x, t):
    """-(t log x + (1 - t) log(1 - x)) per element, each log clamped at -100 as in PyTorch, so
    that x = 0 or 1 gives a large finite loss rather than inf."""
    if x.size and ((x < 0) | (x > 1) | xp.isnan(x)).any():
        bad = x[(x < 0) | (x > 1) | xp.isnan(x)].flat[0]
        raise ValueError(f"binary_cross_entropy: every input must be a probability in [0, 1], "
                         f"got {bad} (apply sigmoid first, or use "
                         f"binary_cross_entropy_with_logits on the logits)")
    with xp.errstate(divide="ignore"):
        return -(t * xp.maximum(xp.log(x), -100) + (1 - t) * xp.maximum(xp.log1p(-x), -100))


@binary_cross_entropy_elementwise.vjp("x", formula="{grad} * ({x} - {t}) / max({x} (1 - {x}), 1e-12)")
def _(grad, x, t):
    return grad * (x - t) / clip(x * (1 - x), low=1e-12)


@binary_cross_entropy_elementwise.vjp("t", formula="{grad} * (log(1 - {x}) - log({x})), logs clamped at -100")
def _(grad, x):
    return grad * (maximum(log1p(-x), -100) - maximum(log(x), -100))


binary_cross_entropy_elementwise.declare(loss=True, title="binary cross-entropy", labels=("t",))


from .elementwise import clip, log, maximum  # noqa: E402
from .math import log1p  # noqa: E402
