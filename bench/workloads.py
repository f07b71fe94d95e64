"""The benchmarked workloads, one function per (framework, case), each returning a callable
that does one repetition. Run in a fresh process per framework by run.py."""
import numpy as np

CHAIN_LENGTH = 500  # elementwise ops: 125 x (mul, add, tanh, sub)


def _mlp_params(sizes, seed=0):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.01, (n_out, n_in)).astype(np.float32)
               for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(n_out, np.float32) for n_out in sizes[1:]]
    return weights, biases


def _batch(sizes, batch, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.random((batch, sizes[0]), dtype=np.float32),
            rng.integers(0, sizes[-1], batch))


# -- hand-written NumPy (cs231n style): the baseline ------------------------------------------

def numpy_chain():
    x0 = np.random.default_rng(0).standard_normal(8).astype(np.float32)

    def run():
        # forward, keeping what backward needs (the tanh outputs), then backward in reverse
        x, tape = x0, []
        for _ in range(CHAIN_LENGTH // 4):
            x = x * np.float32(1.001)
            x = x + np.float32(0.001)
            x = np.tanh(x)
            tape.append(x)
            x = x - np.float32(0.0001)
        x.sum()
        g = np.ones_like(x)
        for out in reversed(tape):
            g = g * (1 - out * out)
            g = g * np.float32(1.001)
        return g
    return run


def numpy_mlp_step(sizes, batch, lr=0.1):
    weights, biases = _mlp_params(sizes)
    weights = [w.T.copy() for w in weights]  # cs231n layout: (in, out)
    x, y = _batch(sizes, batch)
    rows = np.arange(batch)

    def run():
        hidden = [x]
        h = x
        for w, b in zip(weights[:-1], biases[:-1]):
            h = np.maximum(h @ w + b, 0)
            hidden.append(h)
        scores = h @ weights[-1] + biases[-1]
        shifted = scores - scores.max(axis=1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        loss = -log_probs[rows, y].mean()
        dout = np.exp(log_probs)
        dout[rows, y] -= 1
        dout /= batch
        for i in range(len(weights) - 1, -1, -1):
            dw = hidden[i].T @ dout
            db = dout.sum(axis=0)
            if i > 0:
                dout = dout @ weights[i].T
                dout[hidden[i] <= 0] = 0
            weights[i] -= lr * dw
            biases[i] -= lr * db
        return loss
    return run


def numpy_inference(sizes, batch):
    weights, biases = _mlp_params(sizes)
    weights = [w.T.copy() for w in weights]
    x, _ = _batch(sizes, batch)

    def run():
        h = x
        for w, b in zip(weights[:-1], biases[:-1]):
            h = np.maximum(h @ w + b, 0)
        return h @ weights[-1] + biases[-1]
    return run


# -- chainrule -------------------------------------------------------------------------------

_LAST_MODEL = []


def _chainrule_model(sizes):
    import chainrule as cr
    from chainrule import models
    model = models.mlp(sizes[0], sizes[1:-1], sizes[-1])
    _LAST_MODEL[:] = [model]
    weights, biases = _mlp_params(sizes)
    for layer, w, b in zip([m for m in model if hasattr(m, "weight")], weights, biases):
        layer.weight.data[...] = w
        layer.bias.data[...] = b
    return cr, model


def chainrule_chain():
    import chainrule as cr
    x0 = cr.tensor(np.random.default_rng(0).standard_normal(8).astype(np.float32),
                   requires_grad=True)

    def run():
        x = x0
        for _ in range(CHAIN_LENGTH // 4):
            x = x * 1.001
            x = x + 0.001
            x = x.tanh()
            x = x - 0.0001
        x.sum().backward()
        x0.grad = None
    return run


def chainrule_mlp_step(sizes, batch, lr=0.1):
    cr, model = _chainrule_model(sizes)
    from chainrule import nn, optim
    optimizer = optim.SGD(model.parameters(), lr=lr)
    x, y = _batch(sizes, batch)
    x = cr.tensor(x)

    def run():
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return run


def chainrule_inference(sizes, batch):
    cr, model = _chainrule_model(sizes)
    x, _ = _batch(sizes, batch)
    x = cr.tensor(x)

    def run():
        with cr.no_grad():
            return model(x)
    return run


# -- PyTorch eager (optional peer) ------------------------------------------------------------

def torch_chain():
    import torch
    x0 = torch.tensor(np.random.default_rng(0).standard_normal(8).astype(np.float32),
                      requires_grad=True)

    def run():
        x = x0
        for _ in range(CHAIN_LENGTH // 4):
            x = x * 1.001
            x = x + 0.001
            x = x.tanh()
            x = x - 0.0001
        x.sum().backward()
        x0.grad = None
    return run


def _torch_model(sizes):
    import torch
    weights, biases = _mlp_params(sizes)
    layers = []
    for w, b in zip(weights, biases):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    return torch, torch.nn.Sequential(*layers[:-1])


def torch_mlp_step(sizes, batch, lr=0.1):
    torch, model = _torch_model(sizes)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    x, y = _batch(sizes, batch)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def run():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return run


def torch_inference(sizes, batch):
    torch, model = _torch_model(sizes)
    x, _ = _batch(sizes, batch)
    x = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            return model(x)
    return run


# -- memory: what one training step adds above the model and the batch -----------------------

def chainrule_step_memory(sizes, batch):
    """Peak bytes above the pre-step baseline (parameters and batch allocated, no gradients),
    measured with tracemalloc, which sees every NumPy allocation."""
    import tracemalloc
    run = chainrule_mlp_step(sizes, batch)
    run()
    _LAST_MODEL[0].zero_grad()  # start without gradients, as the PyTorch side does
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def torch_step_memory(sizes, batch):
    """The same figure from PyTorch's CPU allocator, read through its profiler's allocation
    events (each a signed byte count, in time order)."""
    import torch
    from torch.profiler import ProfilerActivity, profile
    torch_, model = _torch_model(sizes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = _batch(sizes, batch)
    x, y = torch.from_numpy(x), torch.from_numpy(y)

    def run():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()

    run()
    optimizer.zero_grad(set_to_none=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        run()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    current = peak = 0
    for event in events:
        current += event.nbytes()
        peak = max(peak, current)
    return peak


# -- a whole epoch against the sum of its steps -------------------------------------------------

def chainrule_epoch_overhead(data_dir):
    """(median seconds of a whole d2l epoch with loading, metrics and evaluation, median
    seconds of the same number of bare training steps on prepared batches), three of each."""
    import time
    from chainrule import nn, optim
    from chainrule.train import TrainConfig, Trainer
    config = TrainConfig(dataset="mnist", hidden=[256], lr=0.1, batch_size=256, epochs=1,
                         init="d2l")
    trainer = Trainer(config, data_dir=data_dir, progress=False, log=None)
    trainer.fit(1)  # warm up
    epochs = []
    for _ in range(3):
        start = time.perf_counter()
        trainer.fit(trainer.epoch + 1)
        epochs.append(time.perf_counter() - start)
    x, y = trainer.train_data.x, trainer.train_data.y
    batches = [(x[i:i + 256], y[i:i + 256]) for i in range(0, len(y), 256)]
    model, sgd = trainer.model, optim.SGD(trainer.model.parameters(), lr=0.1)
    passes = []
    for _ in range(3):
        steps = 0.0
        for xb, yb in batches:
            begin = time.perf_counter()
            loss = nn.functional.cross_entropy(model(xb), yb)
            sgd.zero_grad()
            loss.backward()
            sgd.step()
            steps += time.perf_counter() - begin
        passes.append(steps)
    return sorted(epochs)[1], sorted(passes)[1]


# -- convolutional networks: d2l's LeNet step and conv2d alone --------------------------------

def _lenet_batch(batch):
    rng = np.random.default_rng(0)
    return rng.random((batch, 784), dtype=np.float32), rng.integers(0, 10, size=batch)


def chainrule_lenet_step(batch):
    from chainrule import models, nn, optim
    model = models.lenet()
    optimizer = optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    x, y = _lenet_batch(batch)

    def run():
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return run


def torch_lenet_step(batch):
    import torch
    nn = torch.nn
    model = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)), nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120),
        nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    x, y = (torch.from_numpy(a) for a in _lenet_batch(batch))

    def run():
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return run


def _conv_arrays(spec):
    n, c, h, w, o, k, pad = spec
    rng = np.random.default_rng(0)
    return (rng.standard_normal((n, c, h, w), dtype=np.float32),
            rng.standard_normal((o, c, k, k), dtype=np.float32), pad)


def chainrule_conv(spec):
    import chainrule as cr
    x, w, pad = _conv_arrays(spec)
    x, w = cr.tensor(x, requires_grad=True), cr.tensor(w, requires_grad=True)

    def run():
        cr.nn.functional.conv2d(x, w, padding=pad).sum().backward()
        x.grad = w.grad = None
    return run


def torch_conv(spec):
    import torch
    x, w, pad = _conv_arrays(spec)
    x, w = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)

    def run():
        torch.nn.functional.conv2d(x, w, padding=pad).sum().backward()
        x.grad = w.grad = None
    return run


# -- start-up: `import chainrule` against `import numpy`, each in a fresh interpreter -----------

def _import_time(module):
    import subprocess
    import sys

    def run():
        subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return run


def chainrule_import():
    return _import_time("chainrule")


def numpy_import():
    return _import_time("numpy")


# -- the compiled step (cr.compile): bench/compile_workloads.py ---------------------------------
from compile_workloads import (chainrule_compiled_chain, chainrule_compiled_lenet_step,  # noqa: E402,F401,I001
                               chainrule_compiled_mlp_step, gemm_compiled_mlp_step,
                               numpy_compiled_mlp_step, torch_compiled_chain,
                               torch_compiled_lenet_step)
