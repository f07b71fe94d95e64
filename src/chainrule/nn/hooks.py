"""Module hooks, as PyTorch's: functions called before and after a module's forward, and when
the gradient with respect to its input has been computed.

A module keeps its hooks in one ``ModuleHooks`` object, made at the first registration, so a
module without hooks pays one attribute check per call.
"""
import warnings
from collections import OrderedDict
from itertools import count

from ..autograd import mode
from ..errors import ChainruleError
from ..tensor import Tensor

_ids = count()


class BackwardHookError(ChainruleError, RuntimeError):
    """A full backward hook cannot be given PyTorch's answer for this call (a module returning
    several tensors, or called with several tensors while one requires grad), or the module
    changed its hooked input in place, which PyTorch refuses too.

    >>> issubclass(cr.nn.BackwardHookError, RuntimeError)
    True
    """


class RemovableHandle:
    """What a ``register_*_hook`` call returns: ``remove()`` unregisters the hook (a second
    ``remove()`` does nothing); ``with handle:`` removes it at the end of the block.

    >>> layer = cr.nn.Linear(2, 2)
    >>> handle = layer.register_forward_hook(lambda module, args, output: cr.zeros(1, 2))
    >>> layer(cr.ones(1, 2))
    tensor([[0., 0.]], dtype=float32)
    >>> handle.remove()
    >>> bool((layer(cr.ones(1, 2)) == 0).all())
    False
    """

    def __init__(self, hooks):
        self.id = next(_ids)
        self._hooks = hooks

    def remove(self):
        """Unregister the hook."""
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove()


class ModuleHooks:
    """The hooks of one module, each an ordered dict from handle id to (hook, with_kwargs)."""

    def __init__(self):
        self.forward_pre = OrderedDict()
        self.forward = OrderedDict()
        self.backward = OrderedDict()
        self.backward_pre = OrderedDict()

    def add(self, kind, hook, prepend=False, with_kwargs=False):
        if not callable(hook):
            raise TypeError(f"a hook must be callable, got {type(hook).__name__}")
        hooks = getattr(self, kind)
        handle = RemovableHandle(hooks)
        hooks[handle.id] = (hook, with_kwargs)
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def __bool__(self):
        return bool(self.forward_pre or self.forward or self.backward or self.backward_pre)

    def call(self, module, args, kwargs):
        """Run ``module`` on ``args`` and ``kwargs`` with its hooks, in PyTorch's order:
        forward pre-hooks, the backward hook's input side, forward, forward hooks, the backward
        hook's output side."""
        for hook, with_kwargs in list(self.forward_pre.values()):
            if with_kwargs:
                result = hook(module, args, kwargs)
                if result is not None:
                    args, kwargs = _pair(result)
            else:
                result = hook(module, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward = hooked_input = None
        if (self.backward or self.backward_pre) and mode.enabled:
            backward = _BackwardHook(module, list(self.backward.values()),
                                     list(self.backward_pre.values()))
            args = backward.wrap_inputs(args)
            if backward.position is not None:
                hooked_input = (args[backward.position], args[backward.position].node)
        output = module._forward_in_scope(args, kwargs)
        if hooked_input is not None and hooked_input[0].node is not hooked_input[1]:
            raise BackwardHookError(
                f"register_full_backward_hook: {backward.name} changed its input in place (an "
                f"inplace=True activation?); its gradient with respect to the input is then "
                f"not defined, and PyTorch refuses it too. Use inplace=False.")
        for hook, with_kwargs in list(self.forward.values()):
            if with_kwargs:
                result = hook(module, args, kwargs, output)
            else:
                result = hook(module, args, output)
            if result is not None:
                output = result
        if backward is not None:
            output = backward.wrap_output(output)
        return output


def _pair(result):
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise TypeError(f"a forward pre-hook registered with with_kwargs=True must return None "
                        f"or (args, kwargs), got {type(result).__name__}")
    args, kwargs = result
    return (args if isinstance(args, tuple) else (args,)), kwargs


class _BackwardHook:
    """One call's full backward hooks: an identity node in front of the tensor input and one
    behind the output, so the hooks see the gradient with respect to the module's own input
    (not the input's total gradient) and with respect to its output, as PyTorch's
    ``BackwardHook`` does. It holds no tensor of the graph, so the nodes that hold it (through
    their tensor hooks) make no reference cycle."""

    def __init__(self, module, hooks, pre_hooks):
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.name = type(module).__name__
        self.position = None  # which argument is the tensor that requires grad
        self.inputs = 0
        self.grad_output = None

    def wrap_inputs(self, args):
        tensors = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        self.inputs = len(args)
        if not self.hooks or not any(args[i].requires_grad for i in tensors):
            return args  # pre-hooks alone need only the output side
        if len(tensors) > 1:
            raise BackwardHookError(
                f"register_full_backward_hook: {self.name} was called with {len(tensors)} "
                f"tensor arguments; chainrule's full backward hooks support one tensor input "
                f"(PyTorch would give a gradient for each)")
        self.position = tensors[0]
        wrapped = _identity(args[self.position])
        wrapped.register_hook(self._on_input_gradient)
        return args[:self.position] + (wrapped,) + args[self.position + 1:]

    def wrap_output(self, output):
        if not isinstance(output, Tensor):
            raise BackwardHookError(
                f"register_full_backward_hook: {self.name} returned a "
                f"{type(output).__name__}; chainrule's full backward hooks support modules that "
                f"return one tensor")
        if not output.requires_grad:
            return output
        wrapped = _identity(output)
        wrapped.register_hook(self._on_output_gradient)
        return wrapped

    def _on_output_gradient(self, grad):
        grad_output = (grad,)
        for hook, _ in self.pre_hooks:
            result = hook(self.module, grad_output)
            if result is not None:
                grad_output = self._checked(result, 1, "pre-hook", "output")
        self.grad_output = grad_output
        if self.position is None and self.hooks:
            warnings.warn("Full backward hook is firing when gradients are computed with respect "
                          "to module outputs since no inputs require gradients", UserWarning,
                          stacklevel=2)
            self._run((None,) * self.inputs)
        return self._same_shape(grad_output[0], grad, "output")

    def _on_input_gradient(self, grad):
        grad_input = tuple(grad if i == self.position else None for i in range(self.inputs))
        result = self._run(grad_input)[self.position]
        self.grad_output = None
        return self._same_shape(result, grad, "input")

    def _run(self, grad_input):
        for hook, _ in self.hooks:
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                grad_input = self._checked(result, len(grad_input), "hook", "argument")
        return grad_input

    def _same_shape(self, replacement, grad, what):
        shape = getattr(replacement, "shape", None)
        if replacement is not None and tuple(shape or ()) != tuple(grad.shape):
            raise BackwardHookError(
                f"a backward hook of {self.name} returned a gradient of shape "
                f"{tuple(shape or ())} for its {what} of shape {tuple(grad.shape)}")
        return replacement

    def _checked(self, result, expected, kind, per):
        result = result if isinstance(result, tuple) else (result,)
        if len(result) != expected:
            raise BackwardHookError(
                f"a full backward {kind} of {self.name} returned {len(result)} gradients, "
                f"expected {expected} (one per {per})")
        return result


def _identity(tensor):
    # A reshape to the same shape: a new node that passes the gradient through, on a view
    # of the same memory.
    return tensor.reshape(tensor.shape)


__all__ = ["RemovableHandle", "ModuleHooks", "BackwardHookError"]
