"""ONNX export of Sequential models through the onnx package's helpers (never a hand-written
protobuf): one or a few standard ONNX nodes per layer, in evaluation mode (Dropout is the
identity, batch norm uses its running statistics), with a dynamic batch dimension."""
import math
import os

# Weights go into the file as host arrays whatever the compute backend is.
import numpy as np

from ..errors import ChainruleError
from . import onnx_more_layers as _more
from . import onnx_pool_layers as _pool
from . import onnx_sequence as _seq
from . import onnx_small_layers as _small

DEFAULT_OPSET = 17
MIN_OPSET = 17  # LayerNormalization, which LayerNorm and GroupNorm use, came in opset 17
INSTALL_HINT = 'pip install -e ".[interop]"'


class ExportError(ChainruleError, ValueError):
    """A model cannot be exported to ONNX: a layer without an ONNX form, a bad opset or input.

    >>> cr.onnx.export(cr.nn.Linear(2, 2), np.zeros(()), "m.onnx")
    Traceback (most recent call last):
        ...
    chainrule.interop.onnx_export.ExportError: export: example_input must be a numeric batch of at least one example, got shape () of float64
    """


def _onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError(f"ONNX export needs the onnx package: {INSTALL_HINT}") from error
    return onnx


def export(model, example_input, path, opset=DEFAULT_OPSET, input_name="input",
           output_name="output"):
    """Write ``model`` to ``path`` as an ONNX model, atomically; returns ``path``.

    ``model`` is a Sequential of chainrule layers (nested ones too) or one layer:
    ``example_input`` (an array or tensor) gives the shape of one batch, every dimension but
    the first fixed in the file, the first the dynamic ``batch`` dimension. RNNCell and GRUCell
    start from zero states there; TransformerEncoderLayer and TransformerEncoder run without
    masks. A model whose forward is not such a chain is exported whole, with dynamic
    ``batch`` and ``sequence`` axes: an ``nn.RNN``/``nn.LSTM``/``nn.GRU`` (``example_input``
    ``x``, ``(x, h_0)`` or ``(x, (h_0, c_0))``; outputs ``output``, ``h_n`` and ``c_n``, the
    initial states an input ``h_0`` (``c_0``) when the example passes them), a
    ``models.rnn_lm.RNNModel`` (``idx`` or ``(idx, state)``; outputs ``output``, ``h_n``,
    ``c_n``), a ``models.gpt.GPT`` (``idx``, at most block_size long; ``output`` is
    ``model(idx)[0]``, the last position's logits) and an ``nn.MultiheadAttention``
    (``(query, key, value)``; outputs ``output`` and ``weights``). Recurrent layers become ONNX's RNN, LSTM
    and GRU operators, attention MatMul and Softmax (with a causal mask in GPT).

    The model is exported in evaluation mode (its mode is restored afterwards) and in the
    dtype of its parameters (onnxruntime's CPU convolutions and recurrent operators run
    float32 only); ``onnx.checker`` validates the result before it is written. Raises
    ExportError naming the first layer that has no ONNX form, its place and why.

    >>> import tempfile, os, onnx
    >>> path = os.path.join(tempfile.mkdtemp(), "mlp.onnx")
    >>> model = cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Linear(8, 3))
    >>> _ = cr.onnx.export(model, np.zeros((1, 4), np.float32), path)
    >>> [node.op_type for node in onnx.load(path).graph.node]
    ['Gemm', 'Relu', 'Gemm']
    """
    onnx = _onnx()
    from .. import nn
    from ..serialize.atomic import atomic_write
    from .onnx_sequence import whole_model
    path = os.fspath(path)
    latest = onnx.defs.onnx_opset_version()
    if isinstance(opset, bool) or not isinstance(opset, int) or not MIN_OPSET <= opset <= latest:
        raise ExportError(f"export: opset must be an int from {MIN_OPSET} to {latest}, "
                          f"got {opset!r}")
    if not isinstance(model, nn.Module):
        raise ExportError(f"export: expected a chainrule nn.Module, got {type(model).__name__}")
    dtype = next((p.dtype for p in model.parameters() if p.dtype.kind == "f"),
                 np.dtype(np.float32))
    graph = _Graph(onnx, dtype, opset)
    whole = whole_model(model)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        if whole is None:
            proto = _sequential(graph, model, example_input, input_name, output_name)
        else:
            proto = _whole(graph, whole, model, example_input, input_name, output_name)
    finally:
        for module, training in modes:
            object.__setattr__(module, "training", training)
    try:
        onnx.checker.check_model(proto, full_check=True)
    except Exception as error:  # onnx's ValidationError or InferenceError
        raise ExportError(f"export: onnx.checker refused the exported graph: {error}") from error
    atomic_write(path, [proto.SerializeToString()], what="ONNX model")
    return path


def _sequential(graph, model, example_input, input_name, output_name):
    from .. import nn
    from ..autograd import no_grad
    from ..tensor import Tensor
    layers = list(_leaves(model, ""))
    # An Embedding first takes the indices themselves: the graph's input is then int64.
    indices_in = bool(layers) and type(layers[0][1]).__name__ == "Embedding"
    x = _example(example_input, np.dtype(np.int64) if indices_in else graph.dtype)
    graph.integer_values = {input_name} if indices_in else set()
    value, h = input_name, Tensor._wrap(x)
    with no_grad():
        if any(isinstance(m, nn.LazyModuleMixin) for m in model.modules()):
            model(h)  # lazy layers take their sizes from the example, as in PyTorch's export
        for where, layer in layers:
            value = _emit(graph, where, layer, value, h.shape)
            h = layer(h)
    return graph.model(input_name, value, output_name, x.shape, h.shape, x.dtype)


def _whole(graph, exporter, model, example_input, input_name, output_name):
    """A model whose forward is not a chain of layers (a recurrent layer, a language model):
    its exporter names the graph's inputs and outputs, with their dynamic axes. The model runs
    on the example first, so that an example it would refuse is refused here in its words."""
    from ..autograd import no_grad
    from ..tensor import Tensor
    parts = list(_flatten_example(example_input))
    counts, takes = _seq.examples_taken(model)
    if len(parts) not in counts:
        raise ExportError(f"export: example_input for a {type(model).__name__} is {takes}, "
                          f"got {len(parts)} arrays")
    integer = exporter in _seq.INDEX_INPUTS
    examples = [_example(part, np.dtype(np.int64) if integer and k == 0 else graph.dtype)
                for k, part in enumerate(parts)]
    tensors = [Tensor._wrap(e) for e in examples]
    with no_grad():
        if len(tensors) == 1:
            model(tensors[0])
        elif exporter is _seq.attention_model:
            model(*tensors)
        else:
            model(tensors[0], tensors[1] if len(tensors) == 2 else tuple(tensors[1:]))
    inputs, outputs = exporter(graph, model, examples)
    rename = {"input": input_name, "output": output_name}
    inputs = [(rename.get(n, n), dt, dims) for n, dt, dims in inputs]
    if input_name != "input":
        for node in graph.nodes:
            node.input[:] = [input_name if i == "input" else i for i in node.input]
    outputs = [(v, rename.get(n, n), dims) for v, n, dims in outputs]
    return graph.finish(inputs, outputs)


def _flatten_example(example):
    if isinstance(example, (tuple, list)):
        for part in example:
            yield from _flatten_example(part)
    else:
        yield example


def _example(example_input, dtype):
    from ..tensor import Tensor
    array = example_input._data if isinstance(example_input, Tensor) else np.asarray(example_input)
    if array.ndim < 1 or array.shape[0] < 1 or array.dtype.kind not in "biuf":
        raise ExportError(f"export: example_input must be a numeric batch of at least one "
                          f"example, got shape {array.shape} of {array.dtype}")
    return array.astype(dtype)  # the example gives shapes; the graph computes in the model's dtype


def _leaves(module, where):
    from .. import nn
    if type(module) is nn.Sequential:
        for name, child in module.named_children():
            yield from _leaves(child, f"{where}.{name}" if where else name)
    else:
        yield where, module


def _emit(graph, where, layer, x, shape):
    kind = type(layer)
    emitter = EMITTERS.get(kind.__name__) if kind.__module__.startswith("chainrule.nn.") else None
    if emitter is None:
        at = f" at {where!r}" if where else ""
        raise ExportError(f"export: layer{at} is a {kind.__module__}.{kind.__qualname__}, which "
                          f"has no ONNX form here; exportable: Sequential and "
                          f"{', '.join(EMITTERS)}")
    graph.scope = where or type(layer).__name__
    return emitter(graph, layer, x, shape)


class _Graph:
    """The nodes and initializers being built, with unique names."""

    def __init__(self, onnx, dtype, opset):
        self.onnx, self.dtype, self.opset = onnx, np.dtype(dtype), opset
        self.nodes, self.initializers, self.scope = [], [], ""
        self.integer_values = set()  # values holding indices (an Embedding's input)
        # onnx_sequence reaches the layers' emitters and the error class through the graph.
        self.emitters, self.error = EMITTERS, ExportError
        self._count = 0

    def _name(self, hint):
        self._count += 1
        return f"{self.scope}/{hint}_{self._count}"

    def node(self, op, *inputs, **attributes):
        output = self._name(op)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [output],
                                                     name=output, **attributes))
        return output

    def node_outputs(self, op, inputs, count, **attributes):
        """A node with ``count`` outputs; an input named "" is an omitted optional one."""
        name = self._name(op)
        outputs = [f"{name}:{k}" for k in range(count)]
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), outputs, name=name,
                                                     **attributes))
        return outputs

    def constant(self, value, hint="const", dtype=None):
        array = np.asarray(value, dtype=dtype or self.dtype)
        name = f"{self.scope}.{hint}" if hint in ("weight", "bias", "running_mean",
                                                  "running_var") else self._name(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def shape(self, dims):
        return self.constant(np.array(dims, dtype=np.int64), "shape", dtype=np.int64)

    def model(self, input_name, value, output_name, input_shape, output_shape, input_dtype=None):
        return self.finish([(input_name, np.dtype(input_dtype or self.dtype),
                             ["batch", *input_shape[1:]])],
                           [(value, output_name, ["batch", *output_shape[1:]])])

    def finish(self, inputs, outputs):
        """The model of graph ``inputs`` [(name, dtype, dims)] and ``outputs`` [(value, name,
        dims)], in the graph's dtype; a dim given as a string is dynamic."""
        helper = self.onnx.helper
        for value, name, _ in outputs:
            producer = next((n for n in self.nodes if value in n.output), None)
            if producer is None or value in [o for _, o, _ in outputs if o != name]:
                # nothing computed it (an empty or all-identity model, an input)
                self.nodes.append(helper.make_node("Identity", [value], [name]))
                continue
            producer.output[:] = [name if o == value else o for o in producer.output]
            for node in self.nodes:
                node.input[:] = [name if i == value else i for i in node.input]
        element = helper.np_dtype_to_tensor_dtype(self.dtype)
        inputs = [helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(dtype),
                                                dims) for name, dtype, dims in inputs]
        outputs = [helper.make_tensor_value_info(name, element, dims)
                   for _, name, dims in outputs]
        graph = helper.make_graph(self.nodes, "chainrule", inputs, outputs, self.initializers)
        opsets = [helper.make_opsetid("", self.opset)]
        from .. import __version__
        proto = helper.make_model(graph, opset_imports=opsets, producer_name="chainrule",
                                  producer_version=__version__)
        proto.ir_version = helper.find_min_ir_version_for(opsets)  # what runtimes can read
        return proto


def _ntuple(value, n):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * n


# -- layers with weights -------------------------------------------------------------------------

def _linear(g, layer, x, shape):
    bias = [g.constant(layer.bias._data, "bias")] if layer.bias is not None else []
    if len(shape) == 2:
        return g.node("Gemm", x, g.constant(layer.weight._data, "weight"), *bias, transB=1)
    transposed = g.constant(np.ascontiguousarray(layer.weight._data.T), "weight_transposed")
    out = g.node("MatMul", x, transposed)
    return g.node("Add", out, *bias) if bias else out


def _conv_pads(layer, dims):
    if layer.padding == "valid":
        return [0] * 2 * dims
    if layer.padding == "same":  # PyTorch puts an odd padding's extra row at the end
        total = [d * (k - 1) for d, k in zip(layer.dilation, layer.kernel_size)]
        return [t // 2 for t in total] + [t - t // 2 for t in total]
    return list(layer.padding) * 2


# chainrule's (and PyTorch's) padding modes as ONNX Pad's modes, and the opset each needs.
_PAD_MODES = {"reflect": ("reflect", 11), "replicate": ("edge", 11), "circular": ("wrap", 19)}


def _conv(g, layer, x, shape):
    dims = len(layer.kernel_size)
    pads = _conv_pads(layer, dims)
    mode = getattr(layer, "padding_mode", "zeros")
    if mode != "zeros":  # padded by a Pad node first: Conv's own pads are zeros
        onnx_mode, needs = _PAD_MODES[mode]
        if g.opset < needs:
            raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} has "
                              f"padding_mode={mode!r}, which ONNX's Pad has from opset {needs}; "
                              f"export with opset={needs} or later")
        every_axis = [0, 0] + pads[:dims] + [0, 0] + pads[dims:]  # N and C are not padded
        x = g.node("Pad", x, g.shape(every_axis), mode=onnx_mode)
        pads = [0] * 2 * dims
    inputs = [x, g.constant(layer.weight._data, "weight")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias._data, "bias"))
    return g.node("Conv", *inputs, kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), pads=pads,
                  dilations=list(layer.dilation), group=layer.groups)


def _conv_transpose(g, layer, x, shape):
    inputs = [x, g.constant(layer.weight._data, "weight")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias._data, "bias"))
    return g.node("ConvTranspose", *inputs, kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), pads=list(layer.padding) * 2,
                  output_padding=list(layer.output_padding), dilations=list(layer.dilation),
                  group=layer.groups)


def _batch_norm(g, layer, x, shape):
    if not layer.track_running_stats:
        raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} keeps no running "
                          f"statistics, so even in evaluation mode it normalises with the "
                          f"batch's own; export needs track_running_stats=True")
    channels = layer.num_features
    if layer.weight is not None:
        scale, shift = g.constant(layer.weight._data, "weight"), g.constant(layer.bias._data, "bias")
    else:
        scale, shift = g.constant(np.ones(channels), "ones"), g.constant(np.zeros(channels), "zeros")
    return g.node("BatchNormalization", x, scale, shift,
                  g.constant(layer.running_mean._data, "running_mean"),
                  g.constant(layer.running_var._data, "running_var"), epsilon=float(layer.eps))


def _layer_norm(g, layer, x, shape):
    normalized = layer.normalized_shape
    scale = layer.weight._data if layer.weight is not None else np.ones(normalized)
    inputs = [x, g.constant(scale, "weight" if layer.weight is not None else "ones")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias._data, "bias"))
    return g.node("LayerNormalization", *inputs, axis=-len(normalized), epsilon=float(layer.eps))


def _group_norm(g, layer, x, shape):
    # Each example's groups, flattened, normalised as a layer norm over the last axis.
    groups, channels = layer.num_groups, layer.num_channels
    per_group = channels // groups * math.prod(shape[2:])
    grouped = g.node("Reshape", x, g.shape([0, groups, -1]))
    normed = g.node("LayerNormalization", grouped, g.constant(np.ones(per_group), "ones"),
                    axis=-1, epsilon=float(layer.eps))
    out = g.node("Reshape", normed, g.shape([0, *shape[1:]]))
    if layer.weight is None:
        return out
    per_channel = (channels,) + (1,) * (len(shape) - 2)
    out = g.node("Mul", out, g.constant(layer.weight._data.reshape(per_channel), "scale"))
    return g.node("Add", out, g.constant(layer.bias._data.reshape(per_channel), "shift"))


# -- pooling -------------------------------------------------------------------------------------

def _pool_geometry(layer, shape):
    dims = len(shape) - 2  # pooling over the dimensions after batch and channels
    kernel = _ntuple(layer.kernel_size, dims)
    stride = _ntuple(layer.stride, dims) if layer.stride not in (None, ()) else kernel
    return list(kernel), list(stride), list(_ntuple(layer.padding, dims)) * 2


def _max_pool(g, layer, x, shape):
    if layer.return_indices:
        raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} returns indices "
                          f"beside its values, which the next layer of a Sequential cannot "
                          f"take; export the model with return_indices=False")
    kernel, stride, pads = _pool_geometry(layer, shape)
    return g.node("MaxPool", x, kernel_shape=kernel, strides=stride, pads=pads,
                  dilations=list(_ntuple(layer.dilation, len(kernel))),
                  ceil_mode=int(layer.ceil_mode))


def _avg_pool(g, layer, x, shape):
    kernel, stride, pads = _pool_geometry(layer, shape)
    if layer.ceil_mode:
        # ONNX's AveragePool divides a last partial window by a different count than PyTorch.
        raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} has ceil_mode=True, "
                          f"whose last partial windows ONNX averages differently from PyTorch")
    if getattr(layer, "divisor_override", None) is None:
        return g.node("AveragePool", x, kernel_shape=kernel, strides=stride, pads=pads,
                      count_include_pad=int(layer.count_include_pad))
    # sum / divisor = (mean over the whole window, padding included) * window / divisor
    mean = g.node("AveragePool", x, kernel_shape=kernel, strides=stride, pads=pads,
                  count_include_pad=1)
    return g.node("Mul", mean, g.constant(math.prod(kernel) / layer.divisor_override))


def _max_unpool(g, layer, x, shape):
    raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} takes the indices of a "
                      f"MaxPool as a second input, which a Sequential cannot pass it")


def _recurrent(g, layer, x, shape):
    raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} returns its final states "
                      f"beside its output, which the next layer of a Sequential cannot take, "
                      f"and this exporter writes no ONNX RNN, LSTM or GRU nodes; convert the "
                      f"model with cr.interop.to_torch and use torch.onnx.export")


def _attention(g, layer, x, shape):
    raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} is attention, for which "
                      f"this exporter writes no ONNX nodes; convert the model with "
                      f"cr.interop.to_torch and use torch.onnx.export")


def _embedding(g, layer, x, shape):
    if layer.max_norm is not None:
        raise ExportError(f"export: Embedding at {g.scope!r} has max_norm={layer.max_norm}, "
                          f"which rewrites its table as it reads; ONNX's Gather cannot")
    if x not in g.integer_values:
        raise ExportError(f"export: Embedding at {g.scope!r} reads indices, so it must be the "
                          f"model's first layer, whose int64 input are the indices")
    return g.node("Gather", g.constant(layer.weight._data, "weight"), x, axis=0)


def _upsample(g, layer, x, shape):
    # The exported sizes are fixed (all but the batch), so each dimension's resize is written
    # as the same constant map interpolate uses: a Gather of source rows (nearest modes), or a
    # weighted sum of gathered taps, so that onnxruntime reads the pixels PyTorch reads.
    from ..ops.resample import _output_sizes, axis_maps
    probe = np.broadcast_to(np.zeros((), g.dtype), shape)
    out, scales = _output_sizes(probe, layer.size, layer.scale_factor,
                                layer.recompute_scale_factor, layer.mode)
    maps = axis_maps(tuple(shape[2:]), out, scales, layer.mode, layer.align_corners, g.dtype)
    for k, spec in enumerate(maps):
        if spec is not None:
            x = _resample_axis(g, x, 2 + k, spec, len(shape))
    return x


def _resample_axis(g, x, axis, spec, ndim):
    kind, index = spec[0], spec[1]
    if kind == "take":
        return g.node("Gather", x, g.constant(index, "rows", dtype=np.int64), axis=axis)
    column = (-1,) + (1,) * (ndim - 1 - axis)
    terms = []
    for t in range(index.shape[1]):
        picked = g.node("Gather", x, g.constant(index[:, t], "taps", dtype=np.int64), axis=axis)
        if kind == "taps":
            terms.append(g.node("Mul", picked, g.constant(spec[2][:, t].reshape(column))))
        else:
            inside = g.constant(spec[2][:, t].reshape(column), "inside", dtype=np.bool_)
            terms.append(g.node("Where", inside, picked, g.constant(0.0, "zero")))
    total = terms[0] if len(terms) == 1 else g.node("Sum", *terms)
    if kind == "window":
        total = g.node("Div", total, g.constant(spec[3].reshape(column), "count"))
    return total


def _adaptive_avg_pool(g, layer, x, shape):
    size = _ntuple(layer.output_size, 2)
    size = [s if s is not None else dim for s, dim in zip(size, shape[-2:])]
    if size == [1, 1]:
        return g.node("GlobalAveragePool", x)
    if any(dim % s for dim, s in zip(shape[-2:], size)):
        raise ExportError(f"export: AdaptiveAvgPool2d at {g.scope!r} pools {tuple(shape[-2:])} "
                          f"to {tuple(size)}, whose windows differ in size; ONNX's pooling "
                          f"needs the input size to be a multiple of the output size")
    kernel = [dim // s for dim, s in zip(shape[-2:], size)]
    return g.node("AveragePool", x, kernel_shape=kernel, strides=kernel)


def _unfold(g, layer, x, shape):
    """im2col by slicing: one strided Slice of the padded image per kernel position, stacked
    after the channel (PyTorch's order: channel, then kernel row, then kernel column). Pure
    data movement, so inf and nan pass through as they do in chainrule."""
    if len(shape) != 4:
        raise ExportError(f"export: Unfold at {g.scope!r} gets shape {tuple(shape)}; export "
                          f"handles batched (N, C, H, W) images")
    kernel, dilation, padding, stride = (_ntuple(v, 2) for v in (
        layer.kernel_size, layer.dilation, layer.padding, layer.stride))
    size = [dim + 2 * p for dim, p in zip(shape[2:], padding)]
    blocks = [(n - d * (k - 1) - 1) // s + 1 for n, d, k, s in zip(size, dilation, kernel, stride)]
    if any(b < 1 for b in blocks):
        raise ExportError(f"export: Unfold at {g.scope!r}: kernel {tuple(kernel)} does not fit "
                          f"the padded image {tuple(size)}")
    if any(padding):
        x = g.node("Pad", x, g.shape([0, 0, *padding, 0, 0, *padding]))
    pieces = []
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            starts = [i * dilation[0], j * dilation[1]]
            ends = [start + s * (b - 1) + 1 for start, s, b in zip(starts, stride, blocks)]
            piece = g.node("Slice", x, g.shape(starts), g.shape(ends), g.shape([2, 3]),
                           g.shape(list(stride)))
            pieces.append(g.node("Unsqueeze", piece, g.shape([2])))
    stacked = g.node("Concat", *pieces, axis=2)  # (N, C, kh*kw, blocks_h, blocks_w)
    return g.node("Reshape", stacked, g.shape([0, shape[1] * len(pieces), -1]))


def _fold(g, layer, x, shape):
    """col2im: ONNX's Col2Im (opset 18), which sums overlapping blocks as PyTorch's fold."""
    if g.opset < 18:
        raise ExportError(f"export: Fold at {g.scope!r} needs ONNX's Col2Im, from opset 18; "
                          f"export with opset=18 or later")
    if len(shape) != 3:
        raise ExportError(f"export: Fold at {g.scope!r} gets shape {tuple(shape)}; export "
                          f"handles batched (N, C * kernel size, blocks) inputs")
    padding = _ntuple(layer.padding, 2)
    return g.node("Col2Im", x, g.shape(_ntuple(layer.output_size, 2)),
                  g.shape(_ntuple(layer.kernel_size, 2)),
                  dilations=list(_ntuple(layer.dilation, 2)), pads=list(padding + padding),
                  strides=list(_ntuple(layer.stride, 2)))


def _two_inputs(g, layer, x, shape):
    raise ExportError(f"export: {type(layer).__name__} at {g.scope!r} compares two inputs, "
                      f"and a Sequential passes each layer one; compute it after the exported "
                      f"model's outputs")


# -- shapes --------------------------------------------------------------------------------------

def _refuse_batch_axis(g, kind, axis):
    if axis == 0:
        raise ExportError(f"export: {kind} at {g.scope!r} changes dimension 0, the batch "
                          f"dimension, which the exported model keeps dynamic")


def _flatten(g, layer, x, shape):
    ndim = len(shape)
    start, end = layer.start_dim % ndim, layer.end_dim % ndim
    _refuse_batch_axis(g, "Flatten", start)
    if start == 1 and end == ndim - 1:
        return g.node("Flatten", x, axis=1)
    merged = math.prod(shape[start:end + 1])
    return g.node("Reshape", x, g.shape([0] * start + [merged] + list(shape[end + 1:])))


def _unflatten(g, layer, x, shape):
    dim = layer.dim % len(shape)
    _refuse_batch_axis(g, "Unflatten", dim)
    target = [0] * dim + list(layer.unflattened_size) + list(shape[dim + 1:])
    return g.node("Reshape", x, g.shape(target))


def _identity(g, layer, x, shape):
    return x


# -- activations ---------------------------------------------------------------------------------

def _op(name, **attributes):
    def emit(g, layer, x, shape):
        return g.node(name, x, **attributes)
    return emit


def _gelu(g, layer, x, shape):
    if layer.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", g.node("Mul", x, x), x)
        inner = g.node("Add", x, g.node("Mul", cube, g.constant(0.044715)))
        core = g.node("Tanh", g.node("Mul", inner, g.constant(math.sqrt(2 / math.pi))))
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        core = g.node("Erf", g.node("Div", x, g.constant(math.sqrt(2))))
    half_x = g.node("Mul", x, g.constant(0.5))
    return g.node("Mul", half_x, g.node("Add", core, g.constant(1.0)))


def _silu(g, layer, x, shape):
    return g.node("Mul", x, g.node("Sigmoid", x))


def _mish(g, layer, x, shape):
    return g.node("Mul", x, g.node("Tanh", g.node("Softplus", x)))


def _log_sigmoid(g, layer, x, shape):
    return g.node("Neg", g.node("Softplus", g.node("Neg", x)))  # log sigmoid(x) = -softplus(-x)


def _tanhshrink(g, layer, x, shape):
    return g.node("Sub", x, g.node("Tanh", x))


def _clip(low, high):
    def emit(g, layer, x, shape):
        lo = layer.min_val if low is None else low
        hi = layer.max_val if high is None else high
        return g.node("Clip", x, g.constant(lo), g.constant(hi))
    return emit


def _softplus(g, layer, x, shape):
    # PyTorch's softplus is linear where beta x exceeds the threshold.
    scaled = g.node("Mul", x, g.constant(layer.beta))
    smooth = g.node("Div", g.node("Softplus", scaled), g.constant(layer.beta))
    return g.node("Where", g.node("Greater", scaled, g.constant(layer.threshold)), x, smooth)


def _celu(g, layer, x, shape):
    if g.dtype == np.float32:
        return g.node("Celu", x, alpha=float(layer.alpha))
    # ONNX's Celu takes float32 only: celu(x, a) = a elu(x / a, 1)
    scaled = g.node("Elu", g.node("Div", x, g.constant(layer.alpha)), alpha=1.0)
    return g.node("Mul", scaled, g.constant(layer.alpha))


def _threshold(g, layer, x, shape):
    above = g.node("Greater", x, g.constant(layer.threshold))
    return g.node("Where", above, x, g.constant(layer.value))


def _along_dim(op, negate=False):
    def emit(g, layer, x, shape):
        dim = layer.dim if layer.dim is not None else (0 if len(shape) in (0, 1, 3) else 1)
        return g.node(op, g.node("Neg", x) if negate else x, axis=dim)
    return emit


def _with_option(op, attribute, option):
    def emit(g, layer, x, shape):
        return g.node(op, x, **{attribute: float(getattr(layer, option))})
    return emit


EMITTERS = {
    "Linear": _linear, "Conv1d": _conv, "Conv2d": _conv, "Conv3d": _conv,
    "ConvTranspose1d": _conv_transpose, "ConvTranspose2d": _conv_transpose,
    "ConvTranspose3d": _conv_transpose, "MaxPool1d": _max_pool, "MaxPool2d": _max_pool,
    "MaxPool3d": _max_pool, "AvgPool1d": _avg_pool, "AvgPool2d": _avg_pool,
    "AvgPool3d": _avg_pool, "AdaptiveAvgPool2d": _adaptive_avg_pool,
    "MaxUnpool1d": _max_unpool, "MaxUnpool2d": _max_unpool, "MaxUnpool3d": _max_unpool,
    "Upsample": _upsample, "UpsamplingNearest2d": _upsample,
    "UpsamplingBilinear2d": _upsample,
    "BatchNorm1d": _batch_norm, "BatchNorm2d": _batch_norm, "LayerNorm": _layer_norm,
    "GroupNorm": _group_norm,
    "Dropout": _identity, "Dropout2d": _identity, "Identity": _identity,
    "Flatten": _flatten, "Unflatten": _unflatten,
    "ReLU": _op("Relu"), "Sigmoid": _op("Sigmoid"), "Tanh": _op("Tanh"),
    "LeakyReLU": _with_option("LeakyRelu", "alpha", "negative_slope"),
    "GELU": _gelu, "SiLU": _silu, "Mish": _mish, "Softsign": _op("Softsign"),
    "LogSigmoid": _log_sigmoid, "SELU": _op("Selu"), "ReLU6": _clip(0.0, 6.0),
    "Hardsigmoid": _op("HardSigmoid", alpha=1 / 6, beta=0.5), "Hardswish": _op("HardSwish"),
    "Tanhshrink": _tanhshrink, "ELU": _with_option("Elu", "alpha", "alpha"),
    "CELU": _celu, "Softplus": _softplus,
    "Hardtanh": _clip(None, None), "Threshold": _threshold,
    "Softmax": _along_dim("Softmax"), "LogSoftmax": _along_dim("LogSoftmax"),
    "Softmin": _along_dim("Softmax", negate=True),
    "Embedding": _embedding, "Unfold": _unfold, "Fold": _fold, "CosineSimilarity": _two_inputs,
    "RNN": _seq.recurrent_in_sequential, "LSTM": _seq.recurrent_in_sequential,
    "GRU": _seq.recurrent_in_sequential, "RNNCell": _seq.cell, "LSTMCell": _seq.cell,
    "GRUCell": _seq.cell, "MultiheadAttention": _seq.multihead_attention,
    "TransformerEncoderLayer": _seq.transformer_encoder_layer,
    "TransformerEncoder": _seq.transformer_encoder, "TransformerDecoderLayer": _seq.decoder,
    "TransformerDecoder": _seq.decoder, "Transformer": _seq.decoder,
    "PairwiseDistance": _two_inputs, **_more.EMITTERS, **_small.EMITTERS,
    **_pool.EMITTERS,
}
