"""Language models in the trainer: the text data sets cut into batches as d2l (sequential
partitioning, the hidden state carried from batch to batch and detached), nanoGPT (random
blocks) and makemore (one name per row) cut them; the loss and next-token accuracy of a batch;
the held-out loss, whose exponential is the perplexity; and the token table a checkpoint keeps
so that ``chainrule sample`` can turn text into indices and back.

Each data set is split in two: *The Time Machine* as d2l trains on it (its first ``max_tokens``
characters, 10,000 by default) with the book's last tenth held out; Tiny Shakespeare as nanoGPT
(90/10); makemore's names as makemore (shuffled with seed 42, the first 80% to train, the next
10% held out).
"""
import math
import random as _random

import numpy as np

from ..autograd import no_grad
from ..errors import CheckpointError
from ..tensor import from_numpy

TEXT_DATASETS = ("timemachine", "shakespeare_char", "names")
LANGUAGE_MODELS = ("rnn", "gru", "lstm", "gpt")
RECURRENT = ("rnn", "gru", "lstm")
# The prompt `chainrule sample` starts from when given none.
DEFAULT_PROMPTS = {"timemachine": "time traveller ", "shakespeare_char": "\n", "names": ""}


class Tokenizer:
    """Characters <-> indices for one data set, as a checkpoint stores it: ``tokens`` in index
    order (d2l's Vocab puts '<unk>' first, a token no text character maps to), and, for names,
    the boundary token '.' that starts and ends each name."""

    def __init__(self, tokens, boundary=None, prompt=""):
        if not isinstance(tokens, (list, tuple)) or not tokens or not all(
                isinstance(t, str) for t in tokens) or len(set(tokens)) != len(tokens):
            raise ValueError("the tokenizer's tokens must be a list of distinct strings")
        self.tokens = list(tokens)
        self.boundary, self.prompt = boundary, prompt
        self.index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self):
        return len(self.tokens)

    def encode(self, text):
        unknown = sorted({ch for ch in text if ch not in self.index})
        if unknown:
            known = "".join(sorted(t for t in self.tokens if len(t) == 1))
            raise ValueError(f"the prompt has {len(unknown)} character(s) the model never saw: "
                             f"{''.join(unknown)!r}; it knows only {known!r}")
        return [self.index[ch] for ch in text]

    def decode(self, indices):
        return "".join(self.tokens[int(i)] for i in indices)

    def state(self):
        return {"tokens": self.tokens, "boundary": self.boundary, "prompt": self.prompt}

    @classmethod
    def from_state(cls, state):
        if not isinstance(state, dict):
            raise ValueError("the tokenizer entry is not a table")
        return cls(state.get("tokens"), state.get("boundary"), state.get("prompt", ""))


class TextData:
    """One text data set ready for a language model: ``train`` (a 1-D int64 array of tokens,
    or makemore's (X, Y) rows of names), ``val`` likewise, the ``tokenizer`` and a ``name``."""

    def __init__(self, name, train, val, tokenizer, rows=False):
        self.name, self.train, self.val, self.tokenizer, self.rows = \
            name, train, val, tokenizer, rows

    def __len__(self):
        return len(self.train[0]) if self.rows else len(self.train)

    @property
    def unit(self):
        return "names" if self.rows else "tokens"


def load_text(dataset, data_dir=None, download=False, max_tokens=0):
    """The TextData of a data set named on the command line (see the module docstring)."""
    from .. import data
    if dataset == "timemachine":
        corpus, vocab = data.timemachine(data_dir=data_dir, download=download)
        corpus = corpus.numpy()
        split = int(0.9 * len(corpus))
        train = corpus[:split][:max_tokens] if max_tokens else corpus[:split]
        return TextData("The Time Machine (characters)", train, corpus[split:],
                        Tokenizer(vocab.idx_to_token, prompt=DEFAULT_PROMPTS[dataset]))
    if dataset == "shakespeare_char":
        train, val, vocab = data.shakespeare_char(data_dir=data_dir, download=download)
        train = train.numpy()
        return TextData("Tiny Shakespeare (characters)",
                        train[:max_tokens] if max_tokens else train, val.numpy(),
                        Tokenizer(vocab.chars, prompt=DEFAULT_PROMPTS[dataset]))
    if dataset == "names":
        names = data.names(data_dir=data_dir, download=download)
        words = list(names.words)
        _random.Random(42).shuffle(words)  # makemore's split, as data.names makes it
        n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
        length = max(len(w) for w in words) + 1
        tokenizer = Tokenizer(names.vocab.chars, boundary=".", prompt=DEFAULT_PROMPTS[dataset])
        return TextData("makemore's names", _name_rows(words[:n1], tokenizer, length),
                        _name_rows(words[n1:n2], tokenizer, length), tokenizer, rows=True)
    raise ValueError(f"not a text data set: {dataset!r}")


def _name_rows(words, tokenizer, length):
    """makemore's CharDataset: X = '.' + name padded with '.', Y = name + '.' padded with -1
    (ignored by the loss)."""
    x = np.zeros((len(words), length), dtype=np.int64)
    y = np.full((len(words), length), -1, dtype=np.int64)
    for i, word in enumerate(words):
        ids = tokenizer.encode(word)
        x[i, 1:len(ids) + 1] = ids
        y[i, :len(ids)] = ids
        y[i, len(ids)] = 0
    return x, y


# -- batches --------------------------------------------------------------------------------------
class _GeneratorState:
    """A loader whose only state is its generator: saved as the bit generator's state."""

    def state_dict(self):
        return {"rng": self.generator.bit_generator.state}

    def check_state_dict(self, state):
        type(self.generator.bit_generator)().state = state["rng"]

    def load_state_dict(self, state):
        self.check_state_dict(state)
        self.generator.bit_generator.state = state["rng"]


class SequentialBatches(_GeneratorState):
    """d2l's sequential partitioning (``data.seq_data_iter_sequential``), fresh offsets each
    epoch from ``generator``. Iterate first, then ``len`` is this epoch's number of batches."""
    carries_state = True

    def __init__(self, corpus, batch_size, num_steps, generator):
        from ..data import SeqDataLoader
        SeqDataLoader(corpus, batch_size, num_steps)  # refuses a corpus too short, in words
        self.corpus, self.batch_size, self.num_steps = corpus, batch_size, num_steps
        self.generator = generator
        self._count = (len(corpus) - 1) // batch_size // num_steps

    def __iter__(self):
        from ..data import seq_data_iter_sequential
        batches = list(seq_data_iter_sequential(self.corpus, self.batch_size, self.num_steps,
                                                generator=self.generator))
        self._count = len(batches)
        return iter(batches)

    def __len__(self):
        return self._count


class RandomBlocks(_GeneratorState):
    """nanoGPT's get_batch: ``steps`` batches of ``batch_size`` blocks starting at random
    positions of the corpus, each target block one token further on."""
    carries_state = False

    def __init__(self, corpus, batch_size, block_size, steps, generator):
        if len(corpus) <= block_size + 1:
            raise ValueError(f"the training text has {len(corpus)} tokens, too few for blocks "
                             f"of {block_size}")
        self.corpus, self.batch_size, self.block_size, self.steps = \
            corpus, batch_size, block_size, steps
        self.generator = generator

    def __iter__(self):
        offsets = np.arange(self.block_size)
        for _ in range(self.steps):
            ix = self.generator.integers(0, len(self.corpus) - self.block_size,
                                         size=self.batch_size)
            x = self.corpus[ix[:, None] + offsets]
            y = self.corpus[ix[:, None] + offsets + 1]
            yield from_numpy(x), from_numpy(y)

    def __len__(self):
        return self.steps


def make_loader(text, config, generator):
    """The training batches a config asks for on a TextData."""
    from ..data import DataLoader, TensorDataset
    if text.rows:
        x, y = text.train
        if config.model == "gpt" and x.shape[1] > config.block_size:
            raise ValueError(f"the longest name needs a block of {x.shape[1]} tokens, but "
                             f"--block-size is {config.block_size}")
        loader = DataLoader(TensorDataset(from_numpy(x), from_numpy(y)),
                            batch_size=config.batch_size, shuffle=True, seed=config.seed)
        loader.carries_state = False
        return loader
    if config.model == "gpt":
        return RandomBlocks(text.train, config.batch_size, config.block_size,
                            config.steps_per_epoch, generator)
    return SequentialBatches(text.train, config.batch_size, config.block_size, generator)


# -- a batch's loss -------------------------------------------------------------------------------
class LanguageTask:
    """The loss of a language model on a batch, and its held-out loss. For d2l's models with
    sequential batches the hidden state runs on from one batch to the next (detached, so
    backpropagation through time stops at the batch boundary) and starts afresh each epoch."""

    def __init__(self, model, kind, carries_state):
        self.model, self.kind, self.carries_state = model, kind, carries_state
        self.state = None

    def begin_epoch(self):
        self.state = None

    def forward(self, x, y, carry=None):
        """(loss, scores (N, vocab), targets (N,)) for a batch of inputs and next tokens;
        ``carry``: start from the state the last batch left (default: if the batches run on
        from each other)."""
        from ..nn import functional as F
        if self.kind == "gpt":
            logits, loss = self.model(x, y)
            return loss, logits.view(-1, logits.shape[-1]), y.reshape(-1)
        carry = self.carries_state if carry is None else carry
        if self.state is None or not carry:
            state = self.model.begin_state(x.shape[0])
        else:
            state = tuple(s.detach() for s in self.state) if isinstance(self.state, tuple) \
                else self.state.detach()
        scores, self.state = self.model(x, state)
        targets = y.T.reshape(-1)
        return F.cross_entropy(scores, targets, ignore_index=-1), scores, targets

    def evaluate(self, text, batch_size=64):
        """(mean loss per predicted token, next-token accuracy) on the held-out part."""
        was_training = self.model.training
        self.model.eval()
        total, correct, seen = 0.0, 0, 0
        try:
            with no_grad():
                for x, y, carry in self._held_out(text, batch_size):
                    loss, scores, targets = self.forward(x, y, carry)
                    counted = targets.numpy() >= 0
                    n = int(counted.sum())
                    total += float(loss.item()) * n
                    correct += int((scores.numpy().argmax(axis=1) == targets.numpy())[counted]
                                   .sum())
                    seen += n
        finally:
            self.model.train(was_training)
            self.state = None
        if not seen:
            raise ValueError("the held-out text is too short to evaluate")
        return total / seen, correct / seen

    def _held_out(self, text, batch_size):
        """Deterministic held-out batches (x, y, carry-the-state)."""
        if text.rows:
            x, y = text.val
            for i in range(0, len(x), batch_size):
                yield from_numpy(x[i:i + batch_size]), from_numpy(y[i:i + batch_size]), False
            return
        val = text.val
        if self.kind == "gpt":
            # Non-overlapping blocks covering the held-out text.
            block = self.model.config.block_size
            starts = np.arange(0, len(val) - block - 1, block) if len(val) > block + 1 \
                else np.array([0])
            block = min(block, len(val) - 1)
            offsets = np.arange(block)
            for i in range(0, len(starts), batch_size):
                ix = starts[i:i + batch_size, None] + offsets
                yield from_numpy(val[ix]), from_numpy(val[ix + 1]), False
            return
        # d2l's sequential partitioning at offset 0, 32 rows, the state carried along them.
        rows = max(1, min(32, (len(val) - 1) // 2))
        width = (len(val) - 1) // rows
        xs = val[:rows * width].reshape(rows, width)
        ys = val[1:rows * width + 1].reshape(rows, width)
        steps = 35
        for i in range(0, width, steps):
            yield from_numpy(xs[:, i:i + steps].copy()), from_numpy(ys[:, i:i + steps].copy()), \
                i > 0


def perplexity(loss):
    """exp(mean cross-entropy per token), inf rather than an overflow."""
    try:
        return math.exp(loss)
    except OverflowError:
        return math.inf


def check_tokenizer(tree, path):
    """The Tokenizer a language-model checkpoint holds (CheckpointError naming ``path``)."""
    try:
        return Tokenizer.from_state(tree["tokenizer"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the language model's tokenizer entry is missing or "
                              f"unusable: {error}") from error


