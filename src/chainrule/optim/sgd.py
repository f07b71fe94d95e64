"""SGD, with momentum (heavy ball or Nesterov)."""
from .optimizer import Optimizer, _check_at_least, _check_finite, switches


class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum (heavy ball or Nesterov) and L2
    weight decay, exactly as torch.optim.SGD:

        g = grad + weight_decay * w
        b = g (first step), else momentum * b + (1 - dampening) * g
        g = g + momentum * b (nesterov) or b (otherwise)
        w = w - lr * g

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.5, momentum=0.9)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.], dtype=float32, requires_grad=True)
    """

    state_keys = ("momentum_buffer",)

    # PyTorch's positional order (weight_decay before nesterov) and default lr.
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False, foreach=None, differentiable=False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay,
                                      **switches(self, maximize, foreach, fused, differentiable)))

    def check_options(self, options):
        super().check_options(options)
        _check_at_least("momentum", options["momentum"], 0)
        _check_finite("dampening", options["dampening"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum={options['momentum']!r}, "
                             f"dampening={options['dampening']!r}")

    def update(self, w, g, state, group):
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        if weight_decay != 0:
            g = g + weight_decay * w
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = g.copy()
            else:
                buffer *= momentum
                buffer += (1 - group["dampening"]) * g
            g = g + momentum * buffer if group["nesterov"] else buffer
        w -= group["lr"] * g
