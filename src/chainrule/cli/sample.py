"""``chainrule sample``: text from a language model that ``chainrule train`` saved."""
import argparse

from ..argtypes import non_negative_int, positive_float, positive_int
from ..errors import ChainruleError, CheckpointError

SAMPLE_EXAMPLES = """examples:
  chainrule train --model lstm --dataset timemachine
  chainrule sample --checkpoint runs/timemachine/checkpoint.crt --prompt "the time traveller"
  chainrule sample --checkpoint runs/shakespeare_char/checkpoint.crt --tokens 500 --top-k 10
  chainrule sample --checkpoint runs/names/checkpoint.crt --temperature 0.8   # new names
"""


def register(commands):
    sample = commands.add_parser(
        "sample", help="generate text with a trained language model",
        description="Load a language model (rnn, gru, lstm or gpt) saved by 'chainrule train', "
                    "feed it the prompt, then draw each next character from the softmax of its "
                    "scores divided by --temperature (among the --top-k likeliest if given). "
                    "The same --seed gives the same text.",
        epilog=SAMPLE_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sample.add_argument("--checkpoint", required=True, metavar="CKPT",
                        help="a checkpoint.crt of a language model")
    sample.add_argument("--prompt", metavar="TEXT",
                        help="the text to continue, in the model's characters (default: the "
                             "data set's: 'time traveller ' for timemachine, a new line for "
                             "shakespeare_char, nothing for names, which then start afresh)")
    sample.add_argument("--tokens", type=non_negative_int, default=200, metavar="N",
                        help="characters to generate (default: 200)")
    sample.add_argument("--temperature", type=positive_float, default=1.0, metavar="T",
                        help="below 1 more likely characters, above 1 more surprising ones "
                             "(default: 1)")
    sample.add_argument("--top-k", type=positive_int, metavar="K",
                        help="draw only among the K likeliest characters (default: all; 1 "
                             "takes the likeliest, d2l's predict_ch8)")
    sample.add_argument("--seed", type=non_negative_int, default=0,
                        help="seed of the draws: the same seed gives the same text (default: 0)")
    sample.set_defaults(run=run_sample)


def load_language_model(path):
    """(model, tokenizer, config) of a language-model checkpoint; CheckpointError otherwise."""
    from ..models import LANGUAGE_MODELS, build, check_checkpoint, describe
    from ..serialize import load_tree
    from ..train.language import check_tokenizer
    tree = load_tree(path)
    config = check_checkpoint(tree, path)
    if config.get("model", "mlp") not in LANGUAGE_MODELS:
        raise CheckpointError(f"{path}: not a language model: it holds a "
                              f"{describe(config)}), which classifies images; 'chainrule "
                              f"sample' needs a checkpoint of --model "
                              f"{'|'.join(LANGUAGE_MODELS)}")
    tokenizer = check_tokenizer(tree, path)
    if len(tokenizer) != config["vocab_size"]:
        raise CheckpointError(f"{path}: the tokenizer has {len(tokenizer)} tokens but the model "
                              f"{config['vocab_size']}")
    model = build(config)
    model.load_state_dict(tree["model"])
    model.eval()
    return model, tokenizer, config


def run_sample(args):
    from .. import Generator, tensor
    model, tokenizer, config = load_language_model(args.checkpoint)
    prompt = tokenizer.prompt if args.prompt is None else args.prompt
    try:
        ids = tokenizer.encode(prompt)
    except ValueError as error:
        raise ChainruleError(f"--prompt: {error}") from None
    if tokenizer.boundary is not None:  # names: each starts after the boundary token
        ids = [tokenizer.index[tokenizer.boundary]] + ids
    if not ids:
        raise ChainruleError("--prompt is empty: give at least one character to continue")
    out = model.generate(tensor([ids]), args.tokens, temperature=args.temperature,
                         top_k=args.top_k, generator=Generator().manual_seed(args.seed))
    text = tokenizer.decode(out[0].tolist())
    if tokenizer.boundary is not None:
        names = [name for name in text.split(tokenizer.boundary) if name]
        print("\n".join(names))
    else:
        print(text)
    return 0
