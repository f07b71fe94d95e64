"""nn.Embedding and F.embedding against PyTorch: values, gradients (scatter-add, padding row,
frequency scaling), max_norm's in-place renormalisation, from_pretrained, refusals."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.interop.onnx_export import ExportError
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")


def both(weight, indices, **options):
    ours_w = cr.tensor(weight.copy(), requires_grad=True)
    theirs_w = torch.tensor(weight.copy(), requires_grad=True)
    ours = F.embedding(cr.tensor(indices), ours_w, **options)
    theirs = torch.nn.functional.embedding(torch.tensor(indices), theirs_w, **options)
    upstream = np.random.default_rng(1).standard_normal(ours.shape).astype(weight.dtype)
    (ours * cr.tensor(upstream)).sum().backward()
    (theirs * torch.tensor(upstream)).sum().backward()
    return ours, ours_w, theirs, theirs_w


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"padding_idx": 2}, {"padding_idx": -1},
                                     {"scale_grad_by_freq": True},
                                     {"scale_grad_by_freq": True, "padding_idx": 0},
                                     {"max_norm": 1.0}, {"max_norm": 1.5, "norm_type": 1.0}])
def test_values_and_gradients_as_torch(dtype, options):
    weight = np.random.default_rng(0).standard_normal((6, 4)).astype(dtype) * 2
    indices = np.array([[0, 2, 2, 5], [1, 2, 0, 5]])
    ours, ours_w, theirs, theirs_w = both(weight, indices, **options)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(ours_w.grad.numpy(), theirs_w.grad.numpy(), rtol=tol, atol=tol)
    # max_norm renormalised the table in place, as torch did
    np.testing.assert_allclose(ours_w.detach().numpy(), theirs_w.detach().numpy(), rtol=tol,
                               atol=tol)


def test_padding_row_gets_zero_gradient_and_keeps_its_value():
    weight = np.arange(12.0).reshape(4, 3)
    ours, ours_w, _, _ = both(weight, np.array([1, 1, 3]), padding_idx=1)
    assert ours.detach().numpy()[0].tolist() == [3.0, 4.0, 5.0]
    assert not ours_w.grad.numpy()[1].any()


def test_module_as_torch_with_copied_weights():
    torch.manual_seed(0)
    theirs = torch.nn.Embedding(7, 3, padding_idx=3, max_norm=2.0, scale_grad_by_freq=True)
    ours = nn.Embedding(7, 3, padding_idx=3, max_norm=2.0, scale_grad_by_freq=True)
    ours.load_state_dict({"weight": theirs.weight.detach().numpy().copy()})
    indices = np.array([[3, 1, 1], [6, 0, 3]])
    out_ours, out_theirs = ours(cr.tensor(indices)), theirs(torch.tensor(indices))
    out_ours.sum().backward()
    out_theirs.sum().backward()
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy(),
                               rtol=1e-6)
    assert repr(ours) == repr(theirs)


def test_default_init_and_padding_row():
    cr.manual_seed(0)
    table = nn.Embedding(2000, 50, padding_idx=4)
    weight = table.weight.detach().numpy()
    assert not weight[4].any()
    assert abs(weight.mean()) < 0.01 and abs(weight.std() - 1) < 0.01
    assert table.weight.dtype == np.float32


def test_from_pretrained_freezes_unless_asked():
    pretrained = cr.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    frozen = nn.Embedding.from_pretrained(pretrained, padding_idx=0)
    assert not frozen.weight.requires_grad
    assert frozen(cr.tensor([0])).tolist() == [[1.0, 2.0]]  # the padding row is kept as given
    assert not frozen(cr.tensor([1, 2])).requires_grad
    trainable = nn.Embedding.from_pretrained(pretrained, freeze=False)
    trainable(cr.tensor([2, 2])).sum().backward()
    assert trainable.weight.grad.tolist() == [[0, 0], [0, 0], [2, 2]]
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(pretrained.numpy()), padding_idx=0)
    assert repr(frozen) == repr(theirs)


def test_gradcheck_and_gradgradcheck_float64():
    weight = cr.tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)
    indices = cr.tensor([[0, 4, 4], [2, 0, 1]])

    # padding_idx and scale_grad_by_freq change the gradient on purpose, so only the plain
    # lookup (with repeated rows) is a true derivative.
    def f(w):
        return F.embedding(indices, w) ** 2

    assert cr.gradcheck(f, (weight,))
    assert cr.gradgradcheck(f, (weight,))


def test_index_out_of_range_is_an_index_error():
    weight = cr.zeros(4, 2)
    for indices in ([4], [-1]):
        with pytest.raises(IndexError, match="index out of range"):
            F.embedding(cr.tensor(indices), weight)
        with pytest.raises(IndexError):
            torch.nn.functional.embedding(torch.tensor(indices), torch.zeros(4, 2))


def test_non_integer_indices_are_refused():
    with pytest.raises(TypeError, match="integer"):
        F.embedding(cr.tensor([1.0]), cr.zeros(4, 2))
    with pytest.raises(TypeError, match="integer"):
        nn.Embedding(4, 2)(cr.tensor([True]))


def test_refusals_name_the_problem():
    with pytest.raises(NotImplementedError, match="sparse"):
        nn.Embedding(4, 2, sparse=True)
    with pytest.raises(NotImplementedError, match="sparse"):
        F.embedding(cr.tensor([0]), cr.zeros(4, 2), sparse=True)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    with pytest.raises(cr.errors.ShapeError, match="2-D"):
        nn.Embedding.from_pretrained(cr.zeros(3))


def test_from_torch_and_to_torch_round_trip():
    from interop_cases import recurrent
    torch.manual_seed(0)
    theirs = recurrent(torch.nn)[0]
    ours = cr.interop.from_torch(theirs)
    assert repr(ours) == repr(theirs)
    indices = np.array([[1, 2, 8], [2, 0, 0]])
    np.testing.assert_allclose(ours(cr.tensor(indices)).detach().numpy(),
                               theirs(torch.tensor(indices)).detach().numpy(), rtol=1e-6)
    back = cr.interop.to_torch(ours)
    assert str(back) == str(theirs)
    assert torch.equal(back.weight, theirs.weight)  # both renormalised the same rows
    frozen = torch.nn.Embedding.from_pretrained(torch.ones(3, 2))
    assert not cr.interop.from_torch(frozen).weight.requires_grad
    assert not cr.interop.to_torch(cr.interop.from_torch(frozen)).weight.requires_grad
    with pytest.raises(cr.interop.ConversionError, match="sparse"):
        cr.interop.from_torch(torch.nn.Embedding(3, 2, sparse=True))


def test_onnx_export_as_gather_matches_onnxruntime(tmp_path):
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    cr.manual_seed(0)
    layers = [nn.Embedding(10, 4, padding_idx=0), nn.Flatten(), nn.Linear(12, 2)]
    model = nn.Sequential(*layers)
    path = cr.onnx.export(model, np.zeros((2, 3), np.int64), tmp_path / "m.onnx")
    proto = onnx.load(str(path))
    assert "Gather" in [node.op_type for node in proto.graph.node]
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    indices = np.random.default_rng(0).integers(0, 10, (5, 3))
    (actual,) = session.run(None, {"input": indices})
    with cr.no_grad():
        expected = model(cr.tensor(indices)).numpy()
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6)


def test_onnx_export_refuses_max_norm_and_an_embedding_after_the_first_layer(tmp_path):
    pytest.importorskip("onnx")
    with pytest.raises(ExportError, match="must be the model's first layer"):
        cr.onnx.export(nn.Sequential(nn.Identity(), nn.Embedding(5, 2)),
                       np.zeros((1, 3), np.int64), tmp_path / "m.onnx")
    with pytest.raises(ExportError, match="max_norm"):
        cr.onnx.export(nn.Embedding(5, 2, max_norm=1.0), np.zeros((1, 3), np.int64),
                       tmp_path / "m.onnx")
