"""chainrule: forward propagation, backward propagation and the computational graph, in NumPy.

    import chainrule as cr
    w = cr.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    w.grad  # tensor([[2., 4.]], dtype=float32)
"""
from .engine import detect_anomaly, enable_grad, is_grad_enabled, no_grad
from .errors import (AnomalyError, ArgumentError, ChainruleError, CheckpointError, DimError,
                     DtypeError, FileFormatError, GradientError, IDXError, IntegerDivisionError,
                     LabelError, ScatterIndexError, ShapeError, TrainingDiverged)
from .tensor import Tensor, as_tensor, from_numpy, grad, tensor
from .ops import REGISTRY, Primitive, primitive
from .public import attach_methods as _attach_methods, namespace as _declared
from . import functions as _functions  # noqa: F401  (declares the public ops: see public.py)
from . import numpy_protocol as _numpy_protocol  # noqa: F401  (np.sin(t): Tensor's protocol)
from . import stats as _stats  # noqa: F401  (median, unique, histc, histogram)
from . import more_functions as _more  # noqa: F401  (nansum, index_add, bernoulli)
from . import products as _products  # noqa: F401  (mv, addmm, addcmul, trace, kron, diff ...)
from . import more_math as _more_math  # noqa: F401  (elementwise and special functions)
from . import more_indexing as _more_indexing  # noqa: F401  (reductions, selections)
from . import more_linalg as _more_linalg  # noqa: F401  (matrix functions, random fills)
from . import triangle_indices as _triangle_indices  # noqa: F401  (tril_indices, triu_indices)
from . import linalg  # noqa: F401  (cr.linalg.norm, vector_norm, matrix_norm)
from . import special  # noqa: F401  (cr.special: torch.special's names; cr.erfinv)
from .dtypes import as_dtype, get_default_dtype, set_default_dtype
from .creation import (arange, empty, empty_like, eye, full, full_like, linspace, logspace,
                       normal, ones, ones_like, rand, rand_like, randint, randint_like, randn,
                       randn_like, zeros, zeros_like)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import autograd  # noqa: F401  (cr.autograd: the spellings of torch.autograd)
from .grad_mode import inference_mode, is_inference_mode_enabled, set_grad_enabled
from .check_backward import BackwardReport, check_backward
from .device import DeviceError, device, get_default_device, set_default_device
from .size import Size
from . import cuda  # noqa: F401  (cr.cuda.is_available(): False; a few lines, no imports)

# The tools around the core load on first use (cr.inspect.explain, cr.train.Trainer, ...), so
# that `import chainrule` costs little more than importing NumPy.
_LAZY = ("nn", "optim", "data", "inspect", "models", "serialize", "train", "manual",
         "interop", "onnx", "utils", "compile")  # cr.compile(fn): the package is callable


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    if name in ("save", "load"):  # cr.save/cr.load, from the serialize package on first use
        from .serialize import objects
        globals()[name] = getattr(objects, name)
        return globals()[name]
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
from .random import (Generator, default_generator, get_rng_state, initial_seed, manual_seed,
                     seed, set_rng_state)
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

__all__ = list(dict.fromkeys([
    "Tensor", "tensor", "as_tensor", "from_numpy", "as_dtype", "grad", "get_default_dtype",
    "set_default_dtype",
    "arange", "empty", "empty_like", "eye", "full", "full_like", "linspace", "logspace",
    "normal", "ones", "ones_like", "rand", "rand_like", "randint", "randint_like", "randn", "randn_like", "zeros",
    "zeros_like", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "set_grad_enabled", "inference_mode", "is_inference_mode_enabled", "autograd",
    "ChainruleError", "ShapeError", "DimError", "DtypeError", "ArgumentError",
    "ScatterIndexError", "IntegerDivisionError", "GradientError", "AnomalyError",
    "FileFormatError",
    "CheckpointError", "IDXError", "LabelError", "TrainingDiverged", "GradcheckError",
    "REGISTRY", "Primitive", "primitive", "gradcheck", "gradgradcheck", "check_backward",
    "BackwardReport",
    "nn", "optim", "data", "inspect", "models", "serialize", "train", "interop", "onnx", "linalg",
    "special",
    "manual_seed",
    "default_generator", "Generator", "randperm", "multinomial", "save", "load", "utils",
    "seed", "initial_seed", "get_rng_state", "set_rng_state",
    "float16", "half", "float32", "float", "float64", "double", "uint8", "int8", "int16",
    "short", "int32", "int", "int64", "long", "bool",
    "device", "DeviceError", "get_default_device", "set_default_device", "Size", "cuda",
] + sorted(_declared())))

# Every public op under its names and aliases, as declared once beside it (chainrule/public.py).
# A declared name that this module already defines is an error, never a silent replacement.
_clashes = sorted(set(_declared()) & set(globals()))
if _clashes:
    raise ImportError(f"chainrule: declared ops clash with names defined here: {_clashes}")
globals().update(_declared())
_attach_methods(Tensor)
