"""chainrule.distributed: N processes with batch B take the steps of one process with batch N*B.

The tests launch this file with ``mpiexec -n 2`` and ``-n 3`` (``python test_distributed.py
SCENARIO ...`` runs one rank's part); rank 0 then trains the same model in one process with the
whole batch and compares. Without mpiexec or mpi4py the multi-process tests skip, naming what is
missing (CI installs both through the ``mpi`` extra).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve()
# The mpich wheel puts mpiexec beside the interpreter, which may not be on PATH.
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))


def _mpi_missing():
    # "missing tool:" makes a skip fail under CI=true (conftest.py): CI installs the mpi extra.
    if MPIEXEC is None:
        return "missing tool: mpiexec (pip install 'chainrule[mpi]': mpi4py and MPICH)"
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return "missing tool: mpi4py (pip install 'chainrule[mpi]')"
    return None


needs_mpi = pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))


def launch(n, *args, timeout=120, env=None):
    """Run this file's ``args`` scenario on ``n`` ranks; returns the CompletedProcess."""
    environment = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src"), **(env or {})}
    environment.pop("CI", None)
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, str(HERE), *args],
                          capture_output=True, text=True, timeout=timeout, env=environment)


# -- the scenarios, run on every rank ------------------------------------------------------------
def _model(kind, dtype):
    import chainrule as cr
    from chainrule import models, nn
    if kind == "mlp":
        model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.Tanh(),
                              nn.Linear(16, 10))
    else:
        model = models.lenet(classes=10, image_size=8)
    return model.to(dtype=cr.float64 if dtype == "float64" else cr.float32)


def _optimizer(kind, params):
    from chainrule import optim
    if kind == "sgd":
        return optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=1e-3)
    return optim.Adam(params, lr=1e-3)


def _data(dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((72, 64)).astype(dtype)
    y = rng.integers(0, 10, 72)
    return x, y


def _train(model, loader, optimizer, epochs, sampler=None):
    import chainrule as cr
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        for x, y in loader:
            loss = cr.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def _weights(model):
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def scenario_exact(kind, optimizer_kind, dtype, batch):
    """Train on this rank's shard, then rank 0 compares with one process on the whole batch."""
    import chainrule as cr
    from chainrule import data, distributed as dist
    rank, size = dist.init()
    batch = int(batch)
    dataset = data.TensorDataset(*map(cr.tensor, _data(dtype)))
    cr.manual_seed(10 + rank)  # a different start on each rank: DDP must take rank 0's
    model = dist.DistributedDataParallel(_model(kind, dtype), bucket_cap_mb=0.004)
    sampler = dist.DistributedSampler(dataset, seed=3)
    loader = data.DataLoader(dataset, batch_size=batch, sampler=sampler)
    _train(model, loader, _optimizer(optimizer_kind, model.parameters()), 2, sampler)
    ours = _weights(model.module)
    theirs = ours.copy()
    dist.broadcast(theirs, 0)
    spread = np.array([np.abs(ours - theirs).max()])
    dist.all_reduce(spread, op="max")
    if rank == 0:
        cr.manual_seed(10)
        reference = _model(kind, dtype)
        loader = data.DataLoader(dataset, batch_size=batch * size, shuffle=True, seed=3)
        _train(reference, loader, _optimizer(optimizer_kind, reference.parameters()), 2)
        expected = _weights(reference)
        error = np.abs(ours - expected).max() / np.abs(expected).max()
        moved = np.abs(ours - _weights(_model_at_start(kind, dtype))).max()
        print(f"RESULT steps={2 * len(loader)} relative_error={error:.3g} "
              f"rank_spread={spread[0]:.3g} moved={moved:.3g}")


def _model_at_start(kind, dtype):
    import chainrule as cr
    cr.manual_seed(10)
    return _model(kind, dtype)


def scenario_fail(how):
    """Rank 1 fails part-way through training; the others are waiting in an all-reduce."""
    import chainrule as cr
    from chainrule import distributed as dist
    rank, _ = dist.init(timeout=float(os.environ.get("TEST_TIMEOUT", 60)))
    model = dist.DistributedDataParallel(cr.nn.Linear(4, 2))
    Path(os.environ["TEST_READY_DIR"], f"rank{rank}").write_text(str(os.getpid()))
    for step in range(10**6):
        if rank == 1 and step == 20:
            if how == "raise":
                raise ValueError("a bad batch")
            if how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            if how == "hang":
                import time
                time.sleep(3600)
        model(cr.ones(3, 4)).sum().backward()


def scenario_mismatch(what):
    """Ranks that build different models, or hold datasets of different sizes."""
    import chainrule as cr
    from chainrule import distributed as dist
    rank, _ = dist.init()
    try:
        if what == "model":
            dist.DistributedDataParallel(cr.nn.Linear(4, 2 + rank))
        else:
            dist.DistributedSampler(range(10 + rank))
    except dist.DistributedError as error:
        refusals = dist.all_gather_json(str(error), "the refusals")
        if rank == 0:  # one rank prints: the launcher may interleave the ranks' lines
            print("\n".join(f"REFUSED rank {r}: {text}" for r, text in enumerate(refusals)))


def scenario_accumulate():
    """Two micro-batches per step, the first under no_sync(): one process with the whole batch."""
    import chainrule as cr
    from chainrule import data, distributed as dist
    rank, size = dist.init()
    dataset = data.TensorDataset(*map(cr.tensor, _data("float64")))
    cr.manual_seed(10)
    model = dist.DistributedDataParallel(_model("mlp", "float64"))
    sampler = dist.DistributedSampler(dataset, seed=3)
    batches = iter(data.DataLoader(dataset, batch_size=3, sampler=sampler))
    optimizer = _optimizer("sgd", model.parameters())
    for step in range(4):
        optimizer.zero_grad()
        with model.no_sync():
            x, y = next(batches)
            (cr.nn.functional.cross_entropy(model(x), y) / 2).backward()
        x, y = next(batches)
        (cr.nn.functional.cross_entropy(model(x), y) / 2).backward()
        optimizer.step()
    if rank == 0:
        cr.manual_seed(10)
        reference = _model("mlp", "float64")
        loader = data.DataLoader(dataset, batch_size=6 * size, shuffle=True, seed=3)
        optimizer = _optimizer("sgd", reference.parameters())
        for _, (x, y) in zip(range(4), loader):
            optimizer.zero_grad()
            cr.nn.functional.cross_entropy(reference(x), y).backward()
            optimizer.step()
        error = np.abs(_weights(model.module) - _weights(reference)).max()
        print(f"RESULT relative_error={error / np.abs(_weights(reference)).max():.3g}")


def scenario_unused(strict=""):
    """A parameter no rank uses keeps no gradient; one only rank 0 uses gets rank 0's share.
    ``strict``: without find_unused_parameters, which refuses."""
    import chainrule as cr
    from chainrule import distributed as dist
    rank, size = dist.init()

    class Branches(cr.nn.Module):
        def __init__(self):
            self.a = cr.nn.Linear(3, 2).double()
            self.b = cr.nn.Linear(3, 2).double()
            self.never = cr.nn.Parameter(cr.ones(2, dtype=cr.float64))

        def forward(self, x, use_b):
            return self.a(x) + self.b(x) if use_b else self.a(x)

    inner = Branches()
    if strict:
        del inner.never
    model = dist.DistributedDataParallel(inner, find_unused_parameters=not strict)
    for step in range(2):
        model.zero_grad()
        model(cr.ones(4, 3, dtype=cr.float64) * (rank + 1), rank == 0).sum().backward()
        inner = model.module
        line = (f"RESULT rank={rank} never={inner.never.grad} "
                f"b_bias={inner.b.bias.grad.numpy().tolist()} "
                f"a_bias={inner.a.bias.grad.numpy().tolist()}")
        lines = dist.all_gather_json(line, "the results")
        if rank == 0:
            print("\n".join(lines))


def scenario_overlap():
    """When backward reaches the first layer's output, the later layers' buckets are already
    all-reducing."""
    import chainrule as cr
    from chainrule import distributed as dist
    rank, _ = dist.init()
    seen = []

    class ThreeLayers(cr.nn.Module):
        def __init__(self):
            self.layers = [cr.nn.Linear(8, 8), cr.nn.Linear(8, 8), cr.nn.Linear(8, 2)]

        def forward(self, x):
            h = self.layers[0](x).tanh()
            h.register_hook(lambda g: seen.append(model._reducer.launched))
            return self.layers[2](self.layers[1](h).tanh())

    model = dist.DistributedDataParallel(ThreeLayers(), bucket_cap_mb=1e-5)
    for _ in range(2):
        model(cr.ones(4, 8)).sum().backward()
    if rank == 0:
        print(f"RESULT buckets={len(model._reducer.buckets)} launched_at_first_layer={','.join(map(str, seen))}")


def scenario_grad_doors():
    """What a user does with ``.grad`` around DDP's backward, each checked against the average of
    the ranks' plain local gradients (each rank's own batch, a model without DDP): reading it,
    keeping it across a step, zero_grad(set_to_none=True/False), accumulating over synchronised
    steps, replacing it before backward, no_sync(), and changing one .grad in place."""
    import chainrule as cr
    from chainrule import distributed as dist, nn
    rank, size = dist.init()

    def build():
        cr.manual_seed(5)
        return nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3)).double()

    # bucket_cap_mb=1e-4 (about 100 bytes): several buckets, so views into more than one.
    model = dist.DistributedDataParallel(build(), bucket_cap_mb=1e-4)
    plain = build()
    params, names = list(model.module.parameters()), [n for n, _ in plain.named_parameters()]
    checks = []

    def batch(seed):
        rng = np.random.default_rng(100 * seed + rank)
        return cr.tensor(rng.standard_normal((6, 5)))

    def local(seed):  # this rank's plain gradients for batch(seed)
        plain.zero_grad()
        (plain(batch(seed)) ** 2).sum().backward()
        return [p.grad.numpy().copy() for p in plain.parameters()]

    def average(grads):
        total = [g.copy() for g in grads]
        for g in total:
            dist.all_reduce(g)
        return [g / size for g in total]

    def ddp_backward(seed):
        (model(batch(seed)) ** 2).sum().backward()

    def check(door, expected):
        error = max(np.abs(p.grad.numpy() - e).max() / max(np.abs(e).max(), 1e-300)
                    for p, e in zip(params, expected))
        checks.append(f"{door}={error:.3g}")

    model.zero_grad()
    ddp_backward(1)
    check("read", average(local(1)))
    kept = [p.grad for p in params]
    kept_values = [g.numpy().copy() for g in kept]

    model.zero_grad(set_to_none=True)
    ddp_backward(2)
    check("set_to_none", average(local(2)))
    unchanged = all(np.array_equal(g.numpy(), v) for g, v in zip(kept, kept_values))
    checks.append(f"kept_unchanged={unchanged}")

    model.zero_grad(set_to_none=False)
    checks.append(f"zeroed={all(not p.grad.numpy().any() for p in params)}")
    ddp_backward(3)
    check("zeroed_then_backward", average(local(3)))

    ddp_backward(4)  # no zero_grad: synchronised steps add up, as in PyTorch
    check("accumulate_synced", [a + b for a, b in zip(average(local(3)), average(local(4)))])

    replaced = [cr.tensor(np.full(p.shape, float(rank + 1))) for p in params]
    for p, r in zip(params, replaced):
        p.grad = r
    ddp_backward(5)  # the replaced .grad is this rank's start: the ranks' mean is added
    check("replaced", [g + (size + 1) / 2 for g in average(local(5))])

    model.zero_grad()
    with model.no_sync():
        ddp_backward(6)
    check("no_sync_local", local(6))
    ddp_backward(7)
    check("no_sync_then_synced", [a + b for a, b in zip(average(local(6)), average(local(7)))])

    before = [p.grad.numpy().copy() for p in params]
    params[-1].grad.mul_(0.0)  # one .grad changed in place changes no other
    apart = all(np.array_equal(p.grad.numpy(), b) for p, b in zip(params[:-1], before[:-1]))
    checks.append(f"views_apart={apart}")

    # Nothing holds the last buckets once zero_grad() drops .grad: the next backward writes
    # into the same arrays.
    model.zero_grad()
    before = [id(b.buffer) for b in model._reducer.buckets]
    ddp_backward(8)
    check("reused", average(local(8)))
    checks.append(f"reused_buffers={[id(b.buffer) for b in model._reducer.buckets] == before}")
    checks.append(f"buckets={len(model._reducer.buckets)}")
    lines = dist.all_gather_json(" ".join(checks), "the checks")
    if rank == 0:
        print("\n".join(f"RESULT rank={r} {line}" for r, line in enumerate(lines)))


def scenario_trainer():
    """Trainer.fit with your own model and loader, on every rank: rank 0 compares with one
    process."""
    import chainrule as cr
    from chainrule import data, distributed as dist, train
    rank, size = dist.init()

    def fit():
        cr.manual_seed(10)
        model = _model("mlp", "float64")
        loader = data.DataLoader(data.TensorDataset(*map(cr.tensor, _data("float64"))),
                                 batch_size=12, shuffle=True, seed=3)
        trainer = train.Trainer(epochs=2, progress=False, log=None)
        trainer.fit(model, loader, optimizer=_optimizer("sgd", model.parameters()))
        return _weights(model), trainer.history[-1].train_loss

    ours, loss = fit()
    if rank == 0:
        alone = dist.world._world
        alone.comm, alone.size = None, 1  # a world of one now: the one-process run
        expected, expected_loss = fit()
        error = np.abs(ours - expected).max() / np.abs(expected).max()
        print(f"RESULT relative_error={error:.3g} loss_error={abs(loss - expected_loss):.3g}")


# -- the tests -----------------------------------------------------------------------------------
def _result(process):
    assert process.returncode == 0, process.stdout + process.stderr
    line = [s for s in process.stdout.splitlines() if s.startswith("RESULT")]
    assert line, process.stdout + process.stderr
    return dict(item.split("=") for item in line[0].split()[1:])


EXACT = [(2, "mlp", "sgd", "float64", 1e-12), (3, "mlp", "adam", "float64", 1e-12),
         (2, "mlp", "adam", "float32", 1e-6), (3, "mlp", "sgd", "float32", 1e-6),
         (2, "lenet", "sgd", "float64", 1e-12), (3, "lenet", "adam", "float64", 1e-12),
         (2, "lenet", "adam", "float32", 1e-6)]


@needs_mpi
@pytest.mark.parametrize("n, kind, optimizer, dtype, tolerance", EXACT)
def test_n_processes_match_one_process_with_n_times_the_batch(n, kind, optimizer, dtype,
                                                              tolerance):
    result = _result(launch(n, "exact", kind, optimizer, dtype, "4"))
    assert float(result["moved"]) > 1e-3  # training did change the weights
    assert float(result["relative_error"]) <= tolerance
    assert float(result["rank_spread"]) == 0.0  # every rank holds the same weights


@needs_mpi
def test_no_sync_accumulates_and_the_next_backward_averages_the_sum():
    result = _result(launch(2, "accumulate"))
    assert float(result["relative_error"]) <= 1e-12


@needs_mpi
def test_parameters_unused_on_some_ranks():
    process = launch(3, "unused")
    assert process.returncode == 0, process.stderr
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT")]
    assert len(lines) == 6, process.stdout
    for line in lines:
        # b is used on rank 0 only (4 rows: 4 per bias entry), averaged over 3 ranks; a
        # everywhere.
        assert "never=None" in line
        assert "b_bias=[1.3333333333333333, 1.3333333333333333]" in line
        assert "a_bias=[4.0, 4.0]" in line


@needs_mpi
def test_buckets_start_while_backward_still_runs():
    result = _result(launch(2, "overlap"))
    assert result["buckets"] == "6"
    assert result["launched_at_first_layer"] == "4,4"  # layers 2 and 3: weight and bias each


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_grad_behaves_as_pytorchs_when_gradients_are_bucket_views(n):
    process = launch(n, "grad_doors")
    assert process.returncode == 0, process.stdout + process.stderr
    lines = [line for line in process.stdout.splitlines() if line.startswith("RESULT")]
    assert len(lines) == n, process.stdout + process.stderr
    for line in lines:
        result = dict(item.split("=") for item in line.split()[1:])
        assert int(result.pop("buckets")) > 1, line
        for flag in ("kept_unchanged", "zeroed", "views_apart", "reused_buffers"):
            assert result.pop(flag) == "True", (flag, line)
        del result["rank"]
        assert len(result) == 8, line
        for door, error in result.items():
            assert float(error) <= 1e-12, (door, line)


@needs_mpi
def test_the_trainer_with_your_own_model_under_mpiexec():
    result = _result(launch(3, "trainer"))
    assert float(result["relative_error"]) <= 1e-12
    assert float(result["loss_error"]) <= 1e-12  # the epoch's loss, summed over the ranks


@needs_mpi
def test_a_parameter_without_gradient_is_refused_unless_find_unused_parameters(tmp_path):
    process = launch(3, "unused", "strict", timeout=60)
    assert process.returncode != 0
    assert ("chainrule.distributed: rank 1 failed: DistributedError: DistributedDataParallel: "
            "on rank 1, b.weight, b.bias received no gradient from this backward; pass "
            "find_unused_parameters=True") in process.stderr, process.stderr
    assert "RESULT" not in process.stdout


def _launch_timed(n, *args, env=None, timeout=60, ready=None):
    start = time.monotonic()
    process = launch(n, *args, env={**(env or {}), "TEST_READY_DIR": str(ready)}, timeout=timeout)
    return process, time.monotonic() - start


@needs_mpi
def test_a_rank_that_raises_stops_every_rank_with_a_line_naming_it(tmp_path):
    process, seconds = _launch_timed(3, "fail", "raise", ready=tmp_path)
    assert process.returncode != 0
    assert seconds < 30
    err = process.stderr
    assert "chainrule.distributed: rank 1 failed: ValueError: a bad batch" in err, err
    for other in (0, 2):
        assert f"chainrule.distributed: rank {other} stopped: rank 1 failed (ValueError: a bad " \
               f"batch)" in err, err


@needs_mpi
def test_a_killed_rank_ends_the_job_promptly(tmp_path):
    process, seconds = _launch_timed(3, "fail", "kill", ready=tmp_path)
    assert process.returncode != 0
    assert seconds < 30
    output = process.stdout + process.stderr
    # The launcher reports a rank killed by signal 9 (the first it reaped: rank 1, or one it
    # then stopped itself).
    pids = [(tmp_path / f"rank{r}").read_text() for r in range(3)]
    assert any(f"PID {pid} " in output for pid in pids) and "EXIT CODE: 9" in output, output


@needs_mpi
def test_a_stuck_rank_makes_the_others_stop_after_the_timeout(tmp_path):
    process, seconds = _launch_timed(2, "fail", "hang", env={"TEST_TIMEOUT": "3"}, ready=tmp_path)
    assert process.returncode != 0
    assert 3 <= seconds < 40
    assert "had no answer from the other ranks within 3 s" in process.stderr, process.stderr
    assert "chainrule.distributed: rank 0 failed" in process.stderr


@needs_mpi
def test_ctrl_c_stops_every_rank(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(HERE.parents[1] / "src"),
                   "TEST_READY_DIR": str(tmp_path)}
    launcher = subprocess.Popen([MPIEXEC, "-n", "2", sys.executable, str(HERE), "fail", "none"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=environment, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"rank{r}").exists() for r in (0, 1)):
            assert time.monotonic() < deadline and launcher.poll() is None, "ranks did not start"
            time.sleep(0.05)
        start = time.monotonic()
        launcher.send_signal(signal.SIGINT)
        out, err = launcher.communicate(timeout=30)
        assert time.monotonic() - start < 30
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)  # the launcher and the ranks it started
    assert launcher.returncode != 0
    assert "interrupted; stopping all ranks" in err, err
    # A rank may finish its own exit a moment after the launcher's.
    pids = [int((tmp_path / f"rank{r}").read_text()) for r in (0, 1)]
    deadline = time.monotonic() + 20
    while any(_running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_running(pid) for pid in pids), "a rank still runs 20 s after the launcher"


def _running(pid):
    try:
        return "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()
    except OSError:
        return False


@needs_mpi
@pytest.mark.parametrize("what, refusal", [
    ("model", "rank 1's model (parameter and buffer names, shapes, dtypes) differs from rank "
              "0's (weight: [[2, 4], 'float32'] on rank 0, [[3, 4], 'float32'] there)"),
    ("dataset", "rank 1's dataset length differs from rank 0's (10 on rank 0, 11 there)")])
def test_ranks_that_disagree_are_refused_at_the_start(what, refusal):
    process = launch(2, "mismatch", what, timeout=60)
    assert process.returncode == 0, process.stderr
    for rank in (0, 1):
        assert f"REFUSED rank {rank}: {refusal}" in process.stdout, process.stdout


# -- one process: a world of one, and the sampler's arithmetic ------------------------------------
def test_outside_mpiexec_the_world_is_one_process_and_collectives_return_their_input():
    import chainrule as cr
    from chainrule import distributed as dist
    assert dist.init() == (0, 1) and dist.rank() == 0 and dist.world_size() == 1
    t = cr.tensor([1.0, -2.0])
    assert dist.all_reduce(t, op="mean") is t and t.tolist() == [1.0, -2.0]
    assert dist.broadcast(t, src=0) is t and t.tolist() == [1.0, -2.0]
    dist.barrier()
    with pytest.raises(ValueError, match="op must be one of"):
        dist.all_reduce(t, op="average")
    with pytest.raises(ValueError, match="src must be a rank in"):
        dist.broadcast(t, src=1)


def test_ddp_in_a_world_of_one_gives_the_plain_gradients():
    import chainrule as cr
    cr.manual_seed(0)
    plain = _model("mlp", "float64")
    cr.manual_seed(0)
    from chainrule import distributed as dist
    wrapped = dist.DistributedDataParallel(_model("mlp", "float64"))
    x, y = map(cr.tensor, _data("float64"))
    for model in (plain, wrapped):
        cr.nn.functional.cross_entropy(model(x), y).backward()
    for a, b in zip(plain.parameters(), wrapped.module.parameters()):
        assert np.array_equal(a.grad.numpy(), b.grad.numpy())
    assert list(wrapped.state_dict())[0].startswith("module.")


def test_import_chainrule_never_loads_mpi4py():
    code = ("import sys, chainrule, chainrule.distributed as d; d.init(); "
            "d.DistributedDataParallel(chainrule.nn.Linear(2, 2)); "
            "assert 'mpi4py' not in sys.modules, 'mpi4py loaded'; print('ok')")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI"))}
    environment["PYTHONPATH"] = str(HERE.parents[1] / "src")
    process = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=environment, timeout=60)
    assert process.stdout.strip() == "ok", process.stderr


@pytest.mark.parametrize("n, replicas, drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                    (2, 3, False), (7, 2, True), (0, 2, False)])
def test_sampler_shards_as_pytorchs_without_shuffle(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    from chainrule import distributed as dist
    for rank in range(replicas):
        ours = dist.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                       drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False,
                                               drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_shards_deal_out_the_loaders_own_shuffled_order():
    import chainrule as cr
    from chainrule import data, distributed as dist
    dataset = data.TensorDataset(cr.arange(24))
    whole = data.DataLoader(dataset, batch_size=6, shuffle=True, seed=5)
    for epoch in range(2):
        expected = [batch[0].tolist() for batch in whole]
        shards = []
        for rank in range(3):
            sampler = dist.DistributedSampler(dataset, 3, rank, seed=5)
            sampler.set_epoch(epoch)
            shards.append([b[0].tolist() for b in data.DataLoader(dataset, 2, sampler=sampler)])
        for t, batch in enumerate(expected):
            assert sorted(batch) == sorted(sum((shard[t] for shard in shards), []))
    assert expected != sorted(sum(expected, []))  # shuffled


def test_sampler_refuses_a_rank_outside_the_world():
    from chainrule import distributed as dist
    with pytest.raises(ValueError, match="rank should be in the interval"):
        dist.DistributedSampler(range(4), num_replicas=2, rank=2)


@pytest.mark.parametrize("module", ["world", "ddp", "sampler"])
def test_the_examples_in_the_docstrings_run(module):
    import doctest
    import importlib
    import chainrule as cr
    found = importlib.import_module(f"chainrule.distributed.{module}")
    result = doctest.testmod(found, extraglobs={"cr": cr, "np": np},
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted and not result.failed


if __name__ == "__main__":
    globals()[f"scenario_{sys.argv[1]}"](*sys.argv[2:])
