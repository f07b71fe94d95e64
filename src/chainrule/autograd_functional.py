"""``cr.autograd.functional``: PyTorch's ``jacobian`` and ``hessian`` of a function, built
from ``grad`` one output element at a time (PyTorch's reverse-mode strategy). The results have
PyTorch's layout: output shape then input shape, in tuples where the inputs or outputs are
tuples.
"""
from . import ops
from .engine import enable_grad
from .errors import ArgumentError
from .tensor import Tensor, grad


def _as_tuple(what, value):
    if isinstance(value, Tensor):
        return (value,), False
    if isinstance(value, (tuple, list)) and all(isinstance(v, Tensor) for v in value):
        return tuple(value), True
    raise TypeError(f"{what} must be a Tensor or a tuple of Tensors, got "
                    f"{type(value).__name__}")


def _unpack(result, outputs_tuple, inputs_tuple):
    """PyTorch's nesting: outer over outputs, inner over inputs, a tuple only where given one."""
    if outputs_tuple and inputs_tuple:
        return tuple(result)
    if outputs_tuple:
        return tuple(per_input[0] for per_input in result)
    return result[0] if inputs_tuple else result[0][0]


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``: for an output of shape (m...) and an input of
    shape (n...), a tensor of shape (m..., n...). An output that does not depend on an input
    gives zeros (``strict=True`` raises instead); ``create_graph=True`` keeps the graph, for
    higher derivatives. ``vectorize`` changes nothing here but speed in PyTorch.

    >>> x = cr.tensor([1., 2.])
    >>> cr.autograd.functional.jacobian(lambda t: t ** 2, x)
    tensor([[2., 0.],
            [0., 4.]], dtype=float32)
    """
    if strategy != "reverse-mode":
        raise ArgumentError(f"jacobian: strategy={strategy!r} is not supported; chainrule "
                            f"computes Jacobians in reverse mode only (strategy='reverse-mode')")
    inputs, inputs_tuple = _as_tuple("jacobian: inputs", inputs)
    with enable_grad():
        inputs = tuple(x if create_graph and x.requires_grad else x.detach().requires_grad_()
                       for x in inputs)
        outputs, outputs_tuple = _as_tuple("jacobian: the function's output", func(*inputs))
        result = []
        for i, output in enumerate(outputs):
            rows = [[] for _ in inputs]
            flat = output.reshape(-1)
            for k in range(flat.numel()):
                found = (grad(flat[k], inputs, retain_graph=True, create_graph=create_graph,
                              allow_unused=True) if output.requires_grad
                         else (None,) * len(inputs))
                for j, (gradient, x) in enumerate(zip(found, inputs)):
                    if gradient is None:
                        if strict:
                            raise RuntimeError(f"Output {i} of the user-provided function is "
                                               f"independent of input {j}. This is not "
                                               f"allowed in strict mode.")
                        gradient = x.new_zeros(x.shape)
                    rows[j].append(gradient)
            result.append(tuple(
                _stack(rows[j], x).reshape(tuple(output.shape) + tuple(x.shape))
                for j, x in enumerate(inputs)))
    return _unpack(result, outputs_tuple, inputs_tuple)


def _stack(rows, x):
    return ops.stack(rows) if rows else x.new_zeros((0,) + tuple(x.shape))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of ``func``, which returns one element, at ``inputs``: for an input of
    shape (n...), a tensor of shape (n..., n...); for a tuple of inputs, a tuple of tuples
    (block [i][j] holds the second derivatives in input i and input j).

    >>> x = cr.tensor([1., 2.])
    >>> cr.autograd.functional.hessian(lambda t: (t ** 3).sum(), x)
    tensor([[ 6.,  0.],
            [ 0., 12.]], dtype=float32)
    """
    inputs, inputs_tuple = _as_tuple("hessian: inputs", inputs)

    def one_element(*args):
        output = func(*args)
        if not isinstance(output, Tensor):
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if output.numel() != 1:
            raise RuntimeError(f"The Tensor returned by the function given to hessian should "
                               f"contain a single element, got shape {tuple(output.shape)}")
        return output.reshape(())

    def gradient(*args):
        return jacobian(one_element, args, create_graph=True)

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      strategy=outer_jacobian_strategy)
    if inputs_tuple:
        return result
    return result[0][0]
