"""Datasets as ``torch.utils.data`` has them: map-style (``__len__``/``__getitem__``) and
iterable, ``TensorDataset``, ``ConcatDataset``, ``ChainDataset``, ``Subset``, ``random_split``."""
import bisect
import itertools
import math
import numbers
import warnings

import numpy as np

from chainrule.tensor import Tensor, as_tensor


class Dataset:
    """A map-style dataset: subclass it and define ``__getitem__(index)`` and ``__len__()``.
    Adding two datasets concatenates them.

    >>> class Squares(data.Dataset):
    ...     def __len__(self):
    ...         return 4
    ...     def __getitem__(self, i):
    ...         return i, i * i
    >>> next(iter(data.DataLoader(Squares(), batch_size=4)))
    [tensor([0, 1, 2, 3], dtype=int64), tensor([0, 1, 4, 9], dtype=int64)]
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} is a Dataset subclass without "
                                  f"__getitem__; define __getitem__(self, index)")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclass it and define ``__iter__``. A DataLoader batches
    what it yields, in order (no sampler, no shuffle). Adding two chains them.

    >>> class Count(data.IterableDataset):
    ...     def __iter__(self):
    ...         return iter(range(5))
    >>> [b.tolist() for b in data.DataLoader(Count(), batch_size=2)]
    [[0, 1], [2, 3], [4]]
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} is an IterableDataset subclass "
                                  f"without __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Tensors (or arrays) that share their first dimension; item ``i`` is the tuple of their
    rows ``i``.

    >>> ds = data.TensorDataset(cr.arange(6).reshape(3, 2), cr.tensor([0, 1, 0]))
    >>> len(ds), ds[1]
    (3, (tensor([2, 3], dtype=int64), tensor(1, dtype=int64)))
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else as_tensor(np.asarray(t))
                             for t in tensors)
        if any(t.ndim == 0 for t in self.tensors):
            raise ValueError(f"TensorDataset: every tensor needs a first dimension; got shapes "
                             f"{[tuple(t.shape) for t in self.tensors]}")
        sizes = [t.shape[0] for t in self.tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dimensions "
                             f"{sizes}")

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    """Map-style datasets one after another.

    >>> ds = data.ConcatDataset([[10, 11], [12, 13, 14]])
    >>> len(ds), ds[2], ds[-1]
    (5, 12, 14)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset (use "
                                "ChainDataset)")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not "
                                 f"exceed dataset length {len(self)}")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for length "
                             f"{len(self)}")
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after another.

    >>> class Count(data.IterableDataset):
    ...     def __init__(self, n):
    ...         self.n = n
    ...     def __iter__(self):
    ...         return iter(range(self.n))
    >>> list(data.ChainDataset([Count(2), Count(3)]))
    [0, 1, 0, 1, 2]
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset only supports IterableDataset, got "
                                f"{type(d).__name__}")

    def __iter__(self):
        for d in self.datasets:
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class Subset(Dataset):
    """The items of ``dataset`` at ``indices``, in that order.

    >>> sub = data.Subset([10, 11, 12, 13], [3, 0])
    >>> len(sub), sub[0]
    (2, 13)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` at random into Subsets of the given ``lengths``, or of the given
    fractions of its length (floored, the remainder handed out one by one from the first).

    >>> a, b = data.random_split(range(10), [0.7, 0.3], generator=cr.Generator().manual_seed(0))
    >>> len(a), len(b), sorted(list(a) + list(b)) == list(range(10))
    (7, 3, True)
    """
    from chainrule.random import resolve
    # A tensor of lengths or fractions: its elements as NumPy scalars, so that fractions add
    # and multiply in their own dtype (float32), as PyTorch's 0-d tensors do.
    lengths = [length.numpy()[()] if isinstance(length, Tensor) else length for length in lengths]
    n = len(dataset)
    # As PyTorch: lengths that sum to 1 are fractions, even [1] or [0, 1] (integers).
    if lengths and all(isinstance(x, numbers.Real) for x in lengths) \
            and math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _lengths_from_fractions(lengths, n)
    if sum(lengths) != n:
        raise ValueError(f"random_split: Sum of input lengths does not equal the length of the "
                         f"input dataset! ({sum(lengths)} vs {n}, lengths {lengths})")
    for i, length in enumerate(lengths):
        if isinstance(length, bool) or not isinstance(length, numbers.Integral):
            raise TypeError(f"random_split: lengths must be ints, or fractions that sum to 1; "
                            f"got {length!r} at index {i} of {lengths}")
        if length < 0:
            raise ValueError(f"random_split: length {length} at index {i} is negative")
    order = resolve(generator).permutation(n).tolist()
    ends = list(itertools.accumulate(lengths))
    return [Subset(dataset, order[end - length:end]) for end, length in zip(ends, lengths)]


def _lengths_from_fractions(fractions, n):
    for i, fraction in enumerate(fractions):
        if not 0 <= fraction <= 1:
            raise ValueError(f"random_split: Fraction at index {i} is not between 0 and 1 "
                             f"({fraction})")
    lengths = [int(math.floor(n * fraction)) for fraction in fractions]
    for i in range(n - sum(lengths)):
        lengths[i % len(lengths)] += 1
    for i, length in enumerate(lengths):
        if length == 0:
            warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                          f"result in an empty dataset", stacklevel=3)
    return lengths


__all__ = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset",
           "Subset", "random_split"]
