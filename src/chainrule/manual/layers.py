"""Layers written out by hand, in cs231n's form.

Every layer is a pair of functions:

    out, cache = layer_forward(inputs...)
    grads = layer_backward(dout, cache)

``cache`` is exactly what the forward pass kept for the backward pass, and ``dout`` is the
upstream gradient dL/dout, of the same shape as ``out``. Examples are the rows of ``x``.
"""

import numpy as np


def affine_forward(x, w, b):
    """Fully connected layer: out = x2 @ w + b, where x2 = x.reshape(N, D).

    x has shape (N, d1, ..., dk) and is flattened per example to (N, D), D = d1 * ... * dk;
    w has shape (D, M) and b shape (M,). Returns out of shape (N, M) and cache = (x, w).
    """
    x2 = x.reshape(x.shape[0], -1)
    if x2.shape[1] != w.shape[0]:
        raise ValueError(
            f"affine_forward: x of shape {x.shape} flattens to {x2.shape}, "
            f"which does not fit w of shape {w.shape} (need D = {w.shape[0]})"
        )
    return x2 @ w + b, (x, w)


def affine_backward(dout, cache):
    """Gradients of out = x2 @ w + b, given dout = dL/dout of shape (N, M).

    dx = (dout @ w.T) reshaped to x.shape,  dw = x2.T @ dout,  db = sum of dout over the batch.
    Returns (dx, dw, db).
    """
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)  # b was broadcast over the batch, so its gradient sums over it
    return dx, dw, db


def relu_forward(x):
    """out = max(x, 0), elementwise. Returns (out, cache = x)."""
    return np.maximum(x, 0), x


def relu_backward(dout, cache):
    """dx = dout where x > 0, and 0 where x <= 0 (the subgradient at exactly 0 is 0)."""
    x = cache
    # The mask comes from the forward input x: it records which units let their value through.
    # Masking by the sign of dout instead would be a different (wrong) function.
    return dout * (x > 0)


def sigmoid_forward(x):
    """out = s(x) = 1 / (1 + exp(-x)), elementwise. Returns (out, cache = out)."""
    # exp(-|x|) lies in (0, 1], so it cannot overflow for large |x|; the two branches are the
    # same function written for x >= 0 and for x < 0.
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    return out, out


def sigmoid_backward(dout, cache):
    """dx = dout * s * (1 - s), with s the output kept by the forward pass."""
    s = cache
    return dout * s * (1 - s)


def tanh_forward(x):
    """out = tanh(x), elementwise. Returns (out, cache = out)."""
    out = np.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    """dx = dout * (1 - out^2), with out = tanh(x) kept by the forward pass."""
    out = cache
    return dout * (1 - out**2)


def affine_relu_forward(x, w, b):
    """out = relu(x2 @ w + b). Returns (out, cache = (affine cache, relu cache))."""
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    """Backward through relu, then through the affine layer. Returns (dx, dw, db)."""
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


def dropout_forward(x, p, mode, seed=None):
    """Inverted dropout. p is the probability of DROPPING a unit (PyTorch's convention).

    mode "train": out = x * mask, mask = keep / (1 - p), keep ~ Bernoulli(1 - p) per element,
    so E[out] = x. mode "test": out = x (the identity), cache mask = None.
    seed is None (fresh randomness), an int, or a numpy Generator; a given int seed or a
    Generator in a given state always draws the same mask. Returns (out, cache = mask).
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout_forward: p = {p} must be in [0, 1) (the drop probability)")
    if mode not in ("train", "test"):
        raise ValueError(f"dropout_forward: mode = {mode!r} must be 'train' or 'test'")
    if mode == "test":
        return x, None
    x = np.asarray(x)
    rng = np.random.default_rng(seed)  # returns a Generator passed in as it is
    keep = rng.random(x.shape) >= p
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    # Scaling at training time keeps the expected activation equal to x, so test time needs
    # no rescaling at all.
    mask = keep.astype(dtype) / dtype.type(1 - p)
    return x * mask, mask


def dropout_backward(dout, cache):
    """dx = dout * mask in train mode (the same mask as forward); dx = dout in test mode."""
    mask = cache
    if mask is None:
        return dout
    return dout * mask
