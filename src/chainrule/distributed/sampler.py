"""DistributedSampler: each rank's share of a dataset, as PyTorch's."""
import math

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
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive int, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, int) or not 0 <= rank < num_replicas:
            raise ValueError(f"Invalid rank {rank!r}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, num_replicas, rank
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
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
        self.epoch = int(epoch)

    def _index_array(self):
        n = len(self.dataset)
        if self.shuffle:
            # RandomSampler's order for DataLoader(seed=...) at this epoch.
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
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
