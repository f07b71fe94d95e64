"""Adamax, NAdam, RAdam, ASGD and Rprop against torch.optim: a small network trained from the
same weights in both libraries, its weights compared after every step (with each option, two
parameter groups, maximize and a scheduler); resuming from a state_dict, PyTorch's state dicts,
compiled steps, and the refusal of bad options."""
import copy
import inspect

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

STEPS = 20
SHAPES = [(8, 4), (8,), (1, 8), (1,)]
TOLERANCE = {"float64": dict(rtol=1e-12, atol=1e-14), "float32": dict(rtol=1e-6, atol=1e-6)}

GROUPS = "[{'params': params[:2], 'lr': 0.05}, {'params': params[2:]}]"
CONFIGS = [
    "optim.Adamax(params)",
    "optim.Adamax(params, 0.01, (0.8, 0.99), 1e-6, 0.1)",
    "optim.Adamax(params, lr=0.01, weight_decay=0.05, maximize=True)",
    f"optim.Adamax({GROUPS}, lr=0.01)",
    "optim.NAdam(params)",
    "optim.NAdam(params, 0.01, (0.8, 0.99), 1e-6, 0.1, 0.01)",
    "optim.NAdam(params, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)",
    "optim.NAdam(params, lr=0.01, weight_decay=0.05, maximize=True, foreach=False)",
    f"optim.NAdam({GROUPS}, lr=0.01, momentum_decay=0.1)",
    "optim.RAdam(params)",
    "optim.RAdam(params, 0.01, (0.8, 0.9), 1e-6, 0.1)",
    "optim.RAdam(params, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)",
    "optim.RAdam(params, lr=0.01, maximize=True)",
    f"optim.RAdam({GROUPS}, lr=0.01, betas=(0.5, 0.8))",
    "optim.ASGD(params)",
    "optim.ASGD(params, 0.05, 1e-3, 0.5, 5, 0.1)",
    "optim.ASGD(params, lr=0.02, t0=3, maximize=True)",
    f"optim.ASGD({GROUPS}, lr=0.01, lambd=0.01, t0=10)",
    "optim.Rprop(params)",
    "optim.Rprop(params, 0.05, (0.3, 1.5), (1e-3, 0.2))",
    "optim.Rprop(params, lr=0.01, maximize=True)",
    f"optim.Rprop({GROUPS}, lr=0.01, etas=(0.5, 2.0))",
]
NAMES = ["Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
# One configuration with its specific options per optimizer, for the slower checks.
SPECIFIC = [next(c for c in CONFIGS if f"optim.{n}(params, 0" in c) for n in NAMES]


def data(dtype):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape).astype(dtype) for shape in ((16, 4), (16, 1))]


def initial(dtype):
    rng = np.random.default_rng(1)
    return [(0.5 * rng.standard_normal(shape)).astype(dtype) for shape in SHAPES]


def loss_of(params, x, y):
    w1, b1, w2, b2 = params
    return (((x @ w1.T + b1).tanh() @ w2.T + b2 - y) ** 2).mean()


def make(lib, expression, params):
    return eval(expression, {"optim": lib.optim, "params": params})


def backward(lib, params, dtype):
    """Each library's own gradients in float64. In float32 both take PyTorch's autograd at their
    own weights, so that what is compared is the optimizers' float32 arithmetic: the two
    autograds differ in the last bit, and Rprop, which follows signs, turns a gradient within
    that bit of zero into a different step."""
    if dtype == "float64" or lib is torch:
        loss_of(params, *(lib.tensor(a) for a in data(dtype))).backward()
        return
    ours = [torch.tensor(p.detach().numpy(), requires_grad=True) for p in params]
    loss_of(ours, *(torch.tensor(a) for a in data(dtype))).backward()
    for p, q in zip(params, ours):
        p.grad = cr.tensor(q.grad.numpy())


def train(lib, params, opt, dtype, steps, scheduler=None):
    """``steps`` steps on the fixed batch; the weights after each step."""
    history = []
    for _ in range(steps):
        opt.zero_grad()
        backward(lib, params, dtype)
        opt.step()
        if scheduler is not None:
            scheduler.step()
        history.append([p.detach().numpy().copy() for p in params])
    return history


def fresh(lib, dtype, values=None):
    return [lib.tensor(np.array(v), requires_grad=True) for v in values or initial(dtype)]


def run(lib, expression, dtype, steps=STEPS, schedule=None):
    params = fresh(lib, dtype)
    opt = make(lib, expression, params)
    scheduler = None if schedule is None else eval(schedule, {"S": lib.optim.lr_scheduler,
                                                              "opt": opt})
    return train(lib, params, opt, dtype, steps, scheduler), opt


def assert_same_history(ours, theirs, dtype):
    for number, (a, b) in enumerate(zip(ours, theirs)):
        for k, (mine, reference) in enumerate(zip(a, b)):
            np.testing.assert_allclose(mine, reference, **TOLERANCE[dtype],
                                       err_msg=f"step {number + 1}, parameter {k}")


def state_arrays(opt, lib):
    """The state_dict's state as {index: {key: (array, dtype name)}}."""
    return {i: {k: (np.asarray(v.numpy()), str(v.numpy().dtype)) for k, v in s.items()}
            for i, s in opt.state_dict()["state"].items()}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("expression", CONFIGS)
def test_training_matches_pytorch_after_every_step(expression, dtype):
    ours, opt = run(cr, expression, dtype)
    theirs, reference = run(torch, expression, dtype)
    assert_same_history(ours, theirs, dtype)
    assert not np.allclose(ours[-1][0], initial(dtype)[0])
    # The state holds what PyTorch's holds, under its names, shapes and dtypes.
    mine, wanted = state_arrays(opt, cr), state_arrays(reference, torch)
    assert {i: sorted(s) for i, s in mine.items()} == {i: sorted(s) for i, s in wanted.items()}
    for i in wanted:
        for key, (array, name) in wanted[i].items():
            assert mine[i][key][1] == name, (i, key)
            np.testing.assert_allclose(mine[i][key][0], array, rtol=1e-5 if dtype == "float32"
                                       else 1e-12, atol=1e-7, err_msg=f"{i} {key}")
    groups = [{k: v for k, v in g.items() if k in ours_group}
              for g, ours_group in zip(reference.state_dict()["param_groups"],
                                       opt.state_dict()["param_groups"])]
    assert opt.state_dict()["param_groups"] == groups


@pytest.mark.parametrize("expression", SPECIFIC)
def test_a_scheduler_changing_lr_mid_run_matches_pytorch(expression):
    schedule = "S.StepLR(opt, step_size=7, gamma=0.3)"
    ours, _ = run(cr, expression, "float64", schedule=schedule)
    theirs, _ = run(torch, expression, "float64", schedule=schedule)
    assert_same_history(ours, theirs, "float64")
    unscheduled, _ = run(cr, expression, "float64")
    if "Rprop" not in expression:  # Rprop reads lr once, to start its step sizes
        assert not np.allclose(ours[-1][0], unscheduled[-1][0], rtol=1e-9, atol=0)


def resumed(lib, expression, dtype, saved=None, loaded=None):
    """Train 10 steps, keep a deep copy of the state dict and the weights, go on for 10; then
    a fresh optimizer (other lr) over the saved weights loads it (or ``loaded(state_dict)``)
    and takes the same 10 steps. Returns (uninterrupted weights, resumed weights, state dict)."""
    params = fresh(lib, dtype)
    opt = make(lib, expression, params)
    train(lib, params, opt, dtype, 10)
    state = copy.deepcopy(opt.state_dict())
    values = [p.detach().numpy().copy() for p in params]
    straight = train(lib, params, opt, dtype, 10)
    params = fresh(lib, dtype, saved or values)
    opt = make(lib, expression, params)
    for group in opt.param_groups:
        group["lr"] = 123.0  # the saved options win
    # A copy: PyTorch's optimizer goes on in the very tensors it loaded.
    opt.load_state_dict(loaded(state) if loaded else copy.deepcopy(state))
    return straight, train(lib, params, opt, dtype, 10), state, values


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("expression", SPECIFIC + [CONFIGS[3]])
def test_resuming_from_a_state_dict_continues_as_pytorch_does(expression, dtype):
    straight, again, saved, _ = resumed(cr, expression, dtype)
    assert saved["state"][0]["step"].item() == 10
    assert_same_history(resumed(torch, expression, dtype)[1], again, dtype)
    # PyTorch loads a 0-d buffer other than the step (NAdam's mu_product, ASGD's eta and mu)
    # in the parameter's dtype: with float64 parameters the resumed run then rounds them
    # differently. Otherwise resuming changes no bit.
    if dtype == "float32" or not any(n in expression for n in ("NAdam", "ASGD")):
        for a, b in zip(straight, again):
            for mine, reference in zip(a, b):
                np.testing.assert_array_equal(mine, reference)


def converted(state_dict):
    """PyTorch's optimizer state dict with its tensors made chainrule's and the kernel
    switches that chainrule does not keep left out."""
    switches = ("foreach", "fused", "capturable", "differentiable")
    return {"state": {i: {k: cr.tensor(v.numpy()) for k, v in s.items()}
                      for i, s in state_dict["state"].items()},
            "param_groups": [{k: v for k, v in g.items() if k not in switches}
                             for g in state_dict["param_groups"]]}


EARLIER = ["optim.SGD(params, 0.05, 0.9, 0.1, 1e-3)",
           "optim.Adam(params, 0.01, (0.8, 0.9), 1e-6, 0.1, True)", "optim.AdamW(params, lr=0.01)",
           "optim.RMSprop(params, 0.01, 0.9, 1e-6, 0.1, 0.5, True)", "optim.Adagrad(params, 0.1, 0.01)",
           "optim.Adadelta(params, 0.5)"]


@pytest.mark.parametrize("form", [dict, converted], ids=["as_saved", "converted"])
@pytest.mark.parametrize("expression", SPECIFIC + EARLIER)
def test_a_pytorch_state_dict_loads_and_continues_as_pytorch_does(expression, form):
    _, theirs, state, values = resumed(torch, expression, "float64")
    _, ours, _, _ = resumed(cr, expression, "float64", saved=values, loaded=lambda _: form(state))
    assert_same_history(ours, theirs, "float64")


def refused(opt, state_dict, message):
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state_dict)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for i, s in before["state"].items():
        for key, value in s.items():
            np.testing.assert_array_equal(after["state"][i][key].numpy(), value.numpy())


@pytest.mark.parametrize("expression", SPECIFIC)
def test_a_pytorch_state_dict_with_a_switch_chainrule_refuses_changes_nothing(expression):
    _, reference = run(torch, expression, "float64", steps=2)
    _, opt = run(cr, expression, "float64", steps=2)
    saved = reference.state_dict()
    saved["param_groups"][0]["differentiable"] = True
    refused(opt, saved, r"group 0: .*differentiable=True is not supported")


def test_adam_refuses_adamws_state_dict_and_adamw_takes_it():
    _, reference = run(torch, "optim.AdamW(params)", "float64", steps=2)
    _, adam = run(cr, "optim.Adam(params)", "float64", steps=2)
    refused(adam, reference.state_dict(), r"saved with decoupled_weight_decay=True, this "
                                          r"optimizer has False")
    _, adamw = run(cr, "optim.AdamW(params)", "float64", steps=2)
    adamw.load_state_dict(reference.state_dict())
    assert adamw.param_groups[0]["weight_decay"] == 0.01


@pytest.mark.parametrize("expression", CONFIGS)
def test_a_compiled_training_step_gives_the_eager_weights_bit_for_bit(expression):
    def go(compiled):
        params = fresh(cr, "float32")
        opt = make(cr, expression, params)
        x, y = (cr.tensor(a) for a in data("float32"))

        def step(x, y):
            opt.zero_grad()
            loss = loss_of(params, x, y)
            loss.backward()
            opt.step()
            return loss
        f = cr.compile(step) if compiled else step
        for _ in range(6):
            f(x, y)
        if compiled:  # the update is in the plan, not run beside it
            name = type(opt).__name__
            assert any(f"{name} step, in place" in plan.program.source for plan in f.plans)
        return [p.detach().numpy().copy() for p in params], opt
    (got, compiled), (want, eager) = go(True), go(False)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    for i, s in eager.state_dict()["state"].items():
        for key, value in s.items():
            np.testing.assert_array_equal(compiled.state_dict()["state"][i][key].numpy(),
                                          value.numpy())


def one():
    return [cr.nn.Parameter(cr.ones(2))]


@pytest.mark.parametrize("name, options, message", [
    ("Adamax", dict(lr=-0.1), r"Adamax: lr must be >= 0, got -0.1"),
    ("Adamax", dict(betas=(1.0, 0.9)), r"Adamax: betas\[0\] must be in \[0, 1\), got 1.0"),
    ("Adamax", dict(eps=-1e-8), r"Adamax: eps must be >= 0, got -1e-08"),
    ("NAdam", dict(betas=(0.9, 1.5)), r"NAdam: betas\[1\] must be in \[0, 1\), got 1.5"),
    ("NAdam", dict(momentum_decay=-1), r"NAdam: momentum_decay must be >= 0, got -1"),
    ("NAdam", dict(weight_decay=-0.1), r"NAdam: weight_decay must be >= 0, got -0.1"),
    ("RAdam", dict(betas=0.9), r"RAdam: betas must be a pair \(beta1, beta2\), got 0.9"),
    ("RAdam", dict(lr=float("nan")), r"RAdam: lr must be >= 0, got nan"),
    ("ASGD", dict(lr=-1), r"ASGD: lr must be >= 0, got -1"),
    ("ASGD", dict(alpha=float("inf")), r"ASGD: alpha must be finite, got inf"),
    ("ASGD", dict(lambd="small"), r"ASGD: lambd must be a number, got 'small'"),
    ("Rprop", dict(etas=(1.5, 1.2)), r"Rprop: etas must be a pair \(etaminus, etaplus\) with "
                                     r"0 < etaminus < 1 < etaplus, got \(1.5, 1.2\)"),
    ("Rprop", dict(etas=(0.5, 1.0)), r"Rprop: etas must be a pair"),
    ("Rprop", dict(step_sizes=(1.0, 0.1)), r"Rprop: step_sizes must be a pair \(min, max\) "
                                           r"with 0 <= min <= max, got \(1.0, 0.1\)"),
    ("Rprop", dict(lr=-0.01), r"Rprop: lr must be >= 0, got -0.01"),
])
def test_bad_options_are_refused_in_the_words_of_the_other_optimizers(name, options, message):
    with pytest.raises(ValueError, match=message):
        getattr(cr.optim, name)(one(), **options)
    if name != "Rprop" and "betas" not in options:  # same wording in a parameter group
        opt = getattr(cr.optim, name)(one())
        with pytest.raises(ValueError, match=message):
            opt.add_param_group({"params": one(), **options})


@pytest.mark.parametrize("name", NAMES)
def test_switches_are_accepted_or_refused_as_for_the_other_optimizers(name):
    kind = getattr(cr.optim, name)
    kind(one(), foreach=False, maximize=True)
    for option in ("differentiable", "capturable"):
        with pytest.raises(cr.ArgumentError, match=option):
            kind(one(), **{option: True})
    with pytest.raises(TypeError, match="maximize must be a bool"):
        kind(one(), maximize="yes")


def test_decoupled_weight_decay_must_be_a_bool():
    with pytest.raises(TypeError, match="decoupled_weight_decay must be a bool, got 1"):
        cr.optim.NAdam(one(), decoupled_weight_decay=1)


@pytest.mark.parametrize("expression", SPECIFIC)
def test_the_defaults_and_positional_order_are_pytorchs(expression):
    name = expression.split("(")[0].split(".")[1]
    ours = getattr(cr.optim, name)(one()).defaults
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))]).defaults
    assert ours == {k: v for k, v in theirs.items() if k in ours}
    assert set(theirs) - set(ours) <= {"foreach", "fused", "capturable", "differentiable"}
    signatures = [inspect.signature(getattr(lib.optim, name).__init__).parameters
                  for lib in (cr, torch)]
    assert [(p.name, p.kind, p.default) for p in signatures[0].values()] == \
        [(p.name, p.kind, p.default) for p in signatures[1].values()]


# ---------------------------------------------------------------- what load_state_dict restores

def adam_state(lib, value, step):
    p = lib.nn.Parameter(lib.tensor(value))
    opt = lib.optim.Adam([p], lr=0.1)
    p.grad = lib.tensor(np.full(np.shape(value), 0.3))
    opt.step()
    saved = copy.deepcopy(opt.state_dict())
    saved["state"][0]["step"] = step(lib)
    return p, opt, saved


@pytest.mark.parametrize("step, dtype", [
    (lambda lib: lib.tensor(1.0, dtype=lib.float64), "float64"),
    (lambda lib: lib.tensor(1.0, dtype=lib.float32), "float32"),
    (lambda lib: lib.tensor(1, dtype=lib.int64), "int64"),
    (lambda lib: 1, "float32"),  # a plain number (an earlier chainrule's): the step dtype
], ids=["float64", "float32", "int64", "int"])
def test_a_loaded_step_keeps_its_saved_dtype_as_in_pytorch(step, dtype):
    for lib in (cr, torch):
        p, opt, saved = adam_state(lib, np.ones(3), step)
        opt.load_state_dict(saved)
        assert str(opt.state[p]["step"].dtype).replace("torch.", "") == dtype, lib.__name__
        p.grad = lib.tensor(np.full(3, 0.3))
        opt.step()
        assert float(opt.state[p]["step"]) == 2


def test_a_zero_dim_parameter_resumes_with_its_buffers():
    """A 0-d parameter's moments are 0-d too: they load as buffers, not as a step count."""
    p, opt, saved = adam_state(cr, 1.5, lambda lib: lib.tensor(1.0))
    q, again, _ = adam_state(cr, 1.5, lambda lib: lib.tensor(1.0))
    again.load_state_dict(saved)
    for key in ("exp_avg", "exp_avg_sq"):
        assert again.state[q][key] == opt.state[p][key] != 0
    for param, optimizer in ((p, opt), (q, again)):
        param.grad = cr.tensor(0.3)
        optimizer.step()
    assert p.item() == q.item()


@pytest.fixture
def float64_default():
    before = cr.get_default_dtype(), torch.get_default_dtype()
    cr.set_default_dtype(cr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        yield
    finally:
        cr.set_default_dtype(before[0])
        torch.set_default_dtype(before[1])


@pytest.mark.parametrize("expression", SPECIFIC)
def test_under_a_float64_default_the_counts_are_float64_as_in_pytorch(float64_default,
                                                                       expression):
    """The step, NAdam's mu_product and ASGD's eta and mu follow the default dtype, as
    PyTorch's do, and so round as PyTorch's: float32 weights train to PyTorch's."""
    ours, opt = run(cr, expression, "float32", steps=5)
    theirs, reference = run(torch, expression, "float32", steps=5)
    assert_same_history(ours, theirs, "float32")
    dtypes = [{k: str(v.dtype) for k, v in s.items()} for s in opt.state_dict()["state"].values()]
    assert dtypes == [{k: str(v.dtype).replace("torch.", "") for k, v in s.items()}
                      for s in reference.state_dict()["state"].values()]
    assert dtypes[0]["step"] == "float64"


@pytest.mark.parametrize("name", NAMES)
def test_a_zero_dim_parameter_takes_pytorchs_steps(name):
    """A scalar parameter: its state is 0-d too, and the steps are PyTorch's to the bit."""
    weights = []
    for lib in (cr, torch):
        p = lib.nn.Parameter(lib.tensor(1.5, dtype=lib.float64))
        opt = getattr(lib.optim, name)([p], lr=0.1, maximize=True)
        for k in range(5):
            p.grad = lib.tensor(np.float64(0.3 * (-1) ** k))
            opt.step()
        weights.append(float(p.detach()))
    assert weights[0] == weights[1] != 1.5
