"""The language models (models.gpt, models.rnn_lm) against PyTorch: nanoGPT's GPT and d2l's
RNNModel written in torch here, the weights copied over, then the same loss and the same
gradient for every parameter in float64; parameter names; weight tying; generate."""
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.models.gpt import GPT, GPTConfig

torch = pytest.importorskip("torch")
tnn, TF = torch.nn, torch.nn.functional


# -- nanoGPT's model.py, in torch -----------------------------------------------------------------
class TorchSelfAttention(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = tnn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.c_proj = tnn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.n_head, self.n_embd = c.n_head, c.n_embd

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        # nanoGPT's slow path, written out, so that the oracle is not itself an SDPA kernel
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(torch.tril(torch.ones(T, T, dtype=torch.bool)) == 0, float("-inf"))
        y = TF.softmax(att, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))


class TorchBlock(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = tnn.LayerNorm(c.n_embd, bias=c.bias)
        self.attn = TorchSelfAttention(c)
        self.ln_2 = tnn.LayerNorm(c.n_embd, bias=c.bias)
        self.mlp = tnn.Module()
        self.mlp.c_fc = tnn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.mlp.c_proj = tnn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp.c_proj(TF.gelu(self.mlp.c_fc(self.ln_2(x))))


class TorchGPT(tnn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = tnn.ModuleDict(dict(
            wte=tnn.Embedding(c.vocab_size, c.n_embd), wpe=tnn.Embedding(c.block_size, c.n_embd),
            h=tnn.ModuleList([TorchBlock(c) for _ in range(c.n_layer)]),
            ln_f=tnn.LayerNorm(c.n_embd, bias=c.bias)))
        self.lm_head = tnn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx, targets):
        t = self.transformer
        x = t.wte(idx) + t.wpe(torch.arange(idx.size(1)))
        for block in t.h:
            x = block(x)
        logits = self.lm_head(t.ln_f(x))
        return logits, TF.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1),
                                        ignore_index=-1)


def ported(ours, theirs):
    """Copy our float64 weights into the torch model (the tied head comes along)."""
    state = {k: torch.from_numpy(v.numpy().copy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state)  # strict: both names of the tied weight, as nanoGPT's own
    return theirs


def tokens(rng, vocab, *shape):
    return rng.integers(0, vocab, size=shape)


@pytest.mark.parametrize("bias", [True, False])
def test_gpt_loss_and_gradients_equal_nanogpts(bias):
    config = GPTConfig(block_size=8, vocab_size=13, n_layer=2, n_head=2, n_embd=8, bias=bias)
    cr.manual_seed(0)
    ours = GPT(config).double()
    theirs = ported(ours, TorchGPT(config).double())
    rng = np.random.default_rng(1)
    x, y = tokens(rng, 13, 3, 7), tokens(rng, 13, 3, 7)
    y[0, 2] = -1  # ignored, as nanoGPT's padding
    logits, loss = ours(cr.tensor(x), cr.tensor(y))
    t_logits, t_loss = theirs(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert abs(loss.item() - t_loss.item()) < 1e-12
    loss.backward()
    t_loss.backward()
    named = dict(theirs.named_parameters())
    ours_named = dict(ours.named_parameters())
    assert set(ours_named) == set(named)
    for name, p in ours_named.items():
        np.testing.assert_allclose(p.grad.numpy(), named[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)


def test_gpt_names_and_initialisation_are_nanogpts():
    config = GPTConfig(block_size=16, vocab_size=65, n_layer=4, n_head=4, n_embd=32)
    cr.manual_seed(0)
    model = GPT(config)
    state = model.state_dict()
    assert list(state)[:3] == ["transformer.wte.weight", "transformer.wpe.weight",
                               "transformer.h.0.ln_1.weight"]
    assert "transformer.h.3.mlp.c_proj.bias" in state and list(state)[-1] == "lm_head.weight"
    assert model.lm_head.weight is model.transformer.wte.weight
    # nanoGPT prints 0.05M non-embedding parameters for this size
    expected = 65 * 32 + 4 * (2 * 2 * 32 + 32 * 96 + 96 + 32 * 32 + 32 + 2 * (32 * 128) + 128 + 32) \
        + 2 * 32
    assert model.get_num_params() == expected
    proj = model.transformer.h[0].attn.c_proj.weight.detach().numpy()
    other = model.transformer.h[0].mlp.c_fc.weight.detach().numpy()
    assert abs(proj.std() - 0.02 / math.sqrt(8)) < 0.002 and abs(other.std() - 0.02) < 0.002
    assert not model.transformer.h[0].attn.c_attn.bias.detach().numpy().any()


def test_gpt_without_targets_gives_the_last_positions_logits():
    config = GPTConfig(block_size=8, vocab_size=7, n_layer=1, n_head=1, n_embd=4)
    model = GPT(config)
    x = cr.tensor([[1, 2, 3], [4, 5, 6]])
    last, loss = model(x)
    full, _ = model(x, cr.zeros(2, 3, dtype=cr.int64))
    assert loss is None and tuple(last.shape) == (2, 1, 7)
    np.testing.assert_allclose(last.detach().numpy()[:, 0], full.detach().numpy()[:, -1],
                               rtol=1e-5, atol=1e-6)


def test_gpt_refuses_a_sequence_longer_than_its_block():
    model = GPT(GPTConfig(block_size=4, vocab_size=5, n_layer=1, n_head=1, n_embd=4))
    with pytest.raises(cr.errors.ShapeError, match="length 5: the block size is only 4"):
        model(cr.zeros(1, 5, dtype=cr.int64))
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(n_embd=10, n_head=3)


def test_generate_is_repeatable_and_crops_to_the_block():
    model = GPT(GPTConfig(block_size=4, vocab_size=9, n_layer=1, n_head=1, n_embd=8))
    start = cr.zeros(2, 1, dtype=cr.int64)
    first = model.generate(start, 10, generator=cr.Generator().manual_seed(3))
    again = model.generate(start, 10, generator=cr.Generator().manual_seed(3))
    other = model.generate(start, 10, generator=cr.Generator().manual_seed(4))
    assert tuple(first.shape) == (2, 11) and first.tolist() == again.tolist()
    assert first.tolist() != other.tolist()
    assert not first.requires_grad
    greedy = model.generate(start, 5, top_k=1)
    logits, _ = model(start)
    assert greedy[0, 1].item() == int(logits.detach().numpy()[0, -1].argmax())
    with pytest.raises(ValueError, match="temperature must be a positive"):
        model.generate(start, 1, temperature=0)
    with pytest.raises(ValueError, match="top_k must be None or an int >= 1"):
        model.generate(start, 1, top_k=0)


def test_top_k_draws_only_among_the_k_likeliest():
    from chainrule.models.gpt import _append_sample
    logits = cr.tensor([[0.0, 5.0, 4.0, -1.0, 3.0]])
    seen = set()
    g = cr.Generator().manual_seed(0)
    for _ in range(200):
        seen.add(_append_sample(cr.zeros(1, 0, dtype=cr.int64), logits, 5.0, 2, g)[0, 0].item())
    assert seen == {1, 2}



@pytest.mark.parametrize("top_k", [5, 6, 200])
def test_top_k_of_the_whole_vocabulary_or_more_keeps_every_token(top_k):
    # With k >= the vocabulary no logit is masked, whatever its value: the draws are those of
    # top_k=None with the same seed, ties, infinities and NaN included (PyTorch masks nothing:
    # no element is below the k-th largest, the smallest).
    from chainrule.models.gpt import _append_sample
    logits = cr.tensor([[0.0, 5.0, 5.0, -1.0, 3.0], [float("-inf"), 2.0, 0.0, 1.0, 2.0]])
    start = cr.zeros(2, 0, dtype=cr.int64)
    every = _append_sample(start, logits, 0.7, None, cr.Generator().manual_seed(1))
    kept = _append_sample(start, logits, 0.7, top_k, cr.Generator().manual_seed(1))
    assert kept.tolist() == every.tolist()
    many = [_append_sample(start, logits, 5.0, top_k, g)[:, 0].tolist()
            for g in [cr.Generator().manual_seed(s) for s in range(200)]]
    assert {row[0] for row in many} == {0, 1, 2, 3, 4}
    with pytest.raises(RuntimeError, match="inf.*nan"):
        _append_sample(start, cr.tensor([[float("nan"), 1.0]]), 1.0, top_k, cr.Generator())

# -- d2l's RNNModel, in torch ---------------------------------------------------------------------
class TorchRNNModel(tnn.Module):
    def __init__(self, rnn_layer, vocab_size, embedding_dim=None):
        super().__init__()
        self.embedding = None if embedding_dim is None else tnn.Embedding(vocab_size,
                                                                          embedding_dim)
        self.rnn, self.vocab_size = rnn_layer, vocab_size
        self.linear = tnn.Linear(rnn_layer.hidden_size * (2 if rnn_layer.bidirectional else 1),
                                 vocab_size)

    def forward(self, inputs, state):
        if self.embedding is None:
            X = TF.one_hot(inputs.T.long(), self.vocab_size).to(torch.float64)
        else:
            X = self.embedding(inputs.T)
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape((-1, Y.shape[-1]))), state


@pytest.mark.parametrize("kind,embedding_dim,layers", [("rnn", None, 1), ("gru", None, 2),
                                                       ("lstm", None, 1), ("lstm", 6, 2)])
def test_rnn_lm_loss_and_gradients_equal_d2ls(kind, embedding_dim, layers):
    from chainrule.models.rnn_lm import rnn_lm
    cr.manual_seed(0)
    ours = rnn_lm(kind, 11, hidden_size=7, num_layers=layers, embedding_dim=embedding_dim).double()
    layer = {"rnn": tnn.RNN, "gru": tnn.GRU, "lstm": tnn.LSTM}[kind](
        11 if embedding_dim is None else embedding_dim, 7, num_layers=layers)
    theirs = TorchRNNModel(layer, 11, embedding_dim).double()
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in ours.state_dict().items()})
    rng = np.random.default_rng(2)
    x, y = tokens(rng, 11, 3, 6), tokens(rng, 11, 3, 6)
    state = ours.begin_state(3)
    h0 = rng.normal(size=(layers, 3, 7))
    ours_state = (cr.tensor(h0), cr.tensor(h0 / 2)) if kind == "lstm" else cr.tensor(h0)
    their_state = (torch.tensor(h0), torch.tensor(h0 / 2)) if kind == "lstm" \
        else torch.tensor(h0)
    assert all(not s.numpy().any() for s in (state if kind == "lstm" else (state,)))
    out, new_state = ours(cr.tensor(x), ours_state)
    t_out, t_state = theirs(torch.tensor(x), their_state)
    loss = cr.nn.functional.cross_entropy(out, cr.tensor(y.T.reshape(-1)))
    t_loss = TF.cross_entropy(t_out, torch.tensor(y.T.reshape(-1)))
    assert abs(loss.item() - t_loss.item()) < 1e-12
    h = new_state[0] if kind == "lstm" else new_state
    t_h = t_state[0] if kind == "lstm" else t_state
    np.testing.assert_allclose(h.detach().numpy(), t_h.detach().numpy(), rtol=1e-12, atol=1e-12)
    loss.backward()
    t_loss.backward()
    named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), named[name].grad.numpy(), rtol=1e-10,
                                   atol=1e-12, err_msg=name)
    assert {n for n, _ in ours.named_parameters()} == set(named)


def test_rnn_lm_generate_carries_the_state():
    from chainrule.models.rnn_lm import rnn_lm
    cr.manual_seed(1)
    model = rnn_lm("gru", 9, hidden_size=8)
    prefix = cr.tensor([[1, 2, 3]])
    out = model.generate(prefix, 4, top_k=1)
    # greedy decoding by hand: rerun the whole sequence each time, take the argmax
    seq = [1, 2, 3]
    for _ in range(4):
        scores, _ = model(cr.tensor([seq]))
        seq.append(int(scores.detach().numpy()[-1].argmax()))
    assert out.tolist() == [seq]
    g = lambda: cr.Generator().manual_seed(5)  # noqa: E731
    assert model.generate(prefix, 6, generator=g()).tolist() == \
        model.generate(prefix, 6, generator=g()).tolist()


def test_rnn_lm_refusals():
    from chainrule.models.rnn_lm import RNNModel, rnn_lm
    with pytest.raises(ValueError, match="kind must be one of"):
        rnn_lm("transformer", 5)
    with pytest.raises(ValueError, match="takes 4 inputs, but the vocabulary size"):
        RNNModel(cr.nn.RNN(4, 3), 5)
    with pytest.raises(cr.errors.ShapeError, match="tensor of token indices"):
        rnn_lm("rnn", 5, 3)(cr.zeros(2, 3))


@pytest.mark.parametrize("config", [
    dict(model="gpt", vocab_size=65, block_size=16, n_layer=2, n_head=4, n_embd=32, bias=True),
    dict(model="gpt", vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=8, bias=False),
    dict(model="lstm", vocab_size=28, hidden=[16, 16], embedding_dim=0),
    dict(model="gru", vocab_size=28, hidden=[16], embedding_dim=5),
    dict(model="rnn", vocab_size=28, hidden=[16])], ids=lambda c: c["model"])
def test_checkpoint_shapes_are_worked_out_without_building(config):
    from chainrule import models
    built = {k: tuple(v.shape) for k, v in models.build(config).state_dict().items()}
    assert models.expected_shapes(config) == built
    unique = {id(p): p for p in models.build(config).parameters()}.values()  # tied: once
    assert models.parameter_bytes(config) == 4 * sum(int(np.prod(p.shape)) for p in unique)


def test_unequal_recurrent_layers_are_refused():
    from chainrule import models
    with pytest.raises(ValueError, match="all equal"):
        models.expected_shapes(dict(model="lstm", vocab_size=5, hidden=[4, 3]))


@pytest.mark.parametrize("config,message", [
    ({"model": "gpt", "vocab_size": 5}, "lacks ['block_size', 'n_layer', 'n_head', 'n_embd']"),
    ({"model": "lstm", "vocab_size": 5}, "lacks ['hidden']"),
    ({"model": "lstm", "vocab_size": 5, "hidden": [4], "embedding_dim": "x"}, "embedding_dim"),
    ({"model": "gpt", "vocab_size": 5, "block_size": 4, "n_layer": 1, "n_head": 3, "n_embd": 4},
     "multiple of n_head")])
def test_a_bad_language_model_checkpoint_is_a_checkpoint_error(tmp_path, config, message):
    from chainrule import models
    from chainrule.serialize import save_tree
    path = tmp_path / "bad.crt"
    save_tree(path, {"config": config, "model": {"a": np.zeros(2)}})
    with pytest.raises(cr.errors.CheckpointError, match="config is unusable") as error:
        models.load_model(path)
    assert message in str(error.value)
