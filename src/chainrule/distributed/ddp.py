"""DistributedDataParallel: every rank runs the whole model on its share of the batch, and the
gradients are averaged over the ranks during backward, as PyTorch's reducer does it.

The parameters are grouped into flat buckets (in reverse order, as gradients arrive last layer
first). A hook on each parameter copies its finished gradient into its bucket's slot; when a
bucket is full its all-reduce starts (non-blocking), while backward goes on with earlier layers.
When the backward pass ends the engine calls back, the reducer waits for the buckets and hands
each parameter the average as its gradient, so the optimizer step that follows sees the same
gradient on every rank: that of one process with the whole batch.
"""
import contextlib

import numpy as np

from ..engine import queue_callback
from ..nn import Module
from ..tensor import Tensor
from . import world
from .world import DistributedError


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` averages its gradients over the ranks.

    At construction the ranks check that their modules agree (names, shapes, dtypes) and take
    rank 0's parameters and buffers. ``bucket_cap_mb`` caps a gradient bucket's size; buffers
    (batch norm's running statistics) are copied from rank 0 before every forward unless
    ``broadcast_buffers=False``. The wrapped model is ``.module``; state dict names start with
    ``module.``, as PyTorch's.

    >>> from chainrule import distributed as dist
    >>> model = dist.DistributedDataParallel(cr.nn.Linear(3, 2))
    >>> model(cr.ones(4, 3)).sum().backward()  # in a world of one: plain backward
    >>> model.module.weight.grad.shape
    cr.Size([2, 3])
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True):
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a chainrule.nn.Module, got "
                            f"{type(module).__name__}")
        if not bucket_cap_mb > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be positive, got "
                             f"{bucket_cap_mb!r}")
        world.init()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        object.__setattr__(self, "_sync", True)
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        world.check_same(_description(module), "model (parameter and buffer names, shapes, "
                                                "dtypes)")
        for _, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            world.broadcast(tensor._data, 0)
        object.__setattr__(self, "_reducer", _Reducer(named, bucket_cap_mb * 2**20)
                           if world.world_size() > 1 else None)

    def forward(self, *args, **kwargs):
        reducer = self._reducer
        if reducer is None:
            return self.module(*args, **kwargs)
        if self.broadcast_buffers:
            for buffer in self.module.buffers():
                world.broadcast(buffer._data, 0)
        reducer.prepare(self._sync)
        output = self.module(*args, **kwargs)
        reducer.attach()
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Inside ``with model.no_sync():`` the backward of a forward run there keeps its
        gradients local (they accumulate in ``.grad``); the next synchronised backward averages
        the accumulated sum. For gradient accumulation without a collective per micro-batch."""
        previous = self._sync
        object.__setattr__(self, "_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "_sync", previous)


def _description(module):
    entries = list(module.named_parameters()) + list(module.named_buffers())
    return {name: [list(t.shape), str(t.dtype)] for name, t in entries}


class _Bucket:
    __slots__ = ("params", "offsets", "buffer", "size", "missing", "request")

    def __init__(self, params, dtype):
        self.params = params
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        self.size = self.offsets[-1]
        # One flag per parameter after the gradients: 1 where this rank produced a gradient, so
        # that after the sum a parameter no rank used keeps no gradient (as on one process).
        self.buffer = np.zeros(self.size + len(params), dtype=dtype)
        self.missing = 0
        self.request = None


class _Reducer:
    def __init__(self, named, cap_bytes):
        self.size = world.world_size()
        self.params = [p for _, p in named]
        self.names = {id(p): n for n, p in named}
        self.buckets, self.where = [], {}
        for dtype in dict.fromkeys(p._data.dtype for p in self.params):
            group, used = [], 0
            for p in reversed(self.params):  # gradients arrive roughly last layer first
                if p._data.dtype != dtype:
                    continue
                if group and used + p._data.nbytes > cap_bytes:
                    self._add_bucket(group, dtype)
                    group, used = [], 0
                group.append(p)
                used += p._data.nbytes
            if group:
                self._add_bucket(group, dtype)
        self.armed = False
        self.iteration = 0
        self.launched = 0  # buckets are launched in order, the same on every rank
        self.ready = [False] * len(self.buckets)
        self.queued = False
        self.nodes = {}
        self.hooks = {id(p): self._hook_for(p) for p in self.params}

    def _add_bucket(self, group, dtype):
        bucket = _Bucket(group, dtype)
        for index, p in enumerate(group):
            self.where[id(p)] = (len(self.buckets), index)
        self.buckets.append(bucket)

    def prepare(self, sync):
        """Before the forward: a fresh iteration. Each parameter loses its gradient
        accumulator node, so that the forward makes a new one at the parameter's first use:
        numbered just before that layer's ops, the engine then reaches it right after the
        layer's backward (rather than after all of backward), and its bucket can start early."""
        if self.armed and self.launched:
            raise DistributedError(
                "DistributedDataParallel: a new forward began while the previous backward's "
                "gradient all-reduce was unfinished (did backward fail on this rank?)")
        self.iteration += 1
        self.armed = sync
        self.queued = False
        self.launched = 0
        self.ready = [False] * len(self.buckets)
        for bucket in self.buckets:
            bucket.missing = len(bucket.params)
            bucket.buffer[bucket.size:] = 0
            bucket.request = None
        self.nodes = {}
        for p in self.params:
            node = p.node
            self.nodes[id(p)] = node
            p.node = None

    def attach(self):
        """After the forward: move each parameter's hook list (ours, and any of the user's: the
        same list, so that their handles still work) to the node the forward made."""
        for p in self.params:
            old, new = self.nodes.get(id(p)), p.node
            if new is None:  # not used by this forward
                p.node = old
                continue
            hooks = old.extra("hooks") if old is not None else None
            if hooks is None:
                hooks = []
            if self.hooks[id(p)] not in hooks:
                hooks.append(self.hooks[id(p)])
            hooks.extend(h for h in (new.extra("hooks") or ()) if h not in hooks)
            new.set_extra("hooks", hooks)
        self.nodes = {}

    def _hook_for(self, p):
        number, index = self.where[id(p)]
        bucket = self.buckets[number]
        start, stop = bucket.offsets[index], bucket.offsets[index + 1]
        slot = bucket.buffer[start:stop].reshape(p._data.shape)
        flag = bucket.size + index
        name = self.names[id(p)]

        def hook(grad):
            if not self.armed:
                return grad
            if isinstance(grad, Tensor):
                raise DistributedError("DistributedDataParallel: backward(create_graph=True) is "
                                       "not supported (the averaged gradient has no graph)")
            if bucket.buffer[flag]:
                raise DistributedError(
                    f"DistributedDataParallel: parameter {name} received a second gradient "
                    f"from the same forward (a second backward needs a new forward)")
            if p.grad is None:
                np.copyto(slot, grad)
            else:  # gradients accumulated under no_sync(): they are averaged too
                np.add(p.grad._data, grad, out=slot)
                p.grad = None  # the engine writes the average there after the callback
            bucket.buffer[flag] = 1
            if not self.queued:
                self.queued = True
                queue_callback(lambda iteration=self.iteration: self._finish(iteration))
            bucket.missing -= 1
            if bucket.missing == 0:
                self.ready[number] = True
                self._launch_ready()
            elif self.launched:
                self._progress()
            return slot  # filled with the average before the engine copies it into .grad

        return hook

    def _launch_ready(self):
        from mpi4py import MPI
        comm = world._world.comm
        while self.launched < len(self.buckets) and self.ready[self.launched]:
            bucket = self.buckets[self.launched]
            bucket.request = comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM)
            self.launched += 1
        self._progress()

    def _progress(self):
        # MPI moves a non-blocking collective along only inside MPI calls.
        from mpi4py import MPI
        MPI.Request.Testall([b.request for b in self.buckets[:self.launched]])

    def _finish(self, iteration):
        if iteration != self.iteration:
            return  # queued by a backward that failed part-way
        absent = []  # parameters with no gradient from this backward
        for number, bucket in enumerate(self.buckets):
            if not bucket.missing:
                continue
            for index, p in enumerate(bucket.params):
                flag = bucket.size + index
                if bucket.buffer[flag]:
                    continue
                start, stop = bucket.offsets[index], bucket.offsets[index + 1]
                view = bucket.buffer[start:stop].reshape(p._data.shape)
                if p.grad is None:
                    view[...] = 0
                else:
                    view[...] = p.grad._data
                    bucket.buffer[flag] = 1
                absent.append((bucket, view, flag, p))
            self.ready[number] = True
        self._launch_ready()
        world.wait([b.request for b in self.buckets],
                   "DistributedDataParallel's gradient all-reduce")
        for bucket in self.buckets:
            bucket.buffer[:bucket.size] /= self.size
            bucket.request = None
        for bucket, view, flag, p in absent:
            if bucket.buffer[flag]:  # some rank has a gradient for it
                p.grad = Tensor._make(view.copy(), None)
        self.launched = 0
