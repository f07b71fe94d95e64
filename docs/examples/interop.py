"""docs/interop.md: safetensors files, ONNX export checked in onnxruntime, TensorBoard logs and
checkpoints that prove their integrity. Needs pip install -e ".[interop]" (and TensorBoard's
reader, in the test extra)."""
import os
import tempfile

import numpy as np

import chainrule as cr
from chainrule import data, nn, optim, train

os.chdir(tempfile.mkdtemp())
cr.manual_seed(0)
model = cr.models.lenet()

# -- safetensors: PyTorch's names and layouts ------------------------------------------------------
cr.serialize.save_safetensors(model, "lenet.safetensors", metadata={"source": "chainrule"})
state, metadata = cr.serialize.load_safetensors("lenet.safetensors", with_metadata=True)
print(metadata)
for name in ["1.weight", "1.bias", "8.weight"]:
    print(f"{name:9} {state[name].dtype} {state[name].shape}")
print(cr.models.lenet().load_state_dict(state))

try:
    cr.models.lenet(classes=5).load_state_dict(state)
except nn.StateDictError as error:
    print(error)

# -- ONNX: export, then run it in onnxruntime ------------------------------------------------------
import onnx  # noqa: E402
import onnxruntime  # noqa: E402

cr.onnx.export(model, np.zeros((1, 784), np.float32), "lenet.onnx")
graph = onnx.load("lenet.onnx").graph
print([node.op_type for node in graph.node])
print("input", [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim])
session = onnxruntime.InferenceSession("lenet.onnx", providers=["CPUExecutionProvider"])
model.eval()
for size in (1, 7, 64):
    x = np.random.default_rng(size).random((size, 784), dtype=np.float32)
    with cr.no_grad():
        expected = model(x).numpy()
    (actual,) = session.run(None, {"input": x})
    print(f"batch {size:2}: output {actual.shape}, within 1e-5 of chainrule: "
          f"{bool(np.abs(actual - expected).max() <= 1e-5)}")

# -- TensorBoard: a Trainer callback ---------------------------------------------------------------
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

x = np.random.default_rng(0).random((64, 4), dtype=np.float32)
loader = data.DataLoader((x, (x.sum(1) > 2).astype(np.int64)), batch_size=16)
mlp = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
logger = cr.interop.TensorBoardLogger("tb")
train.Trainer(epochs=3, progress=False, log=None, callbacks=[logger]).fit(
    mlp, loader, loader, optimizer=optim.SGD(mlp.parameters(), lr=0.5))
logs = EventAccumulator("tb")
logs.Reload()
print(sorted(logs.Tags()["scalars"]))
print(sorted(logs.Tags()["histograms"]))
print("train/loss_step at steps", [e.step for e in logs.Scalars("train/loss_step")][:6], "...")

# -- checkpoints that prove their integrity ----------------------------------------------------
cr.serialize.save_tree("model.crt", {"model": dict(model.state_dict())})
raw = bytearray(open("model.crt", "rb").read())
raw[len(raw) // 2] ^= 0x01  # one bit, inside an array
open("model.crt", "wb").write(raw)
try:
    cr.serialize.load_tree("model.crt")
except cr.CheckpointError as error:
    print(str(error).split(": the")[0])
