"""Resizing (``interpolate``) of (N, C, L), (N, C, H, W) and (N, C, D, H, W) inputs.

Every mode is separable: along each spatial dimension, each output pixel reads a few input
pixels at fixed positions (``axis_maps``): the nearest one ("nearest", "nearest-exact"), two
weighted (linear), four (cubic convolution) or a window ("area", adaptive average pooling).
The reads are one primitive, ``gather_taps`` (a weighted gather along a dimension), whose
adjoint ``scatter_taps`` adds the gradient back through the same taps; each is the other's VJP,
to every order. An inf or NaN reaches exactly the outputs that read it, as in PyTorch. The
positions and weights are PyTorch's, including its float32 arithmetic where PyTorch computes
in float32 (the nearest indices), so that the same pixel is chosen.

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
    # PyTorch's CPU kernels: floats, and uint8 (no other integer, nor bool) in these modes.
    if input.dtype.kind != "f" and not (input.dtype == xp.uint8 and (
            mode.startswith("nearest") or mode in ("bilinear", "bicubic"))):
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
        return _take(input, [rows for _, rows in maps]).contiguous()
    if input.dtype == xp.uint8:
        matrices = tuple(None if m is None else _int16_weights(dense(m, n))
                         for m, n in zip(maps, shape))
        return resize_uint8(input, matrices=matrices)
    return resample(input, maps).contiguous()  # C order, as PyTorch's result (view(-1) works)


def axis_maps(shape, out, scales, mode, align_corners, dtype):
    """How each spatial dimension is resized, as PyTorch does it (None where it is copied):
    ("take", source rows) for the nearest modes; ("taps", index, weight) for the linear and
    cubic modes, output i being the sum over t of weight[i, t] * input[index[i, t]]; ("window",
    index, inside, count) for "area", output i being the sum of input[index[i, t]] where
    inside[i, t], divided by count[i]. Only the pixels PyTorch reads are read, so an inf or NaN
    spreads exactly as far as in PyTorch. (The ONNX export writes the same maps.)"""
    if mode != "area" and (min(out) < 1 or min(shape) < 1):
        raise ArgumentError(f"interpolate: input and output sizes must be greater than 0, got "
                            f"input {shape} and output {out}")
    if mode in ("nearest", "nearest-exact"):
        return [("take", _nearest_source(n, o, s, mode == "nearest-exact", len(shape), dtype))
                for n, o, s in zip(shape, out, scales)]
    corners = bool(align_corners)
    if mode == "area":
        return [None if n == o else _window(n, o) for n, o in zip(shape, out)]
    if mode == "bicubic":
        return [_cubic(n, o, s, corners) for n, o, s in zip(shape, out, scales)]
    return [_linear(n, o, s, corners) for n, o, s in zip(shape, out, scales)]


def resample(input, maps):
    """``input`` with each spatial dimension resized by its map (see ``axis_maps``)."""
    out = input
    for k, spec in enumerate(maps):
        if spec is None:
            continue
        kind, index = spec[0], spec[1]
        if kind == "taps":
            weight, inside = spec[2], None
        else:  # a window's mean: each inside position weighted 1/count
            weight, inside = xp.broadcast_to(1.0 / spec[3][:, None], index.shape), spec[2]
        out = gather_taps(out, axis=2 + k, index=index, weight=weight.astype(input.dtype),
                          inside=inside)
    return out


def _along(values, axis, ndim):
    """A per-output column (o,) shaped to broadcast along ``axis`` of an ndim array."""
    return values.reshape((-1,) + (1,) * (ndim - 1 - axis))


@primitive
def gather_taps(x, *, axis, index, weight, inside):
    """Along ``axis``: output i is the sum over t of weight[i, t] * x[index[i, t]], counting
    only the taps ``inside`` marks (all when it is None)."""
    total = None
    for t in range(index.shape[1]):
        term = xp.take(x, index[:, t], axis=axis) * _along(weight[:, t], axis, x.ndim)
        if inside is not None:
            term = xp.where(_along(inside[:, t], axis, x.ndim), term, 0)
        total = term if total is None else total + term
    return total


@gather_taps.vjp("x", formula="{grad} added back through the same taps, weighted")
def _(grad, x_shape, axis, index, weight, inside):
    return scatter_taps(grad, size=x_shape[axis], axis=axis, index=index, weight=weight,
                        inside=inside)


@primitive
def scatter_taps(g, *, size, axis, index, weight, inside):
    """The adjoint of ``gather_taps``: each g[i] * weight[i, t] added at index[i, t] along
    ``axis`` of an array ``size`` long there. The taps' indices never decrease with i, so the
    additions into one position are a contiguous run, summed at once (np.add.reduceat)."""
    shape = list(g.shape)
    shape[axis] = size
    out = xp.zeros(shape, dtype=g.dtype)
    if not index.shape[0] or not g.size:
        return out
    for t in range(index.shape[1]):
        term = g * _along(weight[:, t], axis, g.ndim)
        if inside is not None:
            term = xp.where(_along(inside[:, t], axis, g.ndim), term, 0)
        positions = index[:, t]
        starts = xp.flatnonzero(xp.r_[True, positions[1:] != positions[:-1]])
        runs = xp.add.reduceat(term, starts, axis=axis)
        target = (slice(None),) * axis + (positions[starts],)
        out[target] += runs
    return out


@scatter_taps.vjp("g", formula="{grad} read through the taps, weighted")
def _(grad, axis, index, weight, inside):
    return gather_taps(grad, axis=axis, index=index, weight=weight, inside=inside)


def dense(spec, size):
    """A map as its (out, size) matrix (the uint8 path's form; a copied dimension gives None)."""
    if spec is None:
        return None
    kind, index = spec[0], spec[1]
    weight = spec[2] if kind == "taps" else spec[2] / spec[3][:, None]
    m = xp.zeros((index.shape[0], size))
    for t in range(index.shape[1]):
        xp.add.at(m, (xp.arange(index.shape[0]), index[:, t]), weight[:, t])
    return m


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
    """Linear interpolation's two taps per output pixel: the pixel below the source position
    and the next (the same one at the last pixel), weighted 1 - frac and frac; an unchanged
    size reads each pixel twice, weighted 1 and 0, as PyTorch's kernel does."""
    index = xp.zeros((out, 2), dtype=xp.int64)
    weight = xp.zeros((out, 2))
    if size == out:  # PyTorch's "copy": pixel i twice, weighted 1 and 0 (an inf gives NaN)
        index[:] = xp.arange(out)[:, None]
        weight[:, 0] = 1.0
        return "taps", index, weight
    step = _scale(size, out, scale, align_corners)
    for i in range(out):
        src = _source(i, step, align_corners, cubic=False)
        low = min(int(src), size - 1)
        index[i] = low, min(low + 1, size - 1)
        weight[i] = 1 - (src - low), src - low
    return "taps", index, weight


def _cubic_weights(t):
    """The four cubic-convolution weights of the pixels at offsets -1, 0, 1, 2 from t's."""
    a = CUBIC_A
    near = lambda x: ((a + 2) * x - (a + 3)) * x * x + 1
    far = lambda x: ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return far(t + 1), near(t), near(1 - t), far(2 - t)


def _cubic(size, out, scale, align_corners):
    """Cubic convolution's four taps per output pixel; pixels beyond the edge repeat it."""
    step = _scale(size, out, scale, align_corners)
    index = xp.zeros((out, 4), dtype=xp.int64)
    weight = xp.zeros((out, 4))
    for i in range(out):
        src = _source(i, step, align_corners, cubic=True)
        base = math.floor(src)
        index[i] = [min(max(base - 1 + k, 0), size - 1) for k in range(4)]
        weight[i] = _cubic_weights(src - base)
    return "taps", index, weight


def _window(size, out):
    """Adaptive average pooling's windows: output i averages [floor(i*size/out),
    ceil((i+1)*size/out)), padded to the widest window with positions marked outside."""
    starts = (xp.arange(out) * size) // out
    ends = -((-(xp.arange(out) + 1) * size) // out)
    widest = int((ends - starts).max()) if out else 1
    offsets = starts[:, None] + xp.arange(widest)[None, :]
    inside = offsets < ends[:, None]
    return "window", xp.minimum(offsets, size - 1), inside, ends - starts


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
        if matrices[axis] is None or matrices[axis][0].shape[0] == x.shape[2 + axis]:
            continue  # PyTorch skips a size that does not change
        weights, precision = matrices[axis]
        moved = xp.moveaxis(out.astype(xp.int64), 2 + axis, -1)
        total = moved @ weights.T + (1 << precision >> 1)
        out = xp.moveaxis(xp.clip(total >> precision, 0, 255).astype(xp.uint8), -1, 2 + axis)
    return xp.ascontiguousarray(out)


__all__ = ["interpolate"]
