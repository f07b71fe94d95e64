"""Every hand-written backward in chainrule.manual against chainrule's autograd and float64
central differences, over random shapes; and the textbook TwoLayerMLP against the same network
built from chainrule.nn."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import manual, nn
from chainrule.nn import functional as F

TOL = 1e-7
KINK = 1e-3  # relu inputs and hinge margins stay this far from their kinks
FEW = settings(max_examples=15, deadline=None)
seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 4)


def relative_error(got, expected):
    """max |got - expected|, relative to the largest magnitude in either array."""
    scale = max(np.abs(got).max(initial=0.0), np.abs(expected).max(initial=0.0))
    return 0.0 if scale == 0 else float(np.abs(got - expected).max() / scale)


def central_differences(f, arrays, k, h=1e-4):
    """Gradient of the scalar f(*arrays) with respect to arrays[k], element by element, by the
    fourth-order central difference (8 [f(x+h) - f(x-h)] - [f(x+2h) - f(x-2h)]) / 12h: its
    rounding error is about 1e-12 of f, so small gradient elements are still resolved."""
    def moved(index, step):
        arrays_moved = list(arrays)
        arrays_moved[k] = arrays[k].copy()
        arrays_moved[k][index] += step
        return f(*arrays_moved)

    grad = np.zeros_like(arrays[k])
    for i in np.ndindex(arrays[k].shape):
        near = moved(i, h) - moved(i, -h)
        far = moved(i, 2 * h) - moved(i, -2 * h)
        grad[i] = (8 * near - far) / (12 * h)
    return grad


def autograd_gradients(f, arrays, dout):
    """Gradients of sum(f(*tensors) * dout) with respect to every array, by autograd."""
    tensors = [cr.tensor(a, requires_grad=True) for a in arrays]
    out = f(*tensors)
    return [g.detach().numpy() for g in cr.grad(out, tensors, grad_outputs=dout)]


def assert_backward_agrees(forward, backward, tensor_forward, arrays, rng):
    """backward's gradients against autograd of tensor_forward and central differences of
    sum(forward(...)[0] * dout), every one to relative error below TOL."""
    out, cache = forward(*arrays)
    dout = rng.standard_normal(np.shape(out))
    grads = backward(dout.copy(), cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    forward_again = tensor_forward(*[cr.tensor(a) for a in arrays])
    np.testing.assert_allclose(forward_again.detach().numpy(), out, rtol=1e-12, atol=1e-12)
    auto = autograd_gradients(tensor_forward, arrays, dout)
    for k, (mine, theirs) in enumerate(zip(grads, auto)):
        numeric = central_differences(lambda *a: np.sum(forward(*a)[0] * dout), arrays, k)
        assert mine.shape == arrays[k].shape
        assert relative_error(mine, theirs) < TOL, f"input {k} vs autograd"
        assert relative_error(mine, numeric) < TOL, f"input {k} vs central differences"


def assert_loss_agrees(loss_fn, tensor_loss, x, y):
    loss, dx = loss_fn(x, y)
    t = cr.tensor(x, requires_grad=True)
    reference = tensor_loss(t, y)
    reference.backward()
    numeric = central_differences(lambda a: loss_fn(a, y)[0], [x], 0)
    assert loss == pytest.approx(reference.item(), rel=1e-12)
    assert relative_error(dx, t.grad.detach().numpy()) < TOL
    assert relative_error(dx, numeric) < TOL


# ---------------------------------------------------------------- layers

@FEW
@given(seed=seeds, n=sizes, feature_shape=st.lists(sizes, min_size=1, max_size=3), m=sizes)
def test_affine_with_an_n_d1_dk_input(seed, n, feature_shape, m):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *feature_shape))
    w = rng.standard_normal((int(np.prod(feature_shape)), m))
    b = rng.standard_normal(m)
    # affine_forward speaks only operators and methods that Tensors share with arrays, so it
    # runs on Tensors as it is.
    assert_backward_agrees(manual.affine_forward, manual.affine_backward,
                           lambda *a: manual.affine_forward(*a)[0], [x, w, b], rng)


ELEMENTWISE = [
    ("relu", manual.relu_forward, manual.relu_backward, cr.relu),
    ("sigmoid", manual.sigmoid_forward, manual.sigmoid_backward, cr.sigmoid),
    ("tanh", manual.tanh_forward, manual.tanh_backward, cr.tanh),
]


@pytest.mark.parametrize("name, forward, backward, reference", ELEMENTWISE,
                         ids=[case[0] for case in ELEMENTWISE])
@FEW
@given(seed=seeds, shape=st.lists(sizes, min_size=1, max_size=3))
def test_elementwise_layers(name, forward, backward, reference, seed, shape):
    rng = np.random.default_rng(seed)
    # Within |x| <= 3: beyond it tanh and sigmoid saturate, their derivatives fall below 1e-2,
    # and float64 central differences (rounding ~1e-10) can no longer resolve them to 1e-7.
    x = rng.uniform(-3, 3, size=shape)
    assume(np.abs(x).min() > KINK)
    assert_backward_agrees(forward, backward, reference, [x], rng)


@FEW
@given(seed=seeds, n=sizes, d=sizes, m=sizes)
def test_affine_relu(seed, n, d, m):
    rng = np.random.default_rng(seed)
    x, w, b = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m)
    assume(np.abs(x @ w + b).min() > KINK)

    def tensor_forward(x, w, b):
        return cr.relu(x @ w + b)

    assert_backward_agrees(manual.affine_relu_forward, manual.affine_relu_backward,
                           tensor_forward, [x, w, b], rng)


@FEW
@given(seed=seeds, shape=st.lists(sizes, min_size=1, max_size=3),
       p=st.sampled_from([0.0, 0.25, 0.5, 0.9]), mode=st.sampled_from(["train", "test"]))
def test_dropout(seed, shape, p, mode):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    _, mask = manual.dropout_forward(x, p, mode, seed=seed)

    def forward(x):
        return manual.dropout_forward(x, p, mode, seed=seed)  # the same mask every call

    def tensor_forward(x):
        return x if mask is None else x * mask

    assert_backward_agrees(forward, manual.dropout_backward, tensor_forward, [x], rng)


# ---------------------------------------------------------------- losses

@FEW
@given(seed=seeds, n=sizes, c=st.integers(2, 5))
def test_softmax_loss(seed, n, c):
    rng = np.random.default_rng(seed)
    # Moderate scores: a near-certain softmax has gradients too small for central differences.
    x, y = rng.standard_normal((n, c)), rng.integers(0, c, size=n)
    assert_loss_agrees(manual.softmax_loss, F.cross_entropy, x, y)


@FEW
@given(seed=seeds, n=sizes, c=st.integers(2, 5))
def test_svm_loss(seed, n, c):
    rng = np.random.default_rng(seed)
    x, y = 3 * rng.standard_normal((n, c)), rng.integers(0, c, size=n)
    margins = x - x[np.arange(n), y][:, None] + 1
    margins[np.arange(n), y] = 1.0  # the correct class's own margin is not a term
    assume(np.abs(margins).min() > KINK)
    assert_loss_agrees(manual.svm_loss, F.multiclass_hinge_loss, x, y)


@FEW
@given(seed=seeds, shapes=st.lists(st.lists(sizes, min_size=1, max_size=2), min_size=1,
                                   max_size=3),
       reg=st.one_of(st.just(0.0), st.floats(1e-3, 2.0)))  # no subnormal reg: lam/2 underflows
def test_l2_regularization(seed, shapes, reg):
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal(shape) for shape in shapes]
    loss, grads = manual.l2_regularization(weights, reg)
    tensors = [cr.tensor(w, requires_grad=True) for w in weights]
    reference = nn.l2_penalty(tensors, reg)
    assert loss == pytest.approx(reference.item(), rel=1e-12, abs=1e-300)
    reference.backward()
    for k, (g, t) in enumerate(zip(grads, tensors)):
        auto = t.grad.detach().numpy()
        numeric = central_differences(lambda *ws: manual.l2_regularization(list(ws), reg)[0],
                                      weights, k)
        assert relative_error(g, auto) < TOL
        assert relative_error(g, numeric) < TOL


# ---------------------------------------------------------------- the textbook MLP vs nn

ACTIVATIONS = {"relu": F.relu, "sigmoid": F.sigmoid, "tanh": F.tanh}
LOSSES = {"softmax": F.cross_entropy, "svm": F.multiclass_hinge_loss}


def linear_copy(weight, bias):
    """nn.Linear holding the textbook's W (out, in), which is already PyTorch's layout."""
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features, bias=bias is not None, dtype="float64")
    with cr.no_grad():  # a parameter is written, not computed (PyTorch refuses it otherwise)
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer


def nn_gradients(model, x, y):
    """z, h, o, L, s, J and the gradients of J, from chainrule.nn and autograd, in the
    textbook's column layout (examples as columns, or vectors for one example)."""
    fc1 = linear_copy(model.W1, model.b1)
    fc2 = linear_copy(model.W2, model.b2)
    single = x.ndim == 1
    rows = cr.tensor(x[None, :] if single else x.T)  # nn takes examples as ROWS
    z = fc1(rows)
    h = ACTIVATIONS[model.activation](z)
    o = fc2(h)
    L = LOSSES[model.loss](o, np.reshape(y, -1))
    # The textbook's penalty covers the weights only, never the biases.
    s = nn.l2_penalty([fc1.weight, fc2.weight], model.lam)
    J = L + s
    wanted = {"dJ/do": o, "dJ/dW2": fc2.weight, "dJ/dh": h, "dJ/dz": z, "dJ/dW1": fc1.weight}
    if model.b2 is not None:
        wanted["dJ/db2"] = fc2.bias
    if model.b1 is not None:
        wanted["dJ/db1"] = fc1.bias
    grads = dict(zip(wanted, (g.detach().numpy() for g in cr.grad(J, list(wanted.values())))))
    values = {"z": z.detach().numpy(), "h": h.detach().numpy(), "o": o.detach().numpy(), "L": L.detach().numpy(), "s": s.detach().numpy(), "J": J.detach().numpy()}
    for name in ("z", "h", "o", "dJ/do", "dJ/dh", "dJ/dz"):
        table = values if name in values else grads
        table[name] = table[name][0] if single else table[name].T
    return values, grads


def random_mlp(rng, d, h, q, activation, loss, bias, lam):
    W1, W2 = rng.standard_normal((h, d)), rng.standard_normal((q, h))
    b1 = rng.standard_normal(h) if bias else None
    b2 = rng.standard_normal(q) if bias else None
    return manual.TwoLayerMLP(W1, W2, b1, b2, activation=activation, lam=lam, loss=loss)


def off_the_kinks(model, forward, y):
    z, o = np.atleast_2d(forward["z"].T).T, np.atleast_2d(forward["o"].T).T
    if model.activation == "relu" and np.abs(z).min() <= KINK:
        return False
    if model.loss == "svm":
        y = np.reshape(y, -1)
        columns = np.arange(o.shape[1])
        margins = o - o[y, columns] + 1
        margins[y, columns] = 1.0
        return np.abs(margins).min() > KINK
    return True


def assert_mlp_matches_nn(model, x, y):
    forward = model.forward(x, y)
    assume(off_the_kinks(model, forward, y))
    manual_grads = model.backward(forward)
    values, grads = nn_gradients(model, x, y)
    for name, value in values.items():
        np.testing.assert_allclose(forward[name], value, rtol=1e-12, atol=1e-12, err_msg=name)
    assert set(manual_grads) == set(grads)
    for name, g in manual_grads.items():
        assert g.shape == grads[name].shape, name
        assert relative_error(g, grads[name]) < TOL, name


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("single", [False, True], ids=["batch", "single"])
@settings(max_examples=6, deadline=None)
@given(seed=seeds, d=sizes, h=sizes, q=st.integers(2, 4), n=st.integers(2, 4),
       bias=st.booleans(), lam=st.sampled_from([0.0, 0.1, 1.5]))
def test_two_layer_mlp_matches_nn_and_autograd(activation, loss, single, seed, d, h, q, n,
                                               bias, lam):
    rng = np.random.default_rng(seed)
    model = random_mlp(rng, d, h, q, activation, loss, bias, lam)
    if single:
        x, y = rng.standard_normal(d), int(rng.integers(0, q))
    else:
        x, y = rng.standard_normal((d, n)), rng.integers(0, q, size=n)
    assert_mlp_matches_nn(model, x, y)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_two_layer_mlp_weight_gradients_match_central_differences(activation):
    rng = np.random.default_rng(5)
    model = random_mlp(rng, 4, 5, 3, activation, "softmax", True, 0.1)
    x, y = rng.standard_normal((4, 2)), np.array([2, 0])
    grads = model.backward(model.forward(x, y))

    def objective(W1, b1, W2, b2):
        return manual.TwoLayerMLP(W1, W2, b1, b2, activation=activation, lam=0.1,
                                  loss="softmax").forward(x, y)["J"]

    params = [model.W1, model.b1, model.W2, model.b2]
    for k, name in enumerate(["dJ/dW1", "dJ/db1", "dJ/dW2", "dJ/db2"]):
        numeric = central_differences(objective, params, k)
        assert relative_error(grads[name], numeric) < TOL, name
