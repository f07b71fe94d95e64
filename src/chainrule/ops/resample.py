"""Resizing (``interpolate``) of (N, C, L), (N, C, H, W) and (N, C, D, H, W) inputs.

Every mode but the nearest ones is separable: along each spatial dimension the output is a
fixed (out, in) matrix times the input (linear interpolation, cubic convolution, or the
averages of "area"), so the resize is one matrix product per dimension and differentiates
through ``matmul``. The nearest modes are indexing. Each matrix is built with PyTorch's source
coordinates, including its float32 arithmetic where PyTorch computes in float32 (the nearest
indices), so that the same input pixel is chosen.

uint8 images take PyTorch's integer path: weights rounded to int16 at a per-pass precision,
the width resized first and rounded to uint8, then the height (as Pillow does).
"""
import math

from ..backend import xp
from ..errors import ArgumentError, DtypeError
from .primitive import primitive

# mode -> the number of spatial dimensions it needs (None: any of 1, 2, 3)
MODES = {"nearest": None, "nearest-exact": None, "area": None, "linear": 1, "bilinear": 2,
         "bicubic": 2, "trilinear": 3}
LINEAR_MODES = ("linear", "bilinear", "bicubic", "trilinear")
CUBIC_A = -0.75  # PyTorch's bicubic coefficient


def _output_sizes(input, size, scale_factor, recompute_scale_factor, mode):
    """The output's spatial sizes, and the scale PyTorch passes to the kernel per dimension
    (None where the kernel works from the sizes)."""
    spatial = input.ndim - 2
    shape = tuple(input.shape[2:])
    if (size is None) == (scale_factor is None):
        raise ValueError("interpolate: give exactly one of size and scale_factor"
                         if size is not None else
                         "interpolate: either size or scale_factor should be defined")
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("interpolate: recompute_scale_factor is not meaningful with an "
                             "explicit size")
        sizes = _per_dim(size, spatial, "size", shape)
        out = tuple(int(s) for s in sizes)
        return out, (None,) * spatial
    factors = tuple(float(f) for f in _per_dim(scale_factor, spatial, "scale_factor", shape))
    out = tuple(int(math.floor(n * f)) for n, f in zip(shape, factors))
    if recompute_scale_factor or mode == "area":
        return out, (None,) * spatial
    return out, factors


def _per_dim(value, spatial, name, shape):
    if isinstance(value, (list, tuple)):
        if len(value) != spatial:
            raise ValueError(f"interpolate: input has spatial dimensions {list(shape)} but "
                             f"{name} is {list(value)}; give one value per spatial dimension "
                             f"(input (N, C, d1, ..., dK), {name} (o1, ..., oK))")
        return tuple(value)
    return (value,) * spatial


def _check_mode(input, mode, align_corners):
    """PyTorch's first checks, in its order (before the sizes)."""
    if align_corners is not None and mode not in LINEAR_MODES:
        raise ValueError(f"interpolate: align_corners can only be set with the interpolating "
                         f"modes {' | '.join(LINEAR_MODES)}, not {mode!r}")
    if mode not in MODES or input.ndim not in (3, 4, 5):
        raise NotImplementedError(f"interpolate: input must be 3-D (N, C, L), 4-D (N, C, H, W) "
                                  f"or 5-D (N, C, D, H, W) and mode one of {tuple(MODES)}; got "
                                  f"shape {input.shape} and mode {mode!r}")


def _check_input(input, mode, antialias):
    """PyTorch's checks after the sizes: antialias, the mode's rank, the dtype."""
    needs = MODES[mode]
    if antialias:
        if mode not in ("bilinear", "bicubic") or input.ndim != 4:
            raise ValueError("interpolate: antialias is restricted to the bilinear and bicubic "
                             "modes on 4-D input (as in PyTorch)")
        raise NotImplementedError("interpolate: antialias=True is not supported by chainrule; "
                                  "resize with antialias=False (or low-pass filter first)")
    if needs is not None and input.ndim - 2 != needs:
        raise NotImplementedError(f"interpolate: got {input.ndim}-D input of shape "
                                  f"{input.shape}, but {mode} mode needs {needs + 2}-D input")
    if input.dtype.kind != "f" and not (mode.startswith("nearest") or input.dtype == xp.uint8
                                        and mode in ("bilinear", "bicubic")):
        raise DtypeError(f"interpolate: mode {mode!r} is not implemented for {input.dtype} "
                         f"input (as in PyTorch: floats, and uint8 for nearest, bilinear and "
                         f"bicubic)")


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dimensions of ``input`` (N, C, L), (N, C, H, W) or (N, C, D, H, W)
    to ``size`` or by ``scale_factor``, as ``torch.nn.functional.interpolate``:
    "nearest" copies the source pixel floor(i * in / out), "nearest-exact" the one nearest to
    the output pixel's centre; "linear", "bilinear" and "trilinear" mix the two nearest along
    each dimension, "bicubic" the four nearest by cubic convolution (``align_corners`` as in
    PyTorch); "area" averages (adaptive average pooling). ``recompute_scale_factor=True``
    computes the coordinates from the output size rather than from ``scale_factor``.

    >>> x = cr.tensor([[[[1., 2.], [3., 4.]]]])
    >>> cr.nn.functional.interpolate(x, scale_factor=2)[0, 0, 0]
    tensor([1., 1., 2., 2.], dtype=float32)
    >>> cr.nn.functional.interpolate(x, size=(3, 3), mode="bilinear", align_corners=True)[0, 0, 1]
    tensor([2. , 2.5, 3. ], dtype=float32)
    >>> cr.nn.functional.interpolate(cr.tensor([[[0., 4.]]]), size=3, mode="linear")
    tensor([[[0., 2., 4.]]], dtype=float32)
    """
    _check_mode(input, mode, align_corners)
    out, scales = _output_sizes(input, size, scale_factor, recompute_scale_factor, mode)
    _check_input(input, mode, antialias)
    shape = tuple(input.shape[2:])
    maps = axis_maps(shape, out, scales, mode, align_corners, input.dtype)
    if mode in ("nearest", "nearest-exact"):
        return _take(input, [rows for _, rows in maps])
    matrices = [m for _, m in maps]
    if input.dtype == xp.uint8:
        return resize_uint8(input, matrices=tuple(_int16_weights(m) for m in matrices))
    return _separable(input, [m.astype(input.dtype) for m in matrices])


def axis_maps(shape, out, scales, mode, align_corners, dtype):
    """How each spatial dimension is resized, as PyTorch does it: ("take", source rows) for
    the nearest modes, ("mix", the (out, in) matrix) for the others. (The ONNX export writes
    the same maps as Gather and MatMul nodes.)"""
    if mode != "area" and (min(out) < 1 or min(shape) < 1):
        raise ArgumentError(f"interpolate: input and output sizes must be greater than 0, got "
                            f"input {shape} and output {out}")
    if mode in ("nearest", "nearest-exact"):
        return [("take", _nearest_source(n, o, s, mode == "nearest-exact", len(shape), dtype))
                for n, o, s in zip(shape, out, scales)]
    corners = bool(align_corners)
    if mode == "area":
        return [("mix", _averaging(n, o)) for n, o in zip(shape, out)]
    if mode == "bicubic":
        return [("mix", _cubic(n, o, s, corners)) for n, o, s in zip(shape, out, scales)]
    # PyTorch's linear modes copy a dimension whose size does not change.
    return [("mix", xp.eye(n) if n == o else _linear(n, o, s, corners))
            for n, o, s in zip(shape, out, scales)]


def _separable(input, matrices):
    """Each spatial dimension multiplied by its (out, in) matrix; an identity is skipped. The
    dimension is moved last and the constant matrix multiplies from the right: matmul then
    saves nothing of the input, which may change in place afterwards (as in PyTorch)."""
    from .linalg import matmul
    from .shape import transpose
    out = input
    last = input.ndim - 1
    for k, m in enumerate(matrices):
        if m.shape[0] == m.shape[1] and (m == xp.eye(m.shape[0])).all():
            continue
        swap = list(range(input.ndim))
        swap[2 + k], swap[last] = last, 2 + k
        moved = out if 2 + k == last else transpose(out, axes=tuple(swap))
        out = matmul(moved, m.T)
        out = out if 2 + k == last else transpose(out, axes=tuple(swap))
    return out


def _scale(size, out, scale, align_corners):
    """PyTorch's area_pixel_compute_scale: input pixels per output pixel."""
    if align_corners:
        return (size - 1) / (out - 1) if out > 1 else 0.0
    return 1.0 / scale if scale is not None and scale > 0 else size / out


def _source(i, scale, align_corners, cubic):
    """PyTorch's area_pixel_compute_source_index: where output pixel ``i`` reads."""
    if align_corners:
        return scale * i
    src = scale * (i + 0.5) - 0.5
    return 0.0 if not cubic and src < 0 else src


def _linear(size, out, scale, align_corners):
    """The (out, size) matrix of linear interpolation."""
    m = xp.zeros((out, size))
    step = _scale(size, out, scale, align_corners)
    for i in range(out):
        src = _source(i, step, align_corners, cubic=False)
        low = min(int(src), size - 1)
        high = min(low + 1, size - 1)
        frac = src - low
        m[i, low] += 1 - frac
        m[i, high] += frac
    return m


def _cubic_weights(t):
    """The four cubic-convolution weights of the pixels at offsets -1, 0, 1, 2 from t's."""
    a = CUBIC_A
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _cubic(size, out, scale, align_corners):
    """The (out, size) matrix of cubic convolution; pixels beyond the edge repeat it."""
    m = xp.zeros((out, size))
    step = _scale(size, out, scale, align_corners)
    for i in range(out):
        src = _source(i, step, align_corners, cubic=True)
        base = math.floor(src)
        for k, weight in enumerate(_cubic_weights(src - base)):
            m[i, min(max(base - 1 + k, 0), size - 1)] += weight
    return m


def _averaging(size, out):
    """The (out, size) matrix of adaptive average pooling: row i averages
    [floor(i*size/out), ceil((i+1)*size/out))."""
    m = xp.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def _take(input, rows):
    """Indexing with each dimension's source rows (the nearest modes)."""
    from .shape import getitem
    index = tuple(r.reshape((len(r),) + (1,) * (len(rows) - 1 - k)) for k, r in enumerate(rows))
    return getitem(input, index=(Ellipsis,) + index)


def _nearest_source(n, o, s, exact, spatial, dtype):
    """Which of ``n`` input pixels each of ``o`` output pixels copies, in PyTorch's arithmetic:
    "nearest" floors i * scale in float32 (in 2-D, an unchanged or doubled size is copied
    exactly); "nearest-exact" floors (i + 0.5) * scale in the input's precision (float32 for
    float32 and uint8), rounded to float32 before the floor."""
    i = xp.arange(o)
    if not exact:
        if spatial == 2 and o in (n, 2 * n):
            return i // (o // n)
        step = xp.float32(1.0 / s) if s is not None and s > 0 else xp.float32(n) / xp.float32(o)
        source = xp.floor(i.astype(xp.float32) * step)
    else:
        real = xp.float64 if dtype == xp.float64 else xp.float32
        step = real(1.0 / s) if s is not None and s > 0 else real(n) / real(o)
        centre = xp.maximum(step * (i.astype(real) + real(0.5)) - real(0.5), real(0))
        source = xp.floor((centre + real(0.5)).astype(xp.float32))
    return xp.minimum(source.astype(xp.int64), n - 1)


def _int16_weights(m):
    """PyTorch's uint8 weights: the matrix scaled by 2**precision and rounded half away from
    zero, the precision being the largest (below 22) at which the largest weight, doubled,
    still fits in 15 bits."""
    largest = float(m.max())
    precision = 0
    while precision < 22 and int(0.5 + largest * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    scaled = m * (1 << precision)
    return xp.trunc(scaled + xp.where(scaled < 0, -0.5, 0.5)).astype(xp.int64), precision


@primitive(differentiable=False)
def resize_uint8(x, *, matrices):
    """The uint8 resize of ``interpolate``: the width first, then the height, each pass
    accumulated in integers, rounded by adding half of 2**precision, shifted back and clamped
    to 0..255."""
    out = x
    for axis in reversed(range(len(matrices))):
        weights, precision = matrices[axis]
        if weights.shape[0] == weights.shape[1]:  # PyTorch skips a size that does not change
            continue
        moved = xp.moveaxis(out.astype(xp.int64), 2 + axis, -1)
        total = moved @ weights.T + (1 << precision >> 1)
        out = xp.moveaxis(xp.clip(total >> precision, 0, 255).astype(xp.uint8), -1, 2 + axis)
    return xp.ascontiguousarray(out)


__all__ = ["interpolate"]
