"""Text datasets: d2l's *The Time Machine* (shipped with the package), Tiny Shakespeare as
nanoGPT's ``shakespeare_char`` prepares it, and makemore's names. Each reads ``data_dir`` (by
default ``default_data_dir(name)``), fetches a missing file with ``download=True`` and checks
every file it reads against its known MD5 checksum.
"""
import collections
import hashlib
import random
import re
from pathlib import Path

import numpy as np

from chainrule.data.dataset import TensorDataset
from chainrule.data.datasets import _download_from_mirrors, default_data_dir
from chainrule.data.text import CharVocab, SeqDataLoader, Vocab, tokenize
from chainrule.errors import FileFormatError
from chainrule.tensor import from_numpy

__all__ = ["load_data_time_machine", "names", "shakespeare_char", "timemachine"]

# name: (file name, md5, base URLs). The URLs are each data set's canonical public copy:
# d2l's data hub, char-rnn's file (which nanoGPT fetches) and makemore at a fixed commit.
TEXT_FILES = {
    "timemachine": ("timemachine.txt", "7353d136ab308ecd0d4f1c5bf0e23122",
                    ("https://d2l-data.s3-accelerate.amazonaws.com/",)),
    "tinyshakespeare": ("input.txt", "6fb458f1232090904fb40fe944165e91",
                        ("https://raw.githubusercontent.com/karpathy/char-rnn/master/data/"
                         "tinyshakespeare/",)),
    "makemore": ("names.txt", "401b3c4cac9e28a586ed15e81256680d",
                 ("https://raw.githubusercontent.com/karpathy/makemore/"
                  "988aa59e4d8fefa526d06f3b453ad116258398d4/",)),
}
SHIPPED_TIMEMACHINE = Path(__file__).with_name("files") / "timemachine.txt"

ShakespeareChar = collections.namedtuple("ShakespeareChar", ["train", "val", "vocab"])
ShakespeareChar.__doc__ = """nanoGPT's shakespeare_char: int64 token tensors and a CharVocab."""
Names = collections.namedtuple("Names", ["train", "val", "test", "vocab", "words"])
Names.__doc__ = """makemore's names: (X, Y) TensorDatasets, a CharVocab and the words."""


def timemachine(token="char", max_tokens=-1, data_dir=None, download=False, base_url=None):
    """*The Time Machine* as d2l's ``load_corpus_time_machine``: (corpus, vocab), the corpus an
    int64 tensor of token indices.

    Each line is lowercased with every run of non-letters made one space and the ends stripped;
    ``token`` is 'char' (d2l's default) or 'word'; a positive ``max_tokens`` keeps only the
    first tokens of the corpus (the vocab still counts them all). The book ships with chainrule,
    so nothing needs downloading; ``data_dir`` reads another copy, which must be the same file.

    >>> corpus, vocab = data.timemachine()
    >>> len(corpus), len(vocab), vocab.to_tokens(corpus[:10])
    (170580, 28, ['t', 'h', 'e', ' ', 't', 'i', 'm', 'e', ' ', 'm'])
    """
    if data_dir is None and not download:
        path = _checked(SHIPPED_TIMEMACHINE, "timemachine")
    else:
        path = _text_file("timemachine", data_dir, download, base_url)
    with open(path, encoding="utf-8") as file:
        lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in file]
    tokens = tokenize(lines, token)
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return from_numpy(np.array(corpus, dtype=np.int64)), vocab


def load_data_time_machine(batch_size, num_steps, use_random_iter=False, max_tokens=10000,
                           generator=None, data_dir=None, download=False):
    """d2l's ``load_data_time_machine``: (a SeqDataLoader over the first ``max_tokens``
    characters of *The Time Machine*, its vocab).

    >>> loader, vocab = data.load_data_time_machine(32, 35)
    >>> X, Y = next(iter(loader))
    >>> tuple(X.shape), X.dtype == cr.int64, len(vocab)
    ((32, 35), True, 28)
    """
    corpus, vocab = timemachine("char", max_tokens, data_dir, download)
    loader = SeqDataLoader(corpus, batch_size, num_steps, use_random_iter, generator, vocab)
    return loader, vocab


def shakespeare_char(data_dir=None, download=False, base_url=None):
    """Tiny Shakespeare as nanoGPT's ``shakespeare_char/prepare.py`` makes it: (train, val,
    vocab).

    The characters sorted make a CharVocab (65 of them); the text's first 90% encoded is
    ``train`` and the rest ``val``, both int64 tensors. Reads input.txt from ``data_dir``
    (default ``default_data_dir("tinyshakespeare")``); ``download=True`` fetches it.

    >>> train, val, vocab = data.shakespeare_char(data_dir="../shared/datasets/tinyshakespeare")
    >>> len(vocab), len(train), len(val), vocab.decode(train[:14])
    (65, 1003854, 111540, 'First Citizen:')
    """
    path = _text_file("tinyshakespeare", data_dir, download, base_url)
    text = path.read_text(encoding="utf-8")
    vocab = CharVocab(sorted(set(text)))
    ids = vocab._encode_array(text)
    split = int(len(text) * 0.9)
    return ShakespeareChar(from_numpy(ids[:split].copy()), from_numpy(ids[split:].copy()), vocab)


def names(block_size=3, seed=42, data_dir=None, download=False, base_url=None):
    """makemore's names as its MLP language model trains on them: (train, val, test, vocab,
    words), a named tuple.

    Each word, followed by the boundary token '.', gives one example per character: X the
    ``block_size`` characters before it (padded with '.') and Y the character. The words are
    shuffled by Python's ``random.Random(seed)`` and split 80/10/10 into train, val and test,
    exactly as makemore's ``build_dataset`` after ``random.seed(42); random.shuffle(words)``.
    The vocab is '.' (index 0) then the letters sorted. The splits are TensorDatasets of int64
    (X, Y); ``words`` are in the file's order.

    >>> names = data.names(data_dir="../shared/datasets/makemore")
    >>> len(names.words), len(names.vocab), [len(split) for split in names[:3]]
    (32033, 27, [182625, 22655, 22866])
    >>> X, Y = names.train[:2]
    >>> X.tolist(), Y.tolist()
    ([[0, 0, 0], [0, 0, 25]], [25, 21])
    """
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size <= 0:
        raise ValueError(f"names: block_size must be a positive integer; got {block_size!r}")
    path = _text_file("makemore", data_dir, download, base_url)
    words = path.read_text(encoding="utf-8").splitlines()
    if any("." in word for word in words):
        raise FileFormatError(f"{path}: a name contains '.', the boundary token")
    vocab = CharVocab(["."] + sorted(set("".join(words))))
    shuffled = list(words)
    random.Random(seed).shuffle(shuffled)
    n1, n2 = int(0.8 * len(shuffled)), int(0.9 * len(shuffled))
    splits = [_contexts(part, vocab, block_size)
              for part in (shuffled[:n1], shuffled[n1:n2], shuffled[n2:])]
    return Names(*splits, vocab, words)


def _contexts(words, vocab, block_size):
    """makemore's build_dataset without its Python loop: lay the words out as
    '...' + word + '.' one after another and read every window of block_size before a target."""
    stream = vocab._encode_array("".join("." * block_size + word + "." for word in words))
    examples = np.array([len(word) + 1 for word in words], dtype=np.int64)
    first_target = np.cumsum(examples + block_size) - examples
    targets = (np.repeat(first_target - np.cumsum(examples) + examples, examples)
               + np.arange(examples.sum()))
    x = stream[targets[:, None] - block_size + np.arange(block_size)]
    return TensorDataset(from_numpy(x), from_numpy(stream[targets]))


def _text_file(name, data_dir, download, base_url):
    filename, md5, mirrors = TEXT_FILES[name]
    directory = Path(data_dir) if data_dir is not None else default_data_dir(name)
    path = directory / filename
    if path.is_file():
        return _checked(path, name)
    if download:
        base_urls = (base_url,) if base_url is not None else mirrors
        return _download_from_mirrors(filename, directory, base_urls, {filename: md5})
    raise FileNotFoundError(
        f"{name}: {directory} has no {filename}. Pass download=True (--download on the "
        f"command line) to fetch it from {base_url or mirrors[0]}, or point data_dir "
        f"(--data-dir) at a folder that holds it.")


def _checked(path, name):
    filename, md5, _ = TEXT_FILES[name]
    actual = hashlib.md5(Path(path).read_bytes()).hexdigest()
    if actual != md5:
        raise FileFormatError(
            f"{path}: checksum mismatch: expected md5 {md5} for {name}'s {filename}, the file "
            f"has {actual}. It is damaged or another text: delete it and load again with "
            f"download=True (--download).")
    return Path(path)
