"""Convolutional networks, by hand and by autograd: cs231n's naive layers against chainrule's
ops, the batch-norm conventions side by side, and what explain says about a conv step."""
import io

import numpy as np

import chainrule as cr
from chainrule import manual
from chainrule.nn import functional as F

rng = np.random.default_rng(0)
x, w, b = rng.normal(size=(2, 3, 5, 5)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
out, cache = manual.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
dout = rng.normal(size=out.shape)
dx, dw, db = manual.conv_backward_naive(dout, cache)
tx, tw, tb = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
y = F.conv2d(tx, tw, tb, stride=2, padding=1)
(y * cr.tensor(dout)).sum().backward()
# The last bits depend on the CPU's BLAS kernels, so the check is printed against a bound.
differences = {"out": np.abs(out - y.detach().numpy()).max(),
               "dx": np.abs(dx - tx.grad.numpy()).max(),
               "dw": np.abs(dw - tw.grad.numpy()).max(),
               "db": np.abs(db - tb.grad.numpy()).max()}
print("conv by hand vs autograd, out, dx, dw and db agree within 1e-14:",
      all(d < 1e-14 for d in differences.values()))

# Batch norm: cs231n's running averages against PyTorch's, after one training batch.
batch = rng.normal(size=(8, 2)) * 3 + 1
bn_param = {"mode": "train"}  # cs231n: momentum 0.9 on the OLD value, running stats from 0
manual.batchnorm_forward(batch, np.ones(2), np.zeros(2), bn_param)
running_mean, running_var = cr.zeros(2, dtype="float64"), cr.ones(2, dtype="float64")
F.batch_norm(cr.tensor(batch), running_mean, running_var, training=True)  # momentum 0.1, new
print("cs231n  running_mean", np.round(bn_param["running_mean"], 4),
      "running_var", np.round(bn_param["running_var"], 4))
print("PyTorch running_mean", np.round(running_mean.numpy(), 4),
      "running_var", np.round(running_var.numpy(), 4))

# explain, for a conv, a pool and a batch norm
net = cr.nn.Sequential(cr.nn.Conv2d(1, 2, 3, padding=1), cr.nn.BatchNorm2d(2), cr.nn.ReLU(),
                       cr.nn.MaxPool2d(2), cr.nn.Flatten(), cr.nn.Linear(8, 3))
images = cr.tensor(rng.random((4, 1, 4, 4)).astype(np.float32))
loss = F.cross_entropy(net(images), np.array([0, 1, 2, 0]))
text = io.StringIO()
cr.inspect.explain(loss, params=net, file=text)
for line in text.getvalue().splitlines():
    if any(word in line for word in ("conv2d_forward(", "normalize(", "max_pool_forward(",
                                     "window's maximum", "xhat", "patches of")):
        print(line.strip())
