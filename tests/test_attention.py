"""Attention against PyTorch: F.scaled_dot_product_attention (values and every input's
gradient, masks, causal, GQA, fully masked rows, central differences, errors) and
nn.MultiheadAttention with the weights copied from the torch module (outputs, attention
weights, every parameter and input gradient, layouts, masks, kdim/vdim, default init)."""
import itertools

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ArgumentError, ShapeError
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")


def tolerance(dtype):
    return 3e-5 if dtype == np.float32 else 1e-11


def assert_same(ours, theirs, dtype):
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if b is None:
            assert a is None, k
            continue
        assert a.shape == b.shape, k
        tol = tolerance(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol, err_msg=f"item {k}")


def both(fn_ours, fn_theirs, arrays, grads=None, constants=(), seed=3):
    """Run each library's function on the same arrays (those in ``grads`` require grad) and
    backward one random upstream gradient per output; returns (ours, theirs), each the
    outputs then the gradients of the inputs that require grad."""
    grads = range(len(arrays)) if grads is None else grads
    results = []
    for lib, fn in ((cr, fn_ours), (torch, fn_theirs)):
        rng = np.random.default_rng(seed)
        inputs = [lib.tensor(a.copy(), requires_grad=k in grads and a.dtype.kind == "f")
                  for k, a in enumerate(arrays)]
        outputs = fn(*inputs)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        total = 0
        for out in outputs:
            if out is not None:
                upstream = rng.standard_normal(tuple(out.shape)).astype(arrays[0].dtype)
                total = total + (out * lib.tensor(upstream)).sum()
        total.backward()
        values = [None if o is None else o.detach().numpy() for o in outputs]
        results.append(values + [inputs[k].grad.numpy() for k in grads
                                 if inputs[k].requires_grad])
    return results


# -- scaled_dot_product_attention ------------------------------------------------------------

def sdpa_arrays(dtype, q_shape=(2, 3, 4, 5), k_shape=(2, 3, 6, 5), v_shape=(2, 3, 6, 7), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in (q_shape, k_shape, v_shape)]


def masks(dtype):
    rng = np.random.default_rng(5)
    bool_mask = rng.random((4, 6)) > 0.4
    bool_mask[:, 0] = True
    float_mask = rng.standard_normal((2, 1, 4, 6)).astype(dtype)
    float_mask[0, 0, 1, 2] = -np.inf
    return {"none": None, "bool": bool_mask, "float": float_mask,
            "bool_batched": rng.random((2, 3, 4, 6)) > 0.3}


SDPA_CASES = list(itertools.product(("none", "bool", "float", "bool_batched"), (False, True),
                                    (None, 0.3), (np.float32, np.float64)))


@pytest.mark.parametrize("mask, causal, scale, dtype", SDPA_CASES)
def test_sdpa_values_and_gradients_as_torch(mask, causal, scale, dtype):
    if causal and mask != "none":
        pytest.skip("is_causal with a mask is refused (tested below)")
    attn_mask = masks(dtype)[mask]
    arrays = sdpa_arrays(dtype)

    def run(lib_f, wrap):
        def fn(q, k, v):
            m = None if attn_mask is None else wrap(attn_mask)
            return lib_f.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=causal,
                                                      scale=scale)
        return fn
    assert_same(*both(run(F, cr.tensor), run(torch.nn.functional, torch.tensor), arrays), dtype)


@pytest.mark.parametrize("shapes", [
    ((4, 5), (6, 5), (6, 3)),                        # unbatched
    ((3, 4, 5), (1, 6, 5), (1, 6, 2)),               # batch broadcast
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5)),
    ((2, 2, 3, 6, 5), (2, 1, 3, 4, 5), (1, 2, 3, 4, 5)),
    ((2, 3, 6, 5), (2, 3, 4, 5), (2, 3, 4, 5)),      # L > S, causal below
])
@pytest.mark.parametrize("causal", [False, True])
def test_sdpa_shapes_as_torch(shapes, causal):
    arrays = sdpa_arrays(np.float64, *shapes)
    assert_same(*both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
                      lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
                          q, k, v, is_causal=causal), arrays), np.float64)


def test_sdpa_grouped_query_attention_as_torch():
    arrays = sdpa_arrays(np.float64, (2, 6, 4, 5), (2, 2, 3, 5), (2, 2, 3, 4))
    assert_same(*both(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                      lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
                          q, k, v, enable_gqa=True), arrays), np.float64)


@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_fully_masked_rows_give_zeros_as_torch(kind):
    mask = np.ones((4, 6), dtype=bool)
    mask[1] = False
    mask[3, 2:] = False
    if kind == "float":
        mask = np.where(mask, 0.0, -np.inf)
    arrays = sdpa_arrays(np.float64)
    ours, theirs = both(
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=cr.tensor(mask)),
        lambda q, k, v: torch.nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=torch.tensor(mask)), arrays)
    assert_same(ours, theirs, np.float64)
    assert (ours[0][:, :, 1] == 0).all() and not np.isnan(np.concatenate(
        [a.ravel() for a in ours])).any()


def test_sdpa_float_mask_gets_its_gradient():
    mask = np.random.default_rng(2).standard_normal((4, 6))
    arrays = sdpa_arrays(np.float64) + [mask]
    assert_same(*both(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                      lambda q, k, v, m: torch.nn.functional.scaled_dot_product_attention(
                          q, k, v, attn_mask=m), arrays), np.float64)


def test_sdpa_dropout_applies_whatever_the_mode():
    q, k, v = (cr.tensor(a) for a in sdpa_arrays(np.float64))
    plain = F.scaled_dot_product_attention(q, k, v)
    assert (F.scaled_dot_product_attention(q, k, v, dropout_p=0.0) == plain).all()
    assert (F.scaled_dot_product_attention(q, k, v, dropout_p=1.0) == 0).all()
    cr.manual_seed(0)
    dropped = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert not np.allclose(dropped.numpy(), plain.numpy())
    # Dropping weights at random, scaled by 1/(1-p): the mean over many draws is the plain output.
    ones = cr.ones(1, 200, 50, 1, dtype="float64")
    mean = F.scaled_dot_product_attention(cr.ones(1, 200, 1, 1, dtype="float64"), ones, ones,
                                          dropout_p=0.5).mean().item()
    assert abs(mean - 1) < 0.05


def test_sdpa_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(0)
    q, k, v = (cr.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((1, 2, 3, 2), (1, 2, 4, 2), (1, 2, 4, 3)))
    mask = np.array([[1, 0, 1, 1], [0, 0, 0, 0], [1, 1, 0, 1]], dtype=bool)

    def masked(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    def causal(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.7)
    for fn in (masked, causal):
        assert cr.gradcheck(fn, [q, k, v])
        assert cr.gradgradcheck(fn, [q, k, v])


@pytest.mark.parametrize("shapes, options, error, words", [
    (((2, 3, 4, 5), (2, 3, 6, 4), (2, 3, 6, 5)), {}, ShapeError, "last dimension 5"),
    (((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 5, 5)), {}, ShapeError, "key has 6 positions"),
    (((5,), (5,), (5,)), {}, ShapeError, "at least 2-D"),
    (((2, 4, 5), (3, 6, 5), (3, 6, 5)), {}, ShapeError, "do not broadcast"),
    (((2, 4, 5), (2, 6, 5), (2, 6, 5)), {"attn_mask": np.ones((3, 6), bool)}, ShapeError,
     "attn_mask of shape (3, 6)"),
    (((2, 4, 5), (2, 6, 5), (2, 6, 5)), {"attn_mask": np.ones((4, 6), int)}, ArgumentError,
     "bool or float"),
    (((2, 4, 5), (2, 6, 5), (2, 6, 5)), {"attn_mask": np.ones((4, 6), bool),
                                         "is_causal": True}, ArgumentError, "is_causal"),
    (((2, 4, 5), (2, 6, 5), (2, 6, 5)), {"dropout_p": 1.5}, ArgumentError, "dropout_p"),
    (((2, 3, 4, 5), (2, 2, 6, 5), (2, 2, 6, 5)), {"enable_gqa": True}, ShapeError, "divide"),
])
def test_sdpa_errors_name_the_op_and_shapes(shapes, options, error, words):
    q, k, v = (cr.ones(*s, dtype="float64") for s in shapes)
    with pytest.raises(error, match="scaled_dot_product_attention") as caught:
        F.scaled_dot_product_attention(q, k, v, **options)
    assert words in str(caught.value)
    assert isinstance(caught.value, RuntimeError)  # PyTorch's class for each of these
    tq, tk, tv = (torch.ones(*s, dtype=torch.float64) for s in shapes)
    topts = {key: torch.tensor(val) if isinstance(val, np.ndarray) else val
             for key, val in options.items()}
    if shapes[0] != (5,) and "dropout_p" not in options and "key has" not in words:
        with pytest.raises(RuntimeError):
            torch.nn.functional.scaled_dot_product_attention(tq.requires_grad_(), tk, tv,
                                                             **topts)


def test_sdpa_mixed_dtypes_are_refused():
    with pytest.raises(RuntimeError, match="same float dtype"):
        F.scaled_dot_product_attention(cr.ones(2, 3), cr.ones(2, 3, dtype="float64"),
                                       cr.ones(2, 3))
