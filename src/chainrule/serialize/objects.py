"""``cr.save(obj, f)`` and ``cr.load(f)``, as ``torch.save``/``torch.load(weights_only=True)``,
in chainrule's checksummed, pickle-free file format.

What can be saved is what PyTorch's ``weights_only=True`` loads: tensors (and Parameters),
NumPy arrays and scalars, None, bool, int, float, str, dtypes, devices, Sizes, and dicts
(OrderedDicts too, keys of those scalar types), lists and tuples nesting them. The tensors'
bytes go into the file's arrays, everything else into its JSON header, with tags that bring
back each value's type: a tuple comes back a tuple, an int key an int key. A tensor that
appears twice comes back as one tensor; two different views of one memory come back as two
separate tensors. Anything else is refused when saving, naming where it sits in ``obj``.
"""
import collections
import math
import os
import sys

import numpy as np

from chainrule.errors import CheckpointError

from .format import ALLOWED_DTYPES, MAX_TREE_DEPTH
from .read import load as load_arrays
from .write import _save_checked_meta

_FORMAT = "chainrule.save"
_VERSION = 1
_LARGEST_PLAIN_INT = 2**53
_NON_FINITE = ("nan", "inf", "-inf")
_KEY_TYPES = (type(None), bool, int, float, str)
_ALLOWED = ("tensors, Parameters, numpy arrays and scalars, None, bool, int, float, str, dtypes, "
            "devices, Sizes, and dicts, lists and tuples of them")


def save(obj, f):
    """Write ``obj`` (a state_dict, a checkpoint dict, a tensor, ...) to the path ``f``,
    atomically, as ``torch.save`` but without pickle: see this module for what it holds.

    >>> model = cr.nn.Linear(2, 1)
    >>> cr.save({"model": model.state_dict(), "epoch": 3}, "ckpt.pt")
    >>> checkpoint = cr.load("ckpt.pt")
    >>> checkpoint["epoch"], checkpoint["model"]["weight"].shape
    (3, cr.Size([1, 2]))
    >>> import os; os.remove("ckpt.pt")
    """
    path = _path(f, "save")
    arrays, seen = {}, {}
    meta = {"format": _FORMAT, "version": _VERSION,
            "object": _Encoder(path, arrays, seen).encode(obj, "obj", 0, set())}
    _save_checked_meta(path, arrays, meta)


def load(f, map_location=None, pickle_module=None, *, weights_only=True, mmap=None,
         **pickle_load_args):
    """Read what ``save`` wrote to the path ``f``: tensors keep their dtype, shape and
    ``requires_grad``, containers their type. ``map_location`` may be None, the CPU (a
    device, "cpu", or a dict mapping devices to "cpu"), or a function called as PyTorch calls
    it, with each tensor and "cpu" (``lambda storage, loc: storage`` keeps it); another device
    raises. ``weights_only`` may be True or False and changes nothing, since the file holds no
    code to run.

    >>> cr.save([cr.tensor([1, 2]), (2.5, None)], "obj.pt")
    >>> cr.load("obj.pt", map_location="cpu")
    [tensor([1, 2], dtype=int64), (2.5, None)]
    >>> import os; os.remove("obj.pt")
    """
    path = _path(f, "load")
    if pickle_module is not None or pickle_load_args:
        raise TypeError("cr.load: chainrule files never use pickle; pickle_module and pickle "
                        "arguments are not accepted")
    if weights_only not in (True, False, None):
        raise TypeError(f"cr.load: weights_only must be a bool, got {weights_only!r}")
    if mmap:
        raise ValueError("cr.load: mmap=True is not supported; chainrule reads the file into "
                         "memory and checks its checksum")
    _check_map_location(map_location)
    try:
        arrays, meta = load_arrays(path)
    except CheckpointError as error:
        if _written_by_torch(path):
            raise CheckpointError(
                f"{error}; this looks like a file from torch.save, which holds a pickle that "
                f"chainrule never runs: load it with torch.load(weights_only=True) and pass "
                f"the tensors' .numpy() arrays to cr.tensor (or a state_dict of them to "
                f"load_state_dict)") from error
        raise
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise CheckpointError(f"{path}: not a file written by cr.save (for checkpoints written "
                              f"by save_tree, use chainrule.serialize.load_tree)")
    if meta.get("version") != _VERSION:
        raise CheckpointError(f"{path}: written by cr.save version {meta.get('version')!r}; "
                              f"this chainrule reads version {_VERSION}")
    decoder = _Decoder(path, arrays, map_location)
    obj = decoder.decode(meta.get("object"), 0)
    unused = sorted(set(arrays) - decoder.used)
    if unused:
        raise CheckpointError(f"{path}: arrays {unused[:5]} are not referenced by the object "
                              f"in the header")
    return obj


def _written_by_torch(path):
    try:
        with open(path, "rb") as file:
            start = file.read(2)
    except OSError:
        return False
    # torch.save writes a zip archive; its legacy format is a bare pickle (protocol 2 or more).
    return start == b"PK" or (len(start) == 2 and start[0] == 0x80 and 2 <= start[1] <= 5)


def _path(f, where):
    if isinstance(f, (str, os.PathLike)):
        return os.fspath(f)
    raise TypeError(f"cr.{where}: f must be a path (str or os.PathLike), got "
                    f"{type(f).__name__}; chainrule writes files atomically by renaming, so it "
                    f"takes paths rather than file objects")


def _check_map_location(map_location):
    from chainrule.device import check_device
    if map_location is None or callable(map_location):
        return
    targets = map_location.values() if isinstance(map_location, dict) else [map_location]
    for target in targets:
        check_device(target, "load")


def _relocated(tensor, map_location):
    # As PyTorch calls map_location(storage, location) for each storage saved on the CPU: the
    # function sees each tensor and "cpu", and None from it keeps the tensor where it is.
    if not callable(map_location):
        return tensor
    moved = map_location(tensor, "cpu")
    if moved is None:
        return tensor
    from chainrule.tensor import Tensor
    if not isinstance(moved, Tensor) or moved.dtype != tensor.dtype or \
            tuple(moved.shape) != tuple(tensor.shape):
        raise TypeError(f"cr.load: map_location(tensor, 'cpu') must return the tensor (or None), "
                        f"got {type(moved).__name__}")
    return moved


class _Encoder:
    def __init__(self, path, arrays, seen):
        self.path, self.arrays, self.seen = path, arrays, seen

    def refuse(self, value, where, why=""):
        from chainrule.random import Generator
        hint = (" (save its get_state() instead)" if isinstance(value, Generator) else
                " (save its state_dict() instead)" if hasattr(value, "state_dict") else "")
        raise CheckpointError(
            f"cr.save: cannot save {type(value).__name__} at {where} to {self.path}{why}: "
            f"chainrule files hold {_ALLOWED}, never pickled objects (PyTorch's "
            f"weights_only=True contract){hint}")

    def store(self, array, where):
        name = str(len(self.arrays))
        self.arrays[name] = array  # the writer stores it C-ordered, little-endian
        return name

    def encode(self, value, where, depth, open_containers):
        from chainrule.device import device
        from chainrule.size import Size
        from chainrule.tensor import Tensor
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, Tensor):
            return self.encode_tensor(value, where)
        if isinstance(value, np.ndarray):
            if type(value) is not np.ndarray:
                self.refuse(value, where, " (a subclass of ndarray)")
            return {"$ndarray": self.store(value, where)}
        if isinstance(value, np.generic):
            return {"$npscalar": self.store(np.asarray(value), where)}
        if isinstance(value, np.dtype):
            return {"$dtype": value.name}
        if isinstance(value, device):
            return {"$device": str(value)}
        if isinstance(value, int):
            return int(value) if abs(value) <= _LARGEST_PLAIN_INT else {"$int": hex(value)}
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else {"$float": repr(float(value))}
        if not isinstance(value, (dict, list, tuple)):
            self.refuse(value, where)
        if id(value) in open_containers:
            raise CheckpointError(f"cr.save: cannot save to {self.path}: {where} contains itself")
        if depth >= MAX_TREE_DEPTH:
            raise CheckpointError(f"cr.save: cannot save to {self.path}: {where} is nested "
                                  f"deeper than {MAX_TREE_DEPTH}")
        open_containers = open_containers | {id(value)}
        if isinstance(value, dict):
            if type(value) not in (dict, collections.OrderedDict):
                self.refuse(value, where, " (a subclass of dict)")
            items = []
            for key, item in value.items():
                if type(key) not in _KEY_TYPES:
                    self.refuse(key, f"a key of {where}", " (keys may be None, bool, int, float "
                                                         "or str)")
                items.append([self.encode(key, where, depth + 1, open_containers),
                              self.encode(item, f"{where}[{key!r}]", depth + 1,
                                          open_containers)])
            tag = "$dict" if type(value) is dict else "$ordered_dict"
            return {tag: items}
        if type(value) not in (list, tuple, Size):
            self.refuse(value, where, " (a subclass of list or tuple)")
        encoded = [self.encode(item, f"{where}[{i}]", depth + 1, open_containers)
                   for i, item in enumerate(value)]
        if isinstance(value, Size):
            return {"$size": encoded}
        return encoded if isinstance(value, list) else {"$tuple": encoded}

    def encode_tensor(self, value, where):
        from chainrule.tensor import Tensor
        if id(value) in self.seen:
            return {"$same": self.seen[id(value)][0]}
        # No Parameter can exist unless chainrule.nn was loaded, so saving never loads it.
        module = sys.modules.get("chainrule.nn.module")
        parameter = module is not None and isinstance(value, module.Parameter)
        if type(value) is not Tensor and not parameter:
            self.refuse(value, where, " (a subclass of Tensor)")
        name = self.store(value.detach().numpy(), where)
        # Keep the tensor alive until saving ends, so that its id is not reused meanwhile.
        self.seen[id(value)] = (name, value)
        return {"$tensor": name, "requires_grad": bool(value.requires_grad),
                "parameter": parameter}


class _Decoder:
    def __init__(self, path, arrays, map_location=None):
        self.path, self.arrays, self.map_location = path, arrays, map_location
        self.used, self.tensors = set(), {}

    def bad(self, what):
        text = repr(what)
        raise CheckpointError(f"{self.path}: the header holds an invalid entry "
                              f"{text[:80] + '...' if len(text) > 80 else text}")

    def array(self, name):
        if not isinstance(name, str) or name not in self.arrays or name in self.used:
            self.bad(name)
        self.used.add(name)
        return self.arrays[name]

    def decode(self, value, depth):
        if depth > MAX_TREE_DEPTH:
            raise CheckpointError(f"{self.path}: the header is nested deeper than "
                                  f"{MAX_TREE_DEPTH}")
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        if isinstance(value, list):
            return [self.decode(item, depth + 1) for item in value]
        if not isinstance(value, dict) or len(value) not in (1, 3):
            self.bad(value)
        tag = next(iter(value))
        content = value[tag]
        if tag == "$tensor" and len(value) == 3:
            return self.tensor(value)
        if len(value) != 1:
            self.bad(value)
        if tag == "$same" and content in self.tensors:
            return self.tensors[content]
        if tag == "$ndarray":
            return self.array(content)
        if tag == "$npscalar":
            scalar = self.array(content)
            if scalar.ndim:
                self.bad(value)
            return scalar[()]
        if tag == "$dtype" and isinstance(content, str) and content in ALLOWED_DTYPES:
            return np.dtype(content)
        if tag == "$device" and isinstance(content, str):
            from chainrule.device import device
            return device(content)
        if tag == "$int" and isinstance(content, str):
            try:
                return int(content, 16)
            except ValueError:
                self.bad(value)
        if tag == "$float" and content in _NON_FINITE:
            return float(content)
        if tag in ("$tuple", "$size") and isinstance(content, list):
            items = tuple(self.decode(item, depth + 1) for item in content)
            if tag == "$tuple":
                return items
            from chainrule.size import Size
            try:
                return Size(items)
            except TypeError:
                self.bad(value)
        if tag in ("$dict", "$ordered_dict") and isinstance(content, list):
            result = {} if tag == "$dict" else collections.OrderedDict()
            for pair in content:
                if not isinstance(pair, list) or len(pair) != 2:
                    self.bad(pair)
                key = self.decode(pair[0], depth + 1)
                if type(key) not in _KEY_TYPES:
                    self.bad(pair[0])
                result[key] = self.decode(pair[1], depth + 1)
            return result
        self.bad(value)

    def tensor(self, value):
        from chainrule.tensor import Tensor
        name, requires_grad, parameter = (value["$tensor"], value.get("requires_grad"),
                                          value.get("parameter"))
        if not isinstance(requires_grad, bool) or not isinstance(parameter, bool):
            self.bad(value)
        array = self.array(name)
        if parameter:
            from chainrule.nn.module import Parameter
            result = Parameter(array, requires_grad=requires_grad)
        else:
            result = Tensor._make(array, None)
            if requires_grad:
                if array.dtype.kind != "f":
                    self.bad(value)
                result.requires_grad_(True)
        result = _relocated(result, self.map_location)
        self.tensors[name] = result
        return result


__all__ = ["save", "load"]
