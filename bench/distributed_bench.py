"""The distributed rows of bench/run.py, run on every rank under ``mpiexec -n 2``; rank 0 prints
the medians as JSON.

    mpiexec -n 2 python bench/distributed_bench.py sync 784-256-10
    mpiexec -n 2 python bench/distributed_bench.py step 784-256-10 256

``sync``: DistributedDataParallel's synchronisation of the MLP's gradients (its hooks taking each
gradient into its bucket and starting the all-reduces, the wait, the average, and handing the
averages to ``.grad``), against one raw ``MPI_Allreduce`` of a flat float32 array of
the same bytes, and beside it the least any averaging costs (``pass+iallreduce``: one pass
dividing the gradients into a bucket, then an in-place ``MPI_Iallreduce``). ``step``: a whole
data-parallel training step, each rank on half the batch, with the same raw all-reduce beside
it. Samples alternate between them, each after a barrier.
"""
import json
import statistics
import sys
import time

import numpy as np

import workloads


def _raw_allreduce(comm, nbytes):
    from mpi4py import MPI
    flat = np.ones(nbytes // 4, dtype=np.float32)
    return lambda: comm.Allreduce(MPI.IN_PLACE, flat, op=MPI.SUM)


def _floor(comm, nbytes, size):
    """What any averaging of gradients that backward left in arrays of their own costs at least:
    one pass dividing them into a flat bucket, then an in-place MPI_Iallreduce, polled to its
    end as DistributedDataParallel waits."""
    from mpi4py import MPI
    grads = np.ones(nbytes // 4, dtype=np.float32)
    bucket = np.empty_like(grads)
    scale = np.float32(1 / size)

    def run():
        np.multiply(grads, scale, out=bucket)
        request = comm.Iallreduce(MPI.IN_PLACE, bucket, op=MPI.SUM)
        while not request.Test():
            pass
    return run


def _ddp_model(sizes):
    from chainrule import distributed as dist
    _, model = workloads._chainrule_model(sizes)
    return dist.DistributedDataParallel(model)


def _sync(sizes):
    """What DistributedDataParallel adds to a backward pass: every gradient hook, in the order
    backward reaches them, then the engine's end-of-backward callback and the handing over of
    the gradients into .grad."""
    from chainrule.engine import Gradient, _at_backward_end
    from chainrule.tensor import Tensor, _root_node
    model = _ddp_model(sizes)
    reducer = model._reducer
    params = list(reversed(reducer.params))
    grads = [np.random.default_rng(0).random(p.shape, dtype=np.float32) for p in params]
    hooks = [reducer.hooks[id(p)] for p in params]

    def run():
        for p in params:
            p.grad = None  # as optimizer.zero_grad() between steps
        reducer.prepare(True)
        for p in params:
            _root_node(p)  # the parameter's node, which a forward makes at its first use
        reducer.attach()
        kept = {p.node: Gradient(hook(g)) for p, hook, g in zip(params, hooks, grads)}
        while _at_backward_end:
            _at_backward_end.pop(0)(kept)
        for p in params:
            p.grad = Tensor._make(kept[p.node].take(), None)
    nbytes = sum(p._data.nbytes for p in params)
    return run, nbytes


def _step(sizes, batch):
    import chainrule as cr
    from chainrule import distributed as dist, nn, optim
    model = _ddp_model(sizes)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x, y = workloads._batch(sizes, batch)
    share = batch // dist.world_size()
    x, y = cr.tensor(x[dist.rank() * share:][:share]), y[dist.rank() * share:][:share]

    def run():
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return run, sum(p._data.nbytes for p in model.parameters())


def main(case, spec, batch=None):
    from chainrule import distributed as dist
    from mpi4py import MPI
    dist.init()
    comm = MPI.COMM_WORLD
    sizes = tuple(int(s) for s in spec.split("-"))
    run, nbytes = _sync(sizes) if case == "sync" else _step(sizes, int(batch))
    works = {"value": run, "allreduce": _raw_allreduce(comm, nbytes)}
    if case == "sync":
        works["pass+iallreduce"] = _floor(comm, nbytes, comm.size)
    times = {name: [] for name in works}
    for sample in range(230):
        for name, work in works.items():
            comm.Barrier()
            start = time.perf_counter()
            work()
            elapsed = time.perf_counter() - start
            if sample >= 30:  # warm-up
                times[name].append(elapsed)
    # A step is as slow as its slowest rank.
    medians = {name: comm.allreduce(statistics.median(v), op=MPI.MAX) for name, v in times.items()}
    if comm.rank == 0:
        print(json.dumps({**medians, "bytes": nbytes, "ranks": comm.size}))


if __name__ == "__main__":
    main(*sys.argv[1:])
