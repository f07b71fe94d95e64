"""cr.compile: a replayed step gives the eager step's numbers, bit for bit (the plan calls the
same NumPy functions in the same order), retraces when a guard fails, and refuses what it cannot
replay, naming the line."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import models, nn, optim
from chainrule.compile import CaptureError

STEPS = 5


def _batches(shape, classes, count=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    return [(cr.tensor(rng.random(shape, dtype=np.float32)), rng.integers(0, classes, shape[0]))
            for _ in range(count)]


def _training(make_model, make_optimizer):
    cr.manual_seed(0)
    model = make_model()
    optimizer = make_optimizer(model.parameters())

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return model, optimizer, step


def assert_same_training(make_model, make_optimizer, batches, exact=True):
    """Eager and compiled runs from the same start give the same losses, parameters and
    gradients at every step."""
    eager_model, _, eager = _training(make_model, make_optimizer)
    model, _, step = _training(make_model, make_optimizer)
    compiled = cr.compile(step)
    for x, y in batches:
        expected, got = eager(x, y), compiled(x, y)
        compare = np.testing.assert_array_equal if exact else _close
        compare(_np(got), _np(expected))
        for p, q in zip(model.parameters(), eager_model.parameters()):
            compare(_np(p), _np(q))
            compare(_np(p.grad), _np(q.grad))
    assert compiled.plans and compiled.plans[0].calls >= len(batches) - 2
    return compiled


def _np(t):
    return t.detach().numpy()


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def mlp():
    return models.mlp(784, [256], 10)


def test_mlp_sgd_replays_bit_for_bit():
    compiled = assert_same_training(mlp, lambda p: optim.SGD(p, lr=0.1),
                                    _batches((64, 784), 10))
    assert "Tensor" not in compiled.code.split("def step")[1].split("return")[0].replace(
        "_T(", "")  # the replay makes no tensors but the gradients it hands back


def test_mlp_sgd_momentum_and_adam():
    batches = _batches((32, 784), 10)
    assert_same_training(mlp, lambda p: optim.SGD(p, lr=0.05, momentum=0.9), batches)
    assert_same_training(mlp, lambda p: optim.Adam(p, lr=1e-3), batches)
    assert_same_training(mlp, lambda p: optim.AdamW(p, lr=1e-3, weight_decay=0.1), batches)


def test_lenet_momentum():
    assert_same_training(models.lenet, lambda p: optim.SGD(p, lr=0.03, momentum=0.9),
                         [(x.reshape(8, 784), y) for x, y in _batches((8, 784), 10, 4)])


def test_sequential_of_layers():
    def make():
        return nn.Sequential(nn.Linear(12, 16), nn.Tanh(), nn.LayerNorm(16), nn.Linear(16, 16),
                             nn.Sigmoid(), nn.Linear(16, 8), nn.GELU(), nn.Linear(8, 3))
    assert_same_training(make, lambda p: optim.RMSprop(p, lr=1e-2), _batches((6, 12), 3))


def test_scheduler_learning_rate_is_read_live():
    def run(compiled):
        cr.manual_seed(0)
        model = mlp()
        opt = optim.SGD(model.parameters(), lr=0.5)
        sched = optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

        def step(x, y):
            loss = nn.functional.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss
        fn = cr.compile(step) if compiled else step
        losses = []
        for x, y in _batches((16, 784), 10, 6):
            losses.append(fn(x, y).detach().numpy())
            sched.step()
        return np.array(losses)
    np.testing.assert_array_equal(run(True), run(False))


def test_accumulating_gradients_without_zero_grad():
    def run(compiled):
        cr.manual_seed(0)
        model = mlp()

        def step(x, y):
            nn.functional.cross_entropy(model(x), y).backward()
        fn = cr.compile(step) if compiled else step
        for x, y in _batches((8, 784), 10, 5):
            fn(x, y)
        return [p.grad.numpy().copy() for p in model.parameters()], fn
    (eager, _), (compiled, fn) = run(False), run(True)
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b)
    # the first call saw no gradients, later calls add into them: the plan guards on that
    assert "grad is not None" in fn.guards


def test_guard_miss_retraces_and_explains():
    model, _, step = _training(mlp, lambda p: optim.SGD(p, lr=0.1))
    compiled = cr.compile(step)
    for x, y in _batches((16, 784), 10, 3) + _batches((4, 784), 10, 3):
        compiled(x, y)
    assert len(compiled.plans) == 2
    assert "(4, 784)" in compiled.guards
    assert "_data.shape == (4, 784)" in compiled.explain_misses() or \
        "(16, 784)" in compiled.explain_misses()
    model.eval()
    x, y = _batches((4, 784), 10, 1)[0]
    compiled(x, y)
    assert "training is True" in compiled.explain_misses()


def test_plan_limit_warns_and_runs_eagerly():
    w = cr.tensor([1.0, 2.0], requires_grad=True)

    def f(x):
        return (w * x).sum()
    compiled = cr.compile(f, max_plans=1, check=False)
    compiled(cr.ones(2))
    with pytest.warns(RuntimeWarning, match="plans already kept"):
        out = compiled(cr.ones(2, dtype=cr.float64) * 2)
    assert float(out) == 6.0 and len(compiled.plans) == 1


@pytest.mark.parametrize("body, what", [
    ("loss.item()", ".item()"),
    ("bool(loss > 1)", "bool(tensor)"),
    ("np.asarray(loss.detach())", "np.asarray"),
    ("float(loss)", "float(tensor)"),
])
def test_reading_a_value_during_capture_is_refused_naming_the_line(body, what):
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    namespace = {"w": w, "np": np}
    exec(compile(f"def f(x):\n    loss = (w * x).sum()\n    {body}\n    return loss\n",
                 "user_step.py", "exec"), namespace)
    compiled = cr.compile(namespace["f"])
    with pytest.raises(CaptureError, match=r"user_step.py:3") as info:
        compiled(cr.ones(2))
    assert what in str(info.value)


@pytest.mark.parametrize("layer", [
    lambda: nn.Dropout(0.5), lambda: nn.Dropout1d(0.5), lambda: nn.Dropout2d(0.5),
    lambda: nn.Dropout3d(0.5)], ids=["dropout", "dropout1d", "dropout2d", "dropout3d"])
def test_dropout_in_training_draws_a_new_mask_each_call_as_eager(layer):
    shape = (3, 4, 2, 2, 2)

    def run(compiled):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Flatten(0, 0), layer())
        step = cr.compile(lambda x: model(x)) if compiled else (lambda x: model(x))
        x = cr.ones(*shape[:model[1].__class__.__name__.count("3d") * 2 + 3])
        if isinstance(model[1], nn.Dropout1d):
            x = cr.ones(3, 4, 2)
        outs = [_np(step(x)).copy() for _ in range(5)]
        model.eval()
        outs.append(_np(step(x)).copy())  # eval: a plan of its own, no mask
        return outs, step

    eager, _ = run(False)
    compiled, step = run(True)
    for a, b in zip(compiled, eager):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(eager[0], e) for e in eager[1:5])  # masks differ by call
    np.testing.assert_array_equal(eager[5], np.ones_like(eager[5]))
    assert sum(plan.calls for plan in step.plans) >= 2  # replays drew their own masks


def test_dropout_with_its_own_generator_replays_that_generators_draws():
    def run(compiled):
        generator = cr.Generator().manual_seed(7)
        w = cr.ones(6, requires_grad=True)

        def f(x):
            loss = (cr.nn.functional.dropout(x * w, 0.5, generator=generator)).sum()
            w.grad = None
            loss.backward()
            return loss, w.grad
        step = cr.compile(f) if compiled else f
        return [(float(loss), _np(grad).copy()) for loss, grad in
                (step(cr.ones(6)) for _ in range(5))]

    for (a, ga), (b, gb) in zip(run(True), run(False)):
        assert a == b
        np.testing.assert_array_equal(ga, gb)


def test_random_tensors_are_drawn_anew_at_each_call_as_eager():
    def run(compiled):
        cr.manual_seed(3)
        w = cr.ones(4, requires_grad=True)

        def f(x):
            noise = cr.randn(4) * 0.1 + cr.rand(4, dtype=cr.float64).float() + \
                cr.randn_like(x) + cr.randint(0, 3, (4,)).float() + cr.normal(0.0, 2.0, (4,))
            loss = ((x * w + noise) ** 2).sum()
            w.grad = None
            loss.backward()
            return loss, w.grad
        step = cr.compile(f) if compiled else f
        return [(float(loss), _np(grad).copy()) for loss, grad in
                (step(cr.ones(4)) for _ in range(5))], step

    eager, _ = run(False)
    compiled, step = run(True)
    assert [a for a, _ in compiled] == [a for a, _ in eager]
    assert len({a for a, _ in eager}) == 5  # new numbers at each call
    for (_, a), (_, b) in zip(compiled, eager):
        np.testing.assert_array_equal(a, b)
    assert step.code.count("new random numbers at each call") == 5


def test_other_random_draws_are_refused():
    # Alpha dropout derives its mask's shift with NumPy: the second traced call sees another
    # array than the first and refuses rather than freezing it.
    model = nn.Sequential(nn.Linear(4, 4), nn.AlphaDropout(0.5))
    compiled = cr.compile(lambda x: model(x))
    with pytest.raises(CaptureError, match="changed between two calls"):
        for _ in range(3):
            compiled(cr.ones(3, 4))


def test_an_array_made_from_the_data_outside_the_ops_is_refused():
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)

    rng = np.random.default_rng(0)

    def f(x):
        mask = (rng.random(3) > 0.5).astype(np.float32)  # NumPy's generator, not chainrule's
        loss = (w * x * cr.tensor(mask)).sum()
        loss.backward()
        return loss
    compiled = cr.compile(f)
    with pytest.raises(CaptureError, match="changed between two calls"):
        for _ in range(3):
            compiled(cr.ones(3))


def test_inference_under_no_grad_and_numpy_input():
    cr.manual_seed(0)
    model = mlp()

    @cr.compile
    def predict(x):
        with cr.no_grad():
            return model(x)
    rng = np.random.default_rng(1)
    for _ in range(4):
        x = rng.random((5, 784), dtype=np.float32)  # an ndarray: Module wraps it in a Tensor
        with cr.no_grad():
            expected = model(x).numpy()
        np.testing.assert_array_equal(predict(x).numpy(), expected)
    assert predict.plans[0].calls == 2


def test_fan_out_and_broadcast_gradients():
    w = cr.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    b = cr.tensor(np.float32([0.5, -0.5, 0.25]), requires_grad=True)

    def f(x):
        h = (x * w + b).tanh()
        loss = (h * h + h.exp() + w.sum(1, keepdim=True) * h).mean()
        loss.backward()
        return loss, h.detach()
    eager_grads = []
    xs = [cr.tensor(np.random.default_rng(i).random((2, 3), dtype=np.float32)) for i in range(4)]
    for x in xs:
        w.grad = b.grad = None
        f(x)
        eager_grads.append((w.grad.numpy().copy(), b.grad.numpy().copy()))
    compiled = cr.compile(f)
    for x, (gw, gb) in zip(xs, eager_grads):
        w.grad = b.grad = None
        compiled(x)
        np.testing.assert_array_equal(w.grad.numpy(), gw)
        np.testing.assert_array_equal(b.grad.numpy(), gb)


def test_the_readme_example_with_weight_decay():
    from chainrule.nn import functional as F
    rng = np.random.default_rng(0)
    W1 = cr.tensor(rng.normal(0, 0.5, (5, 3)).astype(np.float32), requires_grad=True)
    W2 = cr.tensor(rng.normal(0, 0.5, (2, 5)).astype(np.float32), requires_grad=True)

    def forward_backward(x, y):
        z = x @ W1.T
        h = z.relu()
        o = h @ W2.T
        L = F.cross_entropy(o, y)
        s = 0.01 / 2 * ((W1 * W1).sum() + (W2 * W2).sum())
        J = L + s
        J.backward()
        return J
    compiled = cr.compile(forward_backward)
    for seed in range(4):
        data = np.random.default_rng(seed)
        x = cr.tensor(data.random((4, 3), dtype=np.float32))
        y = cr.tensor(data.integers(0, 2, 4))
        W1.grad = W2.grad = None
        expected = forward_backward(x, y)
        grads = W1.grad.numpy().copy(), W2.grad.numpy().copy()
        W1.grad = W2.grad = None
        got = compiled(x, y)
        assert got.item() == expected.item()
        np.testing.assert_array_equal(W1.grad.numpy(), grads[0])
        np.testing.assert_array_equal(W2.grad.numpy(), grads[1])
    assert "J = " in compiled.code and "dW2" in compiled.code  # the textbook's names, with s


def test_gpt_with_adamw():
    from chainrule.models.gpt import GPT, GPTConfig

    def make():
        cr.manual_seed(0)
        model = GPT(GPTConfig(block_size=8, vocab_size=12, n_layer=1, n_head=2, n_embd=16,
                              dropout=0.0, bias=False))
        optimizer = optim.AdamW(model.parameters(), lr=1e-3)

        def step(idx, targets):
            _, loss = model(idx, targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            return loss
        return model, step
    rng = np.random.default_rng(0)
    (eager_model, eager), (model, step) = make(), make()
    compiled = cr.compile(step)
    for _ in range(4):
        idx, targets = (cr.tensor(rng.integers(0, 12, (2, 8))) for _ in range(2))
        assert compiled(idx, targets).item() == eager(idx, targets).item()
    for p, q in zip(model.parameters(), eager_model.parameters()):
        np.testing.assert_array_equal(_np(p), _np(q))
    assert compiled.plans[0].calls == 2


def test_accumulating_into_grad_with_a_weight_used_several_times():
    # backward() adds each contribution to a leaf that has a .grad straight into it, one at a
    # time (engine._added_to_grad): the replay adds them in the same order.
    w = cr.tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3) * 0.37,
                  requires_grad=True)

    def f(x):
        h = (x * w).tanh()
        loss = (h * w.exp()).sum() + (w * w * 3.1).sum()
        loss.backward()
        return loss
    xs = [cr.tensor(np.random.default_rng(i).random((2, 3), dtype=np.float32)) for i in range(6)]
    for x in xs:
        f(x)
    eager = w.grad.numpy().copy()
    w.grad = None
    compiled = cr.compile(f)
    for x in xs:
        compiled(x)
    np.testing.assert_array_equal(w.grad.numpy(), eager)
    assert compiled.plans[0].calls >= 3


def test_batch_norm_running_statistics_are_refused_in_training():
    # BatchNorm updates its running statistics in place, outside the ops a plan records: a
    # replay would leave them frozen, so capture refuses; in evaluation the layer compiles.
    cr.manual_seed(0)
    model = models.cnn()
    compiled = cr.compile(lambda x: model(x))
    x = cr.tensor(np.random.default_rng(0).random((4, 784), dtype=np.float32))
    with pytest.raises(CaptureError, match="changed in place inside the step"):
        compiled(x)
    model.eval()
    compiled = cr.compile(lambda x: model(x))
    for _ in range(3):
        np.testing.assert_array_equal(_np(compiled(x)), _np(model(x)))


def test_a_parameter_changed_behind_chainrule_is_refused():
    w = cr.tensor(np.ones(3, np.float32), requires_grad=True)

    def f(x):
        loss = (w * x).sum()
        w._data *= 0.5  # NumPy writing into the array: no op, no version bump
        return loss
    with pytest.raises(CaptureError, match="without chainrule seeing it"):
        cr.compile(f)(cr.ones(3))
