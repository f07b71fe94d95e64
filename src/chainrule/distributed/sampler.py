"""DistributedSampler: each rank's share of a dataset, as PyTorch's."""
import math
import numbers

import numpy as np

from ..data.sampler import Sampler
from . import world


class DistributedSampler(Sampler):
    """The indices rank ``rank`` of ``num_replicas`` reads in one epoch: the epoch's order
    (shuffled with ``seed`` and the epoch number, the same on every rank; call ``set_epoch``
    before each epoch) dealt out in turn, ``order[rank::num_replicas]``. Every rank gets the
    same number of indices: with ``drop_last`` the tail that does not divide evenly is left
    out, otherwise the order is padded by repeating its start. The order of one replica is
    that of ``DataLoader(dataset, shuffle=True, seed=seed)``, so batch ``t`` of size ``B`` on
    each of N ranks holds exactly the examples of batch ``t`` of size ``N * B`` on one process.

    With ``num_replicas`` and ``rank`` left out they come from the world, and the ranks check
    that their datasets have the same length.

    >>> from chainrule import distributed as dist
    >>> list(dist.DistributedSampler(range(5), num_replicas=2, rank=1, shuffle=False))
    [1, 3, 0]
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0,
                 drop_last=False):
        from_world = num_replicas is None and rank is None
        if num_replicas is None:
            num_replicas = world.world_size()
        if rank is None:
            rank = world.rank()
        if not _is_int(num_replicas) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got "
                             f"{num_replicas!r}")
        if not _is_int(rank) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        num_replicas, rank = int(num_replicas), int(rank)
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, _integer(seed, "seed"), drop_last
        self.epoch = 0
        n = len(dataset)
        if from_world:
            world.check_same(n, "dataset length")
        if drop_last and n % num_replicas:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def set_epoch(self, epoch):
        """Shuffle the next epoch with this number (the same on every rank)."""
        self.epoch = _integer(epoch, "epoch")

    def _index_array(self):
        n = len(self.dataset)
        if self.shuffle:
            # RandomSampler's order for DataLoader(seed=...) at this epoch.
            # Modulo 2**64 as torch.manual_seed takes a negative seed (NumPy refuses one).
            order = np.random.default_rng([self.seed % 2**64, self.epoch % 2**64]).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:
            order = np.resize(order, self.total_size)  # repeats the start as padding
        order = order[:self.total_size]
        return order[self.rank::self.num_replicas].astype(np.int64, copy=False)

    def __iter__(self):
        return iter(self._index_array().tolist())

    def __len__(self):
        return self.num_samples


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _integer(value, name):
    """An int from an integer of any kind (NumPy's too); a float or a bool is refused rather
    than truncated, as torch.manual_seed refuses a float seed."""
    if not _is_int(value):
        raise TypeError(f"DistributedSampler: {name} must be an int, got {value!r}")
    return int(value)
