"""chainrule export on a language model's checkpoint: token indices in, the model's outputs
out, checked in onnxruntime by the command itself and here again against the checkpoint."""
import numpy as np
import pytest

from chainrule.cli import main
from chainrule.models import load_model

pytest.importorskip("onnx", reason='pip install -e ".[interop]"')
ort = pytest.importorskip("onnxruntime", reason='pip install -e ".[interop]"')

TINY = {"gru": ["--hidden", "6", "--embedding-dim", "5"],
        "lstm": ["--hidden", "8"],
        "gpt": ["--n-layer", "1", "--n-head", "2", "--n-embd", "8", "--steps-per-epoch", "2"]}


@pytest.mark.parametrize("kind", sorted(TINY))
def test_a_language_model_checkpoint_exports_and_checks(tmp_path, capsys, kind):
    out = tmp_path / "run"
    assert main(["train", "--model", kind, "--dataset", "timemachine", "--max-tokens", "600",
                 "--block-size", "8", "--batch-size", "4", "--epochs", "1", "--out", str(out),
                 "--no-progress", *TINY[kind]]) == 0
    capsys.readouterr()
    path = tmp_path / "lm.onnx"
    assert main(["export", "--checkpoint", str(out / "checkpoint.crt"), "--onnx",
                 str(path)]) == 0
    printed = capsys.readouterr().out
    assert "int64 token indices" in printed and "gives chainrule's outputs within" in printed
    model, tree = load_model(str(out / "checkpoint.crt"))
    model.eval()
    idx = np.random.default_rng(5).integers(0, tree["config"]["vocab_size"], (3, 6))
    expected = model(idx)[0].detach().numpy()
    actual = ort.InferenceSession(str(path)).run(None, {"input": idx})[0]
    np.testing.assert_allclose(actual, expected, rtol=1e-4, atol=1e-5 * np.abs(expected).max())
