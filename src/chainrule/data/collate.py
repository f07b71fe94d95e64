"""How a DataLoader turns a list of examples into a batch, as PyTorch's ``default_collate``:
tensors and arrays are stacked, numbers become tensors, and tuples, lists, dicts and named
tuples are collated field by field."""
import collections.abc
import copy

import numpy as np

from chainrule.tensor import Tensor, as_tensor, tensor

_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
          "found {}")


def _is_text_array(array):
    return array.dtype.kind in "USO" or array.dtype.hasobject


def default_collate(batch):
    """Stack a list of examples into a batch: Tensors and arrays are stacked along a new first
    dimension, Python floats become float64 and ints int64 tensors, NumPy scalars keep their
    dtype (mixed dtypes promote by PyTorch's rules, not NumPy's), strings stay as they come
    (the batch's list, or a tuple for a field of examples that are sequences, as PyTorch's
    ``zip``), and tuples (as lists), lists, dicts and named tuples are collated element by
    element.

    >>> data.default_collate([(1, 2.0), (3, 4.0)])
    [tensor([1, 3], dtype=int64), tensor([2., 4.], dtype=float64)]
    >>> data.default_collate([{"x": np.zeros(2)}, {"x": np.ones(2)}])["x"].shape
    cr.Size([2, 2])
    """
    if not len(batch):
        raise IndexError("default_collate: the batch is empty; expected a list of examples")
    elem = batch[0]
    if isinstance(elem, Tensor):
        _check_equal_shapes([tuple(t.shape) for t in batch])
        from chainrule import stack
        return stack(list(batch), 0)
    if isinstance(elem, np.ndarray):
        if _is_text_array(elem):
            raise TypeError(_ERROR.format(elem.dtype.str))
        _check_equal_shapes([np.shape(a) for a in batch])
        arrays = [np.asarray(a) for a in batch]
        return as_tensor(np.stack(arrays, dtype=_torch_dtype(arrays), casting="unsafe"))
    if isinstance(elem, (np.str_, np.bytes_)):  # text, kept as a list as PyTorch's
        return batch
    if isinstance(elem, np.generic):
        if elem.dtype.hasobject:
            raise TypeError(_ERROR.format(type(elem)))
        return tensor(list(batch))  # PyTorch's dtype for a list of numbers
    if isinstance(elem, float):
        return tensor(batch, dtype=np.float64)
    if isinstance(elem, int):
        # PyTorch infers from every value: a float after an int makes the batch float32; an
        # int beyond int64 is refused by tensor(), as by PyTorch's.
        return tensor(batch)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _same_mapping(elem, {key: default_collate([d[key] for d in batch])
                                    for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(samples) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if len({len(e) for e in batch}) > 1:
            raise RuntimeError(f"default_collate: each element in list of batch should be of "
                               f"equal size; got sizes {[len(e) for e in batch]}")
        # Each column is the tuple zip makes: a column of strings stays that tuple, as PyTorch's.
        columns = [default_collate(samples) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # a list, as PyTorch's
        try:
            clone = copy.copy(elem)
            clone[:] = columns
            return clone
        except TypeError:
            return columns
    raise TypeError(_ERROR.format(type(elem)))


def _same_mapping(original, fields):
    """``fields`` in a mapping of ``original``'s type (a copy updated in place where it is
    mutable, as PyTorch's collate does), or a plain dict where that type cannot be rebuilt."""
    if isinstance(original, collections.abc.MutableMapping):
        clone = copy.copy(original)
        clone.update(fields)
        return clone
    try:
        return type(original)(fields)
    except TypeError:
        return fields


def _torch_dtype(arrays):
    """The stacked arrays' dtype by PyTorch's promotion, not NumPy's: int64 with float32 makes
    float32 (NumPy: float64), as ``torch.stack`` does."""
    from chainrule.dtypes import promote_types
    result = None
    for array in arrays:
        if array.dtype.kind not in "biuf":
            return None  # NumPy's own (complex, datetime): tensor() names what it cannot hold
        result = array.dtype if result is None else promote_types(result, array.dtype)
    return result


def _check_equal_shapes(shapes):
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, "
                               f"but got {list(shapes[0])} at entry 0 and {list(shape)} at "
                               f"entry {i}")


def default_convert(data):
    """What a DataLoader with ``batch_size=None`` does to each example: NumPy arrays and scalars
    become Tensors, containers are converted element by element, anything else is kept.

    >>> data.default_convert((np.arange(2), "a", 3))
    [tensor([0, 1], dtype=int64), 'a', 3]
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if _is_text_array(data) else as_tensor(data)
    if isinstance(data, np.generic):
        return data if isinstance(data, (np.str_, np.bytes_)) else as_tensor(np.asarray(data))
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, collections.abc.Mapping):
        return _same_mapping(data, {key: default_convert(value) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence):
        try:
            clone = copy.copy(data)
            clone[:] = [default_convert(d) for d in data]
            return clone
        except TypeError:
            return [default_convert(d) for d in data]
    return data


__all__ = ["default_collate", "default_convert"]
