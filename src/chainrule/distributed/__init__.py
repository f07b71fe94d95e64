"""Data-parallel training over MPI: the same program on every rank, each on its share of the
data, gradients averaged during backward (``DistributedDataParallel``), so that N processes with
batch B take the steps one process takes with batch N * B.

Launch with ``mpiexec -n 4 python train.py`` (or ``mpiexec -n 4 chainrule train ...``); outside
``mpiexec`` this is a world of one and every call below is a no-op. Needs mpi4py and an MPI
(``pip install 'chainrule[mpi]'``), loaded only when a launcher started the process; ``import
chainrule`` never loads it. docs/distributed.md has the launch commands, what is exact and what
is not, and running on several hosts.
"""
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler
from .world import (DistributedError, PeerFailure, all_gather_json, all_reduce, barrier,
                    broadcast, check_same, exit_failed, init, is_main_process, launched_by_mpi,
                    rank, world_size)

__all__ = ["init", "rank", "world_size", "is_main_process", "barrier", "all_reduce", "broadcast",
           "DistributedDataParallel", "DistributedSampler", "DistributedError", "PeerFailure",
           "launched_by_mpi", "exit_failed", "check_same", "all_gather_json"]
