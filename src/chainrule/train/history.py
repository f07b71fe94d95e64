"""Per-epoch training history, saved as CSV, JSON and a PNG of the curves."""
import csv
import io
import json
import numbers
import os
import tempfile
from dataclasses import asdict, dataclass

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
        return (f"epoch {self.epoch:>3}/{epochs}  loss {self.train_loss:.4f}  "
                f"train acc {self.train_accuracy:.4f}  test acc {self.test_accuracy:.4f}  "
                f"{self.seconds:.2f}s  {self.samples_per_second:,.0f} samples/s")


def _readable_by_others(path):
    # mkstemp makes files private (0600); results should get the usual umask permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def write_atomically(path, text):
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        _readable_by_others(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def save_history(records, directory):
    """Write history.csv and history.json into ``directory``; returns their paths."""
    rows = [asdict(r) for r in records]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    csv_path = os.path.join(directory, "history.csv")
    json_path = os.path.join(directory, "history.json")
    write_atomically(csv_path, buffer.getvalue())
    write_atomically(json_path, json.dumps(rows, indent=2) + "\n")
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
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".png")
    os.close(fd)
    try:
        figure.savefig(temporary, dpi=100)
        _readable_by_others(temporary)
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        if os.path.exists(temporary):
            os.unlink(temporary)
    return path
