"""The textbook network's forward and backward pass on raw tensors."""
import numpy as np

import chainrule as cr
from chainrule.nn import functional as F

rng = np.random.default_rng(0)
x = cr.tensor(rng.random((4, 3), dtype=np.float32))          # 4 examples, d = 3
y = cr.tensor([0, 1, 1, 0])                                  # labels, q = 2 classes
W1 = cr.tensor(rng.normal(0, 0.5, (5, 3)).astype(np.float32), requires_grad=True)  # h x d
W2 = cr.tensor(rng.normal(0, 0.5, (2, 5)).astype(np.float32), requires_grad=True)  # q x h

z = x @ W1.T                       # forward propagation stores what backward will need
h = z.relu()
o = h @ W2.T
L = F.cross_entropy(o, y)          # softmax, then the mean negative log-likelihood
s = 0.01 / 2 * ((W1 * W1).sum() + (W2 * W2).sum())
J = L + s
J.backward()                       # backward propagation: the chain rule in reverse order
print(J)
print(W2.grad)
# gradcheck runs in float64, so the batch joins in float64 too (matmul does not promote).
x64 = x.astype("float64")
print(cr.gradcheck(lambda W1, W2: F.cross_entropy((x64 @ W1.T).relu() @ W2.T, y),
                   [W1, W2]))
