"""Every operation on tensors: primitives (with their VJPs) and composites built from them."""
from .primitive import REGISTRY, Primitive, primitive
from .elementwise import (abs, add, astype, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,
                          clip, div, equal, exp, greater, greater_equal, less, less_equal, log,
                          logical_and, logical_not, logical_or, logical_xor, maximum, minimum,
                          mul, neg, not_equal, pow, relu, sign, sqrt, sub, tanh, where)
from .reduce import max, mean, min, sum
from .shape import (broadcast_to, concatenate, expand_dims, flatten, getitem, index_put, permute,
                    reshape, scatter_add, squeeze, stack, swapaxes, take_along_axis, transpose)
from .linalg import matmul
from .composite import (leaky_relu, log_softmax, logsumexp, one_hot, sigmoid, softmax, softplus,
                        std, stop_gradient, var)
from .fused import softmax_cross_entropy

__all__ = [
    "REGISTRY", "Primitive", "primitive",
    "abs", "add", "astype", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "clip", "div", "equal", "exp", "greater", "greater_equal", "less",
    "less_equal", "log", "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mul",
    "neg", "not_equal", "pow", "relu", "sign", "sqrt", "sub", "tanh", "where",
    "max", "mean", "min", "sum",
    "broadcast_to", "concatenate", "expand_dims", "flatten", "getitem", "index_put", "permute",
    "reshape", "scatter_add", "squeeze", "stack", "swapaxes", "take_along_axis", "transpose",
    "matmul",
    "leaky_relu", "log_softmax", "logsumexp", "one_hot", "sigmoid", "softmax", "softplus", "std",
    "stop_gradient", "var",
    "softmax_cross_entropy",
]
