"""Nested checkpoints: arrays stored under their paths, everything else tagged in the metadata."""
import math
import os
import re

# Files hold host memory whatever the compute backend is, so this module speaks NumPy directly.
import numpy as np

from chainrule.errors import CheckpointError
from chainrule.tensor import Tensor

from .format import MAX_TREE_DEPTH
from .read import _clip, load
from .write import _save_checked_meta

_TAGS = {"$array", "$scalar", "$int", "$float", "$dict"}
_HEX_INT = re.compile(r"-?0x[0-9a-f]+")
_NON_FINITE = ("nan", "inf", "-inf")
# Beyond 2**53 other JSON readers round integers, and Python refuses to print ints of more
# than 4300 digits, so large ints are stored as hex strings, which both handle exactly.
_LARGEST_PLAIN_INT = 2**53


def save_tree(path, tree):
    """Write a nested checkpoint, e.g. {"model": state_dict, "optimizer": ..., "epoch": 3}.

    A tree is made of dicts with str or int keys, lists, tuples, NumPy arrays, NumPy scalars
    and the JSON scalars int (of any size), float (nan and infinities included), str, bool and None;
    a tensor (such as a ``state_dict()`` value) is stored as its array and loads as one.
    Each array is stored under its path of keys and indices joined by '/', as in
    "model/0.weight" or "optimizer/state/0/exp_avg"; within a key, '~' is written '~0' and '/'
    '~1' (as in JSON Pointer), so every path names one array. Everything else goes to the
    header's metadata. ``load_tree`` returns the same structure, except that tuples come back
    as lists, and an array that appears twice in the tree comes back as two separate arrays.
    """
    path = os.fspath(path)
    arrays = {}
    meta = _encode(path, tree, (), arrays, set())
    _save_checked_meta(path, arrays, meta)  # the encoding is plain JSON by construction


def load_tree(path):
    """Read a checkpoint written by ``save_tree`` and return its tree (tuples become lists)."""
    path = os.fspath(path)
    arrays, meta = load(path)
    used = set()
    try:
        tree = _decode(path, meta, arrays, used, 0)
    except RecursionError as err:
        raise CheckpointError(f"{path}: metadata is nested too deeply to rebuild") from err
    unused = [name for name in arrays if name not in used]
    if unused:
        raise CheckpointError(
            f"{path}: arrays {_clip(unused)} are not referenced by the tree in the metadata; "
            f"was the file written by save() rather than save_tree()?"
        )
    return tree


def _encode(path, value, keys, arrays, open_containers):
    if isinstance(value, Tensor):  # state_dict() values: stored as their arrays
        value = value.detach().numpy()
    if isinstance(value, np.ndarray):
        return {"$array": _store(arrays, keys, value)}
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):  # before int and float: np.float64 is a float
        return {"$scalar": _store(arrays, keys, np.asarray(value))}
    if isinstance(value, int):
        return int(value) if abs(value) <= _LARGEST_PLAIN_INT else {"$int": hex(value)}
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else {"$float": repr(float(value))}
    if not isinstance(value, (dict, list, tuple)):
        raise CheckpointError(
            f"cannot save {type(value).__name__} at {_where(keys)} to {path}: a tree holds "
            f"dicts with str or int keys, lists, tuples, tensors, numpy arrays and scalars, int, "
            f"float, str, bool and None"
        )
    if id(value) in open_containers:
        raise CheckpointError(f"cannot save tree to {path}: {_where(keys)} contains itself")
    if len(keys) >= MAX_TREE_DEPTH:
        raise CheckpointError(f"cannot save tree to {path}: nested deeper than {MAX_TREE_DEPTH}")
    open_containers.add(id(value))
    if isinstance(value, dict) and all(type(key) is str for key in value):
        encoded = {}
        for key, item in value.items():
            # A leading '$' marks the format's tags, so a key's own leading '$' is doubled.
            escaped = "$" + key if key.startswith("$") else key
            encoded[escaped] = _encode(path, item, keys + (key,), arrays, open_containers)
    elif isinstance(value, dict):  # int keys too (an optimizer's state, by parameter index)
        for key in value:
            if not (isinstance(key, str) or type(key) is int and abs(key) <= _LARGEST_PLAIN_INT):
                raise CheckpointError(
                    f"cannot save tree to {path}: key {key!r} in {_where(keys)} is a "
                    f"{type(key).__name__}; only str and int keys can be saved")
        encoded = {"$dict": [[key, _encode(path, item, keys + (str(key),), arrays,
                                           open_containers)] for key, item in value.items()]}
    else:
        encoded = [
            _encode(path, item, keys + (str(index),), arrays, open_containers)
            for index, item in enumerate(value)
        ]
    open_containers.discard(id(value))
    return encoded


def _store(arrays, keys, array):
    name = "/".join(key.replace("~", "~0").replace("/", "~1") for key in keys)
    arrays[name] = array
    return name


def _where(keys):
    return "the root" if not keys else repr("/".join(keys))


def _decode(path, value, arrays, used, depth):
    if depth > MAX_TREE_DEPTH:
        raise CheckpointError(f"{path}: metadata is nested deeper than {MAX_TREE_DEPTH}")
    if isinstance(value, list):
        return [_decode(path, item, arrays, used, depth + 1) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and next(iter(value)) == "$dict":
        return _decode_pairs(path, value["$dict"], arrays, used, depth)
    if len(value) == 1 and next(iter(value)) in _TAGS:
        (tag, content), = value.items()
        return _decode_tag(path, tag, content, arrays, used)
    decoded = {}
    for key, item in value.items():
        if key.startswith("$"):
            if not key.startswith("$$"):
                raise CheckpointError(f"{path}: metadata holds an unknown tag {_clip(key)}")
            key = key[1:]
        decoded[key] = _decode(path, item, arrays, used, depth + 1)
    return decoded


def _decode_pairs(path, pairs, arrays, used, depth):
    """A dict with int keys, stored as a list of [key, value] pairs."""
    if not isinstance(pairs, list):
        raise CheckpointError(f"{path}: metadata holds an invalid $dict tag: {_clip(pairs)}")
    decoded = {}
    for pair in pairs:
        if not (isinstance(pair, list) and len(pair) == 2
                and (isinstance(pair[0], str) or type(pair[0]) is int) and pair[0] not in decoded):
            raise CheckpointError(f"{path}: metadata holds an invalid $dict tag: {_clip(pairs)}")
        decoded[pair[0]] = _decode(path, pair[1], arrays, used, depth + 1)
    return decoded


def _decode_tag(path, tag, content, arrays, used):
    if tag == "$int" and isinstance(content, str) and _HEX_INT.fullmatch(content):
        return int(content, 16)
    if tag == "$float" and content in _NON_FINITE:
        return float(content)
    if tag in ("$array", "$scalar") and isinstance(content, str) and content in arrays:
        if content in used:
            raise CheckpointError(f"{path}: array {_clip(content)} is referenced twice")
        used.add(content)
        array = arrays[content]
        if tag == "$array":
            return array
        if array.ndim == 0:
            return array[()]
    raise CheckpointError(f"{path}: metadata holds an invalid {tag} tag: {_clip(content)}")
