"""cr.compile at its edges: cases where a replay once gave other numbers than the eager step,
without an error. Each test runs the same step eagerly on an identical model and compiled, over
several calls, and compares losses, parameters, gradients and optimizer state; or checks that
capture refuses, naming the cause, where a plan cannot give eager's numbers.

Covered: lr schedulers stepped inside the step (every optimizer family; one cycling momentum
before the update, one stepped with arguments), a learning rate set by hand inside the step, a
parameter taken out of its group; Python numbers read from outside that change between calls
(and one that settles after a warm-up call), Python numbers and NumPy scalars passed as
arguments; .data assigned inside the step, p.grad = None by hand; module hooks added or removed
after tracing, gradient hooks, module options (eps, negative_slope, track_running_stats) and
replaced parameters or layers; closure variables, globals and a bound method's attributes
rebound; array arguments written by NumPy inside the step; an np.float64 learning rate (SGD's
bits); elementwise ops on p.grad inside the step (buffers reused in place); two traced calls that
made different programs; constants computed from the data by chainrule's own functions (gather's
indices from labels) when the first calls share their data, or a closure's index tensor changes
in place; the default dtype; argument gradients kept across calls; a module-level counter named
like an attribute.
"""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.compile import CaptureError

STEPS = 5


def _data(count=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [(cr.tensor(rng.random((8, 5), dtype=np.float32)), rng.integers(0, 3, 8))
            for _ in range(count)]


def _net():
    return nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))


def _np(t):
    return None if t is None else t.detach().numpy()


def _same(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=1e-6, atol=1e-7)


def _assert_same_state(eager, compiled):
    """Same parameters, gradients, buffers and optimizer state."""
    (m1, o1), (m2, o2) = eager, compiled
    for p, q in zip(m1.parameters(), m2.parameters()):
        _same(_np(p), _np(q))
        _same(_np(p.grad), _np(q.grad))
    for p, q in zip(m1.buffers(), m2.buffers()):
        _same(_np(p), _np(q))
    if o1 is not None:
        for p, q in zip(o1.parameters(), o2.parameters()):
            s1, s2 = o1.state.get(p, {}), o2.state.get(q, {})
            assert set(s1) == set(s2)
            for key in s1:
                _same(s1[key], s2[key])
        for g1, g2 in zip(o1.param_groups, o2.param_groups):
            assert {k: v for k, v in g1.items() if k != "params"} == \
                {k: v for k, v in g2.items() if k != "params"}


def compare(make, batches, between=None):
    """Run ``make()``'s step eagerly and compiled from the same start; return the compiled."""
    cr.manual_seed(0)
    eager_model, eager_opt, eager = make()
    cr.manual_seed(0)
    model, opt, step = make()
    compiled = cr.compile(step)
    for k, args in enumerate(batches):
        expected, got = eager(*args), compiled(*args)
        if isinstance(expected, tuple):
            assert len(expected) == len(got)
            for a, b in zip(expected, got):
                _same(_np(a), _np(b))
        else:
            _same(_np(expected), _np(got))
        _assert_same_state((eager_model, eager_opt), (model, opt))
        if between is not None:
            between(k, eager_model, eager_opt)
            between(k, model, opt)
    return compiled


def _trainer(make_optimizer, make_scheduler=None, scheduler_first=False):
    def make():
        model = _net()
        opt = make_optimizer(model.parameters())
        sched = make_scheduler(opt) if make_scheduler else None

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            if sched is not None and scheduler_first:
                sched.step()
            opt.step()
            if sched is not None and not scheduler_first:
                sched.step()
            return loss
        return model, opt, step
    return make


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_nesterov_decay": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                              weight_decay=0.01),
    "adam": lambda p: optim.Adam(p, lr=0.01),
    "adam_amsgrad": lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.1),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "asgd": lambda p: optim.ASGD(p),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_a_scheduler_stepped_inside_the_step_is_replayed(name):
    # The scheduler's step() is Python on the groups' lr; a plan that dropped it kept the lr
    # of the traced call (eager halved it each call: the parameters differed from call 4 on).
    compiled = compare(_trainer(OPTIMIZERS[name],
                                lambda o: optim.lr_scheduler.StepLR(o, 1, gamma=0.5)),
                       _data(6))
    assert compiled.plans and compiled.plans[0].calls >= 3
    assert "StepLR.step()" in compiled.code


def test_one_cycle_and_sequential_schedulers_inside_the_step():
    compare(_trainer(OPTIMIZERS["adamw"],
                     lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20)),
            _data(6))
    # Its cycled momentum changes a guarded option after the update: every call retraces, and
    # so is eager.
    compare(_trainer(OPTIMIZERS["sgd_momentum"],
                     lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20)),
            _data(6))

    def sequential(o):
        warmup = optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=3)
        decay = optim.lr_scheduler.CosineAnnealingLR(o, 5)
        return optim.lr_scheduler.SequentialLR(o, [warmup, decay], milestones=[3])
    compiled = compare(_trainer(OPTIMIZERS["sgd_momentum"], sequential), _data(7))
    assert compiled.plans[0].calls >= 4


def test_a_scheduler_cycling_momentum_before_the_update_is_refused():
    step = cr.compile(_trainer(
        OPTIMIZERS["sgd_momentum"],
        lambda o: optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=20),
        scheduler_first=True)()[2])
    with pytest.raises(CaptureError, match="before optimizer.step"):
        step(*_data(1)[0])


def test_a_scheduler_step_with_arguments_is_refused():
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        sched.step(0.5)
        return loss
    with pytest.raises(CaptureError, match="ReduceLROnPlateau.step"):
        cr.compile(step)(*_data(1)[0])


@pytest.mark.parametrize("after", [False, True])
def test_a_learning_rate_set_by_hand_inside_the_step_is_refused(after):
    # The plan reads the lr live, but a Python assignment inside the step is not repeated: the
    # replay would keep the traced call's lr where eager set a new one each call.
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    calls = [0]

    def step(x, y):
        calls[0] += 1
        opt.zero_grad()
        if not after:
            opt.param_groups[0]["lr"] = 0.1 / calls[0]
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        if after:
            opt.param_groups[0]["lr"] = 0.1 / calls[0]
        return loss
    compiled = cr.compile(step)
    with pytest.raises(CaptureError, match=r"param_groups\[0\]\['lr'\]"):
        for x, y in _data(2):
            compiled(x, y)


def test_a_parameter_taken_out_of_its_group_is_not_updated():
    def shorten(k, model, opt):
        if k == 1:
            opt.param_groups[0]["params"] = opt.param_groups[0]["params"][:2]
    compiled = compare(_trainer(OPTIMIZERS["sgd_momentum"]), _data(6), between=shorten)
    assert any("_same_tensors" in text for _, failed in compiled.misses for text in failed)


def test_a_python_number_from_outside_that_changes_is_refused():
    # `x * settings["scale"]`: the number is baked into the plan as a literal; eager read the
    # new value each call (the compiled loss and gradients kept the first one from call 3 on).
    settings = {"scale": 1.0}
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x) * settings["scale"], y)
        loss.backward()
        opt.step()
        return loss
    compiled = cr.compile(step)
    with pytest.raises(CaptureError, match="the Python value 3.0, where the call before"):
        for k, (x, y) in enumerate(_data(3)):
            settings["scale"] = 1.0 + k
            compiled(x, y)


def test_a_python_number_passed_as_an_argument_retraces():
    def make():
        model = _net()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y, scale):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y) * scale
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    batches = [(x, y, 1.0 + (k >= 2)) for k, (x, y) in enumerate(_data(6))]
    compiled = compare(make, batches)
    assert len(compiled.plans) == 2


def test_assigning_a_parameters_data_inside_the_step_is_refused():
    # `p.data = p.data * 0.5` after the update: the replay computed the product and dropped
    # the assignment, so the parameters drifted from eager's from call 3 on.
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        for p in model.parameters():
            p.data = p.data * 0.5
        return loss
    with pytest.raises(CaptureError, match=r"assigning \.data"):
        cr.compile(step)(*_data(1)[0])


def test_data_of_a_tensor_made_inside_the_step_may_be_assigned():
    def make():
        model = _net()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            h = x * 1.0
            h.data = (x * 2.0).detach()
            loss = nn.functional.cross_entropy(model(h), y)
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    compiled = compare(make, _data(5))
    assert compiled.plans[0].calls == 3


def test_grad_set_to_none_by_hand_makes_a_plan():
    # Once traced again at every call (its guard wanted .grad None at entry, which it never
    # was); now the plan repeats the assignment.
    def make():
        model = _net()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x, y):
            for p in model.parameters():
                p.grad = None
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    compiled = compare(make, _data(5))
    assert len(compiled.plans) == 1 and compiled.plans[0].calls == 2


def _std_step(model, opt):
    def step(x, y):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _made(model_fn, optimizer=lambda p: optim.SGD(p, lr=0.1, momentum=0.9), eval_mode=False):
    def make():
        model = model_fn()
        if eval_mode:
            model.eval()
        opt = optimizer(model.parameters())
        return model, opt, _std_step(model, opt)
    return make


@pytest.mark.parametrize("hook", ["forward", "forward_pre", "removed"])
def test_a_module_hook_added_or_removed_after_tracing_retraces(hook):
    # The plan was traced without the hook (or with it): its replay ignored a forward hook
    # added later and kept one removed later, so the losses differed from call 4 on.
    handles = []

    def make():
        model = _net()
        if hook == "removed":
            handles.append(model[0].register_forward_hook(lambda m, args, out: out * 2))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        return model, opt, _std_step(model, opt)

    def change(k, model, opt):
        if k != 2:
            return
        if hook == "forward":
            model[0].register_forward_hook(lambda m, args, out: out * 2)
        elif hook == "forward_pre":
            model[2].register_forward_pre_hook(lambda m, args: (args[0] * 0.5,))
        else:
            handles.pop(0).remove()
    compiled = compare(make, _data(6), between=change)
    assert len(compiled.plans) == 2


def test_a_gradient_hook_added_after_tracing_is_refused():
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)
    compiled = cr.compile(_std_step(model, opt))
    for x, y in _data(3):
        compiled(x, y)
    model[0].weight.register_hook(lambda g: g * 0)
    with pytest.raises(CaptureError, match="hook"):
        compiled(*_data(1)[0])
    model2 = _net()
    opt2 = optim.SGD(model2.parameters(), lr=0.1)
    compiled = cr.compile(_std_step(model2, opt2))
    for x, y in _data(3):
        compiled(x, y)
    model2[2].register_full_backward_hook(lambda m, gi, go: (gi[0] * 0,))
    with pytest.raises(CaptureError, match="hook"):
        compiled(*_data(1)[0])


@pytest.mark.parametrize("case", ["batchnorm_eps", "layernorm_eps", "leaky_slope",
                                  "track_running_stats", "replaced_parameter",
                                  "replaced_child"])
def test_a_module_option_changed_between_calls_retraces(case):
    # Module options are Python numbers read in forward: the plan froze them (BatchNorm's eps,
    # LayerNorm's eps, LeakyReLU's slope; a replaced parameter or layer was never read).
    layer = {"batchnorm_eps": lambda: nn.BatchNorm1d(7),
             "track_running_stats": lambda: nn.BatchNorm1d(7),
             "layernorm_eps": lambda: nn.LayerNorm(7),
             "leaky_slope": lambda: nn.LeakyReLU(0.01)}.get(case, nn.ReLU)

    def model_fn():
        return nn.Sequential(nn.Linear(5, 7), layer(), nn.Linear(7, 3))

    def change(k, model, opt):
        if k < 2:
            return
        if case == "batchnorm_eps" or case == "layernorm_eps":
            model[1].eps = 1e-5 * 10 ** k
        elif case == "leaky_slope":
            model[1].negative_slope = 0.1 * k
        elif case == "track_running_stats":
            model[1].track_running_stats = False
        elif case == "replaced_parameter" and k == 2:
            model[0].bias = nn.Parameter(cr.ones(7))
        elif case == "replaced_child" and k == 2:
            model[1] = nn.Tanh()
    compare(_made(model_fn, eval_mode=True), _data(6), between=change)


@pytest.mark.parametrize("what", ["tensor", "number", "global", "method"])
def test_a_name_the_step_reads_rebound_between_calls_retraces(what):
    # The plan held the object (or number) the name had when traced; eager reads the name
    # again at each call: a closure variable or global rebound to another tensor or number
    # gave other losses and parameters from call 4 on.
    rebinders = []

    def make():
        model = _net()
        opt = optim.SGD(model.parameters(), lr=0.1)
        scale = cr.ones(3) if what in ("tensor", "method") else 1.0

        def step(x, y):
            opt.zero_grad()
            factor = GLOBAL_SCALE if what == "global" else scale
            loss = nn.functional.cross_entropy(model(x) * factor, y)
            loss.backward()
            opt.step()
            return loss

        class Holder:
            def __init__(self):
                self.scale = scale

            def step(self, x, y):
                opt.zero_grad()
                loss = nn.functional.cross_entropy(model(x) * self.scale, y)
                loss.backward()
                opt.step()
                return loss
        holder = Holder()

        def rebind(value):
            nonlocal scale
            scale = value
            holder.scale = value
        rebinders.append(rebind)
        return model, opt, holder.step if what == "method" else step

    def change(k, model, opt):
        if k == 2 and rebinders:
            value = cr.full((3,), 2.0) if what in ("tensor", "method") else 2.0
            rebinders.pop(0)(value)
        if k == 2 and what == "global":
            globals()["GLOBAL_SCALE"] = cr.full((3,), 2.0)
    globals()["GLOBAL_SCALE"] = cr.ones(3)
    compare(make, _data(6), between=change)


GLOBAL_SCALE = None


def test_an_array_argument_written_in_place_by_numpy_is_refused():
    # `x *= 0.5` on a NumPy argument: a replay read x as the caller passed it (eager halved
    # it first), so losses and the caller's array differed from call 3 on.
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        x *= 0.5
        loss = nn.functional.cross_entropy(model(cr.tensor(x)), y)
        loss.backward()
        opt.step()
        return loss
    compiled = cr.compile(step)
    x, y = _data(1)[0]
    with pytest.raises(CaptureError, match="an argument of shape"):
        compiled(x.numpy().copy(), y)


@pytest.mark.parametrize("momentum", [0, 0.9])
def test_an_lr_from_a_numpy_schedule_gives_eagers_bits(momentum):
    # lr = np.linspace(...)[k] is an np.float64: eager's `w -= lr * g` computes the product in
    # float64, the lowered update rounded it to float32 first (a last-bit difference).
    schedule = np.linspace(0.1, 0.01, 8)

    def make():
        model = nn.Sequential(nn.Linear(50, 70), nn.ReLU(), nn.Linear(70, 3))
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=momentum)
        return model, opt, _std_step(model, opt)

    def set_lr(k, model, opt):
        opt.param_groups[0]["lr"] = schedule[k]
    rng = np.random.default_rng(2)
    batches = [(cr.tensor(rng.random((64, 50), dtype=np.float32)), rng.integers(0, 3, 64))
               for _ in range(6)]
    cr.manual_seed(0)
    eager_model, eager_opt, eager = make()
    cr.manual_seed(0)
    model, opt, step = make()
    compiled = cr.compile(step)
    for k, (x, y) in enumerate(batches):
        eager(x, y)
        compiled(x, y)
        for p, q in zip(eager_model.parameters(), model.parameters()):
            np.testing.assert_array_equal(_np(p), _np(q))
        set_lr(k, eager_model, eager_opt)
        set_lr(k, model, opt)
    # A plan for the np.float64 learning rates (the guard on lr's kind retraced once) replays.
    assert max(plan.calls for plan in compiled.plans) >= 3


@pytest.mark.parametrize("read", ["square", "plus_one", "after_step"])
def test_reading_a_gradient_in_the_step_leaves_it_intact(read):
    # An elementwise op on p.grad (a gradient norm by hand) was lowered to write into the
    # dead operand's buffer, which was p.grad's own array: the update then used the squared
    # gradient (eager: the gradient), from the first replay on.
    def make():
        model = nn.Sequential(nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 3))
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            g = model[0].weight.grad
            if read == "square":
                seen = (g * g).sum()
            elif read == "plus_one":
                seen = (g + 1.0).sum()
            opt.step()
            if read == "after_step":
                seen = (g * 3.0).sum()
            return loss, seen
        return model, opt, step
    rng = np.random.default_rng(3)
    batches = [(cr.tensor(rng.random((64, 100), dtype=np.float32)), rng.integers(0, 3, 64))
               for _ in range(4)]
    compiled = compare(make, batches)
    assert compiled.plans[0].calls == 2


def test_two_traced_calls_that_made_different_programs_make_no_plan():
    # A Python branch on something no guard reads (here a counter in a list): the first two
    # calls took different branches, and the plan made from the second froze its branch
    # (eager took the other one from call 3 on). Now the second call waits for a third that
    # matches it; calls 3 and 4 agree, and make the plan.
    def make():
        model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
        opt = optim.SGD(model.parameters(), lr=0.1)
        calls = [0]

        def step(x, y):
            calls[0] += 1
            opt.zero_grad()
            h = model(x)
            h = h * 2.0 if calls[0] != 2 else h + 2.0
            loss = nn.functional.cross_entropy(h, y)
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    compiled = compare(make, _data(6))
    assert len(compiled.plans) == 1 and compiled.plans[0].calls == 2
    assert compiled.calls == 6


def _index_add_labels_step():
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        logits = model(x)
        # index_add builds its index arrays from the labels with NumPy: constants of the plan
        loss = nn.functional.cross_entropy(logits, y) - \
            (cr.zeros(3, 3).index_add(0, cr.tensor(y), logits) ** 2).mean() * 0.1
        loss.backward()
        opt.step()
        return loss
    return model, opt, step


def test_constants_made_from_the_data_are_checked_when_the_data_first_changes():
    # The same batch twice (a warm-up), then others: the two traced calls agreed on the
    # arrays index_add made from the labels, and the plan froze the first labels (eager used each
    # batch's; the losses differed from call 3 on). Now the first call with other data is
    # traced and compared, and refused.
    batches = _data(4)
    _, _, step = _index_add_labels_step()
    compiled = cr.compile(step)
    compiled(*batches[0])
    compiled(*batches[0])
    compiled(*batches[0])  # the same data again: replayed
    assert compiled.plans[0].calls == 1
    with pytest.raises(CaptureError, match="changed between two calls"):
        compiled(*batches[1])


def test_a_plan_made_from_the_same_data_twice_serves_once_checked():
    # Nothing taken from the data: the first call with other data checks the plan, which then
    # serves every call.
    batches = _data(5)
    compiled = compare(_made(_net), [batches[0]] + batches)
    assert not compiled.plans[0].provisional[1] and compiled.plans[0].calls == 3


def test_labels_that_repeat_in_the_traced_calls_are_checked_when_they_change():
    # Inputs differ but the labels are the same in the first two calls (a dataset sorted by
    # class): the labels' arrays inside index_add looked constant.
    batches = _data(4)
    same_labels = [(x, batches[0][1]) for x, _ in batches[:3]] + [batches[3]]
    _, _, step = _index_add_labels_step()
    compiled = cr.compile(step)
    for x, y in same_labels[:3]:
        compiled(x, y)
    assert compiled.plans[0].calls == 1
    with pytest.raises(CaptureError, match="changed between two calls"):
        compiled(*same_labels[3])


def test_an_index_tensor_of_the_closure_changed_in_place_is_checked():
    # The plan reads a closure's tensors live, but index_add turned the values of
    # `index % 3` into constant arrays: after `index.fill_(...)` between calls the replay read
    # the old places (eager the new ones). Now a changed tensor read without a gradient has
    # the next call traced and compared.
    index = cr.tensor(np.array([[0], [1], [2], [0]]))
    model = _net()
    opt = optim.SGD(model.parameters(), lr=0.1)

    def step(x, y):
        opt.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y) + \
            cr.zeros(3, 3).index_add(0, (index % 3).reshape(-1), logits[:4]).pow(2).mean()
        loss.backward()
        opt.step()
        return loss
    compiled = cr.compile(step)
    batches = _data(5)
    for x, y in batches[:3]:
        compiled(x, y)
    with cr.no_grad():
        index.fill_(2)
    with pytest.raises(CaptureError, match="changed between two calls"):
        compiled(*batches[3])


def test_a_buffer_changed_in_place_with_the_same_consequences_keeps_its_plan():
    def make():
        model = nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.Linear(7, 3))
        model.eval()
        opt = optim.SGD(model.parameters(), lr=0.1)
        return model, opt, _std_step(model, opt)

    def shift(k, model, opt):
        with cr.no_grad():
            model[1].running_mean.add_(0.1)
    compiled = compare(make, _data(6), between=shift)
    assert len(compiled.plans) == 1


def test_a_changed_default_dtype_retraces():
    # cr.tensor(1.1) inside the step: float32 in the plan, float64 in eager once the default
    # changed (the returned scale kept float32).
    def make():
        model = _net()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, y):
            opt.zero_grad()
            scale = cr.tensor(1.1)
            loss = nn.functional.cross_entropy(model(x) * scale, y)
            loss.backward()
            opt.step()
            return loss, scale
        return model, opt, step
    eager_model, eager_opt, eager = make()
    compiled = cr.compile(make()[2])
    batches = _data(5)
    try:
        for k, (x, y) in enumerate(batches):
            if k == 3:
                cr.set_default_dtype(cr.float64)
            assert eager(x, y)[1].dtype == compiled(x, y)[1].dtype
    finally:
        cr.set_default_dtype(cr.float32)


def test_a_numpy_scalar_argument_is_guarded_by_value():
    # The guard named the scalar's type as `float32`, a name it does not have: the first
    # replay raised NameError.
    w = cr.tensor([1., 2.], requires_grad=True)

    def f(x, s):
        return (w * x * s).sum()
    compiled = cr.compile(f)
    x = cr.tensor([1., 1.])
    for k in range(5):
        s = np.float32(2.0 if k < 3 else 3.0)
        assert float(compiled(x, s)) == float(f(x, s))
    assert len(compiled.plans) == 2


def test_the_gradients_of_arguments_kept_across_calls_stay_theirs():
    # Saliencies: each input's .grad was the plan's buffer, which the next replay wrote again,
    # so every kept x.grad but the last changed (eager: each its own).
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(100, 64), nn.ReLU(), nn.Linear(64, 3))

    def saliency(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        return loss
    compiled = cr.compile(saliency)
    rng = np.random.default_rng(4)
    eager_grads, compiled_grads = [], []
    for _ in range(5):
        x, y = rng.random((64, 100), dtype=np.float32), rng.integers(0, 3, 64)
        for fn, kept in ((saliency, eager_grads), (compiled, compiled_grads)):
            t = cr.tensor(x, requires_grad=True)
            fn(t, y)
            kept.append(t.grad)
    for a, b in zip(eager_grads, compiled_grads):
        np.testing.assert_array_equal(_np(a), _np(b))
    assert compiled.plans[0].calls == 3


def test_a_module_level_counter_named_like_an_attribute_does_not_retrace():
    # The globals guarded are the names the step loads as globals, not its attribute names:
    # a loop variable `step` beside `opt.step()` must not retrace every call.
    namespace = {"nn": nn, "cr": cr}
    exec(compile("def train(x, y):\n"
                 "    opt.zero_grad()\n"
                 "    loss = nn.functional.cross_entropy(model(x), y)\n"
                 "    loss.backward()\n"
                 "    opt.step()\n"
                 "    return loss\n", "<train>", "exec"), namespace)
    namespace["model"] = _net()
    namespace["opt"] = optim.SGD(namespace["model"].parameters(), lr=0.1)
    compiled = cr.compile(namespace["train"])
    for step, (x, y) in enumerate(_data(5)):
        namespace["step"] = step
        compiled(x, y)
    assert len(compiled.plans) == 1 and compiled.plans[0].calls == 3


def test_a_number_that_settles_after_the_first_call_makes_a_plan():
    # A warm-up factor on the first call only: the first two traced calls differ, the next
    # two agree and make the plan (refusing it would be a false alarm).
    def make():
        model = _net()
        opt = optim.SGD(model.parameters(), lr=0.1)
        calls = [0]

        def step(x, y):
            calls[0] += 1
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y) * (0.5 if calls[0] == 1 else 1.0)
            loss.backward()
            opt.step()
            return loss
        return model, opt, step
    compiled = compare(make, _data(6))
    assert len(compiled.plans) == 1 and compiled.plans[0].calls == 3
