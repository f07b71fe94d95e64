"""Where chainrule answers a call that PyTorch refuses, the answer is the one the call asks for
(never a silently different number), and docs/semantics.md says so. Each difference is pinned
here: PyTorch's refusal (when torch is installed) and chainrule's documented answer."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.nn import functional as F


def _torch_refuses(call):
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        call(torch)


def test_index_put_of_another_dtype_is_refused_as_in_pytorch():
    def call(M):
        M.zeros(3, dtype=M.int64).index_put_((M.tensor([0]),), M.tensor([1.7]))
    with pytest.raises(RuntimeError, match="index_put: values of dtype float32"):
        call(cr)
    _torch_refuses(call)


def test_int32_class_labels_are_refused_as_in_pytorch():
    # Once a documented leniency; refused now, as PyTorch refuses it.
    x = np.array([[1.0, 2.0, 3.0], [0.5, 0.1, -1.0]], dtype=np.float32)
    with pytest.raises(cr.LabelError, match="int64 or uint8"):
        F.cross_entropy(cr.tensor(x), cr.tensor([2, 0], dtype=cr.int32))
    _torch_refuses(lambda M: M.nn.functional.cross_entropy(M.tensor(x),
                                                           M.tensor([2, 0], dtype=M.int32)))


def test_lerp_of_two_float_dtypes_is_refused_as_in_pytorch():
    with pytest.raises(cr.DtypeError, match="lerp"):
        cr.lerp(cr.tensor([1.0, 2.0]), cr.tensor([3.0, 4.0], dtype=cr.float64), 0.5)
    _torch_refuses(lambda M: M.lerp(M.tensor([1.0, 2.0]), M.tensor([3.0, 4.0],
                                                                   dtype=M.float64), 0.5))


def test_a_tensor_made_in_inference_mode_can_enter_a_graph_later():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with cr.inference_mode():
        c = cr.tensor([3.0, 4.0]) * 2
    (c * w).sum().backward()
    assert w.grad.tolist() == [6.0, 8.0]

    def call(M):
        weight = M.tensor([1.0, 2.0], requires_grad=True)
        with M.inference_mode():
            const = M.tensor([3.0, 4.0]) * 2
        (const * weight).sum()  # PyTorch: inference tensors cannot be saved for backward
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="[Ii]nference tensors"):
        call(torch)
