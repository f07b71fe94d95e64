"""The warmup schedulers (LinearLR, ConstantLR), PolynomialLR, SequentialLR, which runs one
scheduler after another (a warmup, then a decay), and ChainedScheduler, which steps several
together. Each lr is computed as PyTorch computes it
(rescaling the current lr), so the sequences agree to the last bit.
"""
import bisect

from .optimizer import _check_finite, _check_int, _named
from .plateau import ReduceLROnPlateau
from .schedulers import LRScheduler, check_state_dict


def _check_fraction(name, value, low_open):
    _check_finite(name, value)
    if value > 1 or value < 0 or (low_open and value == 0):
        bound = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be in {bound}, got {value!r}")


class ConstantLR(LRScheduler):
    """The base lr times ``factor`` for the first ``total_iters`` epochs, then the base lr.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=2)
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     scheduler.step()
    ...     lrs.append(scheduler.get_last_lr()[0])
    >>> lrs
    [0.5, 0.5, 1.0, 1.0]
    """

    options = ("factor", "total_iters")
    initial_step = True

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        with _named(self):
            _check_fraction("factor", factor, low_open=True)
            _check_int("total_iters", total_iters, 0)
        self.factor, self.total_iters = factor, int(total_iters)
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """The current lr, times factor at epoch 0 and divided by it at total_iters."""
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return [lr * self.factor for lr in lrs]
        if self.last_epoch != self.total_iters:
            return lrs
        return [lr * (1.0 / self.factor) for lr in lrs]

    def restart_lrs(self):
        """The base lrs times factor (the base lrs when total_iters is 0)."""
        factor = self.factor if self.total_iters > 0 else 1.0
        return [lr * factor for lr in self.base_lrs]


class LinearLR(LRScheduler):
    """The lr goes in a straight line from base lr * ``start_factor`` to base lr *
    ``end_factor`` over ``total_iters`` epochs, then stays: the usual warmup.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     scheduler.step()
    ...     lrs.append(scheduler.get_last_lr()[0])
    >>> lrs
    [0.5, 0.75, 1.0, 1.0]
    """

    options = ("start_factor", "end_factor", "total_iters")
    initial_step = True

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5,
                 last_epoch=-1):
        with _named(self):
            _check_fraction("start_factor", start_factor, low_open=True)
            _check_fraction("end_factor", end_factor, low_open=False)
            _check_int("total_iters", total_iters, 0)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """The current lr rescaled one step along the line."""
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0:
            return [lr * self.start_factor for lr in lrs]
        if self.last_epoch > self.total_iters:
            return lrs
        change = self.end_factor - self.start_factor
        scale = 1.0 + change / (self.total_iters * self.start_factor +
                                (self.last_epoch - 1) * change)
        return [lr * scale for lr in lrs]

    def restart_lrs(self):
        """The base lrs times start_factor."""
        return [lr * self.start_factor for lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    """lr_t = base_lr * (1 - t / total_iters) ** power up to ``total_iters``, then 0.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.PolynomialLR(opt, total_iters=2, power=1.0)
    >>> scheduler.step()
    >>> scheduler.get_last_lr()
    [0.5]
    """

    options = ("total_iters", "power")

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        with _named(self):
            _check_int("total_iters", total_iters, 0)
            _check_finite("power", power)
        self.total_iters, self.power = int(total_iters), power
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """The current lr times the ratio of this epoch's decay to the last one's."""
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        t, total = self.last_epoch, self.total_iters
        if t == 0 or t > total:
            return lrs
        decay = ((1.0 - t / total) / (1.0 - (t - 1) / total)) ** self.power
        return [lr * decay for lr in lrs]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another on one optimizer, switching at each epoch in
    ``milestones``; each one starts again from the base lr when its turn comes.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> warmup = cr.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=2)
    >>> decay = cr.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    >>> scheduler = cr.optim.lr_scheduler.SequentialLR(opt, [warmup, decay], milestones=[2])
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     scheduler.step()
    ...     lrs.append(scheduler.get_last_lr()[0])
    >>> lrs
    [0.5, 0.75, 1.0, 0.5, 0.25]
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        schedulers, milestones = list(schedulers), [int(m) for m in milestones]
        if not schedulers:
            raise ValueError("SequentialLR: needs at least one scheduler")
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR: scheduler {index} is a ReduceLROnPlateau, "
                                 f"which steps on a metric; it takes epoch schedulers")
            if not isinstance(scheduler, LRScheduler) or isinstance(scheduler, SequentialLR):
                raise TypeError(f"SequentialLR: scheduler {index} is a "
                                f"{type(scheduler).__name__}; it takes epoch schedulers")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: scheduler {index} belongs to another "
                                 f"optimizer than the one given")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: {len(schedulers)} schedulers need "
                             f"{len(schedulers) - 1} milestones, got {len(milestones)}")
        super().__init__(optimizer, last_epoch)
        self.schedulers, self.milestones = schedulers, milestones
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        first = schedulers[0]
        first.last_epoch = 0
        self._set(first, first.next_lrs() if first.initial_step
                  else [group["lr"] for group in optimizer.param_groups])

    def _set(self, scheduler, lrs):
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        scheduler._last_lr = list(lrs)
        self._last_lr = list(lrs)

    def step(self):
        """Step the scheduler whose turn it is; at a milestone, start the next one afresh."""
        self.last_epoch += 1
        index = bisect.bisect_right(self.milestones, self.last_epoch)
        scheduler = self.schedulers[index]
        if index > 0 and self.milestones[index - 1] == self.last_epoch:
            scheduler.last_epoch = 0
            self._set(scheduler, scheduler.restart_lrs())
        else:
            scheduler.step()
            self._last_lr = scheduler.get_last_lr()

    def state_dict(self):
        """The epoch, the milestones and each scheduler's own state."""
        return {"last_epoch": self.last_epoch, "milestones": list(self.milestones),
                "last_lr": list(self._last_lr),
                "schedulers": [scheduler.state_dict() for scheduler in self.schedulers]}

    def load_state_dict(self, state_dict):
        """Restore a position saved by ``state_dict()``."""
        check_state_dict(self, state_dict, {"last_epoch", "milestones", "last_lr",
                                            "schedulers"}, per_group=("last_lr",))
        if len(state_dict["schedulers"]) != len(self.schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: {len(state_dict['schedulers'])} "
                             f"scheduler states for {len(self.schedulers)} schedulers")
        for scheduler, saved in zip(self.schedulers, state_dict["schedulers"]):
            scheduler.load_state_dict(saved)
        self.last_epoch = int(state_dict["last_epoch"])
        self.milestones = [int(m) for m in state_dict["milestones"]]
        self._last_lr = list(state_dict["last_lr"])


class ChainedScheduler(LRScheduler):
    """Step several schedulers of one optimizer together, each rescaling the lr the one
    before it left: a warmup multiplied into a decay, in one ``step()``.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> S = cr.optim.lr_scheduler
    >>> scheduler = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=2),
    ...                                 S.ExponentialLR(opt, gamma=0.5)])
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     scheduler.step()
    ...     lrs.append(scheduler.get_last_lr()[0])
    >>> lrs
    [0.5, 0.25, 0.25, 0.125]
    """

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if not schedulers:
            raise ValueError("ChainedScheduler: needs at least one scheduler")
        optimizer = optimizer or schedulers[0].optimizer
        for index, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"ChainedScheduler: scheduler {index} is a ReduceLROnPlateau, "
                                 f"which steps on a metric; it takes epoch schedulers")
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"ChainedScheduler: scheduler {index} is a "
                                f"{type(scheduler).__name__}; it takes epoch schedulers")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"ChainedScheduler: scheduler {index} belongs to another "
                                 f"optimizer than the others")
        self.schedulers, self.optimizer = schedulers, optimizer
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self):
        """Step every scheduler, in the order given."""
        for scheduler in self.schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Each scheduler's own state."""
        return {"last_lr": list(self._last_lr),
                "schedulers": [scheduler.state_dict() for scheduler in self.schedulers]}

    def load_state_dict(self, state_dict):
        """Restore a position saved by ``state_dict()``."""
        check_state_dict(self, state_dict, {"last_lr", "schedulers"}, per_group=("last_lr",))
        if len(state_dict["schedulers"]) != len(self.schedulers):
            raise ValueError(f"ChainedScheduler.load_state_dict: "
                             f"{len(state_dict['schedulers'])} scheduler states for "
                             f"{len(self.schedulers)} schedulers")
        for scheduler, saved in zip(self.schedulers, state_dict["schedulers"]):
            scheduler.load_state_dict(saved)
        self._last_lr = list(state_dict["last_lr"])
