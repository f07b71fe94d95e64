"""The layers of nn/more_pool_layers.py and EmbeddingBag cross to PyTorch and back through
cr.interop (options, weights, evaluation mode) and export to ONNX, computing there what they
compute here (onnxruntime); what ONNX cannot express is refused by name. The coverage tests of
tests/test_interop.py and tests/test_onnx_export.py count these layers
(interop_cases.POOL_LAYERS)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

CASES = [  # (layer, constructor arguments, input shape)
    ("AdaptiveMaxPool1d", (3,), (3, 4, 9)), ("AdaptiveMaxPool1d", (1,), (3, 4, 7)),
    ("AdaptiveMaxPool2d", ((2, None),), (3, 2, 6, 5)), ("AdaptiveMaxPool2d", (1,), (2, 3, 4, 5)),
    ("LPPool1d", (2, 3), (3, 4, 9)), ("LPPool1d", (4, 2, 1), (3, 4, 7)),
    ("LPPool2d", (2, (2, 3)), (3, 2, 6, 6)), ("LPPool2d", (2, 2, (1, 2)), (2, 3, 5, 6)),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


def _input(shape):
    return np.random.default_rng(0).normal(size=shape).astype(np.float32) * 2


@pytest.mark.parametrize("name, args, shape", CASES, ids=IDS)
def test_layers_convert_both_ways(name, args, shape):
    theirs = torch.nn.Sequential(getattr(torch.nn, name)(*args)).eval()
    converted = cr.interop.from_torch(theirs)
    assert type(converted[0]) is getattr(nn, name) and repr(converted) == repr(theirs)
    back = cr.interop.to_torch(converted)
    assert repr(back) == repr(theirs)
    x = _input(shape)
    expected = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(converted(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back(torch.tensor(x)).numpy(), expected, rtol=1e-6)


def test_embedding_bag_converts_both_ways_with_its_table():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.EmbeddingBag(7, 3, mode="max", padding_idx=2))
    converted = cr.interop.from_torch(theirs)
    assert repr(converted) == repr(theirs)
    np.testing.assert_array_equal(converted[0].weight.detach().numpy(),
                                  theirs[0].weight.detach().numpy())
    indices = [[1, 2, 6], [0, 0, 5]]
    np.testing.assert_allclose(converted(cr.tensor(indices)).detach().numpy(),
                               theirs(torch.tensor(indices)).detach().numpy(), rtol=1e-6)
    back = cr.interop.to_torch(converted)
    assert repr(back) == repr(theirs)
    assert torch.equal(back[0].weight, theirs[0].weight)


def _run_onnx(model, x, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason='pip install -e ".[interop]"')
    pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
    path = str(tmp_path / "model.onnx")
    cr.onnx.export(model, cr.tensor(x), path)
    session = ort.InferenceSession(path)
    return session.run(None, {session.get_inputs()[0].name: x})[0]


@pytest.mark.parametrize("name, args, shape", CASES, ids=IDS)
def test_onnx_export_computes_what_the_layer_computes(name, args, shape, tmp_path):
    model = nn.Sequential(getattr(nn, name)(*args), nn.Tanh())
    x = _input(shape)
    got = _run_onnx(model, x, tmp_path)
    with cr.no_grad():
        expected = model.eval()(cr.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer, shape, pattern", [
    (nn.AdaptiveMaxPool1d(3), (2, 4, 8), r"AdaptiveMaxPool1d at '0' pools shape \(2, 4, 8\) "
                                         r"to \(3,\)"),
    (nn.AdaptiveMaxPool2d(2, return_indices=True), (2, 1, 4, 4), "returns indices too"),
    (nn.LPPool1d(3, 2), (2, 4, 8), r"LPPool1d at '0' has norm_type=3; ONNX's LpPool"),
    (nn.LPPool2d(1.5, 2), (2, 1, 4, 4), "norm_type=1.5"),
    (nn.LPPool2d(float("inf"), 2), (2, 1, 4, 4), "norm_type=inf"),
    (nn.LPPool1d(2, 3, ceil_mode=True), (2, 4, 8), "ceil_mode=True"),
    (nn.EmbeddingBag(5, 3), (2, 3), "EmbeddingBag at '0' takes integer indices"),
])
def test_onnx_export_refuses_what_it_cannot_keep(layer, shape, pattern, tmp_path):
    pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
    from chainrule.interop.onnx_export import ExportError
    with pytest.raises(ExportError, match=pattern):
        cr.onnx.export(nn.Sequential(layer), cr.zeros(*shape), str(tmp_path / "m.onnx"))


def test_the_coverage_table_lists_exactly_these_layers():
    from interop_cases import POOL_LAYERS
    assert POOL_LAYERS == {name for name, *_ in CASES} | {"EmbeddingBag"}
