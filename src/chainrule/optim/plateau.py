"""ReduceLROnPlateau: lower the learning rate when a metric stops improving."""
import math
import numbers

from .optimizer import Optimizer, _check_at_least, _named
from .schedulers import LRScheduler, check_state_dict


class ReduceLROnPlateau(LRScheduler):
    """Multiply each group's lr by ``factor`` once the metric passed to ``step(metric)`` has not
    improved for more than ``patience`` steps, exactly as PyTorch's (an LRScheduler, as there,
    whose ``step`` takes the metric):

    - improved means below ``best * (1 - threshold)`` (mode "min", threshold_mode "rel"),
      below ``best - threshold`` ("abs"), or above ``best * (1 + threshold)`` /
      ``best + threshold`` in mode "max";
    - after a reduction, ``cooldown`` steps pass before bad steps count again;
    - the lr never goes below ``min_lr`` (one value, or one per group), and a change smaller
      than ``eps`` is not made.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0]:
    ...     scheduler.step(loss)
    >>> scheduler.get_last_lr()
    [0.5]
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4,
                 threshold_mode="rel", cooldown=0, min_lr=0, eps=1e-8):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"ReduceLROnPlateau needs an Optimizer, got "
                            f"{type(optimizer).__name__}")
        with _named(self):
            if not factor < 1.0:
                raise ValueError(f"factor must be < 1.0, got {factor!r}")
            _check_at_least("factor", factor, 0)
            for name, value in (("patience", patience), ("cooldown", cooldown)):
                if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                    raise ValueError(f"{name} must be a non-negative int, got {value!r}")
            _check_at_least("threshold", threshold, 0)
            _check_at_least("eps", eps, 0)
            groups = len(optimizer.param_groups)
            if isinstance(min_lr, (list, tuple)):
                if len(min_lr) != groups:
                    raise ValueError(f"expected {groups} min_lrs (one per parameter group), "
                                     f"got {len(min_lr)}")
                min_lrs = list(min_lr)
            else:
                min_lrs = [min_lr] * groups
            for value in min_lrs:
                _check_at_least("min_lr", value, 0)
            _check_modes(mode, threshold_mode)
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.mode, self.factor, self.patience = mode, factor, int(patience)
        self.threshold, self.threshold_mode = threshold, threshold_mode
        self.cooldown, self.min_lrs, self.eps = int(cooldown), min_lrs, eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self, metrics):
        """Record this epoch's metric (a number or a one-element tensor) and lower the lr if
        it has stopped improving."""
        current = float(metrics.item() if hasattr(metrics, "item") else metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during a cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self):
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr

    def is_better(self, a, best):
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    @property
    def in_cooldown(self):
        """Whether the last reduction's cooldown is still running."""
        return self.cooldown_counter > 0

    _STATE = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown",
              "min_lrs", "eps", "last_epoch", "best", "cooldown_counter", "num_bad_epochs")

    def state_dict(self):
        """The options and the position (best metric, counters), as plain data."""
        state = {name: getattr(self, name) for name in self._STATE}
        state["min_lrs"] = list(self.min_lrs)
        state["last_lr"] = list(self._last_lr)
        return state

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict()`` saved."""
        check_state_dict(self, state_dict, {*self._STATE, "last_lr"},
                         per_group=("min_lrs", "last_lr"))
        with _named(self):
            _check_modes(state_dict["mode"], state_dict["threshold_mode"])
        for name in self._STATE:
            setattr(self, name, state_dict[name])
        self.min_lrs = list(self.min_lrs)
        self._last_lr = list(state_dict["last_lr"])


def _check_modes(mode, threshold_mode):
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
    if threshold_mode not in ("rel", "abs"):
        raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
