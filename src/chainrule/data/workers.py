"""What a dataset sees of the DataLoader's workers: ``get_worker_info()``.

chainrule's DataLoader runs its workers' work in the calling process, one batch after another,
so a worker here is the identity (id, count, seed) under which a fetch runs: a dataset that
splits its stream by ``get_worker_info().id`` yields the batches PyTorch's processes would.
"""
import contextlib
from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerInfo:
    """Which worker is fetching: its ``id`` in ``range(num_workers)``, the worker count, its
    ``seed`` and the ``dataset`` it reads."""
    id: int
    num_workers: int
    seed: int
    dataset: object


_current = [None]


def get_worker_info():
    """The WorkerInfo of the worker fetching now, or None outside a worker (as always with
    ``num_workers=0``).

    >>> data.get_worker_info() is None
    True
    """
    return _current[0]


@contextlib.contextmanager
def in_worker(info):
    saved = _current[0]
    _current[0] = info
    try:
        yield
    finally:
        _current[0] = saved


__all__ = ["WorkerInfo", "get_worker_info"]
