"""makemore's MLP language model (Building makemore, part 2: Bengio et al. 2003 on names) trained
by chainrule and by PyTorch with the same setup: the lecture's code line for line in each
framework, the same initial weights (drawn once, N(0, 1) as in the lecture), the same minibatch
indices, SGD at lr 0.1 then 0.01 for the second half. Prints both frameworks' losses on the
whole train and validation splits (makemore's split_loss).

    python docs/examples/lm_compare_makemore.py                  # 1,000 steps
    python docs/examples/lm_compare_makemore.py --steps 200000   # the lecture's run

The names come from ``data.names`` (makemore's split: random.seed(42), 80/10/10); it reads
``--data-dir`` or chainrule's data directory, else ../shared/datasets/makemore.
"""
import argparse
import time
from pathlib import Path

import numpy as np

import chainrule as cr
from chainrule import data

try:
    import torch
except ImportError:
    torch = None

SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "makemore"


def load(data_dir, download):
    for place in ([data_dir] if data_dir else [None, SHARED]):
        try:
            return data.names(data_dir=place, download=download)
        except FileNotFoundError:
            continue
    return None


def train(lib, split, initial, batches, lr_drop):
    """The lecture's loop in ``lib`` (chainrule or torch); returns (train loss, val loss)."""
    as_tensor = (lambda a: cr.tensor(a)) if lib is cr else (lambda a: torch.from_numpy(a))
    F = cr.nn.functional if lib is cr else torch.nn.functional
    parameters = [as_tensor(p.copy()) for p in initial]
    for p in parameters:
        p.requires_grad = True
    C, W1, b1, W2, b2 = parameters
    (Xtr, Ytr), (Xdev, Ydev) = [(as_tensor(x), as_tensor(y)) for x, y in split]

    def loss_of(X, Y):
        emb = C[X]
        h = lib.tanh(emb.view(-1, 30) @ W1 + b1)
        return F.cross_entropy(h @ W2 + b2, Y)

    start = time.perf_counter()
    for i, ix in enumerate(batches):
        ix = as_tensor(ix)
        loss = loss_of(Xtr[ix], Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = 0.1 if i < lr_drop else 0.01
        with lib.no_grad():
            for p in parameters:
                p += -lr * p.grad
    seconds = time.perf_counter() - start
    with lib.no_grad():
        return loss_of(Xtr, Ytr).item(), loss_of(Xdev, Ydev).item(), seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--data-dir")
    parser.add_argument("--download", action="store_true")
    args = parser.parse_args()
    print("makemore part 2 setup: block 3, embeddings of 10, 200 tanh units, N(0, 1) "
          "initialisation, batches of 32, SGD lr 0.1 then 0.01 for the second half, seed 0, "
          "float32")
    names = load(args.data_dir, args.download)
    if names is None:
        print("makemore's names.txt was not found: pass --data-dir DIR or --download")
        return
    if torch is not None:
        torch.set_num_threads(1)
    split = [tuple(t.numpy() for t in part.tensors) for part in (names.train, names.val)]
    rng = np.random.default_rng(0)
    shapes = [(27, 10), (30, 200), (200,), (200, 27), (27,)]
    initial = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    batches = rng.integers(0, len(split[0][1]), size=(args.steps, 32))
    ours = train(cr, split, initial, batches, args.steps // 2)
    line = (f"{args.steps} steps: chainrule train loss {ours[0]:.4f}, val loss {ours[1]:.4f} "
            f"({ours[2]:.0f}s)")
    if torch is None:
        print(line + "; PyTorch is not installed")
        return
    theirs = train(torch, split, initial, batches, args.steps // 2)
    print(line + f"; PyTorch train loss {theirs[0]:.4f}, val loss {theirs[1]:.4f} "
                 f"({theirs[2]:.0f}s); val difference {ours[1] - theirs[1]:+.4f}")


if __name__ == "__main__":
    main()
