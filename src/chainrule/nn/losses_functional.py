"""The losses of ``torch.nn.functional``, with its signatures and options.

Every loss takes ``reduction``: "mean" averages, "sum" adds, "none" keeps one loss per example
(per element for the elementwise losses). Class-index losses (cross_entropy, nll_loss,
multi_margin_loss) accept ``(N, C)`` inputs with ``(N,)`` targets and ``(N, C, d1, ...)`` with
``(N, d1, ...)``; formulas are in docs/losses-and-regularisation.md.
"""
from ..backend import xp
from ..engine import is_grad_enabled
from ..errors import DtypeError, GradientError, LabelError, ShapeError
from ..ops import (abs, gather, log_softmax, movedim, reshape, softmax_cross_entropy,
                   expand_dims, softplus, where)
from ..ops.fused import (REDUCTIONS, binary_cross_entropy_elementwise, check_labels,
                         reduce_losses)
from ..ops.special_math import xlogy
from ..tensor import Tensor


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def _check_reduction(op, reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _check_same_shape(op, a, b):
    # Broadcasting (N, 1) against (N,) would silently compare every pair; refuse it.
    if a.shape != b.shape:
        raise ShapeError(f"{op}: input shape {a.shape} and target shape {b.shape} differ; "
                         f"reshape one to match the other")


def refuse_integers(op, **tensors):
    """PyTorch's kernels for these operands have no integer (or bool) versions and raise,
    where the formulas here would hand back a float or an integer loss."""
    for name, t in tensors.items():
        if xp.dtype(t.dtype).kind not in "fc":
            raise DtypeError(f"{op}: not implemented for {name} of dtype {t.dtype} and shape "
                             f"{tuple(t.shape)} (as in PyTorch); convert it with .float()")


def _labels(op, target, input_shape, ignore_index=None):
    """Integer class targets as an array, checked in the one place labels are checked."""
    _label_dtype(op, target)
    return check_labels(op, target, input_shape, ignore_index)


# The integer target dtypes PyTorch's class-index losses take (int32 labels are refused).
_LABEL_DTYPES = {"cross_entropy": ("int64", "uint8"), "nll_loss": ("int64", "uint8"),
                 "multi_margin_loss": ("int64",)}


def _label_dtype(op, target):
    dtype = xp.dtype(target.dtype)
    if dtype.kind in "iu" and dtype.name not in _LABEL_DTYPES[op]:
        raise LabelError(f"{op}: expected class targets of dtype "
                         f"{' or '.join(_LABEL_DTYPES[op])} (as in PyTorch), got {dtype} of "
                         f"shape {tuple(target.shape)}; convert them with .long()")


def not_differentiable_in(op, **arguments):
    """PyTorch's kernels for these losses have no gradient for their weights (nor, in some,
    the target) and refuse one that requires grad rather than leave it without a gradient."""
    for name, t in arguments.items():
        if isinstance(t, Tensor) and t.requires_grad and is_grad_enabled():
            raise GradientError(f"{op}: not differentiable with respect to {name} (shape "
                                f"{tuple(t.shape)}), which requires grad; pass "
                                f"{name}.detach() (as in PyTorch)")


def _weights_array(op, weight, classes):
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else xp.asarray(weight)
    if w.shape != (classes,):
        raise ShapeError(f"{op}: weight must have one entry per class, shape ({classes},), "
                         f"got {w.shape}")
    return w


def _class_last(input):
    """(N, C, d1, ...) -> (N, d1, ..., C); (C,) stays."""
    return movedim(input, 1, -1) if input.ndim > 2 else input


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """The negative log-likelihood of log-probabilities ``input`` at the class ``target``:
    -weight[y] * input[y] per example; "mean" divides by the sum of the weights of the targets
    that are not ``ignore_index``.

    >>> logp = cr.tensor([[-0.5, -1.0], [-2.0, -0.1]])
    >>> cr.nn.functional.nll_loss(logp, cr.tensor([0, 1]))
    tensor(0.3, dtype=float32)
    """
    _check_reduction("nll_loss", reduction)
    input = _as_tensor(input)
    refuse_integers("nll_loss", input=input)
    not_differentiable_in("nll_loss", weight=weight)
    labels = _labels("nll_loss", target, input.shape, ignore_index)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    w = _weights_array("nll_loss", weight, classes)
    losses, kept = _picked(input, _label_tensor(target, labels), w, ignore_index)
    return _reduce_weighted(-losses, kept, reduction)


def _label_tensor(target, labels):
    """The checked labels as an int64 tensor for the ops that pick with them: the target
    itself where it is a tensor, so that a compiled step reads each call's labels (an array
    derived here with NumPy would be a constant of its plan)."""
    tensor = target if isinstance(target, Tensor) and target._data is labels else \
        Tensor._wrap(labels)
    return tensor if tensor.dtype == xp.int64 else tensor.long()


def _picked(input, target, w, ignore_index):
    """input[..., y] * w[y] for every example y of the labels ``target`` (an int64 tensor), 0
    where y is ``ignore_index``, and those weights (0 where ignored). The ignored examples are
    masked with tensor ops rather than found with NumPy, so that a compiled step reads each
    call's. An ignored example's 0 is a `where`, not a product with 0, so that its gradient is
    0 even when every example is ignored and "mean" divides by 0 (PyTorch's NaN loss with a
    zero gradient)."""
    ignored = target == ignore_index
    index = where(ignored, 0, target)
    moved = _class_last(input)
    picked = reshape(gather(moved, moved.ndim - 1, expand_dims(index, -1)),
                     shape=tuple(target.shape))
    kept = (~ignored).to(input.dtype)
    if w is not None:
        w_y = _as_tensor(w if w.dtype == input.dtype else w.astype(input.dtype))[index]
        kept = kept * w_y
        picked = picked * w_y
    return where(ignored, 0, picked), kept


def _reduce_weighted(losses, kept, reduction):
    if reduction == "none":
        return losses
    total = losses.sum()
    if reduction == "sum":
        return total
    return total / kept.sum()


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Softmax cross-entropy: -log softmax(input)[y] per example, for integer class targets
    (with ``weight``, ``ignore_index`` and ``label_smoothing`` as in PyTorch) or for class
    probabilities of the input's shape. The plain case (N, C) logits with (N,) labels runs the
    fused primitive ``softmax_cross_entropy``, whose gradient is softmax - onehot.

    >>> logits = cr.tensor([[2.0, 0.0], [0.0, 2.0]])
    >>> cr.nn.functional.cross_entropy(logits, cr.tensor([0, 0]))
    tensor(1.1269281, dtype=float32)
    >>> cr.nn.functional.cross_entropy(logits, cr.tensor([0, 0]), label_smoothing=0.1)
    tensor(1.1269281, dtype=float32)
    """
    _check_reduction("cross_entropy", reduction)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got "
                         f"{label_smoothing}")
    input = _as_tensor(input)
    refuse_integers("cross_entropy", input=input)
    target_array = target._data if isinstance(target, Tensor) else xp.asarray(target)
    if target_array.dtype.kind == "f":
        if target_array.shape != input.shape:
            _labels("cross_entropy", target_array, input.shape)  # says what was expected
        if ignore_index >= 0:
            raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not supported for "
                             f"class-probability targets (float, shape "
                             f"{tuple(target_array.shape)}), as in PyTorch")
        return _cross_entropy_probabilities(input, _as_tensor(target), weight, reduction,
                                            label_smoothing)
    _label_dtype("cross_entropy", target_array)
    not_differentiable_in("cross_entropy", weight=weight)
    if (input.ndim == 2 and weight is None and label_smoothing == 0 and target_array.ndim == 1
            and not (target_array == ignore_index).any()):
        return softmax_cross_entropy(input, target_array, reduction=reduction)  # checks labels
    labels = _labels("cross_entropy", target_array, input.shape, ignore_index)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    w = _weights_array("cross_entropy", weight, classes)
    logp = log_softmax(input, axis=1 if input.ndim > 1 else 0)
    labels = _label_tensor(target, labels)
    picked, kept = _picked(logp, labels, w, ignore_index)
    nll = _reduce_weighted(-picked, kept, reduction)
    if label_smoothing == 0:
        return nll
    # The smoothing term: -sum_c w_c log p_c per example, 0 where ignored, reduced like the
    # nll term (divided by the same sum of target weights for "mean").
    moved = _class_last(logp)
    per_class = moved * w.astype(logp.dtype) if w is not None else moved
    smooth = where(labels == ignore_index, 0, -per_class.sum(-1))
    smooth = _reduce_weighted(smooth, kept, reduction)
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing):
    _check_same_shape("cross_entropy", input, target)
    classes = input.shape[1] if input.ndim > 1 else input.shape[0]
    if label_smoothing:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    logp = _class_last(log_softmax(input, axis=1 if input.ndim > 1 else 0))
    target = _class_last(target)
    _weights_array("cross_entropy", weight, classes)  # checks its shape
    # Here PyTorch multiplies by the weight, promoting (float64 weights on float32 logits give
    # float64), where its class-index kernels refuse the mix (and chainrule casts); and the
    # weight is differentiable, as any factor.
    terms = logp * target * (_as_tensor(weight) if weight is not None else 1)
    losses = -terms.sum(-1)
    return reduce_losses(losses, reduction, "cross_entropy")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """-(y log p + (1 - y) log(1 - p)) for probabilities ``input`` (each log clamped at -100,
    as PyTorch does, so p = 0 or 1 gives a finite loss).

    >>> cr.nn.functional.binary_cross_entropy(cr.tensor([0.5, 0.9]), cr.tensor([1., 1.]))
    tensor(0.39925388, dtype=float32)
    """
    _check_reduction("binary_cross_entropy", reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("binary_cross_entropy", input, target)
    refuse_integers("binary_cross_entropy", input=input)
    not_differentiable_in("binary_cross_entropy", weight=weight)
    if target.dtype != input.dtype:
        raise DtypeError(f"binary_cross_entropy: target of dtype {target.dtype} for an input "
                         f"of dtype {input.dtype} (shape {tuple(input.shape)}); PyTorch wants "
                         f"the same dtype")
    labels = target.detach()._data
    if not ((labels >= 0) & (labels <= 1)).all():
        bad = labels[~((labels >= 0) & (labels <= 1))].flat[0]
        raise ValueError(f"binary_cross_entropy: every target must be in [0, 1] (as PyTorch "
                         f"requires), got {bad} in the target of shape {tuple(target.shape)}")
    losses = binary_cross_entropy_elementwise(input, target)
    if weight is not None:
        losses = losses * _elementwise_weight("binary_cross_entropy", "weight", input, weight)
    return reduce_losses(losses, reduction, "binary_cross_entropy")


def _elementwise_weight(op, name, input, weight):
    """A weight that broadcasts to the input's shape, cast to the input's dtype: PyTorch's
    binary cross-entropies keep the input's dtype whatever the weight's (a float64 weight on
    float32 scores gives float32), and refuse a weight that would enlarge the loss."""
    weight = _as_tensor(weight)
    try:
        fits = xp.broadcast_shapes(tuple(weight.shape), tuple(input.shape)) == tuple(input.shape)
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{op}: {name} of shape {tuple(weight.shape)} does not broadcast to "
                         f"the input's shape {tuple(input.shape)}")
    return weight if weight.dtype == input.dtype else weight.to(input.dtype)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Binary cross-entropy of sigmoid(input) against ``target``, computed from the logits
    without overflow: (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x). ``pos_weight`` (one
    per class, the last dimension) weighs the positive examples.

    >>> cr.nn.functional.binary_cross_entropy_with_logits(cr.tensor([0.]), cr.tensor([1.]))
    tensor(0.6931472, dtype=float32)
    """
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape(op, input, target)
    refuse_integers(op, input=input)
    not_differentiable_in(op, weight=weight, pos_weight=pos_weight)
    if target.dtype.kind != "f":
        raise DtypeError(f"{op}: target of dtype {target.dtype} "
                         f"(shape {tuple(target.shape)}) must be floating point, as in PyTorch; "
                         f"convert it with .float()")
    if pos_weight is None:
        # softplus never exponentiates a positive number, so no logit overflows; (1 - y) x +
        # softplus(-x) rather than softplus(x) - x y, so that x = inf gives inf, as PyTorch.
        losses = (1 - target) * input + softplus(-input)
    else:
        pos_weight = _elementwise_weight(op, "pos_weight", input, pos_weight)
        log_weight = (pos_weight - 1) * target + 1
        losses = (1 - target) * input + log_weight * softplus(-input)
    if weight is not None:
        losses = losses * _elementwise_weight(op, "weight", input, weight)
    return reduce_losses(losses, reduction, op)


def _elementwise(op, input, target, reduction, integers=True):
    """input - target, checked; ``integers=False`` refuses an integer pair, as PyTorch's
    kernels do for every loss here but l1_loss."""
    _check_reduction(op, reduction)
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape(op, input, target)
    if not integers and xp.dtype(target.dtype).kind not in "fc":
        refuse_integers(op, input=input)
    return input - target


def mse_loss(input, target, reduction="mean"):
    """(input - target)^2 per element.

    >>> cr.nn.functional.mse_loss(cr.tensor([1., 3.]), cr.tensor([0., 0.]))
    tensor(5., dtype=float32)
    """
    diff = _elementwise("mse_loss", input, target, reduction, integers=False)
    return reduce_losses(diff * diff, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    """|input - target| per element.

    >>> cr.nn.functional.l1_loss(cr.tensor([1., -3.]), cr.tensor([0., 0.]))
    tensor(2., dtype=float32)
    """
    diff = _elementwise("l1_loss", input, target, reduction)
    return reduce_losses(abs(diff), reduction, "l1_loss")


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target).

    >>> cr.nn.functional.smooth_l1_loss(cr.tensor([0.5, 3.]), cr.tensor([0., 0.]))
    tensor(1.3125, dtype=float32)
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    diff = _elementwise("smooth_l1_loss", input, target, reduction, integers=False)
    if beta == 0:
        return reduce_losses(abs(diff), reduction, "smooth_l1_loss")
    size = abs(diff)
    small = ~(size.detach() >= beta)  # NaN takes the quadratic branch, as in PyTorch
    near = where(small, diff, 0)  # an inf difference must not reach the square's gradient
    losses = where(small, near * near * (0.5 / beta), size - 0.5 * beta)
    return reduce_losses(losses, reduction, "smooth_l1_loss")


def huber_loss(input, target, reduction="mean", delta=1.0):
    """0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (d = input - target).

    >>> cr.nn.functional.huber_loss(cr.tensor([0.5, 3.]), cr.tensor([0., 0.]))
    tensor(1.3125, dtype=float32)
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be > 0, got {delta}")
    input, target = _as_tensor(input), _as_tensor(target)
    refuse_integers("huber_loss", input=input)  # it computes in the input's dtype
    mixed = target.dtype != input.dtype
    if mixed and is_grad_enabled() and (input.requires_grad or target.requires_grad):
        raise DtypeError(f"huber_loss: input of dtype {input.dtype} and target of dtype "
                         f"{target.dtype} (shape {tuple(input.shape)}) have no gradient in "
                         f"PyTorch, whose backward refuses the mix; convert the target with "
                         f".to(input.dtype)")
    diff = _elementwise("huber_loss", input, target, reduction)
    size = abs(diff)
    small = ~(size.detach() >= delta)  # NaN takes the quadratic branch, as in PyTorch
    near = where(small, diff, 0)  # an inf difference must not reach the square's gradient
    losses = where(small, near * near * 0.5, (size - 0.5 * delta) * delta)
    if mixed:  # PyTorch's per-element losses are in the common dtype, then the input's
        losses = losses.to(input.dtype)
    return reduce_losses(losses, reduction, "huber_loss")


def kl_div(input, target, reduction="mean", log_target=False):
    """The Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``,
    per element: y (log y - x), taken as 0 where y = 0 (or exp(y) (y - x) with
    ``log_target=True``). ``reduction="batchmean"`` divides the sum by the batch size, which
    is the true KL divergence (PyTorch's "mean" divides by every element).

    >>> p = cr.tensor([0.5, 0.5])
    >>> cr.nn.functional.kl_div(p.log(), p, reduction="sum")
    tensor(0., dtype=float32)
    """
    if reduction not in REDUCTIONS + ("batchmean",):
        raise ValueError(f"kl_div: reduction must be one of {REDUCTIONS + ('batchmean',)}, "
                         f"got {reduction!r}")
    input, target = _as_tensor(input), _as_tensor(target)
    _check_same_shape("kl_div", input, target)
    refuse_integers("kl_div", input=input, target=target)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        # xlogy, as PyTorch: its gradient in the target at y = 0 is NaN (0 / 0) there too,
        # where log y + 1 has no finite value.
        losses = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return losses.sum() / (input.shape[0] if input.ndim else 1)
    return reduce_losses(losses, reduction, "kl_div")


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """The multiclass hinge loss of PyTorch: per example, the sum over the wrong classes j of
    weight[y] * max(0, margin - x_y + x_j)^p, divided by the number of classes C. It equals
    ``multiclass_hinge_loss / C`` (cs231n's SVM loss does not divide by C).

    >>> cr.nn.functional.multi_margin_loss(cr.tensor([[0.1, 0.2, 0.4]]), cr.tensor([2]))
    tensor(0.5, dtype=float32)
    """
    _check_reduction("multi_margin_loss", reduction)
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2, got {p}")
    input = _as_tensor(input)
    refuse_integers("multi_margin_loss", input=input)
    if input.ndim not in (1, 2):
        raise ShapeError(f"multi_margin_loss: input must be (N, C) or (C,), got {input.shape}")
    not_differentiable_in("multi_margin_loss", weight=weight)
    labels = _labels("multi_margin_loss", target, input.shape)
    x = input if input.ndim == 2 else reshape(input, shape=(1, -1))
    y = labels.reshape(-1)
    classes = x.shape[1]
    correct = reshape(gather(x, 1, y[:, None]), shape=(-1, 1))
    z = x - correct + margin
    # PyTorch counts a class only where z > 0: a NaN z adds nothing, to the loss or the gradient.
    hinge = where(z.detach()._data > 0, z, 0)
    if p == 2:
        hinge = hinge * hinge
    w = _weights_array("multi_margin_loss", weight, classes)
    if w is not None:
        hinge = hinge * w[y][:, None].astype(x.dtype)
    wrong = xp.arange(classes) != y[:, None]
    losses = where(wrong, hinge, 0).sum(1) / classes
    if input.ndim == 1:
        losses = reshape(losses, shape=())
    return reduce_losses(losses, reduction, "multi_margin_loss")
