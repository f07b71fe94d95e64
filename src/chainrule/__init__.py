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
from .tensor import Tensor, as_tensor, from_numpy, grad, tensor
from .ops import (REGISTRY, Primitive, abs, add, astype, bitwise_and, bitwise_not, bitwise_or,
                  bitwise_xor, div, equal, exp, expand_dims, getitem, greater,
                  greater_equal, leaky_relu, less, less_equal, log, logical_and, logical_not,
                  logical_or, logical_xor, index_put, matmul, maximum, minimum, mul, neg, not_equal,
                  one_hot, pow, primitive, relu, add_at, sigmoid, sign,
                  softmax_cross_entropy, softplus, sqrt, stop_gradient, sub, swapaxes, tanh,
                  where)
from .functions import *  # noqa: F401,F403  (PyTorch-named functions; see functions.py)
from .functions import __all__ as _function_names
from .dtypes import as_dtype
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, normal, ones,
                       ones_like, rand, rand_like, randint, randint_like, randn, randn_like,
                       zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .check_backward import BackwardReport, check_backward

# The tools around the core load on first use (cr.inspect.explain, cr.train.Trainer, ...), so
# that `import chainrule` costs little more than importing NumPy.
_LAZY = ("nn", "optim", "data", "inspect", "models", "serialize", "train", "manual",
         "interop", "onnx")


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
from .random import default_generator, manual_seed
from .backend import xp as _xp

# PyTorch's dtype names, usable wherever a dtype is: cr.tensor([1, 2], dtype=cr.float32).
float16 = half = _xp.dtype("float16")
float32 = float = _xp.dtype("float32")
float64 = double = _xp.dtype("float64")
uint8, int8 = _xp.dtype("uint8"), _xp.dtype("int8")
int16 = short = _xp.dtype("int16")
int32 = int = _xp.dtype("int32")
int64 = long = _xp.dtype("int64")
bool = _xp.dtype("bool")

__version__ = "0.1.0"

__all__ = list(dict.fromkeys(list(_function_names) + [
    "Tensor", "tensor", "as_tensor", "from_numpy", "as_dtype", "grad",
    "arange", "empty", "empty_like", "eye", "full", "full_like", "linspace", "normal", "ones",
    "ones_like", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "zeros",
    "zeros_like", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "ChainruleError", "ShapeError", "GradientError", "AnomalyError", "FileFormatError",
    "CheckpointError", "IDXError", "LabelError", "TrainingDiverged", "GradcheckError",
    "REGISTRY", "Primitive", "primitive", "gradcheck", "gradgradcheck", "check_backward",
    "BackwardReport",
    "nn", "optim", "data", "inspect", "models", "serialize", "train", "interop", "onnx",
    "manual_seed",
    "default_generator",
    "float16", "half", "float32", "float", "float64", "double", "uint8", "int8", "int16",
    "short", "int32", "int", "int64", "long", "bool",
    "amax", "amin", "argmax", "argmin", "bitwise_and", "bitwise_not", "bitwise_or",
    "bitwise_xor", "cat", "clamp", "index_put", "logical_xor", "unsqueeze",
    "abs", "add", "astype", "broadcast_to", "clip", "concatenate", "div", "equal", "exp",
    "expand_dims", "flatten", "getitem", "greater", "greater_equal", "leaky_relu", "less",
    "less_equal", "log", "log_softmax", "logical_and", "logical_not", "logical_or", "logsumexp",
    "matmul", "max", "maximum", "mean", "min", "minimum", "mul", "neg", "not_equal", "one_hot",
    "permute", "pow", "relu", "reshape", "add_at", "sigmoid", "sign", "softmax", "softmax_cross_entropy",
    "softplus", "sqrt", "squeeze", "stack", "std", "stop_gradient", "sub", "sum", "swapaxes",
    "tanh", "transpose", "var", "where",
]))
