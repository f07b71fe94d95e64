"""``cr.autograd``: PyTorch's ``torch.autograd`` namespace.

It gathers names that live in several modules (the engine, tensor.py's ``grad``, the gradient
checks, ``Function``), so that the engine itself imports none of them.
"""
from .engine import (Gradient, Node, backward_pass, buffer_version, check_not_stale,  # noqa: F401
                     detect_anomaly, enable_grad, is_grad_enabled, mark_written_in_graph, mode,
                     no_grad, record_inplace_change, sum_to_shape)
from .gradcheck import gradcheck, gradgradcheck  # noqa: F401
from .tensor import grad  # noqa: F401
from .function import Function, FunctionCtx  # noqa: F401
from .grad_mode import inference_mode, is_inference_mode_enabled, set_grad_enabled  # noqa: F401
from . import autograd_functional as functional  # noqa: F401  (jacobian, hessian)
