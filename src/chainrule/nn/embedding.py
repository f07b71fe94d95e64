"""Embedding: a lookup table of vectors, one row per index, as PyTorch's ``nn.Embedding``.

The lookup is ``weight[indices]`` (the getitem primitive), whose gradient scatter-adds each
output row's gradient into the row it was read from; padding and frequency scaling are
composites on top of it, so there is no backward code here.
"""
from ..backend import xp
from ..dtypes import float_dtype
from ..engine import no_grad
from ..errors import ArgumentError, ShapeError
from ..ops import getitem, stop_gradient, where
from ..tensor import Tensor
from . import init as initializers
from .module import Module, Parameter


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """Rows of ``weight`` at the integer ``input``: output shape ``input.shape + (dim,)``.

    ``padding_idx``: that row gets no gradient. ``max_norm``: every row that ``input`` reads
    and whose ``norm_type``-norm exceeds it is first rescaled in place to that norm (as
    PyTorch, outside the graph). ``scale_grad_by_freq``: each row's gradient is divided by
    how often the batch reads it. Sparse gradients are not supported.

    >>> weight = cr.tensor([[0., 0.], [1., 2.], [3., 4.]])
    >>> cr.nn.functional.embedding(cr.tensor([[2, 1]]), weight)
    tensor([[[3., 4.],
             [1., 2.]]], dtype=float32)
    """
    if sparse:
        raise NotImplementedError("embedding: sparse=True (sparse gradients) is not supported; "
                                  "use sparse=False")
    if not isinstance(weight, Tensor):
        weight = Tensor._wrap(weight)
    if weight.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(weight.shape)}")
    indices = _indices(input)
    rows = weight.shape[0]
    padding_idx = _padding_index(padding_idx, rows, "embedding")
    if indices.size and (indices.min() < 0 or indices.max() >= rows):
        raise IndexError(f"embedding: index out of range in self (indices from "
                         f"{indices.min()} to {indices.max()}, weight has {rows} rows)")
    if max_norm is not None:
        renorm_(weight, indices, max_norm, norm_type)
    out = getitem(weight, index=indices)
    if scale_grad_by_freq:
        counts = xp.bincount(indices.reshape(-1), minlength=rows)
        scale = (1 / counts[indices]).astype(out.dtype)[..., None]
        # The value stays out exactly (out - out is 0); only the gradient is scaled.
        constant = stop_gradient(out)
        out = constant + (out - constant) * scale
    if padding_idx is not None and out.requires_grad:
        out = where((indices == padding_idx)[..., None], stop_gradient(out), out)
    return out


def renorm_(weight, indices, max_norm, norm_type=2.0):
    """Rescale in place each row of ``weight`` read by ``indices`` whose ``norm_type``-norm
    exceeds ``max_norm`` to norm ``max_norm`` (PyTorch's ``embedding_renorm_``, under no_grad);
    returns ``weight``.

    >>> w = cr.tensor([[3., 4.], [0.3, 0.4]])
    >>> cr.nn.embedding.renorm_(w, np.array([0, 1]), max_norm=1.0)
    tensor([[0.6, 0.8],
            [0.3, 0.4]], dtype=float32)
    """
    with no_grad():
        data = weight._data
        for row in xp.unique(xp.asarray(indices).reshape(-1)):
            norm = float(xp.linalg.norm(data[row].astype(xp.float64), ord=norm_type))
            if norm > max_norm:
                data[row] *= data.dtype.type(max_norm / (norm + 1e-7))
        weight._bump_version()
    return weight


def _indices(input):
    # A copy of an array or list: the lookup keeps the indices for its backward, and a NumPy
    # array changed after the call has no version counter to tell (a Tensor's has).
    array = input._data if isinstance(input, Tensor) else xp.array(input)
    if array.dtype not in (xp.int64, xp.int32):
        # PyTorch refuses uint8, int8 and int16 indices too.
        raise TypeError(f"embedding: indices must be an integer tensor (int64 or int32), got "
                        f"{array.dtype}")
    return array


def check_table(where, num_embeddings, embedding_dim, weight=None):
    """Refuse, naming ``where``, table sizes that are not non-negative ints, or a given
    ``weight`` of another shape."""
    for option, value in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
        if isinstance(value, bool) or not isinstance(value, (int, xp.integer)):
            # int(2.5) would make a table of 2 rows, where PyTorch refuses the size.
            raise TypeError(f"{where}: {option} must be an int, got {value!r}")
        if value < 0:
            raise ArgumentError(f"{where}: {option} must be non-negative, got {value}")
    if weight is not None and tuple(weight.shape) != (num_embeddings, embedding_dim):
        raise ShapeError(f"{where}: _weight has shape {tuple(weight.shape)}, expected "
                         f"{(int(num_embeddings), int(embedding_dim))}")


def _padding_index(padding_idx, rows, where_from):
    if padding_idx is None:
        return None
    if not -rows <= padding_idx < rows:
        raise ValueError(f"{where_from}: padding_idx must be within num_embeddings ({rows}), "
                         f"got {padding_idx}")
    return padding_idx % rows


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``embedding(indices)``
    returns their rows, shape ``indices.shape + (embedding_dim,)``.

    Initialised as PyTorch's: N(0, 1), with the ``padding_idx`` row zero (that row never gets
    a gradient). ``max_norm``, ``norm_type`` and ``scale_grad_by_freq`` as in
    ``nn.functional.embedding``; ``sparse=True`` is refused. ``_weight`` gives the table.

    >>> table = cr.nn.Embedding(10, 3, padding_idx=0)
    >>> table(cr.tensor([[0, 2, 4]])).shape
    cr.Size([1, 3, 3])
    >>> table.weight[0].tolist()
    [0.0, 0.0, 0.0]
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, generator=None, dtype=None):
        if sparse:
            raise NotImplementedError("Embedding: sparse=True (sparse gradients) is not "
                                      "supported; use sparse=False")
        check_table("Embedding", num_embeddings, embedding_dim, _weight)
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        self.padding_idx = _padding_index(padding_idx, self.num_embeddings, "Embedding")
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            dtype = float_dtype(dtype, "Embedding")
            self.weight = Parameter(xp.empty((self.num_embeddings, self.embedding_dim), dtype),
                                    requires_grad=not _freeze)
            self.reset_parameters(generator)
        else:
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self, generator=None):
        """Draw the table afresh from N(0, 1), the padding row zero, as PyTorch.

        >>> table = cr.nn.Embedding(4, 2, padding_idx=1)
        >>> table.reset_parameters()
        >>> table.weight[1].tolist()
        [0.0, 0.0]
        """
        initializers.normal_(self.weight, generator=generator)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding whose table is ``embeddings`` (2-D; not copied if it is a float
        array), frozen (no gradient) unless ``freeze=False``. The padding row is kept as given.

        >>> table = cr.nn.Embedding.from_pretrained(cr.tensor([[1., 2.], [3., 4.]]))
        >>> table(cr.tensor([1])), table.weight.requires_grad
        (tensor([[3., 4.]], dtype=float32), False)
        """
        if len(embeddings.shape) != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D, got shape "
                             f"{tuple(embeddings.shape)}")
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)

    def forward(self, input):
        return embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, self.sparse)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return text


__all__ = ["Embedding", "embedding"]
