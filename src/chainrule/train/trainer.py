"""The training loop of the textbooks: forward propagation, backward propagation and a minibatch
SGD step, repeated over the data; with metrics, progress, checkpoints and exact resume."""
import math
import numbers
import os
import sys
import time
import warnings
from dataclasses import asdict, dataclass, field, fields

from ..argtypes import check_at_least, check_choice, check_int, check_positive
from ..autograd import no_grad
from ..backend import xp
from ..errors import CheckpointError, TrainingDiverged
from ..models import ACTIVATIONS, LANGUAGE_MODELS, MODELS, check_checkpoint, layer_sizes
from .history import EpochRecord, History, plot_history, save_history
from .language import TEXT_DATASETS, perplexity

LOSSES = ("cross-entropy", "hinge")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")
IMAGE_DATASETS = ("digits", "mnist", "fashion-mnist")
DATASETS = IMAGE_DATASETS + TEXT_DATASETS
SCHEDULES = ("constant", "cosine")
CHECKPOINT_FORMAT = "chainrule-checkpoint"

# What a language model trains with unless told otherwise: d2l's chapter 9 setup for the
# recurrent models (SGD at lr 1, gradients clipped to norm 1, 32 x 35 sequential batches of the
# first 10,000 characters, 256 hidden units, one-hot inputs), nanoGPT's shakespeare_char CPU
# example for gpt (AdamW lr 1e-3 with beta2 0.99 and weight decay 0.1, 100 warmup steps then a
# cosine decay to lr/10, clipping at 1, batches of 12 random blocks of 64, 4 layers, 4 heads,
# width 128, no dropout, no biases; an epoch is 250 steps, nanoGPT's eval_interval).
LANGUAGE_DEFAULTS = {
    "recurrent": dict(dataset="timemachine", optimizer="sgd", lr=1.0, batch_size=32, epochs=100,
                      hidden=[256], clip_grad_norm=1.0, block_size=35, embedding_dim=0,
                      dropout=0.0, max_tokens=10000),
    "gpt": dict(dataset="timemachine", optimizer="adamw", lr=1e-3, batch_size=12, epochs=8,
                weight_decay=0.1, beta2=0.99, clip_grad_norm=1.0, schedule="cosine",
                warmup_steps=100, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
                bias=False, steps_per_epoch=250, max_tokens=0),
}


@dataclass
class TrainConfig:
    """Everything that defines a run; saved in every checkpoint. The defaults train the
    textbooks' network (one hidden layer of 256 ReLU units, softmax cross-entropy, SGD)."""
    dataset: str = "digits"
    model: str = "mlp"
    hidden: list = field(default_factory=lambda: [256])
    activation: str = "relu"
    loss: str = "cross-entropy"
    optimizer: str = "sgd"
    lr: float = 0.2
    momentum: float = 0.0
    batch_size: int = 16
    epochs: int = 15
    weight_decay: float = 0.0
    init: str = "kaiming_uniform"
    seed: int = 0
    clip_grad_norm: float = 0.0  # 0: no clipping
    schedule: str = "constant"
    warmup_steps: int = 0
    beta2: float = None  # adam/adamw's second beta (None: 0.999)
    # The language models' settings (None for the image models; see LANGUAGE_DEFAULTS)
    block_size: int = None
    embedding_dim: int = None
    n_layer: int = None
    n_head: int = None
    n_embd: int = None
    dropout: float = None
    bias: bool = None
    max_tokens: int = None
    steps_per_epoch: int = None
    # Activation checkpointing: the model's layers in this many segments, each but the last
    # recomputed in backward (chainrule.utils.checkpoint); 0: none. Same gradients, less memory.
    checkpoint_segments: int = 0

    @classmethod
    def language_model(cls, model="lstm", **options):
        """A TrainConfig for a language model, each setting not given taken from
        LANGUAGE_DEFAULTS (d2l's for rnn/gru/lstm, nanoGPT's CPU example for gpt)."""
        check_choice("model", model, LANGUAGE_MODELS)
        given = {k: v for k, v in options.items() if v is not None}
        return cls(model=model, **{**language_defaults(model), **given})

    def __post_init__(self):
        # Checked in full here, so that a resumed checkpoint's config is refused before any
        # data is loaded or any layer allocated.
        from ..nn import init
        check_choice("dataset", self.dataset, DATASETS)
        check_choice("model", self.model, MODELS + LANGUAGE_MODELS)
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        init.get(self.init)
        self.hidden = layer_sizes(1, self.hidden, 1)[1:-1]
        check_int("batch_size", self.batch_size, 1)
        check_int("epochs", self.epochs, 1)
        check_int("seed", self.seed, 0)
        check_positive("lr", self.lr)
        check_at_least("momentum", self.momentum, 0)
        check_at_least("weight_decay", self.weight_decay, 0)
        check_at_least("clip_grad_norm", self.clip_grad_norm, 0)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("warmup_steps", self.warmup_steps, 0)
        if self.beta2 is not None and not 0 <= self.beta2 < 1:
            raise ValueError(f"beta2 must be in [0, 1), got {self.beta2!r}")
        language = self.model in LANGUAGE_MODELS
        if language != (self.dataset in TEXT_DATASETS):
            kind = "a text" if language else "an image"
            raise ValueError(f"--model {self.model} trains on {kind} data set "
                             f"({', '.join(TEXT_DATASETS if language else IMAGE_DATASETS)}), "
                             f"not --dataset {self.dataset}")
        if language:
            self._check_language_model()
        check_int("checkpoint_segments", self.checkpoint_segments, 0)
        if self.checkpoint_segments and language:
            raise ValueError("checkpoint_segments applies to the image models (mlp, lenet, ...), "
                             "whose layers form a Sequential, not to a language model")

    def _check_language_model(self):
        from ..models import expected_shapes
        for name, value in language_defaults(self.model).items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.loss != "cross-entropy":
            raise ValueError(f"a language model trains with cross-entropy, not {self.loss}")
        for name in ("block_size", "steps_per_epoch"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 1)
        for name in ("embedding_dim", "max_tokens"):
            if getattr(self, name) is not None:
                check_int(name, getattr(self, name), 0)
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        # The model's own checks (equal recurrent layers, heads dividing the width).
        expected_shapes({**asdict(self), "vocab_size": 1})

    @classmethod
    def from_dict(cls, values):
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def language_defaults(model):
    """The settings a language model trains with unless told otherwise (LANGUAGE_DEFAULTS)."""
    return dict(LANGUAGE_DEFAULTS["gpt" if model == "gpt" else "recurrent"])


def load_dataset(name, data_dir=None, download=False, seed=0):
    """The (train, test) pair for a dataset name used on the command line."""
    from .. import data
    if name == "digits":
        return data.digits(seed=seed)
    loader = {"mnist": data.mnist, "fashion-mnist": data.fashion_mnist}[name]
    return loader(data_dir=data_dir, download=download)


def make_loss(name):
    from ..nn import functional
    return functional.cross_entropy if name == "cross-entropy" else functional.multiclass_hinge_loss


def make_optimizer(config, parameters):
    """The optimizer a config names, over ``parameters`` (or parameter groups)."""
    from .. import optim
    if config.optimizer == "sgd":
        return optim.SGD(parameters, lr=config.lr, momentum=config.momentum,
                         weight_decay=config.weight_decay)
    if config.optimizer == "rmsprop":
        return optim.RMSprop(parameters, lr=config.lr, momentum=config.momentum,
                             weight_decay=config.weight_decay)
    kind = optim.Adam if config.optimizer == "adam" else optim.AdamW
    betas = (0.9, 0.999 if config.beta2 is None else config.beta2)
    return kind(parameters, lr=config.lr, betas=betas, weight_decay=config.weight_decay)


def scheduled_lr(config, step, total):
    """The learning rate for optimizer step ``step`` (0-based) of ``total``: constant, or
    nanoGPT's linear warmup over ``warmup_steps`` then a cosine decay to lr / 10 at ``total``."""
    if config.schedule == "constant":
        return config.lr
    if step < config.warmup_steps:
        return config.lr * (step + 1) / (config.warmup_steps + 1)
    if step > total:
        return config.lr / 10
    ratio = (step - config.warmup_steps) / max(total - config.warmup_steps, 1)
    return config.lr / 10 + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (config.lr - config.lr / 10)


def evaluate(model, data, loss_fn, batch_size=4096):
    """Mean loss and accuracy of ``model`` on ``data``, a Dataset (x, y) or an iterable of
    (x, y) batches such as a DataLoader (prediction mode: no graph)."""
    if hasattr(data, "x") and hasattr(data, "y"):
        data = [(data.x[i:i + batch_size], data.y[i:i + batch_size])
                for i in range(0, len(data.y), batch_size)]
    was_training = model.training
    model.eval()
    total_loss, correct, seen = 0.0, 0, 0
    try:
        with no_grad():
            for x, y in data:
                scores = model(x)
                total_loss += float(loss_fn(scores, y)._data) * len(y)
                correct += int((scores._data.argmax(axis=1) == xp.asarray(y)).sum())
                seen += len(y)
    finally:
        model.train(was_training)
    if not seen:
        raise ValueError("evaluate: the data holds no examples")
    return total_loss / seen, correct / seen


def divergence_advice(config):
    """The likeliest cause of a loss that became inf or nan, as the option to change."""
    if config is None:
        return "try a smaller learning rate"
    if config.optimizer in ("sgd", "adamw") and config.lr * config.weight_decay >= 1:
        return (f"--weight-decay {config.weight_decay:g} is too large for --lr {config.lr:g}: "
                f"each step multiplies the weights by 1 - lr * weight_decay = "
                f"{1 - config.lr * config.weight_decay:g}; try a weight decay below "
                f"{1 / config.lr:g}")
    if config.optimizer in ("sgd", "rmsprop") and config.momentum >= 0.99:
        return (f"--momentum {config.momentum:g} is close to 1, so steps barely slow down; try "
                f"0.9")
    return f"try a smaller --lr (now {config.lr:g})"


class Trainer:
    """Trains a model epoch after epoch, with a progress bar, a history, curves and
    checkpoints; a run continues bit for bit from its checkpoint. Two ways in:

    * ``Trainer(TrainConfig(...)).fit()``: the network, data, loss and optimizer a TrainConfig
      describes (what ``chainrule train`` runs); ``Trainer.resume(path)`` continues it.
    * ``Trainer(epochs=5).fit(model, train_loader, val_loader, loss=..., optimizer=...)``: your
      own model; ``fit(..., ckpt_path=path)`` continues from a checkpoint it wrote.

    With ``out_dir`` each finished epoch writes ``checkpoint.crt`` (atomically), the history as
    CSV and JSON and the curves as PNG.

    >>> from chainrule import data, nn, optim, train
    >>> x = np.random.default_rng(0).random((40, 3), dtype=np.float32)
    >>> loader = data.DataLoader((x, (x.sum(1) > 1.5).astype(np.int64)), batch_size=8)
    >>> model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> history = train.Trainer(epochs=2, progress=False, log=None).fit(
    ...     model, loader, loader, optimizer=optim.SGD(model.parameters(), lr=0.1))
    >>> [record.epoch for record in history]
    [1, 2]
    """

    def __init__(self, config=None, data_dir=None, download=False, out_dir=None, progress=True,
                 log=print, datasets=None, epochs=None, callbacks=(), compile=False):
        self.config = config
        # compile=True: forward, backward and the optimizer step run as one cr.compile'd
        # program (chainrule train --compile); the numbers are the eager steps', bit for bit.
        self.compile = compile
        self._compiled = None
        # Objects with any of on_step(trainer, loss), on_epoch_end(trainer, record) and
        # on_fit_end(trainer), e.g. chainrule.interop.TensorBoardLogger.
        self.callbacks = list(callbacks)
        self.epochs = epochs if epochs is not None else config.epochs if config else 10
        self.out_dir = out_dir
        self.progress = progress
        self.log = log
        self.history = History()
        self.epoch = 0  # epochs completed
        self.step = 0   # optimizer steps taken
        self.model = self.optimizer = self.loss_fn = self.loader = None
        self.train_data = self.test_data = None
        self.task = None  # a language model's batch loss and held-out loss (train.language)
        self.replicas = None  # under mpiexec: this rank's part (distributed.training)
        if config is not None:
            self._from_config(config, data_dir, download, datasets)
            self.replicas = _replicas(self)
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)

    def _from_config(self, config, data_dir, download, datasets):
        from .. import models, random
        from ..data import DataLoader
        if config.model in LANGUAGE_MODELS:
            return self._language_model(config, data_dir, download, datasets)
        self.train_data, self.test_data = datasets or load_dataset(
            config.dataset, data_dir, download, seed=config.seed)
        random.manual_seed(config.seed)
        self.model = models.build(self.model_config())
        layers = len(list(self.model.children()))
        if config.checkpoint_segments > layers:
            raise ValueError(f"checkpoint_segments is {config.checkpoint_segments}, but the "
                             f"model has {layers} layers: at most one segment per layer")
        self.optimizer = make_optimizer(config, self.model.parameters())
        self.loss_fn = make_loss(config.loss)
        self.loader = DataLoader(self.train_data, batch_size=config.batch_size, shuffle=True,
                                 seed=config.seed)

    def _language_model(self, config, data_dir, download, text):
        from .. import models, random
        from . import language
        self.train_data = self.test_data = text or language.load_text(
            config.dataset, data_dir, download, config.max_tokens)
        random.manual_seed(config.seed)
        self.model = models.build(self.model_config())
        # nanoGPT decays the matrices only, not biases and LayerNorm weights.
        parameters = list(self.model.parameters())
        groups = [{"params": [p for p in parameters if p.ndim >= 2]},
                  {"params": [p for p in parameters if p.ndim < 2], "weight_decay": 0.0}] \
            if config.model == "gpt" else parameters
        self.optimizer = make_optimizer(config, groups)
        self.loss_fn = make_loss(config.loss)
        self.loader = language.make_loader(self.train_data, config,
                                           random.Generator().manual_seed(config.seed))
        self.task = language.LanguageTask(self.model, config.model, self.loader.carries_state)

    def model_config(self):
        """The config a checkpoint stores: the run's, with the sizes the data fixes."""
        if self.config.model in LANGUAGE_MODELS:
            return {**asdict(self.config), "vocab_size": len(self.train_data.tokenizer)}
        return {**asdict(self.config), "input_size": int(self.train_data.x.shape[1]),
                "classes": len(self.train_data.classes)}

    def _attach(self, model, train_loader, val_loader, loss, optimizer):
        """Your own model, data, loss and optimizer, checked before any work."""
        from ..data import DataLoader
        from ..nn import Module, functional
        from ..optim.optimizer import Optimizer
        if not isinstance(model, Module):
            raise TypeError(f"Trainer.fit: model must be a chainrule.nn.Module, got "
                            f"{type(model).__name__}")
        if not isinstance(train_loader, DataLoader):
            raise TypeError(f"Trainer.fit: train_loader must be a chainrule.data.DataLoader "
                            f"(its state goes into checkpoints), got {type(train_loader).__name__}")
        if not isinstance(optimizer, Optimizer):
            raise TypeError("Trainer.fit: pass the optimizer of the model's parameters, e.g. "
                            "optimizer=optim.SGD(model.parameters(), lr=0.1)")
        if loss is not None and not callable(loss):
            raise TypeError(f"Trainer.fit: loss must be a function of (scores, labels), got "
                            f"{loss!r}")
        self.model, self.loader, self.test_data = model, train_loader, val_loader
        self.replicas = _replicas(self)
        self.optimizer, self.loss_fn = optimizer, loss or functional.cross_entropy

    # -- the loop ------------------------------------------------------------------------------
    def fit(self, model=None, train_loader=None, val_loader=None, *, loss=None, optimizer=None,
            epochs=None, ckpt_path=None):
        """Train until ``epochs`` epochs are done (default: the Trainer's); returns the history
        of EpochRecords. ``fit()`` or ``fit(epochs)`` trains what the TrainConfig describes;
        ``fit(model, train_loader, val_loader=None, loss=cross_entropy, optimizer=...)`` trains
        your own model (``val_loader``, a DataLoader or a Dataset, gives the test columns);
        ``ckpt_path`` first restores a checkpoint this Trainer wrote for that model."""
        if isinstance(model, numbers.Integral) and not isinstance(model, bool):
            model, epochs = None, model  # fit(epochs), the TrainConfig form
        if model is not None:
            self._attach(model, train_loader, val_loader, loss, optimizer)
            if ckpt_path is not None:
                from ..serialize import load_tree
                self.load_state(load_tree(ckpt_path), ckpt_path)
        elif self.model is None:
            raise TypeError("Trainer.fit: without a TrainConfig, pass the model, its "
                            "train_loader and an optimizer: trainer.fit(model, train_loader, "
                            "val_loader, optimizer=...)")
        epochs = epochs or self.epochs
        for epoch in range(self.epoch + 1, epochs + 1):
            record = self._train_epoch(epoch, epochs)
            self.history.append(record)
            self.epoch = epoch
            if self.log:
                self.log(record.line(epochs))
            self._notify("on_epoch_end", record)
            if self.out_dir and self.writes_files:
                self.save_checkpoint(self.checkpoint_path)
                save_history(self.history, self.out_dir)
        if self.out_dir and self.history and self.writes_files:
            plot_history(self.history, os.path.join(self.out_dir, "curves.png"))
        self._notify("on_fit_end")
        return self.history

    def _notify(self, hook, *args):
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)

    @property
    def writes_files(self):
        """Whether this process writes the run's files: under mpiexec, rank 0 alone."""
        return self.replicas is None or self.replicas.rank == 0

    @property
    def checkpoint_path(self):
        return os.path.join(self.out_dir, "checkpoint.crt") if self.out_dir else None

    def _batch_loss(self, x, y):
        """(loss, scores (N, classes), targets (N,)) of a batch."""
        if self.task is not None:
            return self.task.forward(x, y)
        segments = self.config.checkpoint_segments if self.config is not None else 0
        if segments:
            from ..utils.checkpoint import checkpoint_sequential
            if getattr(self, "replicas", None) is not None:  # its forward would skip the reducer
                raise ValueError("--checkpoint-segments does not run under mpiexec yet: "
                                 "DistributedDataParallel's forward would be bypassed")
            scores = checkpoint_sequential(self.model, segments, x)
        else:
            scores = (self.model if self.replicas is None else self.replicas.model)(x)
        if self.replicas is not None and len(y) == 0:  # no rows for this rank: a zero loss
            return scores.sum(), scores, y  # that still takes part in the all-reduce
        return self.loss_fn(scores, y), scores, y

    def _counts(self, scores, targets):
        """(examples counted, correctly predicted) in a batch; a language model's padding
        targets (-1) count for neither."""
        if self.task is None:
            return len(targets), int((scores._data.argmax(axis=1) == targets).sum())
        targets = targets.numpy()
        counted = targets >= 0
        return int(counted.sum()), int((scores._data.argmax(axis=1) == targets)[counted].sum())

    def _update(self, loss, epochs, schedule=True):
        """Backward, clip, schedule the learning rate and step (``schedule=False``: the
        caller set the learning rate, as the compiled step's does before each call)."""
        self.optimizer.zero_grad()
        (loss if self.replicas is None else self.replicas.weighted(loss)).backward()
        config = self.config
        if config is not None and config.clip_grad_norm:
            from ..nn.utils import clip_grad_norm_
            clip_grad_norm_(self.model.parameters(), config.clip_grad_norm)
        if schedule:
            self._schedule(epochs)
        self.optimizer.step()

    def _schedule(self, epochs):
        config = self.config
        if config is not None and config.schedule != "constant":
            lr = scheduled_lr(config, self.step, epochs * len(self.loader))
            for group in self.optimizer.param_groups:
                group["lr"] = lr

    def _compiled_step(self, x, y, epochs):
        """(loss, scores, targets) of a batch after its update, from the cr.compile'd step.
        A diverged loss is reported after the update that used it, not before. The learning
        rate of a schedule is set here, outside the plan, which reads it from the optimizer's
        groups at every call; a recurrent model's carried state goes in and out as tensors."""
        if self._compiled is None:
            refused = ("mpiexec" if getattr(self, "replicas", None) is not None else
                       "--checkpoint-segments" if getattr(self.config, "checkpoint_segments", 0)
                       else None)
            if refused is not None:
                from ..errors import ChainruleError
                raise ChainruleError(f"--compile does not support {refused} yet: run without "
                                     f"--compile")
            from ..compile import compile as compile_step
            task = self.task

            def step(x, y, state=None):
                if task is not None:
                    task.state = state
                loss, scores, targets = self._batch_loss(x, y)
                self._update(loss, epochs, schedule=False)
                if task is None:
                    return loss, scores, targets
                carried = task.state if task.carries_state else None
                return loss, scores, targets, carried
            self._compiled = compile_step(step)
        self._schedule(epochs)
        if self.task is None:
            return self._compiled(x, y)
        state = self.task.state
        if isinstance(state, tuple):
            state = tuple(s.detach() for s in state)
        elif state is not None:
            state = state.detach()
        loss, scores, targets, self.task.state = self._compiled(x, y, state)
        return loss, scores, targets

    def _run_compiled(self, x, y, epochs):
        from ..compile import CaptureError
        from ..errors import ChainruleError
        try:
            return self._compiled_step(x, y, epochs)
        except CaptureError as error:
            raise ChainruleError(f"--compile cannot trace this training step: {error}. Run "
                                 f"without --compile") from error

    def _train_epoch(self, epoch, epochs):
        self.model.train()
        if self.task is not None:
            self.task.begin_epoch()
        batches = iter(self.loader)  # first: a text loader knows its length once it has begun
        bar = _progress_bar(len(self.loader), f"epoch {epoch}/{epochs}", self.progress)
        unit = "tokens" if self.task is not None else "samples"
        total_loss, correct, seen = 0.0, 0, 0
        start = time.perf_counter()
        try:
            for batch, (x, y) in enumerate(batches, 1):
                if self.compile:  # the update is part of the compiled step
                    loss, scores, targets = self._run_compiled(x, y, epochs)
                else:
                    loss, scores, targets = self._batch_loss(x, y)
                value = float(loss._data)
                if not math.isfinite(value):
                    raise TrainingDiverged(
                        f"the training loss became {value} at epoch {epoch}, step {batch} of "
                        f"{len(self.loader)} (step {self.step + 1} overall); "
                        f"{divergence_advice(self.config)}")
                if not self.compile:
                    self._update(loss, epochs)
                self.step += 1
                self._notify("on_step", value)
                counted, hits = self._counts(scores, targets)
                total_loss += value * counted
                correct += hits
                seen += counted
                if bar is not None:
                    bar.update(1)
                    if batch % 10 == 0 or batch == len(self.loader):
                        rate = seen / max(time.perf_counter() - start, 1e-9)
                        ppl = f", ppl {perplexity(total_loss / seen):.2f}" if self.task else ""
                        bar.set_postfix_str(f"loss {total_loss / seen:.4f}{ppl}, "
                                            f"{rate:,.0f} {unit}/s")
        finally:
            if bar is not None:
                bar.close()
        seconds = time.perf_counter() - start
        if self.replicas is not None:  # every rank's examples
            total_loss, correct, seen = self.replicas.totals(total_loss, correct, seen)
        if self.task is not None:
            test_loss, test_accuracy = self.task.evaluate(self.test_data)
            return EpochRecord(epoch, total_loss / seen, correct / seen, test_loss,
                               test_accuracy, seconds, seen / seconds,
                               perplexity(total_loss / seen), perplexity(test_loss))
        test_loss, test_accuracy = (math.nan, math.nan) if self.test_data is None else \
            evaluate(self.model, self.test_data, self.loss_fn) if self.replicas is None else \
            self.replicas.evaluate(evaluate, self.model, self.test_data, self.loss_fn)
        return EpochRecord(epoch, total_loss / seen, correct / seen, test_loss, test_accuracy,
                           seconds, seen / seconds)

    # -- checkpoints ---------------------------------------------------------------------------
    def state(self):
        from .. import random
        return {
            "format": CHECKPOINT_FORMAT,
            # None for your own model: only your code can build it again.
            "config": None if self.config is None else self.model_config(),
            "module": type(self.model).__name__,
            "model": {name: t.numpy() for name, t in self.model.state_dict().items()},
            "optimizer": self.optimizer.state_dict(),
            "loader": self.loader.state_dict(),
            "rng": random.default_generator.bit_generator.state,
            "epoch": self.epoch,
            "step": self.step,
            "history": [asdict(r) for r in self.history],
            # What `chainrule sample` needs to turn text into tokens and back.
            **({"tokenizer": self.train_data.tokenizer.state()} if self.task else {}),
        }

    def save_checkpoint(self, path):
        from ..serialize import save_tree
        save_tree(path, self.state())
        return path

    def load_state(self, tree, path="checkpoint"):
        """Restore the model, optimizer, data order, random state, counters and history saved
        in ``tree``: all of them or, if any part is bad, none (CheckpointError naming ``path``)."""
        from .. import random
        if not isinstance(tree, dict) or tree.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path}: not a chainrule training checkpoint")
        generator = random.default_generator
        try:
            self.model.check_state_dict(tree["model"])
            self.optimizer.check_state_dict(tree["optimizer"])
            self.loader.check_state_dict(tree["loader"])
            # A fresh bit generator of the same kind refuses a bad state as ours would.
            type(generator.bit_generator)().state = tree["rng"]
            epoch, step = tree["epoch"], tree["step"]
            check_int("epoch", epoch, 0)
            check_int("step", step, 0)
            history = History(EpochRecord(**record) for record in tree["history"])
        except (KeyError, TypeError, ValueError, OverflowError) as error:
            raise CheckpointError(f"{path}: the checkpoint is incomplete or inconsistent: "
                                  f"{error}") from error
        self.model.load_state_dict(tree["model"])
        self.optimizer.load_state_dict(tree["optimizer"])
        self.loader.load_state_dict(tree["loader"])
        generator.bit_generator.state = tree["rng"]
        self.epoch, self.step, self.history = int(epoch), int(step), history

    @classmethod
    def resume(cls, path, data_dir=None, download=False, out_dir=None, **options):
        """Rebuild the run saved at ``path`` and restore its model, optimizer, data order and
        random state, so that continuing gives the same weights as an uninterrupted run."""
        from ..serialize import load_tree
        tree = load_tree(path)
        if not isinstance(tree, dict) or tree.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path}: not a chainrule training checkpoint")
        check_checkpoint(tree, path)
        try:
            config = TrainConfig.from_dict(tree["config"])
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{path}: the checkpoint's config is unusable: "
                                  f"{error}") from error
        trainer = cls(config, data_dir=data_dir, download=download,
                      out_dir=out_dir or os.path.dirname(os.path.abspath(path)), **options)
        if trainer.task is not None:
            from .language import check_tokenizer
            if check_tokenizer(tree, path).tokens != trainer.train_data.tokenizer.tokens:
                raise CheckpointError(f"{path}: the checkpoint's tokens differ from those of "
                                      f"--dataset {config.dataset} as read now")
        trainer.load_state(tree, path)
        return trainer


def _replicas(trainer):
    """This rank's part in a run over several processes (``mpiexec``), or None."""
    from ..distributed.training import attach
    return attach(trainer)


def _progress_bar(total, description, enabled):
    if not enabled:
        return None
    try:
        with warnings.catch_warnings():
            # In a notebook without ipywidgets tqdm.auto warns, then falls back to the text bar.
            warnings.simplefilter("ignore")
            from tqdm.auto import tqdm
            from tqdm.autonotebook import tqdm as chosen
            from tqdm.std import tqdm as text_bar
    except ImportError:
        return None
    if chosen is text_bar and _in_notebook():
        return None  # text frames would pile up in the cell; the epoch lines say enough
    return tqdm(total=total, desc=description, unit="batch", leave=False, dynamic_ncols=True)


def _in_notebook():
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"
