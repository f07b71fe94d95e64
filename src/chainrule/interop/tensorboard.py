"""TensorBoard logs through tensorboardX: a Trainer callback that writes the loss of every step
and, each epoch, the losses, accuracies, learning rate and throughput, and histograms of every
layer's weights and gradients. ``chainrule train --tensorboard DIR`` uses it; view the logs
with ``tensorboard --logdir DIR``."""
import math

INSTALL_HINT = 'pip install -e ".[interop]"'


class TensorBoardLogger:
    """A ``Trainer`` callback writing TensorBoard event files to ``log_dir``.

    Scalars: ``train/loss_step`` at every optimizer step; per epoch ``loss/train``,
    ``loss/test``, ``accuracy/train``, ``accuracy/test``, ``learning_rate`` and
    ``samples_per_second``. Histograms per epoch (unless ``histograms=False``):
    ``weights/NAME`` and ``gradients/NAME`` for each parameter (PyTorch's names, such as
    ``0.weight``), the gradients being those of the epoch's last step.

    >>> import tempfile
    >>> from chainrule import data, nn, optim, train
    >>> x = np.random.default_rng(0).random((32, 3), dtype=np.float32)
    >>> loader = data.DataLoader((x, (x.sum(1) > 1.5).astype(np.int64)), batch_size=8)
    >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    >>> logger = cr.interop.TensorBoardLogger(tempfile.mkdtemp())
    >>> _ = train.Trainer(epochs=2, progress=False, log=None, callbacks=[logger]).fit(
    ...     model, loader, loader, optimizer=optim.SGD(model.parameters(), lr=0.1))
    >>> logger.written
    {'scalars': 20, 'histograms': 16}
    """

    def __init__(self, log_dir, histograms=True):
        try:
            import tensorboardX  # noqa: F401  (checked now, so a run does not fail at epoch 1)
        except ImportError as error:
            raise ImportError(f"TensorBoard logs need tensorboardX: {INSTALL_HINT}") from error
        self.log_dir = log_dir
        self.histograms = histograms
        self.written = {"scalars": 0, "histograms": 0}
        self._writer = None
        self._opened = 0

    @property
    def writer(self):
        """The tensorboardX SummaryWriter, opened on first use (and again after a fit ends)."""
        if self._writer is None:
            from tensorboardX import SummaryWriter
            # Event files are named by the second they were opened in: a fit resumed within
            # the same second would overwrite the last one without a suffix of its own.
            self._opened += 1
            self._writer = SummaryWriter(logdir=str(self.log_dir),
                                         filename_suffix=f".{self._opened}")
        return self._writer

    def on_step(self, trainer, loss):
        """After each optimizer step: the minibatch loss."""
        self._scalar("train/loss_step", loss, trainer.step)

    def on_epoch_end(self, trainer, record):
        """After each epoch: its record's numbers, the learning rate and the histograms."""
        epoch = record.epoch
        for tag, value in (("loss/train", record.train_loss), ("loss/test", record.test_loss),
                           ("accuracy/train", record.train_accuracy),
                           ("accuracy/test", record.test_accuracy),
                           ("learning_rate", trainer.optimizer.param_groups[0]["lr"]),
                           ("samples_per_second", record.samples_per_second)):
            self._scalar(tag, value, epoch)
        if self.histograms:
            for name, parameter in trainer.model.named_parameters():
                self._histogram(f"weights/{name}", parameter._data, epoch)
                if parameter.grad is not None:
                    self._histogram(f"gradients/{name}", parameter.grad._data, epoch)
        self.writer.flush()

    def on_fit_end(self, trainer):
        """After the last epoch: the files are closed (a later fit opens new ones)."""
        self.close()

    def close(self):
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _scalar(self, tag, value, step):
        value = float(value)
        if math.isfinite(value):  # no test set gives NaN test columns: nothing to plot
            self.writer.add_scalar(tag, value, step)
            self.written["scalars"] += 1

    def _histogram(self, tag, values, step):
        import numpy as np
        values = np.asarray(values, dtype=np.float64)
        if values.size and np.isfinite(values).all():
            self.writer.add_histogram(tag, values, step)
            self.written["histograms"] += 1

