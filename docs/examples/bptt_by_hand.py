"""Backpropagation through time by hand (chainrule.manual.rnn_loss) against autograd, what
truncation and the powers of W_hh do, and check_backward naming three mistakes of BPTT and of the
backprop-ninja exercise."""
import numpy as np

import chainrule as cr
from chainrule import manual
from chainrule.check_backward import check_backward
from chainrule.nn import functional as F

rng = np.random.default_rng(0)
N, T, D, H, V = 2, 6, 3, 4, 5
x, y = rng.standard_normal((N, T, D)), rng.integers(0, V, size=(N, T))
params = [rng.standard_normal((N, H)), 0.5 * rng.standard_normal((D, H)),
          0.5 * rng.standard_normal((H, H)), 0.1 * rng.standard_normal(H),
          rng.standard_normal((H, V)), 0.1 * rng.standard_normal(V)]


def autograd_loss(truncate=None):
    """The same network with chainrule ops; the state is detached every `truncate` steps."""
    leaves = [cr.tensor(a, requires_grad=True) for a in (x, *params)]
    xt, h, Wx, Wh, b, Wq, bq = leaves
    scores = []
    for t in range(T):
        if truncate and t > 0 and t % truncate == 0:
            h = h.detach()
        h = cr.tanh(xt[:, t] @ Wx + h @ Wh + b)
        scores.append(h @ Wq + bq)
    loss = F.cross_entropy(cr.stack(scores, dim=1).reshape(-1, V), cr.tensor(y.reshape(-1)))
    loss.backward()
    return [leaf.grad.numpy() for leaf in leaves]


names = ["dx", "dh0", "dWx", "dWh", "db", "dWq", "dbq"]
for k in (None, 2):
    loss, grads = manual.rnn_loss(x, y, *params, truncate=k)
    errors = [np.abs(g - a).max() / np.abs(a).max() for g, a in zip(grads, autograd_loss(k))]
    print(f"truncate={k}: loss {loss:.6f}, every gradient equal to autograd's to 1e-12: "
          f"{max(errors) < 1e-12}, |dWh| = {np.linalg.norm(grads[3]):.4f}")

# dL/dh_t from the last output alone, carried back t steps: powers of W_hh^T (times tanh').
q = np.linalg.qr(rng.standard_normal((H, H)))[0]
for gain in (0.5, 1.0):
    hs, cache = manual.rnn_forward(0.01 * x[:, :1].repeat(30, axis=1), np.zeros((N, H)),
                                   rng.standard_normal((D, H)), gain * q, np.zeros(H))
    dh = np.zeros_like(hs)
    dh[:, -1] = 1.0
    dx = manual.rnn_backward(dh, cache)[0]
    print(f"W_hh = {gain} x orthogonal: |dL/dx_1| / |dL/dx_30| = "
          f"{np.linalg.norm(dx[:, 0]) / np.linalg.norm(dx[:, -1]):.1e}")


def rnn_backward_without_carry(dh, cache):
    dx, dWx, dWh, db = np.zeros(dh.shape[:2] + (D,)), 0, 0, 0
    for t in reversed(range(dh.shape[1])):
        # mistake: the gradient entering step t is dh[:, t] + dprev from step t+1
        dx[:, t], dprev, dWx_t, dWh_t, db_t = manual.rnn_step_backward(dh[:, t], cache[t])
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    return dx, dprev, dWx, dWh, db


def batchnorm1d_backward_without_mean(dout, cache):
    xhat, gamma, diff, var, inv, eps, divisor = cache
    dxhat = dout * gamma
    dvar = (dxhat * diff).sum(0, keepdims=True) * -0.5 * (var + eps) ** -1.5
    ddiff = dxhat * inv + 2 * diff / divisor * dvar
    dgamma, dbeta = (dout * xhat).sum(0, keepdims=True), dout.sum(0, keepdims=True)
    return ddiff, dgamma, dbeta  # mistake: dx = ddiff - ddiff.sum(0) / N


def embedding_backward_by_assignment(dout, cache):
    idx, shape = cache
    dweight = np.zeros(shape)
    dweight[idx] += dout  # mistake: a repeated index keeps one row of dout
    return dweight


print()
print(check_backward(manual.rnn_forward, rnn_backward_without_carry,
                     [rng.standard_normal((2, 3, D)), rng.standard_normal((2, 3)),
                      0.5 * rng.standard_normal((D, 3)), 0.5 * rng.standard_normal((3, 3)),
                      rng.standard_normal(3)]))
print()
print(check_backward(manual.batchnorm1d_forward, batchnorm1d_backward_without_mean,
                     [rng.standard_normal((5, 3)), rng.standard_normal((1, 3)),
                      rng.standard_normal((1, 3))]))
print()
print(check_backward(manual.embedding_forward, embedding_backward_by_assignment,
                     [np.array([[0, 3, 3], [1, 3, 0]]), rng.standard_normal((5, 2))]))
