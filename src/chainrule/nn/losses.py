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
    """Softmax cross-entropy of (N, C) logits against integer labels of shape (N,)."""

    def forward(self, logits, labels):
        return F.cross_entropy(logits, labels, reduction=self.reduction)


class MulticlassHingeLoss(_Loss):
    """cs231n's multiclass SVM loss; C times PyTorch's MultiMarginLoss (see the function)."""

    def __init__(self, margin=1.0, reduction="mean"):
        super().__init__(reduction)
        self.margin = margin

    def forward(self, scores, labels):
        return F.multiclass_hinge_loss(scores, labels, margin=self.margin,
                                       reduction=self.reduction)

    def extra_repr(self):
        return f"margin={self.margin}, reduction={self.reduction!r}"


class MSELoss(_Loss):
    def forward(self, pred, target):
        return F.mse_loss(pred, target, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy computed stably from logits (no sigmoid layer before it)."""

    def forward(self, logits, targets):
        return F.binary_cross_entropy_with_logits(logits, targets, reduction=self.reduction)


__all__ = ["CrossEntropyLoss", "MulticlassHingeLoss", "MSELoss", "BCEWithLogitsLoss"]
