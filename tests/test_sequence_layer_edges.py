"""Sequence and attention layers against PyTorch off the happy path: the inference fast paths
of MultiheadAttention and the transformer encoder, recurrent options, embeddings and gradient
clipping edges. Expected values are PyTorch's, computed here."""
import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
from chainrule.interop import from_torch  # noqa: E402


def _close(expected, got, atol=1e-9):
    expected = expected.detach().numpy()
    got = got.detach().numpy()
    assert expected.shape == got.shape
    np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-7, equal_nan=True)


def _as_cr(value):
    return cr.tensor(value.numpy()) if isinstance(value, torch.Tensor) else value


def _weights_moved(module):
    # PyTorch's default init leaves biases zero; non-zero ones make a mismatch show.
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.1)
    return module


# -- MultiheadAttention's and the encoder layer's inference fast paths --------------------------

def _dead_masks(batch, length):
    padding = torch.zeros(batch, length, dtype=torch.bool)
    padding[0, 2:] = True
    padding[-1] = True  # the last sequence hides every key
    rows = torch.zeros(length, length, dtype=torch.bool)
    rows[1] = True  # query 1 may attend to nothing
    return padding, rows


@pytest.mark.parametrize("masks", ["key_padding_mask", "attn_mask", "both"])
@pytest.mark.parametrize("grad", [False, True])
def test_mha_fast_path_gives_nan_for_a_query_with_nothing_to_attend(masks, grad):
    # PyTorch's _native_multi_head_attention (eval, no grad, batch_first self-attention) gives
    # NaN there even with need_weights=False; with grad it takes the guarded path (zeros).
    torch.manual_seed(0)
    module = _weights_moved(torch.nn.MultiheadAttention(8, 2, batch_first=True).double().eval())
    model = from_torch(module).eval()
    x = torch.randn(3, 4, 8, dtype=torch.float64)
    padding, rows = _dead_masks(3, 4)
    kwargs = {"key_padding_mask": dict(key_padding_mask=padding), "attn_mask":
              dict(attn_mask=rows), "both": dict(key_padding_mask=padding, attn_mask=rows)}[masks]
    with torch.set_grad_enabled(grad):
        expected, _ = module(x, x, x, need_weights=False, **kwargs)
    cx = cr.tensor(x.numpy())
    with cr.enable_grad() if grad else cr.no_grad():
        got, weights = model(cx, cx, cx, need_weights=False,
                             **{k: _as_cr(v) for k, v in kwargs.items()})
    assert weights is None
    assert bool(torch.isnan(expected).any()) != grad  # the case is the one meant
    _close(expected, got)


def test_mha_without_fast_path_conditions_gives_zeros_for_dead_rows_in_eval():
    # Not batch_first, or key is not query: PyTorch's guarded path even under no_grad.
    torch.manual_seed(1)
    padding, rows = _dead_masks(3, 4)
    for options, self_attention in (({}, True), ({"batch_first": True}, False)):
        module = _weights_moved(torch.nn.MultiheadAttention(8, 2, **options).double().eval())
        model = from_torch(module).eval()
        x = torch.randn(*((3, 4) if options else (4, 3)), 8, dtype=torch.float64)
        key = x if self_attention else x.clone()
        with torch.no_grad():
            expected, _ = module(x, key, key, need_weights=False, key_padding_mask=padding,
                                 attn_mask=rows)
        cx = cr.tensor(x.numpy())
        ck = cx if self_attention else cr.tensor(x.numpy())
        with cr.no_grad():
            got, _ = model(cx, ck, ck, need_weights=False, key_padding_mask=_as_cr(padding),
                           attn_mask=_as_cr(rows))
        assert not torch.isnan(expected).any()
        _close(expected, got)


def _encoder(layers=2, norm=True, enable_nested_tensor=True, mask_check=True, **options):
    options = dict(dict(dim_feedforward=16, dropout=0.0, batch_first=True), **options)
    layer = torch.nn.TransformerEncoderLayer(8, 2, **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module = torch.nn.TransformerEncoder(layer, layers,
                                             norm=torch.nn.LayerNorm(8) if norm else None,
                                             enable_nested_tensor=enable_nested_tensor,
                                             mask_check=mask_check)
    module = _weights_moved(module.double())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = from_torch(module)
    # from_torch does not carry these two options over (see the report); set them as torch's.
    model.use_nested_tensor, model.mask_check = module.use_nested_tensor, mask_check
    return module, model


def _run_both(module, model, x, grad, train=False, **kwargs):
    module.train(train)
    model.train(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.set_grad_enabled(grad):
            expected = module(x, **kwargs)
    with cr.enable_grad() if grad else cr.no_grad():
        got = model(cr.tensor(x.numpy()), **{k: _as_cr(v) for k, v in kwargs.items()})
    return expected, got


@pytest.mark.parametrize("norm", [True, False])
@pytest.mark.parametrize("mask_kind", ["bool", "float"])
def test_encoder_nested_path_zeroes_padded_positions_in_inference(norm, mask_kind):
    # PyTorch runs the stack on nested tensors: padded positions come out 0 (then the final
    # norm), a fully padded sequence included; any nonzero float entry counts as padding.
    torch.manual_seed(2)
    module, model = _encoder(norm=norm)
    x = torch.randn(3, 5, 8, dtype=torch.float64)
    padding = torch.zeros(3, 5, dtype=torch.bool)
    padding[0, 3:] = True
    padding[2] = True
    mask = padding if mask_kind == "bool" else torch.where(padding, -2.5, 0.0).double()
    expected, got = _run_both(module, model, x, grad=False, src_key_padding_mask=mask)
    if not norm:
        assert float(expected[0, 3:].abs().max()) == 0.0  # the case is the one meant
    _close(expected, got)
    expected, got = _run_both(module, model, x, grad=True, src_key_padding_mask=mask)
    _close(expected, got)


@pytest.mark.parametrize("options", [dict(norm_first=True), dict(activation="gelu"),
                                     dict(batch_first=False)])
def test_encoder_layer_fused_path_gives_nan_for_a_fully_padded_sequence(options):
    # Not the nested path (norm_first, or enable_nested_tensor=False): each layer's fused
    # inference kernel, whose softmax gives NaN where a query has nothing to attend to.
    torch.manual_seed(3)
    nested = options.get("batch_first", True) and not options.get("norm_first")
    module, model = _encoder(enable_nested_tensor=not nested, **options)
    x = torch.randn(3, 5, 8, dtype=torch.float64)
    padding = torch.zeros(3, 5, dtype=torch.bool)
    padding[1] = True
    if not options.get("batch_first", True):
        x = x.transpose(0, 1).contiguous()
    for grad in (False, True):
        expected, got = _run_both(module, model, x, grad, src_key_padding_mask=padding)
        _close(expected, got)
    expected, got = _run_both(module, model, x, False, src_key_padding_mask=padding)
    assert bool(torch.isnan(expected).any()) == options.get("batch_first", True)


def test_encoder_layer_fused_path_reads_a_float_mask_as_bool():
    # The fused kernel hides every nonzero entry: -2.0 hides a key as -inf would.
    torch.manual_seed(4)
    module = _weights_moved(torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True).double())
    model = from_torch(module)
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    padding = torch.tensor([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, -2.0, -2.0]], dtype=torch.float64)
    rows = torch.zeros(4, 4, dtype=torch.float64)
    rows[1] = -1e30
    for kwargs in (dict(src_key_padding_mask=padding), dict(src_mask=rows)):
        for grad in (False, True):
            expected, got = _run_both(module, model, x, grad, **kwargs)
            _close(expected, got)


def test_encoder_nested_path_with_mask_check_off_refuses_padding_not_at_the_end():
    torch.manual_seed(6)
    module, model = _encoder(mask_check=False)
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    padding = torch.tensor([[True, False, False, False], [False, False, True, True]])
    model.eval()
    with cr.no_grad(), pytest.raises(NotImplementedError, match="mask_check"):
        model(cr.tensor(x.numpy()), src_key_padding_mask=cr.tensor(padding.numpy()))
    # With the check on, PyTorch takes the ordinary path, and so does chainrule.
    module.mask_check = model.mask_check = True
    expected, got = _run_both(module, model, x, False, src_key_padding_mask=padding)
    _close(expected, got)


def test_decoder_self_attention_takes_the_mha_fast_path_in_inference():
    torch.manual_seed(7)
    module = _weights_moved(torch.nn.TransformerDecoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True).double().eval())
    model = from_torch(module).eval()
    tgt, memory = torch.randn(3, 4, 8, dtype=torch.float64), torch.randn(3, 5, 8,
                                                                           dtype=torch.float64)
    padding, rows = _dead_masks(3, 4)
    for grad in (False, True):
        with torch.set_grad_enabled(grad):
            expected = module(tgt, memory, tgt_mask=rows, tgt_key_padding_mask=padding)
        with cr.enable_grad() if grad else cr.no_grad():
            got = model(cr.tensor(tgt.numpy()), cr.tensor(memory.numpy()),
                        tgt_mask=_as_cr(rows), tgt_key_padding_mask=_as_cr(padding))
        assert bool(torch.isnan(expected).any()) != grad
        _close(expected, got)


def test_encoder_layer_fused_path_does_not_read_the_is_causal_hint():
    # Without src_mask, PyTorch's fused inference path ignores is_causal=True (its ordinary
    # path refuses it); with grad, both libraries refuse.
    torch.manual_seed(8)
    module = _weights_moved(torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True).double())
    model = from_torch(module)
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    expected, got = _run_both(module, model, x, False, is_causal=True)
    _close(expected, got)
    with pytest.raises(RuntimeError):
        _run_both(module, model, x, True, is_causal=True)
    with pytest.raises(cr.errors.ArgumentError, match="is_causal"):
        model(cr.tensor(x.numpy()), is_causal=True)


# -- scaled_dot_product_attention and gradient clipping -----------------------------------------

@pytest.mark.parametrize("dtype", ["bool", "float"])
@pytest.mark.parametrize("batch", [(), (2,), (2, 4), (1, 2, 4)])
def test_sdpa_one_dimensional_mask_as_pytorch(dtype, batch):
    # PyTorch broadcasts a mask (S,) over the queries, except on 4-D inputs, where it raises.
    q = torch.randn(*batch, 3, 5, dtype=torch.float64)
    k = v = torch.randn(*batch, 6, 5, dtype=torch.float64)
    mask = torch.rand(6) > 0.3 if dtype == "bool" else torch.randn(6, dtype=torch.float64)
    args = (cr.tensor(q.numpy()), cr.tensor(k.numpy()), cr.tensor(v.numpy()))
    if len(batch) == 2:
        with pytest.raises(IndexError):
            torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        with pytest.raises(cr.errors.ShapeError, match=r"attn_mask of shape \(6,\)"):
            cr.nn.functional.scaled_dot_product_attention(*args, attn_mask=cr.tensor(mask.numpy()))
        return
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    got = cr.nn.functional.scaled_dot_product_attention(*args, attn_mask=cr.tensor(mask.numpy()))
    _close(expected, got)


@pytest.mark.parametrize("norm_type", [float("inf"), float("-inf")])
def test_clip_grad_norm_refuses_an_infinity_norm_over_an_empty_gradient(norm_type):
    grads = [np.array([3.0, -4.0], np.float32), np.zeros(0, np.float32)]
    tp = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    cp = [cr.zeros(*g.shape, requires_grad=True) for g in grads]
    for t, c, g in zip(tp, cp, grads):
        t.grad, c.grad = torch.from_numpy(g.copy()), cr.tensor(g.copy())
    with pytest.raises(RuntimeError, match="empty"):
        torch.nn.utils.clip_grad_norm_(tp, 1.0, norm_type=norm_type)
    with pytest.raises(cr.errors.GradientError, match=r"empty gradient \(shapes \[\(0,\)\]\)"):
        cr.nn.utils.clip_grad_norm_(cp, 1.0, norm_type=norm_type)
    # A finite norm over the same gradients is defined in both.
    expected = torch.nn.utils.clip_grad_norm_(tp, 1.0, norm_type=0.5)
    got = cr.nn.utils.clip_grad_norm_(cp, 1.0, norm_type=0.5)
    _close(expected, got, atol=1e-5)
    _close(tp[0].grad, cp[0].grad, atol=1e-6)


# -- recurrent layers ---------------------------------------------------------------------------

def _linspace_loss(tensors, library):
    total = 0
    for t in tensors:
        weights = np.linspace(-1, 1, t.numel()).reshape(tuple(t.shape))
        total = total + (t * (torch.from_numpy(weights) if library is torch
                              else cr.tensor(weights))).sum()
    return total


@pytest.mark.parametrize("options, shape, hx", [
    (dict(proj_size=2), (4, 2, 3), None),
    (dict(proj_size=2, num_layers=3, bidirectional=True, batch_first=True), (2, 4, 3),
     ((6, 2, 2), (6, 2, 5))),
    (dict(proj_size=4, num_layers=2, bias=False), (4, 3), ((2, 4), (2, 5))),
    (dict(proj_size=1, bidirectional=True), (1, 3), None),
])
def test_lstm_with_proj_size_as_torch(options, shape, hx):
    torch.manual_seed(9)
    module = torch.nn.LSTM(3, 5, **options).double()
    model = cr.nn.LSTM(3, 5, dtype=cr.float64, **options)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in module.named_parameters()]
    assert repr(model) == repr(module)
    model.load_state_dict({k: v.numpy() for k, v in module.state_dict().items()})
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    cx = cr.tensor(x.detach().numpy(), requires_grad=True)
    targs, cargs = [x], [cx]
    if hx:
        th = tuple(torch.randn(*s, dtype=torch.float64, requires_grad=True) for s in hx)
        ch = tuple(cr.tensor(t.detach().numpy(), requires_grad=True) for t in th)
        targs.append(th)
        cargs.append(ch)
    out, (h, c) = module(*targs)
    cout, (chh, cc) = model(*cargs)
    for expected, got in ((out, cout), (h, chh), (c, cc)):
        _close(expected, got, atol=1e-12)
    _linspace_loss((out, h, c), torch).backward()
    _linspace_loss((cout, chh, cc), cr).backward()
    _close(x.grad, cx.grad, atol=1e-12)
    if hx:
        for expected, got in zip(th, ch):
            _close(expected.grad, got.grad, atol=1e-12)
    parameters = dict(model.named_parameters())
    for name, parameter in module.named_parameters():
        _close(parameter.grad, parameters[name].grad, atol=1e-12)


def test_lstm_proj_size_checks_as_torch():
    for bad in (-1, 5, 6):
        with pytest.raises(ValueError):
            torch.nn.LSTM(3, 5, proj_size=bad)
        with pytest.raises(ValueError, match="proj_size"):
            cr.nn.LSTM(3, 5, proj_size=bad)
    model = cr.nn.LSTM(3, 5, proj_size=2)
    with pytest.raises(cr.errors.ShapeError, match=r"h_0 of size \(1, 2, 2\), got \(1, 2, 5\)"):
        model(cr.zeros(4, 2, 3), (cr.zeros(1, 2, 5), cr.zeros(1, 2, 5)))
    with pytest.raises(cr.errors.ShapeError, match=r"c_0 of size \(1, 2, 5\), got \(1, 2, 2\)"):
        model(cr.zeros(4, 2, 3), (cr.zeros(1, 2, 2), cr.zeros(1, 2, 2)))


def test_rnn_dropout_given_as_a_string_is_a_value_error_as_torch():
    # It was a TypeError from comparing a str with 0, naming no module.
    with pytest.raises(ValueError):
        torch.nn.GRU(3, 4, num_layers=2, dropout="0.5")
    with pytest.raises(ValueError, match="GRU: dropout must be a number"):
        cr.nn.GRU(3, 4, num_layers=2, dropout="0.5")


def test_encoder_layer_with_a_forward_hook_takes_the_ordinary_path_as_torch():
    # PyTorch skips its fused layer when any submodule has a forward hook: the hook runs, and a
    # fully padded sequence gives finite values (the guarded softmax), not NaN.
    torch.manual_seed(10)
    module = _weights_moved(torch.nn.TransformerEncoderLayer(
        8, 2, 16, dropout=0.0, batch_first=True).double())
    model = from_torch(module)
    calls = {"torch": 0, "cr": 0}
    module.self_attn.register_forward_hook(lambda *args: calls.__setitem__("torch",
                                                                           calls["torch"] + 1))
    model.self_attn.register_forward_hook(lambda *args: calls.__setitem__("cr", calls["cr"] + 1))
    x = torch.randn(2, 4, 8, dtype=torch.float64)
    padding = torch.tensor([[False] * 4, [True] * 4])
    expected, got = _run_both(module, model, x, False, src_key_padding_mask=padding)
    assert calls == {"torch": 1, "cr": 1}
    assert not torch.isnan(expected).any()
    _close(expected, got)


def test_frozen_encoder_takes_the_inference_paths_even_with_grad_enabled():
    # PyTorch's condition is "grad enabled and something requires grad", not grad mode alone.
    torch.manual_seed(11)
    module, model = _encoder()
    module.requires_grad_(False)
    model.requires_grad_(False)
    x = torch.randn(3, 5, 8, dtype=torch.float64)
    padding = torch.zeros(3, 5, dtype=torch.bool)
    padding[0, 2:] = True
    padding[1] = True
    expected, got = _run_both(module, model, x, True, src_key_padding_mask=padding)
    same_rows = float((expected[0, 2:] - expected[0, 2]).abs().max())
    assert same_rows == 0.0  # the final norm of zeros: one row repeated
    _close(expected, got)
    # Now the input wants a gradient: the ordinary path in both.
    expected = module(x.requires_grad_(True), src_key_padding_mask=padding)
    got = model(cr.tensor(x.detach().numpy(), requires_grad=True),
                src_key_padding_mask=_as_cr(padding))
    assert float((expected[0, 2:] - expected[0, 2]).abs().max().detach()) > 1e-3
    _close(expected, got)


@pytest.mark.parametrize("nested", [True, False])
def test_from_torch_keeps_the_encoders_nested_tensor_choice(nested):
    from chainrule.interop import from_torch, to_torch
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    theirs = torch.nn.TransformerEncoder(layer, 2, enable_nested_tensor=nested,
                                         mask_check=False).eval()
    ours = from_torch(theirs).eval()
    assert ours.enable_nested_tensor is nested and ours.mask_check is False
    x = torch.randn(2, 5, 8)
    padding = torch.tensor([[False] * 3 + [True] * 2, [False] * 5])
    with torch.no_grad():
        expected = theirs(x, src_key_padding_mask=padding).numpy()
    with cr.no_grad():
        got = ours(cr.tensor(x.numpy()), src_key_padding_mask=cr.tensor(padding.numpy()))
    np.testing.assert_allclose(got.numpy(), expected, atol=2e-6)
    assert to_torch(ours).enable_nested_tensor is nested


def test_an_lstm_with_proj_size_moves_both_ways():
    from chainrule.interop import from_torch, to_torch
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(4, 6, proj_size=3, num_layers=2, batch_first=True)
    ours = from_torch(theirs)
    x = torch.randn(2, 5, 4)
    expected = theirs(x)[0].detach().numpy()
    np.testing.assert_allclose(ours(cr.tensor(x.numpy()))[0].detach().numpy(), expected,
                               atol=1e-6)
    back = to_torch(ours)
    assert back.proj_size == 3
    np.testing.assert_allclose(back(x)[0].detach().numpy(), expected, atol=1e-6)
