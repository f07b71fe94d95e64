"""cr.compile on the d2l MLP: the program it replays, its guards, a retrace and a refusal."""
import os

import numpy as np

import chainrule as cr
from chainrule import models, nn, optim


def d2l_step():
    cr.manual_seed(0)
    model = models.mlp(784, [256], 10)              # z = x W1^T + b1, h = relu(z), o = h W2^T + b2
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return model, step


def batch(n, seed):
    rng = np.random.default_rng(seed)
    return cr.tensor(rng.random((n, 784), dtype=np.float32)), rng.integers(0, 10, n)


model, step = d2l_step()
eager_model, eager_step = d2l_step()
compiled = cr.compile(step)
for seed in range(5):
    x, y = batch(64, seed)
    how = "replayed" if compiled.plans else "traced"
    loss, expected = compiled(x, y).item(), eager_step(x, y).item()
    print(f"step {seed} ({how}): loss {loss:.6f}, eager {expected:.6f}, equal: {loss == expected}")
print("parameters equal to eager, bit for bit:",
      all(np.array_equal(p.detach().numpy(), q.detach().numpy())
          for p, q in zip(model.parameters(), eager_model.parameters())))

# The program the replays run (its top lines, which allocate the buffers, are left out here).
print(compiled.code[compiled.code.index("def step"):])

x, y = batch(32, 9)  # another batch size: the shape guard fails, and the step is traced again
compiled(x, y)
compiled(x, y)
print(compiled.explain_misses())
print(len(compiled.plans), "plans")


def careless(x, y):
    loss = nn.functional.cross_entropy(model(x), y)
    if loss > 2.5:  # a Python branch on a tensor's value
        loss = loss * 0.5
    return loss


try:
    cr.compile(careless)(x, y)
except cr.compile.CaptureError as error:
    print(str(error).replace(os.path.dirname(os.path.abspath(__file__)) + os.sep, ""))
