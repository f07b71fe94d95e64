"""Convolutions that pad by reflecting, replicating or wrapping, Unfold/Fold and
CosineSimilarity at the doors out of chainrule: PyTorch both ways (with the same numbers on both
sides) and ONNX (run in onnxruntime against chainrule's own output, or refused by name, never
exported as something that computes differently)."""
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr

sys.path.insert(0, str(Path(__file__).parent))
from interop_cases import unfolding  # noqa: E402

CONVS = [("Conv1d", (2, 3, 3), {"padding": 2, "padding_mode": "circular"}, (2, 2, 7)),
         ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 5, 6)),
         ("Conv2d", (2, 4, 3), {"padding": "same", "padding_mode": "replicate"}, (1, 2, 5, 5)),
         ("Conv3d", (1, 2, 2), {"padding": 1, "padding_mode": "circular"}, (1, 1, 3, 4, 4))]


# -- PyTorch both ways ---------------------------------------------------------------------------

@pytest.mark.parametrize("name, args, kwargs, shape", CONVS)
def test_padding_mode_crosses_both_ways(name, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    theirs = getattr(torch.nn, name)(*args, **kwargs).double()
    x = np.random.default_rng(1).normal(size=shape)
    ours = cr.interop.from_torch(theirs)
    assert ours.padding_mode == kwargs["padding_mode"]
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(cr.tensor(x)).detach().numpy(), expected, rtol=1e-12)
    back = cr.interop.to_torch(ours)
    assert back.padding_mode == kwargs["padding_mode"]
    np.testing.assert_allclose(back(torch.tensor(x)).detach().numpy(), expected, rtol=1e-12)


def test_unfold_and_fold_cross_both_ways():
    torch = pytest.importorskip("torch")
    theirs = unfolding(torch.nn)
    ours = cr.interop.from_torch(theirs)
    x = np.random.default_rng(2).normal(size=(3, 24))
    expected = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours(cr.tensor(x)).numpy(), expected, rtol=1e-12)
    assert str(cr.interop.to_torch(ours)) == str(theirs)


def test_cosine_similarity_crosses_both_ways():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.CosineSimilarity(dim=0, eps=1e-3)
    ours = cr.interop.from_torch(theirs)
    assert (ours.dim, ours.eps) == (0, 1e-3)
    a, b = np.random.default_rng(2).normal(size=(2, 4, 3))
    expected = theirs(torch.tensor(a), torch.tensor(b)).numpy()
    np.testing.assert_allclose(ours(cr.tensor(a), cr.tensor(b)).numpy(), expected, rtol=1e-12)
    back = cr.interop.to_torch(ours)
    assert (back.dim, back.eps) == (0, 1e-3)


# -- ONNX ----------------------------------------------------------------------------------------

def run_exported(model, x, tmp_path, **options):
    ort = pytest.importorskip("onnxruntime", reason='pip install -e ".[interop]"')
    pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
    path = tmp_path / "model.onnx"
    cr.onnx.export(model, cr.tensor(x), str(path), **options)
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def export_error():
    pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
    from chainrule.interop.onnx_export import ExportError
    return ExportError


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("conv, padding, shape", [
    ("Conv1d", 2, (2, 2, 7)), ("Conv2d", 1, (2, 2, 5, 6)), ("Conv2d", "same", (1, 2, 5, 5)),
    ("Conv2d", (1, 2), (1, 2, 4, 6)), ("Conv3d", 1, (1, 2, 3, 4, 4))])
def test_padding_modes_export_as_pad_then_conv(tmp_path, mode, conv, padding, shape):
    model = cr.nn.Sequential(getattr(cr.nn, conv)(2, 3, 3, padding=padding, padding_mode=mode),
                             cr.nn.Tanh())
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    expected = model(cr.tensor(x)).detach().numpy()
    zero_padded = getattr(cr.nn, conv)(2, 3, 3, padding=padding)
    zero_padded.load_state_dict(model[0].state_dict())
    assert not np.allclose(np.tanh(zero_padded(cr.tensor(x)).detach().numpy()), expected)
    np.testing.assert_allclose(run_exported(model, x, tmp_path, opset=19), expected,
                               rtol=1e-5, atol=1e-6)


def test_circular_padding_needs_opset_19(tmp_path):
    model = cr.nn.Sequential(cr.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular"))
    with pytest.raises(export_error(),
                       match=r"Conv2d at '0' has padding_mode='circular'.*opset 19"):
        cr.onnx.export(model, cr.zeros(1, 1, 4, 4), str(tmp_path / "m.onnx"), opset=17)


@pytest.mark.parametrize("options", [
    {"kernel_size": 2}, {"kernel_size": (2, 3), "padding": 1, "stride": (1, 2)},
    {"kernel_size": 3, "dilation": 2, "padding": 2, "stride": 2}])
def test_unfold_and_fold_export_exactly(tmp_path, options):
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 8)).astype(np.float32)
    x[0, 0, 0, 0], x[1, 2, 3, 3] = np.inf, np.nan  # moved as they are, never multiplied
    unfold = cr.nn.Sequential(cr.nn.Unfold(**options))
    both = cr.nn.Sequential(cr.nn.Unfold(**options), cr.nn.Fold((7, 8), **options))
    for model, opset in ((unfold, 17), (both, 18)):
        expected = model(cr.tensor(x)).numpy()
        out = run_exported(model, x, tmp_path, opset=opset)
        assert out.shape == expected.shape
        finite = np.isfinite(expected)
        np.testing.assert_array_equal(np.isfinite(out), finite)
        np.testing.assert_allclose(out[finite], expected[finite], rtol=1e-6, atol=1e-6)


def test_fold_needs_opset_18_and_cosine_similarity_is_refused(tmp_path):
    with pytest.raises(export_error(), match=r"Fold at '0' needs ONNX's Col2Im, from opset 18"):
        cr.onnx.export(cr.nn.Sequential(cr.nn.Fold((3, 3), 2)), cr.zeros(1, 4, 4),
                       str(tmp_path / "m.onnx"), opset=17)
    with pytest.raises(export_error(), match=r"CosineSimilarity at '0' compares two inputs"):
        cr.onnx.export(cr.nn.Sequential(cr.nn.CosineSimilarity()), cr.zeros(2, 3),
                       str(tmp_path / "m.onnx"))
