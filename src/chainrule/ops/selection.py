"""Which element of a lane a selection returns where equal elements make the choice free:
the one PyTorch's CPU kernels return, so that the index, and the gradient that follows it,
are PyTorch's. Arrays in, index arrays out; no gradient of their own (the callers read the
values at these indices with take_along_axis)."""
import functools

from ..backend import xp


def tied(ordered):
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
    with_ties = tied(xp.take_along_axis(values, order, axis=-1))
    for lane in map(tuple, xp.argwhere(with_ties)):
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
    algorithms = _Libstdcxx(keys, lambda a, b: a < b)
    algorithms.sort(0, len(keys))
    return algorithms.indices()


def std_top_k(keys, k, largest, sorted):
    """The indices of PyTorch's CPU topk of ``keys`` (a list), NaN the largest: for k * 64 <=
    n, libstdc++'s std::partial_sort of the first k; otherwise std::nth_element at k - 1 and,
    when ``sorted``, std::sort of the k - 1 before it. Among equal keys the algorithms pick."""
    if largest:
        def less(a, b):
            return (a != a and b == b) or a > b
    else:
        def less(a, b):
            return (a == a and b != b) or a < b
    algorithms = _Libstdcxx(keys, less)
    n = len(keys)
    if k * 64 <= n:
        algorithms.partial_sort(0, k, n)
    else:
        algorithms.nth_element(0, k - 1, n)
        if sorted:
            algorithms.sort(0, k - 1)
    return algorithms.indices()[:k]


class _Libstdcxx:
    """libstdc++'s std::sort, std::partial_sort and std::nth_element on (key, index) pairs
    compared by key with ``less``, step for step, so that equal keys end where PyTorch's CPU
    kernels leave them."""

    def __init__(self, keys, less):
        self.items = list(zip(keys, range(len(keys))))
        self.key_less = less

    def indices(self):
        return [index for _, index in self.items]

    def less(self, a, b):
        return self.key_less(a[0], b[0])

    def sort(self, first, last):
        n = last - first
        if n > 1:
            self._introsort(first, last, 2 * (n.bit_length() - 1))
            self._insertion_sort(first, min(last, first + 16))
            for i in range(first + 16, last):
                self._linear_insert(i)

    def partial_sort(self, first, middle, last):
        self._heap_select(first, middle, last)
        self._sort_heap(first, middle)

    def nth_element(self, first, nth, last):
        if first == last or nth == last:
            return
        depth = 2 * ((last - first).bit_length() - 1)
        while last - first > 3:
            if depth == 0:
                self._heap_select(first, nth + 1, last)
                self._swap(first, nth)
                return
            depth -= 1
            cut = self._partition_pivot(first, last)
            if cut <= nth:
                first = cut
            else:
                last = cut
        self._insertion_sort(first, last)

    def _swap(self, i, j):
        items = self.items
        items[i], items[j] = items[j], items[i]

    def _adjust_heap(self, first, hole, length, value):
        items = self.items
        top, child = hole, hole
        while child < (length - 1) // 2:
            child = 2 * (child + 1)
            if self.less(items[first + child], items[first + child - 1]):
                child -= 1
            items[first + hole] = items[first + child]
            hole = child
        if length % 2 == 0 and child == (length - 2) // 2:
            child = 2 * (child + 1)
            items[first + hole] = items[first + child - 1]
            hole = child - 1
        parent = (hole - 1) // 2
        while hole > top and self.less(items[first + parent], value):
            items[first + hole] = items[first + parent]
            hole = parent
            parent = (hole - 1) // 2
        items[first + hole] = value

    def _make_heap(self, first, last):
        length = last - first
        for parent in range((length - 2) // 2, -1, -1):
            self._adjust_heap(first, parent, length, self.items[first + parent])

    def _pop_heap(self, first, last, result):
        items = self.items
        value = items[result]
        items[result] = items[first]
        self._adjust_heap(first, 0, last - first, value)

    def _heap_select(self, first, middle, last):
        self._make_heap(first, middle)
        for i in range(middle, last):
            if self.less(self.items[i], self.items[first]):
                self._pop_heap(first, middle, i)

    def _sort_heap(self, first, last):
        while last - first > 1:
            last -= 1
            self._pop_heap(first, last, last)

    def _partition_pivot(self, first, last):
        self._median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
        return self._partition(first + 1, last, first)

    def _median_to_first(self, result, a, b, c):
        items, less = self.items, self.less
        if less(items[a], items[b]):
            pick = b if less(items[b], items[c]) else c if less(items[a], items[c]) else a
        else:
            pick = a if less(items[a], items[c]) else c if less(items[b], items[c]) else b
        self._swap(result, pick)

    def _partition(self, first, last, pivot):
        items, less = self.items, self.less
        while True:
            while less(items[first], items[pivot]):
                first += 1
            last -= 1
            while less(items[pivot], items[last]):
                last -= 1
            if not first < last:
                return first
            self._swap(first, last)
            first += 1

    def _introsort(self, first, last, depth):
        while last - first > 16:
            if depth == 0:
                self.partial_sort(first, last, last)
                return
            depth -= 1
            cut = self._partition_pivot(first, last)
            self._introsort(cut, last, depth)
            last = cut

    def _linear_insert(self, i):
        items = self.items
        value = items[i]
        while self.less(value, items[i - 1]):
            items[i] = items[i - 1]
            i -= 1
        items[i] = value

    def _insertion_sort(self, first, last):
        items = self.items
        for i in range(first + 1, last):
            if self.less(items[i], items[first]):
                value = items[i]
                items[first + 1:i + 1] = items[first:i]
                items[first] = value
            else:
                self._linear_insert(i)
