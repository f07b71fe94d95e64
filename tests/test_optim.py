"""chainrule.optim: every optimizer against torch.optim and against formulas written out here,
schedulers against torch's learning rates, bit-for-bit resume from state_dict, and argument
validation."""
import copy
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

STEPS = 5
SHAPES = [(3, 4), (4,)]


# ---------------------------------------------------------------- a shared little problem

def initial_values():
    rng = np.random.default_rng(0)
    return [rng.normal(size=shape) for shape in SHAPES]


def gradients(step, values):
    """The gradient at ``step``: a fixed random part plus 0.5 * w (so it depends on the
    parameters), with a scale that jumps between steps so amsgrad's maximum matters."""
    rng = np.random.default_rng(100 + step)
    scale = 3.0 if step % 2 else 0.1
    return [scale * rng.normal(size=w.shape) + 0.5 * w for w in values]


def run_ours(make, steps=STEPS):
    params = [cr.tensor(w, requires_grad=True) for w in initial_values()]
    frozen = cr.tensor(np.ones(2), requires_grad=True)  # its grad stays None: never updated
    optimizer = make(params + [frozen])
    for step in range(steps):
        optimizer.zero_grad()
        for p, g in zip(params, gradients(step, [p.detach().numpy() for p in params])):
            p.grad = cr.tensor(g)
        optimizer.step()
    np.testing.assert_array_equal(frozen.detach().numpy(), np.ones(2))
    assert frozen not in optimizer.state
    return [p.detach().numpy() for p in params]


def run_torch(torch, make, steps=STEPS):
    params = [torch.tensor(w, requires_grad=True) for w in initial_values()]
    frozen = torch.ones(2, dtype=torch.float64, requires_grad=True)
    optimizer = make(params + [frozen])
    for step in range(steps):
        optimizer.zero_grad()
        for p, g in zip(params, gradients(step, [p.detach().numpy() for p in params])):
            p.grad = torch.from_numpy(g)
        optimizer.step()
    return [p.detach().numpy() for p in params]


CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.02, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-4, centered=True, momentum=0.5,
                     weight_decay=0.1)),
]


@pytest.mark.parametrize("name,options", CONFIGS,
                         ids=[f"{n}-{'-'.join(o)}" for n, o in CONFIGS])
def test_matches_torch_after_five_steps(name, options):
    torch = pytest.importorskip("torch")
    ours = run_ours(lambda ps: getattr(optim, name)(ps, **options))
    theirs = run_torch(torch, lambda ps: getattr(torch.optim, name)(ps, **options))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    initial = initial_values()
    assert all(not np.allclose(a, w) for a, w in zip(ours, initial))


# ---------------------------------------------------------------- the formulas, written out

def test_sgd_momentum_matches_written_out_formula():
    lr, mu, lam = 0.1, 0.9, 0.01
    ours = run_ours(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, weight_decay=lam))
    values = initial_values()
    velocity = [None] * len(values)
    for step in range(STEPS):
        for i, (w, g) in enumerate(zip(values, gradients(step, values))):
            g = g + lam * w
            velocity[i] = g if velocity[i] is None else mu * velocity[i] + g
            values[i] = w - lr * velocity[i]
    for a, b in zip(ours, values):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_nesterov_matches_written_out_formula():
    lr, mu = 0.1, 0.9
    ours = run_ours(lambda ps: optim.SGD(ps, lr=lr, momentum=mu, nesterov=True))
    values = initial_values()
    velocity = [np.zeros_like(w) for w in values]
    for step in range(STEPS):
        for i, (w, g) in enumerate(zip(values, gradients(step, values))):
            velocity[i] = mu * velocity[i] + g  # a zero start equals starting at g
            values[i] = w - lr * (g + mu * velocity[i])
    for a, b in zip(ours, values):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("decoupled", [False, True], ids=["Adam", "AdamW"])
def test_adam_matches_written_out_formula(decoupled):
    lr, b1, b2, eps, lam = 0.01, 0.9, 0.999, 1e-8, 0.1
    kind = optim.AdamW if decoupled else optim.Adam
    ours = run_ours(lambda ps: kind(ps, lr=lr, betas=(b1, b2), eps=eps, weight_decay=lam))
    values = initial_values()
    m = [np.zeros_like(w) for w in values]
    v = [np.zeros_like(w) for w in values]
    for step in range(STEPS):
        t = step + 1
        for i, (w, g) in enumerate(zip(values, gradients(step, values))):
            if decoupled:
                w = w * (1 - lr * lam)
            else:
                g = g + lam * w
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g ** 2
            m_hat = m[i] / (1 - b1 ** t)
            v_hat = v[i] / (1 - b2 ** t)
            values[i] = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    for a, b in zip(ours, values):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_first_adam_step_moves_each_weight_by_about_lr():
    # With bias correction the first step is lr * g / (|g| + eps'): a signed step of size lr.
    w = cr.tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    w.grad = cr.tensor(np.array([0.5, -40.0, 1e-3]))
    optim.Adam([w], lr=0.1, eps=1e-12).step()
    np.testing.assert_allclose(w.detach().numpy(), [0.9, -1.9, 2.9], rtol=1e-9)


# ---------------------------------------------------------------- how updates are applied

def test_updates_are_in_place_and_bump_the_version():
    w = cr.tensor(np.ones(3), requires_grad=True)
    array = w.detach().numpy()
    out = (w * w).sum()  # mul saved w
    out.backward(retain_graph=True)
    optim.SGD([w], lr=0.1).step()
    assert w.detach().numpy() is array
    np.testing.assert_allclose(array, 0.8)
    with pytest.raises(cr.GradientError, match="modified in place"):
        out.backward()


def test_dtype_of_float32_parameters_is_kept():
    model = nn.Linear(3, 2)
    model(np.ones((4, 3), np.float32)).sum().backward()
    for kind in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop):
        optimizer = kind(model.parameters(), lr=0.01)
        optimizer.step()
        assert all(p.dtype == np.float32 for p in model.parameters())
        for state in optimizer.state.values():
            assert all(v.dtype == np.float32 for v in state.values() if hasattr(v, "dtype"))


def test_parameter_groups_have_their_own_options():
    a = cr.tensor(np.ones(2), requires_grad=True)
    b = cr.tensor(np.ones(2), requires_grad=True)
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = cr.tensor(np.ones(2)), cr.tensor(np.ones(2))
    optimizer.step()
    np.testing.assert_allclose(a.detach().numpy(), 0.9)
    np.testing.assert_allclose(b.detach().numpy(), 0.0)
    assert [g["params"] for g in optimizer.state_dict()["param_groups"]] == [[0], [1]]


def test_optimizers_train_a_model_with_module_parameters():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)), rng.integers(0, 3, size=32)
    model = nn.Sequential(nn.Linear(4, 16, dtype="float64", generator=rng), nn.ReLU(),
                          nn.Linear(16, 3, dtype="float64", generator=rng))
    optimizer = optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(30):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first


def test_step_with_closure_returns_the_loss():
    w = cr.tensor(np.array([2.0]), requires_grad=True)
    optimizer = optim.SGD([w], lr=0.25)

    def closure():
        optimizer.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():  # the closure still records its graph
        loss = optimizer.step(closure)
    assert loss.item() == 4.0
    np.testing.assert_allclose(w.detach().numpy(), [1.0])


# ---------------------------------------------------------------- schedulers

def lr_sequence(make_scheduler, optimizer, epochs):
    scheduler = make_scheduler(optimizer)
    lrs = [scheduler.get_last_lr()]
    for _ in range(epochs):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr())
    return np.array(lrs)


SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5), 12),
    ("StepLR", dict(step_size=1), 5),
    ("CosineAnnealingLR", dict(T_max=5), 23),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=0.01), 30),
]


@pytest.mark.parametrize("name,options,epochs", SCHEDULERS,
                         ids=[f"{n}-{'-'.join(f'{k}{v}' for k, v in o.items())}"
                              for n, o, _ in SCHEDULERS])
def test_scheduler_matches_torch(name, options, epochs):
    torch = pytest.importorskip("torch")
    ours_params = [cr.tensor(np.ones(1), requires_grad=True), cr.tensor(np.ones(1), requires_grad=True)]
    ours = lr_sequence(lambda o: getattr(optim, name)(o, **options),
                       optim.SGD([{"params": ours_params[:1]},
                                  {"params": ours_params[1:], "lr": 0.3}], lr=0.1),
                       epochs)
    theirs_params = [torch.ones(1, requires_grad=True), torch.ones(1, requires_grad=True)]
    theirs = lr_sequence(lambda o: getattr(torch.optim.lr_scheduler, name)(o, **options),
                         torch.optim.SGD([{"params": theirs_params[:1]},
                                          {"params": theirs_params[1:], "lr": 0.3}], lr=0.1),
                         epochs)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=1e-17)


def test_step_lr_values():
    w = cr.tensor(np.ones(1), requires_grad=True)
    lrs = lr_sequence(lambda o: optim.StepLR(o, step_size=2, gamma=0.1),
                      optim.SGD([w], lr=1.0), 6)[:, 0]
    np.testing.assert_allclose(lrs, [1, 1, 0.1, 0.1, 0.01, 0.01, 0.001])


def test_cosine_values_follow_the_closed_form_within_a_period():
    w = cr.tensor(np.ones(1), requires_grad=True)
    base, eta_min, period = 0.5, 0.02, 10
    optimizer = optim.SGD([w], lr=base)
    lrs = lr_sequence(lambda o: optim.CosineAnnealingLR(o, T_max=period, eta_min=eta_min),
                      optimizer, period)[:, 0]
    expected = [eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / period)) / 2
                for t in range(period + 1)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-12, atol=1e-15)
    assert optimizer.param_groups[0]["lr"] == lrs[-1]


def test_scheduler_state_dict_resumes():
    w = cr.tensor(np.ones(1), requires_grad=True)
    optimizer = optim.SGD([w], lr=1.0)
    scheduler = optim.CosineAnnealingLR(optimizer, T_max=6, eta_min=0.1)
    for _ in range(3):
        scheduler.step()
    saved_optimizer, saved = optimizer.state_dict(), scheduler.state_dict()
    assert_savable(saved)
    later = []
    for _ in range(5):
        scheduler.step()
        later.append(scheduler.get_last_lr())

    w2 = cr.tensor(np.ones(1), requires_grad=True)
    optimizer2 = optim.SGD([w2], lr=1.0)
    optimizer2.load_state_dict(saved_optimizer)
    scheduler2 = optim.CosineAnnealingLR(optimizer2, T_max=1)
    scheduler2.load_state_dict(saved)
    resumed = []
    for _ in range(5):
        scheduler2.step()
        resumed.append(scheduler2.get_last_lr())
    assert resumed == later
    with pytest.raises(ValueError, match="step_size"):
        scheduler2.load_state_dict(optim.StepLR(optimizer2, 2).state_dict())


# ---------------------------------------------------------------- state_dict and resuming

def assert_savable(tree, where="state_dict"):
    """What PyTorch's state_dict holds: dicts with str or int keys, lists, tuples, tensors
    and JSON scalars (all of which the checkpoint format stores)."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            assert type(key) in (str, int), f"{where}: key {key!r} is not a str or int"
            assert_savable(value, f"{where}/{key}")
    elif isinstance(tree, (list, tuple)):
        for index, value in enumerate(tree):
            assert_savable(value, f"{where}/{index}")
    else:
        assert tree is None or type(tree) in (cr.Tensor, int, float, bool, str), \
            f"{where}: {type(tree).__name__} is not plain data"


RESUME_CONFIGS = [
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
]


@pytest.mark.parametrize("name,options", RESUME_CONFIGS, ids=[n for n, _ in RESUME_CONFIGS])
def test_resume_from_state_dict_is_bit_for_bit(name, options):
    def step(params, optimizer, number):
        for p, g in zip(params, gradients(number, [p.detach().numpy() for p in params])):
            p.grad = cr.tensor(g)
        optimizer.step()

    kind = getattr(optim, name)
    params = [cr.tensor(w, requires_grad=True) for w in initial_values()]
    optimizer = kind(params, **options)
    for number in range(3):
        step(params, optimizer, number)
    saved = copy.deepcopy(optimizer.state_dict())  # its tensors change with each step
    saved_values = [p.detach().numpy().copy() for p in params]
    assert_savable(saved)
    assert saved["state"][0]  # the state was actually saved
    for number in range(3, 6):
        step(params, optimizer, number)

    # Reload into a fresh optimizer built with different options: the saved ones win.
    resumed_params = [cr.tensor(w, requires_grad=True) for w in saved_values]
    resumed = kind(resumed_params, lr=123.0)
    resumed.load_state_dict(saved)
    for number in range(3, 6):
        step(resumed_params, resumed, number)
    for a, b in zip(params, resumed_params):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_shares_the_buffers_and_a_deepcopy_keeps_a_snapshot():
    params = [cr.tensor(w, requires_grad=True) for w in initial_values()]
    optimizer = optim.Adam(params, lr=0.1, betas=(0.8, 0.9))
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape))
    optimizer.step()
    live = optimizer.state_dict()
    snapshot = copy.deepcopy(live)
    assert live["param_groups"][0]["betas"] == (0.8, 0.9)
    assert list(live["state"]) == [0, 1] and live["state"][0]["step"].item() == 1
    assert live["state"][0]["step"].dtype == cr.float32 and live["state"][0]["step"].shape == ()
    optimizer.step()
    assert live["state"][0]["step"].item() == 2 and snapshot["state"][0]["step"].item() == 1
    np.testing.assert_array_equal(live["state"][0]["exp_avg"].numpy(),
                                  optimizer.state[params[0]]["exp_avg"])
    assert not np.array_equal(snapshot["state"][0]["exp_avg"].numpy(),
                              optimizer.state[params[0]]["exp_avg"])
    optimizer.load_state_dict(snapshot)  # copies: the snapshot stays as it was
    assert optimizer.param_groups[0]["betas"] == (0.8, 0.9)
    assert float(optimizer.state[params[0]]["step"]) == 1
    optimizer.step()
    assert snapshot["state"][0]["step"].item() == 1


def test_a_state_saved_by_an_earlier_version_still_loads():
    # Earlier chainrule wrote 'state' as a list with one dict per parameter, arrays and an int.
    params = [cr.tensor(w, requires_grad=True) for w in initial_values()]
    optimizer = optim.Adam(params, lr=0.1)
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape))
    optimizer.step()
    current = copy.deepcopy(optimizer.state_dict())
    legacy = {"param_groups": [dict(current["param_groups"][0], betas=[0.9, 0.999])],
              "state": [{key: value.numpy() if key != "step" else 1
                         for key, value in current["state"][i].items()} for i in (0, 1)]}
    fresh = optim.Adam([cr.tensor(w, requires_grad=True) for w in initial_values()], lr=0.5)
    fresh.load_state_dict(legacy)
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_array_equal(fresh.state_dict()["state"][1][key].numpy(),
                                      current["state"][1][key].numpy())
    assert fresh.state_dict()["state"][1]["step"].item() == 1 and fresh.defaults["lr"] == 0.5
    assert fresh.param_groups[0]["lr"] == 0.1


def test_state_dict_round_trips_through_the_checkpoint_format(tmp_path):
    serialize = pytest.importorskip("chainrule.serialize")
    params = [cr.tensor(w, requires_grad=True) for w in initial_values()]
    optimizer = optim.RMSprop(params, momentum=0.5, centered=True)
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape))
    optimizer.step()
    serialize.save_tree(tmp_path / "opt.ckpt", optimizer.state_dict())
    loaded = serialize.load_tree(tmp_path / "opt.ckpt")
    fresh = optim.RMSprop([cr.tensor(w, requires_grad=True) for w in initial_values()])
    fresh.load_state_dict(loaded)
    assert fresh.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]


def test_load_state_dict_refuses_mismatches_and_changes_nothing():
    params = [cr.tensor(w, requires_grad=True) for w in initial_values()]
    adam = optim.Adam(params)
    for p in params:
        p.grad = cr.tensor(np.ones(p.shape))
    adam.step()
    sgd = optim.SGD(params, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"group 0 has keys .*another kind of optimizer"):
        sgd.load_state_dict(adam.state_dict())
    assert sgd.state == {}

    saved = copy.deepcopy(adam.state_dict())
    saved["state"][1]["exp_avg"] = np.zeros((5,))
    saved["param_groups"][0]["lr"] = -1.0
    before = copy.deepcopy(adam.state_dict())
    with pytest.raises(ValueError) as caught:
        adam.load_state_dict(saved)
    assert "state 1 exp_avg expected shape (4,) got (5,)" in str(caught.value)
    assert "lr must be >= 0, got -1.0" in str(caught.value)
    assert adam.param_groups[0]["lr"] == before["param_groups"][0]["lr"]
    np.testing.assert_array_equal(adam.state[params[1]]["exp_avg"],
                                  before["state"][1]["exp_avg"].numpy())

    with pytest.raises(ValueError, match="state for 1 parameters, expected 2"):
        adam.load_state_dict({"param_groups": before["param_groups"],
                              "state": [before["state"][0]]})  # an earlier version's list
    for key, fragment in [(2, "key 2, expected parameter indices 0 to 1"),
                          ("w", "key 'w'"), (-1, "key -1")]:
        with pytest.raises(ValueError, match=fragment):
            adam.load_state_dict({"param_groups": before["param_groups"],
                                  "state": {key: before["state"][0]}})
    with pytest.raises(ValueError, match="step is 1.5, not a whole number"):
        adam.load_state_dict({"param_groups": before["param_groups"],
                              "state": {0: dict(before["state"][0], step=1.5)}})


# ---------------------------------------------------------------- bad arguments

def one_param():
    return [cr.tensor(np.ones(2), requires_grad=True)]


@pytest.mark.parametrize("make,message", [
    (lambda: optim.SGD(one_param(), lr=-0.1), r"lr must be >= 0, got -0.1"),
    (lambda: optim.SGD(one_param(), lr=0.1, momentum=-0.5), r"momentum must be >= 0, got -0.5"),
    (lambda: optim.SGD(one_param(), lr=0.1, nesterov=True), r"nesterov=True needs momentum > 0"),
    (lambda: optim.SGD(one_param(), lr=0.1, momentum=0.9, nesterov=True, dampening=0.1),
     r"dampening = 0"),
    (lambda: optim.SGD(one_param(), lr=0.1, weight_decay=-1), r"weight_decay must be >= 0"),
    (lambda: optim.SGD(one_param(), lr="fast"), r"lr must be a number, got 'fast'"),
    (lambda: optim.Adam(one_param(), betas=(1.0, 0.999)), r"betas\[0\] must be in \[0, 1\), got 1.0"),
    (lambda: optim.Adam(one_param(), betas=(0.9, -0.1)), r"betas\[1\] must be in \[0, 1\), got -0.1"),
    (lambda: optim.Adam(one_param(), betas=0.9), r"betas must be a pair"),
    (lambda: optim.Adam(one_param(), eps=-1e-8), r"eps must be >= 0"),
    (lambda: optim.AdamW(one_param(), lr=float("nan")), r"lr must be >= 0, got nan"),
    (lambda: optim.RMSprop(one_param(), alpha=-0.5), r"alpha must be >= 0, got -0.5"),
    (lambda: optim.RMSprop(one_param(), momentum=-1), r"momentum must be >= 0, got -1"),
    (lambda: optim.SGD([], lr=0.1), r"empty"),
    (lambda: optim.SGD(one_param() * 2, lr=0.1), r"appears more than once"),
    (lambda: optim.SGD([{"params": one_param(), "learning_rate": 1}], lr=0.1),
     r"unknown options \['learning_rate'\]"),
])
def test_bad_arguments_raise_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_bad_types_raise_type_errors():
    with pytest.raises(TypeError, match="single tensor"):
        optim.SGD(one_param()[0], lr=0.1)
    with pytest.raises(TypeError, match="parameter 0 is a ndarray"):
        optim.SGD([np.ones(2)], lr=0.1)
    with pytest.raises(TypeError, match="needs an Optimizer"):
        optim.StepLR("sgd", step_size=1)


@pytest.mark.parametrize("make,message", [
    (lambda o: optim.StepLR(o, step_size=0), r"step_size must be a positive int, got 0"),
    (lambda o: optim.StepLR(o, step_size=1.5), r"step_size must be a positive int, got 1.5"),
    (lambda o: optim.CosineAnnealingLR(o, T_max=0), r"T_max must be a positive int, got 0"),
])
def test_bad_scheduler_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make(optim.SGD(one_param(), lr=0.1))


def test_frozen_parameters_are_skipped_with_a_warning_as_in_pytorch():
    frozen = cr.tensor(np.ones(2))  # requires_grad False: a frozen weight
    live = cr.tensor(np.ones(2), requires_grad=True)
    with pytest.warns(UserWarning, match="does not require grad"):
        opt = optim.SGD([frozen, live], lr=0.5)
    (live * 3).sum().backward()
    opt.step()
    np.testing.assert_array_equal(frozen.detach().numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(live.detach().numpy(), [-0.5, -0.5])
