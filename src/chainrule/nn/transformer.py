"""Transformer layers as PyTorch's: TransformerEncoderLayer / DecoderLayer (post-norm or
``norm_first`` pre-norm), their stacks TransformerEncoder / Decoder and the full Transformer.

Composites of MultiheadAttention, Linear, LayerNorm and Dropout with PyTorch's submodule names
(self_attn, multihead_attn, linear1, dropout, linear2, norm1..3, dropout1..3), so state dicts
move between the libraries unchanged.
"""
import copy

from ..backend import xp
from ..device import check_device
from ..dtypes import float_dtype
from ..errors import ShapeError
from ..ops import where
from ..ops.attention import _as_tensor
from ..tensor import Tensor
from . import functional as F
from . import init as initializers
from .activations import GELU, ReLU
from .attention import MultiheadAttention, multi_head_attention, requires_grad_now
from .conv_layers import LayerNorm
from .layers import Dropout, Linear
from .module import Module, ModuleList

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation):
    if callable(activation):
        return activation
    if activation not in _ACTIVATIONS:
        raise RuntimeError(f"activation should be relu/gelu or a callable, not {activation!r}")
    return _ACTIVATIONS[activation]


class _Block(Module):
    """What the encoder and decoder layers share: the feed-forward block and its norms."""

    def _feed_forward_parts(self, d_model, nhead, dim_feedforward, dropout, activation,
                            layer_norm_eps, batch_first, norm_first, bias, generator, dtype,
                            norms):
        dtype = float_dtype(dtype, type(self).__name__)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, generator=generator,
                                            dtype=dtype)
        if norms == 3:
            self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                     batch_first=batch_first,
                                                     generator=generator, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, generator=generator,
                              dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, generator=generator,
                              dtype=dtype)
        self.norm_first = norm_first
        for k in range(1, norms + 1):
            setattr(self, f"norm{k}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias,
                                                dtype=dtype))
        for k in range(1, norms + 1):
            setattr(self, f"dropout{k}", Dropout(dropout))
        self.activation = _activation(activation)
        # PyTorch's flag, set here as there (a copy of the layer keeps it): its fused paths
        # run only these two activations.
        self.activation_relu_or_gelu = (
            1 if self.activation is F.relu or isinstance(self.activation, ReLU) else
            2 if self.activation is F.gelu or isinstance(self.activation, GELU) else 0)

    def _self_attention(self, x, attn_mask, key_padding_mask, is_causal, fast=False):
        if fast:
            # PyTorch's fused layer: any nonzero mask entry hides, a query that may attend to
            # nothing gets NaN (the explicit path's plain softmax), and the is_causal hint is
            # not read (only the masks given are applied); batch first.
            x = x.transpose(0, 1)
            masks = (None if m is None else m != 0 for m in (attn_mask, key_padding_mask))
            attn_mask, key_padding_mask = masks
            x = multi_head_attention(self.self_attn, x, x, x, key_padding_mask, True,
                                     attn_mask, True, False)[0]
            return self.dropout1(x.transpose(0, 1))
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _feed_forward(self, x, last_dropout):
        return last_dropout(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoderLayer(_Block):
    """Self-attention then a feed-forward network, each with a residual connection and a
    LayerNorm (after it, or before it with ``norm_first=True``), as PyTorch's.

    ``activation`` is "relu", "gelu" or a callable; ``bias=False`` drops the biases of the
    linear layers and the norms. ``forward(src, src_mask=None, src_key_padding_mask=None,
    is_causal=False)``; masks as in MultiheadAttention (bool True = not allowed).

    >>> layer = nn.TransformerEncoderLayer(d_model=8, nhead=2, dim_feedforward=16,
    ...                                    batch_first=True)
    >>> layer(cr.randn(3, 5, 8)).shape
    cr.Size([3, 5, 8])
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 generator=None, dtype=None):
        self._feed_forward_parts(d_model, nhead, dim_feedforward, dropout, activation,
                                 layer_norm_eps, batch_first, norm_first, bias, generator,
                                 dtype, norms=2)

    def _pytorch_fast_path(self, src):
        """Whether PyTorch's TransformerEncoderLayer.forward would call its fused
        _transformer_encoder_layer_fwd here (inference only). One difference is kept: for a
        GELU("tanh") module that kernel runs exact gelu (about 1e-4 apart); chainrule runs the
        module's own formula, as its ONNX export does."""
        attn = self.self_attn
        hooked = any(m._hooks and (m._hooks.forward or m._hooks.forward_pre)
                     for m in self.modules())
        return (src.ndim == 3 and not self.training and attn.batch_first
                and attn.in_proj_bias is not None and attn._qkv_same_embed_dim
                and self.activation_relu_or_gelu and self.norm1.eps == self.norm2.eps
                and attn.num_heads % 2 == 0 and not hooked
                and not requires_grad_now(src, *self._fused_tensors()))

    def _fused_tensors(self):
        attn = self.self_attn
        return (attn.in_proj_weight, attn.in_proj_bias, attn.out_proj.weight,
                attn.out_proj.bias, self.norm1.weight, self.norm1.bias, self.norm2.weight,
                self.norm2.bias, self.linear1.weight, self.linear1.bias, self.linear2.weight,
                self.linear2.bias)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src = _as_tensor(src)
        src_mask, src_key_padding_mask = (_canonical_mask(m, src.dtype)
                                          for m in (src_mask, src_key_padding_mask))
        fast = self._pytorch_fast_path(src)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), src_mask, src_key_padding_mask,
                                         is_causal, fast)
            return x + self._feed_forward(self.norm2(x), self.dropout2)
        x = self.norm1(x + self._self_attention(x, src_mask, src_key_padding_mask, is_causal,
                                                fast))
        return self.norm2(x + self._feed_forward(x, self.dropout2))


class TransformerDecoderLayer(_Block):
    """Self-attention over the target, attention to the encoder's output (``memory``), then a
    feed-forward network; each with a residual connection and a LayerNorm (after, or before
    with ``norm_first=True``), as PyTorch's.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False)``.

    >>> layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16, norm_first=True)
    >>> layer(cr.randn(4, 3, 8), cr.randn(6, 3, 8)).shape
    cr.Size([4, 3, 8])
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 generator=None, dtype=None):
        self._feed_forward_parts(d_model, nhead, dim_feedforward, dropout, activation,
                                 layer_norm_eps, batch_first, norm_first, bias, generator,
                                 dtype, norms=3)

    def _cross_attention(self, x, memory, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(x, memory, memory, attn_mask=attn_mask,
                                key_padding_mask=key_padding_mask, is_causal=is_causal,
                                need_weights=False)[0]
        return self.dropout2(x)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        x = tgt
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x), tgt_mask, tgt_key_padding_mask,
                                         tgt_is_causal)
            x = x + self._cross_attention(self.norm2(x), memory, memory_mask,
                                          memory_key_padding_mask, memory_is_causal)
            return x + self._feed_forward(self.norm3(x), self.dropout3)
        x = self.norm1(x + self._self_attention(x, tgt_mask, tgt_key_padding_mask,
                                                tgt_is_causal))
        x = self.norm2(x + self._cross_attention(x, memory, memory_mask,
                                                 memory_key_padding_mask, memory_is_causal))
        return self.norm3(x + self._feed_forward(x, self.dropout3))


def _canonical_mask(mask, dtype):
    """PyTorch's F._canonical_mask: a bool mask (True = hidden) as floats to add, -inf and 0,
    so that the attention inside takes no fast path of its own."""
    if mask is None:
        return None
    mask = _as_tensor(mask)
    if mask.dtype != bool:
        return mask
    return Tensor._wrap(xp.where(mask._data, -xp.inf, 0.0).astype(dtype))


def _clones(layer, num_layers):
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


def _causal_hint(mask, is_causal, size):
    """PyTorch's _detect_is_causal_mask: with is_causal left None, a mask equal to the causal
    mask counts as causal (a hint only: the mask is applied either way)."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    mask = mask._data if isinstance(mask, Tensor) else xp.asarray(mask)
    causal = xp.triu(xp.ones((size, size), dtype=bool), 1)
    if mask.shape != causal.shape:
        return False
    return bool((mask == causal).all() if mask.dtype == bool else
                ((mask == -xp.inf) == causal).all() and (mask[~causal] == 0).all())


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given.

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=None)``.

    >>> layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    >>> encoder = nn.TransformerEncoder(layer, num_layers=2)
    >>> encoder(cr.randn(5, 3, 8)).shape
    cr.Size([5, 3, 8])
    """

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        self.layers = _clones(encoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm
        self.enable_nested_tensor, self.mask_check = enable_nested_tensor, mask_check
        attn = getattr(encoder_layer, "self_attn", None)
        # PyTorch's conditions for its nested-tensor inference path (use_nested_tensor).
        self.use_nested_tensor = bool(
            enable_nested_tensor and isinstance(encoder_layer, TransformerEncoderLayer)
            and not encoder_layer.norm_first and attn.batch_first and attn._qkv_same_embed_dim
            and attn.in_proj_bias is not None and encoder_layer.activation_relu_or_gelu
            and encoder_layer.norm1.eps == encoder_layer.norm2.eps and attn.num_heads % 2 == 0)

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        src = _as_tensor(src)
        length = src.shape[1 if self.layers and self.layers[0].self_attn.batch_first
                           and src.ndim == 3 else 0]
        is_causal = _causal_hint(mask, is_causal, length)
        padding = self._nested_padding(src, mask, src_key_padding_mask)
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, is_causal=is_causal,
                           src_key_padding_mask=src_key_padding_mask)
        if padding is not None:
            output = where(Tensor._wrap(padding[..., None]), 0.0, output)
        return output if self.norm is None else self.norm(output)

    def _nested_padding(self, src, mask, src_key_padding_mask):
        """Where PyTorch's encoder would run as nested tensors (its inference path for a
        src_key_padding_mask), the positions it drops: any nonzero mask entry (True, or a float
        other than 0). Those come out as 0 before the final norm, and the rest never attend to
        them. None where PyTorch takes the ordinary path."""
        first = self.layers[0] if self.layers else None
        if (not self.use_nested_tensor or first is None or first.training or src.ndim != 3
                or src_key_padding_mask is None or mask is not None
                or requires_grad_now(src, *first._fused_tensors())):
            return None
        padding = _as_tensor(src_key_padding_mask)._data != 0
        kept = (~padding).sum(axis=1, keepdims=True)
        left_aligned = bool((~padding == (xp.arange(padding.shape[1]) < kept)).all())
        if not left_aligned:
            if self.mask_check:
                return None  # PyTorch checks and takes the ordinary path
            raise NotImplementedError(
                f"TransformerEncoder: with mask_check=False, PyTorch takes its nested-tensor "
                f"path without checking that src_key_padding_mask (shape "
                f"{tuple(padding.shape)}) pads only at the end of each sequence, and keeps the "
                f"first positions instead of the unpadded ones; chainrule does not reproduce "
                f"that. Pad at the end, or pass mask_check=True")
        return padding


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn, then ``norm`` if given.

    ``forward(tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
    memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False)``.

    >>> layer = nn.TransformerDecoderLayer(8, 2, dim_feedforward=16)
    >>> decoder = nn.TransformerDecoder(layer, num_layers=2, norm=nn.LayerNorm(8))
    >>> decoder(cr.randn(4, 3, 8), cr.randn(6, 3, 8)).shape
    cr.Size([4, 3, 8])
    """

    def __init__(self, decoder_layer, num_layers, norm=None):
        self.layers = _clones(decoder_layer, num_layers)
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        length = tgt.shape[1 if self.layers and self.layers[0].self_attn.batch_first
                           and tgt.ndim == 3 else 0]
        tgt_is_causal = _causal_hint(tgt_mask, tgt_is_causal, length)
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        return output if self.norm is None else self.norm(output)


class Transformer(Module):
    """The encoder-decoder of "Attention Is All You Need", as PyTorch's nn.Transformer: an
    encoder and a decoder stack, each ending in a LayerNorm, every weight matrix re-drawn
    Xavier-uniform.

    ``forward(src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
    src_key_padding_mask=None, tgt_key_padding_mask=None, memory_key_padding_mask=None,
    src_is_causal=None, tgt_is_causal=None, memory_is_causal=False)``.

    >>> model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
    ...                        dim_feedforward=16)
    >>> model(cr.randn(6, 3, 8), cr.randn(4, 3, 8)).shape
    cr.Size([4, 3, 8])
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, generator=None, dtype=None):
        options = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                       layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                       norm_first=norm_first, bias=bias, generator=generator, dtype=dtype)
        norm = dict(eps=layer_norm_eps, bias=bias, dtype=float_dtype(dtype, "Transformer"))
        self.encoder = custom_encoder or TransformerEncoder(
            TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers,
            LayerNorm(d_model, **norm))
        self.decoder = custom_decoder or TransformerDecoder(
            TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers,
            LayerNorm(d_model, **norm))
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first
        for parameter in self.parameters():
            if parameter.ndim > 1:
                initializers.xavier_uniform_(parameter, generator=generator)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and src.shape[batch] != tgt.shape[batch]:
            raise ShapeError(f"Transformer: the batch number of src and tgt must be equal, got "
                             f"shapes {src.shape} and {tgt.shape}")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ShapeError(f"Transformer: the feature number of src and tgt must be equal to "
                             f"d_model {self.d_model}, got shapes {src.shape} and {tgt.shape}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The causal mask for a sequence of ``sz``: -inf above the diagonal, 0 elsewhere (in
        the default float dtype unless ``dtype`` is given). ``device`` as in PyTorch's
        signature (only the CPU).

        >>> nn.Transformer.generate_square_subsequent_mask(3)
        tensor([[  0., -inf, -inf],
                [  0.,   0., -inf],
                [  0.,   0.,   0.]], dtype=float32)
        """
        check_device(device, "generate_square_subsequent_mask")
        upper = xp.triu(xp.ones((sz, sz), dtype=bool), 1)
        return Tensor._wrap(xp.where(upper, -xp.inf, 0.0).astype(float_dtype(
            dtype, "generate_square_subsequent_mask")))
