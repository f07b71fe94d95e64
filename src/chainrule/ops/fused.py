"""Fused primitives: composites given a VJP of their own because it is both faster and more
stable than differentiating their pieces one by one."""
from ..backend import xp
from ..errors import LabelError, ShapeError
from .composite import softmax
from .primitive import primitive

REDUCTIONS = ("mean", "sum", "none")


def check_labels(op, labels, input_shape, ignore_index=None):
    """Integer class labels for scores of ``input_shape`` ((N, C), (N, C, d1, ...) or (C,)),
    checked here for every loss that takes them, with the value and the range in the error;
    returns them as an array. ``ignore_index`` is a label allowed outside the classes.

    >>> from chainrule.ops.fused import check_labels
    >>> try:
    ...     check_labels("cross_entropy", np.array([0, 3]), (2, 3))
    ... except cr.LabelError as error:
    ...     print(error)
    cross_entropy: label 3 at position 1 is out of range for 3 classes [0, 3)
    """
    labels = labels._data if hasattr(labels, "_data") else xp.asarray(labels)
    input_shape = tuple(input_shape)
    if labels.dtype.kind not in "iu":
        raise LabelError(f"{op}: labels (class indices) must be integers, got dtype "
                         f"{labels.dtype}; convert them with .long(), or pass class "
                         f"probabilities of the input's shape {input_shape}")
    if len(input_shape) == 0:
        raise ShapeError(f"{op}: the input must have a class dimension, got a 0-d tensor")
    expected = input_shape[:1] + input_shape[2:] if len(input_shape) > 1 else ()
    if len(input_shape) == 2 and labels.ndim == 1 and labels.shape != expected:
        raise LabelError(f"{op}: scores have {input_shape[0]} rows but labels have "
                         f"{labels.shape[0]} entries")
    if labels.shape != expected:
        raise LabelError(f"{op}: labels must be {len(expected)}-D of shape {expected}, got "
                         f"shape {labels.shape} (the input has shape {input_shape})")
    if len(input_shape) > 1 and input_shape[0] == 0:
        raise LabelError(f"{op}: the batch is empty (input of shape {input_shape})")
    classes = input_shape[1] if len(input_shape) > 1 else input_shape[0]
    bad = (labels < 0) | (labels >= classes)
    if ignore_index is not None:
        bad &= labels != ignore_index
    if bad.any():
        position = tuple(int(i) for i in xp.argwhere(bad)[0])
        raise LabelError(f"{op}: label {labels[position]} at position "
                         f"{position[0] if len(position) == 1 else position} is out of range for "
                         f"{classes} classes [0, {classes})")
    return labels


def check_scores(op, scores):
    """Scores of shape (N, C), as the fused losses need."""
    if scores.ndim != 2:
        raise LabelError(f"{op}: scores must be 2-D of shape (N, C), got shape {scores.shape}")


def reduce_losses(losses, reduction, op):
    if reduction == "mean":
        if type(losses) is xp.ndarray:  # np.mean's own steps, without its Python wrapper
            return losses.sum() / losses.dtype.type(losses.size)
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
    check_scores("cross_entropy", logits)
    check_labels("cross_entropy", labels, logits.shape)
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
        one_hot = (xp.arange(classes) == labels[:, None]).astype(logits.dtype)
        delta = softmax(logits, axis=1) - one_hot
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


# PyTorch's clamp of x (1 - x) is the float 1e-12f, 9.99999996e-13, in every dtype.
_BCE_EPSILON = float(xp.float32(1e-12))


@binary_cross_entropy_elementwise.vjp("x", formula="{grad} * ({x} - {t}) / max({x} (1 - {x}), 1e-12)")
def _(grad, x, t):
    return grad * (x - t) / clip(x * (1 - x), low=_BCE_EPSILON)


@binary_cross_entropy_elementwise.vjp("t", formula="{grad} * (log(1 - {x}) - log({x}))")
def _(grad, x):
    # -logit(x), unclamped as PyTorch's: inf at x = 0 and -inf at x = 1, where the loss's
    # logs are clamped at -100 but its slope in the target is not.
    with xp.errstate(divide="ignore"):
        return grad * (log1p(-x) - log(x))


binary_cross_entropy_elementwise.declare(loss=True, title="binary cross-entropy", labels=("t",))


from .elementwise import clip, log  # noqa: E402
from .math import log1p  # noqa: E402
