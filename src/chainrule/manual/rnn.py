"""A vanilla RNN and backpropagation through time, written out by hand (cs231n assignment 3's
functions, d2l's derivation).

In d2l's notation, for a minibatch X_t (N, D) at each time step t = 1..T:

    h_t = tanh(X_t W_xh + h_{t-1} W_hh + b_h)        hidden state (N, H)
    o_t = h_t W_hq + b_q                             scores (N, V)
    L   = 1/(N T) sum over t and examples of cross_entropy(o_t, y_t)

cs231n's names for the same arrays: ``Wx`` = W_xh (D, H), ``Wh`` = W_hh (H, H), ``b`` = b_h;
the hidden states of all steps are ``h`` of shape (N, T, H); the scores come from
temporal_affine_forward with ``w`` = W_hq and ``b`` = b_q.

The backward pass: h_t reaches the loss along two paths, through o_t (dL/do_t W_hq^T) and
through h_{t+1}, so its gradient is their sum, collected from the last step backwards. The
weights are shared by every step, so their gradients are sums over time. d2l unrolls this
recursion for an RNN without the nonlinearity and finds, in its column-vector notation
(where W_qh = W_hq^T),

    dL/dh_t = sum over i = t..T of (W_hh^T)^(T-i) W_qh^T dL/do_(T+t-i),

powers of W_hh^T: the output j steps after t reaches h_t through (W_hh^T)^j. With
tanh, each factor W_hh^T also comes with diag(1 - h^2), whose entries are at most 1. The size
of such a product goes like the largest singular value of W_hh to the power i - t, so over
long spans the gradient vanishes (below 1: the distant outputs stop contributing) or explodes
(above 1: one step of gradient descent overshoots). Truncating the sum after k steps
(rnn_backward's ``truncate``) and clipping the gradient's norm (``clip_grad_norm``) are d2l's
remedies.
"""
import numpy as np

from .ninja import cross_entropy_backward, cross_entropy_forward, linear_backward, linear_forward


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One time step: next_h = tanh(x @ Wx + prev_h @ Wh + b).

    x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,). Returns next_h (N, H) and
    cache = (x, prev_h, Wx, Wh, next_h).
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Gradients of one step, given dnext_h = dL/dnext_h (N, H):

        da = dnext_h * (1 - next_h^2)       through tanh, a = the pre-activation
        dx = da @ Wx.T,  dprev_h = da @ Wh.T,  dWx = x.T @ da,  dWh = prev_h.T @ da,
        db = da summed over the batch.

    Returns (dx, dprev_h, dWx, dWh, db).
    """
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)
    return da @ Wx.T, da @ Wh.T, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the RNN over a whole sequence: x (N, T, D), h0 (N, H). Returns h (N, T, H), the
    hidden state after every step, and cache = (the step caches, h0's shape)."""
    states, caches, prev = [], [], h0
    for t in range(x.shape[1]):
        prev, cache = rnn_step_forward(x[:, t], prev, Wx, Wh, b)
        states.append(prev)
        caches.append(cache)
    # np.stack rather than writing into a preallocated array: on chainrule Tensors it is
    # chainrule's stack, so check_backward can run this same forward through autograd.
    return np.stack(states, axis=1), caches


def rnn_backward(dh, cache, truncate=None):
    """Backpropagation through time. dh (N, T, H) holds dL/dh_t from the outputs (the path
    through o_t only). Walking t = T..1, the gradient reaching h_t is

        dh_t = dh[:, t] + dprev_h from step t+1      the sum of h_t's two paths

    and each step's dWx, dWh, db are added up: the weights are shared across time. Each step
    back multiplies the carried gradient by diag(1 - h^2) and Wh.T, so dh[:, i] reaches step
    t through (i - t) such factors, close to the (i - t)-th power of Wh.T: the source of
    vanishing and exploding gradients (see the module's docstring).

    ``truncate = k`` cuts the state from its past every k steps, as d2l's truncated BPTT does
    by detaching the state (h_k, h_2k, ... are treated as constants): no gradient crosses
    those boundaries, so none travels back more than k steps. With k >= T (or None) this is
    the full gradient. Returns
    (dx, dh0, dWx, dWh, db).
    """
    if truncate is not None and truncate < 1:
        raise ValueError(f"rnn_backward: truncate = {truncate} must be a number of steps >= 1")
    x0, h00, Wx, Wh, _ = cache[0]
    n, t_steps, hidden = dh.shape
    dx = np.zeros((n, t_steps, x0.shape[1]), dtype=dh.dtype)
    dWx, dWh, db = np.zeros(Wx.shape), np.zeros(Wh.shape), np.zeros(hidden)
    dprev = np.zeros((n, hidden))
    for t in reversed(range(t_steps)):
        dx[:, t], dprev, dWx_t, dWh_t, db_t = rnn_step_backward(dh[:, t] + dprev, cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
        if truncate is not None and t % truncate == 0 and t > 0:
            dprev = np.zeros_like(dprev)  # h_{t-1} was detached: the chain stops here
    return dx, dprev, dWx, dWh, db


def temporal_affine_forward(x, w, b):
    """The output layer at every step: out[:, t] = x[:, t] @ w + b, for x (N, T, H), w (H, V),
    b (V,). Returns out (N, T, V) and cache."""
    return linear_forward(x, w, b)


def temporal_affine_backward(dout, cache):
    """Gradients of temporal_affine_forward: dx = dout @ w.T, and dw, db summed over the batch
    and over time (the same w and b score every step). Returns (dx, dw, db)."""
    return linear_backward(dout, cache)


def temporal_softmax_loss(x, y, mask=None):
    """Mean cross-entropy over all time steps: x (N, T, V) scores, y (N, T) labels, mask (N, T)
    booleans (None: all), the loss averaged over the positions kept, as F.cross_entropy on
    the flattened (N T, V) scores. dx = (softmax(x) - onehot(y)) * mask / (number kept).
    Returns (loss, dx)."""
    n, t_steps, v = x.shape
    keep = np.ones((n, t_steps), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    kept = np.flatnonzero(keep.reshape(-1))
    if kept.size == 0:
        raise ValueError("temporal_softmax_loss: the mask keeps no position, so the mean loss "
                         "is undefined")
    loss, cache = cross_entropy_forward(x.reshape(-1, v)[kept], np.asarray(y).reshape(-1)[kept])
    dx = np.zeros((n * t_steps, v), dtype=cache[0].dtype)
    dx[kept] = cross_entropy_backward(1.0, cache)
    return loss, dx.reshape(x.shape)


def rnn_loss(x, y, h0, Wx, Wh, b, Wq, bq, truncate=None):
    """The RNN language model's loss and every gradient, by hand: rnn_forward,
    temporal_affine_forward (o_t = h_t Wq + bq), temporal_softmax_loss, then back through the
    three, with rnn_backward's ``truncate``. Returns (loss, (dx, dh0, dWx, dWh, db, dWq, dbq)),
    the gradients in the inputs' order (y, integer, has none)."""
    h, rnn_cache = rnn_forward(x, h0, Wx, Wh, b)
    scores, affine_cache = temporal_affine_forward(h, Wq, bq)
    loss, dscores = temporal_softmax_loss(scores, y)
    dh, dWq, dbq = temporal_affine_backward(dscores, affine_cache)
    return loss, (*rnn_backward(dh, rnn_cache, truncate), dWq, dbq)


def clip_grad_norm(grads, max_norm):
    """d2l's grad_clipping: if the global norm ||g|| = sqrt(sum of every gradient's squared
    entries) exceeds ``max_norm``, scale every gradient by max_norm / ||g||, so the update
    keeps its direction but its length is at most max_norm. Returns (the clipped gradients, in
    a list, new arrays; the norm before clipping). Scales by max_norm / (||g|| + 1e-6), as
    torch.nn.utils.clip_grad_norm_ does."""
    norm = float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads)))
    scale = min(1.0, max_norm / (norm + 1e-6))
    return [g * scale for g in grads], norm
