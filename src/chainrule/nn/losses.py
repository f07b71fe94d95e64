"""Losses as modules: ``loss_fn = CrossEntropyLoss(); loss = loss_fn(logits, labels)``.

Each holds only its options and calls the function of the same name in ``nn.functional``."""
from . import functional as F
from .module import Module


class _Loss(Module):
    def __init__(self, reduction="mean"):
        F._check_reduction(type(self).__name__, reduction)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits against class indices or class probabilities (see
    ``nn.functional.cross_entropy``).

    >>> loss_fn = cr.nn.CrossEntropyLoss(label_smoothing=0.1)
    >>> loss_fn(cr.zeros(2, 4), cr.tensor([0, 3]))
    tensor(1.3862944, dtype=float32)
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
        super().__init__(reduction)
        self.register_buffer("weight", weight)  # in the state dict and moved by .to(), as PyTorch
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_Loss):
    """The negative log-likelihood of log-probabilities at the class targets.

    >>> cr.nn.NLLLoss()(cr.tensor([[-0.5, -1.0]]), cr.tensor([1]))
    tensor(1., dtype=float32)
    """

    def __init__(self, weight=None, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MulticlassHingeLoss(_Loss):
    """cs231n's multiclass SVM loss; C times PyTorch's MultiMarginLoss (see the function).

    >>> cr.nn.MulticlassHingeLoss()(cr.tensor([[0.1, 0.2, 0.4]]), cr.tensor([2]))
    tensor(1.5, dtype=float32)
    """

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, scores, labels):
        return F.multiclass_hinge_loss(scores, labels, margin=self.margin,
                                       reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, reduction={self.reduction!r}"


class MultiMarginLoss(_Loss):
    """PyTorch's multiclass hinge loss (divided by the number of classes).

    >>> cr.nn.MultiMarginLoss()(cr.tensor([[0.1, 0.2, 0.4]]), cr.tensor([2]))
    tensor(0.5, dtype=float32)
    """

    def __init__(self, p=1, margin=1.0, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.p, self.margin = p, margin
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   self.reduction)


class MSELoss(_Loss):
    """(input - target)^2 per element.

    >>> cr.nn.MSELoss()(cr.tensor([1., 2.]), cr.tensor([1., 4.]))
    tensor(2., dtype=float32)
    """

    def forward(self, input, target):
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """|input - target| per element.

    >>> cr.nn.L1Loss(reduction='sum')(cr.tensor([1., 2.]), cr.tensor([1., 4.]))
    tensor(2., dtype=float32)
    """

    def forward(self, input, target):
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic below ``beta``, linear above.

    >>> cr.nn.SmoothL1Loss(beta=1.0)(cr.tensor([0.5, 3.]), cr.zeros(2))
    tensor(1.3125, dtype=float32)
    """

    def __init__(self, reduction="mean", beta=1.0):
        super().__init__(reduction)
        self.beta = beta

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Quadratic below ``delta``, linear (scaled by delta) above.

    >>> cr.nn.HuberLoss(delta=2.0)(cr.tensor([0.5, 3.]), cr.zeros(2))
    tensor(2.0625, dtype=float32)
    """

    def __init__(self, reduction="mean", delta=1.0):
        super().__init__(reduction)
        self.delta = delta

    def forward(self, input, target):
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(Module):
    """The KL divergence of the target from log-probabilities (see ``nn.functional.kl_div``).

    >>> p = cr.tensor([[0.25, 0.75]])
    >>> cr.nn.KLDivLoss(reduction='batchmean')(p.log(), p)
    tensor(0., dtype=float32)
    """

    def __init__(self, reduction="mean", log_target=False):
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input, target):
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities (apply sigmoid first, or use BCEWithLogitsLoss).

    >>> cr.nn.BCELoss()(cr.tensor([0.5]), cr.tensor([1.]))
    tensor(0.6931472, dtype=float32)
    """

    def __init__(self, weight=None, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy computed stably from logits (no sigmoid layer before it).

    >>> cr.nn.BCEWithLogitsLoss(pos_weight=cr.tensor([2.]))(cr.tensor([0.]), cr.tensor([1.]))
    tensor(1.3862944, dtype=float32)
    """

    def __init__(self, weight=None, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


__all__ = ["CrossEntropyLoss", "NLLLoss", "MulticlassHingeLoss", "MultiMarginLoss", "MSELoss",
           "L1Loss", "SmoothL1Loss", "HuberLoss", "KLDivLoss", "BCELoss", "BCEWithLogitsLoss"]
