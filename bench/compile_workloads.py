"""Workloads of the compiled step (cr.compile), its baselines and its floor; workloads.py
re-exports them so that worker.py finds them by (framework, case)."""
import itertools

import numpy as np

from workloads import (CHAIN_LENGTH, _batch, _chainrule_model, _lenet_batch, _mlp_params,
                       torch_chain, torch_lenet_step)


def _compiled_training_step(model, optimizer, batches):
    """One d2l training step (forward, cross-entropy, backward, update), compiled, on two
    batches in turn, as training feeds it: a plan whose two traced calls saw the same batch
    compares each later batch with it until one differs (about 20 us at batch 64), a check a
    training loop pays once."""
    import itertools

    import chainrule as cr
    from chainrule import nn

    @cr.compile
    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    turns = itertools.cycle(batches)
    return lambda: step(*next(turns))


def chainrule_compiled_mlp_step(sizes, batch, lr=0.1):
    import chainrule as cr
    from chainrule import optim
    _, model = _chainrule_model(sizes)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    batches = [_batch(sizes, batch, seed) for seed in (1, 2)]
    return _compiled_training_step(model, optimizer, [(cr.tensor(x), y) for x, y in batches])


def numpy_compiled_mlp_step(sizes, batch, lr=0.1):
    """Hand-written NumPy (cs231n layout) with every large array preallocated (out=)."""
    weights, biases = _mlp_params(sizes)
    weights = [w.T.copy() for w in weights]
    turns = itertools.cycle([_batch(sizes, batch, seed) for seed in (1, 2)])  # as the compiled
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
        x, y = next(turns)
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
    return _compiled_training_step(model, optimizer, [_lenet_batch(batch, seed)
                                                      for seed in (0, 1)])


torch_compiled_lenet_step = torch_lenet_step


def _compiled_sequence_step(model, optimizer, loss_fn, x, y):
    """nanoGPT's and d2l's training iteration (loss, backward, clip to norm 1, step) as
    workloads.py's _train_step does it, compiled: the clipping's norm is computed by the plan."""
    import chainrule as cr

    @cr.compile
    def step(x, y):
        loss = loss_fn(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        cr.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss
    return lambda: step(x, y)


def chainrule_compiled_gpt_step():
    """nanoGPT's CPU configuration with AdamW and clipping (workloads.gpt_step), compiled."""
    import chainrule as cr
    import workloads
    model = workloads._gpt_model(cr)
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, workloads.GPT_CONFIG["vocab_size"],
                          (workloads.GPT_BATCH, workloads.GPT_CONFIG["block_size"] + 1))
    x, y = cr.tensor(tokens[:, :-1]), cr.tensor(tokens[:, 1:])
    return _compiled_sequence_step(model, workloads._gpt_optimizer(cr, model),
                                   lambda x, y: model(x, y)[1], x, y)


def torch_compiled_gpt_step():
    import workloads
    return workloads.torch_gpt_step()


def chainrule_compiled_lstm_step():
    """d2l's LSTM language model with SGD and clipping (workloads.lstm_step), compiled."""
    import chainrule as cr
    import workloads
    model = workloads._lstm_lm(cr)
    config = workloads.LSTM_CONFIG
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, config["vocab"], (config["batch"], config["steps"] + 1))
    x, y = cr.tensor(tokens[:, :-1]), cr.tensor(tokens[:, 1:])
    return _compiled_sequence_step(model, cr.optim.SGD(model.parameters(), lr=1.0), model, x, y)


def torch_compiled_lstm_step():
    import workloads
    return workloads.torch_lstm_step()
