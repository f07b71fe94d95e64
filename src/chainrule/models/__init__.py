"""The networks the trainer and the inspection commands build, and how they are described in a
checkpoint: the textbooks' multilayer perceptrons, d2l's LeNet and a small CNN with batch norm;
and the language models, d2l's RNN/GRU/LSTM model (``models.rnn_lm``) and a nanoGPT-style
decoder (``models.gpt``).

A checkpoint (written by chainrule.train, read with chainrule.serialize.load_tree) is a tree with
at least ``{"config": {...}, "model": state_dict}``, where config holds ``input_size``,
``classes``, ``model`` ("mlp" when absent, as in checkpoints written before the CNNs) and, for an
MLP, ``hidden`` (a list of layer sizes) and ``activation``. A language model's config holds
``model`` (one of LANGUAGE_MODELS), ``vocab_size`` and, for rnn/gru/lstm, ``hidden`` (one equal
size per layer), ``embedding_dim`` (0: one-hot inputs) and ``dropout``; for gpt nanoGPT's
``block_size``, ``n_layer``, ``n_head``, ``n_embd``, ``dropout`` and ``bias``.
"""
import math
import numbers

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")
MODELS = ("mlp", "lenet", "lenet-classic", "cnn")
LANGUAGE_MODELS = ("rnn", "gru", "lstm", "gpt")


def lenet(classes=10, image_size=28, in_channels=1, classic=False):
    """d2l's LeNet on (N, in_channels * image_size**2) inputs: two 5x5 convolutions (6 and 16
    channels) each followed by 2x2 pooling, then dense layers of 120, 84 and ``classes``.
    ``classic=True`` is the 1998 network (sigmoid, average pooling); the default is the modern
    variant (ReLU, max pooling). Images smaller than 16x16 (the 8x8 digits) pad the second
    convolution too, so that it fits.

    >>> net = cr.models.lenet()
    >>> net(cr.zeros(2, 784)).shape
    cr.Size([2, 10])
    """
    from .. import nn
    act = nn.Sigmoid if classic else nn.ReLU
    pool = (lambda: nn.AvgPool2d(2, 2)) if classic else (lambda: nn.MaxPool2d(2, 2))
    second_padding = 2 if image_size < 16 else 0
    side = (image_size // 2 + 2 * second_padding - 4) // 2
    if side < 1:
        raise ValueError(f"lenet: images of {image_size}x{image_size} are too small")
    return pytorch_init(nn.Sequential(
        nn.Unflatten(1, (in_channels, image_size, image_size)),
        nn.Conv2d(in_channels, 6, kernel_size=5, padding=2), act(), pool(),
        nn.Conv2d(6, 16, kernel_size=5, padding=second_padding), act(), pool(),
        nn.Flatten(),
        nn.Linear(16 * side * side, 120), act(),
        nn.Linear(120, 84), act(),
        nn.Linear(84, classes)))


def cnn(classes=10, image_size=28, in_channels=1):
    """A small convolutional network with batch norm: two blocks of 3x3 convolution (16 and 32
    channels), batch norm, ReLU and 2x2 max pooling, then a dense layer to the classes.

    >>> cr.models.cnn(image_size=8)(cr.zeros(3, 64)).shape
    cr.Size([3, 10])
    """
    from .. import nn
    side = image_size // 4
    if side < 1:
        raise ValueError(f"cnn: images of {image_size}x{image_size} are too small")
    return pytorch_init(nn.Sequential(
        nn.Unflatten(1, (in_channels, image_size, image_size)),
        nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * side * side, classes)))


def pytorch_init(model):
    """Give every Linear layer PyTorch's default initialisation, weight and bias uniform in
    +-1/sqrt(fan_in) (convolutions are born with it), so that a network matches the same
    network built in PyTorch; chainrule's MLPs keep He's initialisation."""
    from .. import nn
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            bound = 1 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.weight, -bound, bound)
            if layer.bias is not None:
                nn.init.uniform_(layer.bias, -bound, bound)
    return model


def check_fits(nbytes, what):
    """Refuse, before allocating, arrays larger than this machine's memory (ValueError)."""
    import os
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not on Linux: let NumPy say it
        return
    if nbytes > memory:
        raise ValueError(f"{what} would take {_bytes(nbytes)}, more than this machine's "
                         f"{_bytes(memory)} of memory")


def _bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1024


def parameter_bytes(config):
    """The float32 bytes of the weights a config describes, worked out without building it."""
    if config.get("model", "mlp") in LANGUAGE_MODELS:
        shapes = language_model_shapes(config)
        shapes.pop("lm_head.weight", None)  # GPT's head is its token embedding
        return 4 * sum(math.prod(shape) for shape in shapes.values())
    if config.get("model", "mlp") != "mlp":
        return 0  # the CNNs' sizes are fixed and small
    sizes = layer_sizes(config["input_size"], config["hidden"], config["classes"])
    return 4 * sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


def image_side(input_size):
    """The side of the square one-channel images flattened into ``input_size`` values."""
    side = math.isqrt(int(input_size))
    if side * side != input_size:
        raise ValueError(f"a convolutional model needs square images, but the inputs have "
                         f"{input_size} values")
    return side


def build(config):
    """The model a config describes (see the module docstring)."""
    kind = config.get("model", "mlp")
    if kind in LANGUAGE_MODELS:
        return language_model(config)
    if kind not in MODELS:
        raise ValueError(f"model must be one of {MODELS + LANGUAGE_MODELS}, got {kind!r}")
    if kind == "mlp":
        return mlp(config["input_size"], config["hidden"], config["classes"],
                   config.get("activation", "relu"), init=config.get("init", "kaiming_uniform"))
    classes = layer_sizes(config["input_size"], [], config["classes"])[-1]
    side = image_side(config["input_size"])
    if kind == "cnn":
        return cnn(classes, side)
    return lenet(classes, side, classic=kind == "lenet-classic")


def describe(config):
    """One line saying which network a config builds."""
    kind = config.get("model", "mlp")
    if kind == "gpt":
        return (f"GPT ({config['n_layer']} layers, {config['n_head']} heads, width "
                f"{config['n_embd']}, block {config['block_size']}, vocabulary "
                f"{config['vocab_size']}")
    if kind in LANGUAGE_MODELS:
        hidden = config["hidden"]
        inputs = f"embedding {config['embedding_dim']}" if config.get("embedding_dim") \
            else "one-hot"
        return (f"{kind.upper()} language model ({hidden[0]} hidden x {len(hidden)} "
                f"layer{'s' if len(hidden) > 1 else ''}, {inputs} inputs, vocabulary "
                f"{config['vocab_size']}")
    if kind == "mlp":
        sizes = "-".join(str(s) for s in [config["input_size"], *config["hidden"],
                                          config["classes"]])
        return f"MLP {sizes} ({config.get('activation', 'relu')}"
    return {"lenet": "LeNet (relu, max pooling", "lenet-classic": "LeNet (sigmoid, average pooling",
            "cnn": "CNN with batch norm (relu, max pooling"}[kind]


def mlp(input_size, hidden, classes, activation="relu", init="kaiming_uniform"):
    """``Linear -> activation`` for each hidden size, then a final ``Linear`` to the classes.

    With ``hidden=[256]`` this is the textbooks' network: z = W1 x, h = phi(z), o = W2 h.
    """
    from .. import nn
    _check_activation(activation)
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
           "leaky_relu": nn.LeakyReLU}[activation]
    sizes = layer_sizes(input_size, hidden, classes)
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(fan_in, fan_out, init=init), act()]
    layers.append(nn.Linear(sizes[-2], sizes[-1], init=init))
    return nn.Sequential(*layers)


def layer_sizes(input_size, hidden, classes):
    """``[input_size, *hidden, classes]``, each checked to be a positive int (16.7 is refused,
    not truncated)."""
    if not isinstance(hidden, (list, tuple)):
        raise ValueError(f"hidden must be a list of layer sizes, got {hidden!r}")
    names = ["input_size", *(f"hidden[{i}]" for i in range(len(hidden))), "classes"]
    sizes = [input_size, *hidden, classes]
    for name, size in zip(names, sizes):
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise ValueError(f"{name} must be a positive int, got {size!r}")
    return [int(size) for size in sizes]


def mlp_config(input_size, hidden, classes, activation="relu"):
    return {"input_size": int(input_size), "hidden": [int(h) for h in hidden],
            "classes": int(classes), "activation": activation}


def expected_shapes(config):
    """The parameter shapes, by state_dict name, of the MLP that ``config`` describes, worked
    out without building it, so that a config claiming huge layers costs nothing to check.
    Raises ValueError if the config is unusable."""
    if config.get("model", "mlp") in LANGUAGE_MODELS:
        return language_model_shapes(config)
    if config.get("model", "mlp") != "mlp":
        missing = [key for key in ("input_size", "classes") if key not in config]
        if missing:
            raise ValueError(f"the config lacks {missing}")
        # A CNN's sizes follow from the image size alone: building it is cheap.
        return {name: tuple(t.shape) for name, t in build(config)._named_state()}
    missing = [key for key in ("input_size", "hidden", "classes") if key not in config]
    if missing:
        raise ValueError(f"the config lacks {missing}")
    _check_activation(config.get("activation", "relu"))
    sizes = layer_sizes(config["input_size"], config["hidden"], config["classes"])
    shapes = {}
    # mlp() puts an activation after each hidden Linear, so the Linears are at 0, 2, 4, ...
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        shapes[f"{2 * index}.weight"] = (fan_out, fan_in)
        shapes[f"{2 * index}.bias"] = (fan_out,)
    return shapes


def check_checkpoint(tree, path):
    """The config of a checkpoint tree, after checking it and the stored weights against each
    other, before anything is allocated; raises CheckpointError naming ``path``."""
    from ..errors import CheckpointError
    from ..nn.module import match_state_dict
    config = tree.get("config") if isinstance(tree, dict) else None
    if config is None and isinstance(tree, dict) and "module" in tree and "model" in tree:
        raise CheckpointError(f"{path}: holds your own model (a {tree['module']}, trained with "
                              f"Trainer.fit(model, ...)): build it in Python, then load "
                              f"load_tree(path)['model'] with load_state_dict, or continue with "
                              f"trainer.fit(model, ..., ckpt_path=path)")
    if not isinstance(config, dict) or "model" not in tree:
        raise CheckpointError(f"{path}: not a chainrule model checkpoint (no 'config' and "
                              f"'model' entries)")
    try:
        shapes = expected_shapes(config)
    except ValueError as error:
        raise CheckpointError(f"{path}: the checkpoint's config is unusable: {error}") from error
    try:
        match_state_dict(shapes, tree["model"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the 'model' entry does not fit the config: "
                              f"{error}") from error
    return config


def language_model(config):
    """The language model a config describes (see the module docstring)."""
    if config["model"] == "gpt":
        from .gpt import GPT
        return GPT(gpt_config(config))
    from .rnn_lm import rnn_lm
    hidden = _recurrent_hidden(config["hidden"])
    return rnn_lm(config["model"], config["vocab_size"], hidden[0], len(hidden),
                  config.get("embedding_dim") or None, config.get("dropout", 0.0))


def gpt_config(config):
    from .gpt import GPTConfig
    return GPTConfig(block_size=config["block_size"], vocab_size=config["vocab_size"],
                     n_layer=config["n_layer"], n_head=config["n_head"],
                     n_embd=config["n_embd"], dropout=config.get("dropout", 0.0),
                     bias=config.get("bias", True))


def language_model_shapes(config):
    """The state-dict shapes of the language model a config describes, worked out without
    building it (a checkpoint's config is checked before anything is allocated)."""
    needed = ("block_size", "n_layer", "n_head", "n_embd") if config.get("model") == "gpt" \
        else ("hidden",)
    missing = [key for key in ("model", "vocab_size", *needed) if key not in config]
    if missing:
        raise ValueError(f"the config lacks {missing}")
    vocab = layer_sizes(config["vocab_size"], [], 1)[0]
    embedding = config.get("embedding_dim") or 0
    if isinstance(embedding, bool) or not isinstance(embedding, numbers.Integral) \
            or embedding < 0:
        raise ValueError(f"embedding_dim must be an int >= 0, got {embedding!r}")
    if config["model"] == "gpt":
        c = gpt_config(config)
        shapes = {"transformer.wte.weight": (vocab, c.n_embd),
                  "transformer.wpe.weight": (c.block_size, c.n_embd)}
        parts = [("ln_1", ()), ("attn.c_attn", (3, 1)), ("attn.c_proj", (1, 1)), ("ln_2", ()),
                 ("mlp.c_fc", (4, 1)), ("mlp.c_proj", (1, 4))]
        for layer in range(c.n_layer):
            for name, (out, into) in [(n, m or (1, None)) for n, m in parts]:
                prefix = f"transformer.h.{layer}.{name}"
                shapes[f"{prefix}.weight"] = (out * c.n_embd, into * c.n_embd) if into \
                    else (c.n_embd,)
                if c.bias:
                    shapes[f"{prefix}.bias"] = (out * c.n_embd,)
        shapes["transformer.ln_f.weight"] = (c.n_embd,)
        if c.bias:
            shapes["transformer.ln_f.bias"] = (c.n_embd,)
        shapes["lm_head.weight"] = (vocab, c.n_embd)  # tied to wte: listed twice, stored once
        return shapes
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[config["model"]]
    hidden = _recurrent_hidden(config.get("hidden"))
    shapes = {"embedding.weight": (vocab, embedding)} if embedding else {}
    inputs = embedding or vocab
    for k, size in enumerate(hidden):
        shapes[f"rnn.weight_ih_l{k}"] = (gates * size, inputs if k == 0 else size)
        shapes[f"rnn.weight_hh_l{k}"] = (gates * size, size)
        shapes[f"rnn.bias_ih_l{k}"] = (gates * size,)
        shapes[f"rnn.bias_hh_l{k}"] = (gates * size,)
    shapes["linear.weight"] = (vocab, hidden[0])
    shapes["linear.bias"] = (vocab,)
    return shapes


def _recurrent_hidden(hidden):
    sizes = layer_sizes(1, hidden, 1)[1:-1]
    if not sizes or len(set(sizes)) != 1:
        raise ValueError(f"a recurrent language model's hidden sizes are one size per layer, "
                         f"all equal (nn.RNN/GRU/LSTM stack equal layers), got {hidden!r}")
    return sizes


def load_model(path):
    """Rebuild the model saved in a checkpoint; returns ``(model, tree)``."""
    from ..serialize import load_tree
    tree = load_tree(path)
    config = check_checkpoint(tree, path)
    model = build(config)
    model.load_state_dict(tree["model"])
    return model, tree


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
