"""PyTorch programs run unchanged apart from the import, with PyTorch's numbers.

Each program below is written once, in PyTorch's spelling, and run twice: under PyTorch's
imports and under chainrule's. The README's ten-line example is one of them, read from the
README itself. Whatever a program stores in ``out`` is compared between the two runs, so the
doors a porter walks through first (TensorDataset and DataLoader batches, ``.data`` initialisers,
``state_dict()`` checkpoints that alias the weights, ``save``/``load``, ``view(-1)`` for a
numerical gradient check) must all mean what they mean in PyTorch.
"""
import math
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent

HEADERS = {
    "torch": """
import torch
from torch import nn, optim
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset
""",
    "chainrule": """
import chainrule as torch
from chainrule import nn, optim
from chainrule.nn import functional as F
from chainrule.utils.data import DataLoader, Dataset, TensorDataset
""",
}


def _run(body, library, tmp_path):
    namespace = {"out": {}, "np": np, "math": math, "tmp": str(tmp_path / library)}
    (tmp_path / library).mkdir(exist_ok=True)
    exec(compile(HEADERS[library] + textwrap.dedent(body), f"<{library} program>", "exec"),
         namespace)
    return namespace["out"]


def _as_array(value):
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "numpy"):
        return np.asarray(value.numpy())
    return np.asarray(value)


def _compare(body, tmp_path, rtol=1e-5, atol=1e-6):
    expected = _run(body, "torch", tmp_path)
    actual = _run(body, "chainrule", tmp_path)
    assert expected, "the program recorded nothing to compare"
    assert actual.keys() == expected.keys()
    for key, want in expected.items():
        got = actual[key]
        if _is_plain(want):  # strings, bools, ints, shapes: exactly PyTorch's
            assert type(got) is type(want) and got == want, f"{key}: {got!r} != {want!r}"
            continue
        if isinstance(want, (list, tuple)) and want and hasattr(want[0], "shape"):
            assert len(got) == len(want), key
            pairs = zip(got, want)
        else:
            pairs = [(got, want)]
        for g, w in pairs:
            g, w = _as_array(g), _as_array(w)
            assert g.shape == w.shape, f"{key}: shape {g.shape} != PyTorch's {w.shape}"
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64),
                                       rtol=rtol, atol=atol, err_msg=key)


def _is_plain(value):
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return isinstance(value, (str, bool, int)) or value is None


def _readme_ten_lines():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Forward and backward propagation in ten lines", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    return code


def test_the_readme_example_gives_pytorchs_numbers(tmp_path):
    code = _readme_ten_lines()
    assert "import chainrule as cr" in code
    body = (code.replace("import chainrule as cr", "cr = torch")
            .replace("from chainrule.nn import functional as F", "")
            .replace("print(J)", "out['J'] = J").replace("print(W2.grad)", "out['dW2'] = W2.grad"))
    body += "\nout['dW1'] = W1.grad\n"
    _compare(body, tmp_path)


TRAINING_LOOP = """
rng = np.random.default_rng(0)
features = rng.normal(size=(40, 4)).astype(np.float32)
labels = rng.integers(0, 3, size=40)
train = TensorDataset(torch.tensor(features), torch.tensor(labels))
loader = DataLoader(train, batch_size=16, shuffle=False)

model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
for m in model.modules():                       # d2l's initialisation, through .data
    if isinstance(m, nn.Linear):
        m.weight.data.normal_(0, 0.01)
        m.bias.data.zero_()
out["init_std_near_0.01"] = np.array(abs(float(model[0].weight.detach().std()) - 0.01) < 0.006)
out["bias_zeroed"] = model[2].bias.detach().clone()

# The same starting point in both libraries: copied in through load_state_dict.
start = {"0.weight": rng.normal(0, 0.3, (8, 4)), "0.bias": rng.normal(0, 0.1, 8),
         "2.weight": rng.normal(0, 0.3, (3, 8)), "2.bias": rng.normal(0, 0.1, 3)}
model.load_state_dict({k: torch.tensor(v.astype(np.float32)) for k, v in start.items()})

ckpt = {"model": model.state_dict()}            # taken before training: it aliases the weights
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
losses = []
for epoch in range(3):
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
out["losses"] = np.array(losses)
out["batch_std"] = next(iter(loader))[0].std(0)
out["batch_max_indices"] = next(iter(loader))[0].max(1)[1]
out["batch_t"] = next(iter(loader))[0].transpose(0, 1)

torch.save(ckpt, tmp + "/ckpt.pt")
restored = torch.load(tmp + "/ckpt.pt")
out["saved_after_training"] = restored["model"]["2.weight"]
out["trained_weight"] = model[2].weight.detach().clone()

# A numerical gradient check written the PyTorch way: perturb a flat view of the weight.
xb, yb = next(iter(loader))
model.zero_grad()
F.cross_entropy(model(xb), yb).backward()
out["autograd"] = model[0].weight.grad.detach().clone().reshape(-1)[:6]
flat = model[0].weight.detach().view(-1)
numeric = []
with torch.no_grad():
    for i in range(6):
        old = flat[i].item()
        flat[i] = old + 1e-2
        up = F.cross_entropy(model(xb), yb).item()
        flat[i] = old - 1e-2
        down = F.cross_entropy(model(xb), yb).item()
        flat[i] = old
        numeric.append((up - down) / 2e-2)
out["numeric"] = np.array(numeric)
"""


def test_a_pytorch_training_loop_runs_unchanged(tmp_path):
    _compare(TRAINING_LOOP, tmp_path, rtol=1e-4, atol=1e-5)


def test_the_training_loop_checkpoint_holds_the_trained_weights(tmp_path):
    out = _run(TRAINING_LOOP, "chainrule", tmp_path)
    np.testing.assert_array_equal(_as_array(out["saved_after_training"]),
                                  _as_array(out["trained_weight"]))
    np.testing.assert_allclose(_as_array(out["numeric"]), _as_array(out["autograd"]),
                               rtol=1e-2, atol=1e-4)


SCHEDULED = """
rng = np.random.default_rng(1)
x = torch.tensor(rng.normal(size=(32, 5)).astype(np.float32))
y = torch.tensor(rng.normal(size=(32, 1)).astype(np.float32))
model = nn.Linear(5, 1)
with torch.no_grad():
    model.weight.copy_(torch.tensor(rng.normal(size=(1, 5)).astype(np.float32)))
    model.bias.fill_(0.5)
optimizer = optim.Adam(model.parameters(), lr=0.05)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
losses, norms = [], []
for step in range(8):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    norms.append(float(nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)))
    optimizer.step()
    scheduler.step()
    losses.append(loss.item())
out["losses"] = np.array(losses)
out["norms"] = np.array(norms)
out["lr"] = np.array(scheduler.get_last_lr())
out["weight"] = model.weight.detach()
"""


def test_a_scheduled_clipped_adam_loop_runs_unchanged(tmp_path):
    _compare(SCHEDULED, tmp_path, rtol=1e-4, atol=1e-6)


# A classifier as the porting guides write it: the device line, lazy layers that learn their
# input size at the first call, a map-style Dataset read by two workers, a forward hook,
# ReduceLROnPlateau on the epoch's loss, and an evaluation under inference_mode.
LAZY_CLASSIFIER = """
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
out["device"] = str(device)
out["gpus"] = torch.cuda.device_count()

rng = np.random.default_rng(2)
features = rng.normal(size=(48, 5)).astype(np.float32)
labels = (features[:, 0] + features[:, 1] > 0).astype(np.int64) + (features[:, 2] > 1)


class Points(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return torch.tensor(self.x[i]), int(self.y[i])


loader = DataLoader(Points(features, labels), batch_size=12, shuffle=False, num_workers=2)

model = nn.Sequential(nn.LazyLinear(16), nn.ReLU(), nn.LazyLinear(3)).to(device)
model(torch.zeros(1, 5, device=device))          # the first call fixes the sizes
out["types"] = [type(m).__name__ for m in model]
out["shapes"] = [tuple(p.shape) for p in model.parameters()]
start = {"0.weight": rng.normal(0, 0.4, (16, 5)), "0.bias": rng.normal(0, 0.1, 16),
         "2.weight": rng.normal(0, 0.4, (3, 16)), "2.bias": rng.normal(0, 0.1, 3)}
with torch.no_grad():                              # the same numbers in both libraries
    for name, p in model.named_parameters():
        p.copy_(torch.tensor(start[name].astype(np.float32)))

activations = []
handle = model[1].register_forward_hook(
    lambda module, inputs, output: activations.append(output.mean().item()))
optimizer = optim.SGD(model.parameters(), lr=0.5)
scheduler = optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=0)
epoch_losses, accuracies, lrs = [], [], []
for epoch in range(6):
    model.train()
    total, correct = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        scores = model(xb)
        loss = F.cross_entropy(scores, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        correct += (scores.argmax(1) == yb).sum().item()
    epoch_losses.append(total / len(loader.dataset))
    accuracies.append(correct / len(loader.dataset))
    scheduler.step(accuracies[-1])                 # an accuracy that stalls halves the lr
    lrs.append(optimizer.param_groups[0]["lr"])
handle.remove()
out["epoch_losses"] = np.array(epoch_losses)
out["lrs"] = np.array(lrs)
out["accuracies"] = accuracies
out["activations"] = np.array(activations)

model.eval()
with torch.inference_mode():
    logits = model(torch.tensor(features).to(device))
    pred = logits.argmax(dim=1)
out["requires_grad"] = logits.requires_grad
out["counts"] = F.one_hot(pred, num_classes=3).sum(0)
out["accuracy"] = (pred == torch.tensor(labels)).float().mean()
out["classes"] = pred.unique()
out["median_logit"] = logits.median(dim=0).values
out["summary"] = torch.hstack([logits.mean(0), logits.std(0)])
"""


def test_a_lazy_classifier_with_workers_hooks_and_plateau_runs_unchanged(tmp_path):
    _compare(LAZY_CLASSIFIER, tmp_path, rtol=1e-4, atol=1e-5)


# PyTorch's tutorial "Learning PyTorch with Examples": a custom autograd.Function (the Legendre
# polynomial P3) fitted to sin by hand-written SGD under no_grad, shortened to 300 steps; then
# the train/val phase loop of the transfer-learning tutorial with set_grad_enabled.
CUSTOM_FUNCTION = """
class LegendrePolynomial3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input):
        ctx.save_for_backward(input)
        return 0.5 * (5 * input ** 3 - 3 * input)

    @staticmethod
    def backward(ctx, grad_output):
        input, = ctx.saved_tensors
        return grad_output * 1.5 * (5 * input ** 2 - 1)


dtype = torch.float
device = torch.device("cpu")
x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
y = torch.sin(x)
a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)
learning_rate = 5e-6
losses = []
for t in range(300):
    P3 = LegendrePolynomial3.apply
    y_pred = a + b * P3(c + d * x)
    loss = (y_pred - y).pow(2).sum()
    if t % 50 == 49:
        losses.append(loss.item())
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
out["losses"] = np.array(losses)
out["coefficients"] = torch.stack([a, b, c, d]).detach()
out["y_pred_grad_fn"] = y_pred.grad_fn is not None

rng = np.random.default_rng(3)
inputs = {"train": torch.tensor(rng.normal(size=(16, 3)).astype(np.float32)),
          "val": torch.tensor(rng.normal(size=(8, 3)).astype(np.float32))}
targets = {"train": torch.tensor(rng.integers(0, 2, 16)),
           "val": torch.tensor(rng.integers(0, 2, 8))}
model = nn.Linear(3, 2)
model.load_state_dict({"weight": torch.tensor([[0.3, -0.2, 0.5], [-0.4, 0.1, 0.2]]),
                       "bias": torch.tensor([0.05, -0.05])})
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
history = []
for epoch in range(3):
    for phase in ["train", "val"]:
        if phase == "train":
            model.train()
        else:
            model.eval()
        optimizer.zero_grad()
        with torch.set_grad_enabled(phase == "train"):
            outputs = model(inputs[phase])
            _, preds = torch.max(outputs, 1)
            loss = criterion(outputs, targets[phase])
            if phase == "train":
                loss.backward()
                optimizer.step()
        corrects = torch.sum(preds == targets[phase].data)
        history.append([loss.item(), corrects.double().item() / len(preds)])
        out[f"{phase}_requires_grad"] = loss.requires_grad
out["history"] = np.array(history)
out["weight"] = model.weight
"""


def test_a_custom_autograd_function_and_phase_loop_run_unchanged(tmp_path):
    _compare(CUSTOM_FUNCTION, tmp_path, rtol=2e-4, atol=1e-5)


# The bigram language model of the "makemore" lecture: counts in an int32 tensor filled through
# indexing, rows sampled with multinomial from a seeded Generator (the draws are each library's
# own, so only their properties are compared), the likelihood, and the one-hot neural version
# trained through .data with weights copied in.
BIGRAMS = """
words = ["emma", "olivia", "ava", "isabella", "sophia", "charlotte", "mia", "amelia", "harper",
         "evelyn", "abigail", "emily"]
chars = sorted(list(set("".join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
V = len(stoi)

N = torch.zeros((V, V), dtype=torch.int32)
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        N[stoi[ch1], stoi[ch2]] += 1
out["N"] = N
P = (N + 1).float()
P /= P.sum(1, keepdims=True)
out["P"] = P

g = torch.Generator().manual_seed(2147483647)
p = P[0]
ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
out["first_draw_is_a_letter"] = 1 <= ix < V
samples = []
for i in range(20):
    ix = 0
    name = []
    while True:
        ix = torch.multinomial(P[ix], num_samples=1, replacement=True, generator=g).item()
        name.append(itos[ix])
        if ix == 0:
            break
    samples.append("".join(name))
out["samples_end_once"] = all(s.endswith(".") and s.count(".") == 1 for s in samples)
out["samples_use_the_alphabet"] = all(set(s) <= set(stoi) for s in samples)
draws = torch.multinomial(P[stoi["e"]], num_samples=4000, replacement=True, generator=g)
observed = F.one_hot(draws, num_classes=V).sum(0).float() / 4000
out["frequencies_follow_P"] = bool((observed - P[stoi["e"]]).abs().max() < 0.04)
W0 = torch.randn((V, V), generator=g)
out["randn_with_generator"] = (tuple(W0.shape), str(W0.dtype).split(".")[-1])

log_likelihood = 0.0
n = 0
xs, ys = [], []
for w in words:
    chs = ["."] + list(w) + ["."]
    for ch1, ch2 in zip(chs, chs[1:]):
        ix1, ix2 = stoi[ch1], stoi[ch2]
        log_likelihood += torch.log(P[ix1, ix2])
        n += 1
        xs.append(ix1)
        ys.append(ix2)
out["nll"] = -log_likelihood / n

xs = torch.tensor(xs)
ys = torch.tensor(ys)
W = torch.tensor(np.random.default_rng(0).normal(size=(V, V)).astype(np.float32),
                 requires_grad=True)
losses = []
for k in range(30):
    xenc = F.one_hot(xs, num_classes=V).float()
    logits = xenc @ W
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdims=True)
    loss = -probs[torch.arange(len(xs)), ys].log().mean() + 0.01 * (W ** 2).mean()
    W.grad = None
    loss.backward()
    W.data += -10 * W.grad
    losses.append(loss.item())
out["neural_losses"] = np.array(losses)
out["W"] = W
"""


def test_the_makemore_bigram_model_runs_unchanged(tmp_path):
    _compare(BIGRAMS, tmp_path, rtol=1e-4, atol=1e-5)


# The checkpoint recipe of PyTorch's "Saving and loading a general checkpoint" tutorial: model,
# optimizer and epoch saved in one dict mid-training, loaded into fresh objects, and training
# resumed; the resumed run must end where the uninterrupted one does.
RESUME = """
rng = np.random.default_rng(4)
x = torch.tensor(rng.normal(size=(24, 3)).astype(np.float32))
y = torch.tensor(rng.normal(size=(24, 1)).astype(np.float32))
start = {"0.weight": torch.tensor(rng.normal(0, 0.5, (6, 3)).astype(np.float32)),
         "0.bias": torch.zeros(6), "2.weight": torch.tensor(rng.normal(0, 0.5, (1, 6)).astype(
             np.float32)), "2.bias": torch.zeros(1)}


def make():
    model = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 1))
    model.load_state_dict(start)
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    return model, optimizer


def train(model, optimizer, steps):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


model, optimizer = make()
straight = train(model, optimizer, 8)

model, optimizer = make()
first = train(model, optimizer, 4)
torch.save({"epoch": 4, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(), "loss": first[-1]},
           tmp + "/general.pt")
model, optimizer = make()
checkpoint = torch.load(tmp + "/general.pt")
model.load_state_dict(checkpoint["model_state_dict"])
optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
model.train()
resumed = first + train(model, optimizer, 4)
out["straight"] = np.array(straight)
out["resumed"] = np.array(resumed)
out["epoch"] = checkpoint["epoch"]
out["loss"] = checkpoint["loss"]
out["lr"] = optimizer.param_groups[0]["lr"]
out["weight"] = model[2].weight
"""


def test_a_general_checkpoint_resumes_training(tmp_path):
    _compare(RESUME, tmp_path, rtol=1e-5, atol=1e-6)
    out = _run(RESUME, "chainrule", tmp_path)
    np.testing.assert_allclose(out["resumed"], out["straight"], rtol=1e-6)


# d2l.ai's chapter 3 as written: synthetic data from torch.normal, a hand-made data_iter indexing
# with a tensor of indices, sgd under no_grad, softmax and cross-entropy from scratch (indexing
# with range, .type(dtype), argmax(axis=1)), net.apply(init_weights) with nn.init.normal_,
# CrossEntropyLoss(reduction='none'), and d2l's try_gpu/try_all_gpus device helpers.
D2L = """
import random
def synthetic_data(w, b, num_examples):
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = torch.matmul(X, w) + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))

true_w = torch.tensor([2, -3.4])
true_b = 4.2
torch.manual_seed(0)
features, labels = synthetic_data(true_w, true_b, 1000)
out["shapes"] = (tuple(features.shape), tuple(labels.shape))
rng = np.random.default_rng(5)
features = torch.tensor(rng.normal(size=(100, 2)).astype(np.float32))
labels = (torch.matmul(features, true_w) + true_b).reshape((-1, 1))

def data_iter(batch_size, features, labels):
    num_examples = len(features)
    indices = list(range(num_examples))
    random.Random(0).shuffle(indices)
    for i in range(0, num_examples, batch_size):
        batch_indices = torch.tensor(indices[i: min(i + batch_size, num_examples)])
        yield features[batch_indices], labels[batch_indices]

w = torch.tensor([[0.01], [-0.02]], requires_grad=True)
b = torch.zeros(1, requires_grad=True)
def linreg(X, w, b):
    return torch.matmul(X, w) + b
def squared_loss(y_hat, y):
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2
def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()
lr, num_epochs = 0.03, 3
losses = []
for epoch in range(num_epochs):
    for X, y in data_iter(10, features, labels):
        l = squared_loss(linreg(X, w, b), y)
        l.sum().backward()
        sgd([w, b], lr, 10)
    with torch.no_grad():
        train_l = squared_loss(linreg(features, w, b), labels)
        losses.append(float(train_l.mean()))
out["linreg_losses"] = np.array(losses)
out["w_error"] = true_w - w.reshape(true_w.shape)

def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition
X = torch.tensor(rng.normal(size=(2, 5)).astype(np.float32))
X_prob = softmax(X)
out["softmax"] = X_prob
out["rowsums"] = X_prob.sum(1)
y = torch.tensor([0, 2])
y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
out["picked"] = y_hat[[0, 1], y]
def cross_entropy(y_hat, y):
    return - torch.log(y_hat[range(len(y_hat)), y])
out["ce"] = cross_entropy(y_hat, y)
def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())
out["accuracy"] = accuracy(y_hat, y) / len(y)

net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)
net.apply(init_weights)
out["init_std_ok"] = bool(abs(float(net[1].weight.std()) - 0.01) < 0.02)
with torch.no_grad():
    net[1].weight.copy_(torch.tensor(rng.normal(0, 0.1, (3, 4)).astype(np.float32)))
    net[1].bias.zero_()
loss = nn.CrossEntropyLoss(reduction='none')
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
imgs = torch.tensor(rng.normal(size=(30, 2, 2)).astype(np.float32))
targets = torch.tensor(rng.integers(0, 3, 30))
history = []
for epoch in range(3):
    if isinstance(net, torch.nn.Module):
        net.train()
    for i in range(0, 30, 10):
        X, yb = imgs[i:i + 10], targets[i:i + 10]
        y_hat = net(X)
        l = loss(y_hat, yb)
        trainer.zero_grad()
        l.mean().backward()
        trainer.step()
        history.append([float(l.sum()), accuracy(y_hat, yb), yb.numel()])
out["history"] = np.array(history)
def try_gpu(i=0):
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f'cuda:{i}')
    return torch.device('cpu')
def try_all_gpus():
    devices = [torch.device(f'cuda:{i}') for i in range(torch.cuda.device_count())]
    return devices if devices else [torch.device('cpu')]
out["gpu"] = str(try_gpu())
out["all"] = [str(d) for d in try_all_gpus()]
X = torch.ones(2, 3, device=try_gpu())
out["X_device"] = str(X.device)
net2 = nn.Sequential(nn.Linear(3, 1))
net2 = net2.to(device=try_gpu())
out["net_device"] = str(net2[0].weight.data.device)
"""


@pytest.mark.filterwarnings("ignore:Converting a tensor with requires_grad")
def test_d2l_chapter_3_runs_unchanged(tmp_path):
    _compare(D2L, tmp_path, rtol=1e-4, atol=1e-5)
