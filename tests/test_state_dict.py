"""state_dict() and load_state_dict() as PyTorch's: the values alias the parameters and
buffers (detached tensors sharing memory), and loading copies in place, keeping each
Parameter, checking every key and shape first and raising a RuntimeError that names them."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _pair(seed=0):
    """The same small network in chainrule and in PyTorch, with the same values."""
    cr.manual_seed(seed)
    ours = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3),
                                 torch.nn.ReLU(), torch.nn.Linear(3, 2)).double()
    ours.double()
    with torch.no_grad():
        for name, value in ours.state_dict().items():
            theirs.state_dict()[name].copy_(torch.from_numpy(value.numpy().copy()))
    return ours, theirs


def _assert_same_state(ours, theirs):
    a, b = ours.state_dict(), theirs.state_dict()
    assert list(a) == list(b)
    for name in a:
        np.testing.assert_allclose(a[name].numpy(), b[name].numpy(), rtol=1e-12, err_msg=name)


def test_values_are_detached_tensors_sharing_memory_with_pytorchs_keys():
    ours, theirs = _pair()
    state = ours.state_dict()
    assert list(state) == list(theirs.state_dict())
    owned = dict(ours.named_parameters()) | dict(ours.named_buffers())
    for name, value in state.items():
        assert type(value) is cr.Tensor, name
        assert not value.requires_grad and value.grad_fn is None
        assert value.data_ptr() == owned[name].data_ptr() and value.shape == owned[name].shape
        assert value.dtype == owned[name].dtype


def test_writing_into_the_state_dict_changes_the_model_as_in_pytorch():
    ours, theirs = _pair()
    for model in (ours, theirs):
        state = model.state_dict()
        state["0.weight"].fill_(0.0)
        state["0.bias"][1] = 5.0
        state["1.running_mean"].add_(2.0)
    _assert_same_state(ours, theirs)
    assert not ours[0].weight.detach().numpy().any()
    assert ours[0].weight.requires_grad and ours[0].weight.is_leaf


def _train(model, module, steps=3):
    optimizer = module.optim.SGD(model.parameters(), lr=0.1)
    # random inputs: a symmetric batch puts batch norm's outputs exactly at ReLU's kink
    x = module.tensor(np.random.default_rng(7).normal(size=(5, 4)))
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        optimizer.step()


def test_a_checkpoint_dict_made_before_training_holds_the_trained_weights(tmp_path):
    ours, theirs = _pair()
    ours_ckpt, theirs_ckpt = {"model": ours.state_dict()}, {"model": theirs.state_dict()}
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    _train(ours, cr)
    _train(theirs, torch)
    for name, value in ours_ckpt["model"].items():
        np.testing.assert_allclose(value.numpy(), theirs_ckpt["model"][name].numpy(),
                                   rtol=1e-10, err_msg=name)
    assert not np.array_equal(ours_ckpt["model"]["0.weight"].numpy(),
                              before["0.weight"].numpy())
    assert int(ours_ckpt["model"]["1.num_batches_tracked"].item()) == 3
    # saved after training, the file holds the trained values
    path = tmp_path / "ckpt.crt"
    cr.serialize.save_tree(path, {k: v.numpy() for k, v in ours_ckpt["model"].items()})
    fresh, _ = _pair(seed=1)
    fresh.load_state_dict(cr.serialize.load_tree(path))
    _assert_same_state(fresh, theirs)
    cr.save(ours_ckpt, tmp_path / "ckpt.pt")  # the issue's own lines, with tensors
    fresh, _ = _pair(seed=2)
    fresh.load_state_dict(cr.load(tmp_path / "ckpt.pt")["model"])
    _assert_same_state(fresh, theirs)


def test_a_cloned_state_dict_is_a_snapshot_that_restores_the_model():
    ours, _ = _pair()
    snapshot = {k: v.clone() for k, v in ours.state_dict().items()}
    _train(ours, cr)
    assert not np.array_equal(ours[0].weight.detach().numpy(), snapshot["0.weight"].numpy())
    ours.load_state_dict(snapshot)
    for name, value in ours.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), snapshot[name].numpy(), err_msg=name)


def test_load_state_dict_copies_in_place_keeping_the_parameters():
    ours, theirs = _pair()
    source, _ = _pair(seed=5)
    params = dict(ours.named_parameters())
    optimizer = cr.optim.SGD(ours.parameters(), lr=0.1)
    result = ours.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for name, p in ours.named_parameters():
        assert p is params[name] and p.requires_grad and p.is_leaf
    theirs.load_state_dict({k: torch.from_numpy(v.numpy().copy())
                            for k, v in source.state_dict().items()})
    _assert_same_state(ours, theirs)
    source[0].weight.detach().fill_(9.0)  # the copy does not alias the source
    assert not (ours[0].weight.detach().numpy() == 9.0).any()
    before = ours[0].weight.detach().numpy().copy()
    _train(ours, cr, steps=1)  # the optimizer made before the load still updates the model
    assert optimizer.param_groups[0]["params"][0] is ours[0].weight
    assert not np.array_equal(ours[0].weight.detach().numpy(), before)


def test_load_state_dict_takes_pytorchs_tensors_and_arrays_and_casts_dtypes():
    ours, theirs = _pair()
    with torch.no_grad():
        for p in theirs.parameters():
            p.mul_(-1.5)
    ours.load_state_dict(theirs.state_dict())
    _assert_same_state(ours, theirs)
    ours.float()
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert ours[0].weight.dtype == cr.float32
    np.testing.assert_allclose(ours[0].weight.detach().numpy(),
                               theirs[0].weight.detach().numpy(), rtol=1e-6)


def test_loading_a_models_own_state_changes_nothing():
    ours, theirs = _pair()
    ours.load_state_dict(ours.state_dict())
    theirs.load_state_dict(theirs.state_dict())
    _assert_same_state(ours, theirs)


def test_a_wrong_shape_is_refused_naming_key_and_shapes_and_nothing_changes():
    ours, theirs = _pair()
    bad = {k: v.clone() for k, v in ours.state_dict().items()}
    bad["0.weight"] = cr.zeros(3, 5, dtype=cr.float64)
    bad["3.bias"] = cr.zeros(2, dtype=cr.float64) + 7
    before = {k: v.clone() for k, v in ours.state_dict().items()}
    with pytest.raises(RuntimeError):
        theirs.load_state_dict({k: torch.from_numpy(v.numpy()) for k, v in bad.items()})
    with pytest.raises(RuntimeError, match=r"0\.weight expected \(3, 4\) got \(3, 5\)"):
        ours.load_state_dict(bad)
    with pytest.raises(nn.StateDictError):
        ours.load_state_dict(bad, strict=False)  # shapes are checked even when not strict
    for name, value in ours.state_dict().items():  # 3.bias was fine, and not copied either
        np.testing.assert_array_equal(value.numpy(), before[name].numpy(), err_msg=name)


def test_strict_false_reports_the_keys_as_pytorch():
    ours, theirs = _pair()
    state = {k: v.clone() for k, v in ours.state_dict().items()}
    del state["3.bias"]
    state["extra.weight"] = cr.zeros(1)
    torch_state = {k: torch.from_numpy(v.numpy()) for k, v in state.items()}
    with pytest.raises(RuntimeError, match="missing keys.*3.bias"):
        ours.load_state_dict(state)
    with pytest.raises(RuntimeError):
        theirs.load_state_dict(torch_state)
    got, want = ours.load_state_dict(state, strict=False), \
        theirs.load_state_dict(torch_state, strict=False)
    assert got.missing_keys == want.missing_keys == ["3.bias"]
    assert got.unexpected_keys == want.unexpected_keys == ["extra.weight"]


def test_load_state_dict_bumps_the_version_so_an_older_graph_refuses_backward():
    for module, model in zip((cr, torch), _pair()):
        x = module.tensor(np.ones((5, 4)))
        loss = (model(x) ** 2).sum()
        model.load_state_dict(model.state_dict() if module is torch else
                              {k: v.clone() for k, v in model.state_dict().items()})
        with pytest.raises(RuntimeError, match="modified by an inplace operation|modified in"):
            loss.backward()


def test_keep_vars_prefix_and_destination():
    ours, theirs = _pair()
    kept = ours.state_dict(keep_vars=True)
    assert kept["0.weight"] is ours[0].weight
    assert isinstance(theirs.state_dict(keep_vars=True)["0.weight"], torch.nn.Parameter)
    assert list(ours.state_dict(prefix="net.")) == list(theirs.state_dict(prefix="net."))
    destination = {"epoch": 3}
    assert ours.state_dict(destination=destination) is destination
    assert list(destination)[:2] == ["epoch", "0.weight"]


def test_optimizer_state_and_checkpoints_still_work_with_tensor_values(tmp_path):
    ours, _ = _pair()
    _train(ours, cr, steps=2)
    path = tmp_path / "model.safetensors"
    pytest.importorskip("safetensors")
    cr.serialize.save_safetensors(ours.state_dict(), path)
    fresh, _ = _pair(seed=3)
    fresh.load_state_dict(cr.serialize.load_safetensors(path))
    for name, value in fresh.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), ours.state_dict()[name].numpy(), name)


def _tied_and_shared(M):
    emb = M.nn.Embedding(5, 3)
    head = M.nn.Linear(3, 5, bias=False)
    head.weight = emb.weight  # weight tying, as GPT's lm_head
    shared = M.nn.Linear(3, 3)
    return M.nn.Sequential(emb, shared, M.nn.Tanh(), shared, head)


def test_tied_weights_and_shared_modules_are_listed_under_every_name_as_in_pytorch():
    torch = pytest.importorskip("torch")
    ours, theirs = _tied_and_shared(cr), _tied_and_shared(torch)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    # A PyTorch state dict of a tied model loads strictly, and the tie survives.
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32)))
    keys = ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert keys.missing_keys == [] and keys.unexpected_keys == []
    assert ours[4].weight is ours[0].weight
    x = np.array([[0, 3, 4]])
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)


def test_module_dict_entries_are_attributes_as_in_pytorch():
    heads = cr.nn.ModuleDict({"digit": cr.nn.Linear(4, 10)})
    heads.parity = cr.nn.Linear(4, 2)
    assert list(heads.keys()) == ["digit", "parity"] and heads.digit is heads["digit"]
    assert list(heads.state_dict()) == ["digit.weight", "digit.bias", "parity.weight",
                                        "parity.bias"]
    del heads.parity
    assert list(heads.keys()) == ["digit"]
    with pytest.raises(AttributeError, match="no attribute or entry 'head'"):
        heads.head


def _nested(M):
    shared = M.nn.Linear(2, 2)
    inner = M.nn.Sequential(shared, M.nn.BatchNorm1d(2))
    return M.nn.Sequential(inner, M.nn.ReLU(), shared, M.nn.Linear(2, 1))


@pytest.mark.parametrize("remove_duplicate", [True, False])
def test_walking_the_tree_takes_pytorchs_options(remove_duplicate):
    ours, theirs = _nested(cr), _nested(torch)
    assert [n for n, _ in ours.named_modules(prefix="m", remove_duplicate=remove_duplicate)] == \
        [n for n, _ in theirs.named_modules(prefix="m", remove_duplicate=remove_duplicate)]
    for recurse in (True, False):
        for model_a, model_b in ((ours, theirs), (ours[0], theirs[0])):
            assert [n for n, _ in model_a.named_parameters(
                recurse=recurse, remove_duplicate=remove_duplicate)] == \
                [n for n, _ in model_b.named_parameters(recurse=recurse,
                                                        remove_duplicate=remove_duplicate)]
            assert [n for n, _ in model_a.named_buffers(
                recurse=recurse, remove_duplicate=remove_duplicate)] == \
                [n for n, _ in model_b.named_buffers(recurse=recurse,
                                                     remove_duplicate=remove_duplicate)]
            assert len(list(model_a.parameters(recurse=recurse))) == \
                len(list(model_b.parameters(recurse=recurse)))
            assert len(list(model_a.buffers(recurse=recurse))) == \
                len(list(model_b.buffers(recurse=recurse)))
    memo = {ours[2]}  # already seen: skipped with its children, as in PyTorch
    torch_memo = {theirs[2]}
    assert [n for n, _ in ours.named_modules(memo)] == \
        [n for n, _ in theirs.named_modules(torch_memo)]
