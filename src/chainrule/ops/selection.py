"""Which element of a lane a selection returns where equal elements make the choice free:
the one PyTorch's CPU kernels return, so that the index, and the gradient that follows it,
are PyTorch's. Arrays in, index arrays out; no gradient of their own (the callers read the
values at these indices with take_along_axis)."""
import functools

from ..backend import xp


def _tied(ordered):
    """Per lane of the sorted ``ordered`` (last axis): whether two elements compare equal
    (NaNs count as equal to each other)."""
    same = ordered[..., 1:] == ordered[..., :-1]
    if ordered.dtype.kind == "f":
        same |= xp.isnan(ordered[..., 1:]) & xp.isnan(ordered[..., :-1])
    return same.any(axis=-1)


def kth_smallest(values, k):
    """Per lane (last axis) of ``values``: the index of the ``k``-th smallest (from 0), NaN
    the largest, as torch.kthvalue picks it. Without ties it is the one sorted there; with
    them, PyTorch's quickselect is followed."""
    order = xp.argsort(values, axis=-1, kind="stable")
    picked = order[..., k].copy()
    tied = _tied(xp.take_along_axis(values, order, axis=-1))
    for lane in map(tuple, xp.argwhere(tied)):
        picked[lane] = _quickselect(values[lane].tolist(), k)
    return picked


def _after(a, b):
    return (a != a and b == b) or a > b  # NaN after every number


def _quickselect(lane, k):
    """The median-of-three quickselect of PyTorch's kthvalue (SortingUtils.h), on a list:
    the original index of the element that ends at position k."""
    index = list(range(len(lane)))

    def swap(i, j):
        lane[i], lane[j] = lane[j], lane[i]
        index[i], index[j] = index[j], index[i]
    low, high = 0, len(lane) - 1
    while high > low:
        if high == low + 1:
            if _after(lane[low], lane[high]):
                swap(low, high)
            break
        swap(low + (high - low) // 2, low + 1)
        if _after(lane[low + 1], lane[high]):
            swap(low + 1, high)
        if _after(lane[low], lane[high]):
            swap(low, high)
        if _after(lane[low + 1], lane[low]):
            swap(low + 1, low)
        i, j, pivot = low + 1, high, lane[low]
        while True:
            i += 1
            while _after(pivot, lane[i]):
                i += 1
            j -= 1
            while _after(lane[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(low, j)
        if j <= k:
            low = i
        if j >= k:
            high = j - 1
    return index[k]


def lower_median_ignoring_nan(values):
    """Per lane (last axis): the index of the lower median of the elements that are not NaN,
    as torch.nanmedian picks it (equal elements in their order); in a lane all NaN, the
    index that std::nth_element leaves first when nothing compares less."""
    order = xp.argsort(values, axis=-1, kind="stable")  # NaNs last
    count = (~xp.isnan(values)).sum(axis=-1, keepdims=True)
    picked = xp.take_along_axis(order, xp.maximum(count - 1, 0) // 2, axis=-1)[..., 0]
    return xp.where(count[..., 0] == 0, _first_of_unordered(values.shape[-1]), picked)


@functools.cache
def _first_of_unordered(n):
    """libstdc++'s introselect for position 0 of n indices none of which compares less than
    another: the index it leaves first."""
    index = list(range(n))
    first, last = 0, n
    while last - first > 3:
        middle = first + (last - first) // 2
        index[first], index[middle] = index[middle], index[first]  # the median of three
        low, high = first + 1, last
        while True:  # the partition around it: every comparison false
            high -= 1
            if not low < high:
                break
            index[low], index[high] = index[high], index[low]
            low += 1
        last = low  # the cut is past position 0, so the left part is kept
    return index[0] if n else 0
