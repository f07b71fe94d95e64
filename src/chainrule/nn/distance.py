"""Layers that compare two inputs, with PyTorch's names: CosineSimilarity."""
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
