"""``chainrule train`` and ``chainrule evaluate``."""
import argparse
import os
import sys

from ..argtypes import (non_negative_float, non_negative_int, output_dir, positive_float,
                        positive_int)
from ..errors import ChainruleError, CheckpointError, TrainingDiverged
from .signals import Terminated
from ..models import ACTIVATIONS, LANGUAGE_MODELS, MODELS
from ..train.trainer import (DATASETS, LANGUAGE_DEFAULTS, LOSSES, OPTIMIZERS, SCHEDULES,
                             TrainConfig, Trainer)

TRAIN_EXAMPLES = """examples:
  chainrule train                                   # the textbooks' MLP on the digits
  chainrule train --epochs 5 --hidden 128 64 --activation tanh
  chainrule train --model lenet --dataset mnist --data-dir DIR --lr 0.03 --momentum 0.9 --batch-size 64 --epochs 10
  chainrule train --dataset mnist --data-dir ../shared/datasets/mnist --batch-size 256 \\
                  --init d2l --epochs 10            # the d2l setup
  chainrule train --resume runs/digits/checkpoint.crt --epochs 30
  chainrule train --tensorboard runs/tb             # then: tensorboard --logdir runs/tb
  mpiexec -n 4 chainrule train                      # 4 processes, each a quarter of every batch
                                                    # (pip install 'chainrule[mpi]'): the same
                                                    # weights; --resume works with any -n that
                                                    # divides --batch-size; docs/distributed.md

language models (then: chainrule sample --checkpoint runs/timemachine/checkpoint.crt):
  chainrule train --model lstm --dataset timemachine    # d2l's LSTM on the shipped book
  chainrule train --model gru --hidden 256 256 --embedding-dim 32 --clip-grad-norm 1
  chainrule train --model gpt --dataset shakespeare_char --data-dir ../shared/datasets/tinyshakespeare
                  # nanoGPT's CPU example: 8 epochs of 250 steps = 2,000 iterations
  chainrule train --model rnn --dataset names --download --epochs 5
"""

RECURRENT_DEFAULTS = LANGUAGE_DEFAULTS["recurrent"]
GPT_DEFAULTS = LANGUAGE_DEFAULTS["gpt"]
# Options that only a language model takes (and which of them only one kind takes).
LANGUAGE_OPTIONS = ("block_size", "embedding_dim", "n_layer", "n_head", "n_embd", "dropout",
                    "bias", "max_tokens", "steps_per_epoch")
GPT_ONLY = ("n_layer", "n_head", "n_embd", "bias", "steps_per_epoch")
RECURRENT_ONLY = ("embedding_dim", "hidden")


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
        "train", help="train an MLP, a CNN or a language model and report how it does",
        description="Train a network with minibatch SGD (or another optimizer): forward "
                    "propagation, backward propagation and an update, batch after batch. Each "
                    "epoch prints loss, train and test accuracy and throughput (for a language "
                    "model: loss and perplexity, on the training text and on held-out text); "
                    "--out receives a checkpoint, the history (CSV, JSON) and the curves (PNG).",
        epilog=TRAIN_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    train.add_argument("--dataset", choices=DATASETS,
                       help="digits: the 8x8 digits shipped with scikit-learn (default); mnist "
                            "and fashion-mnist read IDX files from --data-dir. For language "
                            "models: timemachine (d2l's The Time Machine, shipped with "
                            "chainrule; the default), shakespeare_char (Tiny Shakespeare, "
                            "nanoGPT's) and names (makemore's), the last two from --data-dir "
                            "or --download")
    train.add_argument("--data-dir", help="directory of the data files (mnist, fashion-mnist, "
                                          "shakespeare_char, names)")
    train.add_argument("--download", action="store_true",
                       help="download missing data files (checksums verified)")
    train.add_argument("--model", choices=MODELS + LANGUAGE_MODELS, default=defaults.model,
                       help="the network: mlp (default; --hidden, --activation), lenet "
                            "(d2l's LeNet, ReLU and max pooling), lenet-classic (sigmoid and "
                            "average pooling), cnn (batch norm); language models: rnn, gru, "
                            "lstm (d2l's RNNModel: one-hot or embedded characters, a recurrent "
                            "layer, a Linear layer to the next character's scores) and gpt (a "
                            "nanoGPT decoder)")
    # No defaults here: given with a CNN, these are refused rather than silently unused.
    train.add_argument("--hidden", type=positive_int, nargs="+", metavar="N",
                       help=f"hidden layer sizes of --model mlp (default: "
                            f"{' '.join(map(str, defaults.hidden))}); for rnn/gru/lstm the "
                            f"hidden units of each recurrent layer, all equal (default: "
                            f"{RECURRENT_DEFAULTS['hidden'][0]}, one layer)")
    train.add_argument("--activation", choices=ACTIVATIONS,
                       help=f"hidden activation of --model mlp (default: {defaults.activation})")
    train.add_argument("--loss", choices=LOSSES, default=defaults.loss,
                       help="softmax cross-entropy or the multiclass SVM hinge loss")
    r, g = RECURRENT_DEFAULTS, GPT_DEFAULTS
    # The defaults of the next options depend on the model: None here, filled in by run_train.
    train.add_argument("--optimizer", choices=OPTIMIZERS,
                       help=f"(default: {defaults.optimizer}; rnn/gru/lstm: {r['optimizer']}, "
                            f"gpt: {g['optimizer']})")
    train.add_argument("--lr", type=positive_float,
                       help=f"learning rate (default: {defaults.lr}; rnn/gru/lstm: {r['lr']:g} "
                            f"as d2l, gpt: {g['lr']:g} as nanoGPT)")
    train.add_argument("--momentum", type=non_negative_float, default=defaults.momentum,
                       help="momentum for sgd and rmsprop (default: 0)")
    train.add_argument("--batch-size", type=positive_int,
                       help=f"minibatch size (default: {defaults.batch_size}; rnn/gru/lstm: "
                            f"{r['batch_size']}, gpt: {g['batch_size']})")
    train.add_argument("--epochs", type=positive_int,
                       help=f"number of epochs (default: {defaults.epochs}; rnn/gru/lstm: "
                            f"{r['epochs']}, gpt: {g['epochs']} of --steps-per-epoch steps); "
                            f"with --resume, the total to reach")
    train.add_argument("--weight-decay", type=non_negative_float,
                       help=f"L2 regularisation lambda, applied by the optimizer (default: 0; "
                            f"gpt: {g['weight_decay']:g}, on its matrices only, as nanoGPT)")
    train.add_argument("--clip-grad-norm", type=non_negative_float, metavar="MAX",
                       help=f"before each step, scale the gradients down so that their joint "
                            f"L2 norm is at most MAX (nn.utils.clip_grad_norm_), which keeps "
                            f"backpropagation through time from exploding; 0: no clipping "
                            f"(default: 0; language models: {r['clip_grad_norm']:g})")
    train.add_argument("--schedule", choices=SCHEDULES,
                       help=f"learning rate schedule: constant, or cosine (nanoGPT's: linear "
                            f"warmup over --warmup-steps, then a cosine decay to lr/10 at the "
                            f"last step) (default: constant; gpt: {g['schedule']})")
    train.add_argument("--warmup-steps", type=non_negative_int,
                       help=f"warmup steps of --schedule cosine (default: 0; gpt: "
                            f"{g['warmup_steps']})")
    train.add_argument("--beta2", type=non_negative_float,
                       help=f"second beta of adam and adamw (default: 0.999; gpt: {g['beta2']})")
    lm = train.add_argument_group(
        "language models", "Characters in, the next character's scores out; each epoch reports "
                           "the perplexity exp(loss) on the training text and on held-out text.")
    lm.add_argument("--block-size", type=positive_int, metavar="N",
                    help=f"tokens per training sequence: d2l's num_steps, nanoGPT's block_size "
                         f"(default: rnn/gru/lstm {r['block_size']}, gpt {g['block_size']})")
    lm.add_argument("--max-tokens", type=non_negative_int, metavar="N",
                    help=f"train on the first N tokens of the training text, 0 for all of it "
                         f"(default: rnn/gru/lstm {r['max_tokens']} as d2l, gpt all); the "
                         f"held-out text is the last tenth in any case")
    lm.add_argument("--embedding-dim", type=non_negative_int, metavar="N",
                    help="rnn/gru/lstm: embed each character in N dimensions (nn.Embedding) "
                         "instead of one-hot inputs (default: 0, one-hot, as d2l)")
    lm.add_argument("--dropout", type=non_negative_float,
                    help="dropout between recurrent layers, or in gpt's blocks (default: 0)")
    lm.add_argument("--n-layer", type=positive_int,
                    help=f"gpt: transformer blocks (default: {g['n_layer']})")
    lm.add_argument("--n-head", type=positive_int,
                    help=f"gpt: attention heads per block (default: {g['n_head']})")
    lm.add_argument("--n-embd", type=positive_int,
                    help=f"gpt: width of the residual stream (default: {g['n_embd']})")
    lm.add_argument("--bias", action="store_true", default=None,
                    help="gpt: biases in Linear and LayerNorm layers (default: none, as "
                         "nanoGPT's default)")
    lm.add_argument("--steps-per-epoch", type=positive_int, metavar="N",
                    help=f"gpt: random batches per epoch, each epoch ending with the held-out "
                         f"loss (default: {g['steps_per_epoch']}, nanoGPT's eval_interval)")
    train.add_argument("--checkpoint-segments", type=positive_int, metavar="K",
                       help="activation checkpointing: run the model's layers in K segments, "
                            "each but the last keeping only its input for backward and "
                            "recomputed there (less memory, more time, the same gradients; "
                            "docs/checkpointing.md)")
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
    train.add_argument("--compile", action="store_true",
                       help="run each step as the NumPy program cr.compile traces (the same "
                            "numbers; see chainrule compile --show)")
    train.add_argument("--tensorboard", metavar="DIR", type=output_dir,
                       help="also write TensorBoard logs to DIR: loss per step; loss, accuracy "
                            "and learning rate per epoch; histograms of each layer's weights "
                            "and gradients (needs pip install -e \".[interop]\")")
    train.set_defaults(run=_run_train_on_every_rank)

    evaluate = commands.add_parser(
        "evaluate", help="accuracy of a saved checkpoint on its test set",
        description="Load a checkpoint written by 'chainrule train' and report its loss and "
                    "accuracy on the test split of the dataset it was trained on (for a "
                    "language model: loss and perplexity on the held-out text).",
        epilog="example:\n  chainrule evaluate runs/digits/checkpoint.crt",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    evaluate.add_argument("checkpoint", help="a checkpoint.crt file")
    evaluate.add_argument("--data-dir", help="directory of the data files (mnist, fashion-mnist, "
                                             "shakespeare_char, names)")
    evaluate.add_argument("--download", action="store_true")
    evaluate.set_defaults(run=run_evaluate)


def _run_train_on_every_rank(args):
    # Under mpiexec: rank 0 prints, and a failure on any rank stops them all.
    from ..distributed.training import run_on_every_rank
    return run_on_every_rank(run_train, args)


def run_train(args):
    language = args.model in LANGUAGE_MODELS
    args.dataset = args.dataset or (None if args.resume else
                                    "timemachine" if language else TrainConfig().dataset)
    out = args.out or os.path.join("runs", args.dataset or "")
    args.out = args.out or (None if args.resume else out)  # so that an error can name it
    progress = not args.no_progress and sys.stderr.isatty()
    callbacks = _callbacks(args)
    if args.resume:
        _refuse_options_the_checkpoint_fixes(args)
        trainer = Trainer.resume(args.resume, data_dir=args.data_dir, download=args.download,
                                 out_dir=args.out, progress=progress, callbacks=callbacks,
                                 compile=args.compile)
        if args.epochs is None:  # a language model's run goes on to its own total
            args.epochs = trainer.config.epochs if trainer.task else TrainConfig().epochs
        if args.epochs <= trainer.epoch:
            print(f"{args.resume} has already trained {trainer.epoch} epochs, and --epochs is "
                  f"{args.epochs}: nothing to do (ask for more with --epochs)")
            return 0
        epochs = args.epochs
        print(f"resuming {args.resume} at epoch {trainer.epoch} of {epochs}")
    else:
        _check_options(args)
        _refuse_an_earlier_run(out, args.overwrite)
        config = _config(args)
        trainer = Trainer(config, data_dir=args.data_dir, download=args.download, out_dir=out,
                          progress=progress, callbacks=callbacks, compile=args.compile)
        epochs = config.epochs
    data = trainer.train_data
    if trainer.task is not None:
        held_out = len(data.val[0]) if data.rows else len(data.val)
        print(f"training {_describe(trainer)} on {data.name}: {len(data):,} train / "
              f"{held_out:,} held-out {data.unit}, vocabulary {len(data.tokenizer)}")
    else:
        print(f"training {_describe(trainer)} on {data.name}: {len(data)} train / "
              f"{len(trainer.test_data)} test examples")
    if getattr(trainer, "replicas", None) is not None:
        print(trainer.replicas.describe())
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
    seconds = sum(r.seconds for r in trainer.history)
    if last.language_model:
        print(f"perplexity {last.train_perplexity:.3f} (train), {last.test_perplexity:.3f} "
              f"(held out; loss {last.test_loss:.4f}) after {trainer.epoch} epochs "
              f"({seconds:.1f}s of training)")
    else:
        print(f"test accuracy {last.test_accuracy:.4f} after {trainer.epoch} epochs "
              f"({seconds:.1f}s of training)")
    curves = os.path.exists(os.path.join(trainer.out_dir, "curves.png"))
    print(f"checkpoint, history.csv, history.json{' and curves.png' if curves else ''} in "
          f"{trainer.out_dir}/" + ("" if curves else " (no curves.png: matplotlib is not "
                                                    "installed; pip install matplotlib)"))
    if args.tensorboard:
        print(f"TensorBoard logs in {args.tensorboard}/ (view: tensorboard --logdir "
              f"{args.tensorboard})")
    if last.language_model:
        print(f"sample from it: chainrule sample --checkpoint {trainer.checkpoint_path}")
    return 0


# The TrainConfig fields that come straight from options of the same name.
CONFIG_OPTIONS = ("dataset", "model", "hidden", "activation", "loss", "optimizer", "lr",
                  "momentum", "batch_size", "epochs", "weight_decay", "init", "seed",
                  "clip_grad_norm", "schedule", "warmup_steps", "beta2",
                  "checkpoint_segments") + LANGUAGE_OPTIONS


def _config(args):
    """The TrainConfig of the options given; the model's defaults fill the rest."""
    given = {name: getattr(args, name) for name in CONFIG_OPTIONS
             if getattr(args, name, None) is not None}
    try:
        if args.model in LANGUAGE_MODELS:
            return TrainConfig.language_model(**given)
        return TrainConfig(**given)
    except ValueError as error:
        raise ChainruleError(str(error)) from None


# What a checkpoint fixes: changing it would make a different run than the one resumed.
FIXED_BY_CHECKPOINT = ("dataset", "model", "hidden", "activation", "loss", "optimizer", "lr",
                       "momentum", "batch_size", "weight_decay", "init", "seed",
                       "clip_grad_norm", "schedule", "warmup_steps", "beta2",
                       "checkpoint_segments") + LANGUAGE_OPTIONS


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
    if args.model in LANGUAGE_MODELS:
        return _check_language_options(args)
    given = [name for name in LANGUAGE_OPTIONS if getattr(args, name) is not None]
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise ChainruleError(f"{options} apply to the language models (--model "
                             f"{'|'.join(LANGUAGE_MODELS)}), not --model {args.model}")
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
    _check_momentum(args)
    input_size = {"digits": 64}.get(args.dataset, 784)
    hidden = args.hidden or TrainConfig().hidden
    config = {"model": args.model, "input_size": input_size, "hidden": hidden, "classes": 10}
    try:
        check_fits(parameter_bytes(config), f"the {args.model.upper()}'s weights")
    except ValueError as error:
        raise ChainruleError(f"--hidden {' '.join(map(str, hidden))}: {error} (with "
                             f"{input_size} inputs from --dataset {args.dataset})") from None
    batch_size = args.batch_size or TrainConfig().batch_size
    try:
        check_fits(4 * batch_size * input_size,
                   f"a batch of {batch_size} examples of {input_size} features")
    except ValueError as error:
        raise ChainruleError(f"--batch-size {batch_size}: {error}") from None


def _check_momentum(args):
    if args.momentum >= 1:
        raise ChainruleError(f"--momentum must be below 1, got {args.momentum:g}: at 1 or more "
                             f"the steps grow without bound")
    optimizer = args.optimizer or ("adamw" if args.model == "gpt" else "sgd")
    if args.momentum and optimizer in ("adam", "adamw"):
        raise ChainruleError(f"--momentum does not apply to --optimizer {optimizer} (its "
                             f"betas play that part); use --optimizer sgd or rmsprop")


def _check_language_options(args):
    """A language model's options: those of the other kind of model refused, by name."""
    wrong = GPT_ONLY if args.model != "gpt" else RECURRENT_ONLY + ("activation",)
    if args.model != "gpt":
        wrong += ("activation",)
    given = [name for name in wrong if getattr(args, name) is not None]
    if given:
        options = " and ".join("--" + name.replace("_", "-") for name in given)
        raise ChainruleError(f"{options} do not apply to --model {args.model} (see "
                             f"'chainrule train --help')")
    if args.loss != "cross-entropy":
        raise ChainruleError(f"--loss {args.loss}: a language model trains with cross-entropy")
    if args.dataset in DATASETS[:3]:
        raise ChainruleError(f"--model {args.model} trains on text (--dataset timemachine, "
                             f"shakespeare_char or names), not --dataset {args.dataset}")
    if args.dataset == "names":
        # One name per row: the rows' length is the longest name's.
        given = [name for name in ("max_tokens",) + (("block_size",) if args.model != "gpt"
                                                     else ()) if getattr(args, name) is not None]
        if given:
            options = " and ".join("--" + name.replace("_", "-") for name in given)
            raise ChainruleError(f"{options} do not apply to --dataset names, whose rows are "
                                 f"one name each")
    _check_momentum(args)


def run_evaluate(args):
    from ..models import load_model
    from ..train.trainer import evaluate, load_dataset, make_loss
    model, tree = load_model(args.checkpoint)
    config = tree["config"]
    if config.get("model") in LANGUAGE_MODELS:
        return _evaluate_language_model(args, model, tree)
    _, test = load_dataset(config.get("dataset", "digits"), args.data_dir, args.download,
                           seed=int(config.get("seed", 0)))
    if test.x.shape[1] != config["input_size"]:
        raise CheckpointError(f"{args.checkpoint}: the model takes {config['input_size']} "
                              f"inputs but {test.name} has {test.x.shape[1]} features")
    loss, accuracy = evaluate(model, test, make_loss(config.get("loss", "cross-entropy")))
    print(f"{args.checkpoint}: {test.name} test split, {len(test)} examples: "
          f"loss {loss:.4f}, accuracy {accuracy:.4f}")
    return 0


def _evaluate_language_model(args, model, tree):
    from ..train.language import LanguageTask, check_tokenizer, load_text, perplexity
    config = tree["config"]
    text = load_text(config["dataset"], args.data_dir, args.download)
    if check_tokenizer(tree, args.checkpoint).tokens != text.tokenizer.tokens:
        raise CheckpointError(f"{args.checkpoint}: the model's tokens differ from those of "
                              f"{text.name}")
    loss, accuracy = LanguageTask(model, config["model"], False).evaluate(text)
    print(f"{args.checkpoint}: {text.name}, held-out text: loss {loss:.4f}, perplexity "
          f"{perplexity(loss):.3f}, next-token accuracy {accuracy:.4f}")
    return 0


def _describe(trainer):
    from ..models import describe
    c = trainer.config
    network = describe(trainer.model_config())
    clip = f", gradients clipped at {c.clip_grad_norm:g}" if c.clip_grad_norm else ""
    if c.checkpoint_segments:
        clip += f", activations checkpointed in {c.checkpoint_segments} segments"
    return (f"{network}, {c.loss}, {c.optimizer} lr {c.lr}, batch {c.batch_size}, "
            f"{c.epochs} epochs{clip}, seed {c.seed})")


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
