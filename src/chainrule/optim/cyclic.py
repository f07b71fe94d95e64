"""The schedulers stepped once per batch in most tutorials: OneCycleLR (up to max_lr, then down
far below the start, cycling the momentum the other way) and CosineAnnealingWarmRestarts
(cosine decays that restart, each ``T_mult`` times longer). Each lr is computed as PyTorch
computes it, so the sequences agree to the last bit.
"""
import math
import numbers

from .optimizer import _check_finite, _check_int, _named
from .schedulers import LRScheduler, one_per_group as _per_group


def _set_momentum(group, value, use_beta1):
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


def _anneal(strategy, start, end, pct):
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


class OneCycleLR(LRScheduler):
    """The 1cycle policy: the lr rises from max_lr / div_factor to ``max_lr`` over the first
    ``pct_start`` of ``total_steps`` (or ``epochs * steps_per_epoch``), then anneals to
    max_lr / div_factor / final_div_factor; the momentum (or Adam's beta1) moves between
    ``max_momentum`` and ``base_momentum`` the opposite way. Call ``step()`` after every batch;
    one step more than ``total_steps`` raises, as in PyTorch.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=0.1, momentum=0.9)
    >>> scheduler = cr.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=4)
    >>> lrs = []
    >>> for _ in range(4):
    ...     lrs.append(round(scheduler.get_last_lr()[0], 6))
    ...     scheduler.step() if len(lrs) < 4 else None
    >>> lrs
    [0.04, 0.811746, 0.283061, 4e-06]
    """

    options = ("total_steps", "anneal_strategy", "cycle_momentum", "use_beta1", "phases")
    initial_step = True

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start=0.3, anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85,
                 max_momentum=0.95, div_factor=25.0, final_div_factor=1e4, three_phase=False,
                 last_epoch=-1):
        with _named(self):
            if total_steps is not None:
                total_steps = _check_int("total_steps", total_steps, 1)
            elif epochs is not None and steps_per_epoch is not None:
                total_steps = (_check_int("epochs", epochs, 1) *
                               _check_int("steps_per_epoch", steps_per_epoch, 1))
            else:
                raise ValueError("give total_steps, or epochs and steps_per_epoch")
            _check_finite("pct_start", pct_start)
            if not 0 <= pct_start <= 1:
                raise ValueError(f"pct_start must be in [0, 1], got {pct_start!r}")
            if anneal_strategy not in ("cos", "linear"):
                raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got "
                                 f"{anneal_strategy!r}")
            max_lrs = _per_group("max_lr", max_lr, optimizer)
            if cycle_momentum:
                defaults = getattr(optimizer, "defaults", {})
                if "momentum" not in defaults and "betas" not in defaults:
                    raise ValueError(f"cycle_momentum=True needs an optimizer with momentum "
                                     f"or betas; {type(optimizer).__name__} has neither (pass "
                                     f"cycle_momentum=False)")
                max_momentums = _per_group("max_momentum", max_momentum, optimizer)
                base_momentums = _per_group("base_momentum", base_momentum, optimizer)
        self.total_steps = total_steps
        self.anneal_strategy = anneal_strategy
        self.cycle_momentum = bool(cycle_momentum)
        self.use_beta1 = cycle_momentum and "betas" in optimizer.defaults
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [
                dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * total_steps) - 2, start_lr="max_lr",
                     end_lr="initial_lr", start_momentum="base_momentum",
                     end_momentum="max_momentum"),
                dict(end_step=total_steps - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum")]
        else:
            self.phases = [
                dict(end_step=up, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=total_steps - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]
        for group, top in zip(optimizer.param_groups, max_lrs):
            group["initial_lr"] = top / div_factor
            group["max_lr"] = top
            group["min_lr"] = group["initial_lr"] / final_div_factor
        if self.cycle_momentum:
            for group, high, low in zip(optimizer.param_groups, max_momentums, base_momentums):
                _set_momentum(group, high, self.use_beta1)
                group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """Each group's lr (and momentum) on the phase that this step falls in."""
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {step} times; total_steps is "
                             f"{self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for index, phase in enumerate(self.phases):
                end = phase["end_step"]
                if step <= end or index == len(self.phases) - 1:
                    pct = (step - start) / (end - start)
                    lrs.append(_anneal(self.anneal_strategy, group[phase["start_lr"]],
                                       group[phase["end_lr"]], pct))
                    if self.cycle_momentum:
                        _set_momentum(group, _anneal(
                            self.anneal_strategy, group[phase["start_momentum"]],
                            group[phase["end_momentum"]], pct), self.use_beta1)
                    break
                start = phase["end_step"]
        return lrs

    def restart_lrs(self):
        """The lrs of step 0 (the epoch SequentialLR has just set)."""
        return self.next_lrs()


class CosineAnnealingWarmRestarts(LRScheduler):
    """Cosine decay from the base lr to ``eta_min`` over ``T_0`` epochs, then again from the
    base lr over ``T_0 * T_mult``, and so on. ``step(epoch)`` with a fractional epoch
    (``epoch + i / batches``) moves along the cosine within an epoch, as in PyTorch.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2)
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(3):
    ...     scheduler.step()
    ...     lrs.append(round(scheduler.get_last_lr()[0], 6))
    >>> lrs
    [1.0, 0.5, 1.0, 0.5]
    """

    options = ("T_0", "T_i", "T_mult", "eta_min", "T_cur")

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        with _named(self):
            _check_int("T_0", T_0, 1)
            _check_int("T_mult", T_mult, 1)
            _check_finite("eta_min", eta_min)
        self.T_0 = self.T_i = int(T_0)
        self.T_mult, self.eta_min, self.T_cur = int(T_mult), eta_min, 0
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """The lr at T_cur epochs into the current cosine of T_i epochs."""
        return [self.eta_min + (base_lr - self.eta_min) *
                (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def restart_lrs(self):
        """The lrs where the cosine stands (SequentialLR's hand-over keeps T_cur)."""
        return self.next_lrs()

    def step(self, epoch=None):
        """The next epoch, or ``epoch`` itself (an int or a fraction of the way through one)."""
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: epoch must be a "
                                 f"non-negative number, got {epoch!r}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        lrs = self.next_lrs()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs


class CyclicLR(LRScheduler):
    """The lr goes up from ``base_lr`` to ``max_lr`` over ``step_size_up`` steps and back
    over ``step_size_down`` (the same by default), again and again; ``mode`` 'triangular2'
    halves the height each cycle, 'exp_range' scales it by gamma**step, ``scale_fn`` gives
    another scale (of the cycle or, with ``scale_mode='iterations'``, of the step). The
    momentum (or Adam's beta1) goes the opposite way. Call ``step()`` after every batch.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0, momentum=0.9)
    >>> scheduler = cr.optim.lr_scheduler.CyclicLR(opt, 0.1, 0.5, step_size_up=2)
    >>> lrs = [scheduler.get_last_lr()[0]]
    >>> for _ in range(4):
    ...     scheduler.step()
    ...     lrs.append(round(scheduler.get_last_lr()[0], 6))
    >>> lrs
    [0.1, 0.3, 0.5, 0.3, 0.1]
    """

    options = ("max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode",
               "cycle_momentum", "use_beta1", "base_momentums", "max_momentums")
    initial_step = True

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None,
                 mode="triangular", gamma=1.0, scale_fn=None, scale_mode="cycle",
                 cycle_momentum=True, base_momentum=0.8, max_momentum=0.9, last_epoch=-1):
        with _named(self):
            base_lrs = _per_group("base_lr", base_lr, optimizer)
            self.max_lrs = _per_group("max_lr", max_lr, optimizer)
            up = float(step_size_up)
            down = float(step_size_down) if step_size_down is not None else up
            if not up + down > 0:
                raise ValueError(f"step_size_up + step_size_down must be positive, got "
                                 f"{up} + {down}")
            if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
                raise ValueError(f"mode must be 'triangular', 'triangular2' or 'exp_range' "
                                 f"(or give scale_fn), got {mode!r}")
            if scale_mode not in ("cycle", "iterations"):
                raise ValueError(f"scale_mode must be 'cycle' or 'iterations', got "
                                 f"{scale_mode!r}")
            self.cycle_momentum = bool(cycle_momentum)
            if self.cycle_momentum:
                defaults = getattr(optimizer, "defaults", {})
                if "momentum" not in defaults and "betas" not in defaults:
                    raise ValueError(f"cycle_momentum=True needs an optimizer with momentum "
                                     f"or betas; {type(optimizer).__name__} has neither (pass "
                                     f"cycle_momentum=False)")
                self.base_momentums = _per_group("base_momentum", base_momentum, optimizer)
                self.max_momentums = _per_group("max_momentum", max_momentum, optimizer)
        self.total_size, self.step_ratio = up + down, up / (up + down)
        self.mode, self.gamma, self.custom_scale = mode, gamma, scale_fn
        self.scale_mode = scale_mode if scale_fn is not None else (
            "iterations" if mode == "exp_range" else "cycle")
        self.use_beta1 = self.cycle_momentum and "betas" in optimizer.defaults
        for group, lr in zip(optimizer.param_groups, base_lrs):
            group["lr"] = lr
        if self.cycle_momentum:
            for group, high, low in zip(optimizer.param_groups, self.max_momentums,
                                        self.base_momentums):
                _set_momentum(group, high, self.use_beta1)
                group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x):
        """The height's scale at cycle (or step) ``x``."""
        if self.custom_scale is not None:
            return self.custom_scale(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def next_lrs(self):
        """Each group's lr (and momentum) at this step of the cycle."""
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        scale = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        at = cycle if self.scale_mode == "cycle" else self.last_epoch
        lrs = [base + (top - base) * scale * self.scale_fn(at)
               for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, low, high in zip(self.optimizer.param_groups, self.base_momentums,
                                        self.max_momentums):
                _set_momentum(group, high - (high - low) * scale * self.scale_fn(at),
                              self.use_beta1)
        return lrs

    def restart_lrs(self):
        """The lrs of step 0 (the epoch SequentialLR has just set)."""
        return self.next_lrs()
