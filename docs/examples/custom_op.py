"""A user-defined primitive: softsign(x) = x / (1 + |x|), with its VJP declared beside it."""
import numpy as np

import chainrule as cr


@cr.primitive
def softsign(x):
    return x / (1 + np.abs(x))


@softsign.vjp(formula="{grad} / (1 + |{x}|)^2")
def _(grad, x):
    # d/dx x / (1 + |x|) = 1 / (1 + |x|)^2. Written with operators and chainrule functions that
    # work on both arrays and tensors, so create_graph=True (second derivatives) works too.
    denominator = 1 + cr.abs(x)
    return grad / (denominator * denominator)


x = cr.tensor([-2.0, 0.5, 3.0], requires_grad=True)
y = softsign(x)
print(y)
y.sum().backward()
print(x.grad)
print("gradcheck:", cr.gradcheck(softsign, [x]))
print("gradgradcheck:", cr.gradgradcheck(softsign, [x]))
