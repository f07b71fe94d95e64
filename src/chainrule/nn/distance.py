"""Layers that compare two inputs, with PyTorch's names: CosineSimilarity, PairwiseDistance."""
from . import functional as F
from .module import Module


class CosineSimilarity(Module):
    """The cosine similarity of two inputs along ``dim`` (PyTorch's nn.CosineSimilarity):
    ``F.cosine_similarity(x1, x2, dim, eps)``.

    >>> cr.nn.CosineSimilarity(dim=0)(cr.tensor([1., 0.]), cr.tensor([2., 0.]))
    tensor(1., dtype=float32)
    """

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self):
        return f"dim={self.dim}, eps={self.eps}"


class PairwiseDistance(Module):
    """The p-norm of ``x1 - x2 + eps`` along the last dimension (PyTorch's
    nn.PairwiseDistance): ``F.pairwise_distance(x1, x2, p, eps, keepdim)``.

    >>> cr.nn.PairwiseDistance(eps=0.0)(cr.tensor([[3., 4.]]), cr.zeros(1, 2))
    tensor([5.], dtype=float32)
    """

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
