"""Data for training: IDX files, datasets (digits, MNIST, Fashion-MNIST) and a DataLoader.

Pure NumPy: nothing here depends on the autograd engine.
"""

from chainrule.data.datasets import (
    FASHION_MNIST_MD5S,
    FASHION_MNIST_MIRRORS,
    MNIST_MD5S,
    MNIST_MIRRORS,
    Dataset,
    default_data_dir,
    digits,
    fashion_mnist,
    mnist,
)
from chainrule.data.download import download
from chainrule.data.idx import load_idx_pair, read_idx, write_idx
from chainrule.data.loader import DataLoader

__all__ = [
    "DataLoader",
    "Dataset",
    "FASHION_MNIST_MD5S",
    "FASHION_MNIST_MIRRORS",
    "MNIST_MD5S",
    "MNIST_MIRRORS",
    "default_data_dir",
    "digits",
    "download",
    "fashion_mnist",
    "load_idx_pair",
    "mnist",
    "read_idx",
    "write_idx",
]
