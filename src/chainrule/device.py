"""Device names, as PyTorch spells them: chainrule computes with NumPy on the CPU, so ``"cpu"``
is the one device that holds tensors. Other device names parse (``cr.device("cuda")`` works, as
``torch.device("cuda")`` does on a machine without a GPU), and using one to hold a tensor raises
a DeviceError that says so, instead of quietly computing somewhere else.
"""
from .errors import ChainruleError

_KNOWN_TYPES = ("cpu", "cuda", "mps", "xpu", "xla", "meta", "hip", "mtia", "privateuseone")


class DeviceError(ChainruleError, RuntimeError):
    """A tensor was asked to live on a device chainrule does not have (only ``"cpu"``).

    >>> cr.zeros(2, device="cuda")
    Traceback (most recent call last):
        ...
    chainrule.device.DeviceError: zeros(device='cuda'): chainrule computes with NumPy on the CPU only; use device='cpu' (or leave device out), and cr.cuda.is_available() to choose at run time
    """


class device:
    """A device name, as ``torch.device``: ``device("cpu")``, ``device("cuda", 0)``,
    ``device("cuda:1")``. Only the CPU can hold chainrule tensors.

    >>> cr.device("cpu")
    device(type='cpu')
    >>> cr.device("cuda:1").index
    1
    >>> cr.tensor([1.]).device == cr.device("cpu")
    True
    """

    __slots__ = ("type", "index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError("device(): an index cannot be given with a device")
            type, index = type.type, type.index
        elif isinstance(type, str):
            type, index = _parse(type, index)
        else:
            raise TypeError(f"device(): expected a device name such as 'cpu', got "
                            f"{_type_name(type)} {type!r}")
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "index", index)

    def __setattr__(self, name, value):
        raise AttributeError("a device cannot be changed")

    def __repr__(self):
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        # A string is not a device, as in PyTorch: device("cpu") == "cpu" is False.
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __enter__(self):
        """``with cr.device("cpu"):`` makes tensors on the CPU, as they always are; another
        device raises a DeviceError."""
        check_device(self, "with device")
        return self

    def __exit__(self, *exc):
        return None

    def __hash__(self):
        return hash((self.type, self.index))


def _type_name(value):
    return type(value).__name__


def _parse(name, index):
    text, _, number = name.strip().partition(":")
    if text not in _KNOWN_TYPES:
        raise DeviceError(f"device({name!r}): expected one of {', '.join(_KNOWN_TYPES)} at the "
                          f"start of the device name (chainrule itself computes on 'cpu')")
    if number:
        if index is not None:
            raise DeviceError(f"device({name!r}, {index}): the index is given twice")
        if not number.isdigit():
            raise DeviceError(f"device({name!r}): the index after ':' must be a "
                              f"non-negative int")
        index = int(number)
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)
                              or index < 0):
        raise DeviceError(f"device({name!r}, {index!r}): the index must be a non-negative int")
    return text, index


CPU = device("cpu")


def is_device(value):
    """Whether ``value`` names a device (a ``device``, or a string such as ``"cpu"``,
    ``"cuda:0"``), as opposed to a dtype."""
    if isinstance(value, device):
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return True  # a CUDA ordinal, as PyTorch reads t.to(0)
    return isinstance(value, str) and value.strip().partition(":")[0] in _KNOWN_TYPES


def check_device(value, where):
    """``value`` (None, a device or a device name) as the CPU device; any other device is
    refused with a DeviceError naming ``where`` (e.g. ``"zeros"``)."""
    if value is None:
        return CPU
    if isinstance(value, int) and not isinstance(value, bool):
        value = device("cuda", value)  # PyTorch reads a bare int as a CUDA ordinal
    if not isinstance(value, device):
        if not isinstance(value, str):
            raise TypeError(f"{where}(device=...): expected a device or a device name such as "
                            f"'cpu', got {_type_name(value)} {value!r}")
        value = device(value)
    if value.type != "cpu" or value.index not in (None, 0):
        raise DeviceError(f"{where}(device={str(value)!r}): chainrule computes with NumPy on "
                          f"the CPU only; use device='cpu' (or leave device out), and "
                          f"cr.cuda.is_available() to choose at run time")
    return CPU


def set_default_device(device):
    """Set the device that new tensors are made on: only ``"cpu"`` (or None) is accepted,
    since the CPU is where chainrule computes; anything else raises a DeviceError.

    >>> cr.set_default_device("cpu")
    >>> cr.get_default_device()
    device(type='cpu')
    """
    check_device(device, "set_default_device")


def get_default_device():
    """The device new tensors are made on: always the CPU.

    >>> cr.get_default_device()
    device(type='cpu')
    """
    return CPU


__all__ = ["device", "DeviceError", "set_default_device", "get_default_device"]
