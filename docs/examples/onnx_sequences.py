"""docs/interop.md, "Sequences in ONNX": the language models chainrule ships exported to ONNX
and run in onnxruntime at batch sizes and sequence lengths other than the example's. Needs
pip install -e ".[interop]"."""
import os
import tempfile

import numpy as np
import onnx
import onnxruntime

import chainrule as cr
from chainrule.interop.onnx_export import ExportError
from chainrule.models import gpt, rnn_lm

os.chdir(tempfile.mkdtemp())
rng = np.random.default_rng(0)


def dims(values):
    return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in values}


def show(name, model, path, example, feeds_for):
    cr.onnx.export(model, example, path)
    graph = onnx.load(path).graph
    ops = sorted({node.op_type for node in graph.node} & {"RNN", "LSTM", "GRU", "Softmax",
                                                          "OneHot", "Gather", "Where"})
    print(f"{name}: inputs {dims(graph.input)} outputs {dims(graph.output)}; ops include {ops}")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    model.eval()
    for batch, steps in ((1, 1), (3, 12)):
        feeds, args = feeds_for(batch, steps)
        with cr.no_grad():
            expected = model(*args)
        expected = [t for t in (expected[0], *(expected[1] if isinstance(expected[1], tuple)
                                               else (expected[1],))) if t is not None]
        actual = session.run(None, feeds)
        worst = max(float(np.abs(a - e.numpy()).max() / np.abs(e.numpy()).max())
                    for a, e in zip(actual, expected))
        print(f"  batch {batch}, {steps:2} steps: {[a.shape for a in actual]}, within 1e-5 "
              f"of chainrule (relative to the largest value): {worst <= 1e-5}")


cr.manual_seed(0)
lstm = rnn_lm.rnn_lm("lstm", vocab_size=28, hidden_size=32, num_layers=2)


def lstm_feeds(batch, steps):
    idx = rng.integers(0, 28, (batch, steps))
    state = tuple(rng.standard_normal((2, batch, 32)).astype(np.float32) for _ in range(2))
    return ({"input": idx, "h_0": state[0], "c_0": state[1]},
            (cr.tensor(idx), tuple(cr.tensor(s) for s in state)))


show("rnn_lm('lstm')", lstm, "lstm.onnx", (np.zeros((2, 5), np.int64), lstm.begin_state(2)),
     lstm_feeds)

cr.manual_seed(0)
nano = gpt.GPT(gpt.GPTConfig(block_size=32, vocab_size=65, n_layer=2, n_head=4, n_embd=32))


def gpt_feeds(batch, steps):
    idx = rng.integers(0, 65, (batch, steps))
    return {"input": idx}, (cr.tensor(idx),)


show("GPT", nano, "gpt.onnx", np.zeros((2, 5), np.int64), gpt_feeds)

try:
    cr.onnx.export(cr.nn.Sequential(cr.nn.LSTM(4, 3), cr.nn.Linear(3, 2)),
                   np.zeros((5, 2, 4), np.float32), "refused.onnx")
except ExportError as error:
    print(error)
