"""Edge cases of the sequence and attention layers against PyTorch, computed in each test:
RNN/LSTM/GRU on a zero-length sequence and with a wrongly packed ``hx``, the cells' ``hx``;
scaled_dot_product_attention with zero-size heads (E = 0), rows of only -inf scores, masks of
another float dtype or changed after the call, GQA with unequal key and value heads;
MultiheadAttention's float masks of another dtype; one_hot of an empty tensor; Embedding's sizes
and indices changed after the call; Transformer's causal mask's arguments. Each case compares
chainrule's value and gradients with PyTorch's, or checks that chainrule refuses what PyTorch
refuses, naming the op and the shapes."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")


def copy_weights(ours, theirs):
    """PyTorch's parameters into chainrule's module, by name (the two must have the same)."""
    params = dict(theirs.named_parameters())
    assert {name for name, _ in ours.named_parameters()} == set(params)
    for name, parameter in ours.named_parameters():
        parameter._data[...] = params[name].detach().numpy()


def close(ours, theirs, tol=1e-5):
    theirs = theirs.detach().numpy()
    np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=tol, atol=tol, equal_nan=True)


# ---- recurrent layers ---------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("shape, batch_first", [((0, 2, 3), False), ((2, 0, 3), True),
                                                ((0, 3), False), ((0, 3), True)])
def test_zero_length_sequence_is_refused_as_pytorch(kind, shape, batch_first):
    # Was: "stack: needs at least one tensor", naming neither the layer nor the input.
    with pytest.raises(RuntimeError, match="sequence length"):
        getattr(torch.nn, kind)(3, 4, batch_first=batch_first)(torch.zeros(shape))
    with pytest.raises(RuntimeError, match=rf"{kind}: expected sequence length .*{shape}"):
        getattr(nn, kind)(3, 4, batch_first=batch_first)(cr.zeros(*shape))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_empty_batch_is_not_a_zero_length_sequence(kind):
    theirs = getattr(torch.nn, kind)(3, 4, batch_first=True)
    ours = getattr(nn, kind)(3, 4, batch_first=True)
    copy_weights(ours, theirs)
    close(ours(cr.zeros(0, 5, 3))[0], theirs(torch.zeros(0, 5, 3))[0])


@pytest.mark.parametrize("kind", ["RNN", "GRU"])
def test_a_tuple_hx_is_refused_by_rnn_and_gru(kind):
    # Was: the tuple (h,) with h of shape (N, H) became a (1, N, H) tensor and was accepted.
    with pytest.raises(AttributeError):
        getattr(torch.nn, kind)(3, 4)(torch.zeros(5, 2, 3), (torch.zeros(1, 2, 4),))
    with pytest.raises(TypeError, match=f"{kind}: hx must be a tensor"):
        getattr(nn, kind)(3, 4)(cr.zeros(5, 2, 3), (cr.zeros(2, 4),))
    with pytest.raises(TypeError, match=f"{kind}Cell: hx must be a tensor"):
        getattr(nn, kind + "Cell")(3, 4)(cr.zeros(2, 3), (cr.zeros(2, 4),))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRUCell"])
def test_integer_input_is_refused_without_suggesting_an_integer_model(kind):
    # PyTorch refuses the dtype too; chainrule's message advised .to(int64) for the model.
    with pytest.raises(ValueError if "Cell" not in kind else RuntimeError):
        getattr(torch.nn, kind)(3, 4)(torch.zeros((5, 2, 3)[-2 if "Cell" in kind else 0:],
                                                  dtype=torch.int64))
    with pytest.raises(TypeError, match=f"{kind}: input and state dtype int64") as caught:
        getattr(nn, kind)(3, 4)(cr.zeros(*(5, 2, 3)[-2 if "Cell" in kind else 0:],
                                         dtype=cr.int64))
    assert "the model" not in str(caught.value)


# ---- scaled_dot_product_attention ---------------------------------------------------------

@pytest.mark.parametrize("is_causal", [False, True])
def test_sdpa_with_empty_head_dimension_gives_uniform_weights(is_causal):
    # Was: ZeroDivisionError from the default scale 1 / sqrt(0).
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(np.float32) for s in [(2, 4, 0), (2, 6, 0),
                                                                    (2, 6, 3)])
    vt, vc = torch.tensor(v, requires_grad=True), cr.tensor(v, requires_grad=True)
    theirs = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), vt, is_causal=is_causal)
    ours = F.scaled_dot_product_attention(cr.tensor(q), cr.tensor(k), vc, is_causal=is_causal)
    close(ours, theirs)
    g = rng.standard_normal(theirs.shape).astype(np.float32)
    (theirs * torch.tensor(g)).sum().backward()
    (ours * cr.tensor(g)).sum().backward()
    close(vc.grad, vt.grad)


@pytest.mark.parametrize("query_dtype, mask_dtype", [("float32", "float64"),
                                                     ("float32", "float16"),
                                                     ("float64", "float16")])
def test_sdpa_refuses_a_float_mask_of_another_dtype(query_dtype, mask_dtype):
    # Was: a float64 mask on float32 scores was rounded to float32 and used.
    q = np.ones((2, 4, 5), query_dtype)
    mask = np.zeros((4, 4), mask_dtype)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        torch.nn.functional.scaled_dot_product_attention(
            *(torch.tensor(q),) * 3, attn_mask=torch.tensor(mask))
    with pytest.raises(RuntimeError, match=f"attn_mask must be bool or float.*got {mask_dtype}"):
        F.scaled_dot_product_attention(*(cr.tensor(q),) * 3, attn_mask=cr.tensor(mask))


def test_sdpa_takes_a_float32_mask_on_float64_scores():
    rng = np.random.default_rng(1)
    q = rng.standard_normal((2, 4, 5))
    mask = rng.standard_normal((4, 4)).astype(np.float32)
    theirs = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(q),) * 3, attn_mask=torch.tensor(mask))
    ours = F.scaled_dot_product_attention(*(cr.tensor(q),) * 3, attn_mask=cr.tensor(mask))
    close(ours, theirs, 1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("is_causal", [False, True])
def test_sdpa_row_of_minus_inf_scores_gives_zeros_as_pytorch(dtype, is_causal):
    # An -inf in the query against positive keys makes a whole row of scores -inf. PyTorch's
    # safe softmax gives that row zeros (and no gradient to the query); chainrule gave NaN.
    rng = np.random.default_rng(3)
    q = np.zeros((1, 2, 3), dtype)
    q[0, 0, 0] = -np.inf
    q[0, 1] = rng.standard_normal(3)
    k = (np.abs(rng.standard_normal((1, 4, 3))) + 0.1).astype(dtype)
    v = rng.standard_normal((1, 4, 2)).astype(dtype)
    qt, kt = torch.tensor(q, requires_grad=True), torch.tensor(k, requires_grad=True)
    qc, kc = cr.tensor(q, requires_grad=True), cr.tensor(k, requires_grad=True)
    theirs = torch.nn.functional.scaled_dot_product_attention(qt, kt, torch.tensor(v),
                                                              is_causal=is_causal)
    ours = F.scaled_dot_product_attention(qc, kc, cr.tensor(v), is_causal=is_causal)
    close(ours, theirs)
    theirs.sum().backward()
    ours.sum().backward()
    close(qc.grad, qt.grad)
    close(kc.grad, kt.grad)


def test_sdpa_bool_mask_may_change_after_the_call_as_in_pytorch():
    # PyTorch's gradient does not read the mask; chainrule's where kept the caller's mask and
    # refused the backward once it changed.
    rng = np.random.default_rng(4)
    q = rng.standard_normal((2, 4, 5)).astype(np.float32)
    mask = rng.random((4, 4)) > 0.3
    g = rng.standard_normal((2, 4, 5)).astype(np.float32)
    grads = []
    for lib, functional in ((torch, torch.nn.functional), (cr, F)):
        x = lib.tensor(q, requires_grad=True)
        m = lib.tensor(mask)
        out = functional.scaled_dot_product_attention(x, x, x, attn_mask=m)
        m.fill_(True)
        (out * lib.tensor(g)).sum().backward()
        grads.append(x.grad)
    close(grads[1], grads[0])


@pytest.mark.parametrize("shapes", [((2, 6, 4, 5), (2, 3, 6, 5), (2, 2, 6, 7)),
                                    ((6, 4, 5), (1, 6, 5), (6, 6, 7))])
def test_sdpa_gqa_key_and_value_may_have_different_numbers_of_heads(shapes):
    # Was refused: PyTorch repeats key and value heads each by its own factor.
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = [cr.tensor(a, requires_grad=True) for a in arrays]
    expected = torch.nn.functional.scaled_dot_product_attention(*theirs, enable_gqa=True)
    got = F.scaled_dot_product_attention(*ours, enable_gqa=True)
    close(got, expected)
    g = rng.standard_normal(tuple(expected.shape)).astype(np.float32)
    (expected * torch.tensor(g)).sum().backward()
    (got * cr.tensor(g)).sum().backward()
    for mine, reference in zip(ours, theirs):
        close(mine.grad, reference.grad)


# ---- MultiheadAttention ---------------------------------------------------------------------

@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("which", ["attn_mask", "key_padding_mask"])
@pytest.mark.parametrize("query_dtype, mask_dtype", [("float32", "float64"),
                                                     ("float64", "float32"),
                                                     ("float32", "float16")])
def test_mha_float_mask_dtype_follows_pytorch(need_weights, which, query_dtype, mask_dtype):
    # Was: every float mask cast to the query's dtype and used.
    rng = np.random.default_rng(2)
    theirs = torch.nn.MultiheadAttention(8, 2).to(getattr(torch, query_dtype)).eval()
    ours = nn.MultiheadAttention(8, 2, dtype=query_dtype).eval()
    copy_weights(ours, theirs)
    x = rng.standard_normal((4, 3, 8)).astype(query_dtype)
    shape = (4, 4) if which == "attn_mask" else (3, 4)
    mask = rng.standard_normal(shape).astype(mask_dtype)
    try:
        expected = theirs(*(torch.tensor(x),) * 3, need_weights=need_weights,
                          **{which: torch.tensor(mask)})[0]
    except RuntimeError:
        with pytest.raises(RuntimeError, match=f"float {which} must have the query's dtype"):
            ours(*(cr.tensor(x),) * 3, need_weights=need_weights, **{which: cr.tensor(mask)})
        return
    got = ours(*(cr.tensor(x),) * 3, need_weights=need_weights, **{which: cr.tensor(mask)})[0]
    close(got, expected, 1e-10)


# ---- one_hot --------------------------------------------------------------------------------

@pytest.mark.parametrize("num_classes", [0, -1, -3])
def test_one_hot_of_nothing_needs_a_positive_number_of_classes(num_classes):
    # Was: num_classes=0 (or -3) on an empty tensor gave a (0, 0) tensor; PyTorch refuses.
    with pytest.raises(RuntimeError, match="infer"):
        torch.nn.functional.one_hot(torch.zeros(0, dtype=torch.int64), num_classes)
    with pytest.raises(RuntimeError, match=r"one_hot: cannot infer .*\(0,\)"):
        F.one_hot(cr.zeros(0, dtype=cr.int64), num_classes)


@pytest.mark.parametrize("shape, num_classes", [((0,), 2), ((2, 0), 3), ((3, 4), 5),
                                                ((3, 4), -1)])
def test_one_hot_matches_pytorch(shape, num_classes):
    labels = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % 5
    expected = torch.nn.functional.one_hot(torch.tensor(labels).mT if labels.ndim == 2 else
                                           torch.tensor(labels), num_classes)
    got = F.one_hot(cr.tensor(labels).mT if labels.ndim == 2 else cr.tensor(labels),
                    num_classes)
    assert got.dtype == cr.int64
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


# ---- embedding ------------------------------------------------------------------------------

def test_embedding_numpy_indices_changed_after_the_call_do_not_move_the_gradient():
    # The lookup kept the caller's NumPy array for its backward: changing it after the call sent
    # the gradient to the new rows, silently. PyTorch takes only tensors, whose version counter
    # refuses such a change; the indices' values at the call are what count.
    rng = np.random.default_rng(5)
    weight = rng.standard_normal((6, 3)).astype(np.float32)
    indices = np.array([[1, 2, 2], [0, 5, 1]])
    theirs = torch.tensor(weight, requires_grad=True)
    torch.nn.functional.embedding(torch.tensor(indices), theirs).pow(2).sum().backward()
    ours = cr.tensor(weight, requires_grad=True)
    changing = indices.copy()
    out = F.embedding(changing, ours)
    changing[:] = 3
    out.pow(2).sum().backward()
    close(ours.grad, theirs.grad)


@pytest.mark.parametrize("sizes, error", [((2.5, 2), TypeError), ((True, 2), TypeError),
                                          ((-1, 2), RuntimeError), ((3, -2), RuntimeError)])
def test_embedding_sizes_are_checked_as_pytorch(sizes, error):
    # Was: Embedding(2.5, 2) made a table of int(2.5) = 2 rows; a negative size raised NumPy's
    # message, naming neither Embedding nor the argument.
    with pytest.raises(error):
        torch.nn.Embedding(*sizes)
    with pytest.raises(error, match="Embedding: (num_embeddings|embedding_dim)"):
        nn.Embedding(*sizes)


# ---- Transformer ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, kwargs", [((4, "cpu"), {}), ((4,), {"device": "cpu"}),
                                          ((4, None, "float64"), {})])
def test_square_subsequent_mask_takes_pytorchs_device_argument(args, kwargs):
    # Was (sz, dtype): a device given by position was read as the dtype and refused, and
    # device= by name was an unexpected keyword.
    to_torch = {"float64": torch.float64}
    expected = torch.nn.Transformer.generate_square_subsequent_mask(
        *(to_torch.get(a, a) for a in args), **kwargs)
    got = nn.Transformer.generate_square_subsequent_mask(*args, **kwargs)
    assert str(got.dtype) == str(expected.dtype).replace("torch.", "")
    np.testing.assert_array_equal(got.numpy(), expected.numpy())
