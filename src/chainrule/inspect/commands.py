"""``chainrule graph``, ``chainrule explain`` and ``chainrule memory``.

Each builds one batch's objective for a network (the default 784-256-10 MLP, or a checkpoint's)
and shows its graph, its backward pass or its memory ledger.
"""
import argparse
import sys
import textwrap
from pathlib import Path

from ..argtypes import non_negative_float, non_negative_int, output_file, positive_int
from ..errors import ChainruleError
from ..models import (ACTIVATIONS, MODELS, build, check_fits, describe, load_model,
                      parameter_bytes)
from ..random import manual_seed
from .explain import explain
from .graph import render, to_dot
from .html import to_html
from .memory import memory_report
from .textbook import objective

GRAPH_EXAMPLES = """examples:
  chainrule graph --out graph.svg                 # the 784-256-10 network of d2l 4.7
  chainrule graph --hidden 128 64 --group-by module --out deep.png
  chainrule graph --weight-decay 1e-4             # DOT text on stdout, with s and J
"""
EXPLAIN_EXAMPLES = """examples:
  chainrule explain --weight-decay 1e-4           # dJ/do, dJ/dW2, dJ/dh, dJ/dz, dJ/dW1 ...
  chainrule explain --batch-size 8 --html report.html
  chainrule explain --checkpoint runs/digits/checkpoint.crt --dataset digits
"""
MEMORY_EXAMPLES = """examples:
  chainrule memory                                # 784-256-10 at batch 256
  chainrule memory --hidden 256 256 256 --batch-size 1024 --out memory.json
"""


def register(commands):
    graph = _add(commands, "graph", "draw the computational graph (SVG, PNG or DOT)",
                 "Build one batch's objective and draw its graph: variables as boxes (with "
                 "shape, dtype and name), operators as circles, edges from inputs to outputs.",
                 GRAPH_EXAMPLES)
    graph.add_argument("--out", type=_graph_path, metavar="PATH",
                       help="write PATH (.svg, .png with Graphviz's dot; .dot); default: print "
                            "DOT on stdout")
    graph.add_argument("--group-by", choices=("none", "module"), default="none",
                       help="module: one box around each layer's nodes")
    graph.set_defaults(run=run_graph)

    explain_parser = _add(commands, "explain", "print the backward pass step by step",
                          "Print backward propagation as the chain rule, in the order the "
                          "engine runs it: each gradient's formula in the textbook's "
                          "notation, its shapes and its norm.", EXPLAIN_EXAMPLES)
    explain_parser.add_argument("--html", metavar="PATH", type=output_file,
                                help="write a clickable HTML page of the graph instead")
    explain_parser.set_defaults(run=run_explain)

    memory = _add(commands, "memory", "report what training keeps in memory for backward",
                  "List every array the graph saves for backward (each buffer once), total "
                  "them per module, and compare with what prediction keeps, measured with "
                  "tracemalloc.", MEMORY_EXAMPLES)
    memory.add_argument("--out", metavar="PATH", type=output_file,
                        help="also write the report as JSON")
    memory.set_defaults(run=run_memory)


def _add(commands, name, summary, description, examples):
    parser = commands.add_parser(name, help=summary, description=textwrap.fill(description, 79),
                                 epilog=examples,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", metavar="PATH",
                        help="a model saved by 'chainrule train' (its sizes replace the options "
                             "below)")
    parser.add_argument("--model", choices=MODELS, default="mlp",
                        help="mlp (default; --hidden, --activation), lenet, lenet-classic or "
                             "cnn (square one-channel images: --input-size 784 or 64)")
    parser.add_argument("--input-size", type=positive_int, default=784,
                        help="features per example (default: 784)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", default=[256], metavar="N",
                        help="hidden layer sizes (default: 256)")
    parser.add_argument("--classes", type=positive_int, default=10,
                        help="number of classes (default: 10)")
    parser.add_argument("--activation", choices=ACTIVATIONS, default="relu",
                        help="hidden activation (default: relu)")
    parser.add_argument("--batch-size", type=positive_int, default=256,
                        help="examples in the batch (default: 256)")
    parser.add_argument("--weight-decay", type=non_negative_float, default=0.0,
                        metavar="LAMBDA",
                        help="lambda of the L2 term s = lambda/2 (||W1||^2 + ...); > 0 adds s "
                             "and J = L + s to the graph (default: 0)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed for the weights and the random batch (default: 0)")
    parser.add_argument("--dataset", choices=("random", "digits"), default="random",
                        help="random: a random batch of the right shape (default); digits: "
                             "the first examples of scikit-learn's 8x8 digits (64 features)")
    return parser


def run_graph(args):
    # With DOT on stdout, the note about the batch goes to stderr so the DOT stays clean.
    model, loss, _ = _build(args, file=sys.stderr if args.out is None else sys.stdout)
    options = {"params": model, "group_by": None if args.group_by == "none" else "module"}
    if args.out is None:
        sys.stdout.write(to_dot(loss, **options))
        return 0
    written = render(loss, args.out, **options)
    print(f"wrote {written}")
    return 0


def run_explain(args):
    model, loss, _ = _build(args)
    if args.html:
        print(f"wrote {to_html(loss, args.html, params=model)}")
        return 0
    explain(loss, params=model)
    return 0


def run_memory(args):
    model, _, (x, y) = _build(args)
    report = memory_report(model, x, y, weight_decay=args.weight_decay)
    print(report)
    if args.out:
        Path(args.out).write_text(report.to_json())
        print(f"wrote {args.out}")
    return 0


def _build(args, file=None):
    """The model, one batch's objective and the batch; says where the batch came from."""
    manual_seed(args.seed)
    if args.checkpoint:
        model, tree = load_model(args.checkpoint)
        config = tree["config"]
        where = f"the checkpoint {args.checkpoint}"
    else:
        config = {"model": args.model, "input_size": args.input_size, "hidden": args.hidden,
                  "classes": args.classes, "activation": args.activation}
        try:
            check_fits(parameter_bytes(config), f"the {args.model.upper()}'s weights")
            check_fits(4 * args.batch_size * args.input_size,
                       f"a batch of {args.batch_size} examples of {args.input_size} features")
        except ValueError as error:
            raise ChainruleError(str(error)) from None
        try:
            model = build(config)
        except ValueError as error:
            raise ChainruleError(f"--model {args.model}: {error}") from None
        where = f"a fresh network (seed {args.seed})"
    network = describe(config).split(" (")[0]
    if config.get("model", "mlp") == "mlp":
        network = "network " + "-".join(map(str, [config["input_size"], *config["hidden"],
                                                  config["classes"]]))
    x, y, about = _batch(args, config["input_size"], config["classes"])
    print(f"{network} from {where}; {about}; weight decay lambda = {args.weight_decay:g}",
          file=file or sys.stdout)
    return model, objective(model, x, y, args.weight_decay), (x, y)


def _batch(args, features, classes):
    import numpy
    if args.dataset == "digits":
        from ..data import datasets
        if features != 64:
            raise ChainruleError(f"--dataset digits has 64 features but the network expects "
                                 f"{features}; use --input-size 64 or a digits checkpoint")
        train, _ = datasets.digits(seed=args.seed)
        n = min(args.batch_size, len(train))
        if train.y[:n].max() >= classes:
            raise ChainruleError(f"the digits have 10 classes but the network has {classes}")
        return train.x[:n], train.y[:n], f"a batch of the first {n} digits"
    rng = numpy.random.default_rng(args.seed)
    x = rng.random((args.batch_size, features), dtype=numpy.float32)
    y = rng.integers(0, classes, args.batch_size)
    return x, y, (f"a batch of {args.batch_size} RANDOM examples (uniform [0, 1) features, "
                  f"random labels), not real data")


def _graph_path(text):
    if Path(text).suffix.lower() not in (".svg", ".png", ".dot"):
        raise argparse.ArgumentTypeError(f"the output must end in .svg, .png or .dot, got {text!r}")
    return output_file(text)


__all__ = ["register", "run_graph", "run_explain", "run_memory"]
