"""Instructions per op of the 500-op chain (forward and backward), counted by callgrind.

Unlike time, the count barely moves with the machine's load, so it can compare two versions of
the engine on a busy machine. Needs valgrind (Debian's `valgrind`).

    python bench/instructions.py            # this checkout
    python bench/instructions.py OTHER_SRC  # another tree's src/ (e.g. a git worktree)
"""
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPS_PER_RUN = 500
WARMUP, MEASURED = 3, 60

PROGRAM = f"""
import sys
import workloads
run = workloads.chainrule_chain()
for _ in range({WARMUP} + int(sys.argv[1])):
    run()
"""


def instructions(src, runs):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), str(HERE)]), PYTHONHASHSEED="0")
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         sys.executable, "-c", PROGRAM, str(runs)],
        capture_output=True, text=True, env=env, check=True)
    return int(re.search(r"Collected : (\d+)", result.stderr).group(1))


def main():
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent / "src"
    # The difference of two runs cancels the start-up and import cost.
    per_op = (instructions(src, MEASURED) - instructions(src, 0)) / (MEASURED * OPS_PER_RUN)
    print(f"{src}: {per_op:,.0f} instructions per op (500-op chain, forward and backward)")


if __name__ == "__main__":
    main()
