"""The multilayer perceptrons the trainer and the inspection commands build, and how they are
described in a checkpoint.

A checkpoint (written by chainrule.train, read with chainrule.serialize.load_tree) is a tree with
at least ``{"config": {...}, "model": state_dict}``, where config holds ``input_size``,
``hidden`` (a list of layer sizes), ``classes`` and ``activation``.
"""
import numbers

ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")


def mlp(input_size, hidden, classes, activation="relu", init="kaiming_uniform"):
    """``Linear -> activation`` for each hidden size, then a final ``Linear`` to the classes.

    With ``hidden=[256]`` this is the textbooks' network: z = W1 x, h = phi(z), o = W2 h.
    """
    from . import nn
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
    from .errors import CheckpointError
    from .nn.module import match_state_dict
    config = tree.get("config") if isinstance(tree, dict) else None
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


def load_model(path):
    """Rebuild the model saved in a checkpoint; returns ``(model, tree)``."""
    from .serialize import load_tree
    tree = load_tree(path)
    config = check_checkpoint(tree, path)
    model = mlp(config["input_size"], config["hidden"], config["classes"],
                config.get("activation", "relu"))
    model.load_state_dict(tree["model"])
    return model, tree


def _check_activation(activation):
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
