"""Learning-rate schedulers: each ``step()`` sets every parameter group's lr."""
import math

from .optimizer import Optimizer, _check_finite, _check_positive_int, _named


class LRScheduler:
    """Base class: ``step()`` once per epoch sets each group's lr; ``get_last_lr()`` reads it.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.StepLR(opt, step_size=1, gamma=0.5)
    >>> scheduler.step()
    >>> scheduler.get_last_lr()
    [0.5]
    """

    options = ()  # the constructor arguments that state_dict saves
    # Whether epoch 0 can differ from the base lr (LambdaLR's lr_lambda(0), a milestone at 0):
    # then the constructor applies it, as PyTorch's does.
    initial_step = False

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__} needs an Optimizer, got "
                            f"{type(optimizer).__name__}")
        if last_epoch != -1:
            raise ValueError(f"{type(self).__name__}: last_epoch={last_epoch!r} is not "
                             f"supported; to resume, make the scheduler with last_epoch=-1 and "
                             f"call load_state_dict() with its saved state")
        self.optimizer = optimizer
        # As in PyTorch, the first scheduler made on an optimizer records each group's lr as
        # 'initial_lr', and every later one (a warmup, then a decay) starts from it.
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        if self.initial_step:
            self._last_lr = self.next_lrs()
            for group, lr in zip(self.optimizer.param_groups, self._last_lr):
                group["lr"] = lr

    def step(self):
        """Move to the next epoch: set each group's lr from ``next_lrs()``.

        >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
        >>> scheduler = cr.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
        >>> scheduler.step()
        >>> opt.param_groups[0]["lr"]
        0.5
        """
        self.last_epoch += 1
        lrs = self.next_lrs()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    def next_lrs(self):
        """The lr of each parameter group for the epoch now starting; subclasses define it."""
        raise NotImplementedError

    def restart_lrs(self):
        """The lrs at epoch 0 from the base lrs (PyTorch's closed form), where SequentialLR
        hands over to this scheduler; schedulers whose epoch 0 is not the base lr override it."""
        return list(self.base_lrs)

    def get_last_lr(self):
        """The lr of each parameter group as last set."""
        return list(self._last_lr)

    def state_dict(self):
        """The scheduler's position (epoch and base lrs), for checkpoints."""
        state = {"last_epoch": self.last_epoch, "base_lrs": list(self.base_lrs),
                 "last_lr": list(self._last_lr)}
        state.update({name: getattr(self, name) for name in self.options})
        return state

    def load_state_dict(self, state_dict):
        """Restore a position saved by ``state_dict()``."""
        check_state_dict(self, state_dict, {"last_epoch", "base_lrs", "last_lr", *self.options},
                         per_group=("base_lrs", "last_lr"))
        self.last_epoch = int(state_dict["last_epoch"])
        self.base_lrs = list(state_dict["base_lrs"])
        self._last_lr = list(state_dict["last_lr"])
        for name in self.options:
            setattr(self, name, state_dict[name])


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.StepLR(opt, step_size=2, gamma=0.1)
    >>> for _ in range(2):
    ...     scheduler.step()
    ...
    >>> opt.param_groups[0]['lr']
    0.1
    """

    options = ("step_size", "gamma")

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        with _named(self):
            _check_positive_int("step_size", step_size)
            _check_finite("gamma", gamma)
        super().__init__(optimizer, last_epoch)
        self.step_size = int(step_size)
        self.gamma = gamma

    def next_lrs(self):
        """The base lr times gamma for each step_size epochs passed."""
        # Multiplying the current lr (rather than base_lr * gamma^k) gives PyTorch's values
        # to the last bit.
        decay = self.gamma if self.last_epoch % self.step_size == 0 else 1
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return [lr * decay for lr in lrs] if decay != 1 else lrs


class CosineAnnealingLR(LRScheduler):
    """lr_t = eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2, computed as
    PyTorch does: each step rescales the current lr, so changes made to it by hand carry on.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.CosineAnnealingLR(opt, T_max=2)
    >>> scheduler.step()
    >>> scheduler.get_last_lr()
    [0.5]
    """

    options = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max, eta_min=0, last_epoch=-1):
        with _named(self):
            _check_positive_int("T_max", T_max)
            _check_finite("eta_min", eta_min)
        super().__init__(optimizer, last_epoch)
        self.T_max = int(T_max)
        self.eta_min = eta_min

    def next_lrs(self):
        """The lr on the cosine from the base lr down to eta_min over T_max epochs."""
        t, period, eta_min = self.last_epoch, self.T_max, self.eta_min
        lrs = []
        for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups):
            if (t - 1 - period) % (2 * period) == 0:
                # Just past the minimum the ratio below would divide by zero: step up directly.
                lr = group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / period)) / 2
            else:
                ratio = (1 + math.cos(math.pi * t / period)) / (1 + math.cos(math.pi * (t - 1) / period))
                lr = ratio * (group["lr"] - eta_min) + eta_min
            lrs.append(lr)
        return lrs


def one_per_group(name, value, optimizer):
    """``value`` once per parameter group, or the list given (one per group)."""
    groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != groups:
            raise ValueError(f"expected {groups} {name} (one per parameter group), got "
                             f"{len(value)}")
        return list(value)
    return [value] * groups


def check_state_dict(scheduler, state_dict, expected, per_group):
    """Refuse a scheduler state that is not ``scheduler``'s own: other keys, or per-group lists
    whose length is not its optimizer's number of parameter groups."""
    name = f"{type(scheduler).__name__}.load_state_dict"
    if not isinstance(state_dict, dict) or set(state_dict) != expected:
        keys = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
        raise ValueError(f"{name}: got keys {keys}, expected {sorted(expected)}")
    groups = len(scheduler.optimizer.param_groups)
    for key in per_group:
        if len(state_dict[key]) != groups:
            raise ValueError(f"{name}: {key} has {len(state_dict[key])} entries for {groups} "
                             f"parameter groups")
