"""The matrix products that any LSTM language-model step must run, timed alone in NumPy.

The bench's LSTM row (d2l's model: one-hot 28, hidden 256, batch 32, 35 steps) against this
floor says how much of chainrule's step is the BLAS and how much is everything else:

    python bench/lstm_floor.py            # NumPy's default BLAS threads
    OPENBLAS_NUM_THREADS=1 python bench/lstm_floor.py

Forward: h_{t-1} W_hh^T at each step. Backward: dh_{t-1} = dgates_t W_hh at each step, and
dW_hh = sum_t dgates_t^T h_{t-1}, either as one product per step (what an unrolled graph does)
or as one product of the stacked steps (what a fused RNN kernel does).
"""
import argparse
import time

import numpy as np

from workloads import LSTM_CONFIG


def median_ms(fn, rounds):
    fn()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="timed repetitions (median)")
    args = parser.parse_args()
    batch, hidden, steps = LSTM_CONFIG["batch"], LSTM_CONFIG["hidden"], LSTM_CONFIG["steps"]
    rng = np.random.default_rng(0)
    w_hh = rng.standard_normal((4 * hidden, hidden)).astype(np.float32)
    h = rng.standard_normal((batch, hidden)).astype(np.float32)
    dgates = rng.standard_normal((batch, 4 * hidden)).astype(np.float32)
    h_all = rng.standard_normal((steps * batch, hidden)).astype(np.float32)
    dgates_all = rng.standard_normal((steps * batch, 4 * hidden)).astype(np.float32)

    forward = median_ms(lambda: [h @ w_hh.T for _ in range(steps)], args.rounds)
    d_h = median_ms(lambda: [dgates @ w_hh for _ in range(steps)], args.rounds)
    d_w_each = median_ms(lambda: sum(dgates.T @ h for _ in range(steps)), args.rounds)
    d_w_one = median_ms(lambda: dgates_all.T @ h_all, args.rounds)
    print(f"LSTM step {LSTM_CONFIG}: recurrent products, medians of {args.rounds}")
    print(f"  forward h W_hh^T, {steps} products          {forward:8.2f} ms")
    print(f"  backward dgates W_hh, {steps} products      {d_h:8.2f} ms")
    print(f"  dW_hh, {steps} products summed              {d_w_each:8.2f} ms")
    print(f"  dW_hh, one product of the stacked steps {d_w_one:8.2f} ms")
    print(f"  floor (forward + dh + one dW_hh)        {forward + d_h + d_w_one:8.2f} ms")


if __name__ == "__main__":
    main()
