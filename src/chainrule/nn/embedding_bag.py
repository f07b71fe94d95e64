"""EmbeddingBag: the sum, mean or maximum of each bag of embedding rows, without the
(positions, dim) intermediate a user would pool, as PyTorch's ``nn.EmbeddingBag``.

Composites only: the rows are read with getitem and added into their bags with index_add,
whose VJPs scatter each bag's gradient back to the rows it read; ``max`` finds each bag's
winners on arrays (PyTorch's rule: the first maximum, a NaN only where it comes first) and
reads them with getitem, so the gradient goes to the winning row alone.
"""
from ..backend import xp
from ..device import check_device
from ..errors import ArgumentError, DtypeError, ShapeError
from ..ops import getitem, where
from ..ops.index import index_add
from ..tensor import Tensor
from . import init as initializers
from .embedding import _indices, _padding_index, check_table, renorm_
from .module import Module

MODES = ("sum", "mean", "max")


def _bags(indices, offsets, include_last_offset):
    """``indices`` flattened, and each position's bag and the number of bags, checked as
    PyTorch checks them."""
    if indices.ndim == 2:
        if offsets is not None:
            raise ShapeError(f"embedding_bag: with 2-D input (bags of equal length, shape "
                             f"{indices.shape}) offsets must be None")
        if indices.shape[1] == 0 and indices.shape[0]:
            raise ShapeError(f"embedding_bag: 2-D input of shape {indices.shape} has empty "
                             f"bags, which PyTorch refuses; give 1-D input and offsets")
        count, length = indices.shape
        return indices.reshape(-1), xp.repeat(xp.arange(count), length), count
    if indices.ndim != 1:
        raise ShapeError(f"embedding_bag: input must be 1-D or 2-D, got shape {indices.shape}")
    if offsets is None:
        raise ShapeError("embedding_bag: 1-D input needs offsets (where each bag starts)")
    starts = offsets._data if isinstance(offsets, Tensor) else xp.asarray(offsets)
    if starts.ndim != 1 or starts.dtype not in (xp.int32, xp.int64):
        raise ShapeError(f"embedding_bag: offsets must be a 1-D int64 or int32 tensor, got "
                         f"shape {starts.shape} and dtype {starts.dtype}")
    if starts.size and starts[0] != 0:
        raise ArgumentError(f"embedding_bag: offsets[0] must be 0 (the first bag starts at "
                            f"the first index), got {starts[0]}")
    if (xp.diff(starts) < 0).any() or starts.size and starts[-1] > indices.size:
        raise ArgumentError(f"embedding_bag: offsets {starts.tolist()} must not decrease nor "
                            f"pass the input's length {indices.size}")
    if include_last_offset:
        if starts.size == 0 or starts[-1] != indices.size:
            raise ArgumentError(
                f"embedding_bag: with include_last_offset the last offset must be the input's "
                f"length {indices.size}, got offsets {starts.tolist()} (PyTorch leaves the "
                f"rest out of the sums but counts it in the means; chainrule refuses)")
        starts = starts[:-1]
    bag = xp.searchsorted(starts, xp.arange(indices.size), side="right") - 1
    return indices, bag, len(starts)


def _promoted(input, offsets):
    """The indices in the integer dtype they share with ``offsets`` where the two differ
    (PyTorch promotes both: int16 indices with int64 offsets are int64)."""
    if offsets is None:
        return input
    array = input._data if isinstance(input, Tensor) else xp.asarray(input)
    starts = offsets._data if isinstance(offsets, Tensor) else xp.asarray(offsets)
    if array.dtype.kind in "iu" and starts.dtype.kind in "iu" and array.dtype != starts.dtype:
        return array.astype(xp.result_type(array.dtype, starts.dtype))
    return input


def _max_winners(values, bag, count):
    """(count, D) positions into ``values`` (L, D) of each bag's maximum, as PyTorch picks it
    (a bag's first row, then each strictly larger one), and which bags are non-empty."""
    sizes = xp.bincount(bag, minlength=count)
    nonempty = sizes > 0
    winners = xp.zeros((count, values.shape[1]), dtype=xp.int64)
    if not len(bag):
        return winners, nonempty
    starts = xp.searchsorted(bag, xp.arange(count))[nonempty]
    # A NaN never compares larger, so it wins only as a bag's first row: elsewhere it is -inf.
    clean = xp.where(xp.isnan(values), -xp.inf, values)
    best = xp.maximum.reduceat(clean, starts, axis=0)
    segment = (xp.cumsum(nonempty) - 1)[bag]
    hit = clean == best[segment]
    where_hit = xp.where(hit, xp.arange(len(bag))[:, None], len(bag))
    first = xp.minimum.reduceat(where_hit, starts, axis=0)
    winners[nonempty] = xp.where(xp.isnan(values[starts]), starts[:, None], first)
    return winners, nonempty


def _check(weight, mode, per_sample_weights, indices, scale_grad_by_freq, sparse):
    if mode not in MODES:
        raise ArgumentError(f"embedding_bag: mode must be one of sum, mean or max, got {mode!r}")
    if sparse or scale_grad_by_freq:
        # PyTorch's CPU embedding_bag scales a row's gradient by counts that do not match its
        # own frequency (a row read once can get half), so chainrule does not copy it.
        raise NotImplementedError(f"embedding_bag: {'sparse' if sparse else 'scale_grad_by_freq'}"
                                  f"=True is not supported")
    if weight.ndim != 2 or weight.dtype.kind != "f":
        raise ShapeError(f"embedding_bag: weight must be a 2-D floating-point tensor "
                         f"(num_embeddings, embedding_dim), got shape {tuple(weight.shape)} "
                         f"and dtype {weight.dtype}")
    if per_sample_weights is None:
        return
    if mode != "sum":
        raise NotImplementedError(f"embedding_bag: per_sample_weights is only supported for "
                                  f"mode='sum' (as in PyTorch), got mode={mode!r}")
    if tuple(per_sample_weights.shape) != indices.shape:
        raise ShapeError(f"embedding_bag: per_sample_weights of shape "
                         f"{tuple(per_sample_weights.shape)} must have the input's shape "
                         f"{indices.shape}")
    if per_sample_weights.dtype != weight.dtype:
        raise DtypeError(f"embedding_bag: per_sample_weights is {per_sample_weights.dtype} but "
                         f"weight is {weight.dtype}; they must match (as in PyTorch)")


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False, per_sample_weights=None,
                  include_last_offset=False, padding_idx=None):
    """The ``mode`` ("sum", "mean" or "max") of each bag of rows of ``weight``: a bag is a
    row of 2-D ``input``, or for 1-D ``input`` the indices from one ``offsets`` entry to the
    next (``include_last_offset``: the last offset ends the last bag). An empty bag gives
    zeros. ``per_sample_weights`` (input's shape, mode "sum") scales each row first;
    ``padding_idx`` rows are left out (of the mean's count too); ``max_norm`` renormalises
    the rows read, in place, as ``embedding``. The gradient of "max" goes to each winning row
    (the first at a tie).

    >>> weight = cr.tensor([[1., 2.], [3., 4.], [5., 6.]])
    >>> F = cr.nn.functional
    >>> F.embedding_bag(cr.tensor([0, 2, 1]), weight, cr.tensor([0, 2]), mode="sum")
    tensor([[6., 8.],
            [3., 4.]], dtype=float32)
    >>> F.embedding_bag(cr.tensor([[0, 1], [2, 2]]), weight, mode="max")
    tensor([[3., 4.],
            [5., 6.]], dtype=float32)
    """
    weight = weight if isinstance(weight, Tensor) else Tensor._wrap(weight)
    indices = _indices(_promoted(input, offsets))
    _check(weight, mode, per_sample_weights, indices, scale_grad_by_freq, sparse)
    flat, bag, count = _bags(indices, offsets, include_last_offset)
    rows = weight.shape[0]
    if flat.size and (flat.min() < 0 or flat.max() >= rows):
        raise IndexError(f"embedding_bag: index out of range (indices from {flat.min()} to "
                         f"{flat.max()}, weight has {rows} rows)")
    padding_idx = _padding_index(padding_idx, rows, "embedding_bag")
    if max_norm is not None:
        renorm_(weight, flat, max_norm, norm_type)
    keep = xp.ones(flat.shape, dtype=bool) if padding_idx is None else flat != padding_idx
    flat, bag = flat[keep], bag[keep]
    if mode == "max" and flat.size:
        winners, nonempty = _max_winners(weight._data[flat], bag, count)
        best = getitem(weight, index=(flat[winners], xp.arange(weight.shape[1])))
        return where(nonempty[:, None], best, xp.zeros((), dtype=weight.dtype))
    # (mode "max" with every bag empty reaches here too: the sum's zeros, in the graph.)
    picked = getitem(weight, index=flat)
    if per_sample_weights is not None:
        scale = getitem(per_sample_weights.reshape(-1), index=xp.flatnonzero(keep))
        picked = picked * scale.reshape((-1, 1))
    zeros = Tensor._wrap(xp.zeros((count, weight.shape[1]), dtype=weight.dtype))
    total = index_add(zeros, 0, bag, picked)
    if mode == "sum":
        return total
    sizes = xp.maximum(xp.bincount(bag, minlength=count), 1)
    return total / sizes[:, None].astype(weight.dtype)


class EmbeddingBag(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim`` whose call pools each
    bag of rows: ``bag(input, offsets=None, per_sample_weights=None)`` returns one vector per
    bag, their "sum", "mean" (the default) or "max" (see ``nn.functional.embedding_bag``).

    Initialised as PyTorch's: N(0, 1), with the ``padding_idx`` row zero. ``_weight`` gives
    the table; ``sparse`` and ``scale_grad_by_freq`` are refused.

    >>> bag = cr.nn.EmbeddingBag(10, 3, mode="sum")
    >>> bag(cr.tensor([1, 2, 4, 5, 4]), cr.tensor([0, 2])).shape
    cr.Size([2, 3])
    """

    def __init__(self, num_embeddings, embedding_dim, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, mode="mean", sparse=False, _weight=None,
                 include_last_offset=False, padding_idx=None, device=None, dtype=None):
        from .embedding import Embedding
        check_device(device, "EmbeddingBag")
        check_table("EmbeddingBag", num_embeddings, embedding_dim, _weight)
        _padding_index(padding_idx, num_embeddings, "EmbeddingBag")
        # The table as Embedding makes it: initialised as PyTorch's, the padding row zero.
        table = Embedding(num_embeddings, embedding_dim, padding_idx, _weight=_weight,
                          dtype=dtype)
        if mode not in MODES:
            raise ArgumentError(f"EmbeddingBag: mode must be one of sum, mean or max, got "
                                f"{mode!r}")
        self.num_embeddings, self.embedding_dim = table.num_embeddings, table.embedding_dim
        self.padding_idx, self.weight = table.padding_idx, table.weight
        self.max_norm, self.norm_type = max_norm, norm_type
        self.scale_grad_by_freq, self.mode, self.sparse = scale_grad_by_freq, mode, sparse
        self.include_last_offset = include_last_offset

    def reset_parameters(self):
        """Draw the table afresh from N(0, 1), the padding row zero, as PyTorch.

        >>> bag = cr.nn.EmbeddingBag(4, 2, padding_idx=1)
        >>> bag.reset_parameters()
        >>> bag.weight[1].tolist()
        [0.0, 0.0]
        """
        initializers.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight._data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, mode="mean", sparse=False,
                        include_last_offset=False, padding_idx=None):
        """An EmbeddingBag whose table is ``embeddings`` (2-D), frozen unless
        ``freeze=False``.

        >>> bag = cr.nn.EmbeddingBag.from_pretrained(cr.tensor([[1., 2.], [3., 4.]]))
        >>> bag(cr.tensor([[0, 1]]))
        tensor([[2., 3.]], dtype=float32)
        """
        if len(embeddings.shape) != 2:
            raise ShapeError(f"EmbeddingBag.from_pretrained: embeddings must be 2-D, got "
                             f"shape {tuple(embeddings.shape)}")
        rows, dim = embeddings.shape
        bag = cls(rows, dim, max_norm, norm_type, scale_grad_by_freq, mode, sparse,
                  _weight=embeddings, include_last_offset=include_last_offset,
                  padding_idx=padding_idx)
        bag.weight.requires_grad = not freeze
        return bag

    def forward(self, input, offsets=None, per_sample_weights=None):
        return embedding_bag(input, self.weight, offsets, self.max_norm, self.norm_type,
                             self.scale_grad_by_freq, self.mode, self.sparse,
                             per_sample_weights, self.include_last_offset, self.padding_idx)

    def extra_repr(self):
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        text += f", mode={self.mode!r}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        return text


__all__ = ["EmbeddingBag", "embedding_bag"]
