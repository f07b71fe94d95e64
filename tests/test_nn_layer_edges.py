"""Edge cases of the nn layers and their functional forms, each checked against PyTorch:
chainrule gives PyTorch's values, gradients, dtypes and shapes, or raises where PyTorch raises."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16])
def test_embedding_refuses_the_index_dtypes_pytorch_refuses(dtype):
    indices = np.array([[0, 2], [1, 1]], dtype=dtype)
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    with pytest.raises(RuntimeError):
        TF.embedding(torch.tensor(indices), torch.tensor(weight))
    with pytest.raises(TypeError, match="embedding"):
        F.embedding(cr.tensor(indices), cr.tensor(weight))


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_embedding_takes_int32_and_int64_indices(dtype):
    indices = np.array([[0, 2], [1, 1]], dtype=dtype)
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    expected = TF.embedding(torch.tensor(indices), torch.tensor(weight)).numpy()
    np.testing.assert_array_equal(F.embedding(cr.tensor(indices), cr.tensor(weight)).numpy(),
                                  expected)


CONVOLUTIONS = {  # name: (input shape, weight shape); every weight gives 4 output channels
    "conv1d": ((2, 4, 7), (4, 4, 3)),
    "conv2d": ((2, 4, 7, 6), (4, 4, 3, 3)),
    "conv3d": ((2, 4, 5, 6, 5), (4, 4, 3, 3, 3)),
    "conv_transpose1d": ((2, 4, 7), (4, 4, 3)),
    "conv_transpose2d": ((2, 4, 7, 6), (4, 4, 3, 3)),
    "conv_transpose3d": ((2, 4, 5, 6, 5), (4, 4, 3, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
@pytest.mark.parametrize("bias_shape", [(1,), (4, 1), (8,)])
def test_convolutions_refuse_a_bias_that_only_broadcasts(name, bias_shape):
    input_shape, weight_shape = CONVOLUTIONS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in (input_shape, weight_shape, bias_shape)]
    with pytest.raises(RuntimeError, match="bias"):
        getattr(TF, name)(*(torch.tensor(a) for a in arrays))
    with pytest.raises(cr.ShapeError, match="bias"):
        getattr(F, name)(*(cr.tensor(a) for a in arrays))


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
def test_convolutions_add_a_bias_of_the_output_channels(name):
    input_shape, weight_shape = CONVOLUTIONS[name]
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal(s).astype(np.float32)
              for s in (input_shape, weight_shape, (4,))]
    expected = getattr(TF, name)(*(torch.tensor(a) for a in arrays)).numpy()
    got = getattr(F, name)(*(cr.tensor(a) for a in arrays)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_conv_transpose2d_refuses_channels_that_do_not_split_into_groups():
    x = np.ones((1, 4, 5, 5), np.float32)
    weight = np.ones((4, 4, 3, 3), np.float32)
    with pytest.raises(RuntimeError):
        TF.conv_transpose2d(torch.tensor(x), torch.tensor(weight), groups=3)
    with pytest.raises(cr.ShapeError, match="conv_transpose2d.*groups = 3"):
        F.conv_transpose2d(cr.tensor(x), cr.tensor(weight), groups=3)


FLOAT_ONLY_ACTIVATIONS = ["leaky_relu", "elu", "celu", "selu", "softplus", "hardswish",
                          "hardsigmoid", "gelu", "silu", "mish", "logsigmoid"]


@pytest.mark.parametrize("name", FLOAT_ONLY_ACTIVATIONS)
def test_activations_without_an_integer_kernel_refuse_integer_input(name):
    x = np.array([-2, 0, 3], dtype=np.int64)
    with pytest.raises(NotImplementedError):
        getattr(TF, name)(torch.tensor(x))
    with pytest.raises(cr.DtypeError, match="int64"):
        getattr(F, name)(cr.tensor(x))


@pytest.mark.parametrize("call", [
    lambda f, x: f.hardtanh(x, -1.5, 1.5),
    lambda f, x: f.relu6(x),
    lambda f, x: f.threshold(x, 0.5, 2.5),
    lambda f, x: f.threshold(x, 1, -2),
], ids=["hardtanh", "relu6", "threshold-fractional", "threshold"])
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8])
def test_clamping_activations_keep_an_integer_dtype(call, dtype):
    x = np.array([-3, -1, 0, 1, 2, 5, 8], dtype=dtype)
    expected = call(TF, torch.tensor(x)).numpy()
    got = call(F, cr.tensor(x)).numpy()
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", ["hardtanh", "relu6", "threshold"])
def test_clamping_activations_refuse_bool_input(name):
    args = (0.0, 1.0) if name == "threshold" else ()
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(TF, name)(torch.tensor([True, False]), *args)
    with pytest.raises(cr.DtypeError, match="bool"):
        getattr(F, name)(cr.tensor([True, False]), *args)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threshold_keeps_nan_and_passes_its_gradient(dtype):
    x = np.array([np.nan, -1.0, 1.0, 1.5, np.inf, -np.inf], dtype=dtype)
    upstream = np.arange(1, 7, dtype=dtype)
    xt = torch.tensor(x, requires_grad=True)
    TF.threshold(xt, 1.0, -2.0).backward(torch.tensor(upstream))
    xc = cr.tensor(x, requires_grad=True)
    out = F.threshold(xc, 1.0, -2.0)
    out.backward(cr.tensor(upstream))
    expected = TF.threshold(torch.tensor(x), 1.0, -2.0).numpy()
    np.testing.assert_array_equal(out.detach().numpy(), expected)
    np.testing.assert_array_equal(xc.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.int8, np.bool_])
@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_interpolation_refuses_integers_other_than_uint8(dtype, mode):
    x = np.arange(12).reshape(1, 1, 3, 4).astype(dtype)
    with pytest.raises(NotImplementedError):
        TF.interpolate(torch.tensor(x), scale_factor=2, mode=mode)
    with pytest.raises(cr.DtypeError, match="interpolate"):
        F.interpolate(cr.tensor(x), scale_factor=2, mode=mode)


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_interpolation_of_uint8_matches(mode):
    x = np.arange(12, dtype=np.uint8).reshape(1, 1, 3, 4)
    expected = TF.interpolate(torch.tensor(x), scale_factor=1.5, mode=mode).numpy()
    got = F.interpolate(cr.tensor(x), scale_factor=1.5, mode=mode).numpy()
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("shape", [(), (5,), (2, 3), (2, 3, 4)])
@pytest.mark.parametrize("dims", [(1, -1), (0, -1), (2, -1), (-3, 1), (0, 0), (-1, -1)])
def test_flatten_checks_its_dims_as_pytorch(shape, dims):
    try:
        expected = tuple(torch.nn.Flatten(*dims)(torch.zeros(shape)).shape)
    except IndexError:
        with pytest.raises(IndexError, match="flatten"):
            cr.nn.Flatten(*dims)(cr.zeros(shape))
        with pytest.raises(IndexError, match="flatten"):
            cr.flatten(cr.zeros(shape), *dims)
        return
    assert tuple(cr.nn.Flatten(*dims)(cr.zeros(shape)).shape) == expected
    assert tuple(cr.flatten(cr.zeros(shape), *dims).shape) == expected


def test_flatten_of_a_1d_batch_is_refused_not_returned_unchanged():
    with pytest.raises(IndexError):
        torch.nn.Flatten()(torch.zeros(5))
    with pytest.raises(IndexError, match="start_dim 1"):
        cr.nn.Flatten()(cr.zeros(5))


def _both_raise(torch_call, cr_call, error, match):
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        torch_call(torch)
    with pytest.raises(error, match=match):
        cr_call(cr)


def _norm_input():
    return np.random.default_rng(3).standard_normal((4, 3, 5)).astype(np.float32)


def test_batch_norm_refuses_float64_parameters_on_a_float32_batch():
    x, weight = _norm_input(), np.ones(3)
    _both_raise(lambda lib: TF.batch_norm(lib.tensor(x), None, None, lib.tensor(weight),
                                          training=True),
                lambda lib: F.batch_norm(lib.tensor(x), None, None, lib.tensor(weight),
                                         training=True),
                cr.DtypeError, "batch_norm: weight has dtype float64")
    stats = np.zeros(3), np.ones(3)
    _both_raise(lambda lib: TF.batch_norm(lib.tensor(x), *map(lib.tensor, stats)),
                lambda lib: F.batch_norm(lib.tensor(x), *map(lib.tensor, stats)),
                cr.DtypeError, "running_mean has dtype float64")


def test_batch_norm_refuses_one_running_statistic_without_the_other():
    x = _norm_input()
    _both_raise(lambda lib: TF.batch_norm(lib.tensor(x), lib.zeros(3), None, training=True),
                lambda lib: F.batch_norm(lib.tensor(x), lib.zeros(3), None, training=True),
                ValueError, "running_mean and running_var")


def test_batch_norm_is_not_differentiable_in_its_running_statistics():
    x = _norm_input()
    _both_raise(lambda lib: TF.batch_norm(lib.tensor(x), lib.zeros(3, requires_grad=True),
                                          lib.ones(3)),
                lambda lib: F.batch_norm(lib.tensor(x), lib.zeros(3, requires_grad=True),
                                         lib.ones(3)),
                RuntimeError, "running_mean .* requires grad")


@pytest.mark.parametrize("weight_shape, normalized_shape", [((1,), (5,)), ((5,), (3, 5))])
def test_layer_norm_refuses_a_weight_that_only_broadcasts(weight_shape, normalized_shape):
    x, weight = _norm_input(), np.ones(weight_shape, np.float32)
    _both_raise(lambda lib: TF.layer_norm(lib.tensor(x), normalized_shape, lib.tensor(weight)),
                lambda lib: F.layer_norm(lib.tensor(x), normalized_shape, lib.tensor(weight)),
                cr.ShapeError, "layer_norm: expected weight")
    _both_raise(lambda lib: TF.layer_norm(lib.tensor(x), normalized_shape, None,
                                          lib.tensor(weight)),
                lambda lib: F.layer_norm(lib.tensor(x), normalized_shape, None,
                                         lib.tensor(weight)),
                cr.ShapeError, "layer_norm: expected bias")


@pytest.mark.parametrize("which", ["weight", "bias"])
def test_layer_norm_refuses_a_float64_affine_part_on_float32(which):
    x, param = _norm_input(), {which: np.ones(5)}
    _both_raise(lambda lib: TF.layer_norm(lib.tensor(x), (5,),
                                          **{k: lib.tensor(v) for k, v in param.items()}),
                lambda lib: F.layer_norm(lib.tensor(x), (5,),
                                         **{k: lib.tensor(v) for k, v in param.items()}),
                cr.DtypeError, f"layer_norm: {which} has dtype float64")


def test_group_norm_refuses_a_weight_that_only_broadcasts_and_other_dtypes():
    x = np.random.default_rng(4).standard_normal((2, 6, 4)).astype(np.float32)
    _both_raise(lambda lib: TF.group_norm(lib.tensor(x), 3, lib.ones(1)),
                lambda lib: F.group_norm(lib.tensor(x), 3, lib.ones(1)),
                cr.ShapeError, r"group_norm: expected weight of shape \(6,\)")
    _both_raise(lambda lib: TF.group_norm(lib.tensor(x), 3, None, lib.ones(6, dtype=lib.float64)),
                lambda lib: F.group_norm(lib.tensor(x), 3, None, lib.ones(6, dtype=lib.float64)),
                cr.DtypeError, "group_norm: bias has dtype float64")
    _both_raise(lambda lib: TF.group_norm(lib.tensor(x[0, :, 0]), 3),
                lambda lib: F.group_norm(lib.tensor(x[0, :, 0]), 3),
                cr.ShapeError, "group_norm: expected an input")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_norms_with_matching_parameters_still_match(dtype):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 6, 5)).astype(dtype)
    w6, b6 = rng.standard_normal(6).astype(dtype), rng.standard_normal(6).astype(dtype)
    w5, b5 = rng.standard_normal(5).astype(dtype), rng.standard_normal(5).astype(dtype)
    calls = [
        lambda f, lib: f.batch_norm(lib.tensor(x), None, None, lib.tensor(w6), lib.tensor(b6),
                                    training=True),
        lambda f, lib: f.layer_norm(lib.tensor(x), (5,), lib.tensor(w5), lib.tensor(b5)),
        lambda f, lib: f.group_norm(lib.tensor(x), 3, lib.tensor(w6), lib.tensor(b6)),
    ]
    for call in calls:
        expected = call(TF, torch).numpy()
        got = call(F, cr).numpy()
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_instance_norm_refuses_a_float64_weight_but_casts_float64_statistics():
    x = _norm_input()
    _both_raise(lambda lib: TF.instance_norm(lib.tensor(x), weight=lib.ones(3, dtype=lib.float64)),
                lambda lib: F.instance_norm(lib.tensor(x), weight=lib.ones(3, dtype=lib.float64)),
                cr.DtypeError, "instance_norm: weight has dtype float64")
    stats = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.5, 2.0])
    expected = TF.instance_norm(torch.tensor(x), *map(torch.tensor, stats),
                                use_input_stats=False).numpy()
    got = F.instance_norm(cr.tensor(x), *map(cr.tensor, stats), use_input_stats=False).numpy()
    assert got.dtype == expected.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_rms_norm_keeps_the_input_dtype_under_a_float64_weight():
    rng = np.random.default_rng(6)
    x, weight = rng.standard_normal((3, 5)).astype(np.float32), rng.standard_normal(5)
    upstream = rng.standard_normal((3, 5)).astype(np.float32)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    with pytest.warns(UserWarning):  # PyTorch warns that it cannot use its fused kernel
        expected = TF.rms_norm(xt, (5,), wt)
    expected.backward(torch.tensor(upstream))
    xc, wc = cr.tensor(x, requires_grad=True), cr.tensor(weight, requires_grad=True)
    got = F.rms_norm(xc, (5,), wc)
    got.backward(cr.tensor(upstream))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got.detach().numpy(), expected.detach().numpy(), rtol=1e-5)
    assert wc.grad.numpy().dtype == np.float64
    np.testing.assert_allclose(wc.grad.numpy(), wt.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_prelu_refuses_a_weight_of_another_dtype():
    x = _norm_input()
    _both_raise(lambda lib: TF.prelu(lib.tensor(x), lib.tensor([0.25], dtype=lib.float64)),
                lambda lib: F.prelu(lib.tensor(x), lib.tensor([0.25], dtype=lib.float64)),
                cr.DtypeError, "prelu")


@pytest.mark.parametrize("name", ["dropout", "dropout2d"])
def test_dropout_refuses_an_integer_input_it_would_have_to_scale(name):
    x = np.ones((3, 4, 2, 2), np.int64)
    _both_raise(lambda lib: getattr(TF, name)(lib.tensor(x), 0.5),
                lambda lib: getattr(F, name)(cr.tensor(x), 0.5),
                cr.DtypeError, name)
    for p in (0.0, 1.0):  # nothing to scale: PyTorch keeps the integer dtype
        expected = getattr(TF, name)(torch.tensor(x), p).numpy()
        got = getattr(F, name)(cr.tensor(x), p).numpy()
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("name", ["Dropout", "Dropout2d"])
@pytest.mark.parametrize("shape", [(2, 3, 2, 2), (0, 3, 2, 2)])
def test_inplace_dropout_with_nothing_to_drop_leaves_a_leaf_alone(name, shape):
    p = 0.0 if shape[0] else 0.5
    leaf_t = torch.ones(shape, requires_grad=True)
    assert getattr(torch.nn, name)(p, inplace=True)(leaf_t) is leaf_t
    leaf_c = cr.ones(*shape, requires_grad=True)
    assert getattr(cr.nn, name)(p, inplace=True)(leaf_c) is leaf_c


def test_inplace_dropout_with_p_zero_inside_a_graph_backpropagates():
    x = np.random.default_rng(7).standard_normal((3, 4)).astype(np.float32)
    xt = torch.tensor(x, requires_grad=True)
    yt = xt.exp()
    (torch.nn.Dropout(0.0, inplace=True)(yt) * yt).sum().backward()
    xc = cr.tensor(x, requires_grad=True)
    yc = xc.exp()
    (cr.nn.Dropout(0.0, inplace=True)(yc) * yc).sum().backward()
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["dropout", "dropout2d"])
def test_functional_dropout_takes_pytorchs_positional_inplace(name):
    # F.dropout(x, p, training, inplace) is how PyTorch's own modules call it.
    shape = (2, 3, 2, 2)
    out = getattr(F, name)(cr.ones(*shape), 0.5, False, False)
    np.testing.assert_array_equal(out.numpy(), np.ones(shape, np.float32))
    leaf = cr.ones(*shape, requires_grad=True)
    with pytest.raises(RuntimeError):
        getattr(TF, name)(torch.ones(shape, requires_grad=True), 0.5, True, True)
    with pytest.raises(cr.GradientError, match=name):
        getattr(F, name)(leaf, 0.5, True, True)
    x = cr.ones(*shape, requires_grad=True)
    y = x * 1
    assert getattr(F, name)(y, 0.5, True, True) is y
    kept = y.detach().numpy()
    assert set(np.unique(kept)) <= {0.0, 2.0}
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), kept)


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss", "multi_margin_loss"])
@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint8])
def test_class_index_losses_take_only_pytorchs_target_dtypes(name, dtype):
    scores = np.random.default_rng(8).standard_normal((4, 5)).astype(np.float32)
    labels = np.array([0, 3, 4, 1], dtype=dtype)
    try:
        expected = getattr(TF, name)(torch.tensor(scores), torch.tensor(labels)).numpy()
    except RuntimeError:
        with pytest.raises(cr.LabelError, match=f"{name}: expected class targets of dtype"):
            getattr(F, name)(cr.tensor(scores), cr.tensor(labels))
        return
    got = getattr(F, name)(cr.tensor(scores), cr.tensor(labels)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_binary_cross_entropy_refuses_a_target_of_another_dtype():
    p = np.array([0.2, 0.7, 0.9], np.float32)
    target = np.array([0.0, 1.0, 1.0])
    _both_raise(lambda lib: TF.binary_cross_entropy(lib.tensor(p), lib.tensor(target)),
                lambda lib: F.binary_cross_entropy(lib.tensor(p), lib.tensor(target)),
                cr.DtypeError, "binary_cross_entropy: target of dtype float64")


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_binary_cross_entropy_with_logits_refuses_an_integer_target(dtype):
    logits = np.array([0.2, -0.7, 1.9], np.float32)
    target = np.array([0, 1, 1]).astype(dtype)
    _both_raise(lambda lib: TF.binary_cross_entropy_with_logits(lib.tensor(logits),
                                                                lib.tensor(target)),
                lambda lib: F.binary_cross_entropy_with_logits(lib.tensor(logits),
                                                               lib.tensor(target)),
                cr.DtypeError, "must be floating point")


@pytest.mark.parametrize("call", [
    lambda f, lib, x, t, w: f.binary_cross_entropy(lib.sigmoid(x), t, weight=w),
    lambda f, lib, x, t, w: f.binary_cross_entropy_with_logits(x, t, weight=w),
    lambda f, lib, x, t, w: f.binary_cross_entropy_with_logits(x, t, pos_weight=w),
], ids=["bce-weight", "bce-logits-weight", "bce-logits-pos_weight"])
def test_binary_cross_entropies_keep_the_input_dtype_under_a_float64_weight(call):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    t = (rng.random((3, 4)) > 0.5).astype(np.float32)
    w = rng.random(4) + 0.5
    xt = torch.tensor(x, requires_grad=True)
    expected = call(TF, torch, xt, torch.tensor(t), torch.tensor(w))
    expected.backward()
    xc = cr.tensor(x, requires_grad=True)
    got = call(F, cr, xc, cr.tensor(t), cr.tensor(w))
    got.backward()
    assert got.dtype == np.float32 and expected.dtype == torch.float32
    np.testing.assert_allclose(got.item(), expected.item(), rtol=1e-5)
    np.testing.assert_allclose(xc.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("reduction", ["sum", "none", "batchmean"])
def test_kl_div_gradient_in_a_zero_target_is_pytorchs_nan(reduction):
    rng = np.random.default_rng(10)
    log_p = np.log(rng.random((3, 4)).astype(np.float32) * 0.9 + 0.05)
    target = rng.random((3, 4)).astype(np.float32)
    target[0, 1] = target[2, 3] = 0.0
    upstream = rng.standard_normal((3, 4)).astype(np.float32) if reduction == "none" else None
    results = []
    for lib, f in ((torch, TF), (cr, F)):
        x, y = lib.tensor(log_p, requires_grad=True), lib.tensor(target, requires_grad=True)
        loss = f.kl_div(x, y, reduction=reduction)
        loss.backward(None if upstream is None else lib.tensor(upstream))
        results.append((loss.detach().numpy(), x.grad.numpy(), y.grad.numpy()))
    for expected, got in zip(*results):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)  # NaN where NaN
    assert np.isnan(results[1][2][0, 1]) and np.isnan(results[1][2][2, 3])


NOT_DIFFERENTIABLE = {  # PyTorch raises when these arguments require grad
    "bce-weight": lambda f, w: f.binary_cross_entropy(
        _probabilities(f), _targets(f), weight=w),
    "bce-logits-weight": lambda f, w: f.binary_cross_entropy_with_logits(
        _probabilities(f), _targets(f), weight=w),
    "bce-logits-pos_weight": lambda f, w: f.binary_cross_entropy_with_logits(
        _probabilities(f), _targets(f), pos_weight=w),
    "cross_entropy-weight": lambda f, w: f.cross_entropy(_probabilities(f), _labels(f), weight=w),
    "cross_entropy-smoothed-weight": lambda f, w: f.cross_entropy(
        _probabilities(f), _labels(f), weight=w, label_smoothing=0.1),
    "nll_loss-weight": lambda f, w: f.nll_loss(_probabilities(f), _labels(f), weight=w),
    "multi_margin_loss-weight": lambda f, w: f.multi_margin_loss(
        _probabilities(f), _labels(f), weight=w),
    "soft_margin_loss-target": lambda f, w: f.soft_margin_loss(
        _probabilities(f), w.expand(4, 5)),
}


def _lib(f):
    return torch if f is TF else cr


def _probabilities(f):
    return _lib(f).tensor(np.linspace(0.05, 0.95, 20, dtype=np.float32).reshape(4, 5))


def _targets(f):
    return _lib(f).tensor((np.arange(20).reshape(4, 5) % 3 == 0).astype(np.float32))


def _labels(f):
    return _lib(f).tensor([0, 3, 4, 1])


@pytest.mark.parametrize("name", sorted(NOT_DIFFERENTIABLE))
def test_losses_refuse_gradients_pytorch_does_not_define(name):
    call = NOT_DIFFERENTIABLE[name]
    weight = np.linspace(0.5, 1.5, 5, dtype=np.float32)
    with pytest.raises(RuntimeError, match="not differentiable"):
        call(TF, torch.tensor(weight, requires_grad=True))
    with pytest.raises(cr.GradientError, match="not differentiable with respect to"):
        call(F, cr.tensor(weight, requires_grad=True))
    expected = call(TF, torch.tensor(weight)).item()  # a constant weight is fine
    np.testing.assert_allclose(call(F, cr.tensor(weight)).item(), expected, rtol=1e-5)
    with cr.no_grad():
        call(F, cr.tensor(weight, requires_grad=True))


def _batch_norm_twins(change):
    twins = torch.nn.BatchNorm1d(3), cr.nn.BatchNorm1d(3)
    for module in twins:
        change(module)
    return twins


def _set_none(module):
    module.running_mean = module.running_var = None


@pytest.mark.parametrize("change", [
    lambda m: setattr(m, "track_running_stats", False),
    lambda m: (setattr(m, "track_running_stats", False), setattr(m, "num_batches_tracked", None)),
    _set_none,
    lambda m: setattr(m, "momentum", None),
], ids=["tracking-off-after-init", "no-batch-counter", "no-buffers", "momentum-none-after-init"])
def test_batch_norm_module_reads_its_buffers_as_pytorch_after_changes(change):
    rng = np.random.default_rng(11)
    batches = [(rng.standard_normal((4, 3, 5)) * (k + 1) + k).astype(np.float32)
               for k in range(3)]
    module_t, module_c = _batch_norm_twins(change)
    for batch, training in zip(batches, (True, True, False)):
        module_t.train(training)
        module_c.train(training)
        expected = module_t(torch.tensor(batch)).detach().numpy()
        np.testing.assert_allclose(module_c(cr.tensor(batch)).detach().numpy(), expected,
                                   rtol=1e-5, atol=1e-5)
    for name, buffer in module_t.named_buffers():
        np.testing.assert_allclose(getattr(module_c, name).numpy(), buffer.numpy(), rtol=1e-6)


HALF_NORMS = {
    "batch_norm": lambda f, x, w, b: f.batch_norm(x, None, None, w, b, training=True),
    "layer_norm": lambda f, x, w, b: f.layer_norm(x, (3,), w, b),
    "group_norm": lambda f, x, w, b: f.group_norm(x, 3, w, b),
    "instance_norm": lambda f, x, w, b: f.instance_norm(x, weight=w, bias=b),
}


@pytest.mark.parametrize("name", sorted(HALF_NORMS))
def test_norms_of_float16_input_with_float32_parameters_as_pytorchs_mixed_precision(name):
    rng = np.random.default_rng(12)
    x = (rng.standard_normal((4, 3, 3)) * 2 + 1).astype(np.float16)
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    upstream = rng.standard_normal((4, 3, 3)).astype(np.float16)
    results = []
    for lib, f in ((torch, TF), (cr, F)):
        leaves = [lib.tensor(a, requires_grad=True) for a in (x, w, b)]
        out = HALF_NORMS[name](f, *leaves)
        out.backward(lib.tensor(upstream))
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in leaves])
    for expected, got in zip(*results):
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                                   rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("name", sorted(HALF_NORMS))
def test_norms_refuse_integer_input(name):
    x = np.arange(36).reshape(4, 3, 3)
    _both_raise(lambda lib: HALF_NORMS[name](TF, lib.tensor(x), None, None),
                lambda lib: HALF_NORMS[name](F, lib.tensor(x), None, None),
                cr.DtypeError, f"{name}: not implemented for int64")


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("amounts, ndim", [((1, 2), 4), ((1, 2), 1), ((1, 1, 1, 1), 2),
                                            ((1, 1, 1, 1), 5), ((1,) * 6, 3), ((1,) * 8, 5)])
def test_non_constant_pad_refuses_the_ranks_pytorch_has_no_kernel_for(mode, amounts, ndim):
    x = np.random.default_rng(13).standard_normal((2, 3, 4, 5, 6)[:ndim]).astype(np.float32)
    with pytest.raises((NotImplementedError, RuntimeError, ValueError)):
        TF.pad(torch.tensor(x), amounts, mode=mode)
    with pytest.raises(NotImplementedError, match=f"pad: {len(amounts)} amounts in mode"):
        F.pad(cr.tensor(x), amounts, mode=mode)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_reflect_and_replicate_pad_refuse_bool(mode):
    x = np.array([[[True, False, True]]])
    with pytest.raises(NotImplementedError):
        TF.pad(torch.tensor(x), (1, 1), mode=mode)
    with pytest.raises(NotImplementedError, match="bool"):
        F.pad(cr.tensor(x), (1, 1), mode=mode)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("amounts, ndim", [((1, 2), 2), ((1, 2), 3), ((1, 0, 2, 1), 3),
                                            ((1, 0, 2, 1), 4), ((1, 1, 0, 1, 2, 0), 5)])
def test_non_constant_pad_still_pads_the_ranks_pytorch_supports(mode, amounts, ndim):
    x = np.random.default_rng(14).standard_normal((2, 3, 4, 5, 6)[:ndim]).astype(np.float32)
    expected = TF.pad(torch.tensor(x), amounts, mode=mode).numpy()
    np.testing.assert_array_equal(F.pad(cr.tensor(x), amounts, mode=mode).numpy(), expected)


@pytest.mark.parametrize("dtype", [np.int32, np.int16, np.uint8])
def test_one_hot_takes_int64_class_indices_only(dtype):
    labels = np.array([0, 2, 1], dtype=dtype)
    with pytest.raises(RuntimeError):
        TF.one_hot(torch.tensor(labels), 3)
    with pytest.raises(cr.DtypeError, match="one_hot: needs an int64"):
        F.one_hot(cr.tensor(labels), 3)
    expected = TF.one_hot(torch.tensor(labels.astype(np.int64)), 3).numpy()
    np.testing.assert_array_equal(F.one_hot(cr.tensor(labels.astype(np.int64)), 3).numpy(),
                                  expected)


@pytest.mark.parametrize("name", sorted(CONVOLUTIONS))
def test_convolutions_refuse_bool(name):
    input_shape, weight_shape = CONVOLUTIONS[name]
    x, w = np.ones(input_shape, bool), np.ones(weight_shape, bool)
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(TF, name)(torch.tensor(x), torch.tensor(w))
    with pytest.raises(cr.DtypeError, match=f"{name}: not implemented for bool"):
        getattr(F, name)(cr.tensor(x), cr.tensor(w))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmin_takes_pytorchs_dtype_argument(dtype):
    x = np.arange(6).reshape(2, 3)
    expected = TF.softmin(torch.tensor(x), 1, dtype=getattr(torch, dtype)).numpy()
    got = F.softmin(cr.tensor(x), 1, dtype=getattr(cr, dtype)).numpy()
    assert got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    with pytest.raises(NotImplementedError):
        TF.softmin(torch.tensor(x), 1)
    with pytest.raises(cr.DtypeError, match="softmin"):
        F.softmin(cr.tensor(x), 1)


def test_hardtanh_refuses_bounds_in_the_wrong_order():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    with pytest.raises(ValueError):
        TF.hardtanh(torch.tensor(x), 1.0, -1.0)
    with pytest.raises(ValueError, match="hardtanh: min_val cannot be greater than max_val"):
        F.hardtanh(cr.tensor(x), 1.0, -1.0)
    expected = TF.hardtanh(torch.tensor(x), 0.5, 0.5).numpy()  # equal bounds are allowed
    np.testing.assert_array_equal(F.hardtanh(cr.tensor(x), 0.5, 0.5).numpy(), expected)


@pytest.mark.parametrize("scale", [1e-3, 1.0, 100.0])
@pytest.mark.parametrize("weight_dtype", [None, np.float16, np.float32])
def test_rms_norm_of_float16_runs_in_float32_with_its_epsilon(scale, weight_dtype):
    rng = np.random.default_rng(15)
    x = (rng.standard_normal((3, 6)) * scale).astype(np.float16)
    weight = None if weight_dtype is None else rng.standard_normal(6).astype(weight_dtype)
    results = []
    for lib, f in ((torch, TF), (cr, F)):
        leaves = [lib.tensor(x, requires_grad=True)]
        if weight is not None:
            leaves.append(lib.tensor(weight, requires_grad=True))
        out = f.rms_norm(leaves[0], (6,), *leaves[1:])
        out.sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in leaves])
    for k, (expected, got) in enumerate(zip(*results)):
        assert got.dtype == expected.dtype
        # the input's gradient grows as 1 / scale; the output and the weight's do not
        atol = 5e-3 / scale if k == 1 and scale < 1 else 5e-3
        np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                                   rtol=5e-3, atol=atol)


@pytest.mark.parametrize("call", [lambda f, lib, x: f.glu(x, 0),
                                  lambda f, lib, x: f.prelu(x, lib.tensor([1]))],
                         ids=["glu", "prelu"])
def test_glu_and_prelu_refuse_integer_input(call):
    x = np.arange(-3, 3).reshape(2, 3)
    with pytest.raises(NotImplementedError):
        call(TF, torch, torch.tensor(x))
    with pytest.raises(cr.DtypeError, match="not implemented for int64"):
        call(F, cr, cr.tensor(x))
