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
    return _torch_peak_of(run)


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

def _lenet_batch(batch, seed=0):
    rng = np.random.default_rng(seed)
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
    # As after `pip install` (or any earlier import where Python may write __pycache__), the
    # package's bytecode is cached first, as NumPy's is: with PYTHONDONTWRITEBYTECODE=1 (set on
    # some machines) every import would otherwise compile chainrule's source again.
    import compileall
    import importlib.util
    import os
    package = os.path.dirname(importlib.util.find_spec("chainrule").origin)
    compileall.compile_dir(package, quiet=1)
    return _import_time("chainrule")


def numpy_import():
    return _import_time("numpy")


# -- the compiled step (cr.compile): bench/compile_workloads.py ---------------------------------
from compile_workloads import (chainrule_compiled_chain, chainrule_compiled_lenet_step,  # noqa: E402,F401,I001
                               chainrule_compiled_mlp_step, gemm_compiled_mlp_step,
                               numpy_compiled_mlp_step, torch_compiled_chain,
                               torch_compiled_lenet_step, chainrule_compiled_gpt_step,
                               torch_compiled_gpt_step, chainrule_compiled_lstm_step,
                               torch_compiled_lstm_step)


# -- sequences: nanoGPT's CPU configuration, d2l's LSTM language model, sampling -----------------

# nanoGPT's shakespeare_char run on a CPU (its README): block 64, batch 12, 4 layers, 4 heads,
# width 128, no dropout; no biases (train.py's default).
GPT_CONFIG = dict(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
                  bias=False)
GPT_BATCH = 12


def _torch_gpt():
    """nanoGPT's model.py in PyTorch (dropout and biases left out, as GPT_CONFIG has none),
    under its module names, so that both twins get their weights by the same names."""
    import torch
    nn, F = torch.nn, torch.nn.functional
    c = GPT_CONFIG

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_attn = nn.Linear(c["n_embd"], 3 * c["n_embd"], bias=False)
            self.c_proj = nn.Linear(c["n_embd"], c["n_embd"], bias=False)

        def forward(self, x):
            B, T, C = x.size()
            q, k, v = self.c_attn(x).split(C, dim=2)
            q, k, v = (t.view(B, T, c["n_head"], C // c["n_head"]).transpose(1, 2)
                       for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.c_fc = nn.Linear(c["n_embd"], 4 * c["n_embd"], bias=False)
            self.gelu = nn.GELU()
            self.c_proj = nn.Linear(4 * c["n_embd"], c["n_embd"], bias=False)

        def forward(self, x):
            return self.c_proj(self.gelu(self.c_fc(x)))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(c["n_embd"], bias=False)
            self.attn = CausalSelfAttention()
            self.ln_2 = nn.LayerNorm(c["n_embd"], bias=False)
            self.mlp = MLP()

        def forward(self, x):
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.transformer = nn.ModuleDict(dict(
                wte=nn.Embedding(c["vocab_size"], c["n_embd"]),
                wpe=nn.Embedding(c["block_size"], c["n_embd"]),
                h=nn.ModuleList([Block() for _ in range(c["n_layer"])]),
                ln_f=nn.LayerNorm(c["n_embd"], bias=False)))
            self.lm_head = nn.Linear(c["n_embd"], c["vocab_size"], bias=False)
            self.transformer.wte.weight = self.lm_head.weight

        def forward(self, idx, targets=None):
            tr = self.transformer
            x = tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1]))
            for block in tr.h:
                x = block(x)
            x = tr.ln_f(x)
            if targets is None:
                return self.lm_head(x[:, [-1], :]), None
            logits = self.lm_head(x)
            return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                           ignore_index=-1)

        @torch.no_grad()
        def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
            for _ in range(max_new_tokens):
                logits, _ = self(idx[:, -c["block_size"]:])
                logits = logits[:, -1, :] / temperature
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float("Inf")
                probs = F.softmax(logits, dim=-1)
                idx = torch.cat((idx, torch.multinomial(probs, 1, generator=generator)), dim=1)
            return idx

    return GPT()


def _gpt_model(lib):
    if lib.__name__ == "torch":
        model = _torch_gpt()
    else:
        from chainrule.models.gpt import GPT, GPTConfig
        model = GPT(GPTConfig(**GPT_CONFIG))
    # nanoGPT's initialisation drawn from one NumPy stream by name, so the twins hold equal
    # weights: N(0, 0.02) for matrices (the residual projections 0.02 / sqrt(2 n_layer)), ones
    # for the layer-norm scales.
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for name, p in sorted(model.named_parameters()):
            std = 0.02 / (2 * GPT_CONFIG["n_layer"]) ** 0.5 if name.endswith("c_proj.weight") \
                else 0.02
            values = rng.normal(0, std, tuple(p.shape)) if p.ndim == 2 else np.ones(p.shape)
            p.copy_(lib.tensor(values.astype(np.float32)))
    return model


def _gpt_optimizer(lib, model):
    # nanoGPT's configure_optimizers: weight decay on the matrices only; shakespeare_char's
    # learning rate and betas.
    params = list(model.parameters())
    groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": 0.1},
              {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
    return lib.optim.AdamW(groups, lr=1e-3, betas=(0.9, 0.99))


def _train_step(lib, model, optimizer, loss_fn):
    """One iteration of nanoGPT's and d2l's training loops: loss, backward, clip to norm 1,
    step."""
    def run():
        loss = loss_fn()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss
    return run


def _gpt_step(lib):
    model = _gpt_model(lib)
    rng = np.random.default_rng(1)
    shape = (GPT_BATCH, GPT_CONFIG["block_size"] + 1)
    tokens = rng.integers(0, GPT_CONFIG["vocab_size"], shape)
    x, y = lib.tensor(tokens[:, :-1]), lib.tensor(tokens[:, 1:])
    return _train_step(lib, model, _gpt_optimizer(lib, model), lambda: model(x, y)[1])


def chainrule_gpt_step():
    import chainrule
    return _gpt_step(chainrule)


def torch_gpt_step():
    import torch
    return _gpt_step(torch)


LSTM_CONFIG = dict(vocab=28, hidden=256, batch=32, steps=35)  # d2l's LSTM on The Time Machine


def _lstm_lm(lib):
    """d2l's concise LSTM language model: one-hot characters, nn.LSTM, a linear read-out."""
    nn, F = lib.nn, lib.nn.functional
    vocab, hidden = LSTM_CONFIG["vocab"], LSTM_CONFIG["hidden"]

    class RNNModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(vocab, hidden)
            self.linear = nn.Linear(hidden, vocab)

        def forward(self, inputs, targets):
            x = F.one_hot(inputs.T, vocab).to(lib.float32)
            outputs, _ = self.rnn(x)
            logits = self.linear(outputs.reshape(-1, hidden))
            return F.cross_entropy(logits, targets.T.reshape(-1))

    model = RNNModel()
    rng = np.random.default_rng(0)
    with lib.no_grad():
        for _, p in sorted(model.named_parameters()):
            p.copy_(lib.tensor(rng.uniform(-0.0625, 0.0625, tuple(p.shape)).astype(np.float32)))
    return model


def _lstm_step(lib):
    model = _lstm_lm(lib)
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, LSTM_CONFIG["vocab"], (LSTM_CONFIG["batch"], LSTM_CONFIG["steps"] + 1))
    x, y = lib.tensor(tokens[:, :-1]), lib.tensor(tokens[:, 1:])
    optimizer = lib.optim.SGD(model.parameters(), lr=1.0)
    return _train_step(lib, model, optimizer, lambda: model(x, y))


def chainrule_lstm_step():
    import chainrule
    return _lstm_step(chainrule)


def torch_lstm_step():
    import torch
    return _lstm_step(torch)


SAMPLE_LENGTH = 500


def _gpt_sample(lib):
    """nanoGPT's sample.py: 500 characters from one token, temperature 0.8, top 200 (all 65)."""
    model = _gpt_model(lib)
    model.eval()

    def run():
        generator = lib.Generator().manual_seed(0)
        start = lib.zeros((1, 1), dtype=lib.int64)
        return model.generate(start, SAMPLE_LENGTH, temperature=0.8, top_k=200,
                              generator=generator)
    return run


def chainrule_gpt_sample():
    import chainrule
    return _gpt_sample(chainrule)


def torch_gpt_sample():
    import torch
    return _gpt_sample(torch)


# -- activation checkpointing: a 16-block MLP in 4 segments against the same model plainly -------

def _blocks(spec):
    blocks, width, batch, segments = spec
    rng = np.random.default_rng(0)
    weights = [rng.normal(0, width ** -0.5, (width, width)).astype(np.float32)
               for _ in range(blocks)]
    return weights, rng.standard_normal((batch, width), dtype=np.float32), segments


def _chainrule_blocks(spec):
    from chainrule import nn
    weights, x, segments = _blocks(spec)
    layers = []
    for w in weights:
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.data[...] = w
        linear.bias.data[...] = 0
        layers += [linear, nn.Tanh()]
    return nn.Sequential(*layers), x, segments


def _torch_blocks(spec):
    import torch
    weights, x, segments = _blocks(spec)
    layers = []
    for w in weights:
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.zero_()
        layers += [linear, torch.nn.Tanh()]
    return torch.nn.Sequential(*layers), torch.from_numpy(x), segments


def _chainrule_checkpoint_steps(spec):
    import chainrule as cr
    from chainrule.utils.checkpoint import checkpoint_sequential
    model, x, segments = _chainrule_blocks(spec)
    x = cr.tensor(x)

    def plain():
        model(x).sum().backward()

    def checkpointed():
        checkpoint_sequential(model, segments, x).sum().backward()
    return plain, checkpointed


def _torch_checkpoint_steps(spec):
    from torch.utils.checkpoint import checkpoint_sequential
    model, x, segments = _torch_blocks(spec)

    def plain():
        model(x).sum().backward()

    def checkpointed():
        checkpoint_sequential(model, segments, x, use_reentrant=False).sum().backward()
    return plain, checkpointed


def _interleaved_times(plain, checkpointed, repeat=9, warmup=1):
    """Median seconds of each step, the two alternating so that drift hits both alike."""
    import statistics
    import time
    for _ in range(warmup):
        plain()
        checkpointed()
    times = {plain: [], checkpointed: []}
    for _ in range(repeat):
        for step in (plain, checkpointed):
            start = time.perf_counter()
            step()
            times[step].append(time.perf_counter() - start)
    return {"value": statistics.median(times[checkpointed]),
            "plain": statistics.median(times[plain])}


# The time rows compare a framework with itself, recomputation against none, so each runs on one
# BLAS thread: on a shared machine, contention between a library's threads swamps the extra
# work being measured (on 2 busy cores, PyTorch's checkpointed step timed 0.94x its plain one).

def chainrule_checkpoint_time(spec):
    from threadpoolctl import threadpool_limits
    with threadpool_limits(1):
        return _interleaved_times(*_chainrule_checkpoint_steps(spec))


def torch_checkpoint_time(spec):
    import torch
    torch.set_num_threads(1)
    return _interleaved_times(*_torch_checkpoint_steps(spec))


def _tracemalloc_peak(step):
    import tracemalloc
    step()  # the gradient buffers now exist, and are added into from here on
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


def chainrule_checkpoint_memory(spec):
    """Peak bytes of one forward and backward above what was allocated before it (the model,
    the batch and the gradient buffers), measured with tracemalloc."""
    plain, checkpointed = _chainrule_checkpoint_steps(spec)
    return {"value": _tracemalloc_peak(checkpointed), "plain": _tracemalloc_peak(plain)}


def _torch_peak(step):
    step()  # warm up: later calls allocate what a training step does
    return _torch_peak_of(step)


def _torch_peak_of(step):
    """The peak bytes PyTorch's CPU allocator holds during one call of ``step``, read through
    its profiler's allocation events (each a signed byte count, in time order)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    current = peak = 0
    for event in events:
        current += event.nbytes()
        peak = max(peak, current)
    return peak


def torch_checkpoint_memory(spec):
    """The same figure from PyTorch's CPU allocator (as torch_step_memory reads it)."""
    plain, checkpointed = _torch_checkpoint_steps(spec)
    return {"value": _torch_peak(checkpointed), "plain": _torch_peak(plain)}
