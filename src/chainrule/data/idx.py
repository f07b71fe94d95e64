"""Reading and writing IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
one big-endian uint32 per dimension, then the values in C order, big-endian. Files are often
gzip-compressed; ``read_idx`` recognises gzip by its magic bytes, not by the file name.

Every check happens before anything large is allocated, so a corrupt or hostile header costs
nothing: a plain file is measured against its size on disk, and a gzip file is decompressed in
bounded chunks after its header has been compared with the most that its compressed size could
possibly expand to.
"""

import gzip as gzip_format
import math
import os
import tempfile
import zlib

import numpy as np

from chainrule.errors import FileFormatError, IDXError, LabelError

TYPE_CODES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_DIMENSIONS = 4

_GZIP_MAGIC = b"\x1f\x8b"
# Deflate encodes at best 258 bytes per 2 bits, so no gzip stream can expand more than 1032-fold.
# A header declaring more data than that is rejected before a single byte is decompressed.
_MAX_DEFLATE_RATIO = 1032
_CHUNK_BYTES = 1 << 20
# Trailing data after a gzip payload is counted only this far, so a gzip bomb glued behind a
# valid file still fails in bounded time.
_TRAILING_COUNT_LIMIT = 16 << 20


def read_idx(path):
    """Read a plain or gzip-compressed IDX file into a NumPy array in native byte order.

    Raises IDXError if the file is not a well-formed IDX file: bad magic number, unknown type
    code, 0 or more than 4 dimensions, or data that does not match the header's sizes (truncated
    or with trailing bytes), or a corrupt gzip stream.
    """
    name = os.fspath(path)
    with open(name, "rb") as file:
        is_gzip = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        if is_gzip:
            compressed_size = os.fstat(file.fileno()).st_size
            return _read_gzip(name, file, compressed_size)
        return _read_plain(name, file)


def _read_plain(name, file):
    file_size = os.fstat(file.fileno()).st_size
    dtype, dims = _read_header(name, file, "the file")
    header_size = 4 + 4 * len(dims)
    declared = math.prod(dims) * dtype.itemsize
    present = file_size - header_size
    if present != declared:
        raise IDXError(f"{name}: {_declared(dims, dtype)} but the file holds {present}")
    values = np.fromfile(file, dtype=dtype, count=math.prod(dims))
    if values.size != math.prod(dims):  # the file shrank while being read
        raise IDXError(f"{name}: {_declared(dims, dtype)} but only {values.nbytes} could be read")
    return _to_native(values.reshape(dims))


def _read_gzip(name, file, compressed_size):
    try:
        with gzip_format.GzipFile(fileobj=file, mode="rb") as stream:
            dtype, dims = _read_header(name, stream, "the decompressed file")
            declared = math.prod(dims) * dtype.itemsize
            most_possible = _MAX_DEFLATE_RATIO * compressed_size
            if declared > most_possible:
                raise IDXError(
                    f"{name}: {_declared(dims, dtype)} but a gzip file of {compressed_size} "
                    f"bytes cannot decompress to more than {most_possible}"
                )
            data = _read_at_most(stream, declared)
            if len(data) < declared:
                raise IDXError(
                    f"{name}: {_declared(dims, dtype)} but the decompressed file holds {len(data)}"
                )
            trailing = _count_remaining(stream, _TRAILING_COUNT_LIMIT)
            if trailing:
                holds = declared + trailing
                at_least = "at least " if trailing == _TRAILING_COUNT_LIMIT else ""
                raise IDXError(
                    f"{name}: {_declared(dims, dtype)} but the decompressed file holds "
                    f"{at_least}{holds} ({at_least}{trailing} trailing bytes)"
                )
    except (gzip_format.BadGzipFile, EOFError, zlib.error) as error:
        raise IDXError(f"{name}: corrupt or truncated gzip stream ({error})") from error
    values = np.frombuffer(data, dtype=dtype)
    return _to_native(values.reshape(dims))


def _read_header(name, stream, where):
    magic = _read_at_most(stream, 4)
    if len(magic) < 4:
        raise IDXError(
            f"{name}: {where} is {len(magic)} bytes long, too short for the 4-byte IDX magic number"
        )
    if magic[0] != 0 or magic[1] != 0:
        raise IDXError(
            f"{name}: bad magic number 0x{magic.hex()}: an IDX file starts with two zero bytes, "
            f"found 0x{magic[:2].hex()}"
        )
    type_code, ndim = magic[2], magic[3]
    if type_code not in TYPE_CODES:
        known = ", ".join(f"0x{code:02X} {dtype.name}" for code, dtype in TYPE_CODES.items())
        raise IDXError(f"{name}: unknown IDX type code 0x{type_code:02X} (known: {known})")
    if not 1 <= ndim <= MAX_DIMENSIONS:
        raise IDXError(
            f"{name}: header declares {ndim} dimensions; supported are 1 to {MAX_DIMENSIONS}"
        )
    sizes = _read_at_most(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise IDXError(
            f"{name}: header declares {ndim} dimensions, which need {4 * ndim} bytes of sizes, "
            f"but only {len(sizes)} follow the magic number"
        )
    dims = tuple(int(size) for size in np.frombuffer(sizes, dtype=">u4"))
    return TYPE_CODES[type_code], dims


def _read_at_most(stream, limit):
    """Read up to `limit` bytes in bounded chunks, so memory follows the data, not the request."""
    data = bytearray()
    while len(data) < limit:
        chunk = stream.read(min(_CHUNK_BYTES, limit - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def _count_remaining(stream, limit):
    count = 0
    while count < limit:
        chunk = stream.read(min(_CHUNK_BYTES, limit - count))
        if not chunk:
            break
        count += len(chunk)
    return count


def _declared(dims, dtype):
    shape = "x".join(str(size) for size in dims)
    count = math.prod(dims)
    nbytes = count * dtype.itemsize
    if dtype.itemsize == 1:
        return f"header declares {shape} = {nbytes} bytes of {dtype.name} data"
    return f"header declares {shape} = {count} {dtype.name} values = {nbytes} bytes of data"


def _to_native(array):
    return array.astype(array.dtype.newbyteorder("="), copy=False)


def write_idx(path, array, gzip=False):
    """Write `array` as an IDX file (gzip-compressed if `gzip`), atomically.

    The data goes to a temporary file in the same directory, which then replaces `path`, so a
    crash never leaves a half-written file under the final name. Supported dtypes are uint8,
    int8, int16, int32, float32 and float64, with 1 to 4 dimensions.
    """
    array = np.asarray(array)
    type_code = _type_code(array.dtype)
    if not 1 <= array.ndim <= MAX_DIMENSIONS:
        raise ValueError(
            f"IDX files hold 1 to {MAX_DIMENSIONS} dimensions; got an array of shape {array.shape}"
        )
    if max(array.shape) >= 2**32:
        raise ValueError(f"IDX dimension sizes must fit in 32 bits; got shape {array.shape}")
    header = bytes([0, 0, type_code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=TYPE_CODES[type_code]).tobytes()

    name = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(name))
    descriptor, temp_name = tempfile.mkstemp(
        dir=directory, prefix=f".{os.path.basename(name)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as file:
            if gzip:
                # mtime=0 keeps the output byte-identical for identical arrays.
                with gzip_format.GzipFile(fileobj=file, mode="wb", mtime=0) as stream:
                    stream.write(header)
                    stream.write(payload)
            else:
                file.write(header)
                file.write(payload)
        os.replace(temp_name, name)
    except BaseException:
        os.unlink(temp_name)
        raise


def _type_code(dtype):
    for code, idx_dtype in TYPE_CODES.items():
        if dtype.kind == idx_dtype.kind and dtype.itemsize == idx_dtype.itemsize:
            return code
    supported = ", ".join(idx_dtype.name for idx_dtype in TYPE_CODES.values())
    raise TypeError(f"IDX files cannot hold dtype {dtype}; supported are {supported}")


def load_idx_pair(images_path, labels_path, num_classes=10):
    """Read an images file and its labels file, checking that they belong together.

    Returns (images, labels) as read. Raises FileFormatError if the files hold different numbers
    of examples or the labels file is not one-dimensional integers, and LabelError if a label
    lies outside 0..num_classes-1.
    """
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    images_name, labels_name = os.fspath(images_path), os.fspath(labels_path)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise FileFormatError(
            f"{labels_name}: labels must be a 1-D integer array; found shape {labels.shape} "
            f"of {labels.dtype}"
        )
    if len(images) != len(labels):
        raise FileFormatError(
            f"{images_name} holds {len(images)} images but {labels_name} holds "
            f"{len(labels)} labels"
        )
    out_of_range = (labels < 0) | (labels >= num_classes)
    if out_of_range.any():
        index = int(np.argmax(out_of_range))
        raise LabelError(
            f"{labels_name}: {int(out_of_range.sum())} of {len(labels)} labels lie outside "
            f"0..{num_classes - 1} (first at index {index}: {labels[index]}); "
            f"images in {images_name}"
        )
    return images, labels
