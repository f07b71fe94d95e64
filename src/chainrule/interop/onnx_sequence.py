"""ONNX forms of the layers that carry a sequence, for onnx_export: RNN, LSTM and GRU (and their
cells) as ONNX's RNN, LSTM and GRU operators, one per layer; self-attention as MatMul, Softmax
and a causal Where; TransformerEncoderLayer and TransformerEncoder; and the language models
chainrule ships, ``models.rnn_lm.RNNModel`` and ``models.gpt.GPT``, whose batch and sequence
axes stay dynamic.

PyTorch packs its gates (i, f, g, o) for LSTM and (r, z, n) for GRU; ONNX wants (i, o, f, c)
and (z, r, h), so the weight blocks are reordered here. PyTorch's GRU applies the hidden
state's linear map before the reset gate (n = tanh(W_in x + b_in + r (W_hn h + b_hn))), which
is ONNX's ``linear_before_reset=1``."""
import math

import numpy as np

# The blocks of ONNX's gates, in PyTorch's numbering.
ONNX_GATE_ORDER = {"LSTM": (0, 3, 1, 2), "GRU": (1, 0, 2)}
ONNX_OP = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}
ACTIVATIONS = {"RNN_TANH": ["Tanh"], "RNN_RELU": ["Relu"], "LSTM": ["Sigmoid", "Tanh", "Tanh"],
               "GRU": ["Sigmoid", "Tanh"]}
INT64_MAX = np.iinfo(np.int64).max


def _error(g, message):
    return g.error(f"export: {message}")


def _reorder(array, mode, hidden):
    order = ONNX_GATE_ORDER.get(mode)
    if order is None:
        return array
    blocks = array.reshape((len(order), hidden) + array.shape[1:])
    return blocks[list(order)].reshape(array.shape)


def _slice(g, x, start, end, axis):
    return g.node("Slice", x, g.shape([start]), g.shape([end]), g.shape([axis]))


def _inside(g, name, emit, *args):
    """``emit(g, *args)`` with the scope ``name`` below the current one (weights' names)."""
    outer = g.scope
    g.scope = f"{outer}.{name}" if outer else name
    try:
        return emit(g, *args)
    finally:
        g.scope = outer


def _length(g, x, axis):
    """The size of ``x`` along ``axis``, as an int64 scalar computed in the graph."""
    size = g.node("Shape", x, start=axis, end=axis + 1)
    return g.node("Squeeze", size, g.shape([0]))


def recurrence(g, layer, x, states, weights=None):
    """The ONNX nodes of ``layer`` (an RNN, LSTM or GRU, or a cell with ``weights`` giving its
    (w_ih, b_ih, w_hh, b_hh)) on ``x`` (time-major, (T, N, input)), from ``states`` (names of
    the initial h (and c), (layers * directions, N, H)) or zeros when None. Returns the output
    sequence (T, N, directions * H) and the final states, stacked as PyTorch's."""
    mode, hidden = layer.mode, layer.hidden_size
    directions = 2 if getattr(layer, "bidirectional", False) else 1
    layers = getattr(layer, "num_layers", 1)
    suffixes = ("", "_reverse")[:directions]
    finals = ([], [])
    for index in range(layers):
        parts = [weights] if weights else [layer._weights(index, s) for s in suffixes]
        w_ih = np.stack([_reorder(p[0]._data, mode, hidden) for p in parts])
        w_hh = np.stack([_reorder(p[2]._data, mode, hidden) for p in parts])
        inputs = [x, g.constant(w_ih, f"weight_ih_l{index}"),
                  g.constant(w_hh, f"weight_hh_l{index}")]
        if parts[0][1] is not None:
            bias = np.stack([np.concatenate([_reorder(p[1]._data, mode, hidden),
                                             _reorder(p[3]._data, mode, hidden)]) for p in parts])
            inputs.append(g.constant(bias, f"bias_l{index}"))
        else:
            inputs.append("")  # ONNX's default: zero biases
        if states is not None:
            inputs.append("")  # sequence_lens: every sequence runs to the end
            inputs += [_slice(g, s, index * directions, (index + 1) * directions, 0)
                       for s in states]
        options = {"hidden_size": hidden, "activations": ACTIVATIONS[mode] * directions,
                   "direction": "bidirectional" if directions == 2 else "forward"}
        if mode == "GRU":
            options["linear_before_reset"] = 1
        outputs = g.node_outputs(ONNX_OP[mode], inputs, 3 if mode == "LSTM" else 2, **options)
        # Y is (T, directions, N, H); the next layer and the caller want (T, N, directions * H).
        y = g.node("Transpose", outputs[0], perm=[0, 2, 1, 3])
        x = g.node("Reshape", y, g.shape([0, 0, directions * hidden]))
        for final, name in zip(finals, outputs[1:]):
            final.append(name)
    stacked = [f[0] if len(f) == 1 else g.node("Concat", *f, axis=0) for f in finals if f]
    return x, stacked


def check_recurrent(g, layer):
    if getattr(layer, "proj_size", 0):
        raise _error(g, f"{type(layer).__name__} at {g.scope!r} has proj_size={layer.proj_size}, "
                     f"which ONNX's LSTM has no form of")


def recurrent_layer_model(g, layer, examples):
    """A whole RNN, LSTM or GRU: inputs ``input`` and, if the example has them, the initial
    states ``h_0`` (``c_0``); outputs ``output``, ``h_n`` (``c_n``), the layer's return values,
    with the batch and sequence axes dynamic."""
    check_recurrent(g, layer)
    x_example, states_example = examples[0], examples[1:]
    lstm = layer.mode == "LSTM"
    batched = x_example.ndim == 3
    x_dims = (["batch", "sequence"] if layer.batch_first else ["sequence", "batch"]) \
        if batched else ["sequence"]
    inputs = [("input", g.dtype, x_dims + [layer.input_size])]
    directions = 2 if layer.bidirectional else 1
    state_dims = [layer.num_layers * directions] + (["batch"] if batched else []) \
        + [layer.hidden_size]
    state_names = ("h_0", "c_0") if lstm else ("h_0",)
    if states_example:
        inputs += [(name, g.dtype, state_dims) for name in state_names]
    x, states = "input", [name for name, _, _ in inputs[1:]] or None
    if not batched:
        x = g.node("Unsqueeze", x, g.shape([1]))
        states = states and [g.node("Unsqueeze", s, g.shape([1])) for s in states]
    elif layer.batch_first:
        x = g.node("Transpose", x, perm=[1, 0, 2])
    y, finals = recurrence(g, layer, x, states)
    if not batched:
        y = g.node("Squeeze", y, g.shape([1]))
        finals = [g.node("Squeeze", f, g.shape([1])) for f in finals]
    elif layer.batch_first:
        y = g.node("Transpose", y, perm=[1, 0, 2])
    outputs = [(y, "output", x_dims + [directions * layer.hidden_size])]
    outputs += [(f, name, state_dims) for f, name in zip(finals, ("h_n", "c_n"))]
    return inputs, outputs


def cell(g, layer, x, shape):
    """RNNCell and GRUCell in a Sequential (from zero states): one step of ONNX's RNN or GRU."""
    if type(layer).__name__ == "LSTMCell":
        raise _error(g, f"LSTMCell at {g.scope!r} returns (h, c), which the next layer of a "
                     f"Sequential cannot take; export an nn.LSTM on its own instead")
    axes = [0, 1] if len(shape) == 1 else [0]
    step = g.node("Unsqueeze", x, g.shape(axes))  # (1, N, input): a sequence of one step
    weights = (layer.weight_ih, layer.bias_ih, layer.weight_hh, layer.bias_hh)
    y, _ = recurrence(g, layer, step, None, weights)
    return g.node("Squeeze", y, g.shape(axes))


def recurrent_in_sequential(g, layer, x, shape):
    lstm = layer.mode == "LSTM"
    returns = "(output, (h_n, c_n))" if lstm else "(output, h_n)"
    gives = "output, h_n and c_n" if lstm else "output and h_n"
    raise _error(g, f"{type(layer).__name__} at {g.scope!r} returns {returns}, which the next "
                 f"layer of a Sequential cannot take; export the layer on its own "
                 f"(cr.onnx.export(layer, x, path) gives {gives}) or inside a "
                 f"models.rnn_lm.RNNModel")


# -- attention -----------------------------------------------------------------------------------

def attention_core(g, q, k, v, heads, head_dim, causal):
    """softmax(Q K^T / sqrt(d) [+ causal mask]) V over ``heads`` heads, on (N, L, E) values;
    returns (N, L, E). Q is scaled before the product, as chainrule's
    scaled_dot_product_attention does."""
    def split(t):
        return g.node("Transpose", g.node("Reshape", t, g.shape([0, 0, heads, -1])),
                      perm=[0, 2, 1, 3])
    q, k, v = split(q), split(k), split(v)
    scores = g.node("MatMul", g.node("Mul", q, g.constant(1 / math.sqrt(head_dim), "scale")),
                    g.node("Transpose", k, perm=[0, 1, 3, 2]))
    if causal:  # query i sees keys 0..i: mask where the key's index exceeds the query's
        positions = g.node("Range", g.constant(0, "zero", np.int64),
                           _length(g, q, 2), g.constant(1, "one", np.int64))
        later = g.node("Greater", g.node("Unsqueeze", positions, g.shape([0])),
                       g.node("Unsqueeze", positions, g.shape([1])))
        scores = g.node("Where", later, g.constant(-np.inf, "minus_infinity"), scores)
    weights = g.node("Softmax", scores, axis=-1)
    out = g.node("Transpose", g.node("MatMul", weights, v), perm=[0, 2, 1, 3])
    return g.node("Reshape", out, g.shape([0, 0, -1]))


def _check_self_attention(g, mha):
    why = None
    if mha.bias_k is not None:
        why = "add_bias_kv=True"
    elif mha.add_zero_attn:
        why = "add_zero_attn=True"
    elif not mha._qkv_same_embed_dim:
        why = f"kdim={mha.kdim}, vdim={mha.vdim} (not embed_dim)"
    if why:
        raise _error(g, f"MultiheadAttention at {g.scope!r} has {why}, which this exporter writes "
                     f"no ONNX nodes for")


def self_attention(g, mha, x):
    """``mha(x, x, x, need_weights=False)[0]`` on (N, L, E) ``x``, without masks."""
    _linear = g.emitters["Linear"]
    _check_self_attention(g, mha)
    e = mha.embed_dim
    packed = g.node("MatMul", x, g.constant(np.ascontiguousarray(mha.in_proj_weight._data.T),
                                            "in_proj_weight_transposed"))
    if mha.in_proj_bias is not None:
        packed = g.node("Add", packed, g.constant(mha.in_proj_bias._data, "in_proj_bias"))
    q, k, v = g.node_outputs("Split", [packed, g.shape([e, e, e])], 3, axis=-1)
    y = attention_core(g, q, k, v, mha.num_heads, mha.head_dim, causal=False)
    return _inside(g, "out_proj", _linear, mha.out_proj, y, (None, None, e))


def _activation(g, layer, x):
    from ..nn import functional as F
    activation = layer.activation
    # TransformerEncoder deep-copies its layers, and with them the relu primitive.
    if activation is F.relu or (type(activation) is type(F.relu)
                                and activation.name == F.relu.name):
        return g.node("Relu", x)
    if activation is F.gelu:
        return g.emitters["GELU"](g, type("GELU", (), {"approximate": "none"})(), x, None)
    emitter = g.emitters.get(type(activation).__name__) \
        if type(activation).__module__.startswith("chainrule.nn.") else None
    if emitter is None or emitter in (transformer_encoder_layer, transformer_encoder):
        raise _error(g, f"{type(layer).__name__} at {g.scope!r} has activation {activation!r}, a "
                     f"callable with no ONNX form here; use 'relu', 'gelu' or a chainrule "
                     f"activation module")
    return emitter(g, activation, x, None)


def _encoder_layer(g, layer, x):
    """One TransformerEncoderLayer on (N, L, E) ``x``, no masks."""
    _layer_norm, _linear = g.emitters["LayerNorm"], g.emitters["Linear"]
    e = layer.self_attn.embed_dim
    wide = (None, None, e)

    def attend(h):
        return _inside(g, "self_attn", self_attention, layer.self_attn, h)

    def feed_forward(h):
        inner = _activation(g, layer, _inside(g, "linear1", _linear, layer.linear1, h, wide))
        return _inside(g, "linear2", _linear, layer.linear2, inner, wide)

    def norm(k, h):
        return _inside(g, f"norm{k}", _layer_norm, getattr(layer, f"norm{k}"), h, wide)
    if layer.norm_first:
        x = g.node("Add", x, attend(norm(1, x)))
        return g.node("Add", x, feed_forward(norm(2, x)))
    x = norm(1, g.node("Add", x, attend(x)))
    return norm(2, g.node("Add", x, feed_forward(x)))


def _batch_major(g, x, shape, batch_first):
    """(N, L, E) from a batched input in the layer's layout, or from an unbatched (L, E)."""
    if len(shape) == 2:
        return g.node("Unsqueeze", x, g.shape([0])), lambda y: g.node("Squeeze", y, g.shape([0]))
    if batch_first:
        return x, lambda y: y
    return (g.node("Transpose", x, perm=[1, 0, 2]),
            lambda y: g.node("Transpose", y, perm=[1, 0, 2]))


def transformer_encoder_layer(g, layer, x, shape):
    x, back = _batch_major(g, x, shape, layer.self_attn.batch_first)
    return back(_encoder_layer(g, layer, x))


def transformer_encoder(g, layer, x, shape):
    if not layer.layers:
        return x
    x, back = _batch_major(g, x, shape, layer.layers[0].self_attn.batch_first)
    for k, block in enumerate(layer.layers):
        x = _inside(g, f"layers.{k}", _encoder_layer, block, x)
    if layer.norm is not None:
        x = _inside(g, "norm", g.emitters["LayerNorm"], layer.norm, x, None)
    return back(x)


def multihead_attention(g, layer, x, shape):
    raise _error(g, f"MultiheadAttention at {g.scope!r} takes query, key and value and returns "
                 f"(output, weights), which a Sequential cannot pass; export it on its own "
                 f"(example_input (query, key, value)), or inside a TransformerEncoderLayer, a "
                 f"TransformerEncoder or a models.gpt.GPT")


def attention_model(g, mha, examples):
    """A whole MultiheadAttention, as ``mha(query, key, value)`` computes with its defaults:
    inputs ``query``, ``key``, ``value``; outputs ``output`` and ``weights`` (averaged over
    the heads), with the batch and both sequence axes dynamic."""
    e, heads, size = mha.embed_dim, mha.num_heads, mha.head_dim
    batched = examples[0].ndim == 3

    def dims(sequence, features):
        if not batched:
            return [sequence, features]
        return ["batch", sequence, features] if mha.batch_first else [sequence, "batch", features]
    inputs = [("query", g.dtype, dims("target", e)), ("key", g.dtype, dims("source", mha.kdim)),
              ("value", g.dtype, dims("source", mha.vdim))]

    def batch_major(x):
        if not batched:
            return g.node("Unsqueeze", x, g.shape([0]))
        return x if mha.batch_first else g.node("Transpose", x, perm=[1, 0, 2])
    if mha._qkv_same_embed_dim:
        w = mha.in_proj_weight._data
        weights = (w[:e], w[e:2 * e], w[2 * e:])
    else:
        weights = (mha.q_proj_weight._data, mha.k_proj_weight._data, mha.v_proj_weight._data)
    bias = mha.in_proj_bias
    projected = []
    for name, w, k in zip(("query", "key", "value"), weights, range(3)):
        x = g.node("MatMul", batch_major(name),
                   g.constant(np.ascontiguousarray(w.T), f"{name}_proj_transposed"))
        if bias is not None:
            x = g.node("Add", x, g.constant(bias._data[k * e:(k + 1) * e], f"{name}_bias"))
        projected.append(x)
    q, k, v = projected
    if mha.bias_k is not None:  # one more key and value, the same for every example
        rows = g.node("Concat", g.node("Shape", k, start=0, end=1), g.shape([1, e]), axis=0)
        k = g.node("Concat", k, g.node("Expand", g.constant(mha.bias_k._data, "bias_k"), rows),
                   axis=1)
        v = g.node("Concat", v, g.node("Expand", g.constant(mha.bias_v._data, "bias_v"), rows),
                   axis=1)

    def split(t):  # (N, S, E) -> (N, H, S, head_dim)
        return g.node("Transpose", g.node("Reshape", t, g.shape([0, 0, heads, size])),
                      perm=[0, 2, 1, 3])
    q, k, v = split(q), split(k), split(v)
    if mha.add_zero_attn:  # and a key and value of zeros after them
        rows = g.node("Concat", g.node("Shape", k, start=0, end=2), g.shape([1, size]), axis=0)
        zeros = g.node("Expand", g.constant(np.zeros((1, 1, 1, size)), "zeros"), rows)
        k, v = (g.node("Concat", t, zeros, axis=2) for t in (k, v))
    scores = g.node("MatMul", g.node("Mul", q, g.constant(math.sqrt(1.0 / size), "scale")),
                    g.node("Transpose", k, perm=[0, 1, 3, 2]))
    attention = g.node("Softmax", scores, axis=-1)
    out = g.node("Transpose", g.node("MatMul", attention, v), perm=[0, 2, 1, 3])
    out = g.node("Reshape", out, g.shape([0, 0, e]))
    out = _inside(g, "out_proj", g.emitters["Linear"], mha.out_proj, out, (None, None, e))
    if g.opset >= 18:  # ReduceMean's axes became an input in opset 18
        mean = g.node("ReduceMean", attention, g.shape([1]), keepdims=0)
    else:
        mean = g.node("ReduceMean", attention, axes=[1], keepdims=0)
    if not batched:
        out, mean = (g.node("Squeeze", t, g.shape([0])) for t in (out, mean))
    elif not mha.batch_first:
        out = g.node("Transpose", out, perm=[1, 0, 2])
    weight_dims = (["batch"] if batched else []) + ["target", "source"]
    return inputs, [(out, "output", dims("target", e)), (mean, "weights", weight_dims)]


def decoder(g, layer, x, shape):
    two = "src and tgt" if type(layer).__name__ == "Transformer" else "tgt and the encoder's memory"
    raise _error(g, f"{type(layer).__name__} at {g.scope!r} takes two sequences ({two}), which a "
                 f"Sequential cannot pass; this exporter writes no ONNX nodes for it "
                 f"(cr.interop.to_torch and torch.onnx.export can)")


# -- the language models chainrule ships ---------------------------------------------------------

def _exactly(g, module, cls, where):
    # A subclass may compute something else in its forward: the graph below would be wrong.
    if type(module) is not cls:
        raise _error(g, f"{where} is a {type(module).__module__}.{type(module).__qualname__}, not "
                     f"{cls.__module__}.{cls.__qualname__}, whose forward this exporter "
                     f"writes; export the model through cr.interop.to_torch instead")


def rnn_lm_model(g, model, examples):
    """models.rnn_lm.RNNModel: ``input`` (batch, sequence) token indices (and ``h_0``/``c_0``
    if the example passes a state) to ``output`` (sequence * batch, vocab), d2l's time-major
    scores, and ``h_n`` (``c_n``)."""
    from ..models import rnn_lm
    _linear = g.emitters["Linear"]
    _exactly(g, model, rnn_lm.RNNModel, "the model")
    layer = model.rnn
    check_recurrent(g, layer)
    lstm = layer.mode == "LSTM"
    directions = 2 if layer.bidirectional else 1
    state_dims = [layer.num_layers * directions, "batch", layer.hidden_size]
    inputs = [("input", np.dtype(np.int64), ["batch", "sequence"])]
    if len(examples) > 1:
        inputs += [(name, g.dtype, state_dims) for name in (("h_0", "c_0") if lstm else ("h_0",))]
    steps_first = g.node("Transpose", "input", perm=[1, 0])
    if model.embedding is None:
        g.scope = "one_hot"
        x = g.node("OneHot", steps_first, g.constant(model.vocab_size, "depth", np.int64),
                   g.constant([0, 1], "off_on"), axis=-1)
    else:
        g.scope = "embedding"
        if model.embedding.max_norm is not None:
            raise _error(g, f"Embedding at 'embedding' has max_norm={model.embedding.max_norm}, "
                         f"which rewrites its table as it reads; ONNX's Gather cannot")
        x = g.node("Gather", g.constant(model.embedding.weight._data, "weight"), steps_first,
                   axis=0)
    g.scope = "rnn"
    y, finals = recurrence(g, layer, x, [name for name, _, _ in inputs[1:]] or None)
    g.scope = "linear"
    flat = g.node("Reshape", y, g.shape([-1, directions * layer.hidden_size]))
    scores = _linear(g, model.linear, flat, (None, None))
    outputs = [(scores, "output", ["sequence_times_batch", model.vocab_size])]
    outputs += [(f, name, state_dims) for f, name in zip(finals, ("h_n", "c_n"))]
    return inputs, outputs


def gpt_model(g, model, examples):
    """models.gpt.GPT without targets: ``input`` (batch, sequence) token indices, at most
    block_size long, to ``output`` (batch, 1, vocab), the last position's logits, as
    ``model(idx)[0]``."""
    from ..models import gpt
    _gelu, _layer_norm, _linear = (g.emitters[k] for k in ("GELU", "LayerNorm", "Linear"))
    _exactly(g, model, gpt.GPT, "the model")
    tr = model.transformer
    _exactly(g, tr, gpt._Transformer, "transformer")
    e = model.config.n_embd
    wide = (None, None, e)
    g.scope = "transformer.wte"
    table = g.constant(tr.wte.weight._data, "weight")
    x = g.node("Gather", table, "input", axis=0)
    g.scope = "transformer.wpe"
    positions = g.node("Range", g.constant(0, "zero", np.int64), _length(g, "input", 1),
                       g.constant(1, "one", np.int64))
    x = g.node("Add", x, g.node("Gather", g.constant(tr.wpe.weight._data, "weight"), positions,
                                axis=0))
    for k, block in enumerate(tr.h):
        where = f"transformer.h.{k}"
        _exactly(g, block, gpt.Block, where)
        _exactly(g, block.attn, gpt.CausalSelfAttention, f"{where}.attn")
        _exactly(g, block.mlp, gpt.MLP, f"{where}.mlp")
        g.scope = f"{where}.ln_1"
        h = _layer_norm(g, block.ln_1, x, wide)
        g.scope = f"{where}.attn.c_attn"
        attn = block.attn
        q, k_, v = g.node_outputs("Split", [_linear(g, attn.c_attn, h, wide),
                                            g.shape([e, e, e])], 3, axis=-1)
        g.scope = f"{where}.attn"
        y = attention_core(g, q, k_, v, attn.n_head, e // attn.n_head, causal=True)
        g.scope = f"{where}.attn.c_proj"
        x = g.node("Add", x, _linear(g, attn.c_proj, y, wide))
        g.scope = f"{where}.ln_2"
        h = _layer_norm(g, block.ln_2, x, wide)
        g.scope = f"{where}.mlp"
        h = _inside(g, "c_fc", _linear, block.mlp.c_fc, h, wide)
        h = _inside(g, "gelu", _gelu, block.mlp.gelu, h, None)
        x = g.node("Add", x, _inside(g, "c_proj", _linear, block.mlp.c_proj, h, wide))
    g.scope = "transformer.ln_f"
    x = _layer_norm(g, tr.ln_f, x, wide)
    g.scope = "lm_head"
    last = g.node("Slice", x, g.shape([-1]), g.shape([INT64_MAX]), g.shape([1]))
    head = model.lm_head
    if head.weight is tr.wte.weight and head.bias is None:  # tied: one copy of the table
        logits = g.node("MatMul", last, g.node("Transpose", table, perm=[1, 0]))
    else:
        logits = _linear(g, head, last, wide)
    inputs = [("input", np.dtype(np.int64), ["batch", "sequence"])]
    return inputs, [(logits, "output", ["batch", 1, model.config.vocab_size])]


INDEX_INPUTS = (rnn_lm_model, gpt_model)  # their graph input is int64 token indices


def examples_taken(model):
    """The numbers of arrays ``model``'s example may hold, and how to say what they are."""
    from .. import nn
    from ..models import gpt, rnn_lm
    if isinstance(model, gpt.GPT):
        return (1,), "the token indices alone (it is exported as model(idx), without targets)"
    if isinstance(model, nn.MultiheadAttention):
        return (3,), "(query, key, value)"
    layer = model.rnn if isinstance(model, rnn_lm.RNNModel) else model
    x = "idx" if layer is not model else "x"
    if layer.mode == "LSTM":
        return (1, 3), f"{x} or ({x}, (h_0, c_0))"
    return (1, 2), f"{x} or ({x}, h_0)"


def whole_model(model):
    """The exporter of a model that is not a Sequential of layers, or None."""
    from .. import nn
    from ..models import gpt, rnn_lm
    if type(model) in (nn.RNN, nn.LSTM, nn.GRU):
        return recurrent_layer_model
    if type(model) is nn.MultiheadAttention:
        return attention_model
    if isinstance(model, rnn_lm.RNNModel):
        return rnn_lm_model
    if isinstance(model, gpt.GPT):
        return gpt_model
    return None
