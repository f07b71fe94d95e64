"""Recurrent layers as PyTorch's: RNN (tanh or ReLU), LSTM and GRU, and their one-step cells.

Each is a composite of primitives (matmul, add, tanh, sigmoid, getitem, stack), so autograd
gives backpropagation through time with no backward code here: the inputs of a whole sequence
are multiplied by W_ih in one matmul up front, then a Python loop runs the recurrence, one
step per time step. Parameter names, shapes and gate order are PyTorch's, so state dicts move
between the libraries unchanged: LSTM gates (i, f, g, o), GRU gates (r, z, n) with
n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
"""
import contextlib
import math
import numbers
import warnings

from ..autograd import mode
from ..backend import xp
from ..dtypes import float_dtype
from ..errors import DtypeError, ShapeError
from ..ops import concatenate, relu, sigmoid, stack, tanh
from ..ops.recurrent import lstm_cell
from ..tensor import Tensor
from . import init as initializers
from .functional import dropout
from .module import Module, ModuleScope, Parameter

GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class TimeStep(ModuleScope):
    """The scope of the nodes one time step of a recurrent layer records: the layer's scope
    and the step (``time_step`` t from 0, ``layer``, ``direction`` 1 for reverse), so that
    inspect can group an unrolled graph by time step. ``time_step`` makes one around the body
    of a hand-written loop."""

    def __new__(cls, t, layer=0, direction=0, outer=None):
        where = "" if (layer, direction) == (0, 0) else f"l{layer}{'_reverse' * direction}."
        scope = super().__new__(cls, f"{where}t{t}", getattr(outer, "module_type", None), outer)
        scope.time_step, scope.layer, scope.direction = int(t), int(layer), int(direction)
        return scope

    def __reduce__(self):
        return TimeStep, (self.time_step, self.layer, self.direction, self.outer)


@contextlib.contextmanager
def time_step(t, layer=0, direction=0):
    """Record the nodes made inside as time step ``t`` of an unrolled recurrence.

    >>> with time_step(3):
    ...     h = cr.ones(2, requires_grad=True).tanh()
    >>> h.node.scope.time_step
    3
    """
    previous = mode.scope
    mode.scope = TimeStep(t, layer, direction, previous)
    try:
        yield
    finally:
        mode.scope = previous


def _rnn_step(activation):
    def step(x_projected, h, w_hh, b_hh):
        recurrent = h @ w_hh.T
        if b_hh is not None:
            recurrent = recurrent + b_hh
        return activation(x_projected + recurrent)
    return step


def _lstm_step(x_projected, state, w_hh, b_hh):
    h, c = state
    gates = x_projected + h @ w_hh.T
    if b_hh is not None:
        gates = gates + b_hh
    size = c.shape[-1]  # h has proj_size features with a projection
    out = lstm_cell(gates, c)  # h', c' and the activated gates, one node
    c = out[..., size:2 * size]
    return out[..., :size], c  # h' sliced last: the newest node of a step is the state it hands on


def _gru_step(x_projected, h, w_hh, b_hh):
    recurrent = h @ w_hh.T
    if b_hh is not None:
        recurrent = recurrent + b_hh
    size = h.shape[-1]
    x_r, x_z, x_n = (x_projected[..., k * size:(k + 1) * size] for k in range(3))
    h_r, h_z, h_n = (recurrent[..., k * size:(k + 1) * size] for k in range(3))
    r = sigmoid(x_r + h_r)
    z = sigmoid(x_z + h_z)
    n = tanh(x_n + r * h_n)
    return n + z * (h - n)  # (1 - z) * n + z * h, as PyTorch computes it


STEPS = {"RNN_TANH": _rnn_step(tanh), "RNN_RELU": _rnn_step(relu), "LSTM": _lstm_step,
         "GRU": _gru_step}


def _project(x, w_ih, b_ih):
    out = x @ w_ih.T
    return out if b_ih is None else out + b_ih


def _check_nonlinearity(name, nonlinearity):
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"{name}: unknown nonlinearity {nonlinearity!r}; select from 'tanh' "
                         f"or 'relu'")
    return "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"


def _check_sizes(name, input_size, hidden_size):
    for option, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value <= 0:
            raise ValueError(f"{name}: {option} must be a positive int, got {value!r}")


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def _check_dtypes(name, tensors, weight):
    for tensor in tensors:
        if tensor.dtype != weight.dtype:
            model = f" or the model with .to({tensor.dtype})" if tensor.dtype.kind == "f" else ""
            raise DtypeError(f"{name}: input and state dtype {tensor.dtype} does not match the "
                             f"weights' {weight.dtype}; convert the input with "
                             f".to({weight.dtype}){model}")


def _zeros(shape, like):
    return Tensor._wrap(xp.zeros(shape, dtype=like.dtype))


class RNNCellBase(Module):
    """The parameters and checks that RNNCell, LSTMCell and GRUCell share."""

    def __init__(self, mode, input_size, hidden_size, bias, generator, dtype):
        name = type(self).__name__
        _check_sizes(name, input_size, hidden_size)
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.bias = bool(bias)
        gate_size = GATES[mode] * self.hidden_size
        dtype = float_dtype(dtype, name)
        self.weight_ih = Parameter(xp.empty((gate_size, self.input_size), dtype))
        self.weight_hh = Parameter(xp.empty((gate_size, self.hidden_size), dtype))
        self.bias_ih = Parameter(xp.empty(gate_size, dtype)) if bias else None
        self.bias_hh = Parameter(xp.empty(gate_size, dtype)) if bias else None
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as
        PyTorch.

        >>> cell = cr.nn.GRUCell(3, 4)
        >>> cell.reset_parameters()
        >>> bool(cell.weight_hh.abs().max() <= 0.5)
        True
        """
        bound = 1 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            initializers.uniform_(weight, -bound, bound, generator=generator)

    def forward(self, input, hx=None):
        name = type(self).__name__
        input = _as_tensor(input)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: expected input to be 1-D or 2-D, got {input.ndim}-D "
                             f"(shape {tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input has inconsistent input_size: got "
                             f"{input.shape[-1]}, expected {self.input_size} (input shape "
                             f"{tuple(input.shape)})")
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        states = self._initial_states(name, x, hx, batched)
        _check_dtypes(name, (x, *states), self.weight_ih)
        step = STEPS[self.mode]
        x_projected = _project(x, self.weight_ih, self.bias_ih)
        out = step(x_projected, states if self.mode == "LSTM" else states[0], self.weight_hh,
                   self.bias_hh)
        outs = out if self.mode == "LSTM" else (out,)
        outs = outs if batched else tuple(o.squeeze(0) for o in outs)
        return outs if self.mode == "LSTM" else outs[0]

    def _initial_states(self, name, x, hx, batched):
        count = 2 if self.mode == "LSTM" else 1
        expected = (x.shape[0], self.hidden_size)
        if hx is None:
            return tuple(_zeros(expected, x) for _ in range(count))
        if self.mode != "LSTM" and isinstance(hx, (tuple, list)):
            raise TypeError(f"{name}: hx must be a tensor, got a {type(hx).__name__}; only "
                            f"LSTMCell takes a pair (h, c)")
        states = tuple(hx) if self.mode == "LSTM" else (hx,)
        states = tuple(_as_tensor(s) for s in states)
        if len(states) != count:
            raise ValueError(f"{name}: hx must be a pair (h_0, c_0), got {len(states)} tensors")
        if not batched:
            if any(s.ndim != 1 for s in states):
                raise ShapeError(f"{name}: for unbatched 1-D input, hx must also be 1-D, got "
                                 f"shapes {[tuple(s.shape) for s in states]}")
            states = tuple(s.unsqueeze(0) for s in states)
        for s in states:
            if tuple(s.shape) != expected:
                raise ShapeError(f"{name}: hidden state has shape {tuple(s.shape)}, expected "
                                 f"{expected} (input shape {tuple(x.shape)})")
        return states

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if self.mode == "RNN_RELU":
            text += ", nonlinearity=relu"
        return text


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or ReLU).
    Input (N, input_size) or unbatched (input_size,); ``hx`` defaults to zeros.

    >>> cell = cr.nn.RNNCell(3, 5)
    >>> cell(cr.ones(2, 3)).shape
    cr.Size([2, 5])
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", generator=None,
                 dtype=None):
        self.nonlinearity = nonlinearity
        mode = _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(mode, input_size, hidden_size, bias, generator, dtype)


class LSTMCell(RNNCellBase):
    """One LSTM step: gates (i, f, g, o) from x W_ih^T + b_ih + h W_hh^T + b_hh; c' = f c + i g,
    h' = o tanh(c'). ``hx`` is a pair (h, c), zeros by default; returns (h', c').

    >>> cell = cr.nn.LSTMCell(3, 5)
    >>> h, c = cell(cr.ones(2, 3))
    >>> h.shape, cell.weight_ih.shape
    (cr.Size([2, 5]), cr.Size([20, 3]))
    """

    def __init__(self, input_size, hidden_size, bias=True, generator=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, generator, dtype)


class GRUCell(RNNCellBase):
    """One GRU step: gates (r, z, n), n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
    h' = (1 - z) n + z h.

    >>> cell = cr.nn.GRUCell(3, 5)
    >>> cell(cr.ones(3)).shape
    cr.Size([5])
    """

    def __init__(self, input_size, hidden_size, bias=True, generator=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, generator, dtype)


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence that RNN, LSTM and GRU share."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 generator=None, dtype=None):
        name = type(self).__name__
        _check_sizes(name, input_size, hidden_size)
        if isinstance(proj_size, bool) or not isinstance(proj_size, (int, xp.integer)) or \
                proj_size < 0:
            raise ValueError(f"{name}: proj_size must be a positive int, or 0 for no "
                             f"projection, got {proj_size!r}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size ({proj_size}) has to be smaller than "
                             f"hidden_size ({hidden_size})")
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"{name}: num_layers must be a positive int, got {num_layers!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or \
                not 0 <= dropout <= 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if dropout and num_layers == 1:
            warnings.warn(f"{name}: dropout acts between recurrent layers, so dropout={dropout} "
                          f"with num_layers=1 does nothing", UserWarning, stacklevel=3)
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = num_layers, bool(bias), bool(batch_first)
        self.dropout, self.bidirectional = float(dropout), bool(bidirectional)
        self.proj_size = int(proj_size)
        # With proj_size, h is projected to that size (weight_hr): the state, the output and
        # the next layer's input have it; c keeps hidden_size.
        state_size = self.proj_size or self.hidden_size
        gate_size = GATES[mode] * self.hidden_size
        dtype = float_dtype(dtype, name)
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            layer_input = self.input_size if layer == 0 else state_size * directions
            for suffix in ("", "_reverse")[:directions]:
                setattr(self, f"weight_ih_l{layer}{suffix}",
                        Parameter(xp.empty((gate_size, layer_input), dtype)))
                setattr(self, f"weight_hh_l{layer}{suffix}",
                        Parameter(xp.empty((gate_size, state_size), dtype)))
                if bias:
                    for kind in ("bias_ih", "bias_hh"):
                        setattr(self, f"{kind}_l{layer}{suffix}",
                                Parameter(xp.empty(gate_size, dtype)))
                if self.proj_size:
                    setattr(self, f"weight_hr_l{layer}{suffix}",
                            Parameter(xp.empty((self.proj_size, self.hidden_size), dtype)))
        self.reset_parameters(generator)

    reset_parameters = RNNCellBase.reset_parameters

    def flatten_parameters(self):
        """Nothing to do: PyTorch packs its weights into one buffer for cuDNN here; chainrule's
        are separate arrays already. Kept so that code written for PyTorch runs unchanged.

        >>> cr.nn.LSTM(2, 3).flatten_parameters()
        """

    def _weights(self, layer, suffix):
        names = (f"{kind}_l{layer}{suffix}" for kind in ("weight_ih", "bias_ih", "weight_hh",
                                                          "bias_hh"))
        return tuple(getattr(self, n, None) for n in names)

    def forward(self, input, hx=None):
        name = type(self).__name__
        input = _as_tensor(input)
        if input.ndim not in (2, 3):
            raise ValueError(f"{name}: expected input to be 2-D or 3-D, got {input.ndim}-D "
                             f"(shape {tuple(input.shape)})")
        if input.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: input.size(-1) must be equal to input_size: expected "
                             f"{self.input_size}, got {input.shape[-1]} (input shape "
                             f"{tuple(input.shape)})")
        batched = input.ndim == 3
        if input.shape[1 if batched and self.batch_first else 0] == 0:
            raise ShapeError(f"{name}: expected sequence length to be larger than 0, got input "
                             f"of shape {tuple(input.shape)}")
        if not batched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        states = self._initial_states(name, x, hx, batched)
        _check_dtypes(name, (x, *states), self.weight_ih_l0)
        output, finals = self._run(x, states)
        finals = tuple(stack(f, dim=0) for f in finals)
        if not batched:
            output, finals = output.squeeze(1), tuple(f.squeeze(1) for f in finals)
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (finals if self.mode == "LSTM" else finals[0])

    def _run(self, x, states):
        step = STEPS[self.mode]
        lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        finals = tuple([] for _ in states)
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout and self.training:
                x = dropout(x, self.dropout, True)
            outputs = []
            for direction, suffix in enumerate(("", "_reverse")[:directions]):
                w_ih, b_ih, w_hh, b_hh = self._weights(layer, suffix)
                index = layer * directions + direction
                state = tuple(s[index] for s in states)
                state = state if lstm else state[0]
                w_hr = getattr(self, f"weight_hr_l{layer}{suffix}", None)
                projected = _project(x, w_ih, b_ih)
                if b_hh is not None and self.mode != "GRU":  # GRU's b_hn sits inside r * (.)
                    projected, b_hh = projected + b_hh, None  # added once for every step
                steps = projected.unbind(0)
                order = range(len(steps) - 1, -1, -1) if direction else range(len(steps))
                hs = [None] * len(steps)
                outer = mode.scope
                try:
                    for t in order:
                        mode.scope = TimeStep(t, layer, direction, outer)
                        state = step(steps[t], state, w_hh, b_hh)
                        if w_hr is not None:
                            state = (state[0] @ w_hr.T, state[1])
                        hs[t] = state[0] if lstm else state
                finally:
                    mode.scope = outer
                outputs.append(stack(hs, dim=0))
                for final, s in zip(finals, state if lstm else (state,)):
                    final.append(s)
            x = outputs[0] if directions == 1 else concatenate(outputs, dim=-1)
        return x, finals

    def _initial_states(self, name, x, hx, batched):
        lstm = self.mode == "LSTM"
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, x.shape[1], self.hidden_size)
        expected_h = expected[:2] + (self.proj_size or self.hidden_size,)
        if hx is None:
            return (_zeros(expected_h, x), _zeros(expected, x)) if lstm else (_zeros(expected, x),)
        if not lstm and isinstance(hx, (tuple, list)):
            raise TypeError(f"{name}: hx must be a tensor (h_0), got a {type(hx).__name__}; "
                            f"only LSTM takes a pair (h_0, c_0)")
        states = tuple(hx) if lstm else (hx,)
        if len(states) != (2 if lstm else 1):
            raise ValueError(f"{name}: hx must be a pair (h_0, c_0), got {len(states)} tensors")
        states = tuple(_as_tensor(s) for s in states)
        if not batched:
            if any(s.ndim != 2 for s in states):
                raise ShapeError(f"{name}: for unbatched 2-D input, hx must also be 2-D, got "
                                 f"shapes {[tuple(s.shape) for s in states]}")
            states = tuple(s.unsqueeze(1) for s in states)
        for which, s, size in zip(("h_0", "c_0"), states, (expected_h, expected)):
            if tuple(s.shape) != size:
                raise ShapeError(f"{name}: expected {which} of size {size}, got "
                                 f"{tuple(s.shape)} (input shape {tuple(x.shape)})")
        return states

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        for option, default in (("proj_size", 0), ("num_layers", 1), ("bias", True),
                                ("batch_first", False), ("dropout", 0.0),
                                ("bidirectional", False)):
            value = getattr(self, option)
            if value != default:
                text += f", {option}={value}"
        return text


class RNN(RNNBase):
    """A multi-layer Elman RNN, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or ReLU),
    as PyTorch's: input (L, N, input_size), (N, L, input_size) with ``batch_first``, or
    unbatched (L, input_size); returns (output, h_n), output holding the last layer's h_t for
    every t (both directions concatenated), h_n (num_layers * directions, N, hidden_size).

    >>> rnn = cr.nn.RNN(3, 4, num_layers=2, batch_first=True)
    >>> output, h_n = rnn(cr.ones(2, 5, 3))
    >>> output.shape, h_n.shape
    (cr.Size([2, 5, 4]), cr.Size([2, 2, 4]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, generator=None,
                 dtype=None):
        self.nonlinearity = nonlinearity
        mode = _check_nonlinearity("RNN", nonlinearity)
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, generator, dtype)


class LSTM(RNNBase):
    """A multi-layer LSTM as PyTorch's (see RNN for the shapes): ``hx`` is a pair (h_0, c_0),
    zeros by default; returns (output, (h_n, c_n)).

    With ``proj_size`` > 0 each layer's h is projected, h = (o * tanh(c)) W_hr^T
    (``weight_hr_l{k}``, (proj_size, hidden_size)): h_0, h_n and the output then have proj_size
    features, c keeps hidden_size.

    >>> lstm = cr.nn.LSTM(3, 4, bidirectional=True)
    >>> output, (h_n, c_n) = lstm(cr.ones(6, 2, 3))
    >>> output.shape, c_n.shape
    (cr.Size([6, 2, 8]), cr.Size([2, 2, 4]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, generator=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, generator, dtype)


class GRU(RNNBase):
    """A multi-layer GRU as PyTorch's (see RNN for the shapes); returns (output, h_n).

    >>> gru = cr.nn.GRU(3, 4)
    >>> output, h_n = gru(cr.ones(6, 3))
    >>> output.shape, h_n.shape
    (cr.Size([6, 4]), cr.Size([1, 4]))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, generator=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, 0, generator, dtype)


__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]
