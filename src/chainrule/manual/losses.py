"""Losses written out by hand: each returns (loss, dx) in one call, as in cs231n.

x holds class scores, one example per row: shape (N, C). y holds the true classes, an integer
array of shape (N,) with values in [0, C). The loss is the mean over the batch, so every row of
dx carries a factor 1/N.
"""

import numpy as np


def _check_scores_and_labels(name, x, y):
    """Return x and y as arrays, or raise ValueError saying what is wrong with them."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{name}: scores x must be 2-D (N, C), got shape {x.shape}")
    n, c = x.shape
    if n == 0:
        raise ValueError(f"{name}: the batch is empty (x has shape {x.shape}), need N >= 1")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{name}: labels y must be integers, got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(
            f"{name}: labels y must have shape ({n},) to match x of shape {x.shape}, "
            f"got shape {y.shape}"
        )
    bad = (y < 0) | (y >= c)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"{name}: label {y[i]} at position {i} is out of range for {c} classes [0, {c})"
        )
    return x, y


def svm_loss(x, y, margin=1.0):
    """Multiclass SVM (hinge) loss.

    L = (1/N) sum_i sum_{j != y_i} max(0, x_ij - x_iy_i + margin).
    dL/dx_ij = [x_ij - x_iy_i + margin > 0] / N for j != y_i, and dL/dx_iy_i is minus the
    number of such positive margins in row i, over N. Returns (loss, dx).
    """
    x, y = _check_scores_and_labels("svm_loss", x, y)
    n = x.shape[0]
    rows = np.arange(n)
    correct = x[rows, y][:, None]
    margins = np.maximum(0, x - correct + margin)
    margins[rows, y] = 0  # the sum runs over the wrong classes only
    loss = margins.sum() / n

    positive = (margins > 0).astype(x.dtype)  # a tie (margin exactly 0) gets subgradient 0
    # x_y appears, with a minus sign, in every positive margin of its row.
    positive[rows, y] = -positive.sum(axis=1)
    return loss, positive / n


def softmax_loss(x, y):
    """Softmax followed by cross-entropy, averaged over the batch.

    p_ij = exp(x_ij) / sum_k exp(x_ik),  L = -(1/N) sum_i log p_iy_i,
    dL/dx = (p - onehot(y)) / N. Returns (loss, dx).
    """
    x, y = _check_scores_and_labels("softmax_loss", x, y)
    n = x.shape[0]
    rows = np.arange(n)
    # Shift each row by its max: softmax does not change, the largest exponent becomes 0 so exp
    # cannot overflow, and the row sum is at least 1 so its log is finite.
    shifted = x - x.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[rows, y].mean()

    dx = np.exp(log_p)
    dx[rows, y] -= 1
    return loss, dx / n


def l2_regularization(weights, reg):
    """L2 penalty: loss = reg/2 * sum_W ||W||_F^2, and dloss/dW = reg * W for each W.

    weights is a list or tuple of arrays, or a dict name -> array; the gradients come back in
    the same kind of container. Returns (loss, grads).
    """
    if isinstance(weights, dict):
        loss = 0.5 * reg * sum(float(np.sum(w * w)) for w in weights.values())
        return loss, {name: reg * w for name, w in weights.items()}
    if isinstance(weights, (list, tuple)):
        loss = 0.5 * reg * sum(float(np.sum(w * w)) for w in weights)
        return loss, type(weights)(reg * w for w in weights)
    raise TypeError(
        f"l2_regularization: weights must be a list, tuple or dict of arrays, "
        f"got {type(weights).__name__}"
    )
