"""``chainrule.utils.data`` is ``chainrule.data``, under PyTorch's path, so that
``from torch.utils.data import DataLoader`` ports as ``from chainrule.utils.data import
DataLoader``."""
import sys

from chainrule import data as _data

# The same module object, not a copy of its names: one DataLoader class, one get_worker_info.
sys.modules[__name__] = _data
