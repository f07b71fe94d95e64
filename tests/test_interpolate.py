"""Resizing and circular padding against PyTorch: ``interpolate`` in every mode on 3-D, 4-D
and 5-D inputs (sizes, scale factors, ``recompute_scale_factor``, ``align_corners``), float64
values and gradients to 1e-10, float32 values, uint8 images bit for bit, float64 central
differences to second order, views, fan-out, in-place changes, and PyTorch's refusals;
``pad(mode="circular")`` with negative amounts and the refusal to wrap more than once."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
from program_gen import compare_tensors  # noqa: E402  (imports torch)

TF = torch.nn.functional
SPATIAL_MODES = {1: ["nearest", "nearest-exact", "area", "linear"],
                 2: ["nearest", "nearest-exact", "area", "bilinear", "bicubic"],
                 3: ["nearest", "nearest-exact", "area", "trilinear"]}
LINEAR = ("linear", "bilinear", "bicubic", "trilinear")


def _configs(count=40, seed=0):
    """Random resizes: 1 to 3 spatial dimensions of odd and even sizes (1 included), batch 1
    and 2, by size, by one or per-dimension scale factors, recomputed or not."""
    rng = np.random.default_rng(seed)
    found = []
    for k in range(count):
        spatial = k % 3 + 1
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + tuple(
            int(v) for v in rng.integers(1, 7, size=spatial))
        mode = SPATIAL_MODES[spatial][k // 3 % len(SPATIAL_MODES[spatial])]
        choice = k % 4
        factors = tuple(float(rng.choice([0.5, 0.7, 1.0, 1.3, 1.5, 2.0, 2.5, 3.0]))
                        for _ in range(spatial))
        if choice == 0:
            options = dict(size=tuple(int(v) for v in rng.integers(1, 9, size=spatial)))
        elif choice == 1:
            options = dict(scale_factor=factors)
        elif choice == 2:
            options = dict(scale_factor=factors, recompute_scale_factor=True)
        else:
            options = dict(scale_factor=factors[0])
        sizes = options.get("size") or [math.floor(n * f) for n, f in zip(
            shape[2:], factors if choice != 3 else [factors[0]] * spatial)]
        if min(sizes) < 1:
            continue
        for corners in ((False, True) if mode in LINEAR else (None,)):
            found.append((shape, mode, dict(options, align_corners=corners)))
    return found


CONFIGS = _configs()


def _ids(cfg):
    shape, mode, options = cfg
    return f"{mode}-{shape}-{options}"


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_ids(c) for c in CONFIGS])
def test_values_and_gradients_match_pytorch(cfg):
    shape, mode, options = cfg
    x = np.random.default_rng(1).normal(size=shape)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    c_out = F.interpolate(ours, mode=mode, **options)
    t_out = TF.interpolate(theirs, mode=mode, **options)
    assert compare_tensors(c_out, t_out, "output") is None, compare_tensors(c_out, t_out, "output")
    weights = np.random.default_rng(2).normal(size=tuple(t_out.shape))
    (c_out * cr.tensor(weights)).sum().backward()
    (t_out * torch.tensor(weights)).sum().backward()
    assert compare_tensors(ours.grad, theirs.grad, "x.grad") is None, \
        compare_tensors(ours.grad, theirs.grad, "x.grad")
    single = x.astype(np.float32)
    problem = compare_tensors(F.interpolate(cr.tensor(single), mode=mode, **options),
                              TF.interpolate(torch.tensor(single), mode=mode, **options),
                              "float32 output")
    assert problem is None, str(problem)


@pytest.mark.parametrize("cfg", CONFIGS[::3], ids=[_ids(c) for c in CONFIGS[::3]])
def test_first_and_second_derivatives_match_central_differences(cfg):
    shape, mode, options = cfg
    x = cr.tensor(np.random.default_rng(3).normal(size=(1, 1) + shape[2:]), requires_grad=True)
    fn = lambda x: F.interpolate(x, mode=mode, **options)  # noqa: E731
    assert cr.gradcheck(fn, [x])
    assert cr.gradgradcheck(fn, [x], atol=1e-4, rtol=1e-3)


def _uint8_cases():
    rng = np.random.default_rng(4)
    cases = []
    for k in range(36):
        channels = [1, 2, 3, 4, 5, 6][k % 6]
        h, w = (int(v) for v in rng.integers(1, 9, size=2))
        mode = ["bilinear", "bicubic", "nearest", "nearest-exact"][k % 4]
        if k % 3 == 0:
            options = dict(size=tuple(int(v) for v in rng.integers(1, 13, size=2)))
        else:
            options = dict(scale_factor=tuple(float(rng.choice([0.5, 0.8, 1.2, 1.7, 2.0, 3.0]))
                                              for _ in range(2)))
        if mode in ("bilinear", "bicubic"):
            options["align_corners"] = bool(k % 2)
        cases.append(((int(rng.integers(1, 3)), channels, h, w), mode, options))
    return cases


@pytest.mark.parametrize("cfg", _uint8_cases(), ids=_ids)
def test_uint8_images_resize_bit_for_bit_as_pytorch(cfg):
    # PyTorch rounds uint8 resizes through int16 weights and a uint8 intermediate (width
    # first), which differs from rounding the float result in about 1 pixel in 10.
    shape, mode, options = cfg
    x = np.random.default_rng(5).integers(0, 256, size=shape).astype(np.uint8)
    if min(math.floor(n * f) for n, f in zip(shape[2:], options.get("scale_factor", (1, 1)))) < 1:
        with pytest.raises(RuntimeError):
            TF.interpolate(torch.tensor(x), mode=mode, **options)
        with pytest.raises(RuntimeError, match="sizes must be greater than 0"):
            F.interpolate(cr.tensor(x), mode=mode, **options)
        return
    ours = F.interpolate(cr.tensor(x), mode=mode, **options)
    out = tuple(ours.shape[2:])
    if shape[1] > 4 and out[1] == 1 and mode in ("bilinear", "bicubic"):
        # PyTorch 2.x's generic uint8 kernel (more than 4 channels) gets an output width of 1
        # wrong:
        # its answer is off the float result by up to 255. The float result, rounded, is the
        # reference here.
        exact = TF.interpolate(torch.tensor(x).double(), mode=mode, **options).numpy()
        assert np.abs(ours.numpy().astype(float) - exact).max() <= 1.0
        return
    theirs = TF.interpolate(torch.tensor(x), mode=mode, **options)
    assert ours.dtype == np.uint8
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_uint8_bilinear_rounds_as_pytorch_where_rounding_the_floats_does_not():
    x = np.random.default_rng(6).integers(0, 256, size=(2, 3, 10, 10)).astype(np.uint8)
    theirs = TF.interpolate(torch.tensor(x), size=(7, 13), mode="bilinear").numpy()
    rounded = np.round(TF.interpolate(torch.tensor(x).double(), size=(7, 13),
                                      mode="bilinear").numpy())
    assert (rounded != theirs).any()  # the case the issue found: plain rounding is not enough
    np.testing.assert_array_equal(F.interpolate(cr.tensor(x), size=(7, 13), mode="bilinear")
                                  .numpy(), theirs)


def test_views_fan_out_and_in_place_changes_after_the_op():
    x = np.random.default_rng(7).normal(size=(2, 3, 4, 5))
    grads = []
    for library in (cr, torch):
        leaf = library.tensor(x, requires_grad=True)
        base = leaf * 1
        view = base.transpose(2, 3)[:, 1:]  # non-contiguous
        functional = F if library is cr else TF
        out = (functional.interpolate(view, size=(3, 7), mode="bilinear") * 2).sum() + \
            functional.interpolate(view, scale_factor=2, mode="nearest-exact").sum()
        base.add_(1.0)  # after the op: the resize saved nothing of it, in both libraries
        out.backward()
        grads.append(leaf.grad)
    assert compare_tensors(grads[0], grads[1], "x.grad") is None


def test_empty_batch_resizes_as_pytorch():
    for mode, options in (("bilinear", dict(size=(3, 4))), ("nearest", dict(scale_factor=2))):
        ours = F.interpolate(cr.zeros(0, 2, 3, 3), mode=mode, **options)
        theirs = TF.interpolate(torch.zeros(0, 2, 3, 3), mode=mode, **options)
        assert tuple(ours.shape) == tuple(theirs.shape)


@pytest.mark.parametrize("call, error", [
    (lambda M, x: M.interpolate(x, size=4, mode="nearest", antialias=True), ValueError),
    (lambda M, x: M.interpolate(x, size=4, mode="linear"), NotImplementedError),
    (lambda M, x: M.interpolate(x, size=4, mode="trilinear"), NotImplementedError),
    (lambda M, x: M.interpolate(x, size=(4, 4, 4), mode="trilinear"), ValueError),
    (lambda M, x: M.interpolate(x, size=0), RuntimeError),
    (lambda M, x: M.interpolate(x[0, 0], size=4), NotImplementedError),
    (lambda M, x: M.interpolate(x, size=4, scale_factor=2), ValueError),
    (lambda M, x: M.interpolate(x), ValueError),
    (lambda M, x: M.interpolate(x, size=4, recompute_scale_factor=True), ValueError),
    (lambda M, x: M.interpolate(x, size=4, align_corners=True), ValueError),
    (lambda M, x: M.interpolate(x, size=(4, 4, 4)), ValueError),
    (lambda M, x: M.interpolate(x, size=4, mode="cubic"), NotImplementedError),
    (lambda M, x: M.interpolate(x.long(), size=4, mode="bilinear"), NotImplementedError),
])
def test_refusals_are_pytorchs(call, error):
    with pytest.raises(error):
        call(TF, torch.ones(1, 1, 3, 3))
    with pytest.raises(error, match="interpolate"):
        call(F, cr.ones(1, 1, 3, 3))


def test_antialias_is_refused_by_name():
    with pytest.raises(NotImplementedError, match="antialias=True is not supported"):
        F.interpolate(cr.ones(1, 1, 8, 8), size=3, mode="bilinear", antialias=True)


# -- circular padding --------------------------------------------------------------------

def test_circular_padding_with_negative_amounts_matches_pytorch_everywhere_it_answers():
    for n in range(1, 6):
        x = np.arange(float(n)).reshape(1, 1, n) + 1
        for before in range(-n, n + 1):
            for after in range(-n, n + 1):
                kept = n - max(0, -before) - max(0, -after)
                if kept < 0 or max(before, after) > kept:
                    # PyTorch refuses some of these and returns uninitialised memory for
                    # others (a crop to nothing, then a pad): chainrule refuses all.
                    with pytest.raises(RuntimeError, match="circular"):
                        F.pad(cr.tensor(x), (before, after), mode="circular")
                    continue
                theirs = TF.pad(torch.tensor(x), (before, after), mode="circular").numpy()
                ours = F.pad(cr.tensor(x), (before, after), mode="circular").numpy()
                np.testing.assert_array_equal(ours, theirs, err_msg=f"{(before, after)}")


def test_wrapping_more_than_once_is_refused_as_in_pytorch():
    with pytest.raises(RuntimeError, match="wrapping around more than once"):
        TF.pad(torch.ones(1, 1, 3), (4, 0), mode="circular")
    with pytest.raises(RuntimeError, match=r"pad: circular padding \(4, 0\) of dimension 2 "
                                           r"wraps around more than once"):
        F.pad(cr.ones(1, 1, 3), (4, 0), mode="circular")


def test_circular_padding_gradients_in_two_dimensions():
    x = np.random.default_rng(8).normal(size=(2, 1, 4, 5))
    pads = (2, -1, -1, 3)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    c_out, t_out = F.pad(ours, pads, mode="circular"), TF.pad(theirs, pads, mode="circular")
    assert compare_tensors(c_out, t_out, "output") is None
    weights = np.random.default_rng(9).normal(size=tuple(t_out.shape))
    (c_out * cr.tensor(weights)).sum().backward()
    (t_out * torch.tensor(weights)).sum().backward()
    assert compare_tensors(ours.grad, theirs.grad, "x.grad") is None
    leaf = cr.tensor(x, requires_grad=True)
    assert cr.gradcheck(lambda x: F.pad(x, pads, mode="circular"), [leaf])
    assert cr.gradgradcheck(lambda x: F.pad(x, pads, mode="circular") ** 2, [leaf])


@pytest.mark.parametrize("cfg", CONFIGS[::2], ids=[_ids(c) for c in CONFIGS[::2]])
def test_inf_and_nan_reach_the_outputs_that_read_them_as_in_pytorch(cfg):
    # Each output reads only its taps, so an inf or NaN spreads exactly as far as in PyTorch
    # (a product with an interpolation matrix would spread it along whole rows).
    shape, mode, options = cfg
    rng = np.random.default_rng(10)
    x = rng.normal(size=shape)
    where = rng.random(shape)
    x[where < 0.1], x[where > 0.93] = np.inf, np.nan
    x[(where > 0.1) & (where < 0.15)] = -np.inf
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    c_out = F.interpolate(ours, mode=mode, **options)
    t_out = TF.interpolate(theirs, mode=mode, **options)
    np.testing.assert_array_equal(np.isnan(c_out.detach().numpy()),
                                  np.isnan(t_out.detach().numpy()))
    np.testing.assert_allclose(c_out.detach().numpy(), t_out.detach().numpy(), rtol=1e-10)
    weights = rng.normal(size=tuple(t_out.shape))
    c_out.backward(cr.tensor(weights))
    t_out.backward(torch.tensor(weights))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bicubic_to_the_same_size_by_a_scale_factor_differentiates_its_own_forward():
    # PyTorch's bicubic backward copies the gradient whenever the size does not change, even
    # when a scale factor (1.1 here) made the forward interpolate: its gradient then does not
    # belong to its forward. chainrule differentiates the forward it computed.
    x = np.random.default_rng(11).normal(size=(1, 1, 5, 5))
    theirs = torch.tensor(x, requires_grad=True)
    out = TF.interpolate(theirs, scale_factor=1.1, mode="bicubic")
    out.backward(torch.ones_like(out))
    assert not np.allclose(out.detach().numpy(), x)  # not a copy...
    np.testing.assert_array_equal(theirs.grad.numpy(), np.ones_like(x))  # ...differentiated as one
    leaf = cr.tensor(x, requires_grad=True)
    np.testing.assert_allclose(F.interpolate(cr.tensor(x), scale_factor=1.1, mode="bicubic")
                               .numpy(), out.detach().numpy(), rtol=1e-10)
    assert cr.gradcheck(lambda x: F.interpolate(x, scale_factor=1.1, mode="bicubic"), [leaf])


def test_area_to_an_empty_size_and_empty_batches_differentiate():
    # PyTorch resizes to an empty size but cannot backpropagate through it (its adaptive
    # pooling backward refuses an empty gradient); chainrule's gradient is zero, as it must be.
    x = np.random.default_rng(12).normal(size=(1, 2, 3, 1))
    theirs = TF.interpolate(torch.tensor(x, requires_grad=True), scale_factor=0.5, mode="area")
    with pytest.raises(RuntimeError):
        theirs.sum().backward()
    leaf = cr.tensor(x, requires_grad=True)
    ours = F.interpolate(leaf, scale_factor=0.5, mode="area")
    assert tuple(ours.shape) == tuple(theirs.shape) == (1, 2, 1, 0)
    ours.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), np.zeros_like(x))
    empty = cr.zeros(0, 2, 3, 4, requires_grad=True)
    F.interpolate(empty, size=(5, 2), mode="bicubic").sum().backward()
    assert tuple(empty.grad.shape) == (0, 2, 3, 4)
