"""PyTorch's meanings under PyTorch's names (docs/semantics.md), printed."""
import numpy as np

import chainrule as cr

x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]], requires_grad=True)
print("x.transpose(0, 1).shape:", x.transpose(0, 1).shape)
print("x.var():", x.var())
print("x.var(dim=1, correction=0):", x.var(dim=1, correction=0))
values, indices = x.max(1)
print("x.max(1):", values, indices)
print("dtypes:", (cr.tensor([1, 2]) + 0.5).dtype, (x * np.float64(2.0)).dtype,
      (cr.tensor([4]) ** 0.5).dtype)
y = (np.tanh(x) + x).sum()
print("np.tanh(x) + x, summed:", type(y).__name__, "made by", y.op)
try:
    np.asarray(x)
except cr.GradientError as error:
    print("np.asarray(x): GradientError:", error)
try:
    x -= 0.1
except cr.GradientError as error:
    print("x -= 0.1: GradientError:", error)
