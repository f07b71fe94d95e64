"""d2l's chapter 9 language models on The Time Machine, trained by chainrule and by PyTorch with
the same setup: the same initial weights (chainrule's, copied into PyTorch), the same batches
(d2l's sequential partitioning, drawn once from the same seed), the same updates (SGD at lr 1,
gradients clipped at norm 1). Prints each framework's training perplexity after the last epoch
(what d2l reports) and the held-out perplexity (the book's last tenth).

    python docs/examples/lm_compare_d2l.py                  # a 3-epoch smoke run
    python docs/examples/lm_compare_d2l.py --epochs 100     # the numbers in docs/language-models.md

The concise models (rnn, gru, lstm) are trained by chainrule's own Trainer, as `chainrule train
--model lstm --dataset timemachine --epochs N` trains them; "scratch" is d2l's section 9.5 RNN
written out with tensors in both frameworks.
"""
import argparse
import math
import time

import numpy as np

import chainrule as cr
from chainrule.nn import functional as F
from chainrule.train import TrainConfig, Trainer
from chainrule.train.language import LanguageTask, load_text, make_loader

try:
    import torch
except ImportError:
    torch = None

HIDDEN = 256


def batches(text, config):
    """The training batches of every epoch, as the Trainer draws them (same seed)."""
    loader = make_loader(text, config, cr.Generator().manual_seed(config.seed))
    return [[(x.numpy(), y.numpy()) for x, y in loader] for _ in range(config.epochs)]


def held_out(text):
    task = LanguageTask(None, "lstm", True)
    return [(x.numpy(), y.numpy(), carry) for x, y, carry in task._held_out(text, 64)]


# -- chainrule -------------------------------------------------------------------------------------
def chainrule_concise(kind, epochs):
    config = TrainConfig.language_model(kind, epochs=epochs)
    trainer = Trainer(config, progress=False, log=None)
    initial = {k: v.numpy().copy() for k, v in trainer.model.state_dict().items()}
    start = time.perf_counter()
    last = trainer.fit()[-1]
    return last.train_perplexity, last.test_perplexity, time.perf_counter() - start, initial, \
        trainer.train_data, config


def scratch_params(vocab, generator):
    normal = lambda *shape: generator.normal(size=shape).astype(np.float32) * 0.01  # noqa: E731
    return [normal(vocab, HIDDEN), normal(HIDDEN, HIDDEN), np.zeros(HIDDEN, np.float32),
            normal(HIDDEN, vocab), np.zeros(vocab, np.float32)]


def chainrule_scratch(text, config, initial, epoch_batches):
    params = [cr.tensor(p, requires_grad=True) for p in initial]
    vocab = len(text.tokenizer)

    def rnn(X, H):
        W_xh, W_hh, b_h, W_hq, b_q = params
        outputs = []
        for x in F.one_hot(X.T, vocab).float():
            H = cr.tanh(x @ W_xh + H @ W_hh + b_h)
            outputs.append(H @ W_hq + b_q)
        return cr.cat(outputs, 0), H

    start = time.perf_counter()
    for epoch in epoch_batches:
        H, total, count = None, 0.0, 0
        for x, y in epoch:
            H = cr.zeros(x.shape[0], HIDDEN) if H is None else H.detach()
            out, H = rnn(cr.tensor(x), H)
            loss = F.cross_entropy(out, cr.tensor(y.T.reshape(-1)))
            for p in params:
                p.grad = None
            loss.backward()
            norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
            with cr.no_grad():
                scale = 1.0 / norm if norm > 1 else 1.0  # d2l's grad_clipping, theta = 1
                for p in params:
                    p -= config.lr * scale * p.grad
            total += loss.item() * y.size
            count += y.size
    seconds = time.perf_counter() - start
    total_val, count_val, H = 0.0, 0, None
    with cr.no_grad():
        for x, y, carry in held_out(text):
            H = H if carry and H is not None else cr.zeros(x.shape[0], HIDDEN)
            out, H = rnn(cr.tensor(x), H)
            total_val += F.cross_entropy(out, cr.tensor(y.T.reshape(-1))).item() * y.size
            count_val += y.size
    return math.exp(total / count), math.exp(total_val / count_val), seconds


# -- PyTorch ---------------------------------------------------------------------------------------
def torch_model(kind, vocab, initial):
    class RNNModel(torch.nn.Module):  # d2l's, section 9.6
        def __init__(self):
            super().__init__()
            self.rnn = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU,
                        "lstm": torch.nn.LSTM}[kind](vocab, HIDDEN)
            self.linear = torch.nn.Linear(HIDDEN, vocab)

        def forward(self, inputs, state):
            X = torch.nn.functional.one_hot(inputs.T.long(), vocab).to(torch.float32)
            Y, state = self.rnn(X, state)
            return self.linear(Y.reshape((-1, Y.shape[-1]))), state

        def begin_state(self, batch):
            zeros = torch.zeros(1, batch, HIDDEN)
            return (zeros, zeros.clone()) if kind == "lstm" else zeros

    model = RNNModel()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in initial.items()})
    return model


def detached(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


def torch_concise(kind, text, config, initial, epoch_batches):
    model = torch_model(kind, len(text.tokenizer), initial)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr)
    start = time.perf_counter()
    for epoch in epoch_batches:
        state, total, count = None, 0.0, 0
        for x, y in epoch:
            state = model.begin_state(x.shape[0]) if state is None else detached(state)
            out, state = model(torch.from_numpy(x), state)
            loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y.T.reshape(-1)))
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad_norm)
            optimizer.step()
            total += loss.item() * y.size
            count += y.size
    seconds = time.perf_counter() - start
    total_val, count_val, state = 0.0, 0, None
    with torch.no_grad():
        for x, y, carry in held_out(text):
            state = state if carry and state is not None else model.begin_state(x.shape[0])
            out, state = model(torch.from_numpy(x), state)
            total_val += torch.nn.functional.cross_entropy(
                out, torch.from_numpy(y.T.reshape(-1))).item() * y.size
            count_val += y.size
    return math.exp(total / count), math.exp(total_val / count_val), seconds


def torch_scratch(text, config, initial, epoch_batches):
    params = [torch.tensor(p, requires_grad=True) for p in initial]
    vocab = len(text.tokenizer)

    def rnn(X, H):
        W_xh, W_hh, b_h, W_hq, b_q = params
        outputs = []
        for x in torch.nn.functional.one_hot(X.T, vocab).float():
            H = torch.tanh(x @ W_xh + H @ W_hh + b_h)
            outputs.append(H @ W_hq + b_q)
        return torch.cat(outputs, 0), H

    start = time.perf_counter()
    for epoch in epoch_batches:
        H, total, count = None, 0.0, 0
        for x, y in epoch:
            H = torch.zeros(x.shape[0], HIDDEN) if H is None else H.detach()
            out, H = rnn(torch.from_numpy(x), H)
            loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y.T.reshape(-1)))
            for p in params:
                p.grad = None
            loss.backward()
            norm = math.sqrt(sum(float((p.grad ** 2).sum()) for p in params))
            with torch.no_grad():
                scale = 1.0 / norm if norm > 1 else 1.0
                for p in params:
                    p -= config.lr * scale * p.grad
            total += loss.item() * y.size
            count += y.size
    seconds = time.perf_counter() - start
    total_val, count_val, H = 0.0, 0, None
    with torch.no_grad():
        for x, y, carry in held_out(text):
            H = H if carry and H is not None else torch.zeros(x.shape[0], HIDDEN)
            out, H = rnn(torch.from_numpy(x), H)
            total_val += torch.nn.functional.cross_entropy(
                out, torch.from_numpy(y.T.reshape(-1))).item() * y.size
            count_val += y.size
    return math.exp(total / count), math.exp(total_val / count_val), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--models", default="scratch,rnn,gru,lstm")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(1)
    print("d2l chapter 9 setup: the first 10000 characters of The Time Machine, batches of 32 x "
          "35 (sequential partitioning, state carried), 256 hidden units, one-hot inputs, SGD "
          "lr 1, gradients clipped at norm 1, seed 0, float32")
    text = load_text("timemachine", max_tokens=10000)
    for kind in args.models.split(","):
        if kind == "scratch":
            config = TrainConfig.language_model("rnn", epochs=args.epochs)
            initial = scratch_params(len(text.tokenizer), cr.Generator().manual_seed(0))
            epoch_batches = batches(text, config)
            ours = chainrule_scratch(text, config, initial, epoch_batches)
            theirs = torch_scratch(text, config, initial, epoch_batches) if torch else None
        else:
            train_ppl, val_ppl, seconds, initial, text, config = chainrule_concise(kind,
                                                                                  args.epochs)
            ours = train_ppl, val_ppl, seconds
            theirs = torch_concise(kind, text, config, initial, batches(text, config)) \
                if torch else None
        name = "rnn (scratch)" if kind == "scratch" else kind
        line = (f"{name:>13}, {args.epochs} epochs: chainrule perplexity {ours[0]:.3f} "
                f"(held out {ours[1]:.3f}, {ours[2]:.0f}s)")
        if theirs is None:
            print(line + "; PyTorch is not installed")
            continue
        print(line + f"; PyTorch {theirs[0]:.3f} (held out {theirs[1]:.3f}, {theirs[2]:.0f}s); "
                     f"chainrule / PyTorch: {ours[0] / theirs[0]:.3f} (held out "
                     f"{ours[1] / theirs[1]:.3f})")


if __name__ == "__main__":
    main()
