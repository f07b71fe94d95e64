"""The world of processes: who we are, collectives on arrays, and what happens when a rank fails.

A process started by ``mpiexec`` (or ``mpirun``, ``srun``) joins the world of its launch through
mpi4py; any other process is a world of one, where every collective returns its input and
mpi4py is never imported.

Every wait here polls, so it has a time limit (``init(timeout=)``, by default the
``CHAINRULE_DIST_TIMEOUT`` environment variable or 600 s), Ctrl-C reaches Python during it, and it
notices a notice from a rank that failed. A rank whose program raises prints one line naming
itself, tells the others (each of which then stops with one line naming it) and aborts the job.
"""
import json
import os
import sys
import time

import numpy as np

from ..errors import ChainruleError

# The environment variables a launcher sets in the processes it starts: MPICH's and Intel MPI's
# Hydra (PMI_*), Open MPI, PMIx launchers, MVAPICH, Slurm's srun.
_LAUNCHER_VARIABLES = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE",
                       "MPI_LOCALNRANKS")
_FAILURE_TAG, _ANSWER_TAG = 17, 18
_GRACE_S = 2.0  # how long a failing rank waits for the others to print their line before aborting


class DistributedError(ChainruleError, RuntimeError):
    """A collective that cannot give the right answer: ranks that disagree, a rank that failed
    or stopped answering, or MPI missing."""


class PeerFailure(DistributedError):
    """Another rank failed; raised where this rank was waiting."""


class _World:
    def __init__(self):
        self.comm = None  # None: a world of one
        self.notices = None  # a duplicate communicator for failure notices only
        self.rank, self.size = 0, 1
        self.timeout = None
        self.started = False
        self.peer = None  # (rank, message) of a rank that reported its failure to us
        self.exit_status = 0
        self.stopping = False


_world = _World()


def launched_by_mpi():
    """Whether a launcher such as ``mpiexec`` started this process."""
    return any(name in os.environ for name in _LAUNCHER_VARIABLES)


def init(timeout=None):
    """Join the world of this launch (a world of one outside ``mpiexec``); returns
    ``(rank, world_size)``. Calling it again changes nothing but the timeout.

    ``timeout``: the longest any wait for the other ranks may take, in seconds."""
    if timeout is None:
        timeout = _world.timeout or float(os.environ.get("CHAINRULE_DIST_TIMEOUT", 600))
    if not timeout > 0:
        raise ValueError(f"distributed.init: timeout must be a positive number of seconds, got "
                         f"{timeout!r}")
    _world.timeout = float(timeout)
    if _world.started:
        return _world.rank, _world.size
    _world.started = True
    if not launched_by_mpi():
        return 0, 1
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise DistributedError(
            "this process was started by an MPI launcher, but mpi4py is not installed: "
            "pip install 'chainrule[mpi]' (mpi4py and MPICH)") from error
    comm = MPI.COMM_WORLD
    _world.rank, _world.size = comm.Get_rank(), comm.Get_size()
    if _world.size > 1:
        _world.comm, _world.notices = comm, comm.Dup()
        _install_handlers()
        _share_cores(comm)
    return _world.rank, _world.size


_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _share_cores(comm):
    """Give each rank its share of this host's cores for BLAS threads, as torchrun sets
    OMP_NUM_THREADS: ranks whose BLAS each start a thread per core fight over the cores and
    run many times slower. Left alone where the user set a thread count."""
    if any(name in os.environ for name in _THREAD_VARIABLES):
        return
    from mpi4py import MPI
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    ranks_here = local.Get_size()
    local.Free()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threadpool_limits(max(1, (cores or 1) // ranks_here))


def rank():
    """This process's number in the world, from 0 (joining the world first if needed)."""
    init()
    return _world.rank


def world_size():
    """How many processes the world holds (1 outside ``mpiexec``)."""
    init()
    return _world.size


def is_main_process():
    """Whether this is rank 0, the one that writes files and prints progress."""
    return rank() == 0


def barrier(what="barrier"):
    """Wait until every rank has reached its barrier."""
    init()
    if _world.comm is not None:
        wait([_world.comm.Ibarrier()], what)


_OPS = ("sum", "mean", "max", "min", "product")


def all_reduce(tensor, op="sum"):
    """Combine ``tensor`` (a Tensor or a NumPy array) over all ranks, in place, and return it:
    afterwards every rank holds the same ``op`` ("sum", "mean", "max", "min" or "product") of
    the ranks' values. Every rank must call it with the same shape and dtype, in the same order.
    As any in-place change, it makes a graph that saved the tensor refuse to backward.

    >>> from chainrule import distributed as dist
    >>> t = cr.tensor([1.0, 2.0])
    >>> dist.all_reduce(t)  # a world of one: unchanged
    tensor([1., 2.], dtype=float32)
    """
    if op not in _OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(_OPS)}, got {op!r}")
    array = _array_of("all_reduce", tensor)
    if op == "mean" and array.dtype.kind != "f":
        raise TypeError(f"all_reduce: op='mean' needs a floating-point tensor, got {array.dtype}")
    init()
    if _world.comm is None:
        return tensor
    from mpi4py import MPI
    mpi_op = {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN,
              "product": MPI.PROD}[op]
    wait([_world.comm.Iallreduce(MPI.IN_PLACE, array, op=mpi_op)], f"all_reduce of {array.shape}")
    if op == "mean":
        array /= _world.size
    _changed_in_place(array)
    return tensor


def broadcast(tensor, src=0):
    """Copy rank ``src``'s ``tensor`` (a Tensor or a NumPy array) into every rank's, in place,
    and return it; as any in-place change, it makes a graph that saved the tensor refuse to
    backward."""
    if _broadcast(_array_of("broadcast", tensor), src):
        _changed_in_place(_array_of("broadcast", tensor))
    return tensor


def _broadcast(array, src):
    """``broadcast`` without marking the memory changed (DDP's buffers, which every rank holds
    equal before the copy wherever a graph reads them); whether there was a world to copy over."""
    init()
    if not isinstance(src, int) or not 0 <= src < _world.size:
        raise ValueError(f"broadcast: src must be a rank in [0, {_world.size}), got {src!r}")
    if _world.comm is None:
        return False
    wait([_world.comm.Ibcast(array, root=src)], f"broadcast of {array.shape} from rank {src}")
    return True


def _changed_in_place(array):
    """Mark ``array``'s memory changed, so that a graph that saved it refuses to backward
    rather than differentiate with the collective's values. (PyTorch's collectives leave the
    version counter alone, and its backward then uses the new values silently.)"""
    from ..engine import record_inplace_change
    record_inplace_change(array)


def all_gather_json(value, what):
    """Every rank's JSON-ready ``value``, as a list indexed by rank (no pickle: the bytes are
    JSON)."""
    init()
    if _world.comm is None:
        return [value]
    payload = np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)
    sizes = np.zeros(_world.size, dtype=np.int64)
    wait([_world.comm.Iallgather(np.array([payload.size], dtype=np.int64), sizes)], what)
    gathered = np.empty(int(sizes.sum()), dtype=np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    wait([_world.comm.Iallgatherv(payload, [gathered, (sizes, offsets)])], what)
    return [json.loads(gathered[o:o + s].tobytes()) for o, s in zip(offsets, sizes)]


def check_same(value, what):
    """Refuse to go on when ``value`` (JSON-ready) differs between ranks: a DistributedError
    on every rank, naming the first rank that differs from rank 0 and both values."""
    values = all_gather_json(value, f"checking that every rank has the same {what}")
    for other, theirs in enumerate(values):
        if theirs != values[0]:
            raise DistributedError(
                f"rank {other}'s {what} differs from rank 0's ({_difference(values[0], theirs)}); "
                f"every rank must build the same one")


def _difference(ours, theirs):
    if isinstance(ours, dict) and isinstance(theirs, dict):
        for key in list(ours) + [k for k in theirs if k not in ours]:
            if ours.get(key) != theirs.get(key):
                return f"{key}: {ours.get(key, 'absent')} on rank 0, {theirs.get(key, 'absent')} " \
                       f"there"
    return f"{ours} on rank 0, {theirs} there"


def _array_of(name, tensor):
    array = getattr(tensor, "_data", tensor)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name}: expected a Tensor or a NumPy array, got {type(tensor).__name__}")
    if not array.flags.c_contiguous or not array.flags.writeable:
        raise ValueError(f"{name}: the tensor must be contiguous and writable, as the result is "
                         f"written into it (shape {array.shape})")
    return array


# -- waiting, with a time limit and failure notices ------------------------------------------
def wait(requests, what):
    """Wait until every MPI request in ``requests`` is done. Raises PeerFailure when another
    rank reports a failure meanwhile, and DistributedError after the world's timeout."""
    from mpi4py import MPI
    if MPI.Request.Testall(requests):
        return
    start = time.monotonic()
    deadline = start + _world.timeout
    polls = 0
    patient = False
    while not MPI.Request.Testall(requests):
        polls += 1
        if patient:
            # A collective moves only while every rank polls. Spinning, as MPI's own waits do,
            # keeps this core; yielding it on a busy machine can cost a whole time slice per
            # poll, so only a wait that has lasted lets another process have the core.
            os.sched_yield()
        if polls % 64:
            continue
        _check_notices()
        now = time.monotonic()
        if now > deadline:
            raise DistributedError(
                f"rank {_world.rank}: {what} had no answer from the other ranks within "
                f"{_world.timeout:g} s (a rank is stuck, or gone); stopping")
        patient = now - start > 0.05
        if now - start > 1.0:
            time.sleep(0.001)  # a long wait (a rank reading or writing files): give the core back


def _check_notices():
    from mpi4py import MPI
    if _world.peer is not None:
        raise PeerFailure(_world.peer[1])
    status = MPI.Status()
    if _world.notices.Iprobe(source=MPI.ANY_SOURCE, tag=_FAILURE_TAG, status=status):
        message = np.empty(status.Get_count(MPI.BYTE), dtype=np.uint8)
        _world.notices.Recv(message, source=status.Get_source(), tag=_FAILURE_TAG)
        _world.peer = (status.Get_source(), message.tobytes().decode(errors="replace"))
        raise PeerFailure(_world.peer[1])


def _install_handlers():
    """An uncaught exception, or an exit marked failed (``exit_failed``), ends the whole job:
    the ranks still running would otherwise wait for this one until their timeout."""
    import atexit
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if isinstance(value, KeyboardInterrupt):
            _stop(f"chainrule.distributed: rank {_world.rank} interrupted; stopping all ranks",
                  interrupted=True)
        elif isinstance(value, PeerFailure):
            _stop(f"chainrule.distributed: rank {_world.rank} stopped: {value}")
        else:
            previous(kind, value, traceback)
            reason = f"{kind.__name__}: {value}".splitlines()[0] if str(value) else kind.__name__
            _stop(f"chainrule.distributed: rank {_world.rank} failed: {reason}",
                  f"rank {_world.rank} failed ({reason})")

    def at_exit():
        # Runs before mpi4py's own exit handler (MPI_Finalize), registered earlier.
        if _world.exit_status:
            status = _world.exit_status
            _stop(None, f"rank {_world.rank} failed (exit status {status})",
                  interrupted=status == 130, code=status)

    sys.excepthook = hook
    atexit.register(at_exit)


def exit_failed(status=1):
    """Mark this process as ending in failure (for a command that reports its own errors and
    returns an exit status): at exit it tells the other ranks, which stop with a line naming
    this rank, and ends the job. Does nothing in a world of one or for status 0."""
    if status and _world.comm is not None:
        _world.exit_status = status


def _stop(line, notice=None, interrupted=False, code=1):
    """Print ``line``; then answer the rank whose failure stopped us, or tell the others of
    ours (``notice``) and give them a moment to print theirs; then end the job."""
    from mpi4py import MPI
    if _world.stopping:
        return
    _world.stopping = True
    if line:
        print(line, file=sys.stderr, flush=True)
    if not interrupted:  # Ctrl-C reached every rank at once: nobody to wait for
        deadline = time.monotonic() + _GRACE_S
        if _world.peer is not None:
            # The failed rank ends the job once every rank has answered (or after its grace).
            answer = _world.notices.Isend(np.zeros(1, np.uint8), dest=_world.peer[0],
                                          tag=_ANSWER_TAG)
            while time.monotonic() < deadline + _GRACE_S:
                answer.Test()
                time.sleep(0.001)
        else:
            payload = np.frombuffer(notice.encode(), dtype=np.uint8).copy()
            others = [r for r in range(_world.size) if r != _world.rank]
            requests = [_world.notices.Isend(payload, dest=r, tag=_FAILURE_TAG) for r in others]
            answers = [np.zeros(1, np.uint8) for _ in others]
            replies = [_world.notices.Irecv(a, source=r, tag=_ANSWER_TAG)
                       for a, r in zip(answers, others)]
            while not MPI.Request.Testall(replies) and time.monotonic() < deadline:
                MPI.Request.Testall(requests)
                time.sleep(0.001)
    _world.comm.Abort(code)
