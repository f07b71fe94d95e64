"""Losses and normalisations off the happy path, against PyTorch: mixed dtypes of inputs and
weights, targets outside their range, edge inputs (probabilities exactly 0 or 1, a vector of
zeros), empty batches and second-order gradients. Each case is one chainrule gave a wrong
number for, or computed where PyTorch raises."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def rng(seed=0):
    return np.random.default_rng(seed)


def pair(array, requires_grad=False):
    """The same array as a chainrule and a PyTorch tensor."""
    return (cr.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def assert_raises_like_torch(call, pattern):
    with pytest.raises(Exception):
        call(torch)
    with pytest.raises(Exception, match=pattern):
        call(cr)


def test_cross_entropy_probability_targets_promote_with_a_float64_weight():
    # PyTorch's probability-target cross-entropy multiplies by the weight, promoting: float32
    # logits with a float64 weight give a float64 loss (chainrule cast the weight to float32,
    # its deliberate difference for the class-index losses, where PyTorch raises).
    x = rng().normal(size=(3, 4)).astype(np.float32)
    p = rng(1).dirichlet(np.ones(4), 3).astype(np.float32)
    w = rng(2).random(4) + 0.5
    (cx, tx), (cp, tp), (cw, tw) = pair(x, True), pair(p), pair(w)
    ours = cr.nn.functional.cross_entropy(cx, cp, weight=cw, label_smoothing=0.2)
    theirs = torch.nn.functional.cross_entropy(tx, tp, weight=tw, label_smoothing=0.2)
    assert str(theirs.dtype) == "torch.float64"
    assert ours.dtype == cr.float64
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    ours.backward(), theirs.backward()
    assert cx.grad.dtype == cr.float32
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)


# Binary cross-entropy: its target's range, its weights' shapes, its slopes at 0 and 1.

@pytest.mark.parametrize("bad", [1.5, -0.25, float("nan")])
def test_binary_cross_entropy_refuses_a_target_outside_0_1_like_torch(bad):
    def call(lib):
        return lib.nn.functional.binary_cross_entropy(lib.tensor([0.3, 0.6]),
                                                      lib.tensor([1.0, bad]))

    assert_raises_like_torch(call, r"binary_cross_entropy: every target must be in \[0, 1\]")


@pytest.mark.parametrize("loss, name", [("binary_cross_entropy", "weight"),
                                        ("binary_cross_entropy_with_logits", "weight"),
                                        ("binary_cross_entropy_with_logits", "pos_weight")])
def test_a_binary_cross_entropy_weight_that_enlarges_the_loss_raises_like_torch(loss, name):
    # PyTorch's weight and pos_weight broadcast to the input; one of shape (2, 4, 3) on a
    # (4, 3) input would have given a (2, 4, 3) loss.
    def call(lib):
        x, y = lib.full((4, 3), 0.5), lib.full((4, 3), 0.25)
        return getattr(lib.nn.functional, loss)(x, y, reduction="none",
                                                **{name: lib.ones(2, 4, 3)})

    assert_raises_like_torch(call, rf"{loss}: {name} of shape \(2, 4, 3\) does not broadcast "
                                   rf"to the input's shape \(4, 3\)")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_slopes_at_probabilities_0_and_1(reduction):
    # The target's gradient is -logit(x), unclamped in PyTorch (inf at x = 0, -inf at x = 1,
    # 115.1 at x = 1e-50; chainrule clamped the logs at -100), and the input's divides by
    # max(x (1 - x), 1e-12f), PyTorch's float epsilon.
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-50, 0.3, 1e-13])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.7, 1.0])
    (cx, tx), (ct, tt) = pair(x, True), pair(t, True)
    ours = cr.nn.functional.binary_cross_entropy(cx, ct, reduction=reduction)
    theirs = torch.nn.functional.binary_cross_entropy(tx, tt, reduction=reduction)
    upstream = rng().normal(size=theirs.shape) + 2
    ours.backward(cr.tensor(upstream)), theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-14)
    np.testing.assert_allclose(ct.grad.numpy(), tt.grad.numpy(), rtol=1e-13)
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=1e-13)


def test_binary_cross_entropy_second_order_in_the_target_like_torch():
    x, t = rng().uniform(0.05, 0.95, size=(3, 2)), rng(1).uniform(size=(3, 2))
    (cx, tx), (ct, tt) = pair(x, True), pair(t, True)
    ours = cr.autograd.grad(cr.nn.functional.binary_cross_entropy(cx, ct), ct,
                            create_graph=True)[0]
    theirs = torch.autograd.grad(torch.nn.functional.binary_cross_entropy(tx, tt), tt,
                                 create_graph=True)[0]
    ours2 = cr.autograd.grad((ours * ours).sum(), cx)[0]
    theirs2 = torch.autograd.grad((theirs * theirs).sum(), tx)[0]
    np.testing.assert_allclose(ours2.numpy(), theirs2.numpy(), rtol=1e-12)


def test_cosine_embedding_loss_gradient_at_a_vector_of_zeros():
    # PyTorch adds its float epsilon 1e-12f to each squared norm, which sets the gradient at a
    # vector of zeros (chainrule's float64 1e-12 was 2e-9 off it).
    x1 = np.zeros((2, 3))
    x2 = np.array([[0.3, -0.4, 1.2], [1.0, 2.0, -1.0]])
    labels = np.array([1.0, -1.0])
    (c1, t1), (c2, t2) = pair(x1, True), pair(x2, True)
    ours = cr.nn.functional.cosine_embedding_loss(c1, c2, cr.tensor(labels), margin=-0.5)
    theirs = torch.nn.functional.cosine_embedding_loss(t1, t2, torch.tensor(labels),
                                                       margin=-0.5)
    ours.backward(), theirs.backward()
    np.testing.assert_allclose(c1.grad.numpy(), t1.grad.numpy(), rtol=1e-14)


def test_huber_loss_of_mixed_dtypes_is_in_the_input_dtype_and_has_no_gradient_like_torch():
    # PyTorch's huber_loss gives the input's dtype (float32 and float64 give float32, each
    # loss rounded from float64, where chainrule gave float64), and its backward refuses the
    # mix.
    x = rng().normal(size=(4, 3))
    y = rng(1).normal(size=(4, 3)) * 2
    for x_dtype, y_dtype in (("float32", "float64"), ("float64", "float32")):
        (cx, tx), (cy, ty) = pair(x.astype(x_dtype)), pair(y.astype(y_dtype))
        for reduction in ("mean", "none"):
            ours = cr.nn.functional.huber_loss(cx, cy, reduction=reduction, delta=0.7)
            theirs = torch.nn.functional.huber_loss(tx, ty, reduction=reduction, delta=0.7)
            assert str(theirs.dtype) == f"torch.{x_dtype}"
            assert ours.dtype == getattr(cr, x_dtype)
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=0)
    tx = torch.tensor(x.astype("float32"), requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.nn.functional.huber_loss(tx, torch.tensor(y)).backward()
    with pytest.raises(cr.DtypeError, match=r"huber_loss: input of dtype float32 and target "
                                            r"of dtype float64 \(shape \(4, 3\)\)"):
        cr.nn.functional.huber_loss(cr.tensor(x.astype("float32"), requires_grad=True),
                                    cr.tensor(y))


# Normalisation.

@pytest.mark.parametrize("bias", [True, False])
def test_layer_norm_over_the_whole_input_has_second_order_gradients(bias):
    # normalized_shape the input's whole shape leaves no leading axes to sum the weight's
    # gradient over; with create_graph=True that sum was over every axis, and backward raised.
    x = rng().normal(size=(3, 4))
    w, b = rng(1).random((3, 4)) + 0.5, rng(2).normal(size=(3, 4))
    (cx, tx), (cw, tw), (cb, tb) = pair(x, True), pair(w, True), pair(b, True)
    ours_inputs, theirs_inputs = [cx, cw] + [cb] * bias, [tx, tw] + [tb] * bias
    ours = cr.nn.functional.layer_norm(cx, (3, 4), cw, cb if bias else None, 1e-3)
    theirs = torch.nn.functional.layer_norm(tx, (3, 4), tw, tb if bias else None, 1e-3)
    upstream = rng(3).normal(size=(3, 4))
    ours_grads = cr.autograd.grad(ours, ours_inputs, cr.tensor(upstream), create_graph=True)
    theirs_grads = torch.autograd.grad(theirs, theirs_inputs, torch.tensor(upstream),
                                       create_graph=True)
    for o, t in zip(ours_grads, theirs_grads):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
    ours2 = cr.autograd.grad(sum((g * g).sum() for g in ours_grads), [cx, cw])
    theirs2 = torch.autograd.grad(sum((g * g).sum() for g in theirs_grads), [tx, tw])
    for o, t in zip(ours2, theirs2):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-9, atol=1e-12)


def test_layer_norm_refuses_an_empty_normalized_shape_like_torch():
    def call(lib):
        return lib.nn.functional.layer_norm(lib.ones(2, 3), ())

    assert_raises_like_torch(call, r"layer_norm: normalized_shape must have at least one "
                                   r"dimension, got \(\) for the input of shape \(2, 3\)")


@pytest.mark.parametrize("affine", [True, False])
def test_group_norm_of_an_empty_batch_like_torch(affine):
    (cx, tx) = pair(np.zeros((0, 4, 3)), True)
    (cw, tw), (cb, tb) = pair(np.ones(4), True), pair(np.zeros(4), True)
    ours = cr.nn.functional.group_norm(cx, 2, cw if affine else None, cb if affine else None)
    theirs = torch.nn.functional.group_norm(tx, 2, tw if affine else None,
                                            tb if affine else None)
    assert tuple(ours.shape) == tuple(theirs.shape) == (0, 4, 3)
    ours.sum().backward(), theirs.sum().backward()
    assert tuple(cx.grad.shape) == (0, 4, 3)
    if affine:
        np.testing.assert_array_equal(cw.grad.numpy(), tw.grad.numpy())
        np.testing.assert_array_equal(cb.grad.numpy(), tb.grad.numpy())


@pytest.mark.parametrize("given", ["running_mean", "running_var"])
@pytest.mark.parametrize("use_input_stats", [True, False])
def test_instance_norm_with_one_running_statistic_raises_like_torch(given, use_input_stats):
    def call(lib):
        stats = {given: lib.zeros(3, dtype=lib.float64)}
        return lib.nn.functional.instance_norm(lib.ones(2, 3, 4, dtype=lib.float64),
                                               use_input_stats=use_input_stats, **stats)

    assert_raises_like_torch(call, r"instance_norm: give both running_mean and running_var "
                                   rf"or neither \(as PyTorch\), got only {given}")


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
def test_normalize_refuses_an_integer_tensor_like_torch(dtype):
    def call(lib):
        return lib.nn.functional.normalize(lib.tensor(np.ones((2, 3), dtype=dtype)))

    assert_raises_like_torch(call, rf"normalize: needs a floating-point tensor, got {dtype} of "
                                   r"shape \(2, 3\)")


# Hinges at NaN: PyTorch's masks (z > 0, z >= 0) are false there.

@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", ["none", "sum"])
def test_multi_margin_loss_skips_a_nan_margin_like_torch(p, reduction):
    # PyTorch adds a class's term only where margin - x_y + x_j > 0, so a NaN (or inf - inf)
    # term adds nothing; chainrule's relu kept the NaN, and the loss was NaN.
    x = np.array([[np.nan, 0.0, 0.0], [np.inf, np.inf, 0.0], [0.5, -1.0, 2.0],
                  [np.inf, 0.0, 0.0]])
    y = np.array([1, 0, 2, 1])
    (cx, tx) = pair(x, True)
    ours = cr.nn.functional.multi_margin_loss(cx, cr.tensor(y), p=p, reduction=reduction)
    theirs = torch.nn.functional.multi_margin_loss(tx, torch.tensor(y), p=p,
                                                   reduction=reduction)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    ours.sum().backward(), theirs.sum().backward()
    np.testing.assert_array_equal(cx.grad.numpy(), tx.grad.numpy())


CLAMPED_LOSSES = {
    "margin_ranking_loss": lambda lib, a, b, c: lib.nn.functional.margin_ranking_loss(
        a[:, 0], b[:, 0], lib.ones(4, dtype=lib.float64), reduction="none"),
    "hinge_embedding_loss": lambda lib, a, b, c: lib.nn.functional.hinge_embedding_loss(
        a[:, 0], -lib.ones(4, dtype=lib.float64), reduction="none"),
    "triplet_margin_loss p=1": lambda lib, a, b, c: lib.nn.functional.triplet_margin_loss(
        a, b, c, p=1.0, reduction="none"),
}


@pytest.mark.parametrize("loss", CLAMPED_LOSSES)
def test_a_nan_hinge_passes_no_gradient_like_torch(loss):
    # PyTorch's clamp_min(0) passes the gradient where z >= 0, which a NaN z is not (inf - inf
    # from two infinite distances, or a NaN input); chainrule passed it.
    a = np.array([[np.nan, 0.0], [np.inf, 0.0], [1.0, 2.0], [0.0, -np.inf]])
    b = np.array([[0.0, 1.0], [np.inf, 1.0], [0.5, 1.0], [0.0, -np.inf]])
    c = np.array([[1.0, 1.0], [0.0, np.inf], [3.0, -1.0], [np.inf, 0.0]])
    (ca, ta), (cb, tb), (cc, tc) = pair(a, True), pair(b, True), pair(c, True)
    ours = CLAMPED_LOSSES[loss](cr, ca, cb, cc)
    theirs = CLAMPED_LOSSES[loss](torch, ta, tb, tc)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    assert np.isnan(theirs.detach().numpy()).any()
    upstream = np.array([1.0, -2.0, 0.5, 3.0])
    ours_grads = cr.autograd.grad(ours, [ca, cb, cc], cr.tensor(upstream), allow_unused=True)
    theirs_grads = torch.autograd.grad(theirs, [ta, tb, tc], torch.tensor(upstream),
                                       allow_unused=True)
    for o, t in zip(ours_grads, theirs_grads):
        if t is None:
            assert o is None or not o.numpy().any()
        else:
            np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-12)


# Integer inputs: PyTorch's loss kernels have none and raise.

INTEGER_CALLS = {
    "cross_entropy": lambda lib, i, f: lib.nn.functional.cross_entropy(i, lib.tensor([0, 1])),
    "nll_loss": lambda lib, i, f: lib.nn.functional.nll_loss(i, lib.tensor([0, 1])),
    "multi_margin_loss": lambda lib, i, f: lib.nn.functional.multi_margin_loss(
        i, lib.tensor([0, 1])),
    "mse_loss": lambda lib, i, f: lib.nn.functional.mse_loss(i, i, reduction="none"),
    "smooth_l1_loss": lambda lib, i, f: lib.nn.functional.smooth_l1_loss(i, i),
    "huber_loss": lambda lib, i, f: lib.nn.functional.huber_loss(i, f, reduction="none"),
    "kl_div": lambda lib, i, f: lib.nn.functional.kl_div(f, i, log_target=True),
    "binary_cross_entropy": lambda lib, i, f: lib.nn.functional.binary_cross_entropy(i, i),
    "binary_cross_entropy_with_logits":
        lambda lib, i, f: lib.nn.functional.binary_cross_entropy_with_logits(i, f),
    "soft_margin_loss": lambda lib, i, f: lib.nn.functional.soft_margin_loss(i, f),
    "hinge_embedding_loss": lambda lib, i, f: lib.nn.functional.hinge_embedding_loss(i, i),
    "gaussian_nll_loss": lambda lib, i, f: lib.nn.functional.gaussian_nll_loss(f, f, i),
}


@pytest.mark.parametrize("loss", INTEGER_CALLS)
def test_losses_refuse_integer_operands_like_torch(loss):
    def call(lib):
        return INTEGER_CALLS[loss](lib, lib.ones(2, 3, dtype=lib.int64),
                                   lib.full((2, 3), 0.5, dtype=lib.float64))

    assert_raises_like_torch(call, rf"{loss}: not implemented for \w+ of dtype int64 and shape "
                                   r"\(2, 3\) \(as in PyTorch\)")


@pytest.mark.parametrize("loss", ["mse_loss", "smooth_l1_loss", "l1_loss"])
def test_losses_of_an_integer_input_and_a_float_target_compute_like_torch(loss):
    i, f = np.array([[1, 2, 3]]), np.array([[0.5, 2.5, -1.0]])
    ours = getattr(cr.nn.functional, loss)(cr.tensor(i), cr.tensor(f), reduction="none")
    theirs = getattr(torch.nn.functional, loss)(torch.tensor(i), torch.tensor(f),
                                                reduction="none")
    assert str(theirs.dtype) == f"torch.{ours.dtype}"
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("ignore_index", [0, 2])
def test_cross_entropy_probability_targets_refuse_an_ignore_index_like_torch(ignore_index):
    def call(lib):
        return lib.nn.functional.cross_entropy(lib.zeros(2, 3), lib.full((2, 3), 1 / 3),
                                               ignore_index=ignore_index)

    assert_raises_like_torch(call, rf"cross_entropy: ignore_index={ignore_index} is not "
                                   r"supported for class-probability targets")
    x, p = np.array([[1.0, 2.0, 0.5]]), np.array([[0.2, 0.3, 0.5]])
    ours = cr.nn.functional.cross_entropy(cr.tensor(x), cr.tensor(p), ignore_index=-5)
    theirs = torch.nn.functional.cross_entropy(torch.tensor(x), torch.tensor(p), ignore_index=-5)
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-14)


@pytest.mark.parametrize("training, eps, pattern", [
    (True, 0.0, "positive during training, got 0.0"),
    (True, -1e-3, "positive during training, got -0.001"),
    (False, -1e-3, "non-negative, got -0.001"),
])
def test_batch_norm_refuses_an_eps_that_could_divide_by_zero_like_torch(training, eps, pattern):
    # A constant channel with eps = 0 gave NaN rather than PyTorch's error.
    def call(lib):
        stats = lib.zeros(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)
        return lib.nn.functional.batch_norm(lib.ones(4, 3, dtype=lib.float64), *stats,
                                            training=training, eps=eps)

    assert_raises_like_torch(call, rf"batch_norm: eps must be {pattern} \(as in PyTorch; the "
                                   r"input has shape \(4, 3\)\)")


def test_batch_norm_in_evaluation_takes_eps_zero_like_torch():
    x = rng().normal(size=(4, 3))
    stats = rng(1).normal(size=3), rng(2).random(3) + 0.5
    ours = cr.nn.functional.batch_norm(cr.tensor(x), *map(cr.tensor, stats), eps=0.0)
    theirs = torch.nn.functional.batch_norm(torch.tensor(x), *map(torch.tensor, stats), eps=0.0)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-14)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_cross_entropy_probability_targets_differentiate_the_weight_like_torch(label_smoothing):
    # PyTorch's probability-target cross-entropy is differentiable in its weight (the
    # class-index one refuses); chainrule gave the weight no gradient at all.
    x, p = rng().normal(size=(3, 4)), rng(1).dirichlet(np.ones(4), 3)
    w = rng(2).random(4) + 0.5
    (cx, tx), (cp, tp), (cw, tw) = pair(x, True), pair(p, True), pair(w, True)
    ours = cr.nn.functional.cross_entropy(cx, cp, weight=cw, label_smoothing=label_smoothing)
    theirs = torch.nn.functional.cross_entropy(tx, tp, weight=tw,
                                               label_smoothing=label_smoothing)
    ours_grads = cr.autograd.grad(ours, [cx, cp, cw], create_graph=True)
    theirs_grads = torch.autograd.grad(theirs, [tx, tp, tw], create_graph=True)
    for o, t in zip(ours_grads, theirs_grads):
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-12)
    ours2 = cr.autograd.grad(sum((g * g).sum() for g in ours_grads), [cx, cp, cw])
    theirs2 = torch.autograd.grad(sum((g * g).sum() for g in theirs_grads), [tx, tp, tw])
    for o, t in zip(ours2, theirs2):
        np.testing.assert_allclose(o.numpy(), t.numpy(), rtol=1e-10, atol=1e-14)


def test_soft_margin_loss_refuses_a_target_that_enlarges_the_loss_like_torch():
    def call(lib):
        return lib.nn.functional.soft_margin_loss(lib.ones(1, 2), lib.ones(3, 2),
                                                  reduction="none")

    assert_raises_like_torch(call, r"soft_margin_loss: target of shape \(3, 2\) does not "
                                   r"broadcast to the input's shape \(1, 2\)")


@pytest.mark.parametrize("make", [
    lambda nn: nn.BatchNorm1d(3, affine=False),
    lambda nn: nn.BatchNorm2d(4, momentum=None, track_running_stats=False),
    lambda nn: nn.LayerNorm((2, 3), elementwise_affine=False),
    lambda nn: nn.LayerNorm(3, bias=False),
    lambda nn: nn.GroupNorm(2, 4, eps=1e-3),
    lambda nn: nn.GroupNorm(1, 3, affine=False),
])
def test_normalisation_layers_print_like_torch(make):
    # print(model) showed neither LayerNorm's elementwise_affine and bias, nor GroupNorm's
    # affine, nor BatchNorm's bias, which PyTorch's show.
    assert repr(make(cr.nn)) == repr(make(torch.nn))


@pytest.mark.parametrize("call, pattern", [
    (lambda lib: lib.nn.functional.group_norm(lib.ones(2, 4, 3), -2),
     r"group_norm: num_groups must be positive, got -2 for the input of shape \(2, 4, 3\)"),
    (lambda lib: lib.nn.functional.batch_norm(lib.ones(2, 3), lib.zeros(3), lib.ones(3),
                                              training=True, momentum=None),
     r"batch_norm: momentum must be a number, got None"),
])
def test_normalisation_arguments_pytorch_refuses_are_named(call, pattern):
    # Both raised, but from inside the arithmetic (an invalid reshape, int - None).
    assert_raises_like_torch(call, pattern)


def _repeat(t, times):
    return None if t is None else t.repeat(times)


HALF_NORMS = {
    "batch_norm": lambda lib, x, w, b: lib.nn.functional.batch_norm(x, None, None, w, b,
                                                                    training=True),
    "batch_norm eval": lambda lib, x, w, b: lib.nn.functional.batch_norm(
        x, lib.tensor([0.1, -0.2, 0.3], dtype=lib.float16),
        lib.tensor([0.5, 1.5, 2.5], dtype=lib.float16), w, b),
    "layer_norm": lambda lib, x, w, b: lib.nn.functional.layer_norm(x, (6,), _repeat(w, 2),
                                                                    _repeat(b, 2)),
    "group_norm": lambda lib, x, w, b: lib.nn.functional.group_norm(x, 3, w, b),
    "instance_norm": lambda lib, x, w, b: lib.nn.functional.instance_norm(x, weight=w, bias=b),
}


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("norm", HALF_NORMS)
def test_float16_normalisations_give_pytorchs_bits(norm, affine):
    # PyTorch computes a float16 normalisation in float32 and rounds once (batch and instance
    # norm with the batch mean and 1/std rounded to float16 first); chainrule rounded every
    # step to float16, and about half the values were off by up to hundreds of ulps.
    x = (rng().normal(size=(8, 3, 6)) * 3 + 1).astype(np.float16)
    w = (rng(1).random(3) + 0.5).astype(np.float16) if affine else None
    b = rng(2).normal(size=3).astype(np.float16) if affine else None

    def run(lib):
        weight, bias = (None, None) if w is None else (lib.tensor(w), lib.tensor(b))
        return HALF_NORMS[norm](lib, lib.tensor(x), weight, bias).numpy()

    ours, theirs = run(cr), run(torch)
    assert ours.dtype == theirs.dtype == np.float16
    np.testing.assert_array_equal(ours, theirs)


def test_float16_batch_norm_updates_float16_running_statistics_like_torch():
    x = (rng().normal(size=(8, 3, 6)) * 3 + 1).astype(np.float16)
    stats = rng(1).normal(size=3).astype(np.float16), (rng(2).random(3) + 0.5).astype(np.float16)
    ours, theirs = [cr.tensor(s) for s in stats], [torch.tensor(s) for s in stats]
    cr.nn.functional.batch_norm(cr.tensor(x), *ours, training=True, momentum=0.3)
    torch.nn.functional.batch_norm(torch.tensor(x), *theirs, training=True, momentum=0.3)
    for o, t in zip(ours, theirs):
        assert o.dtype == cr.float16
        np.testing.assert_array_equal(o.numpy(), t.numpy())
