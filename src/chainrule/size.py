"""Size: a tensor's shape, as ``torch.Size``: a tuple of ints that prints as ``cr.Size([2, 3])``
and compares equal to the plain tuple."""
import numbers


class Size(tuple):
    """The shape of a tensor: a tuple of ints (``x.shape == (2, 3)`` holds) that prints as
    PyTorch's (``cr.Size([2, 3])``). Formatted into a message (``f"shape {x.shape}"``) it reads
    as the plain tuple, so every error says "shape (2, 3)". Slices and sums of Sizes are Sizes.

    >>> x = cr.zeros(2, 3)
    >>> x.shape
    cr.Size([2, 3])
    >>> print(x.shape)
    cr.Size([2, 3])
    >>> x.shape == (2, 3), x.shape[1:], x.shape.numel()
    (True, cr.Size([3]), 6)
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, numbers.Integral):
                raise TypeError(f"Size: expected ints, got {type(n).__name__} {n!r} in "
                                f"{sizes!r}")
        return super().__new__(cls, (int(n) for n in sizes))

    @classmethod
    def of_array(cls, array):
        """The Size of an ndarray, whose shape NumPy already holds as Python ints: skips the
        checks, since ``x.shape`` is read on every layer call."""
        return tuple.__new__(cls, array.shape)

    def __repr__(self):
        return f"cr.Size({list(self)!r})"

    __str__ = __repr__

    def __format__(self, spec):
        return format(tuple.__repr__(self), spec)

    def __getitem__(self, index):
        found = tuple.__getitem__(self, index)
        return tuple.__new__(Size, found) if type(index) is slice else found

    def __add__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def numel(self):
        """The number of elements a tensor of this shape holds (1 for ``Size([])``).

        >>> cr.Size([2, 3, 4]).numel()
        24
        """
        count = 1
        for n in self:
            count *= n
        return count


__all__ = ["Size"]
