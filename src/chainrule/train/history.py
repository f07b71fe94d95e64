"""Per-epoch training history, saved as CSV, JSON and a PNG of the curves."""
import csv
import io
import json
import math
import numbers
import os
from dataclasses import asdict, dataclass

from ..serialize.atomic import atomic_write

FIELDS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds",
          "samples_per_second")


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float
    samples_per_second: float

    def __post_init__(self):
        # Records come back from checkpoints too: refuse what line() and the plots cannot use.
        for name in FIELDS:
            value = getattr(self, name)
            kind = numbers.Integral if name == "epoch" else numbers.Real
            if isinstance(value, bool) or not isinstance(value, kind):
                raise TypeError(f"EpochRecord: {name} must be a number, got {value!r}")

    def line(self, epochs):
        # Without held-out data (Trainer.fit without a val_loader) the test columns are nan.
        test = "" if math.isnan(self.test_accuracy) else f"test acc {self.test_accuracy:.4f}  "
        return (f"epoch {self.epoch:>3}/{epochs}  loss {self.train_loss:.4f}  "
                f"train acc {self.train_accuracy:.4f}  {test}"
                f"{self.seconds:.2f}s  {self.samples_per_second:,.0f} samples/s")


def save_history(records, directory):
    """Write history.csv and history.json into ``directory``; returns their paths."""
    rows = [asdict(r) for r in records]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    csv_path = os.path.join(directory, "history.csv")
    json_path = os.path.join(directory, "history.json")
    atomic_write(csv_path, [buffer.getvalue().encode("utf-8")], what="history")
    atomic_write(json_path, [(json.dumps(rows, indent=2) + "\n").encode("utf-8")], what="history")
    return csv_path, json_path


def plot_history(records, path):
    """Loss and accuracy curves as a PNG; returns the path, or None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    epochs = [r.epoch for r in records]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [r.train_loss for r in records], marker="o", label="train")
    left.plot(epochs, [r.test_loss for r in records], marker="o", label="test")
    left.set(xlabel="epoch", ylabel="loss", title="Loss")
    right.plot(epochs, [r.train_accuracy for r in records], marker="o", label="train")
    right.plot(epochs, [r.test_accuracy for r in records], marker="o", label="test")
    right.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    image = io.BytesIO()
    try:
        figure.savefig(image, format="png", dpi=100)
    finally:
        plt.close(figure)
    atomic_write(path, [image.getvalue()], what="curves")
    return path
