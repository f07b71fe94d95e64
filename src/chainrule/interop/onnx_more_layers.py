"""ONNX forms, for onnx_export, of the padding layers (Pad), PReLU (PRelu), GLU (two Slices and
a Sigmoid), PixelShuffle and PixelUnshuffle (Reshape, Transpose, Reshape, in PyTorch's channel
order, which is ONNX's DepthToSpace "CRD" but not its SpaceToDepth), RMSNorm (ReduceMean) and
InstanceNorm1d/2d/3d (InstanceNormalization, or BatchNormalization with running statistics,
which evaluation mode uses when they are tracked). Dimension 0 is the exported batch axis, so a
layer must see a batched input and leave that axis alone."""
import numpy as np

# chainrule's padding modes as ONNX Pad's modes, and the opset each needs.
PAD_MODES = {"constant": ("constant", 11), "reflect": ("reflect", 11),
             "replicate": ("edge", 11), "circular": ("wrap", 19)}


def _error(g, layer, message):
    return g.error(f"export: {type(layer).__name__} at {g.scope!r} {message}")


def _batched(g, layer, shape, dims):
    if len(shape) != dims + 2:
        raise _error(g, layer, f"gets shape {tuple(shape)}; export handles batched inputs of "
                               f"{dims + 2} dimensions (N, C, ...), the batch axis dynamic")


def _padding(g, layer, x, shape):
    onnx_mode, needs = PAD_MODES[layer.mode]
    if g.opset < needs:
        raise _error(g, layer, f"pads with mode {layer.mode!r}, which ONNX's Pad has from "
                               f"opset {needs}; export with opset={needs} or later")
    padded = len(layer.padding) // 2
    if len(layer.padding) % 2 or padded >= len(shape):
        raise _error(g, layer, f"pads {padded} dimensions of shape {tuple(shape)}; export "
                               f"keeps dimension 0, the batch axis, unpadded")
    before, after = [0] * len(shape), [0] * len(shape)
    for k in range(padded):  # the last dimension first, as F.pad's pairs
        before[-1 - k], after[-1 - k] = layer.padding[2 * k], layer.padding[2 * k + 1]
    inputs = [x, g.shape(before + after)]
    if layer.mode == "constant":
        inputs.append(g.constant(np.array(layer.value), "value"))
    return g.node("Pad", *inputs, mode=onnx_mode)


def _prelu(g, layer, x, shape):
    slopes = layer.weight._data
    if slopes.size > 1:
        if len(shape) < 2:
            raise _error(g, layer, f"has {slopes.size} slopes for shape {tuple(shape)}")
        slopes = slopes.reshape((-1,) + (1,) * (len(shape) - 2))
    return g.node("PRelu", x, g.constant(slopes, "weight"))


def _glu(g, layer, x, shape):
    axis = layer.dim % len(shape)
    if axis == 0:
        raise _error(g, layer, "halves dimension 0, the batch axis, which export keeps dynamic")
    half = shape[axis] // 2
    a = g.node("Slice", x, g.shape([0]), g.shape([half]), g.shape([axis]))
    b = g.node("Slice", x, g.shape([half]), g.shape([2 * half]), g.shape([axis]))
    return g.node("Mul", a, g.node("Sigmoid", b))


def _pixel_shuffle(g, layer, x, shape):
    _batched(g, layer, shape, 2)
    r = layer.upscale_factor
    _, c, h, w = shape
    blocks = g.node("Reshape", x, g.shape([0, c // (r * r), r, r, h, w]))
    moved = g.node("Transpose", blocks, perm=[0, 1, 4, 2, 5, 3])
    return g.node("Reshape", moved, g.shape([0, c // (r * r), h * r, w * r]))


def _pixel_unshuffle(g, layer, x, shape):
    _batched(g, layer, shape, 2)
    r = layer.downscale_factor
    _, c, h, w = shape
    blocks = g.node("Reshape", x, g.shape([0, c, h // r, r, w // r, r]))
    moved = g.node("Transpose", blocks, perm=[0, 1, 3, 5, 2, 4])
    return g.node("Reshape", moved, g.shape([0, c * r * r, h // r, w // r]))


def _rms_norm(g, layer, x, shape):
    axes = list(range(len(shape) - len(layer.normalized_shape), len(shape)))
    if 0 in axes:
        raise _error(g, layer, "normalises over dimension 0, the batch axis")
    eps = layer.eps if layer.eps is not None else float(np.finfo(g.dtype).eps)
    square = g.node("Mul", x, x)
    if g.opset >= 18:  # ReduceMean's axes became an input in opset 18
        mean = g.node("ReduceMean", square, g.shape(axes), keepdims=1)
    else:
        mean = g.node("ReduceMean", square, axes=axes, keepdims=1)
    scale = g.node("Sqrt", g.node("Add", mean, g.constant(eps)))
    out = g.node("Div", x, scale)
    if layer.weight is None:
        return out
    return g.node("Mul", out, g.constant(layer.weight._data, "weight"))


def _instance_norm(g, layer, x, shape):
    _batched(g, layer, shape, layer.dims)
    channels = shape[1]
    scale = (g.constant(layer.weight._data, "weight") if layer.weight is not None
             else g.constant(np.ones(channels), "ones"))
    shift = (g.constant(layer.bias._data, "bias") if layer.bias is not None
             else g.constant(np.zeros(channels), "zeros"))
    if layer.track_running_stats:  # evaluation mode normalises with the running statistics
        return g.node("BatchNormalization", x, scale, shift,
                      g.constant(layer.running_mean._data, "running_mean"),
                      g.constant(layer.running_var._data, "running_var"),
                      epsilon=float(layer.eps))
    return g.node("InstanceNormalization", x, scale, shift, epsilon=float(layer.eps))


EMITTERS = {"PReLU": _prelu, "GLU": _glu, "PixelShuffle": _pixel_shuffle,
            "PixelUnshuffle": _pixel_unshuffle, "RMSNorm": _rms_norm,
            **{f"InstanceNorm{n}d": _instance_norm for n in (1, 2, 3)},
            **{f"{kind}Pad{n}d": _padding for n in (1, 2, 3)
               for kind in ("Zero", "Constant", "Reflection", "Replication", "Circular")}}
