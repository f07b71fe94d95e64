"""Data for training, as ``torch.utils.data`` (also importable as ``chainrule.utils.data``):
datasets, samplers, collation and the DataLoader, whose batches are Tensors; plus IDX files and
the digits, MNIST and Fashion-MNIST datasets.
"""

from chainrule.data.collate import default_collate, default_convert
from chainrule.data.dataset import (ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset,
                                    TensorDataset, random_split)
from chainrule.data.datasets import (
    FASHION_MNIST_MD5S,
    FASHION_MNIST_MIRRORS,
    MNIST_MD5S,
    MNIST_MIRRORS,
    LabeledDataset,
    default_data_dir,
    digits,
    fashion_mnist,
    mnist,
)
from chainrule.data.download import download
from chainrule.data.idx import load_idx_pair, read_idx, write_idx
from chainrule.data.loader import DataLoader
from chainrule.data.sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                                    SubsetRandomSampler, WeightedRandomSampler)
from chainrule.data.workers import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "FASHION_MNIST_MD5S",
    "FASHION_MNIST_MIRRORS",
    "IterableDataset",
    "LabeledDataset",
    "MNIST_MD5S",
    "MNIST_MIRRORS",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "default_data_dir",
    "digits",
    "download",
    "fashion_mnist",
    "get_worker_info",
    "load_idx_pair",
    "mnist",
    "random_split",
    "read_idx",
    "write_idx",
]
