"""chainrule.manual: every hand-written backward against central differences, plus the
losses against loop-over-examples references, label validation and dropout's behaviour."""

import re

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chainrule.manual import (
    ForwardPass,
    TwoLayerMLP,
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    dropout_backward,
    dropout_forward,
    l2_regularization,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    softmax_loss,
    svm_loss,
    tanh_backward,
    tanh_forward,
)

TOL = 1e-7
KINK = 1e-4  # keep ReLU inputs and SVM margins this far from their kinks
FEW = settings(max_examples=25, deadline=None)
seeds = st.integers(0, 2**32 - 1)
shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3)


# ---------------------------------------------------------------- helpers

def numerical_gradient(f, x, eps=1e-6):
    """Central differences of the scalar f() with respect to the float64 array x, in place."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        f_plus = f()
        x[i] = old - eps
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def rel_error(analytic, numeric, floor=1e-300):
    """max|a - n| / max(|a| + |n|), the denominator kept at least `floor`."""
    scale = np.max(np.abs(analytic) + np.abs(numeric), initial=0.0)
    return np.max(np.abs(analytic - numeric), initial=0.0) / max(scale, floor)


def resolution_floor(f_size):
    """The floor for rel_error when f has size f_size. f is rounded to ~1e-16 of its size, so
    its central difference carries an error ~1e-10 * f_size: gradients far below f_size (a
    sum that cancels, a saturated unit) cannot show 7 correct digits. Below 1e-2 * f_size an
    array is therefore held to an absolute error of 1e-9 * f_size instead."""
    return 1e-2 * (1 + f_size)


def check_layer(forward, backward, inputs, rng):
    """Check backward(dout, cache) against the numerical gradient of sum(forward(*inputs) * dout)
    for every input; a random dout makes this a check of the full vector-Jacobian product."""
    out, cache = forward(*inputs)
    dout = rng.normal(size=out.shape)
    grads = backward(dout, cache)
    if not isinstance(grads, tuple):
        grads = (grads,)
    assert len(grads) == len(inputs)
    floor = resolution_floor(np.sum(np.abs(out * dout)))  # the size of f's terms
    for x, dx in zip(inputs, grads):
        assert dx.shape == x.shape
        numeric = numerical_gradient(lambda: np.sum(forward(*inputs)[0] * dout), x)
        assert rel_error(dx, numeric, floor) < TOL


def random_labels(rng, n, c):
    return rng.integers(0, c, size=n)


def svm_margins_away_from_kink(scores, y, margin=1.0):
    rows = np.arange(len(y))
    m = scores - scores[rows, y][:, None] + margin
    m[rows, y] = np.inf
    return np.min(np.abs(m)) > KINK


# ---------------------------------------------------------------- layers vs central differences

@FEW
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), m=st.integers(1, 5), seed=seeds)
def test_affine_backward(shape, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)  # (N, d1, ..., dk) with k = 1..3
    d = int(np.prod(shape[1:]))
    w, b = rng.normal(size=(d, m)), rng.normal(size=m)
    check_layer(affine_forward, affine_backward, [x, w, b], rng)


def test_affine_forward_flattens_each_example():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(12, 5)), rng.normal(size=5)
    out, _ = affine_forward(x, w, b)
    for i in range(2):
        np.testing.assert_allclose(out[i], x[i].ravel() @ w + b)
    with pytest.raises(ValueError, match=r"\(2, 12\)"):
        affine_forward(x, w[:10], b)


@FEW
@given(shape=shapes, seed=seeds)
def test_relu_backward(shape, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    assume(np.min(np.abs(x)) > KINK)
    check_layer(relu_forward, relu_backward, [x], rng)


def test_relu_subgradient_at_zero_is_zero():
    _, cache = relu_forward(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])


def test_relu_masked_by_dout_instead_of_x_is_wrong():
    """The seeds' rule: the mask comes from x. Masking by dout > 0 lets the gradient through
    where x < 0 and dout > 0, where relu is flat."""

    def wrong_relu_backward(dout, cache):
        return dout * (dout > 0)

    x = np.array([[-2.0, 1.5, -0.5], [3.0, -1.0, 0.7]])
    dout = np.array([[1.0, -2.0, 0.5], [0.3, 2.0, -1.0]])  # dout > 0 where x < 0, and vice versa
    numeric = numerical_gradient(lambda: np.sum(relu_forward(x)[0] * dout), x)
    _, cache = relu_forward(x)
    assert rel_error(relu_backward(dout, cache), numeric) < TOL
    assert rel_error(wrong_relu_backward(dout, cache), numeric) > 0.1


@FEW
@given(shape=shapes, scale=st.floats(0.1, 5), seed=seeds)
def test_sigmoid_backward(shape, scale, seed):
    rng = np.random.default_rng(seed)
    check_layer(sigmoid_forward, sigmoid_backward, [scale * rng.normal(size=shape)], rng)


def test_sigmoid_is_stable_and_correct():
    x = np.array([-1000.0, -30.0, -1.0, 0.0, 2.0, 30.0, 1000.0])
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out, _ = sigmoid_forward(x)
    assert np.all(np.isfinite(out)) and out[0] == 0.0 and out[-1] == 1.0
    moderate = slice(1, -1)
    np.testing.assert_allclose(out[moderate], 1 / (1 + np.exp(-x[moderate])), rtol=1e-15)


@FEW
@given(shape=shapes, scale=st.floats(0.1, 3), seed=seeds)
def test_tanh_backward(shape, scale, seed):
    rng = np.random.default_rng(seed)
    check_layer(tanh_forward, tanh_backward, [scale * rng.normal(size=shape)], rng)


@FEW
@given(n=st.integers(1, 4), dims=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       m=st.integers(1, 5), seed=seeds)
def test_affine_relu_backward(n, dims, m, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *dims))
    w, b = rng.normal(size=(int(np.prod(dims)), m)), rng.normal(size=m)
    assume(np.min(np.abs(affine_forward(x, w, b)[0])) > KINK)
    check_layer(affine_relu_forward, affine_relu_backward, [x, w, b], rng)


@FEW
@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), p=st.floats(0, 0.9), seed=seeds)
def test_dropout_backward_train_mode(shape, p, seed):
    rng = np.random.default_rng(seed)

    def forward(x):  # the fixed seed makes the mask, hence the function, the same every call
        return dropout_forward(x, p, "train", seed=seed)

    check_layer(forward, dropout_backward, [rng.normal(size=shape)], rng)


# ---------------------------------------------------------------- dropout behaviour

def test_dropout_test_mode_is_identity():
    x = np.random.default_rng(0).normal(size=(4, 5))
    out, cache = dropout_forward(x, 0.7, "test")
    np.testing.assert_array_equal(out, x)
    dout = np.ones_like(x)
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


def test_dropout_train_mode_keeps_the_expected_value():
    p = 0.3
    x = np.linspace(-2.0, 3.0, 10)
    samples, _ = dropout_forward(np.tile(x, (20000, 1)), p, "train", seed=1)
    # Each sample is 0 or x / (1 - p); the mean over 20000 has std about 0.005 |x|.
    kept = samples != 0
    np.testing.assert_allclose(samples[kept], np.broadcast_to(x / (1 - p), samples.shape)[kept])
    assert abs(1 - kept.mean() - p) < 0.01
    np.testing.assert_allclose(samples.mean(axis=0), x, rtol=0.03, atol=1e-12)


def test_dropout_backward_uses_the_forward_mask():
    x = np.random.default_rng(0).normal(size=(6, 7))
    out, cache = dropout_forward(x, 0.5, "train", seed=3)
    dout = np.random.default_rng(1).normal(size=x.shape)
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx == 0, out == 0)
    np.testing.assert_allclose(dx, dout * out / x)


def test_dropout_is_deterministic_given_a_seed_or_generator():
    x = np.ones((5, 8))
    a, _ = dropout_forward(x, 0.5, "train", seed=42)
    b, _ = dropout_forward(x, 0.5, "train", seed=42)
    c, _ = dropout_forward(x, 0.5, "train", seed=np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    out, _ = dropout_forward(np.ones(3, dtype=np.float32), 0.5, "train", seed=0)
    assert out.dtype == np.float32


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        dropout_forward(np.ones(3), p, "train")


def test_dropout_rejects_bad_mode():
    with pytest.raises(ValueError, match="'training'"):
        dropout_forward(np.ones(3), 0.5, "training")


# ---------------------------------------------------------------- losses

def softmax_loss_loop(x, y):
    n = x.shape[0]
    loss, dx = 0.0, np.zeros_like(x)
    for i in range(n):
        p = np.exp(x[i] - x[i].max())
        p /= p.sum()
        loss -= np.log(p[y[i]])
        dx[i] = p
        dx[i, y[i]] -= 1
    return loss / n, dx / n


def svm_loss_loop(x, y, margin=1.0):
    n, c = x.shape
    loss, dx = 0.0, np.zeros_like(x)
    for i in range(n):
        for j in range(c):
            if j == y[i]:
                continue
            m = x[i, j] - x[i, y[i]] + margin
            if m > 0:
                loss += m
                dx[i, j] += 1
                dx[i, y[i]] -= 1
    return loss / n, dx / n


@FEW
@given(n=st.integers(1, 6), c=st.integers(1, 6), margin=st.sampled_from([1.0, 0.5, 2.0]),
       seed=seeds)
def test_svm_loss(n, c, margin, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, c)), random_labels(rng, n, c)
    loss, dx = svm_loss(x, y, margin=margin)
    ref_loss, ref_dx = svm_loss_loop(x, y, margin)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12)
    np.testing.assert_allclose(dx, ref_dx, atol=1e-15)

    assume(svm_margins_away_from_kink(x, y, margin))
    numeric = numerical_gradient(lambda: svm_loss(x, y, margin=margin)[0], x)
    assert rel_error(dx, numeric, resolution_floor(loss)) < TOL


@FEW
@given(n=st.integers(1, 6), c=st.integers(1, 6), scale=st.floats(0.1, 10), seed=seeds)
def test_softmax_loss(n, c, scale, seed):
    rng = np.random.default_rng(seed)
    x, y = scale * rng.normal(size=(n, c)), random_labels(rng, n, c)
    loss, dx = softmax_loss(x, y)
    ref_loss, ref_dx = softmax_loss_loop(x, y)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-12, atol=1e-15)  # a loss near 0 is
    np.testing.assert_allclose(dx, ref_dx, rtol=1e-10, atol=1e-15)  # only known to ~1e-16

    numeric = numerical_gradient(lambda: softmax_loss(x, y)[0], x)
    assert rel_error(dx, numeric, resolution_floor(loss)) < TOL


def test_softmax_loss_is_finite_for_huge_logits():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4]])
    y = np.array([1, 2])
    with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
        loss, dx = softmax_loss(x, y)
    # Row 0 puts its mass on class 0 and loses 1e4 - (-1e4) = 2e4; row 1 is right and loses ~0.
    np.testing.assert_allclose(loss, 1e4)
    np.testing.assert_allclose(dx, [[0.5, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-12)


X4 = np.zeros((4, 10))
BAD_LABELS = [
    ("out of range", X4, np.array([0, 1, 2, 10]),
     "label 10 at position 3 is out of range for 10 classes [0, 10)"),
    ("negative", X4, np.array([0, -1, 2, 3]), "label -1 at position 1"),
    ("float dtype", X4, np.array([0.0, 1.0, 2.0, 3.0]), "float64"),
    ("2-D", X4, np.zeros((4, 1), dtype=int), "(4, 1)"),
    ("wrong length", X4, np.array([0, 1, 2]),
     "shape (4,) to match x of shape (4, 10), got shape (3,)"),
    ("empty batch", np.zeros((0, 10)), np.zeros(0, dtype=int), "empty"),
    ("1-D scores", np.zeros(10), np.array([0]), "(10,)"),
]


@pytest.mark.parametrize("loss_fn", [svm_loss, softmax_loss], ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", BAD_LABELS, ids=lambda c: c[0])
def test_bad_labels_raise_clear_errors(loss_fn, case):
    _, x, y, message = case
    with pytest.raises(ValueError) as info:
        loss_fn(x, y)
    assert message in str(info.value)
    assert str(info.value).startswith(loss_fn.__name__)


@pytest.mark.parametrize("container", [list, tuple, dict])
def test_l2_regularization(container):
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(3, 4)), rng.normal(size=5), rng.normal(size=(2, 2, 2))]
    reg = 0.3
    weights = dict(zip("abc", arrays)) if container is dict else container(arrays)
    loss, grads = l2_regularization(weights, reg)
    assert type(grads) is container
    expected = reg / 2 * sum(np.linalg.norm(w.ravel()) ** 2 for w in arrays)
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    grad_list = list(grads.values()) if container is dict else list(grads)
    for w, g in zip(arrays, grad_list):
        numeric = numerical_gradient(lambda: l2_regularization(weights, reg)[0], w)
        assert rel_error(g, numeric, resolution_floor(loss)) < TOL


def test_l2_regularization_rejects_a_bare_array():
    with pytest.raises(TypeError, match="ndarray"):
        l2_regularization(np.ones(3), 0.1)


# ---------------------------------------------------------------- the d2l two-layer MLP

def make_mlp(rng, d, h, q, bias, activation, loss, lam):
    W1 = rng.normal(size=(h, d)) / np.sqrt(d)
    W2 = rng.normal(size=(q, h)) / np.sqrt(h)
    b1 = rng.normal(size=h) if bias else None
    b2 = rng.normal(size=q) if bias else None
    return TwoLayerMLP(W1, W2, b1, b2, activation=activation, lam=lam, loss=loss)


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("batch", [None, 1, 5], ids=["single", "batch1", "batch5"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@settings(max_examples=8, deadline=None)
@given(seed=seeds, lam=st.floats(0.01, 1.0))
def test_mlp_gradients_match_central_differences(loss, activation, batch, bias, seed, lam):
    rng = np.random.default_rng(seed)
    d, h, q = 4, 5, 3
    model = make_mlp(rng, d, h, q, bias, activation, loss, lam)
    if batch is None:
        x, y = rng.normal(size=d), int(rng.integers(q))
    else:
        x, y = rng.normal(size=(d, batch)), random_labels(rng, batch, q)

    fwd = model.forward(x, y)
    if activation == "relu":
        assume(np.min(np.abs(fwd["z"])) > KINK)
    if loss == "svm":
        assume(svm_margins_away_from_kink(np.atleast_2d(fwd["o"].T), np.atleast_1d(y)))
    grads = model.backward(fwd)

    expected = ["dJ/do", "dJ/dW2", "dJ/db2", "dJ/dh", "dJ/dz", "dJ/dW1", "dJ/db1"]
    if not bias:
        expected = [k for k in expected if not k.startswith("dJ/db")]
    assert list(grads) == expected
    for name, param in model.params().items():
        analytic = grads["dJ/d" + name]
        numeric = numerical_gradient(lambda: model.forward(x, y)["J"], param)
        assert analytic.shape == param.shape
        # A bias gradient can cancel to (nearly) 0, e.g. the SVM's +1/N and -1/N: the floor.
        assert rel_error(analytic, numeric, resolution_floor(abs(fwd["J"]))) < TOL, name

    # dJ/do is dL/do: perturb o directly through the loss (rows are examples there).
    o = np.atleast_2d(fwd["o"].T).copy()
    loss_fn = softmax_loss if loss == "softmax" else svm_loss
    numeric_do = numerical_gradient(lambda: loss_fn(o, np.atleast_1d(y))[0], o)
    floor = resolution_floor(abs(fwd["L"]))
    assert rel_error(np.atleast_2d(grads["dJ/do"].T), numeric_do, floor) < TOL


PHI = {"relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
       "tanh": np.tanh}  # written again here, independently of the layers under test


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_mlp_intermediate_gradients(activation):
    """dJ/dh and dJ/dz, each against central differences of J as a function of h or of z."""
    rng = np.random.default_rng(3)
    model = make_mlp(rng, 4, 6, 3, bias=True, activation=activation, loss="softmax", lam=0.2)
    X, y = rng.normal(size=(4, 5)), np.array([0, 2, 1, 1, 0])
    fwd = model.forward(X, y)
    assert np.min(np.abs(fwd["z"])) > KINK  # this fixture stays off the ReLU kink
    grads = model.backward(fwd)
    h, z = fwd["h"].copy(), fwd["z"].copy()
    W2, b2 = model.W2, model.b2[:, None]

    def J_of_h():  # s does not depend on h or z, so it cannot change these gradients
        return softmax_loss((W2 @ h + b2).T, y)[0]

    def J_of_z():
        return softmax_loss((W2 @ PHI[activation](z) + b2).T, y)[0]

    floor = resolution_floor(fwd["L"])
    assert rel_error(grads["dJ/dh"], numerical_gradient(J_of_h, h), floor) < TOL
    assert rel_error(grads["dJ/dz"], numerical_gradient(J_of_z, z), floor) < TOL


def test_mlp_forward_follows_the_textbook():
    rng = np.random.default_rng(0)
    model = make_mlp(rng, 3, 4, 2, bias=True, activation="tanh", loss="softmax", lam=0.5)
    X, y = rng.normal(size=(3, 6)), np.array([0, 1, 1, 0, 1, 0])
    fwd = model.forward(X, y)
    assert list(fwd) == ["z", "h", "o", "L", "s", "J"]
    assert isinstance(fwd, ForwardPass)
    W1, b1, W2, b2 = model.W1, model.b1, model.W2, model.b2
    np.testing.assert_allclose(fwd["z"], W1 @ X + b1[:, None])
    np.testing.assert_allclose(fwd["h"], np.tanh(fwd["z"]))
    np.testing.assert_allclose(fwd["o"], W2 @ fwd["h"] + b2[:, None])
    s = 0.25 * (np.sum(W1 * W1) + np.sum(W2 * W2))
    np.testing.assert_allclose(fwd["s"], s)
    np.testing.assert_allclose(fwd["J"], fwd["L"] + s)
    # Columns here, rows in affine_forward: the same layer up to transposes.
    np.testing.assert_allclose(affine_forward(X.T, W1.T, b1)[0], fwd["z"].T)
    # The batch's L is the mean of the single-example losses.
    singles = [model.forward(X[:, i], y[i])["L"] for i in range(6)]
    np.testing.assert_allclose(fwd["L"], np.mean(singles))


def test_mlp_single_example_gives_vectors():
    model = TwoLayerMLP.init(4, 5, 3, seed=1, sigma=0.5, activation="sigmoid", lam=0.1, loss="svm")
    fwd = model.forward(np.ones(4), 2)
    assert fwd["z"].shape == (5,) and fwd["o"].shape == (3,) and np.ndim(fwd["J"]) == 0
    grads = model.backward(fwd)
    assert grads["dJ/do"].shape == (3,) and grads["dJ/dz"].shape == (5,)
    assert grads["dJ/dW1"].shape == (5, 4) and grads["dJ/dW2"].shape == (3, 5)


def test_mlp_init_and_params():
    model = TwoLayerMLP.init(6, 4, 3, seed=7, sigma=0.01)
    assert list(model.params()) == ["W1", "b1", "W2", "b2"]
    assert model.W1.shape == (4, 6) and model.W2.shape == (3, 4)
    assert np.all(model.b1 == 0) and np.all(model.b2 == 0)
    assert 0.003 < model.W1.std() < 0.03
    np.testing.assert_array_equal(model.W1, TwoLayerMLP.init(6, 4, 3, seed=7).W1)
    assert list(TwoLayerMLP.init(6, 4, 3, bias=False).params()) == ["W1", "W2"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(activation="gelu"), "gelu"),
        (dict(loss="mse"), "mse"),
        (dict(lam=-1.0), "-1.0"),
        (dict(b1=np.zeros(3)), "(3,)"),
    ],
)
def test_mlp_rejects_bad_arguments(kwargs, message):
    W1, W2 = np.zeros((4, 6)), np.zeros((3, 4))
    with pytest.raises(ValueError, match=re.escape(message)):
        TwoLayerMLP(W1, W2, **kwargs)


def test_mlp_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"\(3, 5\)"):
        TwoLayerMLP(np.zeros((4, 6)), np.zeros((3, 5)))
    model = TwoLayerMLP.init(6, 4, 3)
    with pytest.raises(ValueError, match=r"\(5,\)"):
        model.forward(np.zeros(5), 0)
    with pytest.raises(ValueError, match="label 3"):
        model.forward(np.zeros(6), 3)
