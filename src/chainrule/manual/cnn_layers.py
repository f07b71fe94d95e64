"""cs231n assignment 2 by hand: convolution, max pooling, batch / layer / group normalisation
and the sandwich layers, in cs231n's signatures and conventions.

The conventions are cs231n's, not PyTorch's (docs/cnn.md sets them side by side):
``bn_param`` holds ``mode`` ("train" or "test"), ``eps``, ``momentum`` (0.9, the weight on the
*old* running value) and the running statistics, which start at zero, are stored back into
``bn_param`` and use the biased variance. The naive layers loop over positions, as the
assignment does: they are for reading and for checking, not for speed.
"""
import numpy as np

from .layers import relu_backward, relu_forward


def _pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))


def _out_size(size, field, pad, stride, name):
    span = size + 2 * pad - field
    if span < 0 or span % stride:
        raise ValueError(f"{name}: a window of {field} with stride {stride} and pad {pad} does "
                         f"not tile an input of size {size} ((size + 2 pad - field) must be a "
                         f"non-negative multiple of the stride)")
    return span // stride + 1


def conv_forward_naive(x, w, b, conv_param):
    """Convolution: x (N, C, H, W), w (F, C, HH, WW), b (F,), conv_param {"stride", "pad"}.

    out[n, f, i, j] = sum over c, di, dj of xpad[n, c, i*s + di, j*s + dj] * w[f, c, di, dj]
    + b[f]. Returns out (N, F, H', W') and cache = (x, w, b, conv_param).
    """
    stride, pad = conv_param["stride"], conv_param["pad"]
    n, c, h, width = x.shape
    f, cw, hh, ww = w.shape
    if cw != c:
        raise ValueError(f"conv_forward_naive: x has {c} channels, w of shape {w.shape} "
                         f"expects {cw}")
    oh = _out_size(h, hh, pad, stride, "conv_forward_naive")
    ow = _out_size(width, ww, pad, stride, "conv_forward_naive")
    xpad = _pad(x, pad)
    out = np.zeros((n, f, oh, ow), dtype=np.result_type(x, w))
    for i in range(oh):
        for j in range(ow):
            patch = xpad[:, :, i * stride:i * stride + hh, j * stride:j * stride + ww]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive. Each output position used one patch of xpad with
    every filter, so:

        dw[f] = sum over n, i, j of dout[n, f, i, j] * patch(n, i, j)
        dxpad[patch(n, i, j)] += sum over f of dout[n, f, i, j] * w[f]   (then crop the pad)
        db[f] = sum of dout[:, f]

    Spreading dout back through w patch by patch is the convolution of dout with the flipped
    kernel. Returns (dx, dw, db).
    """
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    _, _, hh, ww = w.shape
    _, _, oh, ow = dout.shape
    xpad = _pad(x, pad)
    dxpad = np.zeros_like(xpad)
    dw = np.zeros_like(w)
    for i in range(oh):
        for j in range(ow):
            rows = slice(i * stride, i * stride + hh)
            cols = slice(j * stride, j * stride + ww)
            g = dout[:, :, i, j]  # (N, F)
            dw += np.tensordot(g, xpad[:, :, rows, cols], axes=([0], [0]))
            dxpad[:, :, rows, cols] += np.tensordot(g, w, axes=([1], [0]))
    dx = dxpad[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]  # crop what padding added
    db = dout.sum(axis=(0, 2, 3))
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Max pooling: pool_param {"pool_height", "pool_width", "stride"}. Returns out and
    cache = (x, pool_param)."""
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, h, w = x.shape
    oh = _out_size(h, ph, 0, stride, "max_pool_forward_naive")
    ow = _out_size(w, pw, 0, stride, "max_pool_forward_naive")
    out = np.zeros((n, c, oh, ow), dtype=x.dtype)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Each window's gradient goes to the position of its maximum (the first one at a tie,
    as in PyTorch), nothing to the others. Returns dx."""
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    n, c, oh, ow = dout.shape
    dx = np.zeros_like(x)
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            flat = window.reshape(n, c, -1).argmax(axis=2)
            r, s = np.unravel_index(flat, (ph, pw))
            nn_, cc = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
            dx[nn_, cc, i * stride + r, j * stride + s] += dout[:, :, i, j]
    return dx


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalisation of x (N, D), per feature. In "train" mode the batch mean and
    (biased) variance normalise x, and the running averages in ``bn_param`` move:
    running = momentum * running + (1 - momentum) * batch (momentum 0.9 by default, starting
    from zeros). In "test" mode the running averages are used. Returns out and cache."""
    mode = bn_param["mode"]
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    d = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(d, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(d, dtype=x.dtype))
    if mode == "train":
        mu = x.mean(axis=0)
        var = x.var(axis=0)
        std = np.sqrt(var + eps)
        xhat = (x - mu) / std
        out = gamma * xhat + beta
        cache = (xhat, gamma, std)
        running_mean = momentum * running_mean + (1 - momentum) * mu
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError(f"batchnorm_forward: mode must be 'train' or 'test', got {mode!r}")
    bn_param["running_mean"], bn_param["running_var"] = running_mean, running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward through the computational graph of batch norm, node by node:
    xhat = xc / std, xc = x - mu, std = sqrt(var + eps), var = mean(xc^2). The gradient
    reaches x three ways: directly through xc, through the mean mu and through the variance.
    Returns (dx, dgamma, dbeta)."""
    xhat, gamma, std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    xc = xhat * std
    dstd = -(dxhat * xc).sum(axis=0) / std ** 2
    dvar = dstd / (2 * std)
    dxc = dxhat / std + 2 * xc * dvar / n  # directly, and through the variance
    dmu = -dxc.sum(axis=0)
    dx = dxc + dmu / n  # and through the mean
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """The same gradient simplified on paper to one line:
    dx = gamma / (N std) * (N dout - sum(dout) - xhat * sum(dout * xhat))."""
    xhat, gamma, std = cache
    n = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dx = gamma / (n * std) * (n * dout - dbeta - xhat * dgamma)
    return dx, dgamma, dbeta


def _to_rows(x):
    n, c, h, w = x.shape
    return x.transpose(0, 2, 3, 1).reshape(-1, c)


def _from_rows(rows, shape):
    n, c, h, w = shape
    return rows.reshape(n, h, w, c).transpose(0, 3, 1, 2)


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm of x (N, C, H, W) per channel, over N, H and W: batchnorm_forward on the
    (N*H*W, C) rows."""
    out, cache = batchnorm_forward(_to_rows(x), gamma, beta, bn_param)
    return _from_rows(out, x.shape), (cache, x.shape)


def spatial_batchnorm_backward(dout, cache):
    """Returns (dx, dgamma, dbeta) of spatial_batchnorm_forward."""
    inner, shape = cache
    dx, dgamma, dbeta = batchnorm_backward_alt(_to_rows(dout), inner)
    return _from_rows(dx, shape), dgamma, dbeta


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer norm of x (N, D): each row normalised over its D features (the same in training
    and testing; no running statistics). ln_param may give "eps"."""
    eps = ln_param.get("eps", 1e-5)
    mu = x.mean(axis=1, keepdims=True)
    std = np.sqrt(x.var(axis=1, keepdims=True) + eps)
    xhat = (x - mu) / std
    return gamma * xhat + beta, (xhat, gamma, std)


def layernorm_backward(dout, cache):
    """Batch norm's one-line gradient with the roles of rows and features swapped. Returns
    (dx, dgamma, dbeta)."""
    xhat, gamma, std = cache
    d = dout.shape[1]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dx = (d * dxhat - dxhat.sum(axis=1, keepdims=True)
          - xhat * (dxhat * xhat).sum(axis=1, keepdims=True)) / (d * std)
    return dx, dgamma, dbeta


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group norm of x (N, C, H, W): each example's channels in G groups, each group
    normalised over its channels and positions; gamma and beta have shape (1, C, 1, 1)."""
    eps = gn_param.get("eps", 1e-5)
    n, c, h, w = x.shape
    if c % G:
        raise ValueError(f"spatial_groupnorm_forward: {c} channels do not split into {G} groups")
    groups = x.reshape(n, G, -1)
    mu = groups.mean(axis=2, keepdims=True)
    std = np.sqrt(groups.var(axis=2, keepdims=True) + eps)
    xhat = ((groups - mu) / std).reshape(x.shape)
    return gamma * xhat + beta, (xhat, gamma, std, G)


def spatial_groupnorm_backward(dout, cache):
    """Layer norm's gradient within each group. Returns (dx, dgamma, dbeta)."""
    xhat, gamma, std, G = cache
    n, c, h, w = dout.shape
    dbeta = dout.sum(axis=(0, 2, 3), keepdims=True)
    dgamma = (dout * xhat).sum(axis=(0, 2, 3), keepdims=True)
    dxhat = (dout * gamma).reshape(n, G, -1)
    xg = xhat.reshape(n, G, -1)
    m = dxhat.shape[2]
    dx = (m * dxhat - dxhat.sum(axis=2, keepdims=True)
          - xg * (dxhat * xg).sum(axis=2, keepdims=True)) / (m * std)
    return dx.reshape(dout.shape), dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """conv then ReLU; returns out and both caches."""
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    out, relu_cache = relu_forward(a)
    return out, (conv_cache, relu_cache)


def conv_relu_backward(dout, cache):
    """Returns (dx, dw, db) of conv_relu_forward."""
    conv_cache, relu_cache = cache
    return conv_backward_naive(relu_backward(dout, relu_cache), conv_cache)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """conv, ReLU, then max pooling: the block of cs231n's three-layer ConvNet."""
    a, conv_cache = conv_forward_naive(x, w, b, conv_param)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_naive(s, pool_param)
    return out, (conv_cache, relu_cache, pool_cache)


def conv_relu_pool_backward(dout, cache):
    """Returns (dx, dw, db) of conv_relu_pool_forward."""
    conv_cache, relu_cache, pool_cache = cache
    ds = max_pool_backward_naive(dout, pool_cache)
    return conv_backward_naive(relu_backward(ds, relu_cache), conv_cache)


__all__ = ["conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive",
           "max_pool_backward_naive", "batchnorm_forward", "batchnorm_backward",
           "batchnorm_backward_alt", "spatial_batchnorm_forward", "spatial_batchnorm_backward",
           "layernorm_forward", "layernorm_backward", "spatial_groupnorm_forward",
           "spatial_groupnorm_backward", "conv_relu_forward", "conv_relu_backward",
           "conv_relu_pool_forward", "conv_relu_pool_backward"]
