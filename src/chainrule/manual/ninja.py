"""The layers of the "becoming a backprop ninja" exercise (makemore's MLP: embedding, linear,
batch norm, tanh, cross-entropy) as forward/backward pairs in cs231n's form:
``out, cache = layer_forward(...)`` and ``grads = layer_backward(dout, cache)``.

tanh is manual.tanh_forward / tanh_backward (dx = dout (1 - out^2)). The network of the
exercise is, with these names:

    emb, c1 = embedding_forward(Xb, C)                  # (N, block, d)
    hpre, c2 = linear_forward(emb.reshape(N, -1), W1, b1)
    hbn, c3 = batchnorm1d_forward(hpre, bngain, bnbias)
    h, c4 = tanh_forward(hbn)
    logits, c5 = linear_forward(h, W2, b2)
    loss, c6 = cross_entropy_forward(logits, Yb)

and its backward runs the same list from the end, starting from dloss = 1.
"""
import numpy as np

from .losses import _check_scores_and_labels


def embedding_forward(idx, weight):
    """Row lookup: out = weight[idx]. idx is an integer array of any shape, weight the table
    (V, D); out has shape idx.shape + (D,). Returns out and cache = (idx, weight's shape)."""
    idx = np.asarray(idx)
    if not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"embedding_forward: indices must be integers, got dtype {idx.dtype}")
    return weight[idx], (idx, tuple(weight.shape))


def embedding_backward(dout, cache):
    """dweight: every row of dout is added into the row of the table it was read from.

    A row read k times (a repeated index: the same character twice in a context) gets the sum
    of its k gradients. ``dweight[idx] += dout`` would not do that: NumPy's fancy assignment
    evaluates dweight[idx] + dout once and writes it, so a repeated index keeps only one
    contribution. ``np.add.at`` is unbuffered and adds them all. Returns dweight.
    """
    idx, shape = cache
    dweight = np.zeros(shape, dtype=dout.dtype)
    np.add.at(dweight, idx, dout)
    return dweight


def linear_forward(x, w, b):
    """out = x @ w + b for x of shape (..., D) (the leading axes are examples, or examples and
    time steps), w (D, M), b (M,). Returns out (..., M) and cache = (x, w)."""
    if x.shape[-1] != w.shape[0]:
        raise ValueError(f"linear_forward: x of shape {x.shape} does not fit w of shape "
                         f"{w.shape} (need x.shape[-1] = {w.shape[0]})")
    return x @ w + b, (x, w)


def linear_backward(dout, cache):
    """dx = dout @ w.T; dw = x.T @ dout and db = dout summed, both over every leading axis
    (each example, each step, used the same w and b). Returns (dx, dw, db)."""
    x, w = cache
    rows, drows = x.reshape(-1, w.shape[0]), dout.reshape(-1, w.shape[1])
    return dout @ w.T, rows.T @ drows, drows.sum(axis=0)


def batchnorm1d_forward(x, gamma, beta, eps=1e-5, unbiased=True):
    """Batch normalisation in training mode, step by step as the exercise writes it:

        mean = x.mean(0);  diff = x - mean;  var = sum(diff^2, 0) / (N - 1)
        inv = (var + eps)^(-1/2);  xhat = diff * inv;  out = gamma * xhat + beta

    x (N, D); gamma and beta (D,) or (1, D). ``unbiased=True`` divides the variance by N - 1
    (Bessel's correction), as the exercise does; ``unbiased=False`` by N, as PyTorch's
    BatchNorm1d normalises in training. Returns out and cache.
    """
    n = x.shape[0]
    divisor = n - 1 if unbiased else n
    if divisor < 1:
        raise ValueError(f"batchnorm1d_forward: a batch of {n} has no unbiased variance "
                         f"(divide by N - 1 = 0); pass unbiased=False or a larger batch")
    mean = x.mean(axis=0, keepdims=True)
    diff = x - mean
    var = (diff**2).sum(axis=0, keepdims=True) / divisor
    inv = (var + eps) ** -0.5
    xhat = diff * inv
    return gamma * xhat + beta, (xhat, gamma, diff, var, inv, eps, divisor)


def batchnorm1d_backward(dout, cache):
    """Back through every step of batchnorm1d_forward, the last first:

        dgamma = sum(dout * xhat, 0);  dbeta = sum(dout, 0);  dxhat = dout * gamma
        dinv = sum(dxhat * diff, 0);   dvar = dinv * (-1/2) (var + eps)^(-3/2)
        ddiff = dxhat * inv + 2 diff / (N - 1) * dvar       diff feeds xhat and var: two paths
        dmean = -sum(ddiff, 0)
        dx = ddiff + dmean / N                               the mean's path

    The last line is the one people forget: every x_i moves the mean, which is subtracted from
    every example. Returns (dx, dgamma, dbeta), dgamma and dbeta of gamma's shape.
    """
    xhat, gamma, diff, var, inv, eps, divisor = cache
    shape = np.shape(gamma)
    dgamma = (dout * xhat).sum(axis=0).reshape(shape)
    dbeta = dout.sum(axis=0).reshape(shape)
    dxhat = dout * gamma
    dinv = (dxhat * diff).sum(axis=0, keepdims=True)
    dvar = dinv * -0.5 * (var + eps) ** -1.5
    ddiff = dxhat * inv + 2 * diff / divisor * dvar
    dmean = -ddiff.sum(axis=0, keepdims=True)
    dx = ddiff + dmean / dout.shape[0]
    return dx, dgamma, dbeta


def batchnorm1d_backward_compact(dout, cache):
    """The same gradients with dx in one line (the exercise's closing formula):

        dx = gamma inv / N * (N dout - sum(dout, 0) - N / (N - 1) * xhat * sum(dout xhat, 0))

    The middle term is the mean's path, the last the variance's. Returns (dx, dgamma, dbeta).
    """
    xhat, gamma, _, _, inv, _, divisor = cache
    n, shape = dout.shape[0], np.shape(gamma)
    dx = gamma * inv / n * (n * dout - dout.sum(axis=0)
                            - n / divisor * xhat * (dout * xhat).sum(axis=0))
    return dx, (dout * xhat).sum(axis=0).reshape(shape), dout.sum(axis=0).reshape(shape)


def cross_entropy_forward(logits, y):
    """loss = mean over the batch of -log softmax(logits)[i, y_i], for logits (N, C) and
    integer labels y (N,). Returns the loss (a 0-d array) and cache = (softmax probabilities,
    y)."""
    x, y = _check_scores_and_labels("cross_entropy_forward", logits, y)
    # The row max is subtracted first: softmax is unchanged and exp cannot overflow.
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(len(y)), y].mean()
    return np.asarray(loss), (np.exp(log_p), y)


def cross_entropy_backward(dout, cache):
    """dlogits = dout * (softmax(logits) - onehot(y)) / N: each row pulls its true class's
    score up and every score down by its probability, divided by N for the mean.
    Returns dlogits."""
    probs, y = cache
    dlogits = probs.copy()
    dlogits[np.arange(len(y)), y] -= 1
    return dout * dlogits / len(y)
