"""Workloads of the compiled step (cr.compile), its baselines and its floor; workloads.py
re-exports them so that worker.py finds them by (framework, case)."""
import numpy as np

from workloads import (CHAIN_LENGTH, _batch, _chainrule_model, _lenet_batch, _mlp_params,
                       torch_chain, torch_lenet_step)


def _compiled_training_step(model, optimizer, x, y):
    """One d2l training step (forward, cross-entropy, backward, update), compiled."""
    import chainrule as cr
    from chainrule import nn

    @cr.compile
    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return lambda: step(x, y)


def chainrule_compiled_mlp_step(sizes, batch, lr=0.1):
    import chainrule as cr
    from chainrule import optim
    _, model = _chainrule_model(sizes)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    x, y = _batch(sizes, batch)
    return _compiled_training_step(model, optimizer, cr.tensor(x), y)


def numpy_compiled_mlp_step(sizes, batch, lr=0.1):
    """Hand-written NumPy (cs231n layout) with every large array preallocated (out=)."""
    weights, biases = _mlp_params(sizes)
    weights = [w.T.copy() for w in weights]
    x, y = _batch(sizes, batch)
    rows = np.arange(batch)
    layers = len(weights)
    acts = [np.empty((batch, w.shape[1]), np.float32) for w in weights]
    masks = [np.empty((batch, w.shape[1]), bool) for w in weights]
    d_in = [np.empty((batch, w.shape[0]), np.float32) for w in weights]
    d_w = [np.empty_like(w) for w in weights]
    d_b = [np.empty_like(b) for b in biases]
    scratch_w = [np.empty_like(w) for w in weights]
    scratch_b = [np.empty_like(b) for b in biases]

    def run():
        inputs = [x]
        for i in range(layers):
            np.matmul(inputs[-1], weights[i], out=acts[i])
            np.add(acts[i], biases[i], out=acts[i])
            if i < layers - 1:
                np.maximum(acts[i], 0, out=acts[i])
                np.greater(acts[i], 0, out=masks[i])
            inputs.append(acts[i])
        scores = acts[-1]
        shifted = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = (np.log(total[:, 0]) - shifted[rows, y]).mean()
        e /= total
        e[rows, y] -= 1
        e /= batch
        dout = e
        for i in range(layers - 1, -1, -1):
            np.matmul(inputs[i].T, dout, out=d_w[i])
            np.sum(dout, axis=0, out=d_b[i])
            if i > 0:
                np.matmul(dout, weights[i].T, out=d_in[i])
                np.multiply(d_in[i], masks[i - 1], out=d_in[i])
                dout = d_in[i]
            np.multiply(d_w[i], lr, out=scratch_w[i])
            np.subtract(weights[i], scratch_w[i], out=weights[i])
            np.multiply(d_b[i], lr, out=scratch_b[i])
            np.subtract(biases[i], scratch_b[i], out=biases[i])
        return loss
    return run


def gemm_compiled_mlp_step(sizes, batch):
    """The floor: the step's matrix products alone (forward, weight gradients, input
    gradients of every layer but the first), into preallocated arrays."""
    weights, _ = _mlp_params(sizes)
    weights = [w.T.copy() for w in weights]
    x, _ = _batch(sizes, batch)
    acts = [np.ones((batch, w.shape[1]), np.float32) for w in weights]
    d_in = [np.empty((batch, w.shape[0]), np.float32) for w in weights]
    d_w = [np.empty_like(w) for w in weights]
    inputs = [x] + acts[:-1]

    def run():
        for i, w in enumerate(weights):
            np.matmul(inputs[i], w, out=acts[i])
        for i in range(len(weights) - 1, -1, -1):
            np.matmul(inputs[i].T, acts[i], out=d_w[i])
            if i > 0:
                np.matmul(acts[i], weights[i].T, out=d_in[i])
    return run


def chainrule_compiled_chain():
    import chainrule as cr
    x0 = cr.tensor(np.random.default_rng(0).standard_normal(8).astype(np.float32),
                   requires_grad=True)

    @cr.compile
    def chain():
        x = x0
        for _ in range(CHAIN_LENGTH // 4):
            x = x * 1.001
            x = x + 0.001
            x = x.tanh()
            x = x - 0.0001
        x.sum().backward()

    def run():
        chain()
        x0.grad = None  # outside the step, so that the replay computes the gradient
    return run


torch_compiled_chain = torch_chain


def chainrule_compiled_lenet_step(batch):
    from chainrule import models, optim
    model = models.lenet()
    optimizer = optim.SGD(model.parameters(), lr=0.03, momentum=0.9)
    x, y = _lenet_batch(batch)
    return _compiled_training_step(model, optimizer, x, y)


torch_compiled_lenet_step = torch_lenet_step
