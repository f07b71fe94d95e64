"""ONNX forms, for onnx_export, of the layers of nn/more_pool_layers.py and EmbeddingBag:
AdaptiveMaxPool1d/2d (MaxPool where the windows are equal, GlobalMaxPool for one output) and
LPPool1d/2d (LpPool, for an even integer p: ONNX's LpPool takes |x|^p, PyTorch's x^p, which
agree only there). EmbeddingBag takes indices and offsets, not a float input, and is refused
by name. Dimension 0 is the exported batch axis."""
import math


def _error(g, layer, message):
    return g.error(f"export: {type(layer).__name__} at {g.scope!r} {message}")


def _adaptive_max_pool(spatial):
    def emit(g, layer, x, shape):
        if layer.return_indices:
            raise _error(g, layer, "returns indices too, and a Sequential passes each layer "
                                   "one tensor")
        sizes = layer.output_size
        sizes = tuple(sizes) if isinstance(sizes, (tuple, list)) else (sizes,) * spatial
        sizes = [n if s is None else s for s, n in zip(sizes, shape[2:])]
        if len(shape) != spatial + 2 or any(s <= 0 or n % s for s, n in zip(sizes, shape[2:])):
            raise _error(g, layer, f"pools shape {tuple(shape)} to {tuple(sizes)}; export "
                                   f"handles batched input whose sizes are multiples of the "
                                   f"output's (equal windows, which ONNX's MaxPool needs)")
        if all(s == 1 for s in sizes):
            return g.node("GlobalMaxPool", x)
        kernel = [n // s for s, n in zip(sizes, shape[2:])]
        return g.node("MaxPool", x, kernel_shape=kernel, strides=kernel)
    return emit


def _lp_pool(spatial):
    def emit(g, layer, x, shape):
        p = layer.norm_type
        if not (math.isfinite(p) and p > 0 and p == int(p) and int(p) % 2 == 0):
            raise _error(g, layer, f"has norm_type={p!r}; ONNX's LpPool sums |x|^p where "
                                   f"PyTorch sums x^p, the same only for an even integer p")
        if layer.ceil_mode or len(shape) != spatial + 2:
            raise _error(g, layer, f"gets shape {tuple(shape)} with ceil_mode="
                                   f"{layer.ceil_mode}; export handles batched input without "
                                   f"ceil_mode")
        kernel = layer.kernel_size
        kernel = list(kernel) if isinstance(kernel, (tuple, list)) else [kernel] * spatial
        stride = kernel if layer.stride is None else layer.stride
        stride = list(stride) if isinstance(stride, (tuple, list)) else [stride] * spatial
        return g.node("LpPool", x, p=int(p), kernel_shape=kernel, strides=stride)
    return emit


def _embedding_bag(g, layer, x, shape):
    raise _error(g, layer, "takes integer indices (and offsets), not the float input that "
                           "export traces; export the layers after it")


EMITTERS = {"AdaptiveMaxPool1d": _adaptive_max_pool(1),
            "AdaptiveMaxPool2d": _adaptive_max_pool(2), "LPPool1d": _lp_pool(1),
            "LPPool2d": _lp_pool(2), "EmbeddingBag": _embedding_bag}
