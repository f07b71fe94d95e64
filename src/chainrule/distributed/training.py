"""What ``mpiexec -n N chainrule train`` changes in a training run: the model wrapped in
DistributedDataParallel, every batch dealt out among the ranks, the metrics summed over them,
and files and messages left to rank 0.

The loader keeps its whole-batch order (its state counts whole batches, so a checkpoint resumes
with any number of ranks that divides the batch); rank r takes rows r, r + N, ... of each
batch. A batch that does not divide evenly (an epoch's last) gives its ranks shares of
different sizes, each rank's loss is then weighted by its share, so the step is still the one
process's step on the whole batch.
"""
import os
import socket
import sys

from ..data.sampler import BatchSampler
from . import world


class ShardedBatchSampler(BatchSampler):
    """``batch_sampler``'s batches, of which this rank takes rows ``rank::world_size``."""

    def __init__(self, batch_sampler, rank, size):
        super().__init__(batch_sampler.sampler, batch_sampler.batch_size, batch_sampler.drop_last)
        self.rank, self.size = rank, size
        self.whole = 0  # the size of the whole batch last dealt out

    def _index_arrays(self):
        arrays = super()._index_arrays()
        return None if arrays is None else (self._deal(a) for a in arrays)

    def _deal(self, batch):
        self.whole = len(batch)
        return batch[self.rank::self.size]

    def __iter__(self):
        arrays = self._index_arrays()
        if arrays is not None:
            yield from (batch.tolist() for batch in arrays)
            return
        for batch in super().__iter__():
            yield self._deal(batch)


class Replicas:
    """The ranks' side of a Trainer (``trainer.replicas``): what the loop asks of them."""

    def __init__(self, trainer):
        from .ddp import DistributedDataParallel
        self.rank, self.size = world.rank(), world.world_size()
        if trainer.task is not None:
            raise world.DistributedError(
                "language models train in one process for now: run this command without "
                "mpiexec")
        if getattr(trainer.config, "checkpoint_segments", 0):
            raise world.DistributedError(
                "--checkpoint-segments does not combine with mpiexec yet: run the segments in "
                "one process, or all the layers on several")
        loader = trainer.loader
        batch = loader.batch_size
        if batch is None or not isinstance(loader.batch_sampler, BatchSampler):
            raise world.DistributedError(
                "Trainer under mpiexec needs a DataLoader with a batch_size (its batches are "
                "dealt out among the processes)")
        if batch % self.size:
            raise world.DistributedError(
                f"--batch-size {batch} does not divide among {self.size} processes: use a "
                f"multiple of {self.size} (each process takes an equal share of every batch)")
        world.check_same(len(loader.dataset), "training set size")
        self.sampler = ShardedBatchSampler(loader.batch_sampler, self.rank, self.size)
        loader.batch_sampler = self.sampler
        self.model = DistributedDataParallel(trainer.model)
        self.batch = batch
        self.where = world.all_gather_json([socket.gethostname(), os.getpid()], "process ids")

    def describe(self):
        """One line: how many processes, which (the launcher names a lost one by its pid), and
        each one's share of a batch."""
        hosts = {}
        for rank, (host, pid) in enumerate(self.where):
            hosts.setdefault(host, []).append(f"{rank}: pid {pid}")
        where = "; ".join(f"{', '.join(ranks)} on {host}" for host, ranks in hosts.items())
        return (f"data-parallel on {self.size} processes ({where}), each taking "
                f"{self.batch // self.size} of every batch of {self.batch}")

    def weighted(self, loss):
        """The loss whose gradient, averaged over the ranks, is the whole batch's: weighted by
        this rank's share when a batch does not divide evenly (an epoch's last)."""
        whole = self.sampler.whole
        share = len(range(self.rank, whole, self.size)) * self.size
        return loss if share == whole else loss * (share / whole)

    def totals(self, *values):
        """The sums over the ranks of ``values`` (numbers)."""
        import numpy as np
        array = np.array(values, dtype=np.float64)
        world.all_reduce(array)
        return array.tolist()

    def evaluate(self, evaluate, model, data, loss_fn):
        """``evaluate`` over the whole of ``data``, each rank on its share of the rows."""
        if not (hasattr(data, "x") and hasattr(data, "y")):
            return evaluate(model, data, loss_fn)
        x, y = data.x[self.rank::self.size], data.y[self.rank::self.size]
        seen = len(y)
        loss, accuracy = evaluate(model, _Rows(x, y), loss_fn) if seen else (0.0, 0.0)
        total_loss, correct, seen = self.totals(loss * seen, accuracy * seen, seen)
        return total_loss / seen, correct / seen


class _Rows:
    """A rank's share of a dataset's rows, in the (x, y) form evaluate() reads."""

    def __init__(self, x, y):
        self.x, self.y = x, y


def attach(trainer):
    """Make ``trainer`` one of the ranks' replicas when this process is one of several;
    returns the Replicas, or None in a world of one. Ranks other than 0 print no progress and
    call no callbacks (``Trainer.writes_files`` keeps them from writing files)."""
    world.init()
    if world.world_size() == 1:
        return None
    replicas = Replicas(trainer)
    if replicas.rank != 0:
        trainer.progress = False
        trainer.log = None
        trainer.callbacks = []
    return replicas


def run_on_every_rank(command, args):
    """Run a CLI command on this rank: ranks other than 0 print nothing on stdout, and an
    error or interruption on any rank ends the whole job (the others stop with a line naming
    it) instead of leaving them waiting."""
    if not world.launched_by_mpi():
        return command(args)
    world.init()
    if world.world_size() > 1 and world.rank() != 0:
        sys.stdout = open(os.devnull, "w")
    status = 1
    try:
        status = command(args)
    except KeyboardInterrupt:
        status = 130
        raise
    finally:
        world.exit_failed(status or 0)
    return status
