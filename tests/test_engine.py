"""The engine: fan-out sums, unused inputs, deep graphs, freeing, retain_graph, hooks, grad()."""
import gc
import sys
import weakref

import numpy as np
import pytest

import chainrule as cr


@pytest.fixture(autouse=True)
def restore_registry():
    """Tests that define their own primitives must not leave them in the shared registry."""
    before = dict(cr.REGISTRY)
    yield
    cr.REGISTRY.clear()
    cr.REGISTRY.update(before)


def test_fan_out_sums_every_path():
    a = cr.tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad.item() == 4.0


def test_paths_through_different_ops_are_summed():
    # c = a*a + exp(a): dc/da = 2a + exp(a), two paths from a
    a = cr.tensor(0.5, dtype="float64", requires_grad=True)
    (a * a + a.exp()).backward()
    assert a.grad.item() == pytest.approx(2 * 0.5 + np.exp(0.5))


def test_unused_input_gets_no_gradient():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    unused = cr.tensor([5.0], requires_grad=True)
    (a * 2).sum().backward()
    assert unused.grad is None
    with pytest.raises(cr.GradientError, match="allow_unused"):
        cr.grad((a * 2).sum(), [a, unused])
    ga, gu = cr.grad((a * 2).sum(), [a, unused], allow_unused=True)
    assert gu is None and np.array_equal(ga.detach().numpy(), [2.0, 2.0])


def test_long_chain_runs_at_default_recursion_limit_and_is_freed_without_gc():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default, whatever the test runner set
    gc.disable()
    try:
        x = cr.tensor(np.ones(2), requires_grad=True)
        y = x
        for _ in range(150_000):
            y = y * 1.0
        probe = weakref.ref(y.node)
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.detach().numpy(), [1.0, 1.0])
        del y
        assert probe() is None, "the graph should be freed by reference counting alone"
    finally:
        gc.enable()
        sys.setrecursionlimit(limit)


def test_retain_graph_gives_bitwise_identical_gradients():
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((5, 3)).astype(np.float32), requires_grad=True)
    x = cr.tensor(rng.standard_normal((4, 5)).astype(np.float32))
    loss = cr.softmax_cross_entropy((x @ w).tanh(), np.array([0, 1, 2, 1]))
    loss.backward(retain_graph=True)
    first = w.grad.detach().numpy().copy()
    w.grad = None
    loss.backward()
    assert np.array_equal(first, w.grad.detach().numpy())


def test_backward_twice_through_freed_graph_names_retain_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(cr.GradientError, match="retain_graph=True"):
        y.backward()


def test_leaf_gradient_accumulates_across_backward_calls():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [3 + 2, 3 + 4])


def test_accumulated_gradients_do_not_alias_each_other():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    (a * 5).sum().backward()  # adds into a.grad in place; b.grad must not change
    np.testing.assert_array_equal(b.grad.detach().numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.detach().numpy(), [6.0, 6.0])


@pytest.mark.parametrize("make_view", [lambda d: d.T, lambda d: d[::2, ::-1],
                                       lambda d: np.asfortranarray(d)])
def test_views_get_the_same_gradients_as_contiguous_copies(make_view):
    rng = np.random.default_rng(1)
    base = rng.standard_normal((6, 4))
    view = make_view(base)
    w = rng.standard_normal((view.shape[1], 3))
    grads = []
    for data in (view, np.ascontiguousarray(view)):
        x = cr.tensor(data, requires_grad=True)
        ((x @ cr.tensor(w)).tanh() * x.sum(axis=1, keepdims=True)).sum().backward()
        grads.append(x.grad.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-13, atol=1e-13)


def test_non_scalar_backward_needs_a_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.GradientError, match=r"scalar output.*shape \(2,\)"):
        (x * 2).backward()
    (x * 2).backward(grad=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.detach().numpy(), [2.0, 20.0])


def test_backward_on_a_tensor_without_grad_says_why():
    with pytest.raises(cr.GradientError, match="does not require grad"):
        (cr.tensor([1.0]) * 2).sum().backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(cr.GradientError, match="floating-point.*int64"):
        cr.tensor([1, 2], requires_grad=True)


def test_no_grad_and_enable_grad_as_context_and_decorator():
    x = cr.tensor([1.0], requires_grad=True)
    with cr.no_grad():
        assert not (x * 2).requires_grad
        with cr.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @cr.no_grad()
    def predict(t):
        return t * 2

    assert not predict(x).requires_grad and cr.is_grad_enabled()


def test_hooks_and_retain_grad_on_non_leaf():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    seen = []
    handle = h.register_hook(lambda g: seen.append(g.detach().numpy().copy()) or g * 10)
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], [6.0, 12.0])
    np.testing.assert_array_equal(h.grad.detach().numpy(), [60.0, 120.0])  # retained after the hook
    np.testing.assert_array_equal(x.grad.detach().numpy(), [180.0, 360.0])
    handle.remove()


def test_hessian_vector_product_with_create_graph():
    # f(x) = sum(x^3) has Hessian diag(6x); H v = 6 x * v
    x = cr.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    v = np.array([1.0, 2.0, 3.0])
    (g,) = cr.grad((x ** 3).sum(), [x], create_graph=True)
    (hv,) = cr.grad((g * v).sum(), [x])
    np.testing.assert_allclose(hv.detach().numpy(), 6 * x.detach().numpy() * v)


def test_gradient_penalty_trains_through_the_gradient():
    # penalty = ||d/dx (w . x)^2||^2 = ||2 (w.x) w||^2 ; check d penalty / dw numerically
    def penalty(w, x):
        (gx,) = cr.grad(((w * x).sum()) ** 2, [x], create_graph=True)
        return (gx * gx).sum()

    w = cr.tensor(np.array([0.3, -0.7]), requires_grad=True)
    x = cr.tensor(np.array([1.5, 0.4]), requires_grad=True)
    assert cr.gradcheck(penalty, [w, x])


def test_in_place_change_of_a_saved_tensor_is_detected():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    x = cr.tensor([3.0, 4.0])
    y = (w * x).sum()
    x += 1
    with pytest.raises(cr.GradientError, match=r"mul: input 'b'.*modified in place.*version 1"):
        y.backward()


def test_augmented_assignment_on_a_leaf_that_requires_grad_raises_as_in_pytorch():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(cr.GradientError, match="leaf tensor that requires grad.*no_grad"):
        w += 1
    assert w.detach().numpy()[0] == 1.0 and w.is_leaf
    with cr.no_grad():
        w -= 0.5  # a real in-place update, as an optimizer does
    assert w.detach().numpy()[0] == 0.5 and w.is_leaf and w._version == 1


def test_augmented_assignment_inside_the_graph_changes_the_tensor_in_place():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    alias = y
    y *= x  # recorded, and written into y's own memory: every reference sees it
    assert alias is y and y.op == "mul"
    np.testing.assert_array_equal(alias.detach().numpy(), [3.0, 12.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.detach().numpy(), [6.0, 12.0])  # d(3x^2)/dx


def test_accumulating_a_loss_tensor_across_steps_warns_to_use_item():
    w = cr.tensor([1.0], requires_grad=True)
    total = 0.0
    with pytest.warns(RuntimeWarning, match=r"loss\.item\(\)"):
        for _ in range(3):
            loss = (w * w).sum()
            loss.backward()
            total += loss


def test_accumulating_floats_does_not_warn(recwarn):
    w = cr.tensor([1.0], requires_grad=True)
    total = 0.0
    for _ in range(3):
        loss = (w * w).sum()
        loss.backward()
        total += loss.item()
    assert total == 3.0 and not [w for w in recwarn if w.category is RuntimeWarning]


def test_tensor_basics():
    t = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert t.dtype == np.float32 and t.shape == (2, 2) and t.ndim == 2 and t.numel() == 4 and t.size() == (2, 2) and t.size(1) == 2
    assert cr.tensor(3).dtype == np.int64 and cr.tensor(2.5).dtype == np.float32
    assert cr.tensor(np.zeros(2, dtype=np.float64)).dtype == np.float64
    assert cr.tensor([1, 2], dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(np.asarray(t.detach()), t.detach().numpy())
    with pytest.raises(cr.GradientError, match=r"detach\(\)\.numpy\(\)"):
        np.asarray(t)
    np.testing.assert_array_equal(t.T.detach().numpy(), t.detach().numpy().T)
    assert (t.sum() * 1).item() == 10.0
    d = t.detach()
    assert not d.requires_grad and d.detach().numpy() is t.detach().numpy()
    r = repr(t * 2)
    assert "op=mul" in r and "float32" in r and "2." in r
    assert "requires_grad=True" in repr(t)


def test_where_does_not_leak_nan_when_the_other_branch_is_guarded():
    # log(x) is NaN for x <= 0; the documented pattern guards the input of the branch too.
    x = cr.tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    with np.errstate(all="ignore"):
        positive = x > 0
        safe = cr.where(positive, x, 1.0)
        y = cr.where(positive, safe.log(), 0.0).sum()
    y.backward()
    assert np.all(np.isfinite(x.grad.detach().numpy()))
    np.testing.assert_allclose(x.grad.detach().numpy(), [0.0, 0.0, 0.5])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [1e4, 1e20])
@pytest.mark.parametrize("fn", [lambda t: t.softmax(axis=-1), lambda t: t.log_softmax(axis=-1),
                                lambda t: t.logsumexp(axis=-1), lambda t: t.sigmoid()],
                         ids=["softmax", "log_softmax", "logsumexp", "sigmoid"])
def test_stable_at_extreme_inputs(fn, scale, dtype):
    x = cr.tensor(np.array([[scale, -scale, 0.0], [-scale, -scale, -scale]], dtype=dtype),
                  requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        out = fn(x)
        (out * cr.tensor(np.array([1.0, 2.0, 3.0][: out.shape[-1]], dtype=dtype))).sum().backward()
    assert np.all(np.isfinite(out.detach().numpy())) and np.all(np.isfinite(x.grad.detach().numpy()))


def test_user_defined_primitive():
    @cr.primitive
    def cube(x):
        return x ** 3

    @cube.vjp
    def _(grad, x):
        return grad * 3 * x * x

    x = cr.tensor(np.array([0.5, -1.5]), requires_grad=True)
    assert cr.gradcheck(lambda t: cube(t), [x])
    assert cr.gradgradcheck(lambda t: cube(t), [x])
    assert "cube" in cr.REGISTRY
    assert cube(x).op == "cube"


def test_gradcheck_reports_a_wrong_vjp_with_input_element_and_values():
    @cr.primitive
    def bad_square(x):
        return x * x

    @bad_square.vjp
    def _(grad, x):
        return grad * x  # should be 2 x

    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(cr.GradcheckError, match=r"(?s)input 0.*element \(0,\).*analytic.*numeric"):
        cr.gradcheck(bad_square, [x])


def test_gradcheck_notes_a_kink():
    x = cr.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with pytest.raises(cr.GradcheckError, match="kink"):
        cr.gradcheck(lambda t: t.relu(), [x])


def test_gradcheck_uses_random_directions_for_large_inputs():
    x = cr.tensor(np.random.default_rng(0).standard_normal((30, 30)), requires_grad=True)
    assert cr.gradcheck(lambda t: (t.tanh() @ t).sum(axis=0), [x], max_elements=100)


def test_shape_errors_name_the_op_and_both_shapes():
    with pytest.raises(cr.ShapeError, match=r"matmul: \(64, 783\) @ \(784, 256\): inner"):
        cr.tensor(np.ones((64, 783))) @ cr.tensor(np.ones((784, 256)))
    with pytest.raises(cr.ShapeError, match=r"add: .*\(3, 4\), \(5,\)"):
        cr.tensor(np.ones((3, 4))) + cr.tensor(np.ones(5))


def test_anomaly_mode_names_the_op_and_where_it_was_created():
    x = cr.tensor(np.array([0.0, 1.0]), requires_grad=True)
    with cr.detect_anomaly():
        y = x.sqrt()  # d sqrt / dx is infinite at 0
        with np.errstate(divide="ignore"), pytest.raises(cr.AnomalyError,
                                                         match=r"sqrt(.|\n)*test_engine.py"):
            y.sum().backward()


def test_grad_of_several_inputs_does_not_add_into_a_returned_gradient():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    a = x * 1.0
    b = a.reshape(6)
    c = (b * b).sum() + (a * 5).sum()
    gb, ga = cr.grad(c, [b, a])
    np.testing.assert_array_equal(gb.detach().numpy(), 2 * b.detach().numpy())
    np.testing.assert_array_equal(ga.detach().numpy(), (2 * b.detach().numpy()).reshape(2, 3) + 5)


def test_backward_frees_a_saved_input_as_soon_as_no_later_vjp_needs_it():
    # Like matmul: the VJP of b reads a, the VJP of a does not. The engine runs b's first and
    # drops a before running a's, so a layer's input is freed before its gradient is made.
    import weakref
    seen = []

    @cr.primitive
    def scale(a, b):
        return a * b

    @scale.vjp("b")
    def _(grad, a):
        return grad * a

    @scale.vjp("a")
    def _(grad, b):
        seen.append(probe() is None)
        return grad * b

    x = cr.tensor(np.ones(3), requires_grad=True)
    w = cr.tensor(np.full(3, 3.0), requires_grad=True)
    a = x * 2.0
    probe = weakref.ref(a.detach().numpy())
    out = scale(a, w).sum()
    del a
    out.backward()
    assert seen == [True]
    np.testing.assert_array_equal(x.grad.detach().numpy(), [6.0, 6.0, 6.0])
    np.testing.assert_array_equal(w.grad.detach().numpy(), [2.0, 2.0, 2.0])
