"""The convolutional-network mistakes check_backward can name: a convolution's input gradient
computed with the kernel not flipped, or with the padding not cropped; a batch-norm gradient
that forgets the paths through the mean and the variance; a max-pool gradient routed to the
wrong position of its window.

Each test rebuilds the mistaken gradient from the layer's inputs and ``dout`` (trying the
strides and paddings that fit the shapes) and compares it with what the backward returned."""
from ..backend import xp
from .numeric import DIAGNOSIS_TOL, _relative_error
from .report import Diagnosis


def _tol_close(got, candidate):
    return got.shape == candidate.shape and _relative_error(got, candidate) <= DIAGNOSIS_TOL


def _conv_geometries(x_shape, w_shape, out_shape):
    """(stride, pad) pairs under which a (N, C, H, W) input and an (F, C, HH, WW) kernel give
    the output's spatial size."""
    (h, w), (hh, ww), (oh, ow) = x_shape[2:], w_shape[2:], out_shape[2:]
    for stride in (1, 2, 3):
        for pad in range(0, max(hh, ww)):
            if (h + 2 * pad - hh) // stride + 1 == oh and (w + 2 * pad - ww) // stride + 1 == ow:
                yield stride, pad


def _conv_layer(x, problem):
    """(x, w) if ``x`` is the input of a 4-D convolution among the inputs, else None."""
    dout = problem.dout
    if problem.kind != "layer" or x.ndim != 4 or dout.ndim != 4:
        return None
    for w in problem.values:
        if w is not x and w.ndim == 4 and w.shape[1] == x.shape[1] \
                and w.shape[0] == dout.shape[1]:
            return w
    return None


def _input_gradient(dout, w, x_shape, stride, pad):
    from ..ops.conv import conv2d_input_grad
    return conv2d_input_grad(dout, w, x_shape=x_shape, stride=(stride, stride),
                             padding=(pad, pad), dilation=(1, 1), groups=1)


def kernel_not_flipped(got, expected, x, problem):
    w = _conv_layer(x, problem)
    if w is None or got.shape != x.shape:
        return None
    flipped = w[:, :, ::-1, ::-1]
    for stride, pad in _conv_geometries(x.shape, w.shape, problem.dout.shape):
        if _tol_close(got, _input_gradient(problem.dout, flipped, x.shape, stride, pad)):
            return Diagnosis("kernel not flipped", (
                "got is dout spread back through the kernel turned by 180 degrees. The "
                "forward slides the kernel without flipping it (cross-correlation), so each "
                "patch's gradient is dout times the kernel as it is: "
                "`dxpad[patch] += sum over f of dout[n, f, i, j] * w[f]`."))
    return None


def padding_not_cropped(got, expected, x, problem):
    """Called on a shape mismatch: got is the padded input's gradient."""
    if got.ndim != 4 or expected.ndim != 4 or got.shape[:2] != expected.shape[:2]:
        return None
    extra = got.shape[2] - expected.shape[2]
    if extra <= 0 or extra % 2 or got.shape[3] - expected.shape[3] != extra:
        return None
    pad = extra // 2
    if _tol_close(got[:, :, pad:-pad, pad:-pad], expected):
        return Diagnosis("padding not cropped", (
            f"got shape {got.shape} is the gradient of the padded input: its centre is the "
            f"right gradient. Padding added {pad} rows and columns on each side, which are "
            f"not inputs; crop them: `dx = dxpad[:, :, {pad}:-{pad}, {pad}:-{pad}]`."))
    return None


def _norm_axes(x, problem):
    if problem.kind != "layer" or problem.dout.shape != x.shape:
        return None
    params = [v for v in problem.values if v is not x]
    if x.ndim == 2 and len(params) >= 1 and params[0].shape == (x.shape[1],):
        return (0,), params[0]
    if x.ndim == 4 and len(params) >= 1 and params[0].size == x.shape[1]:
        return (0, 2, 3), params[0].reshape(1, -1, 1, 1)
    return None


def batchnorm_terms_missing(got, expected, x, problem):
    found = _norm_axes(x, problem)
    if found is None:
        return None
    axes, gamma = found
    dout = problem.dout
    for eps in (1e-5, 0.0):
        mean = x.mean(axis=axes, keepdims=True)
        std = xp.sqrt(x.var(axis=axes, keepdims=True) + eps)
        xhat = (x - mean) / std
        scale = gamma / std
        candidates = {
            "direct": scale * dout,
            "no mean": scale * (dout - xhat * (dout * xhat).mean(axis=axes, keepdims=True)),
            "no variance": scale * (dout - dout.mean(axis=axes, keepdims=True)),
        }
        for name, candidate in candidates.items():
            if _tol_close(got, candidate):
                missing = {"direct": "both the path through the mean and the path through the "
                                     "variance",
                           "no mean": "the path through the batch mean",
                           "no variance": "the path through the batch variance"}[name]
                return Diagnosis("batchnorm terms missing", (
                    f"got leaves out {missing}. Every x_i moves the batch mean and variance, "
                    f"which normalise every other example too, so dx has three terms: "
                    f"dx = gamma / (N std) * (N dout - sum(dout) - xhat * sum(dout * xhat))."))
    return None


def pool_routed_wrong(got, expected, x, problem):
    dout = problem.dout
    if problem.kind != "layer" or x.ndim != 4 or dout.ndim != 4 or got.shape != x.shape \
            or dout.shape[:2] != x.shape[:2] or len(problem.values) != 1:
        return None
    (h, w), (oh, ow) = x.shape[2:], dout.shape[2:]
    if oh == 0 or ow == 0 or h % oh or w % ow:
        return None
    kh, kw = h // oh, w // ow
    windows = got[:, :, :oh * kh, :ow * kw].reshape(*got.shape[:2], oh, kh, ow, kw)
    if not _tol_close(windows.sum(axis=(3, 5)), dout):
        return None
    nonzero = (windows != 0).sum(axis=(3, 5))
    return Diagnosis("pool routed wrong", (
        f"each {kh}x{kw} window passes its whole gradient on"
        f"{' to one position' if (nonzero <= 1).all() else ''}, but not to the position of its "
        f"maximum. Record where the maximum is (argmax over the flattened window, unravelled "
        f"with the window's own shape) and send dout[n, c, i, j] there alone."))


CNN_TESTS = (kernel_not_flipped, batchnorm_terms_missing, pool_routed_wrong)
