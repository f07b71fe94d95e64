"""ONNX export of convolutions that pad by reflecting, replicating or wrapping: a Pad node
before the Conv, run in onnxruntime against chainrule's own output; a mode the chosen opset
lacks is refused, never exported as zero padding."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.interop.onnx_export import ExportError

pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
ort = pytest.importorskip("onnxruntime", reason='pip install -e ".[interop]"')


def run_exported(model, x, tmp_path, **options):
    path = tmp_path / "model.onnx"
    cr.onnx.export(model, cr.tensor(x), str(path), **options)
    session = ort.InferenceSession(str(path))
    return session.run(None, {session.get_inputs()[0].name: x})[0]


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
    with pytest.raises(ExportError,
                       match=r"Conv2d at '0' has padding_mode='circular'.*opset 19"):
        cr.onnx.export(model, cr.zeros(1, 1, 4, 4), str(tmp_path / "m.onnx"), opset=17)
