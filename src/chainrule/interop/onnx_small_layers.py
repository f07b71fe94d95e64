"""ONNX forms, for onnx_export, of the layers of nn/shrink_layers.py, nn/more_dropout.py and
nn/small_layers.py: Hardshrink and Softshrink (Shrink), Softmax2d (Softmax over axis -3),
RReLU (evaluation's LeakyRelu), the dropouts (the identity, as export runs in evaluation
mode), AdaptiveAvgPool1d (AveragePool where the windows are equal), ChannelShuffle (Reshape,
Transpose, Reshape) and LocalResponseNorm (LRN, whose window is PyTorch's for odd sizes).
Bilinear takes two inputs and is refused by name. Dimension 0 is the exported batch axis."""


def _error(g, layer, message):
    return g.error(f"export: {type(layer).__name__} at {g.scope!r} {message}")


def _shrink(bias):
    def emit(g, layer, x, shape):
        return g.node("Shrink", x, lambd=float(layer.lambd),
                      bias=float(layer.lambd) if bias else 0.0)
    return emit


def _softmax2d(g, layer, x, shape):
    if len(shape) != 4:
        raise _error(g, layer, f"gets shape {tuple(shape)}; export handles batched (N, C, H, "
                               f"W) input")
    return g.node("Softmax", x, axis=1)


def _rrelu(g, layer, x, shape):
    return g.node("LeakyRelu", x, alpha=(layer.lower + layer.upper) / 2)


def _identity(g, layer, x, shape):
    return x


def _adaptive_avg_pool1d(g, layer, x, shape):
    size = layer.output_size
    size = size[0] if isinstance(size, (tuple, list)) else size
    if len(shape) != 3 or size <= 0 or shape[-1] % size:
        raise _error(g, layer, f"pools shape {tuple(shape)} to {size}; export handles batched "
                               f"(N, C, L) input whose L is a multiple of the output size "
                               f"(equal windows, which ONNX's AveragePool needs)")
    kernel = shape[-1] // size
    return g.node("AveragePool", x, kernel_shape=[kernel], strides=[kernel])


def _channel_shuffle(g, layer, x, shape):
    _, channels, *rest = shape
    groups = layer.groups
    grouped = g.node("Reshape", x, g.shape([0, groups, channels // groups] + list(rest)))
    order = [0, 2, 1] + list(range(3, len(shape) + 1))
    return g.node("Reshape", g.node("Transpose", grouped, perm=order),
                  g.shape([0, channels] + list(rest)))


def _local_response_norm(g, layer, x, shape):
    if layer.size % 2 == 0:
        raise _error(g, layer, f"has the even size {layer.size}: ONNX's LRN window reaches "
                               f"one channel further forward than PyTorch's, which reaches "
                               f"it backward; export handles odd sizes")
    # ONNX runtimes take LRN on (N, C, H, W) only: other ranks go through (N, C, rest, 1).
    four = x if len(shape) == 4 else g.node("Reshape", x, g.shape([0, shape[1], -1, 1]))
    out = g.node("LRN", four, size=int(layer.size), alpha=float(layer.alpha),
                 beta=float(layer.beta), bias=float(layer.k))
    return out if len(shape) == 4 else g.node("Reshape", out, g.shape([0] + list(shape[1:])))


def _two_inputs(g, layer, x, shape):
    raise _error(g, layer, "takes two inputs, and a Sequential passes each layer one; "
                           "compute it after the exported model's outputs")


EMITTERS = {"Hardshrink": _shrink(False), "Softshrink": _shrink(True), "Softmax2d": _softmax2d,
            "RReLU": _rrelu, "AdaptiveAvgPool1d": _adaptive_avg_pool1d,
            "ChannelShuffle": _channel_shuffle, "LocalResponseNorm": _local_response_norm,
            "Bilinear": _two_inputs,
            **{name: _identity for name in ("Dropout1d", "Dropout3d", "AlphaDropout",
                                            "FeatureAlphaDropout")}}
