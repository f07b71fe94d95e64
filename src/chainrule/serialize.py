"""A safe, pickle-free file format for models and checkpoints, written atomically.

A file, in the spirit of safetensors:

    8 bytes   magic: b"CHAINRL" and the format version, 1
    8 bytes   length of the header in bytes, unsigned little-endian
    header    UTF-8 JSON {"meta": any JSON,
                         "arrays": {name: {"dtype", "shape", "offset", "nbytes"}}},
              padded with spaces so that the data section starts at a multiple of 8 bytes
    data      the arrays' bytes in C order, little-endian, back to back; offsets count from here

Loading trusts nothing in the file and never unpickles: every field of the header is checked
(dtype against an allow-list, sizes against the file's size, the arrays tiling the data section
exactly) before a single array is allocated. Saving writes a temporary file in the target's
directory, syncs it and renames it over the target, so a crash leaves either the old file or
the new one, never a mixture.

``save``/``load`` store a flat dict of arrays plus plain JSON metadata; ``save_tree``/``load_tree``
store a nested checkpoint such as {"model": state_dict, "optimizer": state_dict, "epoch": 3}.
"""

import json
import math
import os
import re
import stat
import tempfile
from collections import namedtuple

# Files hold host memory whatever the compute backend is, so this module speaks NumPy directly.
import numpy as np

from chainrule.errors import CheckpointError

FORMAT_VERSION = 1
MAGIC = b"CHAINRL" + bytes([FORMAT_VERSION])
PREAMBLE_BYTES = 16  # the magic and the header length
MAX_HEADER_BYTES = 100 * 2**20
MAX_NDIM = 64  # NumPy's own limit
MAX_TREE_DEPTH = 200
ALLOWED_DTYPES = (
    "float16", "float32", "float64",
    "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64",
    "bool",
)

_ENTRY_FIELDS = {"dtype", "shape", "offset", "nbytes"}
_Entry = namedtuple("_Entry", "name dtype shape offset nbytes")
_LARGEST_DIM = 2**63  # a dimension must fit NumPy's signed 64-bit sizes
_TAGS = {"$array", "$scalar", "$int", "$float"}
_HEX_INT = re.compile(r"-?0x[0-9a-f]+")
_NON_FINITE = ("nan", "inf", "-inf")
# Beyond 2**53 other JSON readers round integers, and Python refuses to print ints of more
# than 4300 digits, so large ints are stored as hex strings, which both handle exactly.
_LARGEST_PLAIN_INT = 2**53


# ---------------------------------------------------------------- flat files: arrays + meta


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
    _atomic_write(path, [_preamble_and_header(path, entries, meta), *(a for _, a in entries)])


def load(path):
    """Read a file written by ``save``; return ``(arrays, meta)``.

    Arrays come back C-contiguous, writable and in native byte order, in the order they were
    saved. Raises CheckpointError naming the file and the offending field for any file that is
    unreadable, truncated, padded, inconsistent or not a chainrule file at all.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            return _read(path, file)
    except OSError as err:
        raise CheckpointError(f"could not read checkpoint {path}: {err}") from err


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
        text = json.dumps({"meta": meta, "arrays": table}, allow_nan=False)
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


# ---------------------------------------------------------------- reading and validation


def _read(path, file):
    size = os.fstat(file.fileno()).st_size
    if size < PREAMBLE_BYTES:
        raise CheckpointError(
            f"{path}: file is {size} bytes, shorter than the {PREAMBLE_BYTES}-byte preamble "
            f"(magic and header length) of a chainrule checkpoint"
        )
    preamble = file.read(PREAMBLE_BYTES)
    _check_magic(path, preamble[:8])
    header_bytes = int.from_bytes(preamble[8:PREAMBLE_BYTES], "little")
    if header_bytes > MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{path}: header length {header_bytes} exceeds the limit of {MAX_HEADER_BYTES} bytes"
        )
    if header_bytes > size - PREAMBLE_BYTES:
        raise CheckpointError(
            f"{path}: header length {header_bytes} exceeds the {size - PREAMBLE_BYTES} bytes "
            f"that follow the preamble (file truncated?)"
        )
    raw_header = file.read(header_bytes)
    if len(raw_header) != header_bytes:
        raise CheckpointError(f"{path}: file ended inside the header (truncated while being read?)")
    meta, entries = _parse_header(path, raw_header)
    data_start = PREAMBLE_BYTES + header_bytes
    _check_layout(path, entries, size - data_start)
    arrays = {}
    for entry in sorted(entries, key=lambda e: e.offset):
        array = np.empty(entry.shape, dtype=np.dtype(entry.dtype).newbyteorder("<"))
        file.seek(data_start + entry.offset)
        _read_into(path, file, array, entry.name)
        arrays[entry.name] = array.astype(array.dtype.newbyteorder("="), copy=False)
    return {entry.name: arrays[entry.name] for entry in entries}, meta


def _check_magic(path, magic):
    if magic == MAGIC:
        return
    if magic[:7] == MAGIC[:7]:
        raise CheckpointError(
            f"{path}: format version {magic[7]} is not supported (this chainrule reads "
            f"version {FORMAT_VERSION})"
        )
    raise CheckpointError(
        f"{path} is not a chainrule checkpoint: it starts with {magic!r}, expected {MAGIC!r}"
    )


def _parse_header(path, raw_header):
    try:
        header = json.loads(
            raw_header.decode("utf-8"),
            object_pairs_hook=_refuse_duplicate_keys,
            parse_constant=_refuse_constant,
        )
    except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
        raise CheckpointError(f"{path}: header is not valid UTF-8 JSON: {err}") from err
    if not isinstance(header, dict) or set(header) != {"meta", "arrays"}:
        found = sorted(header) if isinstance(header, dict) else type(header).__name__
        raise CheckpointError(
            f"{path}: header must be a JSON object with exactly the keys 'arrays' and 'meta', "
            f"found {found}"
        )
    table = header["arrays"]
    if not isinstance(table, dict):
        raise CheckpointError(
            f"{path}: header field 'arrays' must be an object, found {type(table).__name__}"
        )
    return header["meta"], [_checked_entry(path, name, spec) for name, spec in table.items()]


def _refuse_duplicate_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name):
    raise ValueError(f"{name} is not JSON")


def _checked_entry(path, name, spec):
    where = f"{path}: array {name!r}"
    if not isinstance(spec, dict) or set(spec) != _ENTRY_FIELDS:
        raise CheckpointError(
            f"{where} must be an object with exactly the fields dtype, shape, offset and nbytes, "
            f"found {_clip(spec)}"
        )
    dtype, shape, offset, nbytes = spec["dtype"], spec["shape"], spec["offset"], spec["nbytes"]
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise CheckpointError(
            f"{where}: field 'dtype' is {_clip(dtype)}, not one of the allowed dtypes "
            f"({', '.join(ALLOWED_DTYPES)})"
        )
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(map(_is_size, shape)):
        raise CheckpointError(
            f"{where}: field 'shape' is {_clip(shape)}; expected a list of at most {MAX_NDIM} "
            f"integers in [0, 2**63)"
        )
    for field, value in (("offset", offset), ("nbytes", nbytes)):
        if not _is_size(value):
            raise CheckpointError(
                f"{where}: field '{field}' is {_clip(value)}; expected an integer in [0, 2**63)"
            )
    itemsize = np.dtype(dtype).itemsize
    needed = math.prod(shape) * itemsize
    if nbytes != needed:
        raise CheckpointError(
            f"{where}: field 'nbytes' is {nbytes} but shape {shape} of {dtype} needs {needed}"
        )
    # NumPy refuses even an empty array whose nonzero dimensions multiply past its index range.
    if math.prod(d for d in shape if d) * itemsize >= _LARGEST_DIM:
        raise CheckpointError(f"{where}: shape {shape} is too large for NumPy to index")
    return _Entry(name, dtype, tuple(shape), offset, nbytes)


def _is_size(value):
    return type(value) is int and 0 <= value < _LARGEST_DIM  # type(), as bools are ints too


def _check_layout(path, entries, data_bytes):
    for entry in entries:
        if entry.offset + entry.nbytes > data_bytes:
            raise CheckpointError(
                f"{path}: array {entry.name!r} spans bytes [{entry.offset}, "
                f"{entry.offset + entry.nbytes}) of the data section, which holds only "
                f"{data_bytes} bytes (offset out of range, or file truncated)"
            )
    covered = 0
    previous = None
    for entry in sorted((e for e in entries if e.nbytes), key=lambda e: e.offset):
        if entry.offset < covered:
            raise CheckpointError(
                f"{path}: arrays {previous.name!r} at bytes [{previous.offset}, {covered}) and "
                f"{entry.name!r} at [{entry.offset}, {entry.offset + entry.nbytes}) overlap"
            )
        if entry.offset > covered:
            raise CheckpointError(
                f"{path}: bytes [{covered}, {entry.offset}) of the data section belong to no array"
            )
        covered = entry.offset + entry.nbytes
        previous = entry
    if covered != data_bytes:
        raise CheckpointError(
            f"{path}: {data_bytes - covered} bytes of trailing data after the last array "
            f"(the arrays cover {covered} of the data section's {data_bytes} bytes)"
        )


def _read_into(path, file, array, name):
    view = memoryview(array.reshape(-1).view(np.uint8))
    while view:
        count = file.readinto(view)
        if not count:
            raise CheckpointError(
                f"{path}: file ended while reading array {name!r} (truncated while being read?)"
            )
        view = view[count:]


def _clip(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------- atomic writes


def _atomic_write(path, chunks):
    directory = os.path.dirname(os.path.abspath(path))
    _check_directory(path, directory)
    outcome = "the previous file is unchanged" if os.path.exists(path) else "no file was written"
    mode = _file_mode(path)
    try:
        descriptor, temp_path = tempfile.mkstemp(
            prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory
        )
    except OSError as err:
        raise CheckpointError(f"could not save checkpoint to {path}: {err}; {outcome}") from err
    try:
        _write_and_sync(descriptor, chunks, mode)
        os.replace(temp_path, path)
    except OSError as err:
        _remove_quietly(temp_path)
        raise CheckpointError(f"could not save checkpoint to {path}: {err}; {outcome}") from err
    except BaseException:
        _remove_quietly(temp_path)  # an interrupted save must not leave half a file behind
        raise
    _sync_directory(path, directory)


def _check_directory(path, directory):
    def refuse(reason):
        raise CheckpointError(f"could not save checkpoint to {path}: {reason}; no file was written")

    if not os.path.exists(directory):
        refuse(f"directory {directory} does not exist")
    if not os.path.isdir(directory):
        refuse(f"{directory} is not a directory")
    if os.path.isdir(path):
        refuse(f"{path} is a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        refuse(f"directory {directory} is not writable")


def _file_mode(path):
    # mkstemp creates files readable only by their owner; a checkpoint should get the
    # permissions the previous file had, or those any newly created file would get.
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask():
    # Python can read the umask only by changing it, which races with other threads; Linux
    # reports it instead. Elsewhere keep the new file private, as mkstemp made it.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o077


def _write_and_sync(descriptor, chunks, mode):
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(descriptor, mode)
        for chunk in chunks:
            _write_all(descriptor, chunk)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_all(descriptor, chunk):
    if isinstance(chunk, np.ndarray):
        if chunk.size == 0:
            return
        chunk = chunk.reshape(-1).view(np.uint8)
    view = memoryview(chunk)
    while view:
        view = view[os.write(descriptor, view):]  # os.write may write less than asked


def _remove_quietly(temp_path):
    try:
        os.remove(temp_path)
    except FileNotFoundError:
        pass


def _sync_directory(path, directory):
    # The rename is durable only once the directory entry is on disk. Without O_DIRECTORY
    # (Windows) a directory cannot be opened to be synced, and NTFS needs no such step.
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    except OSError as err:
        raise CheckpointError(
            f"saved {path}, but could not sync its directory {directory}: {err}; the new file "
            f"is in place but might not survive a power failure"
        ) from err


# ---------------------------------------------------------------- nested checkpoints


def save_tree(path, tree):
    """Write a nested checkpoint, e.g. {"model": state_dict, "optimizer": ..., "epoch": 3}.

    A tree is made of dicts with str keys, lists, tuples, NumPy arrays, NumPy scalars and the
    JSON scalars int (of any size), float (nan and infinities included), str, bool and None.
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
            f"dicts with str keys, lists, tuples, numpy arrays and scalars, int, float, str, "
            f"bool and None"
        )
    if id(value) in open_containers:
        raise CheckpointError(f"cannot save tree to {path}: {_where(keys)} contains itself")
    if len(keys) >= MAX_TREE_DEPTH:
        raise CheckpointError(f"cannot save tree to {path}: nested deeper than {MAX_TREE_DEPTH}")
    open_containers.add(id(value))
    if isinstance(value, dict):
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CheckpointError(
                    f"cannot save tree to {path}: key {key!r} in {_where(keys)} is a "
                    f"{type(key).__name__}; only str keys can be saved (use str(key), or a list)"
                )
            # A leading '$' marks the format's tags, so a key's own leading '$' is doubled.
            escaped = "$" + key if key.startswith("$") else key
            encoded[escaped] = _encode(path, item, keys + (key,), arrays, open_containers)
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
