"""Activation checkpointing on 16 Linear+Tanh blocks (width 256) in 4 segments: the same
gradients as the plain model, what the memory ledger lists, and the peak memory of a step
(forward and backward, gradient buffers already allocated) measured with tracemalloc."""
import tracemalloc

import numpy as np

import chainrule as cr
from chainrule import nn
from chainrule.inspect.memory import memory_report
from chainrule.utils.checkpoint import checkpoint_sequential

cr.manual_seed(0)
layers = []
for _ in range(16):
    layers += [nn.Linear(256, 256), nn.Tanh()]
model = nn.Sequential(*layers)


def gradients(loss):
    model.zero_grad()
    loss.backward()
    return [p.grad.numpy().copy() for p in model.parameters()]


x = cr.randn(1024, 256)
plain = gradients(model(x).sum())
ours = gradients(checkpoint_sequential(model, 4, x).sum())
print("identical gradients:", all(np.array_equal(a, b) for a, b in zip(plain, ours)))

plain = memory_report(model(x).sum(), model)
report = memory_report(checkpoint_sequential(model, 4, x).sum(), model)
print(f"ledger, plain:        saved for backward {plain.saved_bytes:>10,} B")
print(f"ledger, checkpointed: saved for backward {report.saved_bytes:>10,} B, "
      f"recomputed in backward {report.recomputed_bytes:,} B")
print(f"the parameters' gradients: {sum(p.grad.numpy().nbytes for p in model.parameters()):,} B")


def peak(step):
    step()  # the gradient buffers now exist
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    top = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return top


for batch in (1024, 512):
    x = cr.randn(batch, 256)
    plain = peak(lambda: model(x).sum().backward())
    ours = peak(lambda: checkpoint_sequential(model, 4, x).sum().backward())
    print(f"batch {batch:>4}: peak of a step {plain / 2**20:5.2f} MiB plain, "
          f"{ours / 2**20:5.2f} MiB checkpointed ({ours / plain:.2f}x)")
