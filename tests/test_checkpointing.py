"""Activation checkpointing (chainrule.utils.checkpoint): the same gradients as the plain graph,
to the bit, and as PyTorch's non-reentrant checkpoint; dropout's mask replayed; the activations
really let go after the forward pass; the edge cases PyTorch documents, refused where it refuses."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import GradientError
from chainrule.inspect.memory import memory_report
from chainrule.utils.checkpoint import checkpoint, checkpoint_sequential


def _torch():
    return pytest.importorskip("torch")


def mlp(blocks=16, width=8, dtype="float32", seed=0):
    cr.manual_seed(seed)
    layers = []
    for _ in range(blocks):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers).to(getattr(cr, dtype))


def grads(model):
    return [p.grad.numpy().copy() for p in model.parameters()]


def values(t):
    return t.detach().numpy()


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def batch(shape=(5, 8), dtype="float32", seed=1, requires_grad=False):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return cr.tensor(data, requires_grad=requires_grad)


# -- the same gradients as the plain graph ---------------------------------------------------------

@pytest.mark.parametrize("segments", [1, 2, 4, 16])
def test_checkpoint_sequential_gives_the_plain_gradients_to_the_bit(segments):
    model, x = mlp(), batch(requires_grad=True)
    (model(x) ** 2).sum().backward()
    plain, plain_x = grads(model), x.grad.numpy().copy()
    model.zero_grad()
    x.grad = None
    out = checkpoint_sequential(model, segments, x)
    assert np.array_equal(values(out), values(model(x)))
    (out ** 2).sum().backward()
    assert same(grads(model), plain)
    assert np.array_equal(x.grad.numpy(), plain_x)


def test_the_segments_are_pytorchs():
    # 7 functions in 3 segments: two checkpointed segments of 2, the last 3 run plainly.
    calls = []

    def tagged(k):
        def f(t):
            calls.append(k)
            return (t * 1.5).tanh()
        return f

    x = batch(requires_grad=True)
    checkpoint_sequential([tagged(k) for k in range(7)], 3, x).sum().backward()
    assert calls == [0, 1, 2, 3, 4, 5, 6, 2, 3, 0, 1]


def test_recomputation_runs_once_on_first_use_in_backward():
    calls = []

    def block(t):
        calls.append(1)
        return (t * 2).tanh() * t

    x = batch(requires_grad=True)
    y = checkpoint(block, x)
    assert len(calls) == 1
    z = y.exp().sum()
    assert len(calls) == 1  # the graph after the segment records as usual
    z.backward()
    assert len(calls) == 2


def test_grad_reaches_parameters_inputs_and_closed_over_tensors():
    model, x = mlp(blocks=3), batch(requires_grad=True)
    scale = batch(shape=(8,), seed=3, requires_grad=True)
    shift = (scale * 3).exp()  # not a leaf, not an argument: closed over

    def f(t):
        return model(t) * shift

    params = list(model.parameters())
    wanted = [x, scale] + params
    plain = cr.grad(f(x).sum(), wanted, retain_graph=True)
    ours = cr.grad(checkpoint(f, x).sum(), wanted)
    assert all(np.array_equal(values(a), values(b)) for a, b in zip(plain, ours))


def test_inputs_that_need_no_gradient():
    model, x = mlp(blocks=4), batch()
    model(x).sum().backward()
    plain = grads(model)
    model.zero_grad()
    checkpoint_sequential(model, 2, x).sum().backward()
    assert same(grads(model), plain)
    assert x.grad is None


def test_several_outputs_and_a_custom_function_inside():
    class Cube(cr.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t ** 3

        @staticmethod
        def backward(ctx, grad):
            t, = ctx.saved_tensors
            return grad * 3 * t ** 2

    def f(a, b):
        h = Cube.apply(a * b)
        return h.sin(), (h * a).tanh(), 7

    a, b = batch(requires_grad=True), batch(seed=2, requires_grad=True)
    first, second, seven = f(a, b)
    (first.sum() + (second ** 2).sum()).backward()
    plain = a.grad.numpy().copy(), b.grad.numpy().copy()
    a.grad = b.grad = None
    first, second, seven = checkpoint(f, a, b)
    assert seven == 7
    (first.sum() + (second ** 2).sum()).backward()
    assert np.array_equal(a.grad.numpy(), plain[0]) and np.array_equal(b.grad.numpy(), plain[1])


def test_in_place_ops_inside_the_segment():
    def f(t):
        h = t * 2
        h += 1
        return nn.ReLU(inplace=True)(h - 1.5) * t

    x = batch(requires_grad=True)
    f(x).sum().backward()
    plain = x.grad.numpy().copy()
    x.grad = None
    checkpoint(f, x).sum().backward()
    assert np.array_equal(x.grad.numpy(), plain)


# -- random state ---------------------------------------------------------------------------------

def dropout_block(seed=0):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5), nn.Tanh(), nn.Linear(8, 8),
                         nn.Dropout(0.3))


def test_dropout_recomputes_the_same_mask():
    model, x = dropout_block(), batch(requires_grad=True)
    cr.manual_seed(11)
    out = model(x)
    out.sum().backward()
    after_plain = cr.get_rng_state().numpy()
    plain, plain_x = grads(model), x.grad.numpy().copy()
    model.zero_grad()
    x.grad = None
    cr.manual_seed(11)
    ours = checkpoint(model, x)
    assert np.array_equal(values(ours), values(out))
    ours.sum().backward()
    assert same(grads(model), plain) and np.array_equal(x.grad.numpy(), plain_x)
    # the replay leaves the generator where the forward pass left it
    assert np.array_equal(cr.get_rng_state().numpy(), after_plain)


def test_a_mask_drawn_again_is_refused_rather_than_differentiated():
    # PyTorch would differentiate the second mask silently; chainrule compares the recomputed
    # outputs with the forward pass's.
    x = batch(requires_grad=True)
    model = dropout_block()
    loss = checkpoint(model, x, preserve_rng_state=False).sum()
    with pytest.raises(GradientError, match="gave other values than the forward pass"):
        loss.backward()
    own = nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5, generator=cr.Generator().manual_seed(3)))
    loss = checkpoint(own, x).sum()
    with pytest.raises(GradientError, match="a generator= of their own is not replayed"):
        loss.backward()


# -- against PyTorch --------------------------------------------------------------------------------

def test_the_same_gradients_as_pytorchs_checkpoint_sequential():
    torch = _torch()
    from chainrule.interop import to_torch
    model = mlp(blocks=16, width=6, dtype="float64")
    theirs = to_torch(model)
    data = np.random.default_rng(4).standard_normal((3, 6))
    x, tx = cr.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    (checkpoint_sequential(model, 4, x) ** 2).sum().backward()
    (torch.utils.checkpoint.checkpoint_sequential(theirs, 4, tx, use_reentrant=False)
     ** 2).sum().backward()
    for p, q in zip(model.parameters(), theirs.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_nested_checkpoints_recompute_as_pytorchs():
    torch = _torch()
    counts = {}

    def run(lib, ckpt, x):
        calls = counts.setdefault(lib, {"outer": 0, "inner": 0})

        def inner(t):
            calls["inner"] += 1
            return t.sin() * t

        def outer(t):
            calls["outer"] += 1
            return ckpt(inner, t.cos()).exp()

        y = ckpt(outer, x).sum()
        y.backward()
        return x.grad

    data = np.random.default_rng(5).standard_normal(4)
    ours = run("cr", checkpoint, cr.tensor(data, requires_grad=True))
    theirs = run("torch", lambda f, t: torch.utils.checkpoint.checkpoint(
        f, t, use_reentrant=False), torch.tensor(data, requires_grad=True))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12)
    assert counts["cr"] == counts["torch"] == {"outer": 2, "inner": 3}


def test_in_place_change_of_an_input_is_refused_as_in_pytorch():
    torch = _torch()
    x = batch(requires_grad=True)
    h = x * 2
    y = checkpoint(lambda t: (t.sin() * t).sum(), h)
    with cr.no_grad():
        h += 1
    with pytest.raises(GradientError, match="modified in place"):
        y.backward()
    tx = torch.ones(3, requires_grad=True)
    th = tx * 2
    ty = torch.utils.checkpoint.checkpoint(lambda t: (t.sin() * t).sum(), th,
                                           use_reentrant=False)
    with torch.no_grad():
        th += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.backward()


# -- backward's options ------------------------------------------------------------------------------

def test_retain_graph_and_a_second_backward():
    model, x = mlp(blocks=4), batch(requires_grad=True)
    loss = model(x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    plain = grads(model)
    model.zero_grad()
    loss = checkpoint_sequential(model, 2, x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert same(grads(model), plain)
    with pytest.raises(GradientError, match="a second time"):
        loss.backward()


def test_create_graph_gives_the_plain_second_derivatives():
    def f(t):
        return (t * t).tanh().exp()

    x = batch(dtype="float64", requires_grad=True)
    g, = cr.grad(f(x).sum(), x, create_graph=True)
    plain, = cr.grad((g ** 2).sum(), x)
    g, = cr.grad(checkpoint(f, x).sum(), x, create_graph=True)
    ours, = cr.grad((g ** 2).sum(), x)
    assert np.array_equal(ours.numpy(), plain.numpy())
    assert cr.gradgradcheck(lambda t: checkpoint(f, t), [batch((2, 3), "float64",
                                                                requires_grad=True)])


def test_hooks_see_the_plain_gradients():
    seen = {"plain": [], "ours": []}

    def f(t, key):
        h = t.tanh() * 3
        h.register_hook(lambda g: seen[key].append(g.numpy().copy()))
        return h.exp()

    x = batch(requires_grad=True)
    y = f(x, "plain")
    y.register_hook(lambda g: g * 2)
    y.sum().backward()
    plain = x.grad.numpy().copy()
    x.grad = None
    y = checkpoint(f, x, "ours")
    y.register_hook(lambda g: g * 2)
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), plain)
    assert len(seen["ours"]) == 1 and np.array_equal(seen["ours"][0], seen["plain"][0])


def test_under_no_grad_it_is_the_function_called_once():
    calls = []

    def f(t):
        calls.append(1)
        return t * 2

    x = batch(requires_grad=True)
    with cr.no_grad():
        y = checkpoint(f, x)
    assert not y.requires_grad and len(calls) == 1
    assert np.array_equal(y.numpy(), values(x) * 2)


# -- memory --------------------------------------------------------------------------------------

def test_the_activations_are_let_go_and_the_ledger_says_what_is_recomputed():
    model, x = mlp(blocks=8, width=64), batch(shape=(256, 64))
    plain = memory_report(model(x).sum(), model)
    ours = memory_report(checkpoint_sequential(model, 4, x).sum(), model)
    activation = 256 * 64 * 4
    # plain: every block's tanh output; checkpointed: the 3 segment boundaries kept as inputs,
    # and the last segment's 2 blocks
    assert plain.saved_bytes >= 8 * activation
    assert ours.saved_bytes <= 5 * activation
    # each of the 3 checkpointed segments gives back 2 tanh outputs, one of them also the next
    # product's input: 3 entries, 2 buffers
    recomputed = [item for row in ours.rows for item in row.saved if item.kind == "recomputed"]
    assert len(recomputed) == 9 and all(item.extra_bytes == 0 for item in recomputed)
    assert ours.recomputed_bytes == 6 * activation and plain.recomputed_bytes == 0
    assert "recomputed in backward: 393,216 B" in str(ours)


def test_peak_memory_of_a_step_is_lower():
    # Batch twice the width: the parameters' gradients (the buffers exist already) weigh half
    # as much as the activations, so the engine must add each into .grad as it comes rather
    # than hold them all to the end of backward (0.71x then, 0.52x now; PyTorch 0.49x).
    import tracemalloc
    model, x = mlp(blocks=16, width=128), batch(shape=(256, 128))

    def peak(step):
        step()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        top = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        return top

    plain = peak(lambda: model(x).sum().backward())
    ours = peak(lambda: checkpoint_sequential(model, 4, x).sum().backward())
    assert ours < 0.6 * plain


def test_parameter_gradients_reach_grad_when_final_as_in_pytorch():
    torch = _torch()
    from chainrule.interop import to_torch
    model = mlp(blocks=2, width=4, dtype="float64")
    theirs = to_torch(model)
    data = np.random.default_rng(6).standard_normal((3, 4))
    seen = {}
    for lib, net, x in (("cr", model, cr.tensor(data)), ("torch", theirs, torch.tensor(data))):
        net(x).sum().backward()  # the .grad buffers exist from here on
        first = net[0](x)
        def look(g, lib=lib, net=net):  # after the last layer's weight got its gradient
            seen[lib] = (net[2].weight.grad.numpy().copy(), net[0].weight.grad.numpy().copy())

        first.register_hook(look)
        net[3](net[2](net[1](first))).sum().backward()
        seen[lib] += (net[2].weight.grad.numpy().copy(),)
    last_then, first_then, last_after = seen["cr"]
    np.testing.assert_array_equal(last_then, last_after)  # already complete
    for ours, theirs_ in zip(seen["cr"], seen["torch"]):
        np.testing.assert_allclose(ours, theirs_, rtol=1e-12)


def test_a_freed_graph_frees_the_segment():
    import gc
    import weakref
    model, x = mlp(blocks=2), batch()
    kept = weakref.ref(x)
    loss = checkpoint(model, x).sum()
    del x
    gc.disable()
    try:
        del loss
        assert kept() is None  # no reference cycle holds the segment's input
    finally:
        gc.enable()


# -- refusals --------------------------------------------------------------------------------------

def test_a_recomputation_that_differs_is_refused():
    state = {"calls": 0}

    def f(t):
        state["calls"] += 1
        return t.exp() if state["calls"] == 1 else t.exp().sin()

    x = batch(requires_grad=True)
    y = checkpoint(f, x).sum()
    with pytest.raises(GradientError, match=r"recorded 2 ops where the forward pass recorded 1"):
        y.backward()


def test_a_parameter_changed_in_place_is_refused_as_in_the_plain_graph():
    model, x = mlp(blocks=2), batch()
    loss = checkpoint(model, x).sum()
    with cr.no_grad():
        model[0].weight += 1
    with pytest.raises(GradientError, match="modified in place"):
        loss.backward()


@pytest.mark.parametrize("kwargs, error, match", [
    ({"use_reentrant": True}, NotImplementedError, "non-reentrant"),
    ({"determinism_check": "full"}, ValueError, "determinism_check"),
    ({"context_fn": lambda: None}, NotImplementedError, "context_fn"),
])
def test_options_chainrule_does_not_have_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        checkpoint(lambda t: t * 2, batch(), **kwargs)


@pytest.mark.parametrize("segments", [0, 40, 2.0, True])
def test_bad_segment_counts_are_refused(segments):
    with pytest.raises(ValueError, match="segments"):
        checkpoint_sequential(mlp(blocks=2), segments, batch())


def test_explain_says_which_steps_were_recomputed():
    from chainrule.inspect.explain import backward_steps
    x, w = batch((3, 2), requires_grad=True), batch((2, 2), seed=2, requires_grad=True)

    def f(t):
        return (t @ w).tanh()

    plain = backward_steps((f(x) * 2).sum())
    ours = backward_steps((checkpoint(f, x) * 2).sum())
    noted = [step.name for step in ours if any("checkpointed" in n for n in step.notes)]
    assert noted == ["v2"]  # tanh saved its output; the product saved only x and w, kept
    assert not any("checkpointed" in n for step in plain for n in step.notes)
    assert [s.grad_norm for s in ours] == [s.grad_norm for s in plain]


def test_outputs_with_nan_and_inf_recompute_without_a_false_alarm():
    data = np.array([[-1.0, 0.0, 2.0, np.inf]], dtype=np.float32)

    def f(t):
        return t.log() * t.exp()

    x = cr.tensor(data, requires_grad=True)
    with np.errstate(all="ignore"):
        f(x).sum().backward()
        plain = x.grad.numpy().copy()
        x.grad = None
        checkpoint(f, x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), plain)


def test_the_docstring_examples_run():
    import doctest

    import chainrule.utils.checkpoint as module
    result = doctest.testmod(module, extraglobs={"cr": cr}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5 and result.failed == 0


def test_keyword_inputs_are_inputs_too():
    def f(t, *, scale):
        return (t * scale).tanh() * scale

    x = batch(requires_grad=True)
    s = batch(shape=(8,), seed=7, requires_grad=True)
    plain = cr.grad(f(x, scale=s).sum(), [x, s])
    ours = cr.grad(checkpoint(f, x, scale=s).sum(), [x, s])
    assert all(np.array_equal(values(a), values(b)) for a, b in zip(plain, ours))
    y = checkpoint(f, x, scale=s * 1)
    loss = y.sum()
    scale = s * 2
    y2 = checkpoint(f, x, scale=scale).sum()
    with cr.no_grad():
        scale += 1
    with pytest.raises(GradientError, match="modified in place"):
        y2.backward()
    loss.backward()
