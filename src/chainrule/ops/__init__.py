"""Every operation on tensors: primitives (with their VJPs) and composites built from them."""
from .primitive import REGISTRY, Primitive, primitive
from .elementwise import (abs, add, astype, bitwise_and, bitwise_not, bitwise_or, bitwise_xor,
                          clip, div, equal, exp, greater, greater_equal, less, less_equal, log,
                          logical_and, logical_not, logical_or, logical_xor, maximum, minimum,
                          mul, neg, not_equal, pow, relu, sigmoid, sign, softplus, sqrt, sub,
                          tanh, where)
from .math import (acos, acosh, asin, asinh, atan, atan2, atanh, bitwise_left_shift,
                   bitwise_right_shift, ceil, copysign, cos, cosh, erf, exp2, expm1, floor,
                   floor_divide, fmod, frac, isclose, isfinite, isinf, isnan, lerp, log10, log1p,
                   log2, logaddexp, nan_to_num, reciprocal, remainder, round, rounded_div, rsqrt,
                   sin, sinh, square, tan, trunc)
from .reduce import all, any, max, mean, min, sum
from .scan import cumprod, cumsum, logcumsumexp, prod
from .shape import (add_at, broadcast_to, concatenate, expand_dims, flatten, getitem, index_put,
                    permute, reshape, squeeze, stack, swapaxes, take_along_axis, transpose)
from .index import (diag, diagonal, gather, index_select, masked_fill, masked_select, nonzero,
                    scatter, scatter_add, scatter_reduce, take_along_dim, tril, triu)
from .layout import (chunk, expand, flip, fliplr, flipud, meshgrid, movedim, narrow, pad, repeat,
                     repeat_interleave, roll, split, tensor_split, tile, unbind, unflatten, unfold)
from .sort import ValuesIndices, argsort, cummax, cummin, msort, sort, topk
from .linalg import einsum, matmul
from .composite import (log_softmax, logsumexp, norm, normalize, one_hot, softmax, std,
                        stop_gradient, var)
from .activations import leaky_relu
from .shrink import hardshrink, softshrink  # declares cr.hardshrink and Tensor.hardshrink
from .fused import softmax_cross_entropy
from .memory import contiguous
# Convolution, pooling and normalization (ops.conv, ops.pool, ops.normalization) load with
# chainrule.nn, which is their only user: `import chainrule` stays light.
