"""cr.compile and the Python state a step reads beyond its names: a number in a config dict, a
list, an attribute of one of the user's objects or of a bound method's object, a helper
function's global, a nested dict, a tensor swapped into a dict, a flag that picks a branch.
A replay once used the number (or object, or branch) the traced call saw, silently: after
``cfg['scale'] = 5.0`` the compiled step kept multiplying by 2. Each test runs the step eagerly
and compiled on twin models over several calls, changing the state between calls, and
compares losses, parameters and gradients."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

CONFIG = {"scale": 2.0}


def _net():
    return nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))


def _data(count):
    rng = np.random.default_rng(1)
    return [(cr.tensor(rng.random((8, 5), dtype=np.float32)), rng.integers(0, 3, 8))
            for _ in range(count)]


def _run_twins(make, changes, calls=7):
    """make(state) -> (model, step); ``changes[k](state)`` runs before call k on both twins'
    state. Returns the compiled step after comparing every call."""
    twins = []
    for compiled in (False, True):
        cr.manual_seed(0)
        state = {}
        model, step = make(state)
        twins.append((state, model, cr.compile(step) if compiled else step))
    (eager_state, eager_model, eager), (state, model, compiled) = twins
    for k, (x, y) in enumerate(_data(calls)):
        if k in changes:
            changes[k](eager_state)
            changes[k](state)
        expected, got = eager(x, y), compiled(x, y)
        np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-6,
                                   err_msg=f"loss at call {k}")
        for p, q in zip(eager_model.parameters(), model.parameters()):
            np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-6, atol=1e-7,
                                       err_msg=f"parameters after call {k}")
            np.testing.assert_allclose(q.grad.numpy(), p.grad.numpy(), rtol=1e-6, atol=1e-7,
                                       err_msg=f"gradients at call {k}")
    return compiled


def _training_step(model, factor):
    """A step whose loss is scaled by ``factor()``, read inside the step."""
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y) * factor()
        loss.backward()
        opt.step()
        return loss
    return step


class Settings:
    def __init__(self):
        self.scale = 2.0


def _in_closure(kind):
    """A step that reads the scale straight from a dict, a list or an object in its closure."""
    def make(state):
        model = _net()
        state["cfg"] = cfg = {"dict": lambda: {"scale": 2.0}, "list": lambda: [2.0],
                              "object": Settings}[kind]()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            scale = cfg["scale"] if kind == "dict" else cfg[0] if kind == "list" else cfg.scale
            loss = nn.functional.cross_entropy(model(x), y) * scale
            loss.backward()
            opt.step()
            return loss
        return model, step
    make.__name__ = f"_{kind}_in_closure"
    return make


def _nested_dict(state):
    model = _net()
    state["cfg"] = cfg = {"loss": {"scale": 2.0}}
    return model, _training_step(model, lambda: cfg["loss"]["scale"])


def _through_a_helper(state):
    # The step calls a function of the user's, which reads the config.
    model = _net()
    state["cfg"] = cfg = {"scale": 2.0}

    def factor():
        return cfg["scale"]
    return model, _training_step(model, factor)


class _Learner:
    """A training step as a bound method, reading its scale from ``self``; ``losses`` is a log
    the loop may append to."""

    def __init__(self, model, scale):
        self.model, self.scale, self.losses = model, scale, []
        self.opt = optim.SGD(model.parameters(), lr=0.1)

    def step(self, x, y):
        self.opt.zero_grad()
        loss = nn.functional.cross_entropy(self.model(x), y) * self.scale
        loss.backward()
        self.opt.step()
        return loss


def _bound_method(state):
    model = _net()
    state["cfg"] = learner = _Learner(model, 2.0)
    return model, learner.step


def _set(key, value):
    def change(state):
        target = state["cfg"]
        if isinstance(target, dict) and "loss" in target:
            target["loss"][key] = value
        elif isinstance(target, (dict, list)):
            target[key if isinstance(target, dict) else 0] = value
        else:
            setattr(target, key, value)
    return change


@pytest.mark.parametrize("make", [_in_closure("dict"), _in_closure("list"),
                                  _in_closure("object"), _nested_dict, _through_a_helper,
                                  _bound_method],
                         ids=lambda f: f.__name__.strip("_"))
def test_a_number_changed_between_calls_is_the_replays_number(make):
    compiled = _run_twins(make, {4: _set("scale", 5.0), 6: _set("scale", 0.5)})
    assert compiled.plans and compiled.plans[0].calls >= 1  # a plan ran before the change


def test_a_global_dict_changed_between_calls():
    model = _net()
    eager_model = _net()
    eager_model.load_state_dict(model.state_dict())
    step, eager = (_training_step(m, lambda: CONFIG["scale"]) for m in (model, eager_model))
    # The lambda reads the module's global CONFIG: a global of a function the step names.
    compiled = cr.compile(step)
    try:
        for k, (x, y) in enumerate(_data(6)):
            if k == 4:
                CONFIG["scale"] = 3.0
            np.testing.assert_allclose(compiled(x, y).detach().numpy(), eager(x, y).detach().numpy(), rtol=1e-6)
    finally:
        CONFIG["scale"] = 2.0


def test_a_flag_that_picks_a_branch():
    def make(state):
        model = _net()
        state["cfg"] = cfg = {"squared": False}
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            if cfg["squared"]:
                loss = loss * loss
            loss.backward()
            opt.step()
            return loss
        return model, step
    _run_twins(make, {4: _set("squared", True)})


def test_a_tensor_swapped_into_a_dict_is_read():
    def make(state):
        model = _net()
        state["cfg"] = weights = {"class": cr.ones(3)}  # read by a product, live
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x) * weights["class"], y)
            loss.backward()
            opt.step()
            return loss
        return model, step
    _run_twins(make, {4: _set("class", cr.tensor([1.0, 5.0, 0.5]))})


def test_the_miss_names_the_key_that_changed():
    model = _net()
    cfg = {"scale": 2.0, "name": "run"}
    compiled = cr.compile(_training_step(model, lambda: cfg["scale"]))
    for x, y in _data(3):
        compiled(x, y)
    cfg["scale"] = 4.0
    compiled(*_data(1)[0])
    assert "['scale'] changed" in compiled.explain_misses()


def test_state_the_step_does_not_change_keeps_one_plan():
    # A large list (a dataset) is compared by length, a counter bumped outside the step's
    # reach does not exist here: the plan is traced twice and replayed after.
    model = _net()
    data = list(range(1000))
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y) * (len(data) / 1000)
        loss.backward()
        opt.step()
        return loss
    compiled = cr.compile(step)
    for x, y in _data(6):
        compiled(x, y)
    assert len(compiled.plans) == 1 and compiled.plans[0].calls == 4


@pytest.mark.parametrize("holder", ["closure", "dict"])
def test_a_small_array_changed_in_place_is_read_again(holder):
    # cr.tensor(mask) inside the step copies the array into the plan: a mask changed in place
    # between calls (mask[:] = ...) kept its old values in the replay.
    def make(state):
        model = _net()
        state["mask"] = mask = np.ones(3, np.float32)
        box = {"mask": mask}
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            weights = cr.tensor(mask if holder == "closure" else box["mask"])
            loss = nn.functional.cross_entropy(model(x) * weights, y)
            loss.backward()
            opt.step()
            return loss
        return model, step

    def change(state):
        state["mask"][:] = [2.0, 0.5, 1.0]
    _run_twins(make, {4: change})


def test_a_config_module_and_class_attributes(tmp_path, monkeypatch):
    # `import config; loss * config.scale` and `Settings.scale` (a class attribute, read through
    # the class or an instance): the module and the class are the names the step reads.
    import importlib
    (tmp_path / "trial_config.py").write_text("scale = 2.0\nCONFIG = {'scale': 2.0}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    config = importlib.import_module("trial_config")

    class Shared:
        scale = 2.0

    for read in (lambda: config.scale, lambda: config.CONFIG["scale"], lambda: Shared.scale,
                 lambda: Shared().scale):
        config.scale = config.CONFIG["scale"] = Shared.scale = 2.0

        def make(state, read=read):
            model = _net()
            return model, _training_step(model, read)

        def change(state):
            config.scale = config.CONFIG["scale"] = Shared.scale = 5.0
        # Both twins read the same module and class: set once, before both calls.
        _run_twins(make, {4: change})


def test_a_callable_object_and_a_partial():
    # cr.compile(Step()) with __call__ reading self.scale, and cr.compile(partial(f, cfg=cfg)):
    # neither had its names looked at.
    class Step:
        def __init__(self, model):
            self.scale, self.model = 2.0, model
            self.opt = optim.SGD(model.parameters(), lr=0.1)

        def __call__(self, x, y):
            self.opt.zero_grad()
            loss = nn.functional.cross_entropy(self.model(x), y) * self.scale
            loss.backward()
            self.opt.step()
            return loss

    def make_object(state):
        model = _net()
        state["cfg"] = step = Step(model)
        return model, step

    def scaled(x, y, model, opt, cfg, extra):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y) * cfg["scale"] * extra[0]
        loss.backward()
        opt.step()
        return loss

    def make_partial(state):
        import functools
        model = _net()
        state["cfg"] = cfg = {"scale": 2.0}
        state["extra"] = extra = [1.0]
        return model, functools.partial(scaled, model=model, cfg=cfg, extra=extra,
                                        opt=optim.SGD(model.parameters(), lr=0.1))

    def change_extra(state):
        state["extra"][0] = 3.0
    _run_twins(make_object, {4: _set("scale", 5.0)})
    _run_twins(make_partial, {3: _set("scale", 5.0), 5: change_extra})


def test_a_log_the_loop_appends_to_is_named_by_the_misses():
    # A bound method's object holding a list the training loop appends to: a list may hold a
    # number the step reads (lrs[0]), so it is compared, and every call misses (eager's numbers,
    # no silent plan); explain_misses names the list, and the docs say to keep logs elsewhere.
    learner = _Learner(_net(), 1.0)
    compiled = cr.compile(learner.step, max_plans=2)
    with pytest.warns(RuntimeWarning, match="plans already kept"):
        for x, y in _data(8):
            learner.losses.append(float(compiled(x, y)))
    assert "['losses'] length changed" in compiled.explain_misses()
