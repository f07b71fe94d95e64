"""A nanoGPT-style decoder-only transformer: token and position embeddings, pre-norm blocks of
causal self-attention and a GELU MLP, a final LayerNorm and a language-model head whose weight
is the token embedding's (weight tying). Module and parameter names are nanoGPT's
(``transformer.wte.weight``, ``transformer.h.0.attn.c_attn.weight``, ``lm_head.weight``...), so
a state dict moves between this model and nanoGPT's ``GPT`` unchanged, and so is the
initialisation: N(0, 0.02) for Linear and Embedding weights, zero biases, and
N(0, 0.02 / sqrt(2 n_layer)) for the projections that feed the residual stream.

>>> config = cr.models.gpt.GPTConfig(block_size=8, vocab_size=11, n_layer=1, n_head=2, n_embd=8)
>>> model = cr.models.gpt.GPT(config)
>>> logits, loss = model(cr.zeros(2, 5, dtype=cr.int64), cr.ones(2, 5, dtype=cr.int64))
>>> tuple(logits.shape), loss.shape
((2, 5, 11), cr.Size([]))
"""
import math
import numbers
from dataclasses import asdict, dataclass, fields

from .. import nn
from ..backend import xp
from ..autograd import no_grad
from ..errors import ShapeError
from ..nn import functional as F
from ..random import multinomial
from ..tensor import Tensor


@dataclass
class GPTConfig:
    """nanoGPT's GPTConfig, under its names and with its defaults (GPT-2 small)."""
    block_size: int = 1024
    vocab_size: int = 50304
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True

    def __post_init__(self):
        for name in ("block_size", "vocab_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"GPTConfig: {name} must be a positive int, got {value!r}")
            setattr(self, name, int(value))
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd ({self.n_embd}) must be a multiple of n_head "
                             f"({self.n_head}): each head gets n_embd / n_head channels")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, numbers.Real) \
                or not 0 <= self.dropout < 1:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout!r}")
        self.dropout = float(self.dropout)
        if not isinstance(self.bias, bool):
            raise ValueError(f"GPTConfig: bias must be True or False, got {self.bias!r}")

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self):
        return asdict(self)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head, self.n_embd, self.dropout = config.n_head, config.n_embd, config.dropout

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training
                                           else 0.0, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class _Transformer(nn.Module):
    # nanoGPT's nn.ModuleDict(wte=..., wpe=..., drop=..., h=..., ln_f=...): the same names.
    def __init__(self, config):
        super().__init__()
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.block_size, config.n_embd)
        self.drop = nn.Dropout(config.dropout)
        self.h = nn.ModuleList([Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd, bias=config.bias)


class GPT(nn.Module):
    """nanoGPT's GPT: ``logits, loss = model(idx, targets)``. With ``targets`` (the next token
    at each position; -1 is ignored) the logits cover every position, (B, T, vocab_size), and
    loss is the mean cross-entropy; without, only the last position's logits are computed,
    (B, 1, vocab_size), and loss is None, as nanoGPT's inference shortcut."""

    def __init__(self, config):
        super().__init__()
        if isinstance(config, dict):
            config = GPTConfig.from_dict(config)
        if not isinstance(config, GPTConfig):
            raise TypeError(f"GPT: config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.transformer = _Transformer(config)
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying, as nanoGPT
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def get_num_params(self, non_embedding=True):
        """The number of parameters (the tied head counted once); without the position
        embeddings unless ``non_embedding=False``, as nanoGPT counts."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding:
            n -= self.transformer.wpe.weight.numel()
        return n

    def forward(self, idx, targets=None):
        if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ShapeError(f"GPT: idx must be a (batch, time) tensor of token indices, got "
                             f"{_describe(idx)}")
        b, t = idx.shape
        if t > self.config.block_size:
            raise ShapeError(f"GPT: cannot forward a sequence of length {t}: the block size is "
                             f"only {self.config.block_size}")
        from ..creation import arange
        pos = arange(0, t, dtype=idx.dtype)
        tr = self.transformer
        x = tr.drop(tr.wte(idx) + tr.wpe(pos))
        for block in tr.h:
            x = block(x)
        x = tr.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1),
                                   ignore_index=-1)
            return logits, loss
        return self.lm_head(x[:, [-1], :]), None

    def configure_optimizers(self, weight_decay, learning_rate, betas=(0.9, 0.95)):
        """nanoGPT's AdamW: weight decay on the matrices (embeddings and Linear weights), none
        on biases and LayerNorm weights."""
        from ..optim import AdamW
        params = [p for p in self.parameters() if p.requires_grad]
        groups = [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
                  {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]
        return AdamW(groups, lr=learning_rate, betas=betas)

    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None,
                 use_cache=True):
        """Extend each row of ``idx`` (B, T) by ``max_new_tokens`` tokens, each drawn from the
        softmax of the last logits divided by ``temperature``, keeping only the ``top_k`` most
        likely if given; the context is cropped to the last ``block_size`` tokens. Runs without
        a graph; ``generator`` (a cr.Generator) makes the draws repeatable.

        With ``use_cache`` (the default) each new token reuses the keys and values of the
        tokens before it while the context fits in the block (a KV cache), and once the window
        slides only the last position is carried through the last block: the same logits as
        the full forward pass up to rounding, so the same text for the same seed. The model
        runs as nanoGPT's ``forward`` instead (``use_cache=False``) where the cache could not
        reproduce it: in training mode with dropout, with hooks, or with a module replaced.

        >>> config = cr.models.gpt.GPTConfig(block_size=4, vocab_size=5, n_layer=1, n_head=1,
        ...                                  n_embd=4)
        >>> model = cr.models.gpt.GPT(config)
        >>> start = cr.zeros(1, 1, dtype=cr.int64)
        >>> a = model.generate(start, 6, generator=cr.Generator().manual_seed(0))
        >>> b = model.generate(start, 6, generator=cr.Generator().manual_seed(0), use_cache=False)
        >>> a.shape, bool((a == b).all())
        (cr.Size([1, 7]), True)
        """
        check_sampling(max_new_tokens, temperature, top_k)
        with no_grad():
            if use_cache and self._cacheable():
                return self._generate_cached(idx, max_new_tokens, temperature, top_k, generator)
            for _ in range(max_new_tokens):
                cond = idx if idx.shape[1] <= self.config.block_size \
                    else idx[:, -self.config.block_size:]
                logits, _ = self(cond)
                idx = _append_sample(idx, logits[:, -1, :], temperature, top_k, generator)
        return idx

    def _cacheable(self):
        """Whether the cached path computes exactly what ``forward`` would: the modules are
        this file's (none replaced or subclassed), none has a hook, and no dropout acts."""
        if type(self).forward is not GPT.forward or (self.training and self.config.dropout):
            return False
        tr = self.transformer
        kinds = [(tr, _Transformer), (tr.wte, nn.Embedding), (tr.wpe, nn.Embedding),
                 (tr.ln_f, nn.LayerNorm), (self.lm_head, nn.Linear)]
        for block in tr.h:
            kinds += [(block, Block), (block.ln_1, nn.LayerNorm), (block.ln_2, nn.LayerNorm),
                      (block.attn, CausalSelfAttention), (block.mlp, MLP),
                      (block.attn.c_attn, nn.Linear), (block.attn.c_proj, nn.Linear),
                      (block.mlp.c_fc, nn.Linear), (block.mlp.c_proj, nn.Linear),
                      (block.mlp.gelu, nn.GELU)]
        if any(type(module) is not kind for module, kind in kinds):
            return False
        if any(m.max_norm is not None or m.padding_idx is not None or m.scale_grad_by_freq
               for m in (tr.wte, tr.wpe)):
            return False
        return not any(module._hooks for module in self.modules())

    def _generate_cached(self, idx, max_new_tokens, temperature, top_k, generator):
        if not isinstance(idx, Tensor) or idx.ndim != 2 or idx.dtype.kind not in "iu":
            raise ShapeError(f"GPT: idx must be a (batch, time) tensor of token indices, got "
                             f"{_describe(idx)}")
        rows = self.config.vocab_size
        if not idx.shape[1] or not idx.numel():
            return self.generate(idx, max_new_tokens, temperature, top_k, generator, False)
        low, high = int(idx._data.min()), int(idx._data.max())
        if low < 0 or high >= rows:  # forward's own check (NumPy would wrap a negative index)
            raise IndexError(f"embedding: index out of range in self (indices from {low} to "
                             f"{high}, weight has {rows} rows)")
        block = self.config.block_size
        cache = None
        for _ in range(max_new_tokens):
            length = idx.shape[1]
            if cache is None or length > block:
                # (Re)fill from the window's first position. Once the window slides every
                # position changes, so a step that will slide again needs no cache of its own.
                keep = length < block
                logits, cache = self._forward_arrays(idx._data[:, -block:], None, keep)
            else:
                logits, cache = self._forward_arrays(idx._data[:, -1:], cache, True)
            idx = _append_sample(idx, Tensor._wrap(logits), temperature, top_k, generator)
        return idx

    def _forward_arrays(self, tokens, cache, keep):
        """The last position's logits (B, vocab_size) for ``tokens`` (B, T) on plain arrays,
        the ops of ``forward`` without a graph. ``cache``: each layer's keys and values of the
        positions before ``tokens`` (None: they start at position 0); returned extended when
        ``keep``, else None (and the last block then runs only the last position)."""
        from ..ops import concatenate
        from ..ops.linalg import matmul
        from ..ops.normalization import layer_norm
        tr = self.transformer
        start = 0 if cache is None else cache[0][0].shape[2]
        t = tokens.shape[1]
        x = tr.wte.weight._data[tokens] + tr.wpe.weight._data[start:start + t]
        kept = []
        last = len(tr.h) - 1
        for i, block in enumerate(tr.h):
            attn, mlp = block.attn, block.mlp
            b, _, c = x.shape
            heads = attn.n_head
            qkv = _linear(matmul, _norm(layer_norm, block.ln_1, x), attn.c_attn)
            q, k, v = (qkv[..., j * c:(j + 1) * c].reshape(b, t, heads, c // heads)
                       .transpose(0, 2, 1, 3) for j in range(3))
            if cache is not None:
                k = concatenate((cache[i][0], k), 2)
                v = concatenate((cache[i][1], v), 2)
            if keep:
                kept.append((k, v))
            only_last = i == last and not keep
            if only_last:
                q, x = q[:, :, -1:], x[:, -1:]
            scores = matmul(q * (1 / math.sqrt(q.shape[-1])), k.swapaxes(-2, -1))
            y = matmul(_causal_softmax(scores), v)
            y = y.transpose(0, 2, 1, 3).reshape(b, y.shape[2], c)
            x = x + _linear(matmul, y, attn.c_proj)
            hidden = F.gelu(_linear(matmul, _norm(layer_norm, block.ln_2, x), mlp.c_fc),
                            approximate=mlp.gelu.approximate)
            x = x + _linear(matmul, hidden, mlp.c_proj)
        x = _norm(layer_norm, tr.ln_f, x[:, -1])
        logits = _linear(matmul, x, self.lm_head)
        return logits, (kept if keep else None)


def _norm(layer_norm, module, x):
    weight = None if module.weight is None else module.weight._data
    bias = None if module.bias is None else module.bias._data
    return layer_norm(x, module.normalized_shape, weight, bias, module.eps)


def _linear(matmul, x, module):
    out = matmul(x, module.weight._data.T)
    return out if module.bias is None else out + module.bias._data


def _causal_softmax(scores):
    """softmax over the keys (last axis) of scores (..., L, S) whose L queries are the last L
    of the S positions: query i attends to keys 0..S - L + i (attention_softmax's numbers)."""
    from ..ops.attention import attention_softmax
    queries, keys = scores.shape[-2:]
    if queries == keys:
        return attention_softmax(scores, causal=True)
    if queries > 1:
        above = xp.triu(xp.ones((queries, keys), dtype=bool), keys - queries + 1)
        scores = xp.where(above, -xp.inf, scores)
    return attention_softmax(scores)


def check_sampling(max_new_tokens, temperature, top_k):
    """Refuse sampling settings that cannot work, naming the setting (ValueError)."""
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) \
            or max_new_tokens < 0:
        raise ValueError(f"generate: max_new_tokens must be an int >= 0, got "
                         f"{max_new_tokens!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
            or not 0 < temperature < math.inf:
        raise ValueError(f"generate: temperature must be a positive finite number, got "
                         f"{temperature!r}")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral)
                              or top_k < 1):
        raise ValueError(f"generate: top_k must be None or an int >= 1, got {top_k!r}")


def _append_sample(idx, logits, temperature, top_k, generator):
    """idx with one more column: a token drawn from each row of ``logits`` (B, V)."""
    from ..ops import concatenate
    from ..ops.sort import topk
    logits = logits / temperature
    # top_k >= the vocabulary keeps every logit (none is below the smallest): nothing to mask.
    if top_k is not None and top_k < logits.shape[-1]:
        v, _ = topk(logits, top_k)
        logits = logits.masked_fill(logits < v[:, [-1]], float("-inf"))
    probs = F.softmax(logits, dim=-1)
    return concatenate((idx, multinomial(probs, 1, generator=generator)), 1)


def _describe(x):
    if isinstance(x, Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"a {type(x).__name__}"
