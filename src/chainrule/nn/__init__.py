"""Neural-network building blocks: Parameter, Module, layers, losses and initialisers.

    from chainrule import nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    loss = nn.functional.cross_entropy(model(images), labels)
"""
from . import functional, init
from .functional import l2_penalty
from .layers import Dropout, Flatten, LeakyReLU, Linear, ReLU, Sigmoid, Tanh
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, MulticlassHingeLoss
from .module import IncompatibleKeys, Module, Parameter, Sequential, StateDictError

__all__ = [
    "Parameter", "Module", "Sequential", "StateDictError", "IncompatibleKeys",
    "Linear", "ReLU", "Sigmoid", "Tanh", "LeakyReLU", "Flatten", "Dropout",
    "CrossEntropyLoss", "MulticlassHingeLoss", "MSELoss", "BCEWithLogitsLoss",
    "l2_penalty", "functional", "init",
]
