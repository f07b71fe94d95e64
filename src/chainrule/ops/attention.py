"""Scaled dot-product attention as PyTorch's ``F.scaled_dot_product_attention``: a composite of
primitives (matmul, attention_softmax, where, dropout), so autograd gives its gradients, and
higher ones. A bool ``attn_mask`` is True where a query may attend; a float mask is added to
the scores.
"""
import functools
import math

from ..backend import xp
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .elementwise import where
from .normalization import dropout
from .primitive import primitive

_NEG_INF = float("-inf")


def _as_tensor(x):
    return x if isinstance(x, Tensor) else Tensor._wrap(x)


def _check_qkv(name, query, key, value):
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise ShapeError(f"{name}: query, key and value must be at least 2-D (..., L or S, E), "
                         f"got shapes {query.shape}, {key.shape} and {value.shape}")
    if query.dtype.kind != "f" or not query.dtype == key.dtype == value.dtype:
        raise ArgumentError(f"{name}: query, key and value must have the same float dtype, got "
                            f"{query.dtype}, {key.dtype} and {value.dtype}")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"{name}: query's last dimension {query.shape[-1]} differs from key's "
                         f"{key.shape[-1]} (shapes {query.shape} and {key.shape})")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{name}: key has {key.shape[-2]} positions and value "
                         f"{value.shape[-2]} (shapes {key.shape} and {value.shape})")


def _repeat_heads(query, key, value):
    """enable_gqa: key and value heads (dim -3) each repeated to match the query's, a head
    serving query heads // its heads consecutive query heads, as PyTorch's repeat_interleave
    (key and value may have different numbers of heads, each dividing the query's)."""
    if min(query.ndim, key.ndim, value.ndim) < 3:
        raise ShapeError(f"scaled_dot_product_attention: enable_gqa needs a heads dimension "
                         f"(-3), got shapes {query.shape}, {key.shape} and {value.shape}")
    heads = query.shape[-3]
    if heads % key.shape[-3] or heads % value.shape[-3]:
        raise ShapeError(f"scaled_dot_product_attention: the number of heads in key "
                         f"({key.shape[-3]}) and in value ({value.shape[-3]}) must divide the "
                         f"number in query ({heads})")
    return tuple(t if t.shape[-3] == heads else t.repeat_interleave(heads // t.shape[-3], -3)
                 for t in (key, value))


@primitive
def attention_softmax(scores, *, causal=False, safe=False):
    """softmax over the last axis of attention scores (..., L, S), after -inf above the
    diagonal when ``causal`` (query i attends to keys 0..i): one node in place of the mask's
    and the softmax's six, whose VJP is the softmax's own. A row of only -inf gives NaN, as
    softmax, or zeros with ``safe`` (PyTorch's scaled_dot_product_attention).

    >>> from chainrule.ops.attention import attention_softmax
    >>> attention_softmax(cr.zeros(2, 2), causal=True)
    tensor([[1. , 0. ],
            [0.5, 0.5]], dtype=float32)
    """
    if not scores.size:
        return xp.zeros_like(scores)
    e = xp.where(_above_diagonal(scores.shape), _NEG_INF, scores) if causal else scores
    top = e.max(axis=-1, keepdims=True)
    dead = xp.isneginf(top) if safe else None
    if safe and dead.any():
        top = xp.where(dead, 0, top)  # exp(-inf - 0) = 0 across the row, not NaN
    e = xp.subtract(e, top, out=e if causal else None)
    xp.exp(e, out=e)
    total = e.sum(axis=-1, keepdims=True)
    if safe and dead.any():
        total[dead] = 1
    e /= total
    return e


@attention_softmax.vjp(formula="{out} * ({grad} - sum({grad} * {out})) over the keys")
def _(grad, out, causal):
    if type(grad) is not xp.ndarray:  # create_graph: out is a tensor in the graph
        result = out * (grad - (grad * out).sum(-1, keepdim=True))
        return where(_above_diagonal(out.shape), 0, result) if causal else result
    result = grad - (grad * out).sum(axis=-1, keepdims=True)
    result *= out
    if causal:  # no gradient through the mask, even in a row of -inf scores (out nan)
        xp.copyto(result, 0, where=_above_diagonal(out.shape))
    return result


def _above_diagonal(shape):
    return _mask_above_diagonal(*shape[-2:])


@functools.lru_cache(maxsize=64)
def _mask_above_diagonal(rows, columns):
    # One mask per shape, made once: building it each call cost as much as the softmax.
    mask = ~xp.tril(xp.ones((rows, columns), dtype=bool))
    mask.flags.writeable = False
    return mask


def _masked(scores, attn_mask):
    """The scores with -inf where a bool mask is False, or with a float mask added."""
    mask = attn_mask._data if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
    if mask.dtype != bool and mask.dtype not in (xp.float32, scores.dtype):
        # PyTorch's rule: a float64 mask on float32 scores is refused, not rounded.
        raise ArgumentError(f"scaled_dot_product_attention: attn_mask must be bool or float "
                            f"(float32 or the query's {scores.dtype}), got {mask.dtype}")
    try:
        # PyTorch broadcasts a 1-D mask (S,) as (1, S), except on 4-D inputs, where it
        # refuses one (IndexError).
        fits = (mask.ndim >= 2 or scores.ndim != 4) and \
            xp.broadcast_shapes(mask.shape, scores.shape) == scores.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"scaled_dot_product_attention: attn_mask of shape {tuple(mask.shape)} "
                         f"does not broadcast to the scores' shape {tuple(scores.shape)} "
                         f"(..., L, S)")
    if mask.dtype == bool:
        # A copy for the VJP to keep: the caller may change its mask after the call, as PyTorch
        # allows (its gradient does not read the mask).
        return where(mask.copy(), scores, _NEG_INF)
    return scores + _as_tensor(attn_mask).astype(scores.dtype)


def _safe_softmax(scores):
    """softmax over the last axis, with rows in which every score is -inf giving zeros, and
    zero gradients, as PyTorch's SDPA (a plain softmax would give NaN there)."""
    dead = xp.isneginf(scores._data).all(axis=-1, keepdims=True)
    if not dead.any():
        return scores.softmax(-1)
    # Guard the softmax's input too: a NaN inside would poison the gradient through where.
    return where(dead, 0, where(dead, 0, scores).softmax(-1))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(Q K^T * scale + mask) V over the last two dimensions, as PyTorch's: query
    (..., L, E), key (..., S, E), value (..., S, Ev) give (..., L, Ev); batch dimensions
    broadcast. ``scale`` defaults to 1/sqrt(E).

    ``attn_mask``: bool (True where a query may attend) or float (added to the scores),
    broadcast to (..., L, S). ``is_causal``: query i attends to keys 0..i only (the top-left
    triangle); it cannot be combined with ``attn_mask`` (PyTorch refuses too). A row in which
    nothing may be attended gives zeros, as PyTorch's. ``dropout_p`` drops attention weights
    whenever it is above 0, whatever the module's mode (as in PyTorch: pass
    ``dropout_p if self.training else 0``). ``enable_gqa`` repeats key and value heads (dim -3)
    to the query's number of heads.

    >>> q = k = v = cr.ones(1, 2, 3, 4)
    >>> F.scaled_dot_product_attention(q, k, v, is_causal=True).shape
    cr.Size([1, 2, 3, 4])
    """
    name = "scaled_dot_product_attention"
    query, key, value = _as_tensor(query), _as_tensor(key), _as_tensor(value)
    _check_qkv(name, query, key, value)
    if not 0 <= dropout_p <= 1:
        raise ArgumentError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ArgumentError(f"{name}: an explicit attn_mask should not be set when "
                            f"is_causal=True (as in PyTorch); fold the causal mask into it")
    if enable_gqa:
        key, value = _repeat_heads(query, key, value)
    if scale is None:
        # With E = 0 every score is an empty sum, 0 whatever the scale (PyTorch: uniform weights).
        scale = 1 / math.sqrt(query.shape[-1]) if query.shape[-1] else 1.0
    try:
        xp.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    except ValueError:
        raise ShapeError(f"{name}: the batch dimensions of query {query.shape}, key "
                         f"{key.shape} and value {value.shape} do not broadcast") from None
    # Scaling Q (L x E) rather than the scores (L x S) costs less when E < S.
    scores = (query * scale) @ key.transpose(-2, -1)
    if attn_mask is not None:
        weights = _safe_softmax(_masked(scores, attn_mask))
    else:
        # A row of only -inf scores (from an -inf in query or key) gives zeros, as PyTorch's.
        weights = attention_softmax(scores, causal=bool(is_causal), safe=True)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


__all__ = ["scaled_dot_product_attention"]
