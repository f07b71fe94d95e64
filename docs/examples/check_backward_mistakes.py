"""check_backward on three classic backprop mistakes, and on the correct layers."""
import numpy as np

from chainrule import manual
from chainrule.check_backward import check_backward
from chainrule.ops import relu


def affine_backward_without_batch_sum(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout  # mistake: b is shared by every example, so db = dout.sum(axis=0)
    return dx, dw, db


def affine_backward_without_transpose(dout, cache):
    x, w = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = dout.T @ x.reshape(x.shape[0], -1)  # mistake: dw = x.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_backward_masked_by_dout(dout, cache):
    return dout * (dout > 0)  # mistake: whether a unit was open depends on x, not on dout


rng = np.random.default_rng(0)
x = rng.standard_normal((4, 2, 3))  # N = 4 examples of shape (2, 3), flattened to D = 6
w = rng.standard_normal((6, 5))     # D x M
b = rng.standard_normal(5)
scores = rng.standard_normal((4, 5))
scores += 0.1 * np.sign(scores)     # keep relu's inputs off its kink at 0

reports = [
    check_backward(manual.affine_forward, affine_backward_without_batch_sum, [x, w, b]),
    check_backward(manual.affine_forward, affine_backward_without_transpose, [x, w, b]),
    check_backward(manual.relu_forward, relu_backward_masked_by_dout, [scores]),
    check_backward(manual.affine_forward, manual.affine_backward, [x, w, b]),
    # relu_forward calls np.maximum, which does not record a graph: autograd_forward gives
    # the autograd column the same function written with chainrule's relu.
    check_backward(manual.relu_forward, manual.relu_backward, [scores], autograd_forward=relu),
]
print("\n\n".join(str(report) for report in reports))
