"""check_backward: deliberately broken layers get the right diagnosis, and every correct layer of
chainrule.manual passes, with relative errors below 1e-7 in float64."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
from chainrule import manual
from chainrule.check_backward import BackwardReport, check_backward

TOL = 1e-7


def away_from_zero(rng, shape, gap=0.1):
    """Normal samples pushed at least ``gap`` away from 0, where relu and hinges have kinks."""
    a = rng.standard_normal(shape)
    return a + gap * np.sign(a)


def affine_inputs(x_shape=(4, 2, 3), m=5, seed=0):
    rng = np.random.default_rng(seed)
    d = int(np.prod(x_shape[1:]))
    return [rng.standard_normal(x_shape), rng.standard_normal((d, m)), rng.standard_normal(m)]


def scores_and_labels(n=4, c=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, c)), rng.integers(0, c, size=n)]


# ---------------------------------------------------------------- broken layers

def affine_backward_without_batch_sum(dout, cache):
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, dout  # should be dout.sum(axis=0)


def affine_backward_with_mean_over_batch(dout, cache):
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)


def affine_backward_with_one_row(dout, cache):
    dx, dw, _ = manual.affine_backward(dout, cache)
    return dx, dw, dout[0]


def affine_backward_forgetting_a_transpose(dout, cache):
    x, w = cache
    dx, _, db = manual.affine_backward(dout, cache)
    return dx, dout.T @ x.reshape(x.shape[0], -1), db  # should be x2.T @ dout


def affine_backward_without_reshape(dout, cache):
    x, w = cache
    _, dw, db = manual.affine_backward(dout, cache)
    return dout @ w.T, dw, db  # should be reshaped back to x.shape


def relu_backward_masked_by_dout(dout, cache):
    return dout * (dout > 0)  # the mask must come from x


def relu_backward_in_place(dout, cache):
    # Right values, but written into the caller's dout.
    x = cache
    dx = dout
    dx[x <= 0] = 0
    return dx


def sigmoid_backward_twice_too_big(dout, cache):
    s = cache
    return 2 * dout * s * (1 - s)


def tanh_backward_with_flipped_sign(dout, cache):
    out = cache
    return dout * (out**2 - 1)


def softmax_loss_not_divided_by_n(x, y):
    loss, dx = manual.softmax_loss(x, y)
    return loss, dx * x.shape[0]


def affine_backward_with_wrong_dw_element(dout, cache):
    dx, dw, db = manual.affine_backward(dout, cache)
    dw = dw.copy()
    dw[1, 2] += 0.5
    return dx, dw, db


def check_affine(backward, **kwargs):
    return check_backward(manual.affine_forward, backward, affine_inputs(**kwargs))


def test_db_equal_to_dout_is_a_missing_batch_sum():
    report = check_affine(affine_backward_without_batch_sum)
    assert not report.passed
    assert report["dx"].passed and report["dw"].passed
    row = report["db"]
    assert row.diagnosis.kind == "missing batch sum"
    assert "got shape (4, 5), but the input has shape (5,)" in row.diagnosis.message
    assert "dout.sum(axis=0)" in row.diagnosis.message


def test_db_averaged_over_the_batch_is_a_missing_batch_sum():
    row = check_affine(affine_backward_with_mean_over_batch)["db"]
    assert row.diagnosis.kind == "missing batch sum"
    assert row.diagnosis.factor == pytest.approx(1 / 4)


def test_db_from_a_single_example_is_a_missing_batch_sum():
    row = check_affine(affine_backward_with_one_row)["db"]
    assert row.diagnosis.kind == "missing batch sum"
    assert "dout[0]" in row.diagnosis.message


def test_forgotten_transpose_with_a_non_square_weight_is_a_wrong_shape():
    row = check_affine(affine_backward_forgetting_a_transpose, x_shape=(4, 2, 3), m=5)["dw"]
    assert row.diagnosis.kind == "wrong shape"
    assert row.got_shape == (5, 6) and row.shape == (6, 5)
    assert "got shape (5, 6), but the input has shape (6, 5)" in row.diagnosis.message
    assert "transpose is the right gradient" in row.diagnosis.message


def test_forgotten_transpose_with_a_square_weight_is_transposed():
    report = check_affine(affine_backward_forgetting_a_transpose, x_shape=(4, 2, 2), m=4)
    row = report["dw"]
    assert row.shape == row.got_shape == (4, 4)
    assert row.diagnosis.kind == "transposed"
    assert row.numeric_error > 1e-3
    assert report["dx"].passed and report["db"].passed


def test_dx_without_the_reshape_is_a_wrong_shape_with_a_reshape_hint():
    row = check_affine(affine_backward_without_reshape, x_shape=(4, 2, 3))["dx"]
    assert row.diagnosis.kind == "wrong shape"
    assert "got shape (4, 6), but the input has shape (4, 2, 3)" in row.diagnosis.message
    assert "reshape it back" in row.diagnosis.message


def test_relu_mask_taken_from_dout_is_diagnosed():
    x = away_from_zero(np.random.default_rng(1), (6, 5))
    report = check_backward(manual.relu_forward, relu_backward_masked_by_dout, [x])
    assert report["dx"].diagnosis.kind == "mask from dout"
    assert "dx = dout * (x > 0)" in report["dx"].diagnosis.message


def test_backward_that_writes_into_dout_fails_with_a_diagnosis():
    x = away_from_zero(np.random.default_rng(1), (6, 5))
    report = check_backward(manual.relu_forward, relu_backward_in_place, [x])
    assert not report.passed
    assert report["dx"].passed  # the values are right; writing into dout is the mistake
    [(kind, message)] = report.failures
    assert kind == "wrote into dout"
    assert f"changed {int((x <= 0).sum())} of 30 elements of dout" in message
    assert "dx = dout * (x > 0)" in message
    text = str(report)
    assert "FAILED (wrote into dout)" in text and "WRONG: wrote into dout" in text
    assert "wrote into dout" in report._repr_html_()


def test_a_backward_that_returns_dout_itself_unchanged_passes():
    def identity_forward(x):
        return x.copy(), None

    def identity_backward(dout, cache):
        return dout  # the same array, not written into

    x = np.random.default_rng(2).normal(size=(3, 2))
    assert check_backward(identity_forward, identity_backward, [x]).passed


def test_a_correct_relu_passes_at_exact_kinks():
    x = away_from_zero(np.random.default_rng(4), (3, 4))
    x[1, 1] = x[2, 0] = 0.0
    for autograd_forward in (None, cr.relu):
        report = check_backward(manual.relu_forward, manual.relu_backward, [x],
                                autograd_forward=autograd_forward)
        assert report.passed, str(report)
        assert any("kink" in note and "(1, 1)" in note for note in report.notes)


def test_the_other_one_sided_slope_is_a_valid_subgradient_too():
    def relu_backward_one_at_zero(dout, cache):
        return dout * (cache >= 0)  # 1 at x = 0: the slope from the right

    x = away_from_zero(np.random.default_rng(5), (2, 3))
    x[0, 0] = 0.0
    assert check_backward(manual.relu_forward, relu_backward_one_at_zero, [x]).passed


def test_a_value_outside_the_slopes_at_a_kink_still_fails():
    def relu_backward_two_at_zero(dout, cache):
        return dout * ((cache > 0) + 2.0 * (cache == 0))

    x = away_from_zero(np.random.default_rng(6), (2, 3))
    x[1, 2] = 0.0
    report = check_backward(manual.relu_forward, relu_backward_two_at_zero, [x])
    assert not report.passed
    assert "kink" in report["dx"].diagnosis.message


def test_sigmoid_off_by_a_factor_reports_the_factor():
    x = np.random.default_rng(2).standard_normal((3, 4))
    row = check_backward(manual.sigmoid_forward, sigmoid_backward_twice_too_big, [x])["dx"]
    assert row.diagnosis.kind == "constant factor"
    assert row.diagnosis.factor == pytest.approx(2)
    assert "got = 2 x the right gradient" in row.diagnosis.message


def test_tanh_with_the_wrong_sign_is_diagnosed():
    x = np.random.default_rng(3).standard_normal((3, 4))
    row = check_backward(manual.tanh_forward, tanh_backward_with_flipped_sign, [x])["dx"]
    assert row.diagnosis.kind == "wrong sign"


def test_softmax_loss_not_divided_by_n_is_a_factor_of_n():
    report = check_backward(softmax_loss_not_divided_by_n, None, scores_and_labels(n=4))
    row = report["dx"]
    assert row.diagnosis.kind == "constant factor"
    assert row.diagnosis.factor == pytest.approx(4)
    assert "N = 4, the batch size" in row.diagnosis.message


def test_other_mistakes_name_the_worst_element():
    row = check_affine(affine_backward_with_wrong_dw_element)["dw"]
    assert row.diagnosis.kind == "wrong values"
    assert "1 of 30 elements" in row.diagnosis.message
    assert "index (1, 2)" in row.diagnosis.message


def test_a_backward_right_to_only_1e_6_is_imprecise_not_wrong():
    noise = np.random.default_rng(9).standard_normal((3, 4))

    def backward(dout, cache):
        return manual.tanh_backward(dout, cache) * (1 + 3e-7 * noise)

    x = np.random.default_rng(0).standard_normal((3, 4))
    row = check_backward(manual.tanh_forward, backward, [x])["dx"]
    assert not row.passed and row.diagnosis.kind == "imprecise"
    assert "float32" in row.diagnosis.message


def test_nan_in_a_gradient_is_not_finite():
    def backward(dout, cache):
        return dout * np.nan

    x = np.random.default_rng(0).standard_normal((2, 3))
    row = check_backward(manual.tanh_forward, backward, [x])["dx"]
    assert not row.passed and row.diagnosis.kind == "not finite"


def test_missing_gradient_is_reported():
    def backward(dout, cache):
        dx, dw, _ = manual.affine_backward(dout, cache)
        return dx, dw, None

    assert check_affine(backward)["db"].diagnosis.kind == "missing"


def test_a_wrong_gradient_at_a_kink_gets_a_note():
    def relu_backward_sign_flipped_at_zero(dout, cache):
        return dout * (cache > 0) - dout * (cache == 0)

    x = away_from_zero(np.random.default_rng(4), (3, 4))
    x[1, 1] = 0.0
    report = check_backward(manual.relu_forward, relu_backward_sign_flipped_at_zero, [x],
                            autograd_forward=cr.relu)
    row = report["dx"]
    assert not row.passed and row.diagnosis.kind == "wrong values"
    assert "kink" in row.diagnosis.message


# ---------------------------------------------------------------- the report

def test_report_table_lists_every_gradient():
    report = check_affine(affine_backward_without_batch_sum)
    text = str(report)
    assert text.splitlines()[0] == ("check_backward: affine_forward / "
                                    "affine_backward_without_batch_sum: FAILED (1 of 3 wrong)")
    for name in ("dx", "dw", "db", "vs numeric", "vs autograd", "WRONG: missing batch sum"):
        assert name in text
    assert isinstance(report, BackwardReport)
    assert "FAILED" in repr(report)
    with pytest.raises(KeyError, match="dx"):
        report["dz"]


def test_names_can_be_given():
    report = check_backward(manual.affine_forward, manual.affine_backward, affine_inputs(),
                            names=["dX", "dW", "db"])
    assert [row.name for row in report.rows] == ["dX", "dW", "db"]


def test_autograd_is_used_where_the_forward_runs_on_tensors():
    report = check_affine(manual.affine_backward)
    assert report.autograd_note is None
    assert all(row.autograd_error is not None and row.autograd_error < 1e-12
               for row in report.rows)


def _relu_forward_on_arrays_only(x):
    x = np.asarray(x)  # leaves the graph: NumPy's protocol refuses a tensor that requires grad
    return np.maximum(x, 0), x


def test_autograd_falls_back_gracefully_and_says_why():
    x = away_from_zero(np.random.default_rng(0), (3, 4))
    report = check_backward(_relu_forward_on_arrays_only, manual.relu_backward, [x])
    assert report.passed
    assert report["dx"].autograd_error is None
    assert "autograd_forward=" in report.autograd_note
    assert "autograd: not used" in str(report)
    raising = check_backward(manual.l2_regularization, None, [[x], 0.1])
    assert raising.passed and "autograd_forward=" in raising.autograd_note


def test_autograd_forward_supplies_the_autograd_column():
    x = away_from_zero(np.random.default_rng(0), (3, 4))
    report = check_backward(manual.relu_forward, manual.relu_backward, [x],
                            autograd_forward=cr.relu)
    assert report.autograd_note is None and report["dx"].autograd_error == 0.0


def test_numpy_functions_in_a_forward_keep_the_graph_so_autograd_checks_it_too():
    def forward(x):
        return x * np.tanh(x), x  # np.tanh on a Tensor runs chainrule's tanh (NumPy's protocol)

    def backward(dout, x):
        return dout * (np.tanh(x) + x * (1 - np.tanh(x) ** 2))

    x = np.random.default_rng(0).standard_normal((3, 4))
    report = check_backward(forward, backward, [x])
    assert report.passed and report["dx"].autograd_error < 1e-12


def test_callers_arrays_are_left_alone_and_float32_is_checked_in_float64():
    inputs = [a.astype(np.float32) for a in affine_inputs()]
    before = [a.copy() for a in inputs]
    report = check_affine(manual.affine_backward)
    assert report.passed
    report = check_backward(manual.affine_forward, manual.affine_backward, inputs)
    assert report.passed and report["dw"].got.dtype == np.float64
    for a, b in zip(inputs, before):
        np.testing.assert_array_equal(a, b)


def test_dout_can_be_given():
    inputs = affine_inputs()
    dout = np.ones((4, 5))
    row = check_backward(manual.affine_forward, affine_backward_without_batch_sum, inputs,
                         dout=dout)["db"]
    assert row.diagnosis.kind == "missing batch sum"


@pytest.mark.parametrize("call, message", [
    (lambda: check_affine(lambda dout, cache: manual.affine_backward(dout, cache)[:2]),
     r"returned 2 gradient\(s\), but the inputs have 3 .* should return dx, dw, db"),
    (lambda: check_backward(manual.affine_forward, manual.affine_backward, affine_inputs(),
                            dout=np.ones((2, 2))), "dout has shape"),
    (lambda: check_backward(manual.softmax_loss, None, scores_and_labels(), dout=1.0),
     "dout is for layers"),
    (lambda: check_backward(manual.tanh_forward, None, [np.ones(3)]), "must be a scalar"),
    (lambda: check_backward(manual.tanh_forward, manual.tanh_backward, [np.ones(3)],
                            kind="both"), "kind must be one of"),
    (lambda: check_backward(manual.softmax_loss, manual.relu_backward, scores_and_labels(),
                            kind="loss"), "pass backward=None"),
    (lambda: check_backward(manual.svm_loss, None, [np.arange(3), np.arange(3)]),
     "none of the inputs is a floating-point"),
    (lambda: check_backward(manual.affine_forward, manual.affine_backward, affine_inputs(),
                            names=["dx"]), "1 names for 3 gradients"),
])
def test_misuse_is_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_forward_must_return_a_pair():
    with pytest.raises(TypeError, match=r"pair \(out, cache\)"):
        check_backward(np.tanh, manual.tanh_backward, [np.ones(3)])


# ---------------------------------------------------------------- every correct manual layer

def _dropout_inputs(rng, mode):
    return [rng.standard_normal((4, 5)), 0.3, mode, 7]


LAYER_INPUTS = {
    "affine": [lambda rng: [rng.standard_normal((3, 2, 2)), rng.standard_normal((4, 5)),
                            rng.standard_normal(5)]],
    "relu": [lambda rng: [away_from_zero(rng, (4, 5))]],
    "sigmoid": [lambda rng: [rng.standard_normal((4, 5))]],
    "tanh": [lambda rng: [rng.standard_normal((4, 5))]],
    # Scale the weights down and give b a margin so no pre-activation lands near relu's kink.
    "affine_relu": [lambda rng: [rng.standard_normal((3, 4)), 0.01 * rng.standard_normal((4, 5)),
                                 away_from_zero(rng, 5, gap=0.5)]],
    "dropout": [lambda rng: _dropout_inputs(rng, "train"),
                lambda rng: _dropout_inputs(rng, "test")],
    # cs231n assignment 2 (the naive conv and pool layers are checked in test_manual_cnn.py)
    "batchnorm": [lambda rng: [rng.standard_normal((5, 3)) * 2 + 1, rng.standard_normal(3),
                               rng.standard_normal(3), {"mode": "train"}]],
    "spatial_batchnorm": [lambda rng: [rng.standard_normal((2, 3, 2, 2)), rng.standard_normal(3),
                                       rng.standard_normal(3), {"mode": "train"}]],
    "layernorm": [lambda rng: [rng.standard_normal((3, 5)), rng.standard_normal(5),
                               rng.standard_normal(5), {}]],
    "spatial_groupnorm": [lambda rng: [rng.standard_normal((2, 4, 2, 2)),
                                       rng.standard_normal((1, 4, 1, 1)),
                                       rng.standard_normal((1, 4, 1, 1)), 2, {}]],
    "conv_relu": [lambda rng: [rng.standard_normal((2, 2, 4, 4)),
                               0.1 * rng.standard_normal((3, 2, 3, 3)),
                               away_from_zero(rng, 3, gap=0.5), {"stride": 1, "pad": 1}]],
    "conv_relu_pool": [lambda rng: [rng.standard_normal((1, 2, 4, 4)),
                                    0.1 * rng.standard_normal((2, 2, 3, 3)),
                                    away_from_zero(rng, 2, gap=0.5), {"stride": 1, "pad": 1},
                                    {"pool_height": 2, "pool_width": 2, "stride": 2}]],
    # backpropagation through time and the backprop-ninja layers (tests/test_manual_rnn.py)
    "rnn_step": [lambda rng: [rng.standard_normal((2, 3)), rng.standard_normal((2, 4)),
                              0.5 * rng.standard_normal((3, 4)), 0.5 * rng.standard_normal((4, 4)),
                              rng.standard_normal(4)]],
    "rnn": [lambda rng: [rng.standard_normal((2, 3, 2)), rng.standard_normal((2, 3)),
                         0.5 * rng.standard_normal((2, 3)), 0.5 * rng.standard_normal((3, 3)),
                         rng.standard_normal(3)]],
    "temporal_affine": [lambda rng: [rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5)),
                                     rng.standard_normal(5)]],
    "linear": [lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((4, 2)),
                            rng.standard_normal(2)]],
    "embedding": [lambda rng: [np.array([[0, 3, 3], [1, 3, 0]]), rng.standard_normal((4, 2))]],
    "batchnorm1d": [lambda rng: [rng.standard_normal((5, 3)) * 2 + 1,
                                 rng.standard_normal((1, 3)), rng.standard_normal((1, 3))]],
    "cross_entropy": [lambda rng: [rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)]],
}


def _svm_inputs(rng):
    x, y = rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)
    margins = x - x[np.arange(4), y][:, None] + 1
    x[np.abs(margins) < 0.05] += 0.1  # off the hinge's kink (never moves x_y: its margin is 1)
    return [x, y]


LOSS_INPUTS = {
    "svm_loss": [_svm_inputs],
    "softmax_loss": [lambda rng: [rng.standard_normal((4, 5)), rng.integers(0, 5, size=4)]],
    "l2_regularization": [
        lambda rng: [[rng.standard_normal((3, 4)), rng.standard_normal((2, 3))], 0.1],
        lambda rng: [{"W1": rng.standard_normal((3, 4)), "W2": rng.standard_normal(2)}, 0.5]],
    "temporal_softmax_loss": [lambda rng: [rng.standard_normal((2, 3, 4)),
                                           rng.integers(0, 4, size=(2, 3))]],
    "rnn_loss": [lambda rng: [rng.standard_normal((2, 3, 2)), rng.integers(0, 3, size=(2, 3)),
                              rng.standard_normal((2, 3)), 0.5 * rng.standard_normal((2, 3)),
                              0.5 * rng.standard_normal((3, 3)), rng.standard_normal(3),
                              rng.standard_normal((3, 3)), rng.standard_normal(3)]],
}


def manual_layer_names():
    forwards = {n[:-len("_forward")] for n in manual.__all__ if n.endswith("_forward")}
    backwards = {n[:-len("_backward")] for n in manual.__all__ if n.endswith("_backward")}
    return forwards, backwards


def test_every_manual_layer_and_loss_has_a_case():
    forwards, backwards = manual_layer_names()
    assert forwards == backwards
    assert forwards == set(LAYER_INPUTS)
    losses = {n for n in manual.__all__ if n.endswith("_loss") or n.endswith("regularization")}
    assert losses == set(LOSS_INPUTS)


def assert_errors_small(report):
    assert report.passed, str(report)
    for row in report.rows:
        assert row.numeric_error < TOL, str(report)
        assert row.autograd_error is None or row.autograd_error < TOL, str(report)


@pytest.mark.parametrize("name, case", [(n, c) for n, cs in LAYER_INPUTS.items()
                                        for c in range(len(cs))])
def test_every_correct_manual_layer_passes(name, case):
    inputs = LAYER_INPUTS[name][case](np.random.default_rng(case))
    forward = getattr(manual, f"{name}_forward")
    backward = getattr(manual, f"{name}_backward")
    assert_errors_small(check_backward(forward, backward, inputs))


@pytest.mark.parametrize("name, case", [(n, c) for n, cs in LOSS_INPUTS.items()
                                        for c in range(len(cs))])
def test_every_correct_manual_loss_passes(name, case):
    inputs = LOSS_INPUTS[name][case](np.random.default_rng(case))
    assert_errors_small(check_backward(getattr(manual, name), None, inputs))


def test_every_correct_manual_layer_passes_at_several_seeds():
    for seed in range(5):
        for name, cases in LAYER_INPUTS.items():
            for make in cases:
                inputs = make(np.random.default_rng(100 + seed))
                forward = getattr(manual, f"{name}_forward")
                backward = getattr(manual, f"{name}_backward")
                assert_errors_small(check_backward(forward, backward, inputs, seed=seed))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), m=st.integers(1, 4),
       feature_shape=st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_correct_affine_passes_at_every_shape(seed, n, m, feature_shape):
    # Shapes such as m = 1 make db a single sum that can cancel to nearly 0: the numeric
    # gradient must still resolve it to 1e-7.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, *feature_shape))
    w = rng.standard_normal((int(np.prod(feature_shape)), m))
    inputs = [x, w, rng.standard_normal(m)]
    assert_errors_small(check_backward(manual.affine_forward, manual.affine_backward, inputs,
                                       seed=seed))
