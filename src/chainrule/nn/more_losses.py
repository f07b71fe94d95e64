"""Margin, embedding and likelihood losses as modules with PyTorch's constructors; each holds
its options and calls the function of the same name in ``nn.functional``."""
from ..errors import ArgumentError
from . import functional as F
from .losses import _Loss


def _legacy(name, size_average, reduce):
    if size_average is not None or reduce is not None:
        raise ArgumentError(f"{name}: size_average and reduce are PyTorch's deprecated "
                            f"options; pass reduction='mean', 'sum' or 'none' instead")


class MarginRankingLoss(_Loss):
    """max(0, -y (x1 - x2) + margin) (see ``nn.functional.margin_ranking_loss``).

    >>> cr.nn.MarginRankingLoss()(cr.tensor([1.]), cr.tensor([2.]), cr.tensor([1.]))
    tensor(1., dtype=float32)
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        _legacy("MarginRankingLoss", size_average, reduce)
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.margin_ranking_loss(input1, input2, target, self.margin,
                                     reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """log(1 + exp(-y x)) for labels 1 or -1 (see ``nn.functional.soft_margin_loss``).

    >>> cr.nn.SoftMarginLoss()(cr.tensor([0.]), cr.tensor([1.]))
    tensor(0.6931472, dtype=float32)
    """

    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        _legacy("SoftMarginLoss", size_average, reduce)
        super().__init__(reduction)

    def forward(self, input, target):
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """x where y = 1, max(0, margin - x) where y = -1 (see
    ``nn.functional.hinge_embedding_loss``).

    >>> cr.nn.HingeEmbeddingLoss(margin=2.)(cr.tensor([0.5]), cr.tensor([-1.]))
    tensor(1.5, dtype=float32)
    """

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        _legacy("HingeEmbeddingLoss", size_average, reduce)
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input, target):
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """1 - cos where y = 1, max(0, cos - margin) where y = -1 (see
    ``nn.functional.cosine_embedding_loss``).

    >>> cr.nn.CosineEmbeddingLoss()(cr.tensor([[1., 0.]]), cr.tensor([[0., 1.]]),
    ...                             cr.tensor([1.]))
    tensor(1., dtype=float32)
    """

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        _legacy("CosineEmbeddingLoss", size_average, reduce)
        super().__init__(reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return F.cosine_embedding_loss(input1, input2, target, self.margin,
                                       reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """The Poisson negative log-likelihood (see ``nn.functional.poisson_nll_loss``).

    >>> cr.nn.PoissonNLLLoss()(cr.tensor([0.]), cr.tensor([1.]))
    tensor(1., dtype=float32)
    """

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        _legacy("PoissonNLLLoss", size_average, reduce)
        super().__init__(reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """The Gaussian negative log-likelihood of ``target`` under mean ``input`` and variance
    ``var`` (see ``nn.functional.gaussian_nll_loss``).

    >>> cr.nn.GaussianNLLLoss()(cr.tensor([1.]), cr.tensor([1.]), cr.tensor([1.]))
    tensor(0., dtype=float32)
    """

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__(reduction)
        self.full, self.eps = full, eps

    def forward(self, input, target, var):
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class TripletMarginLoss(_Loss):
    """max(0, margin + d(a, p) - d(a, n)) (see ``nn.functional.triplet_margin_loss``).

    >>> cr.nn.TripletMarginLoss(margin=2.)(cr.zeros(1, 2), cr.zeros(1, 2), cr.ones(1, 2))
    tensor(0.5857893, dtype=float32)
    """

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                 reduce=None, reduction="mean"):
        _legacy("TripletMarginLoss", size_average, reduce)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """Per-class binary cross-entropy of sigmoid(x), averaged over the classes (see
    ``nn.functional.multilabel_soft_margin_loss``). A ``weight`` is a buffer, in the state
    dict as in PyTorch.

    >>> cr.nn.MultiLabelSoftMarginLoss()(cr.zeros(1, 3), cr.tensor([[1., 0., 1.]]))
    tensor(0.6931472, dtype=float32)
    """

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        _legacy("MultiLabelSoftMarginLoss", size_average, reduce)
        super().__init__(reduction)
        if weight is None:
            self.weight = None
        else:
            self.register_buffer("weight", weight)

    def forward(self, input, target):
        return F.multilabel_soft_margin_loss(input, target, self.weight,
                                             reduction=self.reduction)


__all__ = ["MarginRankingLoss", "SoftMarginLoss", "HingeEmbeddingLoss", "CosineEmbeddingLoss",
           "PoissonNLLLoss", "GaussianNLLLoss", "TripletMarginLoss", "MultiLabelSoftMarginLoss"]
