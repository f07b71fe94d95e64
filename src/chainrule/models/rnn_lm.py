"""d2l's recurrent language model (``RNNModel``, section 9.6 "Concise Implementation of
Recurrent Neural Networks"): each token one-hot encoded (or, with ``embedding_dim``, looked up
in an ``nn.Embedding``), a recurrent layer (RNN, GRU or LSTM), and a Linear layer from each
hidden state to the scores of the next token. As in d2l, ``forward(inputs, state)`` takes
(batch, steps) token indices and returns ``(output, state)``, the output the (steps * batch,
vocab) scores in time-major order, to be compared with ``Y.T.reshape(-1)``. Parameter names
are PyTorch's (``rnn.weight_ih_l0``, ``linear.weight``, ``embedding.weight``), so the same
model written in PyTorch loads the state dict unchanged.

>>> model = cr.models.rnn_lm.rnn_lm("lstm", vocab_size=28, hidden_size=16)
>>> state = model.begin_state(batch_size=2)
>>> output, state = model(cr.zeros(2, 5, dtype=cr.int64), state)
>>> tuple(output.shape), tuple(state[0].shape)
((10, 28), (1, 2, 16))
"""
import numbers

from .. import nn
from ..autograd import no_grad
from ..errors import ShapeError
from ..nn import functional as F
from ..tensor import Tensor
from .gpt import _append_sample, check_sampling

KINDS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RNNModel(nn.Module):
    """d2l's ``RNNModel(rnn_layer, vocab_size)``; ``embedding_dim`` (default None: one-hot
    inputs, as d2l) puts an ``nn.Embedding`` in front, whose size must be the layer's
    input_size."""

    def __init__(self, rnn_layer, vocab_size, embedding_dim=None):
        super().__init__()
        if not isinstance(rnn_layer, (nn.RNN, nn.GRU, nn.LSTM)):
            raise TypeError(f"RNNModel: rnn_layer must be an nn.RNN, nn.GRU or nn.LSTM, got "
                            f"{type(rnn_layer).__name__}")
        _check_positive("vocab_size", vocab_size)
        inputs = vocab_size if embedding_dim is None else embedding_dim
        if rnn_layer.input_size != inputs:
            what = "the vocabulary size (one-hot inputs)" if embedding_dim is None \
                else "embedding_dim"
            raise ValueError(f"RNNModel: the recurrent layer takes {rnn_layer.input_size} "
                             f"inputs, but {what} is {inputs}")
        if rnn_layer.batch_first:
            raise ValueError("RNNModel: the recurrent layer must be time-major "
                             "(batch_first=False), as d2l's")
        self.vocab_size = int(vocab_size)
        if embedding_dim is not None:
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
        else:
            self.embedding = None
        self.rnn = rnn_layer
        self.num_hiddens = rnn_layer.hidden_size
        self.num_directions = 2 if rnn_layer.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs, state=None):
        if not isinstance(inputs, Tensor) or inputs.ndim != 2 or inputs.dtype.kind not in "iu":
            raise ShapeError(f"RNNModel: inputs must be a (batch, steps) tensor of token "
                             f"indices, got {_describe(inputs)}")
        steps_first = inputs.T
        if self.embedding is None:
            X = F.one_hot(steps_first, self.vocab_size).to(self.linear.weight.dtype)
        else:
            X = self.embedding(steps_first)
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape((-1, Y.shape[-1]))), state

    def begin_state(self, batch_size=1, device=None):
        """Zero initial state(s): (layers * directions, batch, hidden), a pair for an LSTM."""
        from ..creation import zeros
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        dtype = self.linear.weight.dtype
        if isinstance(self.rnn, nn.LSTM):
            return zeros(shape, dtype=dtype), zeros(shape, dtype=dtype)
        return zeros(shape, dtype=dtype)

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """Read the prefix ``idx`` (B, T), then extend each row by ``max_new_tokens`` tokens,
        each drawn from the softmax of the scores divided by ``temperature`` (only the
        ``top_k`` likeliest if given; ``top_k=1`` is d2l's greedy ``predict_ch8``), the hidden
        state carried from step to step. Runs without a graph."""
        check_sampling(max_new_tokens, temperature, top_k)
        if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.shape[1] < 1:
            raise ShapeError(f"generate: idx must be a (batch, steps) tensor of at least one "
                             f"token, got {_describe(idx)}")
        with no_grad():
            output, state = self(idx, self.begin_state(idx.shape[0]))
            batch = idx.shape[0]
            for _ in range(max_new_tokens):
                idx = _append_sample(idx, output[-batch:], temperature, top_k, generator)
                output, state = self(idx[:, -1:], state)
        return idx


def rnn_lm(kind, vocab_size, hidden_size=256, num_layers=1, embedding_dim=None, dropout=0.0):
    """d2l's model with a fresh ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (``kind``: 'rnn', 'gru' or
    'lstm') of ``hidden_size`` units and ``num_layers`` layers (``dropout`` between them)."""
    if kind not in KINDS:
        raise ValueError(f"rnn_lm: kind must be one of {tuple(KINDS)}, got {kind!r}")
    inputs = vocab_size if embedding_dim is None else embedding_dim
    _check_positive("vocab_size", vocab_size)
    layer = KINDS[kind](inputs, hidden_size, num_layers=num_layers, dropout=dropout)
    return RNNModel(layer, vocab_size, embedding_dim)


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _describe(x):
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"a {type(x).__name__}"
