"""check_backward: test a hand-written backward pass, and when a gradient is wrong, say how.

    out, cache = affine_forward(x, w, b)           # cs231n's form
    dx, dw, db = affine_backward(dout, cache)
    report = chainrule.check_backward(affine_forward, affine_backward, [x, w, b])
    print(report)                                   # one row per gradient
    report.passed

Every gradient the backward returns is compared with float64 central differences of
sum(out * dout) and, where the forward also runs on chainrule Tensors, with autograd. A wrong
gradient gets a diagnosis: wrong shape, transposed, off by a constant factor, missing the sum
over the batch, wrong sign, a gate's mask taken from dout instead of x, a convolution's or a
recurrent network's typical mistakes (a missing sum over time, a batch-norm mean's path left
out, an embedding scatter that loses repeated indices), or wrong values.
"""

from .checker import check_backward
from .report import BackwardReport, Diagnosis, GradientCheck

__all__ = ["check_backward", "BackwardReport", "GradientCheck", "Diagnosis"]
