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


# is_causal with a mask is refused, as by PyTorch (tested with the errors below).
SDPA_CASES = [case for case in itertools.product(("none", "bool", "float", "bool_batched"),
                                                 (False, True), (None, 0.3),
                                                 (np.float32, np.float64))
              if not (case[1] and case[0] != "none")]


@pytest.mark.parametrize("mask, causal, scale, dtype", SDPA_CASES)
def test_sdpa_values_and_gradients_as_torch(mask, causal, scale, dtype):
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


# -- nn.MultiheadAttention -------------------------------------------------------------------

E, H, L, S, N = 8, 2, 4, 5, 3


def mha_pair(dtype, **options):
    torch.manual_seed(0)
    theirs = torch.nn.MultiheadAttention(E, H, **options)
    theirs = theirs.double() if dtype == np.float64 else theirs
    ours = nn.MultiheadAttention(E, H, **options, dtype=dtype)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    return ours, theirs


def mha_masks(layout, kind, dtype):
    """(key_padding_mask, attn_mask, is_causal) of one kind; every query keeps key 0, so no
    row is fully masked."""
    rng = np.random.default_rng(11)
    kpm = rng.random((N, S)) < 0.3
    kpm[:, 0] = False
    causal = np.triu(np.ones((L, S), dtype=bool), 1)
    if layout == "unbatched":
        kpm = kpm[0]
    heads = H if layout == "unbatched" else N * H
    float3d = rng.standard_normal((heads, L, S)).astype(dtype)
    return {"none": (None, None, False), "bool_2d": (None, rng.random((L, S)) < 0.3, False),
            "float_3d": (None, float3d, False), "kpm_bool": (kpm, None, False),
            "kpm_float": (np.where(kpm, -1e4, 0.5).astype(dtype), None, False),
            "kpm_and_mask": (kpm, causal, False), "causal_hint": (None, causal, True)}[kind]


def run_mha(ours, theirs, arrays, masks, self_attention=False, **options):
    kpm, attn_mask, causal = masks

    def call(lib, module):
        def fn(q, k=None, v=None):
            if self_attention:
                k = v = q
            wrap = (lambda m: None if m is None else lib.tensor(m))
            return module(q, k, v, key_padding_mask=wrap(kpm), attn_mask=wrap(attn_mask),
                          is_causal=causal, **options)
        return fn
    arrays = arrays[:1] if self_attention else arrays
    ours_out, theirs_out = both(call(cr, ours), call(torch, theirs), arrays)
    ours_out += [p.grad.numpy() for _, p in ours.named_parameters()]
    theirs_out += [p.grad.numpy() for _, p in theirs.named_parameters()]
    return ours_out, theirs_out


def qkv(layout, dtype, kdim=E, vdim=E, seed=1):
    rng = np.random.default_rng(seed)
    shapes = {"seq_first": ((L, N, E), (S, N, kdim), (S, N, vdim)),
              "batch_first": ((N, L, E), (N, S, kdim), (N, S, vdim)),
              "unbatched": ((L, E), (S, kdim), (S, vdim))}[layout]
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


MHA_CASES = [dict(layout=layout, masks=kind, dtype=dtype, need_weights=need, mode=mode)
             for (layout, kind, dtype), need, mode in zip(
                 itertools.product(("seq_first", "batch_first", "unbatched"),
                                   ("none", "bool_2d", "float_3d", "kpm_bool", "kpm_float",
                                    "kpm_and_mask", "causal_hint"), (np.float32, np.float64)),
                 itertools.cycle((True, False, True)), itertools.cycle(("eval", "train", "eval",
                                                                        "eval")))]


@pytest.mark.parametrize("case", MHA_CASES, ids=lambda c: "-".join(
    str(getattr(v, "__name__", v)) for v in c.values()))
def test_multihead_attention_as_torch(case):
    dtype, layout = case["dtype"], case["layout"]
    ours, theirs = mha_pair(dtype, batch_first=layout == "batch_first")
    if case["mode"] == "eval":
        ours.eval(), theirs.eval()
    masks = mha_masks(layout, case["masks"], dtype)
    arrays = qkv(layout, dtype)
    assert_same(*run_mha(ours, theirs, arrays, masks, need_weights=case["need_weights"]), dtype)


@pytest.mark.parametrize("options", [
    dict(kdim=3, vdim=6), dict(kdim=3, vdim=6, bias=False), dict(bias=False),
    dict(add_bias_kv=True), dict(add_zero_attn=True), dict(add_bias_kv=True, add_zero_attn=True,
                                                          kdim=4, vdim=5),
])
@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
@pytest.mark.parametrize("need_weights, average", [(True, True), (True, False), (False, True)])
def test_multihead_attention_options_as_torch(options, layout, need_weights, average):
    dtype = np.float64
    ours, theirs = mha_pair(dtype, batch_first=layout == "batch_first", **options)
    arrays = qkv(layout, dtype, options.get("kdim", E), options.get("vdim", E))
    masks = mha_masks(layout, "kpm_and_mask", dtype)
    assert_same(*run_mha(ours, theirs, arrays, masks, need_weights=need_weights,
                         average_attn_weights=average), dtype)


@pytest.mark.parametrize("layout", ["seq_first", "batch_first", "unbatched"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_multihead_self_attention_as_torch(layout, dtype):
    ours, theirs = mha_pair(dtype, batch_first=layout == "batch_first")
    arrays = qkv(layout, dtype)
    masks = (None, np.triu(np.ones((L, L), dtype=bool), 1), True)
    for need_weights in (True, False):
        for module in (ours, theirs):
            module.zero_grad()
        assert_same(*run_mha(ours, theirs, arrays, masks, self_attention=True,
                             need_weights=need_weights), dtype)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # NaN rows, as torch's
def test_multihead_attention_fully_masked_rows_as_torch():
    ours, theirs = mha_pair(np.float64)
    arrays = qkv("seq_first", np.float64)
    attn_mask = np.zeros((L, S), dtype=bool)
    attn_mask[2] = True  # query 2 may attend nowhere
    for need_weights in (True, False):
        outs = []
        for lib, module in ((cr, ours), (torch, theirs)):
            q, k, v = (lib.tensor(a) for a in arrays)
            out, weights = module(q, k, v, attn_mask=lib.tensor(attn_mask),
                                  need_weights=need_weights)
            outs.append([out.detach().numpy()] + ([weights.detach().numpy()]
                                                  if need_weights else []))
        for a, b in zip(*outs):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)  # NaN where torch's is


def test_multihead_attention_dropout_in_training_only():
    ours = nn.MultiheadAttention(E, H, dropout=0.5, dtype="float64")
    x = cr.tensor(qkv("seq_first", np.float64)[0])
    cr.manual_seed(0)
    trained = ours(x, x, x)[1]
    ours.eval()
    evaluated = ours(x, x, x)[1]
    assert not np.allclose(trained.detach().numpy(), evaluated.detach().numpy())
    np.testing.assert_allclose(evaluated.detach().numpy().sum(-1), 1)


def test_multihead_attention_default_init_as_torch():
    """Xavier-uniform projections (bound sqrt(6 / (E + 3E)) packed, per weight apart), zero
    biases, out_proj as Linear's: the same bounds and spread as PyTorch's."""
    big = 64
    for options in ({}, dict(kdim=16, vdim=32)):
        ours = nn.MultiheadAttention(big, 4, **options)
        torch.manual_seed(0)
        theirs = torch.nn.MultiheadAttention(big, 4, **options)
        ours_params = dict(ours.named_parameters())
        for name, p in theirs.named_parameters():
            a, b = ours_params[name].detach().numpy(), p.detach().numpy()
            assert a.shape == b.shape and a.dtype == b.dtype == np.float32, name
            if not b.any():
                assert not a.any(), name
                continue
            bound = np.abs(b).max()
            assert np.abs(a).max() <= bound * 1.02, name
            assert abs(a.std() / b.std() - 1) < 0.08, name


@pytest.mark.parametrize("call, error, words", [
    (lambda m: m(cr.ones(1, L, N, E), cr.ones(1, S, N, E), cr.ones(1, S, N, E)),
     AssertionError, "query should be unbatched 2-D or batched 3-D"),
    (lambda m: m(cr.ones(L, N, E), cr.ones(S, E), cr.ones(S, E)), AssertionError,
     "expected key and value to be 3-D"),
    (lambda m: m(cr.ones(L, N, 6), cr.ones(S, N, 6), cr.ones(S, N, 6)), AssertionError,
     "embedding dimension 8"),
    (lambda m: m(cr.ones(L, N, E), cr.ones(S, N, E), cr.ones(S + 1, N, E)), AssertionError,
     "same sequence length"),
    (lambda m: m(cr.ones(L, N, E), cr.ones(S, N, E), cr.ones(S, N, E),
                 key_padding_mask=np.zeros((N, S + 1), bool)), AssertionError,
     "key_padding_mask of shape (3, 5)"),
    (lambda m: m(cr.ones(L, N, E), cr.ones(S, N, E), cr.ones(S, N, E),
                 attn_mask=np.zeros((L, L), bool)), RuntimeError, "should be (4, 5)"),
    (lambda m: m(cr.ones(L, N, E), cr.ones(S, N, E), cr.ones(S, N, E),
                 attn_mask=np.zeros((H, L, S), bool)), RuntimeError, "should be (6, 4, 5)"),
    (lambda m: m(cr.ones(L, N, E), cr.ones(S, N, E), cr.ones(S, N, E), is_causal=True),
     RuntimeError, "is_causal"),
])
def test_multihead_attention_errors_as_torch(call, error, words):
    ours = nn.MultiheadAttention(E, H)
    with pytest.raises(error, match="MultiheadAttention") as caught:
        call(ours)
    assert words in str(caught.value)
    theirs = torch.nn.MultiheadAttention(E, H)

    class Wrap:
        def __call__(self, *args, **kwargs):
            convert = (lambda a: torch.tensor(np.asarray(a)) if isinstance(a, np.ndarray) else
                       torch.tensor(a.numpy()) if isinstance(a, cr.Tensor) else a)
            return theirs(*map(convert, args), **{k: convert(v) for k, v in kwargs.items()})
    with pytest.raises(error):
        call(Wrap())


def test_multihead_attention_construction_errors():
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="num_heads"):
        nn.MultiheadAttention(8, 0)
    with pytest.raises(ValueError, match="dropout"):
        nn.MultiheadAttention(8, 2, dropout=2.0)


# -- Transformer layers ----------------------------------------------------------------------

def copy_weights(ours, theirs):
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def module_both(ours, theirs, arrays, **kwargs):
    """Outputs, input gradients, then every parameter's gradient of both modules."""
    def call(lib, module):
        def fn(*inputs):
            return module(*inputs, **{k: None if v is None else lib.tensor(v)
                                      if isinstance(v, np.ndarray) else v
                                      for k, v in kwargs.items()})
        return fn
    ours_out, theirs_out = both(call(cr, ours), call(torch, theirs), arrays)
    ours_out += [p.grad.numpy() for _, p in ours.named_parameters()]
    theirs_out += [p.grad.numpy() for _, p in theirs.named_parameters()]
    return ours_out, theirs_out


LAYER_CASES = list(itertools.product(("Encoder", "Decoder"), (False, True), ("relu", "gelu"),
                                     (False, True), (np.float32, np.float64)))


@pytest.mark.parametrize("kind, norm_first, activation, batch_first, dtype", LAYER_CASES)
def test_transformer_layers_as_torch(kind, norm_first, activation, batch_first, dtype):
    options = dict(dim_feedforward=12, norm_first=norm_first, activation=activation,
                   batch_first=batch_first, layer_norm_eps=1e-4)
    torch.manual_seed(0)
    theirs = getattr(torch.nn, f"Transformer{kind}Layer")(E, H, **options)
    theirs = (theirs.double() if dtype == np.float64 else theirs).eval()
    ours = getattr(nn, f"Transformer{kind}Layer")(E, H, **options, dtype=dtype).eval()
    copy_weights(ours, theirs)
    rng = np.random.default_rng(4)
    shape = (lambda length: (N, length, E) if batch_first else (length, N, E))
    arrays = [rng.standard_normal(shape(L)).astype(dtype)]
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    padding = np.zeros((N, L), dtype=bool)
    padding[1, -1] = True
    if kind == "Encoder":
        kwargs = dict(src_mask=causal, src_key_padding_mask=padding)
    else:
        arrays.append(rng.standard_normal(shape(S)).astype(dtype))
        memory_padding = np.zeros((N, S), dtype=bool)
        memory_padding[0, :2] = True
        kwargs = dict(tgt_mask=causal, tgt_is_causal=True,
                      memory_key_padding_mask=memory_padding)
    assert_same(*module_both(ours, theirs, arrays, **kwargs), dtype)
    assert_same(*module_both(ours, theirs, arrays), dtype)  # no masks, gradients accumulate


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_layer_training_without_dropout_and_unbatched(norm_first):
    torch.manual_seed(1)
    theirs = torch.nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, norm_first=norm_first,
                                              bias=False).double()
    ours = copy_weights(nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, norm_first=norm_first,
                                                   bias=False, dtype="float64"), theirs)[0]
    x = np.random.default_rng(2).standard_normal((L, E))
    assert_same(*module_both(ours, theirs, [x]), np.float64)


def test_transformer_layer_callable_activation_as_torch():
    torch.manual_seed(2)
    theirs = torch.nn.TransformerEncoderLayer(E, H, 12, activation=torch.nn.GELU("tanh")).double()
    ours = nn.TransformerEncoderLayer(E, H, 12, activation=nn.GELU("tanh"), dtype="float64")
    copy_weights(ours, theirs)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(2).standard_normal((L, N, E))
    assert_same(*module_both(ours, theirs, [x]), np.float64)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformer_stacks_and_full_model_as_torch(batch_first, dtype):
    options = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=2,
                   dim_feedforward=12, batch_first=batch_first, activation="gelu")
    torch.manual_seed(3)
    theirs = torch.nn.Transformer(**options)
    theirs = (theirs.double() if dtype == np.float64 else theirs).eval()
    ours = copy_weights(nn.Transformer(**options, dtype=dtype).eval(), theirs)[0]
    rng = np.random.default_rng(5)
    shape = (lambda length: (N, length, E) if batch_first else (length, N, E))
    arrays = [rng.standard_normal(shape(S)).astype(dtype),
              rng.standard_normal(shape(L)).astype(dtype)]
    tgt_mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=dtype).numpy()
    np.testing.assert_array_equal(
        tgt_mask, torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64))
    padding = np.zeros((N, S), dtype=bool)
    padding[2, 3:] = True
    assert_same(*module_both(ours, theirs, arrays, tgt_mask=tgt_mask,
                             src_key_padding_mask=padding, memory_key_padding_mask=padding),
                dtype)


def test_transformer_init_and_names_as_torch():
    ours = nn.Transformer(16, 4, 1, 1, 32)
    theirs = torch.nn.Transformer(16, 4, 1, 1, 32)
    ours_params = dict(ours.named_parameters())
    assert list(ours_params) == [n for n, _ in theirs.named_parameters()]
    for name, p in theirs.named_parameters():
        a, b = ours_params[name].detach().numpy(), p.detach().numpy()
        assert a.shape == b.shape, name
        if p.ndim > 1:  # Xavier-uniform, as PyTorch re-draws every matrix
            bound = np.sqrt(6 / sum(b.shape))
            assert np.abs(a).max() <= bound and np.abs(a).max() > 0.8 * bound, name


def test_transformer_errors():
    model = nn.Transformer(8, 2, 1, 1, 16)
    with pytest.raises(RuntimeError, match="batch number"):
        model(cr.randn(5, 3, 8), cr.randn(4, 2, 8))
    with pytest.raises(RuntimeError, match="feature number"):
        model(cr.randn(5, 3, 6), cr.randn(4, 3, 6))
    with pytest.raises(RuntimeError, match="activation"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


# -- interop: from_torch / to_torch, ONNX refusal --------------------------------------------

def attention_inputs(module, rng):
    name = type(module).__name__
    first = getattr(module, "batch_first", None)
    if first is None:
        inner = module if name.endswith("Layer") else (
            module.layers[0] if hasattr(module, "layers") else module.encoder.layers[0])
        first = inner.self_attn.batch_first
    shape = (lambda length, width=E: (N, length, width) if first else (length, N, width))
    if name == "MultiheadAttention":
        return [rng.standard_normal(shape(L)), rng.standard_normal(shape(S, 3)),
                rng.standard_normal(shape(S, 5))]
    if "Encoder" in name:
        return [rng.standard_normal(shape(L))]
    return [rng.standard_normal(shape(L)), rng.standard_normal(shape(S))]


def test_from_torch_and_to_torch_round_trip():
    from interop_cases import attention
    torch.manual_seed(0)
    rng = np.random.default_rng(9)
    for theirs in attention(torch.nn):
        theirs = theirs.double().eval()
        ours = cr.interop.from_torch(theirs)
        assert type(ours).__name__ == type(theirs).__name__ and not ours.training
        arrays = attention_inputs(theirs, rng)
        assert_same(*module_both(ours, theirs, arrays), np.float64)
        back = cr.interop.to_torch(ours)
        assert str(back) == str(theirs)
        for name, value in theirs.state_dict().items():
            assert torch.equal(back.state_dict()[name], value), name


# The encoder layers (1 and 3) export: tests/test_onnx_export.py runs them in onnxruntime.
@pytest.mark.parametrize("index, fragment", [
    (0, "MultiheadAttention at '0' takes query, key and value"),
    (2, "TransformerDecoderLayer at '0' takes two sequences"),
    (4, "TransformerDecoder at '0' takes two sequences"),
    (5, "Transformer at '0' takes two sequences (src and tgt)")])
def test_onnx_export_refuses_attention_clearly(index, fragment, tmp_path):
    import re
    from chainrule.interop.onnx_export import ExportError
    from interop_cases import attention
    layer = attention(nn)[index]
    with pytest.raises(ExportError, match=re.escape(fragment)):
        cr.onnx.export(nn.Sequential(layer), np.zeros((L, N, E), np.float32),
                       tmp_path / "attention.onnx")
