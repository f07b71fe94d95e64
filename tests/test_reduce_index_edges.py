"""Reductions, selection, sorting and indexing at their edges, against PyTorch: values, dtypes,
shapes and gradients (with a random upstream gradient), or PyTorch's refusal where it refuses."""
import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _run(M, call, arrays):
    leaves = [M.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = call(M, *leaves)
    outs = list(out) if isinstance(out, tuple) else [out]
    upstream = np.random.default_rng(1)
    total = None
    for o in outs:
        if o.requires_grad:
            weight = upstream.standard_normal(tuple(o.shape)).astype(str(o.dtype).split(".")[-1])
            term = (o * M.tensor(weight)).sum()
            total = term if total is None else total + term
    if total is not None:
        total.backward()
    values = [np.asarray(o.detach().numpy()) for o in outs]
    grads = [None if t.grad is None else t.grad.numpy() for t in leaves if t.requires_grad]
    return values, grads


def assert_like_torch(call, *arrays):
    """call(M, *tensors) gives PyTorch's values, dtypes, shapes and input gradients."""
    want_values, want_grads = _run(torch, call, arrays)
    got_values, got_grads = _run(cr, call, arrays)
    for got, want in zip(got_values, want_values, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **_tolerance(want))
    for got, want in zip(got_grads, want_grads, strict=True):
        if want is None:
            assert got is None or not got.any()
            continue
        assert got is not None and got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **_tolerance(want))


def _tolerance(want):
    return dict(rtol=1e-5, atol=1e-6) if want.dtype == np.float32 else dict(rtol=1e-9, atol=1e-12)


def assert_both_refuse(call, *arrays, match):
    with pytest.raises((RuntimeError, IndexError)):
        _run(torch, call, arrays)
    with pytest.raises((RuntimeError, IndexError), match=match):
        _run(cr, call, arrays)


X34 = np.random.default_rng(0).standard_normal((3, 4))


# -- var / std with N - correction <= 0 over given dims -----------------------------------------

@pytest.mark.parametrize("op", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("dim,correction", [(0, 3), (1, 4), (0, 4), (0, 5), (1, 6), ((0, 1), 12),
                                            ((0, 1), 13)])
def test_var_and_std_gradient_at_a_nonpositive_divisor_over_dims_is_pytorchs(op, dim, correction):
    # PyTorch: 2 / (N - correction) * (x - mean), signed inf at a zero divisor, a finite slope
    # at a negative one (chainrule gave +inf everywhere, and NaN through std).
    assert_like_torch(lambda M, x: getattr(M, op)(x, dim=dim, correction=correction), X34)


@pytest.mark.parametrize("op", ["var", "std"])
def test_var_and_std_over_every_element_at_a_zero_divisor_stay_pytorchs(op):
    assert_like_torch(lambda M, x: getattr(M, op)(x, correction=12), X34)


# -- norms with negative p ----------------------------------------------------------------------

NORM_INPUTS = [np.array([[0.0, 0.0], [0.0, 3.0]]), np.array([[0.0, -2.0], [1e-3, 4.0]]),
               np.zeros((2, 2)), np.array([[0.0, np.nan], [2.0, 3.0]])]


@pytest.mark.parametrize("p", [-1, -0.5, -2, -3.5])
@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("x", NORM_INPUTS, ids=["one-zero", "zero-and-small", "zeros", "nan"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_negative_p_norm_of_a_slice_with_a_zero_is_zero(p, dim, x, dtype):
    # |0|^p is inf for p < 0, so the norm is 0 (chainrule left zeros out and gave 3 for [0, 3]).
    assert_like_torch(lambda M, t: M.linalg.vector_norm(t, ord=p, dim=dim), x.astype(dtype))
    assert_like_torch(lambda M, t: M.norm(t, p=p, dim=dim), x.astype(dtype))


@pytest.mark.parametrize("dim", [None, 0, (0, 1)])
def test_a_negative_p_norm_over_an_empty_dim_is_refused(dim):
    # PyTorch: no identity; chainrule gave 0.
    assert_both_refuse(lambda M, t: M.linalg.vector_norm(t, ord=-2, dim=dim), np.zeros((0, 2)),
                       match=r"norm.*\(0, 2\)")
    assert_like_torch(lambda M, t: M.linalg.vector_norm(t, ord=-2, dim=1), np.zeros((0, 2)))


# -- unique / unique_consecutive along a dim of an empty tensor ----------------------------------

def _unique_outputs(M, op, x, dim):
    return getattr(M, op)(M.tensor(x), dim=dim, return_inverse=True, return_counts=True)


@pytest.mark.parametrize("op", ["unique", "unique_consecutive"])
@pytest.mark.parametrize("shape,dim", [((0, 3), 0), ((0,), 0), ((2, 0, 3), 1)])
def test_unique_along_the_one_empty_dim_is_pytorchs(op, shape, dim):
    # unique_consecutive(dim=) of an empty tensor failed inside NumPy's reshape.
    x = np.zeros(shape)
    for got, want in zip(_unique_outputs(cr, op, x, dim), _unique_outputs(torch, op, x, dim),
                         strict=True):
        assert got.numpy().dtype == want.numpy().dtype and tuple(got.shape) == tuple(want.shape)


@pytest.mark.parametrize("op", ["unique", "unique_consecutive"])
@pytest.mark.parametrize("shape,dim", [((3, 0), 0), ((0, 3), 1), ((2, 0, 3), 2), ((0, 0), 0)])
def test_unique_along_a_dim_beside_an_empty_one_is_refused(op, shape, dim):
    # PyTorch refuses; chainrule answered with one empty slice.
    x = np.zeros(shape)
    with pytest.raises(RuntimeError):
        _unique_outputs(torch, op, x, dim)
    with pytest.raises(RuntimeError, match=rf"{op}: .*shape \({shape[0]}, {shape[1]}"):
        _unique_outputs(cr, op, x, dim)


# -- a negative index where PyTorch refuses one ------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda M, x: M.index_select(x, 0, M.tensor([-1, 0])),
    lambda M, x: M.index_select(x, 1, M.tensor([0, -4])),
    lambda M, x: M.index_copy(x, 0, M.tensor([-1]), M.ones(1, 4, dtype=M.float64)),
    lambda M, x: M.index_select(x, 0, M.tensor([3])),
], ids=["index_select", "index_select-dim1", "index_copy", "index_select-past-the-end"])
def test_a_negative_index_is_refused_where_pytorch_refuses_it(call):
    # chainrule counted -1 from the end, a silently different slice.
    assert_both_refuse(call, X34, match=r"index_(select|copy): index -?\d+ is out of range.*\(3, 4\)")


def test_index_fill_still_counts_a_negative_index_from_the_end():
    assert_like_torch(lambda M, x: M.index_fill(x, 0, M.tensor([-1, 0]), -1.5), X34)
    assert_both_refuse(lambda M, x: M.index_fill(x, 0, M.tensor([-4]), -1.5), X34,
                       match=r"index_fill: index -4 is out of range")


def test_masked_fill_broadcasts_the_tensor_with_the_mask():
    # PyTorch's out-of-place masked_fill broadcasts both; chainrule refused a (4,) tensor with a
    # (3, 4) mask. In place, the tensor cannot grow, and both refuse.
    mask = X34 > 0
    assert_like_torch(lambda M, x: M.masked_fill(x, M.tensor(mask), -2.0), X34[0])
    assert_like_torch(lambda M, x, v: M.masked_fill(x, M.tensor(mask), v), X34[0], np.array(3.0))
    assert_both_refuse(lambda M, x: x.clone().masked_fill_(M.tensor(mask), -2.0), X34[0],
                       match=r"masked_fill_.*\(4,\)")


@pytest.mark.parametrize("shape,chunks,dim", [((0, 3), 2, 0), ((0, 3), 5, -2), ((0,), 3, 0),
                                              ((0, 3), 2, 1), ((3, 0), 2, 0)])
def test_chunk_of_an_empty_dim_gives_chunks_empty_pieces(shape, chunks, dim):
    # PyTorch gives `chunks` empty pieces; chainrule gave one.
    assert_like_torch(lambda M, x: M.chunk(x, chunks, dim), np.zeros(shape))


# -- a uint8 index is a mask, as in PyTorch -----------------------------------------------------

UINT8_ROWS = np.array([1, 0, 1], dtype=np.uint8)


@pytest.mark.parametrize("call", [
    lambda M, x, v: x[M.tensor(UINT8_ROWS)] * v,
    lambda M, x, v: x[:, M.tensor(np.array([1, 0, 0, 1], dtype=np.uint8))] * v[:2],
    lambda M, x, v: M.index_put(x, (M.tensor(UINT8_ROWS),), v),
    lambda M, x, v: M.index_put(x, (M.tensor(UINT8_ROWS),), v, accumulate=True),
], ids=["getitem", "getitem-columns", "index_put", "index_put-accumulate"])
@pytest.mark.filterwarnings("ignore:indexing with dtype")
def test_a_uint8_index_reads_as_a_bool_mask(call):
    # chainrule read [1, 0, 1] as rows 1, 0, 1 (NumPy's integer indexing); PyTorch as rows 0, 2.
    assert_like_torch(call, X34, np.random.default_rng(2).standard_normal(4))


def test_setitem_with_a_uint8_index_writes_where_the_mask_is_true():
    def call(M, x, v):
        y = x * 1
        with pytest.warns(UserWarning, match="uint8"):
            y[M.tensor(UINT8_ROWS)] = v
        return y
    assert_like_torch(call, X34, np.random.default_rng(2).standard_normal(4))


@pytest.mark.parametrize("op", ["argmax", "argmin"])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (5,)])
def test_argmax_of_every_element_with_keepdim_keeps_every_dim(op, shape):
    # PyTorch: shape (1, 1) for a (3, 4) input; chainrule gave a 0-d tensor.
    x = np.random.default_rng(3).standard_normal(shape)
    assert_like_torch(lambda M, t: getattr(M, op)(t, keepdim=True), x)
    assert_like_torch(lambda M, t: getattr(t, op)(dim=None, keepdim=True), x)


@pytest.mark.parametrize("op", ["any", "all"])
@pytest.mark.parametrize("dim", [(0,), [-1], 0, (), None])
@pytest.mark.parametrize("keepdim", [False, True])
def test_any_and_all_of_a_0d_tensor_take_its_one_dim(op, dim, keepdim):
    # chainrule refused dim=(0,) of a 0-d tensor (NumPy has no axis 0 there); dim=() keeps
    # every element, as PyTorch's any/all (unlike sum's dim=()).
    for x in (np.array(2.0), np.array(0.0), X34):
        if dim is None and keepdim:
            continue
        kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
        assert_like_torch(lambda M, t: getattr(M, op)(t, **kwargs), x)


# -- spellings PyTorch accepts that chainrule refused with a TypeError ---------------------------

@pytest.mark.parametrize("sections", [[1, 5, 2], [0], [], [-1], (2,), [-3, 2]])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_tensor_split_at_a_list_of_indices(sections, dim):
    assert_like_torch(lambda M, x: M.tensor_split(x, sections, dim), X34)
    assert_like_torch(lambda M, x: M.tensor_split(x, M.tensor(sections, dtype=M.int64), dim), X34)


@pytest.mark.parametrize("index", [np.array([0, 11, 5]), np.array([[1, 2], [3, 11]])])
def test_take_along_dim_without_dim_reads_the_flattened_tensor(index):
    assert_like_torch(lambda M, x: M.take_along_dim(x, M.tensor(index)), X34)


def test_repeat_interleave_of_repeats_alone_and_with_output_size():
    for M in (cr, torch):
        assert M.repeat_interleave(M.tensor([1, 0, 3])).tolist() == [0, 2, 2, 2]
    assert_like_torch(lambda M, x: M.repeat_interleave(x, M.tensor([1, 0, 2]), dim=0,
                                                       output_size=3), X34)
    assert_both_refuse(lambda M, x: M.repeat_interleave(x, 2, dim=0, output_size=5), X34,
                       match="repeat_interleave: output_size 5")


# -- setitem with values that carry leading 1s --------------------------------------------------

SETITEM_CASES = [((0,), (1, 4)), ((0,), (1, 1, 4)), ((0, 0), (1, 1)), ((slice(None), 0), (1, 3)),
                 ((np.array([0, 2]),), (1, 1, 1)), ((X34 > 0,), (1, int((X34 > 0).sum())))]


@pytest.mark.parametrize("key,value_shape", SETITEM_CASES)
@pytest.mark.parametrize("in_graph", [False, True])
def test_setitem_drops_the_values_leading_ones_as_pytorch(key, value_shape, in_graph):
    # PyTorch drops them; chainrule's NumPy write refused (1, 1) into one element and a 2-D
    # value at a mask, and inside the graph the gradient of a (1, 4) row could not be reduced.
    def call(M, x, v):
        y = x * 1 if in_graph else x.detach().clone()
        y[tuple(M.tensor(k) if isinstance(k, np.ndarray) else k for k in key)] = (
            v if in_graph else v.detach())
        return y
    assert_like_torch(call, X34, np.random.default_rng(4).standard_normal(value_shape))


# -- accumulation width as PyTorch's CPU kernels -----------------------------------------------

def test_cumsum_of_float32_is_accumulated_in_float64_as_pytorch():
    # A million numbers in [0, 1): chainrule's float32 running sum drifted by 11 at the end;
    # PyTorch's CPU kernel accumulates in float64 and rounds each result once.
    x = np.random.default_rng(0).random(1_000_000).astype(np.float32)
    np.testing.assert_array_equal(cr.cumsum(cr.tensor(x), 0).numpy(),
                                  torch.cumsum(torch.tensor(x), 0).numpy())
    y = (np.random.default_rng(1).random((30, 300)) + 0.5).astype(np.float32)
    np.testing.assert_array_equal(cr.cumprod(cr.tensor(y), 1).numpy(),
                                  torch.cumprod(torch.tensor(y), 1).numpy())


@pytest.mark.parametrize("p", [2, 1, 3, float("inf"), -1, 0.5])
@pytest.mark.parametrize("dim", [None, 1])
def test_a_float16_norm_is_accumulated_in_float32(p, dim):
    # The squares of a 2-norm of 408 overflow float16: chainrule gave inf.
    x = (np.random.default_rng(0).random((50, 100)) * 10).astype(np.float16)
    got = cr.linalg.vector_norm(cr.tensor(x), ord=p, dim=dim)
    want = torch.linalg.vector_norm(torch.tensor(x), ord=p, dim=dim)
    assert got.dtype == cr.float16
    np.testing.assert_allclose(got.numpy().astype(np.float32), want.numpy().astype(np.float32),
                               rtol=1e-3)


# -- index tuples whose axis order NumPy and PyTorch disagree on -----------------------------------

X345 = np.arange(60.0).reshape(3, 4, 5)


@pytest.mark.parametrize("key", [
    lambda M: (M.tensor(2), M.tensor([0, 1])),
    lambda M: (M.tensor(1), M.tensor([0, 1]), slice(None)),
    lambda M: (slice(None), np.int64(1), M.tensor([0, 1])),
    lambda M: (M.tensor(1), slice(None), M.tensor([0, 1])),
    lambda M: (np.int64(1), slice(None), M.tensor([0, 1])),
    lambda M: (1, slice(None), M.tensor([0, 2, 2])),
    lambda M: (1, slice(None), [0, 2]),
    lambda M: (1, None, M.tensor([True, False, True, True])),
    lambda M: (0, slice(None), M.tensor([True, False, True, True, False])),
    lambda M: (1, slice(None, None, 2), True),
    lambda M: (-1, slice(1, 3), False),
    lambda M: (M.tensor([[0], [1]]), Ellipsis, -1),
    lambda M: (2, slice(None, None, 2), M.tensor([[0], [1]])),
], ids=["0-d-adjacent", "0-d-then-slice", "numpy-int", "0-d-tensor-apart", "numpy-int-apart",
        "int-slice-array", "int-slice-list", "int-none-mask", "int-slice-mask", "int-slice-true",
        "int-slice-false", "array-ellipsis-int", "int-step-2d-array"])
def test_integers_and_index_arrays_order_the_axes_as_pytorch(key):
    # PyTorch applies an integer (a 0-d integer tensor too) as a select before the index
    # arrays; NumPy moved the arrays' axes to the front when a slice separated them: (2, 4)
    # for PyTorch's (4, 2), or (3, 1, 5) for (1, 3, 5) with a mask. chainrule refused the
    # int/array case, and gave NumPy's order silently for 0-d tensors, masks, True and False.
    assert_like_torch(lambda M, x: x[key(M)], X345)

    def write(M, x, v):
        y = x * 1
        y[key(M)] = v.sum()
        return y
    assert_like_torch(write, X345, np.array(0.5))


# -- scatter's src must cover the index -------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda M, x, s: M.scatter_add(x, 1, M.tensor([[0, 1, 2]]), s),
    lambda M, x, s: M.scatter(x, 1, M.tensor([[0, 1, 2]]), s),
    lambda M, x, s: M.scatter_reduce(x, 1, M.tensor([[0, 1, 2]]), s, "amax"),
    lambda M, x, s: x.scatter_add(1, M.tensor([[0, 1, 2]]), s),
], ids=["scatter_add", "scatter", "scatter_reduce", "method"])
def test_an_index_larger_than_src_is_refused(call):
    # src of shape (3, 1) read at an index of shape (1, 3): chainrule sliced src to (1, 1) and
    # wrote its one value three times; PyTorch refuses.
    assert_both_refuse(call, X34, np.array([[1.0], [2.0], [3.0]]),
                       match=r"index of shape \(1, 3\) does not fit in src of shape \(3, 1\)")


def test_scatter_of_a_0d_src_tensor_is_checked_as_a_tensor():
    # PyTorch reads a 0-d src tensor as one element (refused for two indices) of its dtype
    # (refused if it differs); chainrule broadcast it and cast it, as if it were value=.
    assert_both_refuse(lambda M, x, s: M.scatter(x, 0, M.tensor([0, 1]), s), X34[0],
                       np.array(2.0), match="does not fit in src")
    assert_like_torch(lambda M, x, s: M.scatter(x, 0, M.tensor([1]), s), X34[0], np.array(2.0))
    for M in (cr, torch):
        with pytest.raises((RuntimeError, TypeError)):
            M.scatter(M.zeros(4), 0, M.tensor([0]), M.tensor(2.0, dtype=M.float64))


@pytest.mark.parametrize("source_shape", [(8,), (2, 4, 1), (1, 2, 4)])
def test_index_copy_refuses_a_source_of_another_dimensionality(source_shape):
    # PyTorch refuses; chainrule reshaped a source with the right number of elements silently.
    source = np.random.default_rng(5).standard_normal(source_shape)
    assert_both_refuse(lambda M, x, s: M.index_copy(x, 0, M.tensor([0, 2]), s), X34, source,
                       match=r"index_copy: source of shape")
    assert_like_torch(lambda M, x, s: M.index_copy(x, 0, M.tensor([0, 2]), s.reshape(2, 4)),
                      X34, source)


@pytest.mark.parametrize("shape,dims", [((3, 1, 4, 1), (1, 1)), ((3, 1, 4, 1), (1, -3)),
                                        ((), (0, -1))])
def test_squeeze_refuses_a_dim_named_twice(shape, dims):
    # PyTorch: "dim 1 appears multiple times in the list of dims"; chainrule squeezed once.
    assert_both_refuse(lambda M, x: M.squeeze(x, dims), np.zeros(shape),
                       match="squeeze: dim .* names a dimension twice")


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("n", [5, 16, 17, 40, 300])
def test_mode_returns_pytorchs_index_among_equal_values(seed, n):
    # PyTorch's index ends the mode's run in its std::sort's order: the last occurrence only up
    # to 16 elements. chainrule always gave the last, so for longer rows its index (and the
    # element the gradient goes to) differed, e.g. 34 where PyTorch gives 14.
    x = np.random.default_rng(seed).integers(0, 4, (3, n)).astype(np.float64)
    assert_like_torch(lambda M, t: M.mode(t, 1), x)
    assert_like_torch(lambda M, t: M.mode(t, 0), np.ascontiguousarray(x.T))
