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


def std_sort_order(keys):
    """The order in which libstdc++'s std::sort (introsort, then insertion sort) leaves the
    indices of ``keys`` (a list) compared by key alone, as PyTorch's CPU mode sorts its
    (value, index) pairs: equal keys end in an order of the algorithm's making once there are
    more than 16 of them (up to 16, insertion sort keeps them in order)."""
    items = list(zip(keys, range(len(keys))))

    def less(a, b):
        return a[0] < b[0]

    def adjust_heap(first, hole, length, value):
        top, child = hole, hole
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if less(items[first + child], items[first + child - 1]):
                child -= 1
            items[first + hole] = items[first + child]
            hole = child
        if length % 2 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            items[first + hole] = items[first + child - 1]
            hole = child - 1
        parent = (hole - 1) // 2
        while hole > top and less(items[first + parent], value):
            items[first + hole] = items[first + parent]
            hole = parent
            parent = (hole - 1) // 2
        items[first + hole] = value

    def heap_sort(first, last):
        length = last - first
        for parent in range((length - 2) // 2, -1, -1):
            adjust_heap(first, parent, length, items[first + parent])
        while last - first > 1:
            last -= 1
            value = items[last]
            items[last] = items[first]
            adjust_heap(first, 0, last - first, value)

    def median_to_first(result, a, b, c):
        if less(items[a], items[b]):
            pick = b if less(items[b], items[c]) else c if less(items[a], items[c]) else a
        else:
            pick = a if less(items[a], items[c]) else c if less(items[b], items[c]) else b
        items[result], items[pick] = items[pick], items[result]

    def partition(first, last, pivot):
        while True:
            while less(items[first], items[pivot]):
                first += 1
            last -= 1
            while less(items[pivot], items[last]):
                last -= 1
            if not first < last:
                return first
            items[first], items[last] = items[last], items[first]
            first += 1

    def introsort(first, last, depth):
        while last - first > 16:
            if depth == 0:
                heap_sort(first, last)
                return
            depth -= 1
            median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            cut = partition(first + 1, last, first)
            introsort(cut, last, depth)
            last = cut

    def linear_insert(i):
        value = items[i]
        while less(value, items[i - 1]):
            items[i] = items[i - 1]
            i -= 1
        items[i] = value

    def insertion_sort(first, last):
        for i in range(first + 1, last):
            if less(items[i], items[first]):
                value = items[i]
                items[first + 1:i + 1] = items[first:i]
                items[first] = value
            else:
                linear_insert(i)

    n = len(items)
    if n > 1:
        introsort(0, n, 2 * (n.bit_length() - 1))
        insertion_sort(0, min(n, 16))
        for i in range(16, n):
            linear_insert(i)
    return [index for _, index in items]
