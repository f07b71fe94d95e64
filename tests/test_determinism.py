"""Determinism: the same seed gives the same bits, and an interrupted run resumed from its
checkpoint ends bit for bit where the uninterrupted run ends.

"The same" here is np.array_equal on every weight and every optimizer buffer, never allclose.
"""
import hashlib
import itertools
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader
from chainrule.nn import functional as F
from chainrule.serialize import load_tree, save_tree

EXAMPLES = 200
BATCH = 16  # 13 batches per epoch, the last one short
TOTAL_STEPS = 40

OPTIMIZERS = {
    "sgd-momentum": lambda params: optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-4),
    "sgd-nesterov": lambda params: optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda params: optim.Adam(params, lr=1e-3),
    "adamw": lambda params: optim.AdamW(params, lr=1e-3, weight_decay=0.1),
    "rmsprop-momentum": lambda params: optim.RMSprop(params, lr=1e-3, momentum=0.5),
}


def dataset():
    rng = np.random.default_rng(123)
    x = rng.standard_normal((EXAMPLES, 20)).astype(np.float32)
    return x, (x[:, :4].argmax(axis=1) + (x[:, 4] > 1)) % 4


class Run:
    """A model with Dropout, its optimizer and a shuffling loader: everything a run needs."""

    def __init__(self, optimizer, seed):
        cr.manual_seed(seed)
        self.model = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Dropout(0.3),
                                   nn.Linear(32, 16), nn.Tanh(), nn.Dropout(0.2),
                                   nn.Linear(16, 4))
        self.optimizer = OPTIMIZERS[optimizer](self.model.parameters())
        self.loader = DataLoader(dataset(), batch_size=BATCH, shuffle=True, seed=seed)
        self.steps = 0

    def train(self, steps):
        while steps:
            for x, y in self.loader:
                self.optimizer.zero_grad()
                F.cross_entropy(self.model(x), y).backward()
                self.optimizer.step()
                self.steps += 1
                steps -= 1
                if not steps:
                    break

    def save(self, path):
        save_tree(path, {"model": dict(self.model.state_dict()),
                         "optimizer": self.optimizer.state_dict(),
                         "loader": self.loader.state_dict(),
                         "rng": cr.default_generator().bit_generator.state,
                         "steps": self.steps})

    def load(self, path):
        tree = load_tree(path)
        self.model.load_state_dict(tree["model"])
        self.optimizer.load_state_dict(tree["optimizer"])
        self.loader.load_state_dict(tree["loader"])
        cr.default_generator().bit_generator.state = tree["rng"]
        self.steps = tree["steps"]


def assert_same_bits(a, b):
    for (name, x), (other, y) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert name == other
        assert np.array_equal(x, y), f"{name} differs"
    state_a, state_b = a.optimizer.state_dict(), b.optimizer.state_dict()
    assert state_a["param_groups"] == state_b["param_groups"]
    assert state_a["state"].keys() == state_b["state"].keys()
    for index, sa in state_a["state"].items():
        sb = state_b["state"][index]
        assert sa.keys() == sb.keys()
        for key in sa:
            assert np.array_equal(sa[key].numpy(), sb[key].numpy()), \
                f"optimizer state {index} {key} differs"


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_same_seed_same_bits_other_seed_other_bits(optimizer):
    runs = []
    for seed in (3, 3, 4):
        runs.append(Run(optimizer, seed))  # Dropout draws from the library's one generator,
        runs[-1].train(TOTAL_STEPS)        # so each run trains before the next one reseeds it
    assert_same_bits(runs[0], runs[1])
    assert not np.array_equal(runs[0].model[0].weight.detach().numpy(), runs[2].model[0].weight.detach().numpy())


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("split", [1, 7, 13, 26, 31], ids=lambda k: f"resume-after-{k}")
def test_interrupted_and_resumed_equals_uninterrupted(optimizer, split, tmp_path):
    straight = Run(optimizer, seed=3)
    straight.train(TOTAL_STEPS)

    first = Run(optimizer, seed=3)
    first.train(split)
    first.save(tmp_path / "checkpoint.crt")
    cr.default_generator().random(1000)  # whatever ran in between must not matter
    resumed = Run(optimizer, seed=99)  # fresh weights, fresh RNG: the checkpoint must win
    resumed.load(tmp_path / "checkpoint.crt")
    resumed.train(TOTAL_STEPS - split)

    assert resumed.steps == straight.steps == TOTAL_STEPS
    assert_same_bits(resumed, straight)


def test_dropout_masks_depend_only_on_the_seed():
    masks = []
    for _ in range(2):
        cr.manual_seed(11)
        layer = nn.Dropout(0.5)
        masks.append([layer(np.ones((4, 8), np.float32)).detach().numpy() for _ in range(3)])
    for first, second in zip(*masks):
        assert np.array_equal(first, second)
    assert not np.array_equal(masks[0][0], masks[0][1])  # but differ from call to call


def test_the_trainer_is_deterministic_and_resumes_exactly_with_adam_and_hinge(tmp_path,
                                                                              monkeypatch):
    pytest.importorskip("sklearn", reason="the digits dataset ships with scikit-learn")
    from chainrule.train import TrainConfig, Trainer
    monkeypatch.setattr("chainrule.train.trainer.plot_history", lambda *args: None)  # 1 s each
    config = TrainConfig(hidden=[16], epochs=2, optimizer="adam", lr=1e-3, loss="hinge",
                         batch_size=64, seed=5)

    def trainer(**options):
        return Trainer(config, progress=False, log=None, **options)

    straight, again = trainer(), trainer()
    straight.fit(2)
    again.fit(2)
    interrupted = trainer(out_dir=str(tmp_path))
    interrupted.fit(1)
    resumed = Trainer.resume(str(tmp_path / "checkpoint.crt"), progress=False, log=None)
    resumed.fit(2)
    for run in (again, resumed):
        for (name, a), b in zip(straight.model.state_dict().items(),
                                run.model.state_dict().values()):
            assert np.array_equal(a, b), name
    assert resumed.step == straight.step


RUN_IN_A_PROCESS = textwrap.dedent("""
    import hashlib, sys
    sys.path.insert(0, sys.argv[1])
    from test_determinism import Run
    run = Run("adam", seed=3)
    run.train(25)
    digest = hashlib.sha256()
    for name, array in run.model.state_dict().items():
        digest.update(name.encode() + array.numpy().tobytes())
    print(digest.hexdigest())
""")


def test_same_bits_in_fresh_processes_with_different_hash_seeds():
    # Separate interpreters: nothing may depend on id()s, set order or string hashing.
    folder = str(__import__("pathlib").Path(__file__).parent)
    digests = set()
    for hash_seed in ("0", "1"):
        done = subprocess.run([sys.executable, "-c", RUN_IN_A_PROCESS, folder],
                              env={**__import__("os").environ, "PYTHONHASHSEED": hash_seed},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    run = Run("adam", seed=3)
    run.train(25)
    digest = hashlib.sha256()
    for name, array in run.model.state_dict().items():
        digest.update(name.encode() + array.numpy().tobytes())
    digests.add(digest.hexdigest())
    assert len(digests) == 1


# -- gradients ----------------------------------------------------------------------------------

def test_backward_gives_the_same_bits_every_time():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
    x, y = dataset()
    grads = []
    for _ in range(3):
        model.zero_grad()
        # Fan-out (the weights feed both the loss and the penalty) makes the engine sum paths.
        loss = F.cross_entropy(model(x), y) + nn.l2_penalty(model.parameters(), 1e-3)
        loss.backward()
        grads.append([p.grad.detach().numpy().copy() for p in model.parameters()])
    for other in grads[1:]:
        assert all(np.array_equal(a, b) for a, b in zip(grads[0], other))


def test_gradcheck_requires_identical_gradients_from_its_two_backward_passes():
    x = np.random.default_rng(0).standard_normal((3, 4))
    assert cr.gradcheck(lambda t: (t.tanh() * t).sum(axis=1), [x])

    drift = itertools.count(1)

    def nondeterministic_backward(t):
        y = t * 1.0
        # The forward value is exact; each backward pass scales the gradient a little
        # differently, as a race in a parallel reduction would.
        y.register_hook(lambda g: g * (1 + next(drift) * 1e-12))
        return y.tanh()

    with pytest.raises(cr.GradcheckError, match=r"not deterministic for input 0"):
        cr.gradcheck(nondeterministic_backward, [x])


def test_gradcheck_itself_is_deterministic():
    # Its random weighting and random directions come from its own seed, not global state.
    x = np.random.default_rng(1).standard_normal((30, 30))
    fn = lambda t: (t.tanh() @ t).sum(axis=0)  # noqa: E731
    reports = []
    for _ in range(2):
        np.random.seed(None)
        cr.default_generator().random(10)
        try:
            cr.gradcheck(fn, [x], max_elements=10, atol=1e-30, rtol=1e-30)
        except cr.GradcheckError as error:
            reports.append(str(error))
    assert len(reports) == 2 and reports[0] == reports[1]
