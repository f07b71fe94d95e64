"""``chainrule export``: a trained checkpoint to an ONNX model, checked against chainrule."""
import argparse
import os

from ..argtypes import output_file
from ..errors import ChainruleError

EXPORT_EXAMPLES = """examples:
  chainrule train --out runs/digits && chainrule export --checkpoint runs/digits/checkpoint.crt --onnx digits.onnx
  chainrule export --checkpoint runs/lenet/checkpoint.crt --onnx lenet.onnx --opset 18
  chainrule export --checkpoint runs/digits/checkpoint.crt --onnx m.onnx --no-check   # without onnxruntime
  chainrule train --model gpt --out runs/gpt && chainrule export --checkpoint runs/gpt/checkpoint.crt --onnx gpt.onnx
"""
CHECK_BATCH_SIZES = (1, 7, 64)
TOLERANCE = 1e-5


def register(commands):
    from ..interop.onnx_export import DEFAULT_OPSET, MIN_OPSET
    export = commands.add_parser(
        "export", help="write a checkpoint's model as ONNX",
        description="Rebuild the model saved in a checkpoint written by 'chainrule train' and "
                    "write it as an ONNX model (evaluation mode, a dynamic batch dimension), "
                    "validated by onnx.checker; then run it in onnxruntime on random inputs "
                    f"at batch sizes {', '.join(map(str, CHECK_BATCH_SIZES))} and compare with "
                    f"chainrule (within {TOLERANCE:g}). A language model (--model rnn, gru, lstm "
                    "or gpt) takes int64 token indices (batch, sequence), with a dynamic "
                    "sequence length too. Needs pip install -e \".[interop]\".",
        epilog=EXPORT_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    export.add_argument("--checkpoint", required=True, metavar="PATH",
                        help="a checkpoint.crt written by 'chainrule train'")
    export.add_argument("--onnx", required=True, metavar="PATH", type=output_file,
                        help="the ONNX file to write")
    export.add_argument("--opset", type=_opset, default=DEFAULT_OPSET,
                        help=f"ONNX opset version (default: {DEFAULT_OPSET}; {MIN_OPSET} or newer)")
    export.add_argument("--no-check", action="store_true",
                        help="skip the comparison with onnxruntime")
    export.set_defaults(run=run_export)


def _opset(text):
    from ..interop.onnx_export import MIN_OPSET
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    try:
        import onnx
        latest = onnx.defs.onnx_opset_version()
    except ImportError:  # run_export says what to install
        latest = value
    if not MIN_OPSET <= value <= latest:
        raise argparse.ArgumentTypeError(f"must be from {MIN_OPSET} to {latest} (the newest "
                                         f"this onnx knows), got {value}")
    return value


def run_export(args):
    import numpy as np
    from ..models import LANGUAGE_MODELS, describe, load_model
    from ..interop.onnx_export import export
    model, tree = load_model(args.checkpoint)
    config = tree["config"]
    if config.get("model") in LANGUAGE_MODELS:
        return _export_language_model(args, model, config)
    inputs = int(config["input_size"])
    os.makedirs(os.path.dirname(os.path.abspath(args.onnx)), exist_ok=True)
    export(model, np.zeros((1, inputs), np.float32), args.onnx, opset=args.opset)
    network = describe(config) + ")"
    print(f"exported {args.checkpoint} ({network}) to {args.onnx}: opset {args.opset}, input "
          f"'input' (batch, {inputs}), output 'output' (batch, {config['classes']}); "
          f"onnx.checker passed")
    if args.no_check:
        return 0
    worst, version = _compare_with_onnxruntime(model, args.onnx, inputs)
    sizes = ", ".join(map(str, CHECK_BATCH_SIZES[:-1])) + f" and {CHECK_BATCH_SIZES[-1]}"
    if not worst <= TOLERANCE:
        raise ChainruleError(f"onnxruntime {version} differs from chainrule by {worst:.3g} on "
                             f"{args.onnx} (more than {TOLERANCE:g})")
    print(f"onnxruntime {version} gives chainrule's outputs within {worst:.2g} on random "
          f"inputs at batch sizes {sizes}")
    return 0


def _session(path):
    """An onnxruntime session on the CPU for the written file, and onnxruntime's version."""
    try:
        import onnxruntime
    except ImportError as error:
        raise ImportError('the comparison needs onnxruntime: pip install -e ".[interop]" '
                          '(or skip it with --no-check)') from error
    session = onnxruntime.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    return session, onnxruntime.__version__


def _compare_with_onnxruntime(model, path, inputs):
    import numpy as np
    from ..autograd import no_grad
    session, version = _session(path)
    rng = np.random.default_rng(0)
    model.eval()
    worst = 0.0
    for size in CHECK_BATCH_SIZES:
        x = rng.random((size, inputs), dtype=np.float32)
        with no_grad():
            expected = model(x).numpy()
        (actual,) = session.run(None, {"input": x})
        worst = max(worst, float(np.abs(actual - expected).max()))
    return worst, version


def _export_language_model(args, model, config):
    import numpy as np
    from ..interop.onnx_export import export
    steps = int(config["block_size"])
    vocab = int(config["vocab_size"])
    os.makedirs(os.path.dirname(os.path.abspath(args.onnx)), exist_ok=True)
    export(model, np.zeros((1, steps), np.int64), args.onnx, opset=args.opset)
    if config["model"] == "gpt":
        shapes = (f"(batch, sequence of at most {steps}) int64 token indices; output 'output' "
                  f"(batch, 1, vocabulary): the next token's logits")
    else:
        shapes = ("(batch, sequence) int64 token indices; outputs 'output' (sequence x batch, "
                  "vocabulary) and the final states")
    print(f"exported {args.checkpoint} ({config['model']} language model, vocabulary {vocab}) "
          f"to {args.onnx}: opset {args.opset}, input 'input' {shapes}; onnx.checker passed")
    if args.no_check:
        return 0
    worst, version = _compare_language_model(model, args.onnx, vocab, steps)
    if not worst <= TOLERANCE:
        raise ChainruleError(f"onnxruntime {version} differs from chainrule by {worst:.3g} "
                             f"(relative to the largest output) on {args.onnx}, more than "
                             f"{TOLERANCE:g}")
    print(f"onnxruntime {version} gives chainrule's outputs within {worst:.2g} (relative to "
          f"the largest) on random tokens at batch sizes 1 and 7, sequences of 1 and {steps}")
    return 0


def _compare_language_model(model, path, vocab, steps):
    import numpy as np
    from ..autograd import no_grad
    session, version = _session(path)
    rng = np.random.default_rng(0)
    model.eval()
    worst = 0.0
    for batch, length in ((1, 1), (7, steps)):
        idx = rng.integers(0, vocab, (batch, length))
        with no_grad():
            out, extra = model(idx)
        states = extra if isinstance(extra, tuple) else (extra,)
        expected = [t.numpy() for t in (out, *states) if t is not None]
        actual = session.run(None, {"input": idx})
        for a, e in zip(actual, expected, strict=True):
            worst = max(worst, float(np.abs(a - e).max() / max(np.abs(e).max(), 1e-30)))
    return worst, version
