"""``chainrule train`` and ``chainrule evaluate``."""
import argparse
import os
import sys

from ..argtypes import (non_negative_float, non_negative_int, output_dir, positive_float,
                        positive_int)
from ..errors import ChainruleError, CheckpointError, TrainingDiverged
from .signals import Terminated
from ..models import ACTIVATIONS, MODELS
from ..train.trainer import DATASETS, LOSSES, OPTIMIZERS, TrainConfig, Trainer

TRAIN_EXAMPLES = """examples:
  chainrule train                                   # the textbooks' MLP on the digits
  chainrule train --epochs 5 --hidden 128 64 --activation tanh
  chainrule train --model lenet --dataset mnist --data-dir DIR --lr 0.03 --momentum 0.9 --batch-size 64 --epochs 10
  chainrule train --dataset mnist --data-dir ../shared/datasets/mnist --batch-size 256 \\
                  --init d2l --epochs 10            # the d2l setup
  chainrule train --resume runs/digits/checkpoint.crt --epochs 30
  chainrule train --tensorboard runs/tb             # then: tensorboard --logdir runs/tb
"""


def _defaults():
    """TrainConfig's defaults, read without building one: validating a config loads chainrule.nn,
    which ``chainrule --help`` does not need."""
    from dataclasses import MISSING, fields
    from types import SimpleNamespace
    return SimpleNamespace(**{f.name: f.default if f.default is not MISSING else f.default_factory()
                              for f in fields(TrainConfig)})


def register(commands):
    defaults = _defaults()
    train = commands.add_parser(
        "train", help="train an MLP and report its accuracy",
        description="Train a multilayer perceptron with minibatch SGD (or another optimizer): "
                    "forward propagation, backward propagation and an update, batch after "
                    "batch. Each epoch prints loss, train and test accuracy and throughput; "
                    "--out receives a checkpoint, the history (CSV, JSON) and the curves (PNG).",
        epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--dataset", choices=DATASETS, default=defaults.dataset,
                       help="digits: the 8x8 digits shipped with scikit-learn (default); mnist "
                            "and fashion-mnist read IDX files from --data-dir")
    train.add_argument("--data-dir", help="directory of the IDX files (mnist, fashion-mnist)")
    train.add_argument("--download", action="store_true",
                       help="download missing IDX files (checksums verified)")
    train.add_argument("--model", choices=MODELS, default=defaults.model,
                       help="the network: mlp (default; --hidden, --activation), lenet "
                            "(d2l's LeNet, ReLU and max pooling), lenet-classic (sigmoid and "
                            "average pooling), cnn (batch norm)")
    # No defaults here: given with a CNN, these are refused rather than silently unused.
    train.add_argument("--hidden", type=positive_int, nargs="+", metavar="N",
                       help=f"hidden layer sizes of --model mlp (default: "
                            f"{' '.join(map(str, defaults.hidden))})")
    train.add_argument("--activation", choices=ACTIVATIONS,
                       help=f"hidden activation of --model mlp (default: {defaults.activation})")
    train.add_argument("--loss", choices=LOSSES, default=defaults.loss,
                       help="softmax cross-entropy or the multiclass SVM hinge loss")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer)
    train.add_argument("--lr", type=positive_float, default=defaults.lr,
                       help=f"learning rate (default: {defaults.lr})")
    train.add_argument("--momentum", type=non_negative_float, default=defaults.momentum,
                       help="momentum for sgd and rmsprop (default: 0)")
    train.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                       help=f"minibatch size (default: {defaults.batch_size})")
    train.add_argument("--epochs", type=positive_int, default=defaults.epochs,
                       help=f"number of epochs (default: {defaults.epochs}); with --resume, "
                            f"the total to reach")
    train.add_argument("--weight-decay", type=non_negative_float, default=defaults.weight_decay,
                       help="L2 regularisation lambda, applied by the optimizer (default: 0)")
    train.add_argument("--init", choices=("kaiming_uniform", "kaiming_normal", "xavier_uniform",
                                          "xavier_normal", "d2l"), default=defaults.init,
                       help="weight initialisation; kaiming_uniform is He's for ReLU with zero "
                            "biases, d2l is N(0, 0.01^2) (default: kaiming_uniform; nn.Linear on "
                            "its own starts as PyTorch's, uniform in 1/sqrt(fan_in))")
    train.add_argument("--seed", type=non_negative_int, default=defaults.seed,
                       help="seed for weights, shuffling and dropout: the same seed gives the "
                            "same run (default: 0)")
    train.add_argument("--out", metavar="DIR", type=output_dir,
                       help="where checkpoint, history and curves go (default: runs/DATASET); "
                            "a directory that holds an earlier run is refused without "
                            "--overwrite")
    train.add_argument("--overwrite", "--force", action="store_true",
                       help="replace the run already in --out")
    train.add_argument("--resume", metavar="CHECKPOINT",
                       help="continue the run saved in this checkpoint (its settings win)")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--tensorboard", metavar="DIR", type=output_dir,
                       help="also write TensorBoard logs to DIR: loss per step; loss, accuracy "
                            "and learning rate per epoch; histograms of each layer's weights "
                            "and gradients (needs pip install -e \".[interop]\")")
    train.set_defaults(run=run_train)

    evaluate = commands.add_parser(
        "evaluate", help="accuracy of a saved checkpoint on its test set",
        description="Load a checkpoint written by 'chainrule train' and report its loss and "
                    "accuracy on the test split of the dataset it was trained on.",
        epilog="example:\n  chainrule evaluate runs/digits/checkpoint.crt",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("checkpoint", help="a checkpoint.crt file")
    evaluate.add_argument("--data-dir", help="directory of the IDX files (mnist, fashion-mnist)")
    evaluate.add_argument("--download", action="store_true")
    evaluate.set_defaults(run=run_evaluate)


def run_train(args):
    out = args.out or os.path.join("runs", args.dataset)
    args.out = args.out or (None if args.resume else out)  # so that an error can name it
    progress = not args.no_progress and sys.stderr.isatty()
    callbacks = _callbacks(args)
    if args.resume:
        _refuse_options_the_checkpoint_fixes(args)
        trainer = Trainer.resume(args.resume, data_dir=args.data_dir, download=args.download,
                                 out_dir=args.out, progress=progress, callbacks=callbacks)
        if args.epochs <= trainer.epoch:
            print(f"{args.resume} has already trained {trainer.epoch} epochs, and --epochs is "
                  f"{args.epochs}: nothing to do (ask for more with --epochs)")
            return 0
        epochs = args.epochs
        print(f"resuming {args.resume} at epoch {trainer.epoch} of {epochs}")
    else:
        _check_options(args)
        _refuse_an_earlier_run(out, args.overwrite)
        defaults = TrainConfig()
        args.hidden = args.hidden or defaults.hidden
        args.activation = args.activation or defaults.activation
        config = TrainConfig(
            dataset=args.dataset, model=args.model, hidden=args.hidden,
            activation=args.activation, loss=args.loss,
            optimizer=args.optimizer, lr=args.lr, momentum=args.momentum,
            batch_size=args.batch_size, epochs=args.epochs, weight_decay=args.weight_decay,
            init=args.init, seed=args.seed)
        trainer = Trainer(config, data_dir=args.data_dir, download=args.download, out_dir=out,
                          progress=progress, callbacks=callbacks)
        epochs = config.epochs
    data = trainer.train_data
    print(f"training {_describe(trainer)} on {data.name}: {len(data)} train / "
          f"{len(trainer.test_data)} test examples")
    try:
        trainer.fit(epochs=epochs)
    except KeyboardInterrupt:
        print(f"\ninterrupted during epoch {trainer.epoch + 1}; "
              f"{_kept(trainer, epochs, args.resume)}", file=sys.stderr)
        return 130
    except Terminated:
        print(f"\nterminated (SIGTERM) during epoch {trainer.epoch + 1}; "
              f"{_kept(trainer, epochs, args.resume)}", file=sys.stderr)
        return 143
    except TrainingDiverged as error:
        print(f"chainrule train: stopped: {error}; {_kept(trainer, epochs, args.resume)}",
              file=sys.stderr)
        return 1
    last = trainer.history[-1]
    print(f"test accuracy {last.test_accuracy:.4f} after {trainer.epoch} epochs "
          f"({sum(r.seconds for r in trainer.history):.1f}s of training)")
    curves = os.path.exists(os.path.join(trainer.out_dir, "curves.png"))
    print(f"checkpoint, history.csv, history.json{' and curves.png' if curves else ''} in "
          f"{trainer.out_dir}/" + ("" if curves else " (no curves.png: matplotlib is not "
                                                    "installed; pip install matplotlib)"))
    if args.tensorboard:
        print(f"TensorBoard logs in {args.tensorboard}/ (view: tensorboard --logdir "
              f"{args.tensorboard})")
    return 0


# What a checkpoint fixes: changing it would make a different run than the one resumed.
FIXED_BY_CHECKPOINT = ("dataset", "model", "hidden", "activation", "loss", "optimizer", "lr",
                       "momentum", "batch_size", "weight_decay", "init", "seed")


def _callbacks(args):
    if not args.tensorboard:
        return []
    from ..interop import TensorBoardLogger
    return [TensorBoardLogger(args.tensorboard)]


def _refuse_options_the_checkpoint_fixes(args):
    defaults = TrainConfig()
    given = [name for name in FIXED_BY_CHECKPOINT if getattr(args, name) is not None
             and getattr(args, name) != getattr(defaults, name)]
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise ChainruleError(f"{options} cannot change with --resume: the checkpoint fixes the "
                             f"run; only --epochs, --out, --data-dir and --download apply "
                             f"(start a new run to change the others)")


# Files a run writes into --out; one of them there means an earlier run would be replaced.
RUN_FILES = ("checkpoint.crt", "history.csv", "history.json", "curves.png")


def _refuse_an_earlier_run(out, overwrite):
    found = [name for name in RUN_FILES if os.path.exists(os.path.join(out, name))]
    if found and not overwrite:
        raise ChainruleError(
            f"--out {out} already holds a run ({', '.join(found)}): pass --overwrite to replace "
            f"it, --out DIR for a new place, or --resume {os.path.join(out, 'checkpoint.crt')} "
            f"to continue it")
    if found:
        print(f"--overwrite: replacing the run in {out} ({', '.join(found)})")


def _check_options(args):
    """Options that would be silently ignored, or that cannot work, refused with one line."""
    from ..models import check_fits, parameter_bytes
    if args.model != "mlp":
        given = [name for name in ("hidden", "activation") if getattr(args, name) is not None]
        if given:
            options = " and ".join("--" + name for name in given)
            verb = "apply" if len(given) > 1 else "applies"
            raise ChainruleError(f"{options} {verb} to --model mlp; --model {args.model} has "
                                 f"fixed layers (see 'chainrule train --help')")
    if args.data_dir is not None and args.dataset == "digits":
        raise ChainruleError("--data-dir applies to --dataset mnist and fashion-mnist; the "
                             "digits ship with scikit-learn")
    if args.momentum >= 1:
        raise ChainruleError(f"--momentum must be below 1, got {args.momentum:g}: at 1 or more "
                             f"the steps grow without bound")
    if args.momentum and args.optimizer in ("adam", "adamw"):
        raise ChainruleError(f"--momentum does not apply to --optimizer {args.optimizer} (its "
                             f"betas play that part); use --optimizer sgd or rmsprop")
    input_size = {"digits": 64}.get(args.dataset, 784)
    hidden = args.hidden or TrainConfig().hidden
    config = {"model": args.model, "input_size": input_size, "hidden": hidden, "classes": 10}
    try:
        check_fits(parameter_bytes(config), f"the {args.model.upper()}'s weights")
    except ValueError as error:
        raise ChainruleError(f"--hidden {' '.join(map(str, hidden))}: {error} (with "
                             f"{input_size} inputs from --dataset {args.dataset})") from None
    try:
        check_fits(4 * args.batch_size * input_size,
                   f"a batch of {args.batch_size} examples of {input_size} features")
    except ValueError as error:
        raise ChainruleError(f"--batch-size {args.batch_size}: {error}") from None


def run_evaluate(args):
    from ..models import load_model
    from ..train.trainer import evaluate, load_dataset, make_loss
    model, tree = load_model(args.checkpoint)
    config = tree["config"]
    _, test = load_dataset(config.get("dataset", "digits"), args.data_dir, args.download,
                           seed=int(config.get("seed", 0)))
    if test.x.shape[1] != config["input_size"]:
        raise CheckpointError(f"{args.checkpoint}: the model takes {config['input_size']} "
                              f"inputs but {test.name} has {test.x.shape[1]} features")
    loss, accuracy = evaluate(model, test, make_loss(config.get("loss", "cross-entropy")))
    print(f"{args.checkpoint}: {test.name} test split, {len(test)} examples: "
          f"loss {loss:.4f}, accuracy {accuracy:.4f}")
    return 0


def _describe(trainer):
    from dataclasses import asdict
    from ..models import describe
    c = trainer.config
    network = describe({**asdict(c), "input_size": trainer.train_data.x.shape[1],
                        "classes": len(trainer.train_data.classes)})
    return (f"{network}, {c.loss}, {c.optimizer} lr {c.lr}, batch {c.batch_size}, "
            f"{c.epochs} epochs, seed {c.seed})")


def _kept(trainer, epochs, resumed_from=None):
    """Where the run can continue from: a checkpoint that exists, named with the command."""
    path = trainer.checkpoint_path
    if trainer.epoch and path and os.path.exists(path) and trainer.history and \
            trainer.history[-1].epoch == trainer.epoch:
        written = f"the last checkpoint (epoch {trainer.epoch}) is {path}"
    elif resumed_from:
        path, written = resumed_from, f"no new epoch finished; {resumed_from} is unchanged"
    else:
        return "no epoch had finished, so no checkpoint was written"
    return f"{written}; continue with: chainrule train --resume {path} --epochs {epochs}"
