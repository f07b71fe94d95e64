"""chainrule: forward propagation, backward propagation and the computational graph, in NumPy.

    import chainrule as cr
    w = cr.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    w.grad  # tensor([[2., 4.]], dtype=float32)
"""
from .autograd import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .errors import (AnomalyError, ChainruleError, CheckpointError, FileFormatError,
                     GradientError, IDXError, LabelError, ShapeError, TrainingDiverged)
from .tensor import Tensor, grad, tensor
from .ops import (REGISTRY, Primitive, abs, add, astype, broadcast_to, clip, concatenate, div,
                  equal, exp, expand_dims, flatten, getitem, greater, greater_equal, leaky_relu,
                  less, less_equal, log, log_softmax, logical_and, logical_not, logical_or,
                  logsumexp, matmul, max, maximum, mean, min, minimum, mul, neg, not_equal,
                  one_hot, permute, pow, primitive, relu, reshape, scatter_add, sigmoid, sign,
                  softmax,
                  softmax_cross_entropy, softplus, sqrt, squeeze, stack, std, stop_gradient, sub,
                  sum, swapaxes, tanh, transpose, var, where)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .check_backward import BackwardReport, check_backward
from . import nn, optim  # noqa: E402  (after the core: nn builds on the ops and Tensor)
from . import data, inspect, models, serialize, train  # noqa: E402
from .random import default_generator, manual_seed

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "grad", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "ChainruleError", "ShapeError", "GradientError", "AnomalyError", "FileFormatError",
    "CheckpointError", "IDXError", "LabelError", "TrainingDiverged", "GradcheckError",
    "REGISTRY", "Primitive", "primitive", "gradcheck", "gradgradcheck", "check_backward",
    "BackwardReport",
    "nn", "optim", "data", "inspect", "models", "serialize", "train", "manual_seed",
    "default_generator",
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "div", "equal", "exp",
    "expand_dims", "flatten", "getitem", "greater", "greater_equal", "leaky_relu", "less",
    "less_equal", "log", "log_softmax", "logical_and", "logical_not", "logical_or", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "not_equal", "one_hot",
    "permute", "pow", "relu", "reshape", "scatter_add", "sigmoid", "sign", "softmax", "softmax_cross_entropy",
    "softplus", "sqrt", "squeeze", "stack", "std", "stop_gradient", "sub", "sum", "swapaxes",
    "tanh", "transpose", "var", "where",
]
