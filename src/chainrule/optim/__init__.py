"""Optimizers and learning-rate schedulers (also at ``chainrule.optim.lr_scheduler``, PyTorch's
path), following PyTorch's update formulas.

    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x, y in batches:
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()

Updates change ``p.data`` in place (no new arrays for the parameters), then bump the
parameter's version so that a graph built from the old values refuses to backward. A parameter
whose ``grad`` is None is skipped.

``state_dict()`` has PyTorch's layout, tensors keyed by parameter index (only parameters that
have been updated): {"state": {0: {"step": tensor(3.), "exp_avg": tensor(...), ...}},
"param_groups": [{"lr": 0.1, ..., "params": [0, 1]}]}; ``chainrule.save`` writes it without
pickle, and ``load_state_dict`` also takes one saved by PyTorch's optimizer of the same name.
"""
from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .asgd import ASGD
from .lr_scheduler import (ChainedScheduler, ConstantLR, CosineAnnealingLR,
                           CosineAnnealingWarmRestarts, CyclicLR, ExponentialLR, LambdaLR,
                           LinearLR, LRScheduler, MultiplicativeLR, MultiStepLR, OneCycleLR,
                           PolynomialLR, ReduceLROnPlateau, SequentialLR, StepLR)
from .nadam import NAdam, RAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .rprop import Rprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax",
           "NAdam", "RAdam", "ASGD", "Rprop", "lr_scheduler",
           "LRScheduler", "StepLR", "CosineAnnealingLR", "LambdaLR", "MultiplicativeLR",
           "ExponentialLR", "MultiStepLR", "ReduceLROnPlateau", "LinearLR", "ConstantLR",
           "PolynomialLR", "SequentialLR", "OneCycleLR", "CosineAnnealingWarmRestarts",
           "ChainedScheduler", "CyclicLR"]
