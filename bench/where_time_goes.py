"""Where one benchmark workload spends its time: its median wall time, then cProfile's table.

    python bench/where_time_goes.py chainrule_lstm_step
    python bench/where_time_goes.py chainrule_gpt_sample --calls 1 --rows 15
    python bench/where_time_goes.py --list

A workload is any function of bench/workloads.py whose name starts with chainrule_, numpy_ or
torch_ and that returns the callable to time (the bench's own cases).
"""
import argparse
import cProfile
import pstats
import statistics
import time

import workloads

FRAMEWORKS = ("chainrule_", "numpy_", "torch_")


def workload_names():
    return sorted(name for name in dir(workloads)
                  if name.startswith(FRAMEWORKS) and callable(getattr(workloads, name)))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", nargs="?", help="a function of bench/workloads.py")
    parser.add_argument("args", nargs="*", help="its arguments, as ints (e.g. a batch size)")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--calls", type=int, default=10, help="calls timed, then profiled")
    parser.add_argument("--rows", type=int, default=25, help="rows of the profile to print")
    args = parser.parse_args()
    names = workload_names()
    if args.list or args.workload is None:
        print("\n".join(names))
        return
    if args.workload not in names:
        parser.error(f"unknown workload {args.workload!r}; --list shows the {len(names)} there are")
    run = getattr(workloads, args.workload)(*(int(a) for a in args.args))
    run()  # warm up: first-call imports, caches, a compiled step's capture
    times = []
    for _ in range(args.calls):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(f"{args.workload}: median {1e3 * statistics.median(times):.2f} ms "
          f"over {args.calls} calls, without the profiler")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(args.calls):
        run()
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(args.rows)


if __name__ == "__main__":
    main()
