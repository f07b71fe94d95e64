"""Activations, dropout, losses and the L2 penalty as functions of tensors.

Every loss takes ``reduction``: "mean" (the default) averages the per-example losses over the
batch, "sum" adds them, "none" returns them one per example. Losses accept Tensors or NumPy
arrays and return a Tensor. See docs/losses-and-regularisation.md for the formulas.
"""
from ..argtypes import check_at_least
from ..backend import xp
from ..dtypes import result_type
from ..errors import DimError, DtypeError, ShapeError
from ..functions import log_softmax, softmax
from ..ops import broadcast_to, leaky_relu, normalize, pad, relu, sigmoid, tanh, where
from ..ops import norm as ops_norm
from ..ops.shape import axis_of
from ..ops.activations import (celu, elu, gelu, hardsigmoid, hardswish, hardtanh, log_sigmoid,
                               logsigmoid, mish, relu6, selu, silu, softmin, softplus, softsign,
                               tanhshrink, threshold)
from ..ops.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from ..ops.conv3d import conv3d, conv_transpose3d
from ..ops.fold import fold, unfold
from ..ops.fused import check_labels, check_scores, reduce_losses
from ..ops.adaptive_max import adaptive_max_pool1d, adaptive_max_pool2d
from ..ops.lp_pool import lp_pool1d, lp_pool2d
from ..ops.attention import scaled_dot_product_attention
from ..ops.normalization import (batch_norm, check_probability, dropout, dropout2d, group_norm,
                                layer_norm)
from ..ops.pool import (adaptive_avg_pool2d, avg_pool1d, avg_pool2d, avg_pool3d, max_pool1d,
                        max_pool2d, max_pool3d)
from ..ops.resample import interpolate
from ..ops.shrink import softshrink
from ..ops.adaptive_avg import adaptive_avg_pool1d
from ..ops.more_dropout import alpha_dropout, dropout1d, dropout3d, feature_alpha_dropout
from ..ops.random_activations import gumbel_softmax, rrelu
from .small_functional import bilinear, channel_shuffle, local_response_norm, pdist
from .inplace_functional import (celu_, elu_, hardtanh_, leaky_relu_, relu_, rrelu_, selu_,
                                 threshold_)
from ..ops.unpool import max_unpool1d, max_unpool2d, max_unpool3d
from ..tensor import Tensor
from .embedding import embedding
from .embedding_bag import embedding_bag
from .losses_functional import (_as_tensor, _check_reduction,
                                binary_cross_entropy, binary_cross_entropy_with_logits,
                                cross_entropy, huber_loss, kl_div, l1_loss, mse_loss,
                                multi_margin_loss, nll_loss, smooth_l1_loss)
from .more_functional import (glu, instance_norm, pairwise_distance, pixel_shuffle,
                              pixel_unshuffle, prelu, rms_norm)
from .more_losses_functional import (cosine_embedding_loss, gaussian_nll_loss,
                                     hinge_embedding_loss, margin_ranking_loss,
                                     multilabel_soft_margin_loss, poisson_nll_loss,
                                     soft_margin_loss, triplet_margin_loss)


def linear(input, weight, bias=None):
    """``input @ weight^T + bias``, PyTorch's F.linear: the affine layer (cs231n's
    affine_forward) that nn.Linear applies. ``weight`` is (out_features, in_features), or 1-D
    for one output with that dimension dropped; ``bias`` broadcasts over the rows.

    >>> cr.nn.functional.linear(cr.ones(2, 3), cr.ones(4, 3), cr.zeros(4)).shape
    cr.Size([2, 4])
    """
    input, weight = _as_tensor(input), _as_tensor(weight)
    if weight.ndim not in (1, 2) or input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ShapeError(f"linear: input of shape {tuple(input.shape)} and weight of shape "
                         f"{tuple(weight.shape)} cannot be multiplied (the weight must be 1-D "
                         f"or 2-D, its last dimension the input's last)")
    # weight.T is a view: matmul and its VJP hand BLAS the transposed layout, no copy.
    out = input @ (weight.T if weight.ndim == 2 else weight)
    return out if bias is None else out + bias


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """The cosine of the angle between ``x1`` and ``x2`` along ``dim``, PyTorch's
    F.cosine_similarity: sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)), the two
    broadcast against each other first. As in PyTorch each norm is clamped to ``eps`` without
    changing its gradient, so a zero vector gives 0 with a finite gradient.

    >>> cr.nn.functional.cosine_similarity(cr.tensor([[1., 0.], [1., 1.]]), cr.tensor([1., 0.]))
    tensor([1.        , 0.70710677], dtype=float32)
    """
    x1, x2 = _as_tensor(x1), _as_tensor(x2)
    common = result_type([x1._data, x2._data])
    if common.kind != "f":
        raise DtypeError(f"cosine_similarity: the inputs' common dtype must be floating point, "
                         f"got {common} (from {x1.dtype} and {x2.dtype})")
    try:
        shape = xp.broadcast_shapes(tuple(x1.shape), tuple(x2.shape))
    except ValueError:
        raise ShapeError(f"cosine_similarity: x1 of shape {tuple(x1.shape)} and x2 of shape "
                         f"{tuple(x2.shape)} do not broadcast") from None
    axis = axis_of("cosine_similarity", dim, len(shape))
    if not eps >= 0:  # a negative eps would let a zero norm through as 0/0 = nan
        raise ValueError(f"cosine_similarity: eps must be non-negative, got {eps!r} (as in "
                         f"PyTorch)")
    if not shape:
        raise DimError(f"cosine_similarity: dim {dim} is out of range for 0-d inputs")

    def unit(x):
        x = x if x.dtype == common else x.astype(common)
        x = x if tuple(x.shape) == shape else broadcast_to(x, shape=shape)
        norm = ops_norm(x, 2, axis=axis, keepdims=True)
        # PyTorch clamps the norm in place under no_grad: the value is eps, the gradient the
        # norm's own.
        clamped = where(norm.detach()._data < eps, norm - norm.detach() + eps, norm)
        return x / clamped
    return (unit(x1) * unit(x2)).sum(axis)


def multiclass_hinge_loss(scores, labels, margin=1.0, reduction="mean"):
    """The multiclass SVM loss of cs231n: per example, sum over the wrong classes j != y of
    max(0, s_j - s_y + margin).

    Unlike PyTorch's ``MultiMarginLoss``, which divides each example's sum by the number of
    classes C, this is the plain sum, so ``multiclass_hinge_loss / C`` equals
    ``torch.nn.functional.multi_margin_loss``. At a kink (s_j - s_y + margin exactly 0) the
    term counts as inactive: its subgradient is 0, as in cs231n's svm_loss and in PyTorch.

    >>> cr.nn.functional.multiclass_hinge_loss(cr.tensor([[0.1, 0.2, 0.4]]), cr.tensor([2]))
    tensor(1.5, dtype=float32)
    """
    _check_reduction("multiclass_hinge_loss", reduction)
    scores = _as_tensor(scores)
    check_scores("multiclass_hinge_loss", scores._data)
    labels = check_labels("multiclass_hinge_loss", labels, scores.shape)
    n, classes = scores.shape
    correct = scores[xp.arange(n), labels].reshape((n, 1))
    # relu's subgradient at 0 is 0, which gives the inactive-at-the-kink convention above.
    hinge = relu(scores - correct + margin)
    wrong_class = xp.arange(classes) != labels[:, None]
    return reduce_losses(where(wrong_class, hinge, 0).sum(axis=1), reduction,
                         "multiclass_hinge_loss")


def l2_penalty(params, lam):
    """lam/2 * sum of squared Frobenius norms: the s of J = L + s in the textbooks.

    ``params`` is an iterable of tensors or a dict of named ones. Its gradient with respect to
    each W is lam * W, so adding it to the loss matches ``SGD(..., weight_decay=lam)``.

    >>> cr.nn.functional.l2_penalty([cr.tensor([1., 2.]), cr.tensor([2.])], lam=0.1)
    tensor(0.45000002, dtype=float32)
    """
    check_at_least("l2_penalty: lam", lam, 0)
    tensors = params.values() if isinstance(params, dict) else params
    total = None
    for w in tensors:
        square = (w * w).sum()
        total = square if total is None else total + square
    if total is None:
        return Tensor._wrap(0.0)
    return total * (lam / 2)


# Imported here, below dropout: attention.py uses dropout and Linear, whose module imports this one.

__all__ = ["relu", "sigmoid", "tanh", "leaky_relu", "softmax", "log_softmax", "softmin",
           "gelu", "silu", "elu", "selu", "celu", "softplus", "log_sigmoid", "logsigmoid",
           "hardtanh", "relu6", "hardsigmoid", "hardswish", "mish", "softsign", "tanhshrink",
           "threshold", "dropout", "pad", "normalize",
           "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "max_pool1d", "max_pool2d",
           "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "max_unpool1d", "max_unpool2d",
           "max_unpool3d",
           "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "lp_pool1d",
           "lp_pool2d", "interpolate", "batch_norm", "layer_norm", "group_norm",
           "dropout2d",
           "cross_entropy", "nll_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits",
           "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "kl_div", "multi_margin_loss",
           "multiclass_hinge_loss", "l2_penalty",
           "embedding", "embedding_bag", "linear", "cosine_similarity", "unfold", "fold",
           "scaled_dot_product_attention",
           "prelu", "glu", "pixel_shuffle", "pixel_unshuffle", "rms_norm", "instance_norm",
           "pairwise_distance", "margin_ranking_loss", "soft_margin_loss",
           "hinge_embedding_loss", "cosine_embedding_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "triplet_margin_loss", "multilabel_soft_margin_loss",
           "softshrink", "adaptive_avg_pool1d", "dropout1d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout", "bilinear", "channel_shuffle", "local_response_norm",
           "pdist", "gumbel_softmax", "rrelu", "relu_", "elu_", "leaky_relu_", "hardtanh_",
           "threshold_", "selu_", "celu_", "rrelu_"]

from ..public import export_functional  # noqa: E402
export_functional(globals(), __all__)  # the F. names declared beside their ops: F.one_hot, ...
