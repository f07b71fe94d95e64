"""The layers of nn/shrink_layers.py, nn/more_dropout.py and nn/small_layers.py cross to PyTorch
and back through cr.interop (options, weights, evaluation mode) and export to ONNX, computing
there what they compute here (onnxruntime); what ONNX cannot express is refused by name. The
coverage tests of tests/test_interop.py and tests/test_onnx_export.py count these layers
(interop_cases.SMALL_LAYERS)."""
import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")
from test_new_pool_export import _input, _run_onnx  # noqa: E402  (one way to run an export)

CASES = [  # (layer, constructor arguments, input shape)
    ("Hardshrink", (0.3,), (3, 4, 5)), ("Softshrink", (), (3, 4)),
    ("Softmax2d", (), (3, 4, 2, 2)), ("RReLU", (0.1, 0.3), (3, 6)),
    ("Dropout1d", (0.4,), (3, 4, 5)), ("Dropout3d", (0.2,), (3, 2, 2, 2, 2)),
    ("AlphaDropout", (0.3,), (3, 5)), ("FeatureAlphaDropout", (0.3,), (3, 4, 5)),
    ("AdaptiveAvgPool1d", (3,), (3, 4, 9)), ("AdaptiveAvgPool1d", ((2,),), (3, 4, 8)),
    ("ChannelShuffle", (2,), (3, 6, 2, 2)), ("ChannelShuffle", (3,), (3, 6, 4)),
    ("LocalResponseNorm", (3, 0.5, 0.6, 2.0), (3, 6, 2, 2)),
    ("LocalResponseNorm", (5,), (3, 6, 4)),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


@pytest.mark.parametrize("name, args, shape", CASES, ids=IDS)
def test_layers_convert_both_ways(name, args, shape):
    theirs = torch.nn.Sequential(getattr(torch.nn, name)(*args)).eval()
    converted = cr.interop.from_torch(theirs)
    assert type(converted[0]) is getattr(nn, name) and repr(converted) == repr(theirs)
    assert not converted[0].training
    back = cr.interop.to_torch(converted)
    assert repr(back) == repr(theirs) and not back[0].training
    x = _input(shape)
    expected = theirs(torch.tensor(x)).numpy()
    np.testing.assert_allclose(converted(cr.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(back(torch.tensor(x)).numpy(), expected, rtol=1e-6)


def test_bilinear_converts_inside_a_sequential_with_its_weights():
    theirs = torch.nn.Sequential(torch.nn.Bilinear(2, 3, 4, bias=False))
    converted = cr.interop.from_torch(theirs)
    np.testing.assert_array_equal(converted[0].weight.detach().numpy(),
                                  theirs[0].weight.detach().numpy())
    assert converted[0].bias is None and repr(converted) == repr(theirs)


@pytest.mark.parametrize("name, args, shape", CASES, ids=IDS)
def test_onnx_export_computes_what_the_layer_computes(name, args, shape, tmp_path):
    model = nn.Sequential(getattr(nn, name)(*args), nn.Tanh())
    x = _input(shape)
    got = _run_onnx(model, x, tmp_path)
    assert model.training  # export ran in evaluation mode and restored the mode
    with cr.no_grad():
        expected = model.eval()(cr.tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("layer, shape, pattern", [
    (nn.Bilinear(2, 3, 4), (2, 2), r"Bilinear at '0' takes two inputs"),
    (nn.LocalResponseNorm(2), (2, 4, 3), r"LocalResponseNorm at '0' has the even size 2"),
    (nn.AdaptiveAvgPool1d(3), (2, 4, 8), r"AdaptiveAvgPool1d at '0' pools shape \(2, 4, 8\) "
                                         r"to 3"),
])
def test_onnx_export_refuses_what_it_cannot_keep(layer, shape, pattern, tmp_path):
    pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
    from chainrule.interop.onnx_export import ExportError
    with pytest.raises(ExportError, match=pattern):
        cr.onnx.export(nn.Sequential(layer), cr.zeros(*shape), str(tmp_path / "m.onnx"))


def test_the_coverage_table_lists_exactly_these_layers():
    from interop_cases import SMALL_LAYERS
    assert SMALL_LAYERS == {name for name, *_ in CASES} | {"Bilinear"}
