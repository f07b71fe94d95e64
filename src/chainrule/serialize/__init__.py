"""A safe, pickle-free file format for models and checkpoints, written atomically.

A file, in the spirit of safetensors:

    8 bytes   magic: b"CHAINRL" and the format version, 1
    8 bytes   length of the header in bytes, unsigned little-endian
    header    UTF-8 JSON {"meta": any JSON,
                         "arrays": {name: {"dtype", "shape", "offset", "nbytes"}},
                         "checksum": "sha256"},
              padded with spaces so that the data section starts at a multiple of 8 bytes
    data      the arrays' bytes in C order, little-endian, back to back; offsets count from here
    32 bytes  the SHA-256 digest of every byte before it (preamble, header and data)

Loading trusts nothing in the file and never unpickles: every field of the header is checked
(dtype against an allow-list, sizes against the file's size, the arrays tiling the data section
exactly) before a single array is allocated, and the digest is compared once the arrays are
read, so a flipped bit anywhere is an error naming the file, never a silently different model.
Files written before checksums existed have no "checksum" field and no digest; they still load.
Saving writes a temporary file in the target's
directory, syncs it and renames it over the target, so a crash leaves either the old file or
the new one, never a mixture.

``save``/``load`` store a flat dict of arrays plus plain JSON metadata; ``save_tree``/``load_tree``
store a nested checkpoint such as {"model": state_dict, "optimizer": state_dict, "epoch": 3}.
``save_safetensors``/``load_safetensors`` exchange state dicts with other frameworks through the
safetensors package (an optional extra: pip install -e ".[interop]").
"""

from .format import (ALLOWED_DTYPES, CHECKSUM_ALGORITHM, CHECKSUM_BYTES, FORMAT_VERSION, MAGIC,
                     MAX_HEADER_BYTES, MAX_NDIM, MAX_TREE_DEPTH, PREAMBLE_BYTES)
from .read import load
from .safetensors_files import load_safetensors, save_safetensors
from .tree import load_tree, save_tree
from .write import save

__all__ = ["save", "load", "save_tree", "load_tree", "save_safetensors", "load_safetensors", "FORMAT_VERSION", "MAGIC", "PREAMBLE_BYTES",
           "MAX_HEADER_BYTES", "MAX_NDIM", "MAX_TREE_DEPTH", "ALLOWED_DTYPES", "CHECKSUM_ALGORITHM",
           "CHECKSUM_BYTES"]
