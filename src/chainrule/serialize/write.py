"""Flat files: a dict of arrays plus plain JSON metadata, checked and then written."""
import hashlib
import json
import math
import os

# Files hold host memory whatever the compute backend is, so this module speaks NumPy directly.
import numpy as np

from chainrule.errors import CheckpointError

from .atomic import atomic_write
from .format import (ALLOWED_DTYPES, CHECKSUM_ALGORITHM, MAGIC, MAX_HEADER_BYTES, MAX_TREE_DEPTH,
                     PREAMBLE_BYTES)


def save(path, arrays, meta=None):
    """Write named arrays and JSON metadata to ``path``, atomically.

    ``arrays`` maps str names to NumPy arrays of an allowed dtype (see ALLOWED_DTYPES); object,
    string, complex and structured arrays are refused. Arrays of any memory layout and byte
    order are accepted and stored C-ordered and little-endian. ``meta`` is plain JSON: dicts with
    str keys, lists, tuples (read back as lists), str, int, finite float, bool and None.
    Raises CheckpointError if anything cannot be saved; the previous file at ``path`` is then
    left as it was (the message says so, or says that only the final directory sync failed).
    """
    path = os.fspath(path)
    _check_plain_json(path, meta, "meta", 0)
    _save_checked_meta(path, arrays, meta)


def _save_checked_meta(path, arrays, meta):
    entries = _checked_arrays(path, arrays)
    chunks = [_preamble_and_header(path, entries, meta), *(a for _, a in entries)]
    atomic_write(path, [*chunks, _digest(chunks)])


def _digest(chunks):
    """The checksum that ends the file: the digest of every byte before it."""
    digest = hashlib.new(CHECKSUM_ALGORITHM)
    for chunk in chunks:
        if isinstance(chunk, np.ndarray):
            chunk = chunk.reshape(-1).view(np.uint8)  # C-contiguous: _checked_arrays made it so
        digest.update(chunk)
    return digest.digest()


def _checked_arrays(path, arrays):
    if not isinstance(arrays, dict):
        raise CheckpointError(
            f"cannot save to {path}: arrays must be a dict of name -> numpy array, "
            f"not {type(arrays).__name__}"
        )
    entries = []
    for name, array in arrays.items():
        if not isinstance(name, str):
            raise CheckpointError(f"cannot save to {path}: array name {name!r} is not a str")
        if isinstance(array, np.ma.MaskedArray):
            raise CheckpointError(
                f"cannot save array {name!r} to {path}: a masked array would lose its mask; "
                f"save its data and mask as two arrays"
            )
        if not isinstance(array, np.ndarray):
            raise CheckpointError(
                f"cannot save array {name!r} to {path}: expected a numpy array, "
                f"got {type(array).__name__}"
            )
        array = np.asarray(array)  # subclasses such as np.matrix reshape differently
        dtype = array.dtype
        plain = dtype.fields is None and dtype.subdtype is None
        if not plain or dtype.name not in ALLOWED_DTYPES:
            hint = " (object arrays could only be stored with pickle)" if dtype.hasobject else ""
            raise CheckpointError(
                f"cannot save array {name!r} to {path}: dtype {dtype} is not allowed{hint}; "
                f"allowed: {', '.join(ALLOWED_DTYPES)}"
            )
        entries.append((name, array.astype(dtype.newbyteorder("<"), order="C", copy=False)))
    return entries


def _preamble_and_header(path, entries, meta):
    table = {}
    offset = 0
    for name, array in entries:
        table[name] = {
            "dtype": array.dtype.name,
            "shape": list(array.shape),
            "offset": offset,
            "nbytes": array.nbytes,
        }
        offset += array.nbytes
    try:
        text = json.dumps({"meta": meta, "arrays": table, "checksum": CHECKSUM_ALGORITHM},
                          allow_nan=False)
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"cannot save metadata to {path}: {err}") from err
    header = text.encode("ascii")  # json escapes every non-ASCII character, lone surrogates too
    header += b" " * (-(PREAMBLE_BYTES + len(header)) % 8)
    if len(header) > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"cannot save to {path}: the header would be {len(header)} bytes, more than the "
            f"limit of {MAX_HEADER_BYTES}; store large data as arrays, not metadata"
        )
    return MAGIC + len(header).to_bytes(8, "little") + header


def _check_plain_json(path, value, where, depth):
    if depth > MAX_TREE_DEPTH:
        raise CheckpointError(f"cannot save {where} to {path}: nested deeper than {MAX_TREE_DEPTH}")
    if value is None or isinstance(value, (bool, str, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CheckpointError(
                f"cannot save {where} = {value!r} to {path}: JSON cannot hold nan or infinity "
                f"(save_tree encodes them)"
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CheckpointError(
                    f"cannot save {where} to {path}: key {key!r} is a {type(key).__name__}; "
                    f"JSON keys must be str"
                )
            _check_plain_json(path, item, f"{where}[{key!r}]", depth + 1)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _check_plain_json(path, item, f"{where}[{index}]", depth + 1)
    else:
        raise CheckpointError(
            f"cannot save {where} to {path}: {type(value).__name__} is not JSON "
            f"(save_tree stores numpy arrays and scalars)"
        )
