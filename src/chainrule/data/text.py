"""Text as numbers, as Dive into Deep Learning and nanoGPT prepare it: d2l's ``tokenize`` and
``Vocab``, nanoGPT's character table (``CharVocab``), and d2l's two ways of cutting a corpus
into (input, target) minibatches for a language model, random sampling and sequential
partitioning, each drawing its random offsets from a ``generator`` so that runs repeat.
"""
import collections
import numbers

import numpy as np

from chainrule.tensor import Tensor, from_numpy

__all__ = ["CharVocab", "SeqDataLoader", "Vocab", "seq_data_iter_random",
           "seq_data_iter_sequential", "tokenize"]


def tokenize(lines, token="word"):
    """Split each line into tokens: words (split on whitespace) or characters, as d2l's
    ``tokenize``. Returns one list of tokens per line.

    >>> data.tokenize(["the time machine", "by h g wells"])
    [['the', 'time', 'machine'], ['by', 'h', 'g', 'wells']]
    >>> data.tokenize(["a b"], token="char")
    [['a', ' ', 'b']]
    """
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    raise ValueError(f"tokenize: unknown token type {token!r}; use 'word' or 'char'")


class Vocab:
    """d2l's vocabulary: token <-> index, the unknown token ``'<unk>'`` at index 0.

    After ``'<unk>'`` come ``reserved_tokens``, then every token seen at least ``min_freq``
    times, the most frequent first (ties in order of first appearance). ``tokens`` is a list of
    tokens or a list of lines (lists) of tokens; a tuple is one token, as d2l's bigrams. ``vocab[token]`` gives an index (``unk`` for a token it
    does not know), ``vocab[list]`` a list of them; ``to_tokens`` goes back.

    >>> vocab = data.Vocab(data.tokenize(["a b a", "c a b"]), reserved_tokens=["<pad>"])
    >>> vocab.idx_to_token, vocab.token_freqs
    (['<unk>', '<pad>', 'a', 'b', 'c'], [('a', 3), ('b', 2), ('c', 1)])
    >>> vocab["a"], vocab[["c", "zebra"]], vocab.to_tokens([2, 4]), len(vocab)
    (2, [4, 0], ['a', 'c'], 5)
    """

    def __init__(self, tokens=None, min_freq=0, reserved_tokens=None):
        tokens = [] if tokens is None else list(tokens)
        # Lines are lists, as in d2l: a tuple is a token (d2l counts bigrams as pairs).
        if tokens and isinstance(tokens[0], list):
            tokens = [token for line in tokens for token in line]
        # sorted() is stable and a Counter keeps first-appearance order, so equal counts
        # stay in the order the tokens first appeared, as in d2l.
        self._token_freqs = sorted(collections.Counter(tokens).items(),
                                   key=lambda item: item[1], reverse=True)
        self.idx_to_token = ["<unk>"] + list(reserved_tokens or [])
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        """The token at an index, or the tokens at a list (or tensor) of indices.

        >>> data.Vocab(list("abb")).to_tokens(cr.tensor([1, 2, 0]))
        ['b', 'a', '<unk>']
        """
        if isinstance(indices, (Tensor, np.ndarray)):
            indices = indices.tolist()
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self):
        """The index of the unknown token: 0."""
        return 0

    @property
    def token_freqs(self):
        """(token, count) pairs, the most frequent first."""
        return self._token_freqs

    def __repr__(self):
        shown = ", ".join(repr(token) for token in self.idx_to_token[:5])
        more = ", ..." if len(self) > 5 else ""
        return f"Vocab({len(self)} tokens: {shown}{more})"


class CharVocab:
    """A character table as nanoGPT and makemore build one.

    ``chars`` in index order, ``stoi`` and ``itos`` the two directions, ``encode`` a string to a
    list of indices and ``decode`` indices (a list or a tensor) back to a string.

    >>> vocab = data.CharVocab(sorted(set("hello")))
    >>> vocab.chars, vocab.encode("hell"), vocab.decode(cr.tensor([3, 1])), len(vocab)
    (['e', 'h', 'l', 'o'], [1, 0, 2, 2], 'oh', 4)
    """

    def __init__(self, chars):
        self.chars = list(chars)
        if len(set(self.chars)) != len(self.chars) or any(
                not isinstance(ch, str) or len(ch) != 1 for ch in self.chars):
            raise ValueError(f"CharVocab: chars must be distinct single characters; got "
                             f"{self.chars[:10]!r}{'...' if len(self.chars) > 10 else ''}")
        self.stoi = {ch: i for i, ch in enumerate(self.chars)}
        self.itos = dict(enumerate(self.chars))

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        """The indices of the characters of ``text``.

        >>> data.CharVocab("ab").encode("abba")
        [0, 1, 1, 0]
        """
        try:
            return [self.stoi[ch] for ch in text]
        except KeyError as error:
            raise ValueError(f"CharVocab.encode: character {error.args[0]!r} is not among the "
                             f"{len(self)} characters of this vocabulary") from None

    def decode(self, indices):
        """The string that ``indices`` (a list, an array or a tensor) spell.

        >>> data.CharVocab("ab").decode([1, 0, 1])
        'bab'
        """
        if isinstance(indices, (Tensor, np.ndarray)):
            indices = indices.tolist()
        return "".join(self.itos[i] for i in indices)

    def _encode_array(self, text):
        """``encode`` for a long text, as an int64 array, without a Python loop."""
        table = np.array([ord(ch) for ch in self.chars], dtype=np.uint32)
        order = np.argsort(table)
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        found = np.minimum(np.searchsorted(table[order], codes), len(table) - 1)
        unknown = table[order][found] != codes
        if unknown.any():
            self.encode(text[int(np.argmax(unknown))])  # raises, naming the character
        return order[found].astype(np.int64)

    def __repr__(self):
        return f"CharVocab({''.join(self.chars)!r})"


def seq_data_iter_random(corpus, batch_size, num_steps, generator=None):
    """Minibatches (X, Y) of int64 tensors shaped (batch_size, num_steps) by d2l's random
    sampling; Y is X shifted by one token.

    Drops a random number of leading tokens (0 to num_steps - 1), cuts the rest into
    subsequences of num_steps tokens and takes them in a random order. Neighbouring rows are not
    neighbouring text, so a model's hidden state should start afresh for each batch. The
    randomness, from ``generator`` (a ``cr.Generator``, a NumPy Generator, or the library's
    default one), is ``integers(0, num_steps)`` for the offset, then ``permutation(number of
    subsequences)`` for the order.

    >>> g = cr.Generator().manual_seed(0)
    >>> for X, Y in data.seq_data_iter_random(list(range(12)), 2, 3, generator=g):
    ...     print(X.tolist(), Y.tolist())
    [[8, 9, 10], [2, 3, 4]] [[9, 10, 11], [3, 4, 5]]
    """
    corpus = _as_corpus(corpus, batch_size, num_steps, "seq_data_iter_random")
    rng = _resolve(generator)
    corpus = corpus[int(rng.integers(0, num_steps)):]
    num_subseqs = max((len(corpus) - 1) // num_steps, 0)  # an offset may pass a short corpus's end
    initial_indices = np.arange(0, num_subseqs * num_steps, num_steps)[
        rng.permutation(num_subseqs)]
    steps = np.arange(num_steps)
    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        positions = initial_indices[i: i + batch_size, None] + steps
        yield from_numpy(corpus[positions]), from_numpy(corpus[positions + 1])


def seq_data_iter_sequential(corpus, batch_size, num_steps, generator=None):
    """Minibatches (X, Y) of int64 tensors shaped (batch_size, num_steps) by d2l's sequential
    partitioning; Y is X shifted by one token.

    Drops a random number of leading tokens (0 to num_steps), splits the rest into batch_size
    equal rows and walks along them num_steps at a time, so that row i of one batch continues
    row i of the one before (a model may carry its hidden state across batches). The offset is
    ``integers(0, num_steps + 1)`` drawn from ``generator`` (a ``cr.Generator``, a NumPy
    Generator, or the library's default one).

    >>> g = cr.Generator().manual_seed(0)
    >>> for X, Y in data.seq_data_iter_sequential(list(range(12)), 2, 2, generator=g):
    ...     print(X.tolist(), Y.tolist())
    [[2, 3], [6, 7]] [[3, 4], [7, 8]]
    [[4, 5], [8, 9]] [[5, 6], [9, 10]]
    """
    corpus = _as_corpus(corpus, batch_size, num_steps, "seq_data_iter_sequential")
    offset = int(_resolve(generator).integers(0, num_steps + 1))
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    if num_tokens <= 0:
        return
    # Copies, so that a batch never shares memory with the caller's corpus.
    xs = corpus[offset: offset + num_tokens].reshape(batch_size, -1).copy()
    ys = corpus[offset + 1: offset + 1 + num_tokens].reshape(batch_size, -1).copy()
    num_batches = xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield from_numpy(xs[:, i: i + num_steps]), from_numpy(ys[:, i: i + num_steps])


class SeqDataLoader:
    """An iterable over a corpus's (X, Y) minibatches, as d2l's ``SeqDataLoader``.

    Each pass (epoch) draws fresh offsets from ``generator`` and yields the batches of
    ``seq_data_iter_random`` if ``use_random_iter``, else of ``seq_data_iter_sequential``.
    ``corpus`` is a list, array or tensor of token indices; ``vocab``, if given, is kept beside
    it. Refuses a corpus too short to give at least one batch whatever the offset.

    >>> loader = data.SeqDataLoader(cr.arange(40), batch_size=2, num_steps=5,
    ...                             generator=cr.Generator().manual_seed(0))
    >>> [tuple(X.shape) for X, Y in loader]
    [(2, 5), (2, 5), (2, 5)]
    """

    def __init__(self, corpus, batch_size, num_steps, use_random_iter=False, generator=None,
                 vocab=None):
        where = "SeqDataLoader"
        self.corpus = _as_corpus(corpus, batch_size, num_steps, where)
        self.batch_size, self.num_steps = batch_size, num_steps
        self.use_random_iter, self.generator, self.vocab = use_random_iter, generator, vocab
        # The longest offset each iterator may draw is num_steps - 1 (random) or num_steps
        # (sequential), and both need one token past the last input.
        needed = batch_size * num_steps + num_steps + (0 if use_random_iter else 1)
        if len(self.corpus) < needed:
            raise ValueError(f"{where}: a corpus of {len(self.corpus)} tokens is too short for "
                             f"batches of {batch_size} x {num_steps}: it needs at least "
                             f"{needed} tokens")
        _resolve(generator)  # a TypeError now rather than at the first epoch

    def __iter__(self):
        iterate = seq_data_iter_random if self.use_random_iter else seq_data_iter_sequential
        return iterate(self.corpus, self.batch_size, self.num_steps, generator=self.generator)

    def __repr__(self):
        kind = "random" if self.use_random_iter else "sequential"
        return (f"SeqDataLoader({len(self.corpus)} tokens, batch_size={self.batch_size}, "
                f"num_steps={self.num_steps}, {kind})")


def _resolve(generator):
    from chainrule.random import resolve
    return resolve(generator)


def _as_corpus(corpus, batch_size, num_steps, where):
    for name, value in (("batch_size", batch_size), ("num_steps", num_steps)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ValueError(f"{where}: {name} must be a positive integer; got {value!r}")
    array = corpus.numpy() if isinstance(corpus, Tensor) else np.asarray(corpus)
    if array.size == 0:
        array = array.astype(np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{where}: corpus must be a 1-D sequence of token indices; got "
                         f"shape {array.shape} of {array.dtype}")
    return array.astype(np.int64, copy=False)
