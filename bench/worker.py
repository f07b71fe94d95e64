"""Times one workload in this process and prints its median as JSON (used by run.py)."""
import json
import statistics
import sys
import time

import workloads


def _parse(param):
    if "-" in param and not param.startswith("/"):
        return tuple(int(s) for s in param.split("-"))
    return int(param) if param.isdigit() else param


def main(framework, case, *params):
    args = [_parse(p) for p in params]
    workload = getattr(workloads, f"{framework}_{case}")
    if case == "step_memory":
        print(json.dumps({"value": workload(*args)}))
        return
    if case.startswith("checkpoint_"):  # measures itself: the checkpointed and the plain step
        print(json.dumps(workload(*args)))
        return
    if case == "epoch_overhead":
        epoch, steps = workload(*args)
        print(json.dumps({"value": epoch, "steps_s": steps}))
        return
    run = workload(*args)
    repeat, warmup = {"chain": (200, 20), "lenet_step": (30, 5), "conv": (30, 5),
                      "import": (15, 2), "gpt_step": (20, 3), "lstm_step": (20, 3),
                      "compiled_gpt_step": (20, 3), "compiled_lstm_step": (20, 3),
                      "gpt_sample": (3, 1)}.get(case, (200, 30))
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    print(json.dumps({"value": statistics.median(samples), "repeat": repeat}))


if __name__ == "__main__":
    main(*sys.argv[1:])
