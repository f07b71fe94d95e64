"""Per-epoch training history, saved as CSV, JSON and a PNG of the curves."""
import csv
import io
import json
import math
import numbers
import os
from dataclasses import dataclass

from ..serialize.atomic import atomic_write

FIELDS = ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "seconds",
          "samples_per_second")
# A language model's records add these (exp of the losses); other runs leave them out.
PERPLEXITY_FIELDS = ("train_perplexity", "test_perplexity")


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_loss: float
    test_accuracy: float
    seconds: float
    samples_per_second: float
    train_perplexity: float = math.nan
    test_perplexity: float = math.nan

    @property
    def language_model(self):
        return not math.isnan(self.train_perplexity)

    def __post_init__(self):
        # Records come back from checkpoints too: refuse what line() and the plots cannot use.
        for name in FIELDS + PERPLEXITY_FIELDS:
            value = getattr(self, name)
            kind = numbers.Integral if name == "epoch" else numbers.Real
            if isinstance(value, bool) or not isinstance(value, kind):
                raise TypeError(f"EpochRecord: {name} must be a number, got {value!r}")

    def line(self, epochs):
        if self.language_model:
            return (f"epoch {self.epoch:>3}/{epochs}  loss {self.train_loss:.4f}  "
                    f"perplexity {self.train_perplexity:.3f}  val loss {self.test_loss:.4f}  "
                    f"val perplexity {self.test_perplexity:.3f}  {self.seconds:.2f}s  "
                    f"{self.samples_per_second:,.0f} tokens/s")
        # Without held-out data (Trainer.fit without a val_loader) the test columns are nan.
        test = "" if math.isnan(self.test_accuracy) else f"test acc {self.test_accuracy:.4f}  "
        return (f"epoch {self.epoch:>3}/{epochs}  loss {self.train_loss:.4f}  "
                f"train acc {self.train_accuracy:.4f}  {test}"
                f"{self.seconds:.2f}s  {self.samples_per_second:,.0f} samples/s")


class History(list):
    """The epoch records of a run (a list of EpochRecord). A notebook cell shows it as the loss
    and accuracy curves (with matplotlib), or as a table of the epochs without it."""

    def _repr_png_(self):
        return curves_png(self) if self else None

    def __repr__(self):
        if not self:
            return "<History: no epochs yet>"
        last = self[-1]
        return (f"<History of {len(self)} epochs: last train loss {last.train_loss:.4f}, "
                f"test accuracy {last.test_accuracy:.4f}>")

    def _repr_html_(self):
        if self and _matplotlib_figure() is not None:
            return None  # the curves say it better; a notebook shows the PNG instead
        return history_html(self)


def history_html(records):
    from .. import display
    rows = [[str(r.epoch), f"{r.train_loss:.4f}", f"{r.train_accuracy:.4f}", f"{r.test_loss:.4f}",
             f"{r.test_accuracy:.4f}", f"{r.seconds:.2f}", f"{r.samples_per_second:,.0f}"]
            for r in records]
    body = display.table(["epoch", "train loss", "train acc", "test loss", "test acc",
                          "seconds", "samples/s"], rows, ["right"] * 7)
    return display.box(f"training history: {len(records)} epochs", body)


def save_history(records, directory):
    """Write history.csv and history.json into ``directory``; returns their paths."""
    language = any(r.language_model for r in records)
    fields = FIELDS + PERPLEXITY_FIELDS if language else FIELDS
    rows = [{name: getattr(r, name) for name in fields} for r in records]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    csv_path = os.path.join(directory, "history.csv")
    json_path = os.path.join(directory, "history.json")
    atomic_write(csv_path, [buffer.getvalue().encode("utf-8")], what="history")
    atomic_write(json_path, [(json.dumps(rows, indent=2) + "\n").encode("utf-8")], what="history")
    return csv_path, json_path


def plot_history(records, path):
    """Loss and accuracy curves as a PNG; returns the path, or None without matplotlib."""
    image = curves_png(records)
    if image is None:
        return None
    atomic_write(path, [image], what="curves")
    return path


def curves_png(records):
    """The loss and accuracy curves as PNG bytes, or None without matplotlib."""
    # A Figure of its own, not pyplot: nothing global changes, not even in a notebook.
    Figure = _matplotlib_figure()
    if Figure is None:
        return None
    epochs = [r.epoch for r in records]
    figure = Figure(figsize=(10, 4))
    left, right = figure.subplots(1, 2)
    left.plot(epochs, [r.train_loss for r in records], marker="o", label="train")
    left.plot(epochs, [r.test_loss for r in records], marker="o", label="test")
    left.set(xlabel="epoch", ylabel="loss", title="Loss")
    if records and records[-1].language_model:  # d2l plots perplexity for language models
        right.plot(epochs, [r.train_perplexity for r in records], marker="o", label="train")
        right.plot(epochs, [r.test_perplexity for r in records], marker="o", label="val")
        right.set(xlabel="epoch", ylabel="perplexity", title="Perplexity")
    else:
        right.plot(epochs, [r.train_accuracy for r in records], marker="o", label="train")
        right.plot(epochs, [r.test_accuracy for r in records], marker="o", label="test")
        right.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    for axes in (left, right):
        axes.grid(alpha=0.3)
        axes.legend()
    figure.tight_layout()
    image = io.BytesIO()
    figure.savefig(image, format="png", dpi=100)
    return image.getvalue()


def _matplotlib_figure():
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure
