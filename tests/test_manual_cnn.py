"""cs231n assignment 2 by hand: each layer's backward against numeric gradients (check_backward,
as the assignment checks them), and against the autograd ops wherever the two conventions
agree (docs/cnn.md)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.manual as manual
from chainrule.nn import functional as F

rng = np.random.default_rng(0)


def _check(forward, backward, inputs, names):
    report = cr.check_backward(forward, backward, inputs, names=names)
    assert report.passed, str(report)


@pytest.mark.parametrize("stride, pad", [(1, 1), (2, 1), (1, 0), (2, 2)])
def test_conv_naive_is_correct_and_equals_autograd(stride, pad):
    x, w, b = rng.normal(size=(2, 3, 5, 5)), rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    param = {"stride": stride, "pad": pad}
    _check(lambda x, w, b: manual.conv_forward_naive(x, w, b, param),
           manual.conv_backward_naive, [x, w, b], ["x", "w", "b"])
    out, cache = manual.conv_forward_naive(x, w, b, param)
    dout = rng.normal(size=out.shape)
    dx, dw, db = manual.conv_backward_naive(dout, cache)
    tx, tw, tb = (cr.tensor(a, requires_grad=True) for a in (x, w, b))
    y = F.conv2d(tx, tw, tb, stride=stride, padding=pad)
    np.testing.assert_allclose(y.detach().numpy(), out, rtol=1e-12, atol=1e-12)
    (y * cr.tensor(dout)).sum().backward()
    for ours, autograd in ((dx, tx), (dw, tw), (db, tb)):
        np.testing.assert_allclose(ours, autograd.grad.detach().numpy(), rtol=1e-10, atol=1e-10)


def test_conv_naive_refuses_a_stride_that_does_not_tile():
    with pytest.raises(ValueError, match="does not tile"):
        manual.conv_forward_naive(np.zeros((1, 1, 6, 6)), np.zeros((1, 1, 3, 3)), np.zeros(1),
                                  {"stride": 2, "pad": 0})


def test_max_pool_naive_is_correct_and_equals_autograd():
    x = rng.normal(size=(2, 3, 4, 7))
    param = {"pool_height": 2, "pool_width": 3, "stride": 2}
    out, cache = manual.max_pool_forward_naive(x, param)
    report = cr.check_backward(lambda x: manual.max_pool_forward_naive(x, param),
                               manual.max_pool_backward_naive, [x])
    assert report.passed, str(report)
    dout = rng.normal(size=out.shape)
    tx = cr.tensor(x, requires_grad=True)
    y = F.max_pool2d(tx, (2, 3), stride=2)
    np.testing.assert_array_equal(y.detach().numpy(), out)
    (y * cr.tensor(dout)).sum().backward()
    np.testing.assert_allclose(manual.max_pool_backward_naive(dout, cache), tx.grad.detach().numpy())


def test_max_pool_naive_sends_a_tie_to_the_first_maximum_as_autograd_does():
    x = np.ones((1, 1, 2, 2))
    out, cache = manual.max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 2,
                                                   "stride": 2})
    dx = manual.max_pool_backward_naive(np.ones_like(out), cache)
    tx = cr.tensor(x, requires_grad=True)
    F.max_pool2d(tx, 2).sum().backward()
    np.testing.assert_array_equal(dx, tx.grad.detach().numpy())
    assert dx.sum() == 1 and dx[0, 0, 0, 0] == 1


def test_batchnorm_backward_both_ways_numeric_and_autograd():
    x = rng.normal(size=(6, 4)) * 2 + 1
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    for backward in (manual.batchnorm_backward, manual.batchnorm_backward_alt):
        _check(lambda x, g, b: manual.batchnorm_forward(x, g, b, {"mode": "train"}), backward,
               [x, gamma, beta], ["x", "gamma", "beta"])
    out, cache = manual.batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dout = rng.normal(size=out.shape)
    first, second = (manual.batchnorm_backward(dout, cache),
                     manual.batchnorm_backward_alt(dout, cache))
    tx, tg, tb = (cr.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    y = F.batch_norm(tx, None, None, tg, tb, training=True)
    np.testing.assert_allclose(y.detach().numpy(), out, rtol=1e-12, atol=1e-12)
    (y * cr.tensor(dout)).sum().backward()
    for a, b, t in zip(first, second, (tx, tg, tb)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a, t.grad.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_batchnorm_running_statistics_follow_cs231n_not_pytorch():
    x = rng.normal(size=(8, 3))
    param = {"mode": "train"}
    manual.batchnorm_forward(x, np.ones(3), np.zeros(3), param)
    # cs231n: running = 0.9 * running + 0.1 * batch, from zeros, with the biased variance.
    np.testing.assert_allclose(param["running_mean"], 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(param["running_var"], 0.1 * x.var(axis=0))
    # PyTorch (autograd): the same 0.1 weight on the new value, but from (0, 1) and unbiased.
    mean, var = cr.zeros(3, dtype="float64"), cr.ones(3, dtype="float64")
    F.batch_norm(cr.tensor(x), mean, var, training=True)
    np.testing.assert_allclose(mean.detach().numpy(), param["running_mean"])
    np.testing.assert_allclose(var.detach().numpy(), 0.9 + 0.1 * x.var(axis=0, ddof=1))
    out, _ = manual.batchnorm_forward(x, np.ones(3), np.zeros(3), dict(param, mode="test"))
    expected = (x - param["running_mean"]) / np.sqrt(param["running_var"] + 1e-5)
    np.testing.assert_allclose(out, expected)


def test_spatial_batchnorm_layernorm_groupnorm_numeric_and_autograd():
    x = rng.normal(size=(2, 4, 3, 3)) * 2
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    _check(lambda x, g, b: manual.spatial_batchnorm_forward(x, g, b, {"mode": "train"}),
           manual.spatial_batchnorm_backward, [x, gamma, beta], ["x", "gamma", "beta"])
    out, _ = manual.spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    expected = F.batch_norm(cr.tensor(x), None, None, cr.tensor(gamma), cr.tensor(beta),
                            training=True)
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)

    rows = rng.normal(size=(3, 5))
    lg, lb = rng.normal(size=5), rng.normal(size=5)
    _check(lambda x, g, b: manual.layernorm_forward(x, g, b, {}), manual.layernorm_backward,
           [rows, lg, lb], ["x", "gamma", "beta"])
    out, _ = manual.layernorm_forward(rows, lg, lb, {})
    expected = F.layer_norm(cr.tensor(rows), (5,), cr.tensor(lg), cr.tensor(lb))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)

    g4, b4 = rng.normal(size=(1, 4, 1, 1)), rng.normal(size=(1, 4, 1, 1))
    _check(lambda x, g, b: manual.spatial_groupnorm_forward(x, g, b, 2, {}),
           manual.spatial_groupnorm_backward, [x, g4, b4], ["x", "gamma", "beta"])
    out, _ = manual.spatial_groupnorm_forward(x, g4, b4, 2, {})
    expected = F.group_norm(cr.tensor(x), 2, cr.tensor(g4.ravel()), cr.tensor(b4.ravel()))
    np.testing.assert_allclose(out, expected.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_sandwich_layers():
    x, w, b = rng.normal(size=(2, 3, 4, 4)), rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2)
    conv = {"stride": 1, "pad": 1}
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    _check(lambda x, w, b: manual.conv_relu_forward(x, w, b, conv), manual.conv_relu_backward,
           [x, w, b], ["x", "w", "b"])
    _check(lambda x, w, b: manual.conv_relu_pool_forward(x, w, b, conv, pool),
           manual.conv_relu_pool_backward, [x, w, b], ["x", "w", "b"])


# -- check_backward names the classic mistakes -----------------------------------------------

def _report(forward, backward, inputs, names):
    report = cr.check_backward(forward, backward, inputs, names=names)
    assert not report.passed
    return str(report)


def test_a_conv_backward_with_the_kernel_not_flipped_is_named():
    x, w, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    param = {"stride": 1, "pad": 1}

    def unflipped(dout, cache):
        dx, dw, db = manual.conv_backward_naive(dout, cache)
        x, w, b, p = cache
        wrong, _, _ = manual.conv_backward_naive(dout, (x, w[:, :, ::-1, ::-1].copy(), b, p))
        return wrong, dw, db
    text = _report(lambda x, w, b: manual.conv_forward_naive(x, w, b, param), unflipped,
                   [x, w, b], ["x", "w", "b"])
    assert "kernel not flipped" in text


def test_a_conv_backward_with_the_padding_not_cropped_is_named():
    x, w, b = rng.normal(size=(2, 2, 4, 4)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    param = {"stride": 1, "pad": 1}

    def uncropped(dout, cache):
        dx, dw, db = manual.conv_backward_naive(dout, cache)
        return np.pad(dx, ((0, 0), (0, 0), (1, 1), (1, 1))), dw, db
    text = _report(lambda x, w, b: manual.conv_forward_naive(x, w, b, param), uncropped,
                   [x, w, b], ["x", "w", "b"])
    assert "padding not cropped" in text and "dxpad[:, :, 1:-1, 1:-1]" in text


@pytest.mark.parametrize("mistake", ["direct", "no mean", "no variance"])
def test_a_batchnorm_backward_missing_its_terms_is_named(mistake):
    x = rng.normal(size=(6, 3)) * 2 + 1
    gamma, beta = rng.normal(size=3), rng.normal(size=3)

    def forgetful(dout, cache):
        xhat, gamma, std = cache
        dx = gamma / std * {"direct": dout,
                            "no mean": dout - xhat * (dout * xhat).mean(axis=0),
                            "no variance": dout - dout.mean(axis=0)}[mistake]
        return dx, (dout * xhat).sum(axis=0), dout.sum(axis=0)
    text = _report(lambda x, g, b: manual.batchnorm_forward(x, g, b, {"mode": "train"}),
                   forgetful, [x, gamma, beta], ["x", "gamma", "beta"])
    assert "batchnorm terms missing" in text
    assert {"direct": "both the path", "no mean": "the batch mean",
            "no variance": "the batch variance"}[mistake] in text


def test_a_max_pool_backward_routed_to_the_wrong_position_is_named():
    x = rng.normal(size=(2, 2, 4, 4))
    param = {"pool_height": 2, "pool_width": 2, "stride": 2}

    def top_left(dout, cache):
        x, _ = cache
        dx = np.zeros_like(x)
        dx[:, :, ::2, ::2] = dout  # always the window's first position
        return dx
    text = _report(lambda x: manual.max_pool_forward_naive(x, param), top_left, [x], ["x"])
    assert "pool routed wrong" in text
