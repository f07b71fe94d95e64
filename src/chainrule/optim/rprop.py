"""Rprop: a step size per weight, grown while its gradient keeps its sign and cut when it flips."""
import numbers

from ..backend import xp
from ..dtypes import step_dtype
from .optimizer import Optimizer, switches


class Rprop(Optimizer):
    """Resilient backpropagation, exactly as torch.optim.Rprop (each step size starts at lr):

        s = sign(g * g_prev);  step_size = clamp(step_size * (etaplus if s > 0, etaminus if
            s < 0, else 1), *step_sizes)
        g = 0 where s < 0 (and that 0 is remembered as g_prev), w = w - sign(g) * step_size

    >>> w = cr.tensor([1.], requires_grad=True)
    >>> opt = cr.optim.Rprop([w], lr=0.1)
    >>> (w * 2).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.9], dtype=float32, requires_grad=True)
    """

    state_keys = ("step", "prev", "step_size")

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes,
                                      **switches(self, maximize, foreach, None, differentiable,
                                                 capturable)))

    def check_options(self, options):
        super().check_options(options)
        etas, sizes = options["etas"], options["step_sizes"]
        if not _pair_of_numbers(etas) or not 0 < etas[0] < 1 < etas[1]:
            raise ValueError(f"etas must be a pair (etaminus, etaplus) with 0 < etaminus < 1 "
                             f"< etaplus, got {etas!r}")
        if not _pair_of_numbers(sizes) or not 0 <= sizes[0] <= sizes[1]:
            raise ValueError(f"step_sizes must be a pair (min, max) with 0 <= min <= max, "
                             f"got {sizes!r}")

    def update(self, w, g, state, group):
        (etaminus, etaplus), (smallest, largest) = group["etas"], group["step_sizes"]
        if not state:
            state["step"] = xp.zeros((), dtype=step_dtype())  # PyTorch's: counted in place
            state["prev"] = xp.zeros_like(w)
            state["step_size"] = xp.full_like(w, group["lr"])
        state["step"] += 1
        factor = xp.multiply(g, state["prev"], out=xp.empty_like(w))  # an array even for 0-d
        _torch_sign(factor)
        # In PyTorch's order, in the gradient's dtype: a flipped sign is found again below by
        # comparing with etaminus as stored.
        factor[factor > 0] = etaplus
        factor[factor < 0] = etaminus
        factor[factor == 0] = 1
        step_size = state["step_size"]
        step_size *= factor
        xp.clip(step_size, smallest, largest, out=step_size)
        g = xp.array(g, copy=True)
        g[factor == etaminus] = 0
        w -= _torch_sign(g.copy()) * step_size
        state["prev"][...] = g


def _torch_sign(array):
    """``array`` made its signs, in place, as PyTorch's sign: 0 for NaN, where NumPy's is NaN
    (an infinite or NaN gradient then leaves its weight and step size as PyTorch does). Not the
    ``sign`` primitive: cr.compile would record it on arrays the update made outside the ops."""
    xp.sign(array, out=array)
    array[array != array] = 0
    return array


def _pair_of_numbers(value):
    return isinstance(value, (tuple, list)) and len(value) == 2 and all(
        isinstance(x, numbers.Real) and not isinstance(x, bool) for x in value)
