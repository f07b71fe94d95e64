"""Times one workload in this process and prints its median as JSON (used by run.py)."""
import json
import statistics
import sys
import time

import workloads


def main(framework, case, *params):
    args = [tuple(int(s) for s in p.split("-")) if "-" in p else int(p) for p in params]
    run = getattr(workloads, f"{framework}_{case}")(*args)
    repeat, warmup = (50, 10) if case == "chain" else (200, 30)
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    print(json.dumps({"median_s": statistics.median(samples), "repeat": repeat}))


if __name__ == "__main__":
    main(*sys.argv[1:])
