"""The format's version, magic, limits and allowed dtypes, shared by reading and writing."""
from collections import namedtuple

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

# Files written since checksums were added declare "checksum": CHECKSUM_ALGORITHM in the header
# and end with the digest of every byte before it; files without the field load unverified.
CHECKSUM_ALGORITHM = "sha256"
CHECKSUM_BYTES = 32

_ENTRY_FIELDS = {"dtype", "shape", "offset", "nbytes"}
_Entry = namedtuple("_Entry", "name dtype shape offset nbytes")
_LARGEST_DIM = 2**63  # a dimension must fit NumPy's signed 64-bit sizes
