"""The derivation of d2l 4.7, step by step, on a network small enough to read: d = 4 inputs,
h = 5 hidden units, q = 3 classes, a batch of N = 2 examples, lam = 0.1.

First the hand-written manual.TwoLayerMLP: every intermediate beside its formula and shape,
then every gradient in the order the textbook derives it. Then the same network built from
chainrule.nn, differentiated by autograd, and the largest difference between the two.
"""
import numpy as np

import chainrule as cr
from chainrule import manual, nn
from chainrule.nn import functional as F

d, h, q, N, lam = 4, 5, 3, 2, 0.1
rng = np.random.default_rng(0)
# As in the textbook, the layers have no biases: z = W1 x, o = W2 h.
model = manual.TwoLayerMLP.init(d, h, q, seed=0, sigma=0.5, bias=False, activation="relu",
                                lam=lam, loss="softmax")
X = rng.standard_normal((d, N))  # one example per COLUMN, as in the textbook
y = np.array([2, 0])


def show(name, formula, value):
    shape = str(np.shape(value))
    print(f"{name:6} = {formula:38} shape {shape}")
    # + 0.0 turns the -0.0 that relu's mask leaves behind into 0.0 for printing.
    text = np.array2string(np.asarray(value) + 0.0, precision=4, suppress_small=True)
    print("\n".join("          " + line for line in text.splitlines()))


np.set_printoptions(floatmode="fixed")
print(f"W1 is h x d = {model.W1.shape}, W2 is q x h = {model.W2.shape}, X is d x N = {X.shape}, "
      f"y = {y}, lam = {lam}\n")

print("Forward propagation: compute and keep each intermediate, from the input to J")
forward = model.forward(X, y)
show("z", "W1 X", forward["z"])
show("h", "phi(z) = relu(z)", forward["h"])
show("o", "W2 h", forward["o"])
show("L", "l(o, y), softmax cross-entropy", forward["L"])
show("s", "lam/2 (||W1||_F^2 + ||W2||_F^2)", forward["s"])
show("J", "L + s", forward["J"])

print("\nBackward propagation: the same graph in reverse, dJ/dL = dJ/ds = 1")
grads = model.backward(forward)
show("dJ/do", "dL/do = (softmax(o) - onehot(y)) / N", grads["dJ/do"])
show("dJ/dW2", "dJ/do h^T + lam W2", grads["dJ/dW2"])
show("dJ/dh", "W2^T dJ/do", grads["dJ/dh"])
show("dJ/dz", "dJ/dh * phi'(z), phi'(z) = [z > 0]", grads["dJ/dz"])
show("dJ/dW1", "dJ/dz X^T + lam W1", grads["dJ/dW1"])

print("\nThe same network from chainrule.nn, differentiated by autograd")
fc1 = nn.Linear(d, h, bias=False, dtype="float64")
fc2 = nn.Linear(h, q, bias=False, dtype="float64")
with cr.no_grad():  # parameters are written, not computed
    fc1.weight.copy_(model.W1)  # Linear's weight is (out, in): the textbook's W1 as it is
    fc2.weight.copy_(model.W2)
z = fc1(X.T)  # nn takes one example per ROW, so its z, h, o are the textbook's transposed
hidden = F.relu(z)
o = fc2(hidden)
L = F.cross_entropy(o, y)
s = nn.l2_penalty([fc1.weight, fc2.weight], lam)  # the weights only, as in the textbook
J = L + s
dJ_do, dJ_dh, dJ_dz, dJ_dW1, dJ_dW2 = cr.grad(J, [o, hidden, z, fc1.weight, fc2.weight])

pairs = [
    ("J", forward["J"], J.detach().numpy()),
    ("dJ/do", grads["dJ/do"], dJ_do.detach().numpy().T),
    ("dJ/dW2", grads["dJ/dW2"], dJ_dW2.detach().numpy()),
    ("dJ/dh", grads["dJ/dh"], dJ_dh.detach().numpy().T),
    ("dJ/dz", grads["dJ/dz"], dJ_dz.detach().numpy().T),
    ("dJ/dW1", grads["dJ/dW1"], dJ_dW1.detach().numpy()),
]
print(f"{'':6}   max |manual - autograd|")
for name, by_hand, by_autograd in pairs:
    print(f"{name:6}   {np.abs(by_hand - by_autograd).max():.1e}")
