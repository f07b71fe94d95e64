"""chainrule's speed benchmarks: every figure is a median measured in this run, each framework
in its own process, and every target is a ratio to a peer measured alongside it.

    python bench/run.py            # all benchmarks, five interleaved rounds (about 5 minutes)
    python bench/run.py --quick    # fewer rounds
"""
import argparse
import json
import os
import platform
import statistics
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

MNIST = HERE.parent.parent / "shared" / "datasets" / "mnist"

# (label, case, params, baseline framework, target ratio of chainrule to that baseline)
BENCHMARKS = [
    ("per-op overhead: 500-op chain on (8,), fwd+bwd", "chain", [], "torch", 0.70),
    ("MLP step 784-256-10, batch 256", "mlp_step", ["784-256-10", "256"], "numpy", 1.10),
    ("MLP step 784-256-10, batch 64", "mlp_step", ["784-256-10", "64"], "numpy", 1.25),
    ("MLP step 784-1024-1024-10, batch 128", "mlp_step", ["784-1024-1024-10", "128"], "numpy",
     1.10),
    ("inference (no_grad) 784-256-10, batch 256", "inference", ["784-256-10", "256"], "numpy",
     1.05),
    ("step memory above params 784-1024-1024-10 @1024", "step_memory",
     ["784-1024-1024-10", "1024"], "torch", 1.00),
    ("d2l epoch on 8,000 MNIST images vs its steps", "epoch_overhead", [str(MNIST)], "steps",
     1.20),
    ("LeNet step (relu, max pool) 28x28, batch 64", "lenet_step", ["64"], "torch", 2.00),
    ("LeNet step (relu, max pool) 28x28, batch 256", "lenet_step", ["256"], "torch", 2.00),
    # cr.compile: the traced step replayed as NumPy, against hand-written NumPy with every
    # large array preallocated (out=); the step's matrix products alone are printed beside.
    ("compiled MLP step 784-256-10, batch 64", "compiled_mlp_step", ["784-256-10", "64"],
     "numpy", 1.00),
    ("compiled MLP step 784-256-10, batch 256", "compiled_mlp_step", ["784-256-10", "256"],
     "numpy", 1.00),
    ("compiled MLP step 784-1024-1024-10, batch 128", "compiled_mlp_step",
     ["784-1024-1024-10", "128"], "numpy", 1.00),
    ("compiled 500-op chain on (8,), fwd+bwd", "compiled_chain", [], "torch", 0.20),
    ("compiled LeNet step 28x28, batch 64", "compiled_lenet_step", ["64"], "torch", 1.00),
    ("conv2d fwd+bwd 64x1x28x28 * 6x1x5x5 pad 2", "conv", ["64-1-28-28-6-5-2"], "torch", 2.00),
    ("conv2d fwd+bwd 64x6x14x14 * 16x6x5x5", "conv", ["64-6-14-14-16-5-0"], "torch", 2.00),
    ("conv2d fwd+bwd 16x64x32x32 * 64x64x3x3 pad 1", "conv", ["16-64-32-32-64-3-1"], "torch",
     2.00),
    ("start-up: import chainrule vs import numpy", "import", [], "numpy", 1.50),
    # Sequences (issue 21): nanoGPT's CPU configuration (block 64, batch 12, 4 layers, 4 heads,
    # width 128, vocabulary 65) with AdamW and clipping; d2l's LSTM language model (one-hot 28,
    # hidden 256, batch 32, 35 steps) with SGD and clipping; nanoGPT's sampling of 500 tokens.
    ("GPT step, nanoGPT's CPU configuration", "gpt_step", [], "torch", 1.20),
    ("LSTM language-model step, d2l's (28-256, 32x35)", "lstm_step", [], "torch", 1.50),
    ("GPT sampling, 500 characters", "gpt_sample", [], "torch", 1.20),
    ("compiled GPT step, nanoGPT's CPU configuration", "compiled_gpt_step", [], "torch", 1.20),
    ("compiled LSTM LM step, d2l's (28-256, 32x35)", "compiled_lstm_step", [], "torch", 1.20),
    # Activation checkpointing against the same model run plainly (chainrule's "plain"), with
    # PyTorch's checkpoint_sequential against its own plain run shown beside it.
    ("checkpoint_sequential 16 blocks @1024: peak", "checkpoint_memory", ["16-256-1024-4"],
     "plain", 0.65),
    ("checkpoint_sequential 16 blocks @1024: time", "checkpoint_time", ["16-256-1024-4"],
     "plain", 1.35),
]
FRAMEWORKS_OF = {"step_memory": ["chainrule", "torch"], "epoch_overhead": ["chainrule"],
                 "lenet_step": ["chainrule", "torch"], "conv": ["chainrule", "torch"],
                 "import": ["chainrule", "numpy"], "checkpoint_memory": ["chainrule", "torch"],
                 "checkpoint_time": ["chainrule", "torch"]}

FRAMEWORKS_OF.update({case: ["chainrule", "torch"] for case in ("gpt_step", "lstm_step",
                                                                 "gpt_sample")})
FRAMEWORKS_OF.update({"compiled_mlp_step": ["chainrule", "numpy", "gemm"],
                      "compiled_chain": ["chainrule", "torch"],
                      "compiled_lenet_step": ["chainrule", "torch"],
                      "compiled_gpt_step": ["chainrule", "torch"],
                      "compiled_lstm_step": ["chainrule", "torch"]})


def _mpi_ready():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return mpiexec() is not None


def has_torch():
    try:
        import torch  # noqa: F401
        return True
    except ImportError:
        return False


# Data-parallel training (issue 23), two ranks under mpiexec (bench/distributed_bench.py): the
# synchronisation of the MLP's gradients against one raw MPI_Allreduce of the same bytes, and a
# whole 2-rank step against the 1-process step on half the batch (BLAS on one rank's share of the
# cores, as each rank has) plus that all-reduce.
BENCHMARKS += [
    ("gradient sync, MLP 784-256-10 (0.8 MB), 2 ranks", "dist_sync", ["784-256-10"],
     "allreduce", 1.10),
    ("2-rank step 784-256-10, batch 256 (128 each)", "dist_step", ["784-256-10", "256"],
     "half+allreduce", 1.00),
]
FRAMEWORKS_OF.update({"dist_sync": ["chainrule"], "dist_step": ["chainrule"]})


def mpiexec():
    return shutil.which("mpiexec") or shutil.which("mpiexec", path=str(Path(sys.executable).parent))


def measure_distributed(case, params):
    """A distributed row's figures: ``value`` (chainrule's) and its baseline, by name."""
    src = str(HERE.parent / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, str(HERE)]))
    out = subprocess.run([mpiexec(), "-n", "2", sys.executable, str(HERE / "distributed_bench.py"),
                          case.removeprefix("dist_"), *params],
                         capture_output=True, text=True, env=env, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if case == "dist_step":
        sizes, batch = params
        share = max(1, (os.cpu_count() or 2) // 2)
        threads = {name: str(share) for name in
                   ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
        half = measure("chainrule", "mlp_step", [sizes, str(int(batch) // 2)], threads)
        result["half+allreduce"] = half["value"] + result["allreduce"]
        result["half"] = half["value"]
    return result


def measure(framework, case, params, threads=None):
    if case.startswith("dist_"):
        return measure_distributed(case, params)
    src = str(HERE.parent / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, str(HERE)]), **(threads or {}))
    out = subprocess.run([sys.executable, str(HERE / "worker.py"), framework, case, *params],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rounds, only=None):
    frameworks = ["chainrule", "numpy"] + (["torch"] if has_torch() else [])
    rows = []
    for label, case, params, baseline, target in BENCHMARKS:
        if only and only not in case:
            continue
        if case.startswith("dist_") and not _mpi_ready():
            print(f"{label:46}   skipped: no mpiexec or mpi4py (pip install 'chainrule[mpi]')")
            continue
        if case == "epoch_overhead" and not MNIST.exists():
            print(f"{label:46}   skipped: no MNIST files at {MNIST}")
            continue
        runs = [f for f in FRAMEWORKS_OF.get(case, frameworks) if f in frameworks or f == "gemm"]
        values = {f: [] for f in runs}
        for _ in range(rounds):  # interleaved, so drift on a shared machine hits all alike
            for framework in runs:
                result = measure(framework, case, params)
                values[framework].append(result["value"])
                for key in ("allreduce", "half", "half+allreduce", "pass+iallreduce"):
                    # distributed baselines
                    if key in result:
                        values.setdefault(key, []).append(result[key])
                if "steps_s" in result:
                    values.setdefault("steps", []).append(result["steps_s"])
                if "plain" in result:  # the same model without checkpointing, same process
                    key = "plain" if framework == "chainrule" else f"{framework} plain"
                    values.setdefault(key, []).append(result["plain"])
        medians = {f: statistics.median(v) for f, v in values.items()}
        ratio = medians["chainrule"] / medians[baseline] if baseline in medians else None
        rows.append((label, medians, baseline, ratio, target, case))
        print_row(rows[-1], frameworks)
        if "gemm" in medians:  # the compiled step's floor: its matrix products alone
            print(f"{'':46}   GEMM floor {medians['gemm'] * 1e3:.3f}ms: chainrule "
                  f"{medians['chainrule'] / medians['gemm']:.2f}x, NumPy "
                  f"{medians['numpy'] / medians['gemm']:.2f}x the floor", flush=True)
    return rows


def print_header(frameworks):
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"python {platform.python_version()}")
    names = "".join(f"{f:>11}" for f in frameworks)
    print(f"\n{'benchmark':46}{names}   ratio (vs)        target  met")


def _cell(case, framework, medians):
    if framework not in medians:
        return f"{'-':>11}"
    if case in ("step_memory", "checkpoint_memory"):
        return f"{medians[framework] / 2**20:>9.2f}MB"
    return f"{medians[framework] * 1e3:>9.3f}ms"


def print_row(row, frameworks):
    label, medians, baseline, ratio, target, case = row
    cells = "".join(_cell(case, f, medians) for f in frameworks)
    if case == "epoch_overhead":
        cells = (f"{medians['chainrule'] * 1e3:>9.1f}ms  (steps alone "
                 f"{medians['steps'] * 1e3:.1f}ms)").ljust(11 * len(frameworks))
    if ratio is None:
        verdict = f"{'n/a (' + baseline + ' absent)':>24}"
    else:
        verdict = f"{ratio:>6.2f}x ({baseline:>5})   <= {target:.2f}x  " \
                  f"{'yes' if ratio <= target else 'NO'}"
    if case == "epoch_overhead":
        verdict = f"{ratio:>6.2f}x (steps)   <= {target:.2f}x  {'yes' if ratio <= target else 'NO'}"
    if "torch plain" in medians:
        verdict += f"  (torch {medians['torch'] / medians['torch plain']:.2f}x its plain)"
    print(f"{label:46}{cells}   {verdict}", flush=True)
    if "allreduce" in medians:
        extra = f", 1-rank half-batch step {medians['half'] * 1e3:.3f}ms" if "half" in medians \
            else ""
        if "pass+iallreduce" in medians:  # the least an average costs: one pass, Iallreduce
            extra += (f", one dividing pass + MPI_Iallreduce {medians['pass+iallreduce'] * 1e3:.3f}"
                      f"ms ({medians['pass+iallreduce'] / medians['allreduce']:.2f}x)")
        print(f"{'':46}   raw MPI_Allreduce of the same bytes {medians['allreduce'] * 1e3:.3f}ms"
              f"{extra}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round instead of five")
    parser.add_argument("--only", help="run only cases whose name contains this")
    args = parser.parse_args(argv)
    frameworks = ["chainrule", "numpy"] + (["torch"] if has_torch() else [])
    print_header(frameworks)
    rows = run(1 if args.quick else 5, args.only)
    missed = [r for r in rows if r[3] is not None and r[3] > r[4]]
    print("ratios: chainrule's median over the baseline's median, measured in this run; each "
          "framework runs in its own process")
    print(f"\n{len(rows) - len(missed)} of {len(rows)} targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
