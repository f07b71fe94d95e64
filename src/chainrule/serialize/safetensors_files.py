"""State dicts in and out of safetensors files, through the safetensors package's NumPy API.

Key names and layouts are PyTorch's (``0.weight`` of shape (out, in), convolution weights
(out, in/groups, kH, kW), batch norm's ``running_mean``, ``running_var`` and
``num_batches_tracked``), so a file written by ``safetensors.torch.save_file(
torch_model.state_dict(), path)`` loads into the equivalent chainrule model, and the reverse.
"""
import os
from collections import OrderedDict

# Files hold host memory whatever the compute backend is, so this module speaks NumPy directly.
import numpy as np

from chainrule.errors import CheckpointError

from .atomic import atomic_write

INSTALL_HINT = 'pip install -e ".[interop]"'


def _safetensors_numpy(operation):
    try:
        import safetensors.numpy
    except ImportError as error:
        raise ImportError(f"{operation} needs the safetensors package: {INSTALL_HINT}") from error
    return safetensors.numpy


def save_safetensors(model_or_state_dict, path, metadata=None):
    """Write a model's ``state_dict()`` (or a dict of name -> array or tensor) to a
    safetensors file at ``path``, atomically; ``metadata`` is a dict of str -> str stored in
    the file's header. Returns ``path``.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "linear.safetensors")
    >>> _ = cr.serialize.save_safetensors(cr.nn.Linear(3, 2), path, metadata={"note": "demo"})
    >>> sorted((name, array.shape) for name, array in cr.serialize.load_safetensors(path).items())
    [('bias', (2,)), ('weight', (2, 3))]
    """
    library = _safetensors_numpy("save_safetensors")
    path = os.fspath(path)
    arrays = _arrays_of(model_or_state_dict, path)
    _check_metadata(metadata, path)
    try:
        data = library.save(arrays, metadata=metadata)
    except Exception as error:  # a TypeError, or the library's own SafetensorError
        raise CheckpointError(f"cannot save safetensors file {path}: {error}") from error
    atomic_write(path, [data], what="safetensors file")
    return path


def load_safetensors(path, with_metadata=False):
    """Read a safetensors file into an ordered dict of name -> NumPy array (in the file's
    order, which safetensors sorts), ready for ``model.load_state_dict``; with ``with_metadata=True`` return
    ``(state, metadata)``, metadata being the header's dict of str -> str (or None).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "bn.safetensors")
    >>> _ = cr.serialize.save_safetensors(cr.nn.BatchNorm1d(4), path)
    >>> state = cr.serialize.load_safetensors(path)
    >>> sorted(state)
    ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    >>> cr.nn.BatchNorm1d(4).load_state_dict(state)
    IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    _safetensors_numpy("load_safetensors")
    from safetensors import safe_open
    path = os.fspath(path)
    if os.path.isdir(path):
        raise CheckpointError(f"could not read safetensors file {path}: it is a directory")
    try:
        with safe_open(path, framework="numpy") as file:
            metadata = file.metadata()
            state = OrderedDict((name, _writable(file.get_tensor(name))) for name in file.keys())
    except OSError as error:
        raise CheckpointError(f"could not read safetensors file {path}: "
                              f"{error.strerror or error}") from error
    except Exception as error:  # the library's SafetensorError: a damaged or foreign file
        raise CheckpointError(f"{path} is not a readable safetensors file: {error}") from error
    return (state, metadata) if with_metadata else state


def _writable(array):
    return array if array.flags.writeable else array.copy()


def _arrays_of(model_or_state_dict, path):
    from chainrule.nn.module import Module
    from chainrule.tensor import Tensor
    if isinstance(model_or_state_dict, Module):
        state = model_or_state_dict.state_dict()
    elif hasattr(model_or_state_dict, "items"):
        state = model_or_state_dict
    else:
        raise CheckpointError(f"cannot save safetensors file {path}: expected a Module or a "
                              f"dict of name -> array, got {type(model_or_state_dict).__name__}")
    arrays, problems = OrderedDict(), []
    for name, value in state.items():
        array = value._data if isinstance(value, Tensor) else value
        if not isinstance(name, str):
            problems.append(f"key {name!r} is not a str")
        elif not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            kind = f"dtype {array.dtype}" if isinstance(array, np.ndarray) else \
                type(value).__name__
            problems.append(f"{name} is {kind}, not a numeric array")
        else:
            # not np.ascontiguousarray: it turns a 0-d array (num_batches_tracked) into 1-d
            arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
    if problems:
        raise CheckpointError(f"cannot save safetensors file {path}: " + "; ".join(problems))
    return arrays


def _check_metadata(metadata, path):
    if metadata is None:
        return
    if not isinstance(metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise CheckpointError(f"cannot save safetensors file {path}: metadata must be a dict "
                              f"of str -> str (safetensors stores only strings), got "
                              f"{metadata!r:.200}")
