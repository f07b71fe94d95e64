"""The paths that make sequence models fast, checked for their numbers: a basic slice's gradient
written into its input's pending sum in place (engine.SliceGradient: x[t] per time step, split,
unbind, LSTM gates), and matmul of a batch of rows by one matrix as one product (ops/linalg.py).
Each against PyTorch, by float64 central differences and second order, with edge values."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import engine
from chainrule.inspect.gradients import engine_gradients
from chainrule.inspect.graph import GraphView


def _torch():
    return pytest.importorskip("torch")


def _pair(array, requires_grad=True):
    torch = _torch()
    return (cr.tensor(array.copy(), requires_grad=requires_grad),
            torch.tensor(array.copy(), requires_grad=requires_grad))


# -- slices: every way a program reads parts of one tensor ------------------------------------

def _slice_program(x, lib):
    """Reads x (6, 3, 4) by time step (some steps unused), by overlapping ranges, by a strided
    step, by a mask, with None, down to one element, as an empty slice, and whole (fan-out
    before and after the slices)."""
    total = (x * 2).sum()
    for t in (5, 3, 0, 3):  # step 3 twice, steps 1, 2 and 4 never
        total = total + (x[t].tanh() * (t + 1)).sum()
    total = total + x[0:4].sin().sum() + x[2:6].cos().sum()
    total = total + (x[1::2, 1] ** 2).sum() + x[None, 1:3, ..., ::3].exp().sum()
    total = total + x[x > 0.5].sum() + x[2, 1, 3] * 3 + x[2:2].sum()
    return total + x.sum()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_slices_values_and_gradients_as_torch(dtype):
    values = np.random.default_rng(0).standard_normal((6, 3, 4)).astype(dtype)
    ours, theirs = _pair(values)
    out, expected = _slice_program(ours, cr), _slice_program(theirs, None)
    out.backward()
    expected.backward()
    np.testing.assert_allclose(out.item(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert ours.grad.dtype == dtype and ours.grad.shape == (6, 3, 4)


def test_slices_by_central_differences_first_and_second_order():
    x = cr.tensor(np.random.default_rng(1).standard_normal((6, 3, 4)), requires_grad=True)
    assert cr.gradcheck(lambda t: _slice_program(t, cr), [x])
    assert cr.gradgradcheck(lambda t: _slice_program(t, cr), [x])


def test_unbind_split_and_view_of_a_non_leaf_as_torch():
    torch = _torch()
    values = np.random.default_rng(2).standard_normal((5, 2, 6)).astype(np.float32)
    ours, theirs = _pair(values)
    results = []
    for x, lib in ((ours, cr), (theirs, torch)):
        y = x * 3 + 1  # a non-leaf: its pending sum is the engine's, not a .grad
        steps = y.unbind(0)
        a, b, c = y.split(2, dim=2)
        total = sum((s * s).sum() * k for k, s in enumerate(steps[1:], 1))
        total = total + (a * b).sum() + c[1:, :, 1::2].tanh().sum()
        total.backward()
        results.append(x.grad)
    np.testing.assert_allclose(results[0].numpy(), results[1].numpy(), rtol=1e-5, atol=1e-6)


def test_edge_values_pass_through_slices_as_torch():
    torch = _torch()
    values = np.array([[0.0, -0.0, -1.5], [np.inf, -np.inf, np.nan], [2.0, 0.5, -3.0]],
                      dtype=np.float32)
    ours, theirs = _pair(values)
    for x in (ours, theirs):
        rows = x.unbind(0)
        (rows[0] * rows[2]).sum().backward()
        (x[1] * 0 + x[0]).sum().backward()  # inf * 0 and nan: nan gradients where they read
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_empty_tensor_slices():
    x = cr.tensor(np.zeros((0, 3)), requires_grad=True)
    (x[:, 1:].sum() + x[0:0].sum()).backward()
    assert x.grad.shape == (0, 3)


def test_one_zero_array_for_a_whole_sequence_of_slices(monkeypatch):
    """The point of the sparse path: T per-step slices of one tensor make one dense array
    (their sum), not one whole-sequence array each."""
    made = []
    dense = engine.SliceGradient.dense
    monkeypatch.setattr(engine.SliceGradient, "dense",
                        lambda self, dtype=None: made.append(1) or dense(self, dtype))
    x = cr.tensor(np.random.default_rng(3).standard_normal((50, 4)), requires_grad=True)
    sum(step.tanh().sum() for step in x.unbind(0)).backward()
    assert len(made) == 1
    np.testing.assert_allclose(x.grad.numpy(), 1 - np.tanh(x.detach().numpy()) ** 2)


def test_a_slice_after_a_borrowed_gradient_does_not_write_into_it():
    """y's first gradient is an array someone else holds (borrowed); a slice's gradient
    arriving next must go into a new array, leaving the borrowed one as it was."""
    shared = np.full((3, 2), 5.0)

    @cr.primitive
    def hands_out_shared(x):
        return x.copy()

    @hands_out_shared.vjp
    def _(grad):
        return shared

    try:
        x = cr.tensor(np.ones((3, 2)), requires_grad=True)
        y = x * 1
        row = y[1] * 2
        z = hands_out_shared(y)  # newer than the slice: its gradient reaches y first
        (z.sum() + row.sum()).backward()
    finally:
        cr.REGISTRY.pop("hands_out_shared")
    np.testing.assert_array_equal(shared, np.full((3, 2), 5.0))
    np.testing.assert_array_equal(x.grad.numpy(), [[5, 5], [7, 7], [5, 5]])


def test_hooks_grad_retain_and_anomaly_see_the_summed_dense_gradient():
    seen = []
    x = cr.tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
    y = x * 1
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    y.retain_grad()
    with cr.detect_anomaly():
        (y[0] * 2 + y[3]).sum().backward()
    expected = np.array([[2, 2, 2], [0, 0, 0], [0, 0, 0], [1, 1, 1]], dtype=float)
    np.testing.assert_array_equal(seen[0], expected)
    np.testing.assert_array_equal(y.grad.numpy(), expected)
    (dx,) = cr.autograd.grad((x[1] * 4).sum() + x[2].sum(), [x])
    np.testing.assert_array_equal(dx.numpy(), [[0] * 3, [4] * 3, [1] * 3, [0] * 3])


def test_anomaly_mode_names_a_nan_that_reaches_a_slice():
    x = cr.tensor(np.array([[1.0, -1.0], [2.0, 3.0]]), requires_grad=True)
    with cr.detect_anomaly(), pytest.raises(cr.AnomalyError):
        x[0].sqrt().sum().backward()


def test_explain_sees_each_slice_contribution_dense():
    x = cr.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    loss = (x[0] * 2).sum() + (x[2] * 3).sum()
    grads, contributions = engine_gradients(GraphView(loss))
    parts = [c.value for c in contributions[x.node]]
    assert sorted(p.tolist() for p in parts) == [[[0, 0], [0, 0], [3, 3]],
                                                 [[2, 2], [0, 0], [0, 0]]]
    np.testing.assert_array_equal(grads[x.node], [[2, 2], [0, 0], [3, 3]])


def test_retain_graph_backward_twice_accumulates():
    x = cr.tensor(np.ones((3, 2)), requires_grad=True)
    loss = sum(row.sum() * (k + 1) for k, row in enumerate(x.unbind(0)))
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[2, 2], [4, 4], [6, 6]])


def test_the_vjp_called_outside_the_engine_reads_as_the_dense_gradient():
    vjp, _ = cr.REGISTRY["getitem"].vjp_for(0)
    grad = np.array([1.0, 2.0])
    result = vjp(grad, (3, 2), (1,))
    np.testing.assert_array_equal(np.asarray(result), [[0, 0], [1, 2], [0, 0]])
    assert np.shape(result) == (3, 2)


def test_lstm_long_sequence_as_torch():
    torch = _torch()
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(3, 5, num_layers=2)
    ours = cr.nn.LSTM(3, 5, num_layers=2)
    ours.load_state_dict({k: cr.tensor(v.detach().numpy()) for k, v in
                          theirs.state_dict().items()})
    values = np.random.default_rng(4).standard_normal((40, 2, 3)).astype(np.float32)
    x_ours, x_theirs = _pair(values)
    (ours(x_ours)[0] ** 2).sum().backward()
    (theirs(x_theirs)[0] ** 2).sum().backward()
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(),
                                   rtol=1e-4, atol=1e-5)


# -- matmul: a batch of rows times one matrix, as one product ---------------------------------

MATMUL_SHAPES = [((4, 5, 3), (3, 6)), ((2, 3, 4, 5), (5, 2)), ((0, 5, 3), (3, 6)),
                 ((4, 0, 3), (3, 6)), ((4, 5, 0), (0, 6)), ((4, 5, 3), (3, 0))]


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
def test_rows_times_a_matrix_as_torch(a_shape, b_shape, transposed):
    torch = _torch()
    rng = np.random.default_rng(5)
    a = rng.standard_normal(a_shape).astype(np.float32)
    w = rng.standard_normal(b_shape[::-1] if transposed else b_shape).astype(np.float32)
    a_ours, a_theirs = _pair(a)
    w_ours, w_theirs = _pair(w)
    out = a_ours @ (w_ours.T if transposed else w_ours)
    expected = a_theirs @ (w_theirs.T if transposed else w_theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5,
                               atol=1e-5)
    upstream = rng.standard_normal(out.shape).astype(np.float32)
    (out * cr.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    for ours, theirs in ((a_ours, a_theirs), (w_ours, w_theirs)):
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4,
                                   atol=1e-5)
    if transposed:  # Linear's weight: its gradient laid out as the weight, for the optimizer
        assert w_ours.grad.numpy().flags.c_contiguous


def test_a_strided_batch_of_rows_as_torch():
    """A transposed batch (not C-contiguous) takes NumPy's batched path; same numbers."""
    torch = _torch()
    rng = np.random.default_rng(6)
    a_ours, a_theirs = _pair(rng.standard_normal((5, 4, 3)).astype(np.float32))
    w_ours, w_theirs = _pair(rng.standard_normal((3, 2)).astype(np.float32))
    out = a_ours.transpose(0, 1) @ w_ours
    expected = a_theirs.transpose(0, 1) @ w_theirs
    (out.tanh().sum()).backward()
    (expected.tanh().sum()).backward()
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(a_ours.grad.numpy(), a_theirs.grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(w_ours.grad.numpy(), w_theirs.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_rows_times_a_matrix_edge_values_as_torch():
    torch = _torch()
    a = np.array([[[0.0, -0.0], [np.inf, 1.0]], [[np.nan, 2.0], [-np.inf, -1.0]]],
                 dtype=np.float32)
    w = np.array([[1.0, 0.0, -2.0], [0.5, 3.0, 0.0]], dtype=np.float32)
    a_ours, a_theirs = _pair(a)
    w_ours, w_theirs = _pair(w)
    out, expected = a_ours @ w_ours, a_theirs @ w_theirs
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_array_equal(a_ours.grad.numpy(), a_theirs.grad.numpy())
    np.testing.assert_array_equal(w_ours.grad.numpy(), w_theirs.grad.numpy())


@pytest.mark.parametrize("transposed", [False, True])
def test_rows_times_a_matrix_by_central_differences(transposed):
    rng = np.random.default_rng(7)
    a = cr.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = cr.tensor(rng.standard_normal((5, 4) if transposed else (4, 5)), requires_grad=True)

    def f(a, w):
        return (a @ (w.T if transposed else w)).tanh()
    assert cr.gradcheck(f, [a, w])
    assert cr.gradgradcheck(f, [a, w])


def test_rows_times_a_matrix_refuses_mismatched_shapes_by_name():
    with pytest.raises(cr.ShapeError, match=r"matmul.*\(2, 3, 4\).*\(5, 6\)"):
        cr.ones(2, 3, 4) @ cr.ones(5, 6)


# -- attention_softmax: the causal mask and the softmax as one node ---------------------------

def _attention_softmax():
    from chainrule.ops.attention import attention_softmax
    return attention_softmax


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("shapes", [((2, 3, 5, 4), (2, 3, 5, 4)), ((2, 4, 3), (2, 6, 3)),
                                    ((1, 6, 2), (1, 4, 2))])
def test_attention_as_torch_fan_out_and_views(shapes, causal, dtype):
    torch = _torch()
    (q_shape, k_shape) = shapes
    rng = np.random.default_rng(8)
    qkv = np.concatenate([rng.standard_normal(q_shape), rng.standard_normal(k_shape[:-1] +
                          (q_shape[-1],))], axis=-2).astype(dtype)
    ours, theirs = _pair(qkv)
    length = q_shape[-2]
    outs = []
    for x, lib in ((ours, cr), (theirs, torch)):
        q, kv = x[..., :length, :], x[..., length:, :]  # views of one tensor: fan-out
        y = lib.nn.functional.scaled_dot_product_attention(q, kv, kv * 2, is_causal=causal)
        (y.tanh() * y).sum().backward()
        outs.append(y.detach().numpy())
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else \
        dict(rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(outs[0], outs[1], **tolerance)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **tolerance)


@pytest.mark.parametrize("causal", [False, True])
def test_attention_softmax_by_central_differences_first_and_second_order(causal):
    softmax = _attention_softmax()
    rng = np.random.default_rng(9)
    scores = cr.tensor(rng.standard_normal((2, 4, 5)), requires_grad=True)
    weights = cr.tensor(rng.standard_normal((2, 4, 5)))
    assert cr.gradcheck(lambda s: softmax(s, causal=causal) * weights, [scores])
    assert cr.gradgradcheck(lambda s: softmax(s, causal=causal) * weights, [scores])
    q, k, v = (cr.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))

    def attention(q, k, v):
        return cr.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
    assert cr.gradcheck(attention, [q, k, v])
    assert cr.gradgradcheck(attention, [q, k, v])


def test_attention_softmax_edge_values_as_torch():
    torch = _torch()
    softmax = _attention_softmax()
    inf, nan = np.inf, np.nan
    scores = np.array([[[0.0, -inf, 1.0], [1e4, 1e4, -1e4], [nan, 0.0, 1.0]],
                       [[-0.0, 0.0, 0.0], [-inf, -inf, 2.0], [3.0, -1e4, inf]]])
    for causal in (False, True):
        ours, theirs = _pair(scores)
        out = softmax(ours, causal=causal)
        masked = theirs.masked_fill(~torch.ones(3, 3, dtype=torch.bool).tril(), -inf) \
            if causal else theirs
        expected = torch.softmax(masked, -1)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy())
        upstream = np.arange(18.0).reshape(2, 3, 3)
        (out * cr.tensor(upstream)).sum().backward()
        (expected * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), atol=1e-12)


def test_attention_softmax_empty():
    softmax = _attention_softmax()
    for shape in ((0, 3, 3), (2, 0, 4), (2, 3, 0)):
        scores = cr.tensor(np.zeros(shape), requires_grad=True)
        out = softmax(scores, causal=shape[-1] == shape[-2])
        out.sum().backward()
        assert out.shape == shape and scores.grad.shape == shape


# -- ndtr: the normal CDF as one primitive, exact GELU's x * ndtr(x) -----------------------------

def _ndtr():
    from chainrule.ops.special import ndtr
    return ndtr


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ndtr_and_gelu_as_torch(dtype):
    torch = _torch()
    x = np.concatenate([np.linspace(-9, 9, 61), [0.0, -0.0, 1e-30, -40.0, 40.0]]).astype(dtype)
    upstream = np.random.default_rng(10).standard_normal(x.shape).astype(dtype)
    for ours_fn, torch_fn in ((_ndtr(), torch.special.ndtr),
                              (cr.nn.functional.gelu, torch.nn.functional.gelu)):
        ours, theirs = _pair(x)
        out, expected = ours_fn(ours), torch_fn(theirs)
        # float32: erf is within 8 ulps, so 1 + erf(x / sqrt 2) is within a few 6e-8 steps
        # where it cancels (x below -4), as it was before ndtr.
        tolerance = dict(rtol=2e-6, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-13,
                                                                                atol=1e-15)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tolerance)
        (out * cr.tensor(upstream)).sum().backward()
        (expected * torch.tensor(upstream)).sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), **tolerance)
        assert out.dtype == dtype and ours.grad.dtype == dtype


def test_ndtr_edge_values_as_torch():
    torch = _torch()
    x = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 5e-324, -1e308])
    ours, theirs = _pair(x)
    out, expected = _ndtr()(ours), torch.special.ndtr(theirs)
    np.testing.assert_array_equal(out.detach().numpy(), expected.detach().numpy())
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-15)


def test_ndtr_by_central_differences_first_and_second_order():
    ndtr = _ndtr()
    x = cr.tensor(np.random.default_rng(11).uniform(-3, 3, (3, 4)), requires_grad=True)
    assert cr.gradcheck(lambda t: ndtr(t) * t, [x])
    assert cr.gradgradcheck(lambda t: ndtr(t) * t, [x])
    assert cr.gradgradcheck(lambda t: cr.nn.functional.gelu(t), [x])


def test_ndtr_zero_d_empty_integers_and_float16():
    ndtr = _ndtr()
    x = cr.tensor(0.5, requires_grad=True)
    ndtr(x).backward()
    np.testing.assert_allclose(x.grad.item(), np.exp(-0.125) / np.sqrt(2 * np.pi))
    empty = cr.tensor(np.zeros((0, 3), np.float32), requires_grad=True)
    ndtr(empty).sum().backward()
    assert empty.grad.shape == (0, 3)
    assert ndtr(cr.tensor([0, 1])).dtype == np.float32  # integers become float32, as PyTorch
    half = ndtr(cr.tensor(np.array([0.0, 1.0], np.float16)))
    assert half.dtype == np.float16
    np.testing.assert_allclose(half.numpy().astype(float), [0.5, 0.8413], atol=1e-3)


# -- lstm_cell: one LSTM step as one node --------------------------------------------------------

def _lstm_cell():
    from chainrule.ops.recurrent import lstm_cell
    return lstm_cell


def _torch_lstm_cell(torch, gates, c):
    i, f, g, o = gates.chunk(4, -1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c_new = f * c + i * g
    return torch.cat([o * c_new.tanh(), c_new, i, f, g, o, c_new.tanh()], -1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("c_shape", [(4, 3), (3,)])
def test_lstm_cell_as_torch_with_gradient_on_every_part(dtype, c_shape):
    torch = _torch()
    rng = np.random.default_rng(12)
    gates = rng.standard_normal((4, 12)).astype(dtype) * 3
    c = rng.standard_normal(c_shape).astype(dtype)
    g_ours, g_theirs = _pair(gates)
    c_ours, c_theirs = _pair(c)
    out, expected = _lstm_cell()(g_ours, c_ours), _torch_lstm_cell(torch, g_theirs, c_theirs)
    tolerance = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12,
                                                                            atol=1e-14)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tolerance)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    (out * cr.tensor(upstream)).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(g_ours.grad.numpy(), g_theirs.grad.numpy(), **tolerance)
    np.testing.assert_allclose(c_ours.grad.numpy(), c_theirs.grad.numpy(), **tolerance)


def test_lstm_cell_edge_values_as_torch():
    torch = _torch()
    inf, nan = np.inf, np.nan
    gates = np.array([[inf, -inf, 0.0, -0.0, 50.0, -50.0, 1e4, nan],
                      [0.0, 1.0, -1.0, 2.0, -inf, inf, 0.5, -0.5]])
    c = np.array([[1.0, -2.0], [inf, 0.0]])
    g_ours, g_theirs = _pair(gates)
    c_ours, c_theirs = _pair(c)
    out, expected = _lstm_cell()(g_ours, c_ours), _torch_lstm_cell(torch, g_theirs, c_theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-15)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(g_ours.grad.numpy(), g_theirs.grad.numpy(), rtol=1e-12,
                               atol=1e-300)
    np.testing.assert_allclose(c_ours.grad.numpy(), c_theirs.grad.numpy(), rtol=1e-12)


def test_lstm_cell_by_central_differences_first_and_second_order():
    lstm_cell = _lstm_cell()
    rng = np.random.default_rng(13)
    gates = cr.tensor(rng.standard_normal((2, 8)), requires_grad=True)
    c = cr.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    weights = cr.tensor(rng.standard_normal((2, 14)))
    assert cr.gradcheck(lambda g, c: lstm_cell(g, c) * weights, [gates, c])
    assert cr.gradgradcheck(lambda g, c: lstm_cell(g, c) * weights, [gates, c])


def test_lstm_layer_second_order_by_central_differences():
    cr.manual_seed(3)
    lstm = cr.nn.LSTM(2, 3, dtype="float64")
    x = cr.tensor(np.random.default_rng(14).standard_normal((4, 2, 2)), requires_grad=True)
    assert cr.gradcheck(lambda x: lstm(x)[0], [x])
    assert cr.gradgradcheck(lambda x: lstm(x)[0], [x])


def test_lstm_cell_refuses_gates_of_the_wrong_width():
    with pytest.raises(ValueError, match=r"lstm_cell: gates have 7 features, expected 4 x 2"):
        _lstm_cell()(cr.zeros(1, 7), cr.zeros(1, 2))


# -- layer_norm_affine: LayerNorm with its scale and shift as one node ------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("with_bias", [True, False])
def test_layer_norm_one_node_as_torch_with_edge_rows(dtype, with_bias):
    torch = _torch()
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3, 6)).astype(dtype)
    x[0, 0] = 2.5  # a constant row: variance 0, only eps keeps it finite
    x[0, 1, 2] = 1e4  # one large value among small ones
    x[1, 2] = [1e-20, -1e-20, 0.0, -0.0, 1e-20, 0.0]  # tiny values
    w = rng.standard_normal(6).astype(dtype)
    b = rng.standard_normal(6).astype(dtype) if with_bias else None
    g = rng.standard_normal(x.shape).astype(dtype)
    grads = []
    for lib in (cr, torch):
        leaves = [lib.tensor(a.copy(), requires_grad=True) for a in (x, w, b) if a is not None]
        out = lib.nn.functional.layer_norm(leaves[0], (6,), *leaves[1:])
        (out * lib.tensor(g)).sum().backward()
        grads.append([out.detach().numpy()] + [t.grad.numpy() for t in leaves])
    assert grads[0][0].dtype == dtype
    tolerance = dict(rtol=2e-4, atol=2e-4) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-9)
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, **tolerance)


def test_layer_norm_is_one_node_and_passes_nan_and_inf_as_torch():
    torch = _torch()
    x = np.array([[1.0, np.nan, 2.0], [np.inf, 1.0, 0.0], [1.0, 2.0, 4.0]], dtype=np.float32)
    w, b = np.array([1.0, 2.0, -1.0], np.float32), np.array([0.5, 0.0, 1.0], np.float32)
    results = []
    for lib in (cr, torch):
        leaves = [lib.tensor(a.copy(), requires_grad=True) for a in (x, w, b)]
        out = lib.nn.functional.layer_norm(*leaves[:1], (3,), *leaves[1:])
        out.sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in leaves])
        if lib is cr:
            assert out.node.op.name == "layer_norm_affine"
            assert [p is not None for p in out.node.parents] == [True, True, True]
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)  # nan where torch's


def test_layer_norm_empty_and_fan_out_and_second_order():
    empty = cr.zeros(0, 4, requires_grad=True)
    weight = cr.ones(4, requires_grad=True)
    out = cr.nn.functional.layer_norm(empty, (4,), weight, cr.zeros(4))
    out.sum().backward()
    assert tuple(out.shape) == (0, 4) and tuple(empty.grad.shape) == (0, 4)
    assert weight.grad.tolist() == [0.0] * 4
    rng = np.random.default_rng(6)
    x = cr.tensor(rng.standard_normal((2, 3, 5)), requires_grad=True)
    w = cr.tensor(rng.standard_normal(5), requires_grad=True)
    b = cr.tensor(rng.standard_normal(5), requires_grad=True)

    def program(x, w, b):  # x and w each read twice, once through the node
        y = cr.nn.functional.layer_norm(x, (5,), w, b)
        return (y * y.sin()).sum() + (x * w).sum()

    assert cr.gradcheck(program, [x, w, b])
    assert cr.gradgradcheck(program, [x, w, b])


def test_layer_norm_of_mixed_dtypes_is_refused_as_in_pytorch():
    # (It once fell back to the composite and promoted; PyTorch refuses a float32 weight on
    # float64 input, and so does chainrule now.)
    x = cr.ones(2, 3, dtype=cr.float64, requires_grad=True)
    with pytest.raises(cr.DtypeError, match="layer_norm"):
        cr.nn.functional.layer_norm(x, (3,), cr.ones(3))
    torch = _torch()
    with pytest.raises(RuntimeError):
        torch.nn.functional.layer_norm(torch.ones(2, 3, dtype=torch.float64), (3,),
                                       torch.ones(3))


# -- the same numbers by a cheaper route: sigmoid without where, Adam with one scratch array ----

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_gives_the_two_sided_formulas_bits(dtype):
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.standard_normal(5000) * 30,
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 88, -88, 1e4, -1e4]])
    x = x.astype(dtype)
    with np.errstate(all="ignore"):
        # float16 is computed in float32 and rounded once, as PyTorch computes it.
        wide = x.astype(np.float32) if dtype == np.float16 else x
        e = np.exp(-np.abs(wide))
        expected = np.where(wide >= 0, 1 / (1 + e), e / (1 + e)).astype(dtype)
        got = cr.sigmoid(cr.tensor(x)).numpy()
    assert got.dtype == dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("cls, options", [("Adam", {}), ("AdamW", {"weight_decay": 0.1}),
                                          ("Adam", {"weight_decay": 0.1, "amsgrad": True})])
def test_adam_steps_give_the_textbook_expressions_bits(cls, options):
    rng = np.random.default_rng(8)
    start = rng.standard_normal((5, 4)).astype(np.float32)
    w = cr.tensor(start.copy(), requires_grad=True)
    opt = getattr(cr.optim, cls)([w], lr=1e-2, betas=(0.9, 0.99), **options)
    ref, m, v, vmax = start.copy(), np.zeros_like(start), np.zeros_like(start), \
        np.zeros_like(start)
    decay = options.get("weight_decay", 0)
    for step in range(1, 4):
        g = rng.standard_normal(start.shape).astype(np.float32)
        w.grad = cr.tensor(g.copy())
        opt.step()
        if cls == "AdamW":
            ref *= 1 - 1e-2 * decay
        elif decay:
            g = g + decay * ref
        m *= 0.9
        m += (1 - 0.9) * g
        v *= 0.99
        v += (1 - 0.99) * g * g
        if options.get("amsgrad"):
            v_used = vmax = np.maximum(vmax, v)
        else:
            v_used = v
        # math.sqrt: a Python float, weak in NumPy's promotion as in the optimizer
        ref -= 1e-2 / (1 - 0.9 ** step) * (m / (np.sqrt(v_used) / math.sqrt(1 - 0.99 ** step)
                                                + 1e-8))
        np.testing.assert_array_equal(w.detach().numpy(), ref)
