"""Parameters as one flat vector and back, as torch.nn.utils.parameters_to_vector and
vector_to_parameters."""
from ...ops import concatenate
from ...tensor import Tensor


def parameters_to_vector(parameters):
    """Every parameter flattened and joined into one vector (differentiable, like any cat).

    >>> layer = cr.nn.Linear(3, 2)
    >>> cr.nn.utils.parameters_to_vector(layer.parameters()).numel()
    8
    """
    flat = [p.reshape(-1) for p in _tensors(parameters, "parameters_to_vector")]
    return concatenate(flat)


def vector_to_parameters(vec, parameters):
    """Make each parameter a view of its slice of ``vec``, in order (as PyTorch's, which sets
    ``param.data``): the parameters then share ``vec``'s memory. Elements of ``vec`` beyond
    the parameters' total size are ignored, as in PyTorch.

    >>> layer = cr.nn.Linear(2, 1)
    >>> cr.nn.utils.vector_to_parameters(cr.arange(3.0), layer.parameters())
    >>> layer.weight, layer.bias
    (Parameter containing:
    tensor([[0., 1.]], dtype=float32, requires_grad=True), Parameter containing:
    tensor([2.], dtype=float32, requires_grad=True))
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected a Tensor, got {type(vec).__name__}")
    parameters = _tensors(parameters, "vector_to_parameters")
    needed = sum(p.numel() for p in parameters)
    if vec.ndim != 1 or vec.shape[0] < needed:
        raise ValueError(f"vector_to_parameters: the parameters need a vector of {needed} "
                         f"elements, got shape {tuple(vec.shape)}")
    start = 0
    for p in parameters:
        size = p.numel()
        p._data = vec._data[start:start + size].reshape(p.shape)
        p._bump_version()
        start += size


def _tensors(parameters, name):
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for index, p in enumerate(parameters):
        if not isinstance(p, Tensor):
            raise TypeError(f"{name}: parameter {index} is a {type(p).__name__}, not a Tensor")
    return parameters
