"""Backpropagation through time, seen: explain's per-step contributions to W_hh, the gradient
norm at each step (vanishing and exploding), and training memory by sequence length, whole and
truncated. ``--figures DIR`` also draws the last two as SVG files in DIR (docs/bptt.md's)."""
import sys
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import data, inspect, nn
from chainrule.nn import functional as F

N, H = 2, 8
rng = np.random.default_rng(0)
corpus, vocab = data.timemachine()
V = len(vocab)


class TinyLM(nn.Module):
    def __init__(self, hidden=H, dtype="float64"):
        self.rnn = nn.RNN(V, hidden, batch_first=True, dtype=dtype)
        self.head = nn.Linear(hidden, V).to(dtype)

    def forward(self, x, state=None):
        output, state = self.rnn(x, state)
        return self.head(output), state


def batch(steps):
    """N windows of the book, one-hot (N, steps, V), and the next characters (N, steps)."""
    starts = rng.integers(0, len(corpus) - steps - 1, N)
    tokens = np.stack([corpus[s:s + steps + 1].numpy() for s in starts])
    return np.eye(V)[tokens[:, :-1]], tokens[:, 1:]


cr.manual_seed(0)
model = TinyLM()
x, y = batch(4)
loss = F.cross_entropy(model(cr.tensor(x))[0].reshape(-1, V), cr.tensor(y).reshape(-1))
report = inspect.backward_steps(loss, model)
print(next(step for step in report if step.name == "rnn.weight_hh_l0"))

print("\nA loss on the last of 20 steps; W_hh = scale x an orthogonal matrix:")
x, y = batch(20)
orthogonal = np.linalg.qr(rng.standard_normal((H, H)))[0]
norms = {}
for scale in (0.5, 1.0, 3.0):
    model = TinyLM()
    model.rnn.weight_hh_l0.data[...] = scale * orthogonal
    scores = model(cr.tensor(x))[0][:, -1]
    norms[scale] = inspect.time_step_gradients(F.cross_entropy(scores, cr.tensor(y[:, -1])),
                                               model)
    print(f"  scale {scale}: |dL/dh_0| / |dL/dh_19| = {norms[scale].ratio():.3g}")
print(norms[0.5])

print("\nd2l's character model (one-hot input, RNN with 128 hidden units, batch 32), float32:")
cr.manual_seed(0)
lm = TinyLM(hidden=128, dtype="float32")
starts = rng.integers(0, len(corpus) - 36, 32)
tokens = np.stack([corpus[s:s + 36].numpy() for s in starts])
inputs = cr.tensor(np.eye(V, dtype=np.float32)[tokens[:, :-1]])
labels = cr.tensor(tokens[:, 1:])


def loss_of(start, stop, state):
    scores, state = lm(inputs[:, start:stop], state)
    return F.cross_entropy(scores.reshape(-1, V), labels[:, start:stop].reshape(-1)), state


memory = inspect.sequence_memory(loss_of, [5, 10, 20, 35], truncate=5)
print(memory)

if "--figures" in sys.argv:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams["svg.hashsalt"] = "chainrule"  # the same ids on every run: a stable file
    out = Path(sys.argv[sys.argv.index("--figures") + 1])
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.2))
    memory.plot(axes[0])
    axes[0].set_title("training memory by sequence length")
    for scale, result in norms.items():
        axes[1].semilogy(range(len(result)), result.norms, "o-", ms=3,
                         label=f"W_hh = {scale} x orthogonal")
    axes[1].set_xlabel("time step t")
    axes[1].set_ylabel("||dL/dh_t||")
    axes[1].set_title("gradient norm per step (loss on the last step)")
    axes[1].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(out / "bptt-memory-and-norms.svg", metadata={"Date": None})
    print(f"wrote {out / 'bptt-memory-and-norms.svg'}")
