"""``chainrule compile``: trace one training step of a network with ``cr.compile`` and print
the NumPy program it replays (and, with ``--time``, how long eager and compiled steps take)."""
import argparse
import textwrap
import time

from ..argtypes import output_file, positive_float, positive_int

EXAMPLES = """examples:
  chainrule compile --show                        # the d2l MLP's step (784-256-10, SGD)
  chainrule compile --show --guards               # and when the plan holds
  chainrule compile --hidden 128 64 --optimizer adam --out step.py
  chainrule compile --model lenet --time 20       # eager against compiled, 20 steps each
"""


def register(commands):
    parser = commands.add_parser(
        "compile", help="print a training step as the NumPy program cr.compile replays",
        description=textwrap.fill(
            "Build a network (the 784-256-10 MLP of d2l 4.7 by default) and an optimizer, "
            "trace one training step on a random batch with cr.compile, and print the program "
            "it replays: one NumPy line per operation, the textbook's names where the network "
            "is d2l's, buffers preallocated, each value deleted after its last use.", 79),
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--show", action="store_true",
                        help="print the program (the default when nothing else is asked)")
    parser.add_argument("--guards", action="store_true",
                        help="also print the guards: when the plan holds")
    parser.add_argument("--out", metavar="PATH", type=output_file,
                        help="write the program to PATH instead of printing it")
    parser.add_argument("--time", type=positive_int, metavar="STEPS",
                        help="time STEPS eager and STEPS compiled steps and print both")
    parser.add_argument("--model", choices=("mlp", "lenet"), default="mlp",
                        help="mlp (default; --hidden) or lenet (28x28 images)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[256], metavar="N",
                        help="hidden layer sizes of the MLP (default: 256)")
    parser.add_argument("--batch-size", type=positive_int, default=64,
                        help="examples per step (default: 64)")
    parser.add_argument("--optimizer", choices=("sgd", "momentum", "adam"), default="sgd",
                        help="sgd (default), momentum (SGD with momentum 0.9) or adam")
    parser.add_argument("--lr", type=positive_float, default=0.1,
                        help="learning rate (default: 0.1)")
    parser.set_defaults(run=run_compile)


def _setup(args):
    import numpy as np

    import chainrule as cr
    from .. import models, nn, optim
    cr.manual_seed(0)
    model = models.mlp(784, args.hidden, 10) if args.model == "mlp" else models.lenet()
    params = model.parameters()
    optimizer = (optim.Adam(params, lr=args.lr) if args.optimizer == "adam" else
                 optim.SGD(params, lr=args.lr, momentum=0.9 if args.optimizer == "momentum"
                           else 0))
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.random((args.batch_size, 784), dtype=np.float32))
    y = rng.integers(0, 10, args.batch_size)

    def step(x, y):
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss
    return step, x, y


def run_compile(args):
    import chainrule as cr
    step, x, y = _setup(args)
    compiled = cr.compile(step)
    # Momentum buffers and Adam's moments exist from the second step on: trace until the
    # plan for the steady state is made.
    for _ in range(4):
        compiled(x, y)
    text = compiled.code + (f"\n\n{compiled.guards}" if args.guards else "")
    if args.out:
        from ..serialize.atomic import atomic_write
        atomic_write(args.out, [text.encode()], what="program")
        print(f"wrote {args.out}")
    elif args.show or not args.time:
        print(text, end="")
    if args.time:
        eager = _time(lambda: step(x, y), args.time)
        replay = _time(lambda: compiled(x, y), args.time)
        print(f"eager {eager * 1e3:.3f} ms, compiled {replay * 1e3:.3f} ms a step "
              f"(median of {args.time}; compiled is {replay / eager:.2f}x eager)")
    return 0


def _time(run, steps):
    samples = []
    for _ in range(steps):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]
