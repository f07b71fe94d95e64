"""``chainrule.optim.lr_scheduler``, as ``torch.optim.lr_scheduler``: the epoch schedulers (each
``step()`` sets every parameter group's lr) and ReduceLROnPlateau, which steps on a metric.

Each is computed as PyTorch computes it (most rescale the current lr rather than recomputing
it from the base lr), so the lr sequences agree to the last bit.
"""
import numbers
from collections import Counter

from .optimizer import _check_finite, _named
from .plateau import ReduceLROnPlateau
from .schedulers import CosineAnnealingLR, LRScheduler, StepLR
from .schedulers import one_per_group as _per_group
from .sequential import ChainedScheduler, ConstantLR, LinearLR, PolynomialLR, SequentialLR
from .cyclic import CosineAnnealingWarmRestarts, CyclicLR, OneCycleLR


def _lr_lambdas(lr_lambda, optimizer):
    """One function of the epoch per parameter group (LambdaLR's and MultiplicativeLR's)."""
    functions = _per_group("lr_lambdas", lr_lambda, optimizer)
    for function in functions:
        if not callable(function):
            raise TypeError(f"lr_lambda must be a function of the epoch, got "
                            f"{type(function).__name__}")
    return functions


class LambdaLR(LRScheduler):
    """lr = base_lr * lr_lambda(epoch), with one function for every group or a list of them
    (one per group). As in PyTorch, the constructor already sets lr_lambda(0) times the base lr.
    The functions are not saved by ``state_dict()``.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.LambdaLR(opt, lambda epoch: 0.5 ** epoch)
    >>> scheduler.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    initial_step = True

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        with _named(self):
            self.lr_lambdas = _lr_lambdas(lr_lambda, optimizer)
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """Each base lr times its group's lr_lambda(epoch)."""
        return [base_lr * function(self.last_epoch)
                for function, base_lr in zip(self.lr_lambdas, self.base_lrs)]

    def restart_lrs(self):
        """Each base lr times its group's lr_lambda(0)."""
        return [base_lr * function(0)
                for function, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(LRScheduler):
    """Each step multiplies the current lr by lr_lambda(epoch).

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.MultiplicativeLR(opt, lambda epoch: 0.5)
    >>> scheduler.step(); scheduler.step()
    >>> scheduler.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        with _named(self):
            self.lr_lambdas = _lr_lambdas(lr_lambda, optimizer)
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """Each group's current lr times its lr_lambda(epoch)."""
        return [group["lr"] * function(self.last_epoch)
                for function, group in zip(self.lr_lambdas, self.optimizer.param_groups)]

    def restart_lrs(self):
        """Each group's current lr times its lr_lambda(0) (there is no closed form)."""
        return [group["lr"] * function(0)
                for function, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class ExponentialLR(LRScheduler):
    """Each step multiplies the lr by ``gamma``.

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.ExponentialLR(opt, gamma=0.1)
    >>> scheduler.step()
    >>> scheduler.get_last_lr()
    [0.1]
    """

    options = ("gamma",)

    def __init__(self, optimizer, gamma, last_epoch=-1):
        with _named(self):
            _check_finite("gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """Each group's current lr times gamma."""
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]


class MultiStepLR(LRScheduler):
    """Multiply the lr by ``gamma`` at each epoch in ``milestones`` (by gamma^n at an epoch
    listed n times).

    >>> opt = cr.optim.SGD([cr.tensor([1.], requires_grad=True)], lr=1.0)
    >>> scheduler = cr.optim.lr_scheduler.MultiStepLR(opt, milestones=[2, 4], gamma=0.1)
    >>> lrs = []
    >>> for _ in range(5):
    ...     scheduler.step()
    ...     lrs.append(scheduler.get_last_lr()[0])
    >>> [round(lr, 6) for lr in lrs]
    [1.0, 0.1, 0.1, 0.01, 0.01]
    """

    options = ("milestones", "gamma")
    initial_step = True

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        with _named(self):
            milestones = list(milestones)
            for milestone in milestones:
                if isinstance(milestone, bool) or not isinstance(milestone, numbers.Integral):
                    raise ValueError(f"milestones must be ints, got {milestone!r}")
            _check_finite("gamma", gamma)
        self.milestones = sorted(int(m) for m in milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def next_lrs(self):
        """The current lr, times gamma for each time this epoch is a milestone."""
        times = Counter(self.milestones)[self.last_epoch]
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        return [lr * self.gamma ** times for lr in lrs] if times else lrs

    def restart_lrs(self):
        """The base lrs, times gamma for each milestone at epoch 0."""
        return [lr * self.gamma ** self.milestones.count(0) for lr in self.base_lrs]


__all__ = ["LRScheduler", "StepLR", "CosineAnnealingLR", "LambdaLR", "MultiplicativeLR",
           "ExponentialLR", "MultiStepLR", "ReduceLROnPlateau", "LinearLR", "ConstantLR",
           "PolynomialLR", "SequentialLR", "OneCycleLR", "CosineAnnealingWarmRestarts",
           "ChainedScheduler", "CyclicLR"]
