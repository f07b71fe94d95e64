"""The mistakes check_backward can name in backpropagation through time and in the backprop-ninja
exercise: a recurrent weight's gradient taken from one time step, the hidden state's gradient
not carried back from step t+1 (or the outputs' gradients before the last step dropped), a
batch-norm backward that forgets the path through the batch mean (the exercise's unbiased
variance, gamma of shape (1, D)), and an embedding backward that assigns rows instead of
adding them, so repeated indices lose contributions.

As in cnn_diagnose.py, each test recognises the layer from its inputs and ``dout``, rebuilds
the mistaken gradient, and compares it with what the backward returned."""
from ..backend import xp
from .cnn_diagnose import _tol_close
from .report import Diagnosis


def _rnn_layer(problem):
    """(x, h0, Wx, Wh, b, hs) when the inputs are a tanh RNN's, in cs231n's order, and its
    hidden states, recomputed here, are what the forward returned; else None."""
    values, dout = problem.values, problem.dout
    if problem.kind != "layer" or len(values) != 5 or dout.ndim != 3:
        return None
    x, h0, Wx, Wh, b = values
    n, t_steps, hidden = dout.shape
    if x.shape[:2] != (n, t_steps) or h0.shape != (n, hidden) or Wh.shape != (hidden, hidden) \
            or Wx.shape != (x.shape[2], hidden) or b.shape != (hidden,):
        return None
    hs, prev = xp.zeros(dout.shape), h0
    for t in range(t_steps):
        prev = xp.tanh(x[:, t] @ Wx + prev @ Wh + b)
        hs[:, t] = prev
    if not _tol_close(xp.asarray(problem.output(values), dtype=xp.float64), hs):
        return None
    return x, h0, Wx, Wh, hs


def _bptt(layer, dout, carry=True):
    """Gradients (dx, dh0, dWx, dWh, db) and each step's (dWx_t, dWh_t, db_t); carry=False
    leaves out the gradient from step t+1."""
    x, h0, Wx, Wh, hs = layer
    dx, dprev, steps = xp.zeros(x.shape), xp.zeros(h0.shape), []
    for t in reversed(range(x.shape[1])):
        prev = hs[:, t - 1] if t > 0 else h0
        da = (dout[:, t] + (dprev if carry else 0)) * (1 - hs[:, t] ** 2)
        dx[:, t], dprev = da @ Wx.T, da @ Wh.T
        steps.insert(0, (x[:, t].T @ da, prev.T @ da, da.sum(axis=0)))
    totals = [sum(step[i] for step in steps) for i in range(3)]
    return [dx, dprev, *totals], steps


def missing_sum_over_time(got, expected, x, problem):
    layer = _rnn_layer(problem)
    if layer is None:
        return None
    k = next(i for i, value in enumerate(problem.values) if value is x)
    names = ["dx", "dh0", "dWx", "dWh", "db"]
    t_steps = problem.dout.shape[1]
    if k >= 2:
        for t, step in enumerate(_bptt(layer, problem.dout)[1]):
            if _tol_close(got, step[k - 2]):
                which = "the last" if t == t_steps - 1 else f"step {t} of {t_steps}"
                return Diagnosis("missing sum over time", (
                    f"got is {names[k]} from one time step ({which}) alone. The weight is "
                    f"shared by all {t_steps} steps, so its gradient is the sum of every "
                    f"step's contribution: accumulate inside the loop, `{names[k]} += "
                    f"{names[k]}_t`, rather than overwrite it."))
    if _tol_close(got, _bptt(layer, problem.dout, carry=False)[0][k]):
        return Diagnosis("missing sum over time", (
            "got is what backward gives when each step sees only dh[:, t], the gradient from "
            "its own output: the gradient from step t+1 is not carried back. h_t reaches the "
            "loss along two paths, through o_t and through h_{t+1}, so the gradient entering "
            "step t is their sum, `dh[:, t] + dprev_h`, with dprev_h from the step after."))
    last_only = xp.zeros(problem.dout.shape)
    last_only[:, -1] = problem.dout[:, -1]
    if t_steps > 1 and _tol_close(got, _bptt(layer, last_only)[0][k]):
        return Diagnosis("missing sum over time", (
            "got uses only dh[:, T-1], the last output's gradient, carried back through time; "
            "every step's output adds its own dh[:, t] to h_t's gradient, so the gradient "
            "entering step t is `dh[:, t] + dprev_h`."))
    return None


def batchnorm_mean_path_missing(got, expected, x, problem):
    dout = problem.dout
    params = [value for value in problem.values if value is not x]
    if problem.kind != "layer" or x.ndim != 2 or dout.shape != x.shape or x.shape[0] < 2 \
            or not params or params[0].size != x.shape[1]:
        return None
    n, gamma = x.shape[0], params[0].reshape(1, -1)
    diff = x - x.mean(axis=0, keepdims=True)
    for divisor in (n - 1, n):
        for eps in (1e-5, 0.0, 1e-3):
            std = xp.sqrt((diff**2).sum(axis=0, keepdims=True) / divisor + eps)
            xhat = diff / std
            no_mean = gamma / std * (dout - xhat * (dout * xhat).sum(axis=0) / divisor)
            if not _tol_close(no_mean - no_mean.mean(axis=0), expected):
                continue  # not batch norm with this variance and eps
            if _tol_close(got, no_mean):
                return Diagnosis("batchnorm mean path missing", (
                    "got leaves out the path through the batch mean. Every x_i moves the "
                    "mean, which is subtracted from every example, so after `ddiff` (the "
                    "gradient of diff = x - mean, both of its uses included) comes "
                    "`dmean = -ddiff.sum(0)` and `dx = ddiff + dmean / N`; in the one-line "
                    "formula it is the `- dout.sum(0)` term."))
            return None
    return None


def embedding_scatter_lost(got, expected, x, problem):
    dout = problem.dout
    if problem.kind != "layer" or len(problem.values) != 1 or x.ndim != 2 \
            or got.shape != x.shape or dout.ndim < 1 or dout.shape[-1] != x.shape[1]:
        return None
    rows = xp.asarray(problem.output(problem.values), dtype=xp.float64).reshape(-1, x.shape[1])
    matches = (rows[:, None, :] == x[None, :, :]).all(axis=2)
    if rows.shape[0] == 0 or not matches.any(axis=1).all():
        return None  # not a lookup of the table's rows
    idx = matches.argmax(axis=1)
    grads = dout.reshape(-1, x.shape[1])
    for order in (slice(None), slice(None, None, -1)):  # the last write wins, or the first
        assigned = xp.zeros(x.shape)
        assigned[idx[order]] = grads[order]
        if _tol_close(got, assigned):
            counts = xp.bincount(idx, minlength=x.shape[0])
            return Diagnosis("embedding scatter lost", (
                f"got keeps one contribution per row of the table, but {int((counts > 1).sum())}"
                f" row(s) were read more than once (index {int(counts.argmax())}, "
                f"{int(counts.max())} times): `dW[idx] = dout` and `dW[idx] += dout` write a "
                f"repeated index once, as NumPy buffers fancy assignment. A row's gradient is "
                f"the sum over every place it was read: `np.add.at(dW, idx, dout)`."))
    return None


SEQUENCE_TESTS = (missing_sum_over_time, batchnorm_mean_path_missing, embedding_scatter_lost)
