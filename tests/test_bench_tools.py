"""The bench's helper scripts that the README's speed figures name run and say what they measured."""
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run(script, *args):
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=300, cwd=BENCH)


def test_where_time_goes_lists_times_and_profiles_a_workload():
    listed = run("where_time_goes.py", "--list")
    assert listed.returncode == 0, listed.stderr
    assert {"chainrule_lstm_step", "chainrule_gpt_sample", "chainrule_chain"} <= set(
        listed.stdout.split())
    profiled = run("where_time_goes.py", "chainrule_chain", "--calls", "2", "--rows", "3")
    assert profiled.returncode == 0, profiled.stderr
    assert "chainrule_chain: median" in profiled.stdout
    assert "Ordered by: internal time" in profiled.stdout


def test_where_time_goes_refuses_an_unknown_workload_with_usage():
    result = run("where_time_goes.py", "chainrule_nothing")
    assert result.returncode == 2
    assert "unknown workload 'chainrule_nothing'" in result.stderr


def test_lstm_floor_prints_each_product_and_the_floor():
    result = run("lstm_floor.py", "--rounds", "1")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    timed = {line.split("  ")[1].strip(): float(line.split()[-2]) for line in lines[1:]}
    assert len(timed) == 5 and all(ms > 0 for ms in timed.values())
    floor = [ms for name, ms in timed.items() if name.startswith("floor")][0]
    parts = [ms for name, ms in timed.items() if not name.startswith(("floor", "dW_hh, 35"))]
    assert abs(floor - sum(parts)) < 0.02  # the floor is forward + dh + one dW_hh, as printed
