"""``chainrule graph``, ``chainrule explain`` and ``chainrule memory``. The tools load when a
command runs, not when the parser is built (``chainrule --help`` stays quick).

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
from ..serialize.atomic import atomic_write
from ..train.trainer import DATASETS, LOSSES

GRAPH_EXAMPLES = """examples:
  chainrule graph --out graph.svg                 # the 784-256-10 network of d2l 4.7
  chainrule graph --hidden 128 64 --group-by module --out deep.png
  chainrule graph --weight-decay 1e-4             # DOT text on stdout, with s and J
"""
EXPLAIN_EXAMPLES = """examples:
  chainrule explain --weight-decay 1e-4           # dJ/do, dJ/dW2, dJ/dh, dJ/dz, dJ/dW1 ...
  chainrule explain --batch-size 8 --html report.html
  chainrule explain --checkpoint runs/digits/checkpoint.crt   # its loss, on real digits
  chainrule explain --dataset digits --batch-size 8  # a fresh 64-256-10 network, real digits
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
                        help="a model saved by 'chainrule train': its network, loss, weight "
                             "decay and dataset are used (the network options below are then "
                             "refused)")
    parser.add_argument("--model", choices=MODELS,
                        help="mlp (default; --hidden, --activation), lenet, lenet-classic or "
                             "cnn (square one-channel images: --input-size 784 or 64)")
    parser.add_argument("--input-size", type=positive_int,
                        help="features per example (default: the dataset's, else 784)")
    parser.add_argument("--hidden", type=positive_int, nargs="+", metavar="N",
                        help="hidden layer sizes (default: 256)")
    parser.add_argument("--classes", type=positive_int, help="number of classes (default: 10)")
    parser.add_argument("--activation", choices=ACTIVATIONS,
                        help="hidden activation (default: relu)")
    parser.add_argument("--loss", choices=LOSSES,
                        help="the loss L (default: the checkpoint's, else cross-entropy)")
    parser.add_argument("--batch-size", type=positive_int, default=256,
                        help="examples in the batch (default: 256)")
    parser.add_argument("--weight-decay", type=non_negative_float, metavar="LAMBDA",
                        help="lambda of the L2 term s = lambda/2 (||W1||^2 + ...); > 0 adds s "
                             "and J = L + s to the graph (default: the checkpoint's, else 0)")
    parser.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed for the weights and the random batch (default: 0)")
    parser.add_argument("--dataset", choices=("random",) + DATASETS,
                        help="where the batch comes from: random (a random batch of the right "
                             "shape; the default without a checkpoint), or the first examples "
                             "of a dataset's training split (the default with a checkpoint is "
                             "the one it was trained on)")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="directory of the IDX files (mnist, fashion-mnist)")
    parser.add_argument("--download", action="store_true",
                        help="download missing IDX files (checksums verified)")
    return parser


def run_graph(args):
    from ..inspect.graph import render, to_dot
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
    from ..inspect.explain import explain
    from ..inspect.html import to_html
    model, loss, _ = _build(args)
    if args.html:
        print(f"wrote {to_html(loss, args.html, params=model)}")
        return 0
    explain(loss, params=model, file=sys.stdout)  # printed even when run from a notebook
    return 0


def run_memory(args):
    from ..inspect.memory import memory_report
    model, _, (x, y, lam, loss) = _build(args)
    report = memory_report(model, x, y, weight_decay=lam, loss=loss)
    print(report)
    if args.out:
        atomic_write(args.out, [report.to_json().encode()], what="memory report")
        print(f"wrote {args.out}")
    return 0


# What a checkpoint fixes about the network: given with --checkpoint, these are refused.
NETWORK_OPTIONS = ("model", "input_size", "hidden", "classes", "activation")
NETWORK_DEFAULTS = {"model": "mlp", "hidden": [256], "classes": 10, "activation": "relu"}


def _build(args, file=None):
    """The model, one batch's objective, and the batch with the objective's lambda and loss;
    says where each came from."""
    manual_seed(args.seed)
    if args.checkpoint:
        given = [name for name in NETWORK_OPTIONS if getattr(args, name) is not None]
        if given:
            options = ", ".join("--" + name.replace("_", "-") for name in given)
            raise ChainruleError(f"{options} cannot be used with --checkpoint: the checkpoint "
                                 f"fixes the network")
        model, tree = load_model(args.checkpoint)
        config = tree["config"]
        dataset = args.dataset or config.get("dataset", "random")
        where = f"the checkpoint {args.checkpoint}"
    else:
        dataset = args.dataset or "random"
        config = {name: getattr(args, name) if getattr(args, name) is not None else default
                  for name, default in NETWORK_DEFAULTS.items()}
        config["input_size"] = args.input_size or DATASET_FEATURES.get(dataset, 784)
        model = _fresh_model(args, config)
        where = f"a fresh network (seed {args.seed})"
    loss = args.loss or config.get("loss", "cross-entropy")
    lam = args.weight_decay if args.weight_decay is not None else \
        float(config.get("weight_decay", 0.0)) if args.checkpoint else 0.0
    from ..nn.objective import objective
    x, y, about = _batch(args, dataset, config.get("seed", args.seed), config["input_size"],
                         config["classes"])
    print(f"{_network(config)} from {where}; {about}; loss {loss}; weight decay lambda = "
          f"{lam:g}", file=file or sys.stdout)
    return model, objective(model, x, y, lam, loss=loss), (x, y, lam, loss)


# Features per example of each dataset, which set the input size when none is given.
DATASET_FEATURES = {"digits": 64, "mnist": 784, "fashion-mnist": 784}


def _fresh_model(args, config):
    try:
        check_fits(parameter_bytes(config), f"the {config['model'].upper()}'s weights")
    except ValueError as error:
        sizes = f"--hidden {' '.join(map(str, config['hidden']))}, --input-size " \
                f"{config['input_size']}, --classes {config['classes']}"
        raise ChainruleError(f"{sizes}: {error}") from None
    try:
        check_fits(4 * args.batch_size * config["input_size"],
                   f"a batch of {args.batch_size} examples of {config['input_size']} features")
    except ValueError as error:
        raise ChainruleError(f"--batch-size {args.batch_size}: {error}") from None
    try:
        return build(config)
    except ValueError as error:
        raise ChainruleError(f"--model {config['model']}: {error}") from None


def _network(config):
    if config.get("model", "mlp") == "mlp":
        return "network " + "-".join(map(str, [config["input_size"], *config["hidden"],
                                               config["classes"]]))
    return describe(config).split(" (")[0]


def _batch(args, dataset, seed, features, classes):
    """The first examples of the dataset's training split (the split the run trained on), or
    a random batch of the right shape."""
    import numpy
    if dataset == "random":
        rng = numpy.random.default_rng(args.seed)
        x = rng.random((args.batch_size, features), dtype=numpy.float32)
        y = rng.integers(0, classes, args.batch_size)
        return x, y, (f"a batch of {args.batch_size} RANDOM examples (uniform [0, 1) "
                      f"features, random labels), not real data")
    if args.data_dir is not None and dataset == "digits":
        raise ChainruleError("--data-dir applies to --dataset mnist and fashion-mnist; the "
                             "digits ship with scikit-learn")
    from ..train.trainer import load_dataset
    train, _ = load_dataset(dataset, args.data_dir, args.download, seed=int(seed))
    if train.x.shape[1] != features:
        raise ChainruleError(f"--dataset {dataset} has {train.x.shape[1]} features but the "
                             f"network expects {features}")
    n = min(args.batch_size, len(train))
    if train.y[:n].max() >= classes:
        raise ChainruleError(f"{train.name} has {len(train.classes)} classes but the network "
                             f"has {classes}")
    return train.x[:n], train.y[:n], f"a batch of the first {n} {train.name} training examples"


def _graph_path(text):
    if Path(text).suffix.lower() not in (".svg", ".png", ".dot"):
        raise argparse.ArgumentTypeError(f"the output must end in .svg, .png or .dot, got {text!r}")
    return output_file(text)


__all__ = ["register", "run_graph", "run_explain", "run_memory"]
