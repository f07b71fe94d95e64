"""One LSTM step as one primitive: the gate activations and the state update of PyTorch's
LSTM cell, after the gate pre-activations (x W_ih^T + b_ih + h W_hh^T + b_hh). As ops one by
one, a step records ten nodes whose backward walks them one at a time; here it is one node,
whose VJP is the textbook's LSTM backward, written with ops so that it is differentiable
again (second order) when called on tensors."""
from ..backend import xp
from .elementwise import sigmoid
from .primitive import primitive
from .shape import concatenate


@primitive(promotion="same")
def lstm_cell(gates, c):
    """``gates`` (..., 4H) in PyTorch's order (i, f, g, o), ``c`` (..., H): returns (..., 7H),
    h' = o tanh(c') then c' = f c + i g, then the activated gates sigmoid(i), sigmoid(f),
    tanh(g), sigmoid(o), then tanh(c') (kept for the VJP, which reads only this output).

    >>> from chainrule.ops.recurrent import lstm_cell
    >>> lstm_cell(cr.zeros(1, 4), cr.ones(1, 1))
    tensor([[0.2310586, 0.5      , 0.5      , 0.5      , 0.       , 0.5      ,
             0.4621172]], dtype=float32)
    """
    size = c.shape[-1]
    if gates.shape[-1] != 4 * size:
        raise ValueError(f"lstm_cell: gates have {gates.shape[-1]} features, expected 4 x "
                         f"{size} for a state of {size}")
    out = xp.empty(xp.broadcast_shapes(gates.shape[:-1], c.shape[:-1]) + (7 * size,),
                   dtype=gates.dtype)
    out[..., 2 * size:4 * size] = sigmoid(gates[..., :2 * size])  # i and f
    out[..., 4 * size:5 * size] = xp.tanh(gates[..., 2 * size:3 * size])
    out[..., 5 * size:6 * size] = sigmoid(gates[..., 3 * size:])  # o
    i, f, g, o = _quarters(out[..., 2 * size:], size)
    c_new = out[..., size:2 * size]
    xp.multiply(f, c, out=c_new)
    c_new += i * g
    tanh_c = xp.tanh(c_new, out=out[..., 6 * size:])  # kept: both VJPs read it
    xp.multiply(o, tanh_c, out=out[..., :size])
    return out


def _quarters(a, size):
    return tuple(a[..., k * size:(k + 1) * size] for k in range(4))


def _backward(grad, out, size):
    """The pieces both VJPs share: the activated gates, tanh(c') and dL/dc' (through c', and
    through tanh(c'): in h' = o tanh(c') and, for a second derivative, in the output itself)."""
    dh, dc = grad[..., :size], grad[..., size:2 * size]
    i, f, g, o = _quarters(out[..., 2 * size:6 * size], size)
    tanh_c = out[..., 6 * size:]
    return i, f, g, o, tanh_c, dc + (dh * o + grad[..., 6 * size:]) * (1 - tanh_c * tanh_c)


@lstm_cell.vjp("gates", formula="the LSTM backward: dc = dc' + dh o (1 - tanh(c')^2); "
                                "di = dc g i (1 - i), df = dc c f (1 - f), dg = dc i (1 - g^2), "
                                "do = dh tanh(c') o (1 - o)")
def _(grad, out, c):
    size = c.shape[-1]
    i, f, g, o, tanh_c, dc = _backward(grad, out, size)
    di, df, dg, do = _quarters(grad[..., 2 * size:6 * size], size)  # any on the gates kept
    parts = ((dc * g + di) * i * (1 - i), (dc * c + df) * f * (1 - f),
             (dc * i + dg) * (1 - g * g), (grad[..., :size] * tanh_c + do) * o * (1 - o))
    if type(grad) is xp.ndarray:
        return xp.concatenate(parts, axis=-1)
    return concatenate(parts, dim=-1)


@lstm_cell.vjp("c", formula="dc f, dc = dc' + dh o (1 - tanh(c')^2)")
def _(grad, out, c):
    _, f, _, _, _, dc = _backward(grad, out, c.shape[-1])
    return dc * f
