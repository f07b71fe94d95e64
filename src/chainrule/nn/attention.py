"""Attention as PyTorch's: ``F.scaled_dot_product_attention`` and ``nn.MultiheadAttention``.

Both are composites of primitives (matmul, where, softmax, dropout), so autograd gives their
gradients, and higher ones, with no backward code here. Masks follow PyTorch's two opposite
conventions: in scaled_dot_product_attention a bool ``attn_mask`` is True where a query may
attend; in MultiheadAttention a bool mask (``attn_mask``, ``key_padding_mask``) is True where it
may not. A float mask is added to the scores in both.
"""
import math

from ..backend import xp
from ..dtypes import float_dtype
from ..engine import is_grad_enabled
from ..errors import ArgumentError, ShapeError
from ..ops import concatenate
from ..ops.attention import _NEG_INF, _as_tensor, scaled_dot_product_attention
from ..tensor import Tensor
from . import functional as F
from . import init as initializers
from .layers import Linear
from .module import Module, Parameter

class AttentionShapeError(ShapeError, AssertionError):
    """MultiheadAttention's inputs or masks have the wrong rank or size. PyTorch checks these
    with ``assert`` (AssertionError); this is also chainrule's ShapeError (a RuntimeError).

    >>> issubclass(cr.nn.attention.AttentionShapeError, AssertionError)
    True
    """


class MultiheadAttention(Module):
    """Multi-head attention as PyTorch's: heads of size embed_dim / num_heads attend in
    parallel, their outputs concatenated and projected by ``out_proj`` (a Linear).

    Parameters have PyTorch's names, shapes and initialisation, so state dicts move between the
    libraries: ``in_proj_weight`` (3E, E) packing W_q, W_k, W_v when kdim = vdim = embed_dim,
    else ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim);
    ``in_proj_bias`` (3E); ``out_proj.weight``/``.bias``; with ``add_bias_kv``, ``bias_k`` and
    ``bias_v`` (1, 1, E). Projection weights are Xavier-uniform, biases zero.

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` takes (L, N, E) query, (S, N, kdim) key and
    (S, N, vdim) value ((N, L, E) ... with ``batch_first``; (L, E) ... unbatched) and returns
    ``(attn_output, attn_weights)``: the weights averaged over heads (N, L, S), per head
    (N, H, L, S) with ``average_attn_weights=False``, None with ``need_weights=False``. A bool
    mask is True where attending is *not* allowed; ``key_padding_mask`` (N, S) hides keys,
    ``attn_mask`` is (L, S) or (N * H, L, S). ``is_causal`` is a hint that ``attn_mask`` is the
    causal mask, as in PyTorch. Dropout on the weights acts in training mode only.

    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = cr.randn(3, 5, 8)
    >>> out, weights = mha(x, x, x)
    >>> out.shape, weights.shape
    (cr.Size([3, 5, 8]), cr.Size([3, 5, 5]))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, generator=None,
                 dtype=None):
        for option, value in (("embed_dim", embed_dim), ("num_heads", num_heads),
                              ("kdim", kdim or 1), ("vdim", vdim or 1)):
            if isinstance(value, bool) or not isinstance(value, (int, xp.integer)) or value < 1:
                raise ValueError(f"MultiheadAttention: {option} must be a positive int, got "
                                 f"{value!r}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} must be divisible by "
                             f"num_heads {num_heads}")
        F.check_probability(dropout)
        dtype = float_dtype(dtype, "MultiheadAttention")
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.kdim = int(kdim) if kdim is not None else self.embed_dim
        self.vdim = int(vdim) if vdim is not None else self.embed_dim
        self._qkv_same_embed_dim = self.kdim == self.embed_dim and self.vdim == self.embed_dim
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn
        e = self.embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(xp.empty((3 * e, e), dtype))
            self.q_proj_weight = self.k_proj_weight = self.v_proj_weight = None
        else:
            self.in_proj_weight = None
            self.q_proj_weight = Parameter(xp.empty((e, e), dtype))
            self.k_proj_weight = Parameter(xp.empty((e, self.kdim), dtype))
            self.v_proj_weight = Parameter(xp.empty((e, self.vdim), dtype))
        self.in_proj_bias = Parameter(xp.empty(3 * e, dtype)) if bias else None
        self.out_proj = Linear(e, e, bias=bias, generator=generator, dtype=dtype)
        self.bias_k = Parameter(xp.empty((1, 1, e), dtype)) if add_bias_kv else None
        self.bias_v = Parameter(xp.empty((1, 1, e), dtype)) if add_bias_kv else None
        self._reset_parameters(generator)

    def _reset_parameters(self, generator=None):
        # PyTorch's: Xavier-uniform projections, zero biases; out_proj.weight keeps Linear's.
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                       self.v_proj_weight):
            if weight is not None:
                initializers.xavier_uniform_(weight, generator=generator)
        if self.in_proj_bias is not None:
            initializers.zeros_(self.in_proj_bias)
            initializers.zeros_(self.out_proj.bias)
        for bias in (self.bias_k, self.bias_v):
            if bias is not None:
                initializers.xavier_normal_(bias, generator=generator)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        query, key, value = _as_tensor(query), _as_tensor(key), _as_tensor(value)
        batched = _check_ranks(query, key, value, key_padding_mask, attn_mask, self.num_heads)
        # PyTorch's inference fast path softmaxes without the guard: NaN for a query that may
        # attend to nothing, whatever need_weights; the explicit path here does the same.
        explicit = need_weights or _pytorch_fast_path(self, query, key, value,
                                                      (attn_mask, key_padding_mask))
        if not batched:
            query, key, value = _same_change(lambda t: t.unsqueeze(1), query, key, value)
            if key_padding_mask is not None:
                key_padding_mask = _as_tensor(key_padding_mask).unsqueeze(0)
        elif self.batch_first:
            query, key, value = _same_change(lambda t: t.transpose(0, 1), query, key, value)
        out, weights = multi_head_attention(self, query, key, value, key_padding_mask,
                                            explicit, attn_mask, average_attn_weights,
                                            is_causal)
        weights = weights if need_weights else None
        if not batched:
            return out.squeeze(1), None if weights is None else weights.squeeze(0)
        return out.transpose(0, 1) if self.batch_first else out, weights



def requires_grad_now(*tensors):
    """Whether the graph is recorded now and any of ``tensors`` (None skipped) requires grad:
    PyTorch takes its inference fast paths only when not."""
    return is_grad_enabled() and any(t is not None and t.requires_grad for t in tensors)


def _pytorch_fast_path(self, query, key, value, masks):
    """Whether PyTorch's MultiheadAttention.forward would call _native_multi_head_attention:
    self-attention (one tensor) on a batched input in eval mode, batch_first, packed weights
    with biases, an even number of heads, no bias_kv or zero attention, masks bool or None,
    and nothing to differentiate."""
    return (not self.training and query.ndim == 3 and query is key and key is value
            and self.batch_first and self.in_proj_weight is not None
            and self.in_proj_bias is not None and query.dtype == self.in_proj_weight.dtype
            and self.num_heads % 2 == 0 and self.bias_k is None and not self.add_zero_attn
            and all(_as_tensor(m).dtype == bool for m in masks if m is not None)
            and not requires_grad_now(query, self.in_proj_weight, self.in_proj_bias,
                                      self.out_proj.weight, self.out_proj.bias))


def _same_change(change, query, key, value):
    """``change`` applied to each, keeping query is key is value (self-attention) true."""
    done = {}
    for t in (query, key, value):
        if id(t) not in done:
            done[id(t)] = change(t)
    return done[id(query)], done[id(key)], done[id(value)]


def _check_ranks(query, key, value, key_padding_mask, attn_mask, num_heads):
    """PyTorch's _mha_shape_check: True for batched (3-D) inputs, False for unbatched (2-D)."""
    rank = query.ndim
    if rank not in (2, 3):
        raise AttentionShapeError(f"MultiheadAttention: query should be unbatched 2-D or batched "
                                  f"3-D, got a {rank}-D query of shape {query.shape}")
    kind = "batched (3-D)" if rank == 3 else "unbatched (2-D)"
    if key.ndim != rank or value.ndim != rank:
        raise AttentionShapeError(f"MultiheadAttention: for {kind} query, expected key and value "
                                  f"to be {rank}-D, got shapes {key.shape} and {value.shape}")
    if key_padding_mask is not None and _as_tensor(key_padding_mask).ndim != rank - 1:
        raise AttentionShapeError(f"MultiheadAttention: for {kind} query, expected "
                                  f"key_padding_mask to be {rank - 1}-D, got shape "
                                  f"{_as_tensor(key_padding_mask).shape}")
    if attn_mask is not None:
        shape = _as_tensor(attn_mask).shape
        if len(shape) not in (2, 3):
            raise AttentionShapeError(f"MultiheadAttention: expected attn_mask to be 2-D or 3-D, "
                                      f"got shape {shape}")
        expected = (num_heads, query.shape[0], key.shape[0])
        if rank == 2 and len(shape) == 3 and tuple(shape) != expected:
            raise AttentionShapeError(f"MultiheadAttention: expected attn_mask of shape "
                                      f"{expected} for unbatched query, got {shape}")
    return rank == 3


def _float_mask(mask, name, dtype, need_weights):
    """MultiheadAttention's masks as floats to add: a bool True becomes -inf (not allowed).
    A float mask must have the query's dtype, as in PyTorch (whose path without weights, through
    scaled_dot_product_attention, also takes a float32 mask)."""
    mask = _as_tensor(mask)
    if mask.dtype == bool:
        return Tensor._wrap(xp.where(mask._data, _NEG_INF, 0.0).astype(dtype))
    if mask.dtype.kind != "f":
        raise ArgumentError(f"MultiheadAttention: only bool and float {name} are supported, "
                            f"got {mask.dtype}")
    if mask.dtype != dtype and (need_weights or mask.dtype != xp.float32):
        raise ArgumentError(f"MultiheadAttention: a float {name} must have the query's dtype "
                            f"{dtype}, got {mask.dtype} (shape {tuple(mask.shape)})")
    return mask.astype(dtype)


def _project(self, query, key, value):
    e = self.embed_dim
    bias = self.in_proj_bias
    b_q, b_k, b_v = (None,) * 3 if bias is None else (bias[:e], bias[e:2 * e], bias[2 * e:])
    if self._qkv_same_embed_dim:
        weight = self.in_proj_weight
        if query is key and key is value:
            # Self-attention: one matmul with the packed weight, split afterwards.
            packed = query @ weight.T
            packed = packed if bias is None else packed + bias
            return packed[..., :e], packed[..., e:2 * e], packed[..., 2 * e:]
        w_q, w_k, w_v = weight[:e], weight[e:2 * e], weight[2 * e:]
    else:
        w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
    return tuple(x @ w.T if b is None else x @ w.T + b
                 for x, w, b in ((query, w_q, b_q), (key, w_k, b_k), (value, w_v, b_v)))


def _check_sizes(self, query, key, value, key_padding_mask):
    (length, batch, features), source = query.shape, key.shape[0]
    if features != self.embed_dim:
        raise AttentionShapeError(f"MultiheadAttention: expected query with embedding dimension "
                                  f"{self.embed_dim}, got {features} (shape {query.shape})")
    if key.shape[-1] != self.kdim or value.shape[-1] != self.vdim:
        raise ShapeError(f"MultiheadAttention: expected key with {self.kdim} features and value "
                         f"with {self.vdim}, got shapes {key.shape} and {value.shape}")
    if key.shape[:2] != value.shape[:2] or key.shape[1] != batch:
        raise AttentionShapeError(f"MultiheadAttention: key {key.shape} and value {value.shape} "
                                  f"must have the same sequence length and query's batch size "
                                  f"{batch}")
    if key_padding_mask is not None and \
            tuple(_as_tensor(key_padding_mask).shape) != (batch, source):
        raise AttentionShapeError(f"MultiheadAttention: expected key_padding_mask of shape "
                                  f"{(batch, source)}, got {_as_tensor(key_padding_mask).shape}")
    return length, batch, source


def _attn_mask(self, attn_mask, length, batch, source, dtype, need_weights):
    mask = _float_mask(attn_mask, "attn_mask", dtype, need_weights)
    expected = (length, source) if mask.ndim == 2 else (batch * self.num_heads, length, source)
    if tuple(mask.shape) != expected:
        raise ShapeError(f"MultiheadAttention: the shape of the {mask.ndim}-D attn_mask is "
                         f"{mask.shape}, but should be {expected}")
    return mask.unsqueeze(0) if mask.ndim == 2 else mask


def _pad_last(mask):
    return None if mask is None else concatenate(
        [mask, Tensor._wrap(xp.zeros(mask.shape[:-1] + (1,), mask.dtype))], axis=-1)


def multi_head_attention(self, query, key, value, key_padding_mask, need_weights, attn_mask,
                         average_attn_weights, is_causal):
    """PyTorch's multi_head_attention_forward on (L, N, E) query, (S, N, kdim) key and
    (S, N, vdim) value, with ``self`` a MultiheadAttention."""
    length, batch, source = _check_sizes(self, query, key, value, key_padding_mask)
    heads, size, dtype = self.num_heads, self.head_dim, query.dtype
    if is_causal and attn_mask is None:
        raise ArgumentError("MultiheadAttention: is_causal is a hint that attn_mask is the "
                            "causal mask; pass attn_mask too (as PyTorch requires)")
    if key_padding_mask is not None:
        key_padding_mask = _float_mask(key_padding_mask, "key_padding_mask", dtype,
                                       need_weights)
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # PyTorch then lets SDPA make the causal mask itself
    elif attn_mask is not None:
        attn_mask = _attn_mask(self, attn_mask, length, batch, source, dtype, need_weights)
        is_causal = is_causal and key_padding_mask is None
    q, k, v = _project(self, query, key, value)
    if self.bias_k is not None:
        k = concatenate([k, self.bias_k.expand(1, batch, self.embed_dim)])
        v = concatenate([v, self.bias_v.expand(1, batch, self.embed_dim)])
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    # (L, N, E) -> (N * H, L, head_dim): each head a slice of E, batch-major.
    q = q.reshape(length, batch * heads, size).transpose(0, 1)
    k = k.reshape(k.shape[0], batch * heads, size).transpose(0, 1)
    v = v.reshape(v.shape[0], batch * heads, size).transpose(0, 1)
    if self.add_zero_attn:
        zeros = Tensor._wrap(xp.zeros((batch * heads, 1, size), dtype))
        k, v = concatenate([k, zeros], axis=1), concatenate([v, zeros], axis=1)
        attn_mask, key_padding_mask = _pad_last(attn_mask), _pad_last(key_padding_mask)
    source = k.shape[1]
    if key_padding_mask is not None:
        padding = key_padding_mask.reshape(batch, 1, 1, source).expand(batch, heads, 1, source)
        padding = padding.reshape(batch * heads, 1, source)
        attn_mask = padding if attn_mask is None else attn_mask + padding
    dropout_p = self.dropout if self.training else 0.0
    if need_weights:
        # PyTorch's explicit path: a plain softmax, so a fully masked row gives NaN there
        # (meant, so NumPy's warning about it is not shown).
        scores = (q * math.sqrt(1.0 / size)) @ k.transpose(-2, -1)
        with xp.errstate(invalid="ignore"):
            weights = (scores if attn_mask is None else attn_mask + scores).softmax(-1)
        if dropout_p > 0:
            weights = F.dropout(weights, dropout_p, training=True)
        out = (weights @ v).transpose(0, 1).reshape(length * batch, self.embed_dim)
        weights = weights.reshape(batch, heads, length, source)
        weights = weights.mean(1) if average_attn_weights else weights
    else:
        if attn_mask is not None:
            one = attn_mask.shape[0] == 1
            attn_mask = attn_mask.reshape(1 if one else batch, 1 if one else heads, -1, source)
        out = scaled_dot_product_attention(
            q.reshape(batch, heads, length, size), k.reshape(batch, heads, source, size),
            v.reshape(batch, heads, source, size), attn_mask, dropout_p, is_causal)
        out = out.permute(2, 0, 1, 3).reshape(length * batch, self.embed_dim)
        weights = None
    return self.out_proj(out).reshape(length, batch, self.embed_dim), weights
