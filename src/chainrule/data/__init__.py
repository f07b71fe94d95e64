"""Data for training, as ``torch.utils.data`` (also importable as ``chainrule.utils.data``):
datasets, samplers, collation and the DataLoader, whose batches are Tensors; plus IDX files and
the digits, MNIST and Fashion-MNIST datasets; text: d2l's tokenize, Vocab and sequence
iterators, and The Time Machine, Tiny Shakespeare and makemore's names.
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
from chainrule.data.text import (CharVocab, SeqDataLoader, Vocab, seq_data_iter_random,
                                 seq_data_iter_sequential, tokenize)
from chainrule.data.text_datasets import (load_data_time_machine, names, shakespeare_char,
                                          timemachine)
from chainrule.data.workers import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "CharVocab",
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
    "SeqDataLoader",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "Vocab",
    "WeightedRandomSampler",
    "WorkerInfo",
    "default_collate",
    "default_convert",
    "default_data_dir",
    "digits",
    "download",
    "fashion_mnist",
    "get_worker_info",
    "load_data_time_machine",
    "load_idx_pair",
    "mnist",
    "names",
    "random_split",
    "read_idx",
    "seq_data_iter_random",
    "seq_data_iter_sequential",
    "shakespeare_char",
    "timemachine",
    "tokenize",
    "write_idx",
]
