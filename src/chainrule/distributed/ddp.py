"""DistributedDataParallel: every rank runs the whole model on its share of the batch, and the
gradients are averaged over the ranks during backward, as PyTorch's reducer does it.

The parameters are grouped into buckets (in reverse order, as gradients arrive last layer first;
the first bucket at most 1 MiB, so that its all-reduce starts early, the others up to
``bucket_cap_mb``), each one flat array. A hook on each parameter writes its finished gradient,
divided by the world size, into its place in the bucket (one pass over it: the copy and the
averaging at once); when a bucket is full its all-reduce starts, in place and non-blocking,
while backward goes on with earlier layers. When the backward pass ends the engine calls back:
the reducer waits for the buckets and hands each parameter its slice of the bucket as its
gradient (a view, as PyTorch's ``gradient_as_bucket_view``: no copy out; a new bucket array each
step, so a ``.grad`` kept from an earlier step does not change), so the optimizer step that
follows sees the same gradient on every rank: that of one process with the whole batch.
"""
import contextlib
import sys

import numpy as np

from ..engine import Gradient, queue_callback
from ..nn import Module
from ..tensor import Tensor
from . import world
from .world import DistributedError


class DistributedDataParallel(Module):
    """Wrap ``module`` so that ``backward()`` averages its gradients over the ranks.

    At construction the ranks check that their modules agree (names, shapes, dtypes) and take
    rank 0's parameters and buffers. ``bucket_cap_mb`` caps a gradient bucket's size; buffers
    (batch norm's running statistics) are copied from rank 0 before every forward unless
    ``broadcast_buffers=False``. A parameter that gets no gradient in a backward is an error
    (DistributedError, naming it) unless ``find_unused_parameters=True``: then such a
    parameter gets the average of the ranks that have one (None if none has), at the cost of
    one more small all-reduce per step. The wrapped model is ``.module``; state dict names
    start with ``module.``, as PyTorch's.

    >>> from chainrule import distributed as dist
    >>> model = dist.DistributedDataParallel(cr.nn.Linear(3, 2))
    >>> model(cr.ones(4, 3)).sum().backward()  # in a world of one: plain backward
    >>> model.module.weight.grad.shape
    cr.Size([2, 3])
    """

    def __init__(self, module, bucket_cap_mb=25, broadcast_buffers=True,
                 find_unused_parameters=False):
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
        object.__setattr__(self, "_reducer", _Reducer(named, bucket_cap_mb * 2**20,
                                                      find_unused_parameters)
                           if world.world_size() > 1 else None)

    def forward(self, *args, **kwargs):
        reducer = self._reducer
        if reducer is None:
            return self.module(*args, **kwargs)
        if self.broadcast_buffers:
            for buffer in self.module.buffers():
                world._broadcast(buffer._data, 0)  # PyTorch's DDP does not refuse a graph either
        reducer.prepare(self._sync)
        try:
            return self.module(*args, **kwargs)
        finally:
            reducer.attach()  # also after a failed forward: the hooks stay on the parameters

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


# PyTorch's first bucket: small, so that the first all-reduce starts early in backward.
_FIRST_BUCKET_BYTES = 2**20


class _Bucket:
    """Parameters whose gradients are all-reduced together, from one flat array: each gradient
    is multiplied by 1/world size into its place there (one pass, which is also the copy), the
    array is all-reduced in place, and the parameters' ``.grad`` are views into it (PyTorch's
    gradient_as_bucket_view): no copy out."""
    __slots__ = ("params", "slices", "shapes", "size", "dtype", "scale", "buffer", "last",
                 "request", "missing")

    def __init__(self, params, dtype, scale):
        self.params, self.dtype = params, dtype
        self.scale = dtype.type(scale)  # in the gradients' dtype, as a Python float would be
        self.slices, self.shapes, start = [], [], 0
        for p in params:
            self.slices.append(slice(start, start + p._data.size))
            self.shapes.append(p._data.shape)
            start += p._data.size
        self.size = start
        self.buffer = self.last = self.request = None
        self.missing = 0

    def start_iteration(self):
        if self.buffer is not None:
            self.last = self.buffer
        self.buffer = self.request = None  # chosen when the first gradient arrives
        self.missing = len(self.params)

    def take_buffer(self):
        """This step's array: last step's again if nothing holds a view of it any more (its
        .grad were set to None, as zero_grad() does by default before backward), since writing
        into fresh memory costs the kernel's page faults; otherwise a new one, so that a .grad
        kept from an earlier step does not change."""
        last, self.last = self.last, None
        # References to last: the name here and getrefcount's argument; a .grad view adds one.
        if last is None or sys.getrefcount(last) > 2:
            last = np.empty(self.size, self.dtype)
        self.buffer = last
        return last

    def view(self, index):
        return self.buffer[self.slices[index]].reshape(self.shapes[index])


class _Reducer:
    def __init__(self, named, cap_bytes, find_unused):
        self.size = world.world_size()
        self.params = [p for _, p in named]
        self.names = [n for n, _ in named]
        self.find_unused = find_unused
        self.buckets, self.where = [], {}
        for dtype in dict.fromkeys(p._data.dtype for p in self.params):
            group, used, cap = [], 0, min(cap_bytes, _FIRST_BUCKET_BYTES)
            for p in reversed(self.params):  # gradients arrive roughly last layer first
                if p._data.dtype != dtype:
                    continue
                if group and used + p._data.nbytes > cap:
                    self._add_bucket(group, dtype)
                    group, used, cap = [], 0, cap_bytes
                group.append(p)
                used += p._data.nbytes
            if group:
                self._add_bucket(group, dtype)
        self.armed = False
        self.iteration = 0
        self.launched = 0  # buckets are launched in order, the same on every rank
        self.ready = [False] * len(self.buckets)
        self.queued = False
        self.got = [None] * len(self.params)  # the node each gradient arrived at, this iteration
        self.nodes = {}
        self.hooks = {id(p): self._hook_for(k, p) for k, p in enumerate(self.params)}
        # Each parameter's (bucket, index), by position: looked up once per parameter per step.
        self.places = [(self.buckets[self.where[id(p)][0]], self.where[id(p)][1])
                       for p in self.params]
        from mpi4py import MPI  # loaded already: a reducer exists only in a world of several
        self.mpi = MPI

    def _add_bucket(self, group, dtype):
        bucket = _Bucket(group, dtype, 1.0 / self.size)
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
        if sync:
            for bucket in self.buckets:
                bucket.start_iteration()
        self.got = [None] * len(self.params)
        self.nodes = {}
        for p in self.params:
            self.nodes[id(p)] = p.node
            p.node = None

    def attach(self):
        """After the forward: move each parameter's hook list (ours, and any of the user's: the
        same list, so that their handles still work) to the node the forward made."""
        nodes, ours = self.nodes, self.hooks
        for p in self.params:
            old, new = nodes.get(id(p)), p.node
            if new is None:  # not used by this forward
                p.node = old
                continue
            hooks = old.extras.get("hooks") if old is not None and old.extras else None
            if hooks is None:
                hooks = []
            hook = ours[id(p)]
            if hook not in hooks:
                hooks.append(hook)
            if new.extras is None:  # as always, unless the forward hooked the parameter
                new.extras = {"hooks": hooks}
                continue
            hooks.extend(h for h in (new.extras.get("hooks") or ()) if h not in hooks)
            new.extras["hooks"] = hooks
        self.nodes = {}

    def _hook_for(self, k, p):
        number, index = self.where[id(p)]
        bucket = self.buckets[number]
        name = self.names[k]

        def hook(grad):
            if not self.armed:
                return grad
            if isinstance(grad, Tensor):
                raise DistributedError("DistributedDataParallel: backward(create_graph=True) is "
                                       "not supported (the averaged gradient has no graph)")
            if self.got[k] is not None:
                raise DistributedError(
                    f"DistributedDataParallel: parameter {name} received a second gradient "
                    f"from the same forward (a second backward needs a new forward)")
            self.got[k] = p.node
            self._take(bucket, index, grad, p)
            if not self.queued:
                self.queued = True
                queue_callback(lambda kept, iteration=self.iteration:
                               self._finish(kept, iteration))
            bucket.missing -= 1
            if bucket.missing == 0:
                self.ready[number] = True
                self._launch_ready()
            elif self.launched:
                self._progress()
            return grad  # until the callback puts the average in its place

        return hook

    @staticmethod
    def _take(bucket, index, grad, p):
        """This rank's share of the average, into the bucket: ``grad / world size``, plus the
        gradient the parameter already holds (accumulated under no_sync(), or left by
        zero_grad(set_to_none=False)), which the average then replaces."""
        if bucket.buffer is None:
            bucket.take_buffer()
        view = bucket.view(index)
        held = p.grad
        if held is not None:
            p.grad = None
            np.add(held._data, grad, out=view)
            np.multiply(view, bucket.scale, out=view)
        else:
            np.multiply(grad, bucket.scale, out=view)

    def _launch_ready(self):
        MPI, comm = self.mpi, world._world.comm
        while self.launched < len(self.buckets) and self.ready[self.launched]:
            bucket = self.buckets[self.launched]
            bucket.request = comm.Iallreduce(MPI.IN_PLACE, bucket.buffer, op=MPI.SUM)
            self.launched += 1
        self._progress()

    def _progress(self):
        # MPI moves a non-blocking collective along only inside MPI calls.
        self.mpi.Request.Testall([b.request for b in self.buckets[:self.launched]])

    def _finish(self, kept, iteration):
        """At the end of backward: start what is left, wait, and hand the averages over."""
        if iteration != self.iteration:
            return  # queued by a backward that failed part-way
        MPI = self.mpi
        absent = [k for k, node in enumerate(self.got) if node is None]
        if absent and not self.find_unused:
            names = ", ".join(self.names[k] for k in absent[:5])
            more = f" and {len(absent) - 5} more" if len(absent) > 5 else ""
            raise DistributedError(
                f"DistributedDataParallel: on rank {world.rank()}, {names}{more} received no "
                f"gradient from this backward; pass find_unused_parameters=True when forwards "
                f"may leave parameters out")
        if self.find_unused:
            # How many ranks have a gradient for each parameter: none keeps it at None.
            having = np.array([node is not None or p.grad is not None
                               for node, p in zip(self.got, self.params)], dtype=np.int32)
        for k in absent:  # what this rank has for them: an accumulated gradient, or nothing
            (bucket, index), p = self.places[k], self.params[k]
            if p.grad is not None:
                self._take(bucket, index, np.zeros((), bucket.dtype), p)
            else:
                if bucket.buffer is None:
                    bucket.take_buffer()
                bucket.view(index).fill(0)
        if self.launched < len(self.buckets):
            self.ready = [True] * len(self.buckets)
            self._launch_ready()
        requests = [b.request for b in self.buckets]
        if self.find_unused:
            requests.append(world._world.comm.Iallreduce(MPI.IN_PLACE, having, op=MPI.SUM))
        world.wait(requests, "DistributedDataParallel's gradient all-reduce")
        for bucket in self.buckets:
            bucket.request = None
        for k, ((bucket, index), node) in enumerate(zip(self.places, self.got)):
            if node is not None:
                if node in kept:  # the engine writes .grad from kept: the bucket's view
                    kept[node] = Gradient(bucket.view(index), owned=True)
            elif having[k]:
                self.params[k].grad = Tensor._make(bucket.view(index), None)
        self.launched = 0
