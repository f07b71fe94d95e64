"""PyTorch's other grad-mode switches: ``set_grad_enabled`` and ``inference_mode`` (``no_grad``
and ``enable_grad`` live beside the engine, which reads the same state)."""
import functools

from .engine import mode as state


class set_grad_enabled:
    """Turn graph recording on or off (as ``torch.set_grad_enabled``): called plainly it sets the
    mode until changed again; as a context manager it restores the previous mode on exit; as a
    decorator it sets the mode while the function runs.

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> with cr.set_grad_enabled(False):
    ...     y = w * 2
    ...
    >>> y.requires_grad, cr.is_grad_enabled()
    (False, True)
    >>> _ = cr.set_grad_enabled(False)
    >>> cr.is_grad_enabled()
    False
    >>> _ = cr.set_grad_enabled(True)
    """

    def __init__(self, mode):
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled(): mode must be a bool, got "
                            f"{type(mode).__name__} {mode!r}")
        self.mode = mode
        self.previous = state.enabled
        state.enabled = mode

    def __enter__(self):
        state.enabled = self.mode

    def __exit__(self, *exc):
        state.enabled = self.previous

    def __call__(self, fn):
        state.enabled = self.previous  # as a decorator it changes nothing until fn is called
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class inference_mode:
    """Context manager and decorator for prediction (as ``torch.inference_mode``): operations
    inside record no graph, as in ``no_grad()``. ``inference_mode(False)`` turns recording on,
    as PyTorch's does, so ``inference_mode(not training)`` switches by a flag. Two differences
    from PyTorch: tensors made inside are ordinary tensors (where PyTorch refuses to use them
    later in a graph, chainrule differentiates through them), and an ``enable_grad()`` block
    inside records a graph again (PyTorch's inference mode still records none there).

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> with cr.inference_mode():
    ...     y = w * 2
    ...     print(cr.is_inference_mode_enabled())
    True
    >>> y.requires_grad
    False
    >>> @cr.inference_mode()
    ... def predict(x):
    ...     return w * x
    >>> predict(3.0).requires_grad
    False
    """

    def __new__(cls, mode=True):
        if callable(mode):  # @cr.inference_mode without parentheses
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode=True):
        self.mode = bool(mode)
        self.previous = []

    def __enter__(self):
        self.previous.append((state.enabled, state.inference))
        state.inference = self.mode
        state.enabled = not self.mode

    def __exit__(self, *exc):
        state.enabled, state.inference = self.previous.pop()

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(mode):
                return fn(*args, **kwargs)
        return wrapper


def is_inference_mode_enabled():
    """Whether code runs inside ``inference_mode()`` (as ``torch.is_inference_mode_enabled``).

    >>> cr.is_inference_mode_enabled()
    False
    """
    return state.inference
