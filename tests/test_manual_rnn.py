"""Backpropagation through time and the backprop-ninja layers, by hand (chainrule.manual.rnn and
.ninja), against the same computations built here from chainrule ops and differentiated by
autograd, in float64 to 1e-10; truncation, clipping, check_backward and its diagnoses."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import manual, nn
from chainrule.check_backward import check_backward
from chainrule.nn import functional as F

TOL = 1e-10
SHAPES = [  # N, T, D, H, V
    (1, 1, 2, 3, 4), (3, 1, 2, 3, 4), (1, 5, 3, 2, 4), (4, 6, 3, 5, 7), (2, 9, 1, 4, 3)]


def rel(got, expected):
    scale = max(np.abs(got).max(initial=0.0), np.abs(expected).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(got - expected).max() / scale)


def rnn_arrays(n, t, d, h, v, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, t, d))
    y = rng.integers(0, v, size=(n, t))
    params = [rng.standard_normal((n, h)), scale * rng.standard_normal((d, h)),
              scale * rng.standard_normal((h, h)), 0.1 * rng.standard_normal(h),
              rng.standard_normal((h, v)), 0.1 * rng.standard_normal(v)]
    return x, y, params


def autograd_rnn_loss(x, y, h0, Wx, Wh, b, Wq, bq, truncate=None):
    """The RNN language model's loss with chainrule ops; the state is detached every
    ``truncate`` steps. Returns (loss, gradients in the inputs' order, y left out)."""
    leaves = [cr.tensor(a, requires_grad=True) for a in (x, h0, Wx, Wh, b, Wq, bq)]
    xt, h, Wx, Wh, b, Wq, bq = leaves
    scores = []
    for step in range(x.shape[1]):
        if truncate is not None and step > 0 and step % truncate == 0:
            h = h.detach()
        h = cr.tanh(xt[:, step] @ Wx + h @ Wh + b)
        scores.append(h @ Wq + bq)
    o = cr.stack(scores, dim=1)
    loss = F.cross_entropy(o.reshape(-1, o.shape[-1]), cr.tensor(y.reshape(-1)))
    loss.backward()
    return loss.item(), [t.grad.detach().numpy() for t in leaves]


def vjp(fn, arrays, dout):
    """Gradients of sum(fn(*tensors) * dout) by autograd."""
    tensors = [cr.tensor(a, requires_grad=True) for a in arrays]
    grads = cr.grad(fn(*tensors), tensors, grad_outputs=cr.tensor(dout), allow_unused=True)
    return [np.zeros_like(a) if g is None else g.detach().numpy() for a, g in zip(arrays, grads)]


def assert_all_close(mine, theirs):
    assert len(mine) == len(theirs)
    for k, (a, b) in enumerate(zip(mine, theirs)):
        assert a.shape == b.shape, k
        assert rel(a, b) < TOL, f"gradient {k}: relative error {rel(a, b):.2e}"


# ---------------------------------------------------------------- the RNN

@pytest.mark.parametrize("shape", SHAPES)
def test_bptt_equals_autograd(shape):
    x, y, params = rnn_arrays(*shape)
    loss, grads = manual.rnn_loss(x, y, *params)
    expected_loss, expected = autograd_rnn_loss(x, y, *params)
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    assert_all_close(grads, expected)


@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_step_and_rnn_backward_are_vjps(shape):
    n, t, d, h, v = shape
    x, _, (h0, Wx, Wh, b, _, _) = rnn_arrays(*shape)
    rng = np.random.default_rng(1)
    out, cache = manual.rnn_step_forward(x[:, 0], h0, Wx, Wh, b)
    dnext = rng.standard_normal(out.shape)
    expected = vjp(lambda x, h, a, w, c: cr.tanh(x @ a + h @ w + c), [x[:, 0], h0, Wx, Wh, b],
                   dnext)
    assert_all_close(manual.rnn_step_backward(dnext, cache), expected)

    def unrolled(x, h, a, w, c):
        states = []
        for step in range(t):
            h = cr.tanh(x[:, step] @ a + h @ w + c)
            states.append(h)
        return cr.stack(states, dim=1)

    hs, cache = manual.rnn_forward(x, h0, Wx, Wh, b)
    np.testing.assert_allclose(hs, unrolled(*[cr.tensor(a) for a in (x, h0, Wx, Wh, b)])
                               .numpy(), rtol=1e-13, atol=1e-14)
    dh = rng.standard_normal(hs.shape)
    assert_all_close(manual.rnn_backward(dh, cache), vjp(unrolled, [x, h0, Wx, Wh, b], dh))


def test_truncation_at_T_is_the_full_gradient_and_below_T_is_detaching():
    x, y, params = rnn_arrays(3, 7, 2, 4, 5, seed=3, scale=0.8)
    _, full = manual.rnn_loss(x, y, *params)
    for k in (7, 8, 100):
        _, same = manual.rnn_loss(x, y, *params, truncate=k)
        assert_all_close(same, full)
    for k in (1, 2, 3, 6):
        _, cut = manual.rnn_loss(x, y, *params, truncate=k)
        assert rel(cut[3], full[3]) > 1e-3  # dWh loses the long paths
        assert_all_close(cut, autograd_rnn_loss(x, y, *params, truncate=k)[1])


def test_truncation_must_be_a_positive_number_of_steps():
    x, y, params = rnn_arrays(1, 2, 1, 2, 2)
    with pytest.raises(ValueError, match="truncate = 0"):
        manual.rnn_loss(x, y, *params, truncate=0)


def test_gradients_vanish_or_explode_with_powers_of_Whh():
    # dL/dh_t from the last output alone shrinks or grows like powers of W_hh^T going back.
    rng = np.random.default_rng(0)
    n, t, h = 2, 30, 4
    x = 0.01 * rng.standard_normal((n, t, 3))
    q = np.linalg.qr(rng.standard_normal((h, h)))[0]
    norms = {}
    for gain in (0.5, 1.0):
        hs, cache = manual.rnn_forward(x, np.zeros((n, h)), 0.01 * rng.standard_normal((3, h)),
                                       gain * q, np.zeros(h))
        dh = np.zeros_like(hs)
        dh[:, -1] = 1.0
        dx = manual.rnn_backward(dh, cache)[0]
        norms[gain] = np.linalg.norm(dx[:, 0]) / np.linalg.norm(dx[:, -1])
    assert norms[0.5] < 1e-6 < 0.1 < norms[1.0]


def test_temporal_layers_and_a_masked_loss_equal_autograd():
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((5, 6)), rng.standard_normal(6)
    out, cache = manual.temporal_affine_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    assert_all_close(manual.temporal_affine_backward(dout, cache),
                     vjp(lambda x, w, b: x @ w + b, [x, w, b], dout))
    y = rng.integers(0, 6, size=(3, 4))
    for mask in (None, rng.random((3, 4)) > 0.4):
        loss, dscores = manual.temporal_softmax_loss(out, y, mask)
        kept = np.flatnonzero(np.ones(12, bool) if mask is None else mask.reshape(-1))
        s = cr.tensor(out, requires_grad=True)
        ref = F.cross_entropy(s.reshape(-1, 6)[kept], cr.tensor(y.reshape(-1)[kept]))
        ref.backward()
        assert loss == pytest.approx(ref.item(), rel=1e-12)
        assert rel(dscores, s.grad.numpy()) < TOL
    with pytest.raises(ValueError, match="keeps no position"):
        manual.temporal_softmax_loss(out, y, np.zeros((3, 4), bool))


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clipping_matches_clip_grad_norm_(max_norm):
    x, y, params = rnn_arrays(2, 5, 3, 4, 5, seed=2)
    _, grads = manual.rnn_loss(x, y, *params)
    clipped, norm = manual.clip_grad_norm(grads, max_norm)
    tensors = [cr.tensor(p, requires_grad=True) for p in params]
    for t, g in zip(tensors, grads[1:]):
        t.grad = cr.tensor(g.copy())
    x_t = cr.tensor(x, requires_grad=True)
    x_t.grad = cr.tensor(grads[0].copy())
    total = nn.utils.clip_grad_norm_([x_t, *tensors], max_norm)
    assert norm == pytest.approx(total.item(), rel=1e-12)
    assert_all_close(clipped, [t.grad.numpy() for t in [x_t, *tensors]])
    if max_norm < norm:
        assert np.sqrt(sum(np.sum(g**2) for g in clipped)) == pytest.approx(max_norm, rel=1e-5)


# ---------------------------------------------------------------- the backprop ninja's layers

def test_embedding_scatters_repeated_indices():
    rng = np.random.default_rng(5)
    table = rng.standard_normal((6, 3))
    for idx in (np.array([[1, 1, 4], [1, 0, 4]]), np.array([2]), np.array([[3]])):
        out, cache = manual.embedding_forward(idx, table)
        dout = rng.standard_normal(out.shape)
        [expected] = vjp(lambda w: w[idx], [table], dout)
        assert rel(manual.embedding_backward(dout, cache), expected) < TOL
    with pytest.raises(ValueError, match="integers"):
        manual.embedding_forward(np.array([0.5]), table)


@pytest.mark.parametrize("x_shape", [(1, 4), (5, 4), (2, 3, 4)])
def test_linear_equals_autograd(x_shape):
    rng = np.random.default_rng(6)
    x, w, b = rng.standard_normal(x_shape), rng.standard_normal((4, 3)), rng.standard_normal(3)
    out, cache = manual.linear_forward(x, w, b)
    dout = rng.standard_normal(out.shape)
    assert_all_close(manual.linear_backward(dout, cache),
                     vjp(lambda x, w, b: x @ w + b, [x, w, b], dout))


def batchnorm_with_ops(x, gamma, beta, unbiased=True, eps=1e-5):
    mean = x.mean(dim=0, keepdim=True)
    var = ((x - mean) ** 2).sum(dim=0, keepdim=True) / (x.shape[0] - (1 if unbiased else 0))
    return gamma * (x - mean) / (var + eps).sqrt() + beta


@pytest.mark.parametrize("n, gamma_shape, unbiased", [
    (2, (1, 4), True), (6, (1, 4), True), (6, (4,), False), (1, (4,), False)])
def test_batchnorm_both_backwards_equal_autograd(n, gamma_shape, unbiased):
    rng = np.random.default_rng(7)
    x = 3 * rng.standard_normal((n, 4)) + 1
    gamma, beta = rng.standard_normal(gamma_shape), rng.standard_normal(gamma_shape)
    out, cache = manual.batchnorm1d_forward(x, gamma, beta, unbiased=unbiased)
    np.testing.assert_allclose(out, batchnorm_with_ops(
        *[cr.tensor(a) for a in (x, gamma, beta)], unbiased).numpy(), atol=1e-12)
    dout = rng.standard_normal(out.shape)
    expected = vjp(lambda x, g, b: batchnorm_with_ops(x, g, b, unbiased), [x, gamma, beta], dout)
    assert_all_close(manual.batchnorm1d_backward(dout, cache), expected)
    assert_all_close(manual.batchnorm1d_backward_compact(dout, cache), expected)


def test_batchnorm_of_one_example_has_no_unbiased_variance():
    with pytest.raises(ValueError, match="unbiased=False"):
        manual.batchnorm1d_forward(np.ones((1, 3)), np.ones(3), np.zeros(3))


def test_cross_entropy_is_softmax_minus_onehot_over_n():
    rng = np.random.default_rng(8)
    logits, y = 4 * rng.standard_normal((5, 7)), rng.integers(0, 7, size=5)
    loss, cache = manual.cross_entropy_forward(logits, y)
    t = cr.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(t, cr.tensor(y))
    ref.backward()
    assert float(loss) == pytest.approx(ref.item(), rel=1e-12)
    assert rel(manual.cross_entropy_backward(1.0, cache), t.grad.numpy()) < TOL
    assert rel(manual.cross_entropy_backward(2.5, cache), 2.5 * t.grad.numpy()) < TOL


def test_the_ninja_network_by_hand_equals_autograd():
    rng = np.random.default_rng(9)
    vocab, block, d, hidden, n = 7, 3, 2, 5, 6
    Xb, Yb = rng.integers(0, vocab, size=(n, block)), rng.integers(0, vocab, size=n)
    Xb[0, :] = 2  # a repeated index: its rows of C must add up
    arrays = [rng.standard_normal((vocab, d)), rng.standard_normal((block * d, hidden)) * 0.5,
              rng.standard_normal(hidden) * 0.1, 1 + 0.1 * rng.standard_normal((1, hidden)),
              0.1 * rng.standard_normal((1, hidden)), rng.standard_normal((hidden, vocab)),
              rng.standard_normal(vocab)]
    C, W1, b1, bngain, bnbias, W2, b2 = arrays
    emb, c1 = manual.embedding_forward(Xb, C)
    hpre, c2 = manual.linear_forward(emb.reshape(n, -1), W1, b1)
    hbn, c3 = manual.batchnorm1d_forward(hpre, bngain, bnbias)
    h, c4 = manual.tanh_forward(hbn)
    logits, c5 = manual.linear_forward(h, W2, b2)
    loss, c6 = manual.cross_entropy_forward(logits, Yb)
    dlogits = manual.cross_entropy_backward(1.0, c6)
    dh, dW2, db2 = manual.linear_backward(dlogits, c5)
    dhbn = manual.tanh_backward(dh, c4)
    dhpre, dgain, dbias = manual.batchnorm1d_backward(dhbn, c3)
    demb, dW1, db1 = manual.linear_backward(dhpre, c2)
    dC = manual.embedding_backward(demb.reshape(emb.shape), c1)

    t = [cr.tensor(a, requires_grad=True) for a in arrays]
    z = t[0][Xb].reshape(n, -1) @ t[1] + t[2]
    ref = F.cross_entropy(cr.tanh(batchnorm_with_ops(z, t[3], t[4])) @ t[5] + t[6],
                          cr.tensor(Yb))
    ref.backward()
    assert float(loss) == pytest.approx(ref.item(), rel=1e-12)
    expected = [a.grad.numpy() for a in t]
    # b1 is added before batch norm, whose mean subtracts it again: its gradient is 0, and
    # both sides hold only rounding (1e-17), which relative errors cannot compare.
    assert np.abs(db1).max() < 1e-14 and np.abs(expected[2]).max() < 1e-14
    del expected[2]
    assert_all_close([dC, dW1, dgain, dbias, dW2, db2], expected)


# ---------------------------------------------------------------- check_backward

def rnn_inputs(n=2, t=4, seed=0):
    x, _, (h0, Wx, Wh, b, _, _) = rnn_arrays(n, t, 3, 3, 2, seed=seed)
    return [x, h0, Wx, Wh, b]


@pytest.mark.parametrize("n, t", [(2, 4), (1, 3), (3, 1)])
def test_check_backward_passes_the_right_rnn_backward(n, t):
    report = check_backward(manual.rnn_forward, manual.rnn_backward, rnn_inputs(n, t))
    assert report.passed, str(report)
    assert [row.name for row in report.rows] == ["dx", "dh0", "dWx", "dWh", "db"]
    assert all(row.diagnosis is None for row in report.rows)
    assert report.autograd_note is None  # rnn_forward runs on Tensors too


def test_check_backward_passes_the_whole_loss_and_the_ninja_layers():
    x, y, params = rnn_arrays(2, 3, 2, 3, 4)
    assert check_backward(manual.rnn_loss, None, [x, y, *params]).passed
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3))
    gamma, beta = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
    for backward in (manual.batchnorm1d_backward, manual.batchnorm1d_backward_compact):
        assert check_backward(manual.batchnorm1d_forward, backward, [x, gamma, beta]).passed
    idx = np.array([[0, 2, 2], [1, 2, 0]])
    assert check_backward(manual.embedding_forward, manual.embedding_backward,
                          [idx, rng.standard_normal((4, 2))]).passed


# ---------------------------------------------------------------- check_backward's diagnoses

def rnn_backward_last_step_dWh(dh, cache):
    dx, dh0, dWx, _, db = manual.rnn_backward(dh, cache)
    dprev = np.zeros_like(dh0)
    for t in reversed(range(dh.shape[1])):
        _, dprev, _, dWh, _ = manual.rnn_step_backward(dh[:, t] + dprev, cache[t])
        if t == dh.shape[1] - 1:
            last = dWh  # mistake: dWh = dWh_t, overwritten, then kept from the last step
    return dx, dh0, dWx, last, db


def rnn_backward_without_carry(dh, cache):
    grads = [0, None, 0, 0, 0]
    dx = np.zeros(dh.shape[:2] + (cache[0][0].shape[1],))
    for t in reversed(range(dh.shape[1])):
        dx[:, t], dprev, dWx, dWh, db = manual.rnn_step_backward(dh[:, t], cache[t])  # mistake
        grads = [0, dprev, grads[2] + dWx, grads[3] + dWh, grads[4] + db]
    return dx, *grads[1:]


def rnn_backward_last_output_only(dh, cache):
    last = np.zeros_like(dh)
    last[:, -1] = dh[:, -1]  # mistake: the outputs before the last add nothing to h_t
    return manual.rnn_backward(last, cache)


@pytest.mark.parametrize("backward, wrong, words", [
    (rnn_backward_last_step_dWh, ["dWh"], "dWh from one time step (the last) alone"),
    (rnn_backward_without_carry, ["dx", "dh0", "dWx", "dWh", "db"], "not carried back"),
    (rnn_backward_last_output_only, ["dx", "dh0", "dWx", "dWh", "db"], "only dh[:, T-1]"),
])
@pytest.mark.parametrize("n, t", [(2, 4), (1, 3)])
def test_a_missing_sum_over_time_is_named(backward, wrong, words, n, t):
    report = check_backward(manual.rnn_forward, backward, rnn_inputs(n, t))
    assert not report.passed
    for row in report.rows:
        assert row.passed == (row.name not in wrong), str(report)
        if row.name in wrong:
            assert row.diagnosis.kind == "missing sum over time", str(report)
            assert words in row.diagnosis.message or row.name != "dWh", str(report)
    assert "WRONG: missing sum over time" in str(report)


def batchnorm1d_backward_without_mean_path(dout, cache):
    xhat, gamma, diff, var, inv, eps, divisor = cache
    dxhat = dout * gamma
    dvar = (dxhat * diff).sum(axis=0, keepdims=True) * -0.5 * (var + eps) ** -1.5
    ddiff = dxhat * inv + 2 * diff / divisor * dvar
    _, dgamma, dbeta = manual.batchnorm1d_backward(dout, cache)
    return ddiff, dgamma, dbeta  # mistake: dx = ddiff + dmean / N


def batchnorm1d_compact_without_mean_term(dout, cache):
    xhat, gamma, _, _, inv, _, divisor = cache
    n = dout.shape[0]
    _, dgamma, dbeta = manual.batchnorm1d_backward(dout, cache)
    return gamma * inv / n * (n * dout - n / divisor * xhat * (dout * xhat).sum(0)), dgamma, dbeta


@pytest.mark.parametrize("backward", [batchnorm1d_backward_without_mean_path,
                                      batchnorm1d_compact_without_mean_term])
@pytest.mark.parametrize("gamma_shape, unbiased", [((1, 3), True), ((3,), True), ((1, 3), False)])
def test_a_forgotten_batchnorm_mean_path_is_named(backward, gamma_shape, unbiased):
    rng = np.random.default_rng(2)
    inputs = [2 * rng.standard_normal((5, 3)) + 1, rng.standard_normal(gamma_shape),
              rng.standard_normal(gamma_shape)]

    def forward(x, gamma, beta):
        return manual.batchnorm1d_forward(x, gamma, beta, unbiased=unbiased)

    report = check_backward(forward, backward, inputs)
    assert [row.name for row in report.rows if not row.passed] == ["dx"], str(report)
    assert report["dx"].diagnosis.kind == "batchnorm mean path missing"
    assert "path through the batch mean" in report["dx"].diagnosis.message
    assert "np.add.at" not in str(report)
    right = check_backward(forward, manual.batchnorm1d_backward, inputs)
    assert right.passed and all(row.diagnosis is None for row in right.rows)


def embedding_backward_by_assignment(dout, cache):
    idx, shape = cache
    dweight = np.zeros(shape)
    dweight[idx] += dout  # mistake: buffered, so a repeated index keeps one contribution
    return dweight


def embedding_backward_by_a_loop_of_assignments(dout, cache):
    idx, shape = cache
    dweight = np.zeros(shape)
    for i, row in zip(idx.reshape(-1), dout.reshape(-1, shape[1])):
        dweight[i] = row  # mistake: = instead of +=
    return dweight


@pytest.mark.parametrize("backward", [embedding_backward_by_assignment,
                                      embedding_backward_by_a_loop_of_assignments])
def test_a_wrong_embedding_scatter_is_named(backward):
    rng = np.random.default_rng(3)
    inputs = [np.array([[0, 3, 3], [1, 3, 0]]), rng.standard_normal((5, 2))]
    report = check_backward(manual.embedding_forward, backward, inputs)
    row = report["dweight"]
    assert row.diagnosis.kind == "embedding scatter lost", str(report)
    assert "2 row(s) were read more than once (index 3, 3 times)" in row.diagnosis.message
    assert "np.add.at(dW, idx, dout)" in row.diagnosis.message
    right = check_backward(manual.embedding_forward, manual.embedding_backward, inputs)
    assert right.passed and right["dweight"].diagnosis is None


def test_the_new_diagnoses_leave_other_mistakes_alone():
    def rnn_backward_with_flipped_dx(dh, cache):
        dx, *rest = manual.rnn_backward(dh, cache)
        return (-dx, *rest)

    report = check_backward(manual.rnn_forward, rnn_backward_with_flipped_dx, rnn_inputs())
    assert report["dx"].diagnosis.kind == "wrong sign"
    assert all(row.passed for row in report.rows[1:])
