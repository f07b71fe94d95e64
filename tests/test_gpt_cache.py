"""GPT.generate's cached path (a KV cache while the context fits in the block, the last block
on the last position only once the window slides) against the uncached path, nanoGPT's
forward on the cropped context: the same tokens for the same seed, the same logits at every
step (and nanoGPT's, in torch), and the uncached path wherever the cache could not reproduce
it (hooks, dropout in training, a replaced module)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.models.gpt import GPT, GPTConfig


def _model(bias=True, block=6, dtype=None, **extra):
    cr.manual_seed(0)
    config = GPTConfig(block_size=block, vocab_size=11, n_layer=2, n_head=2, n_embd=8,
                       bias=bias, **extra)
    model = GPT(config)
    with cr.no_grad():  # larger weights than nanoGPT's 0.02, so that the draws differ by row
        for p in model.parameters():
            if p.ndim == 2:
                p.mul_(25.0)
    model.eval()
    return model.double() if dtype == "float64" else model


def _draw(model, start, n, seed, use_cache, **options):
    return model.generate(start, n, generator=cr.Generator().manual_seed(seed),
                          use_cache=use_cache, **options).tolist()


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("options", [{}, {"temperature": 0.7, "top_k": 4}])
@pytest.mark.parametrize("prompt", [[[3]], [[1, 2, 3], [4, 5, 6]], [[1, 2, 3, 4, 5, 6, 7, 8]]])
def test_cached_text_is_the_uncached_text(bias, options, prompt):
    # A prompt of one token, a batch of two, and one longer than the block (cropped at once);
    # 30 tokens cross the block of 6 and slide the window many times.
    model = _model(bias)
    start = cr.tensor(prompt)
    for seed in (0, 1, 2):
        cached = _draw(model, start, 30, seed, True, **options)
        assert cached == _draw(model, start, 30, seed, False, **options)
        assert len(cached[0]) == len(prompt[0]) + 30
    # the draws do depend on the seed (so that the comparison above can fail)
    assert _draw(model, start, 30, 0, True, **options) != _draw(model, start, 30, 1, True,
                                                                  **options)


def _step_logits(model, tokens):
    """Each step's next-token logits on the cached path, as generate computes them."""
    block = model.config.block_size
    out, cache = [], None
    for length in range(1, tokens.shape[1] + 1):
        if cache is None or length > block:
            logits, cache = model._forward_arrays(tokens[:, max(0, length - block):length],
                                                  None, length < block)
        else:
            logits, cache = model._forward_arrays(tokens[:, length - 1:length], cache, True)
        out.append(logits)
    return out


@pytest.mark.parametrize("bias", [True, False])
def test_each_steps_logits_are_forwards_on_the_cropped_context(bias):
    model = _model(bias, dtype="float64")
    tokens = np.random.default_rng(0).integers(0, 11, (2, 15))
    block = model.config.block_size
    for length, logits in enumerate(_step_logits(model, tokens), 1):
        window = cr.tensor(tokens[:, max(0, length - block):length])
        with cr.no_grad():
            expected, _ = model(window)
        assert logits.shape == (2, 11)
        np.testing.assert_allclose(logits, expected.numpy()[:, -1], rtol=1e-12, atol=1e-12)


def test_each_steps_distribution_is_nanogpts():
    torch = pytest.importorskip("torch")
    from test_models_lm import TorchGPT, ported
    model = _model(True, dtype="float64")
    theirs = ported(model, TorchGPT(model.config).double())
    tokens = np.random.default_rng(1).integers(0, 11, (3, 14))
    block = model.config.block_size
    for length, logits in enumerate(_step_logits(model, tokens), 1):
        window = torch.tensor(tokens[:, max(0, length - block):length])
        expected, _ = theirs(window, torch.zeros_like(window))
        ours = cr.softmax(cr.tensor(logits / 0.8), -1).numpy()
        np.testing.assert_allclose(ours, torch.softmax(expected[:, -1] / 0.8, -1).detach(),
                                   rtol=1e-10, atol=1e-12)


def test_generate_falls_back_to_forward_where_the_cache_cannot_follow():
    model = _model(True)
    start = cr.tensor([[1, 2]])
    calls = []
    handle = model.transformer.h[1].mlp.register_forward_hook(lambda m, i, o: calls.append(1))
    model.generate(start, 3)
    assert len(calls) == 3  # one forward per token: the hook saw every one
    handle.remove()
    model.generate(start, 3)
    assert len(calls) == 3  # no hook, the cache: forward not called
    dropped = _model(True, dropout=0.5)
    dropped.train()
    assert not dropped._cacheable()
    dropped.eval()
    assert dropped._cacheable()
    model.transformer.h[0].mlp.gelu = cr.nn.ReLU()
    assert not model._cacheable()


def test_generate_with_the_cache_refuses_what_forward_refuses():
    model = _model(True)
    with pytest.raises(cr.errors.ShapeError, match="idx must be a \\(batch, time\\) tensor"):
        model.generate(cr.zeros(3, dtype=cr.int64), 2)
    assert model.generate(cr.tensor([[1]]), 0).tolist() == [[1]]


def test_cached_path_refuses_indices_forward_refuses():
    model = _model(True)
    for bad in ([[1, -1]], [[11, 2]]):
        for use_cache in (True, False):
            with pytest.raises(IndexError, match="index out of range"):
                model.generate(cr.tensor(bad), 2, use_cache=use_cache)
    for use_cache in (True, False):  # no token to continue: forward's error either way
        with pytest.raises(IndexError, match="out of bounds for axis 1 with size 0"):
            model.generate(cr.zeros(1, 0, dtype=cr.int64), 2, use_cache=use_cache)
