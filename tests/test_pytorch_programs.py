"""PyTorch programs run unchanged apart from the import, with PyTorch's numbers.

Each program below is written once, in PyTorch's spelling, and run twice: under PyTorch's
imports and under chainrule's. The README's ten-line example is one of them, read from the
README itself. Whatever a program stores in ``out`` is compared between the two runs, so the
doors a porter walks through first (TensorDataset and DataLoader batches, ``.data`` initialisers,
``state_dict()`` checkpoints that alias the weights, ``save``/``load``, ``view(-1)`` for a
numerical gradient check) must all mean what they mean in PyTorch.
"""
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
from torch.utils.data import DataLoader, TensorDataset
""",
    "chainrule": """
import chainrule as torch
from chainrule import nn, optim
from chainrule.nn import functional as F
from chainrule.utils.data import DataLoader, TensorDataset
""",
}


def _run(body, library, tmp_path):
    namespace = {"out": {}, "np": np, "tmp": str(tmp_path / library)}
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
