"""Reading and validation: every field of the header is checked before an array is allocated."""
import hashlib
import json
import math
import os

# Files hold host memory whatever the compute backend is, so this module speaks NumPy directly.
import numpy as np

from chainrule.errors import CheckpointError

from .format import (ALLOWED_DTYPES, CHECKSUM_ALGORITHM, CHECKSUM_BYTES, FORMAT_VERSION, MAGIC,
                     MAX_HEADER_BYTES, MAX_NDIM, PREAMBLE_BYTES, _ENTRY_FIELDS, _LARGEST_DIM,
                     _Entry)


def load(path):
    """Read a file written by ``save``; return ``(arrays, meta)``.

    Arrays come back C-contiguous, writable and in native byte order, in the order they were
    saved. Raises CheckpointError naming the file and the offending field for any file that is
    unreadable, truncated, padded, inconsistent or not a chainrule file at all, and for a file
    whose bytes no longer match the checksum it was written with (files written before
    checksums existed carry none and load unverified).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as file:
            return _read(path, file)
    except OSError as err:
        raise CheckpointError(f"could not read checkpoint {path}: {err}") from err


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
    meta, entries, checked = _parse_header(path, raw_header)
    data_start = PREAMBLE_BYTES + header_bytes
    trailer = CHECKSUM_BYTES if checked else 0
    if size - data_start < trailer:
        raise CheckpointError(
            f"{path}: file ends {data_start + trailer - size} bytes short of its "
            f"{CHECKSUM_BYTES}-byte checksum (truncated?)"
        )
    _check_layout(path, entries, size - data_start - trailer)
    digest = hashlib.new(CHECKSUM_ALGORITHM, preamble + raw_header) if checked else None
    arrays = {}
    # The layout check proved that the arrays tile the data section, so reading them by offset
    # reads every byte once, in order: the digest sees the file as it lies on disk.
    for entry in sorted(entries, key=lambda e: e.offset):
        array = np.empty(entry.shape, dtype=np.dtype(entry.dtype).newbyteorder("<"))
        file.seek(data_start + entry.offset)
        _read_into(path, file, array, entry.name, digest)
        arrays[entry.name] = array
    if checked:
        file.seek(size - CHECKSUM_BYTES)
        _verify(path, file, digest)
    return {entry.name: arrays[entry.name].astype(arrays[entry.name].dtype.newbyteorder("="),
                                                  copy=False) for entry in entries}, meta


def _verify(path, file, digest):
    stored = file.read(CHECKSUM_BYTES)
    if len(stored) != CHECKSUM_BYTES:
        raise CheckpointError(f"{path}: file ended inside its checksum (truncated while being "
                              f"read?)")
    if stored != digest.digest():
        raise CheckpointError(
            f"{path}: checksum mismatch: the {CHECKSUM_ALGORITHM} of its contents is "
            f"{digest.hexdigest()[:16]}..., but the file was written with "
            f"{stored.hex()[:16]}...; its header or arrays changed after it was saved (a damaged "
            f"disk, copy or download), so it is refused rather than loaded as a different model"
        )


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
    if not isinstance(header, dict) or set(header) - {"checksum"} != {"meta", "arrays"}:
        found = sorted(header) if isinstance(header, dict) else type(header).__name__
        raise CheckpointError(
            f"{path}: header must be a JSON object with exactly the keys 'arrays' and 'meta' "
            f"(and 'checksum' in files written with one), found {found}"
        )
    checked = "checksum" in header
    if checked and header["checksum"] != CHECKSUM_ALGORITHM:
        raise CheckpointError(
            f"{path}: header field 'checksum' is {_clip(header['checksum'])}; this chainrule "
            f"verifies {CHECKSUM_ALGORITHM!r} checksums"
        )
    table = header["arrays"]
    if not isinstance(table, dict):
        raise CheckpointError(
            f"{path}: header field 'arrays' must be an object, found {type(table).__name__}"
        )
    entries = [_checked_entry(path, name, spec) for name, spec in table.items()]
    return header["meta"], entries, checked


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


def _read_into(path, file, array, name, digest=None):
    whole = view = memoryview(array.reshape(-1).view(np.uint8))
    while view:
        count = file.readinto(view)
        if not count:
            raise CheckpointError(
                f"{path}: file ended while reading array {name!r} (truncated while being read?)"
            )
        view = view[count:]
    if digest is not None:
        digest.update(whole)


def _clip(value, limit=200):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
