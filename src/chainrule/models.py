"""The multilayer perceptrons the trainer and the inspection commands build, and how they are
described in a checkpoint.

A checkpoint (written by chainrule.train, read with chainrule.serialize.load_tree) is a tree with
at least ``{"config": {...}, "model": state_dict}``, where config holds ``input_size``,
``hidden`` (a list of layer sizes), ``classes`` and ``activation``.
"""
ACTIVATIONS = ("relu", "sigmoid", "tanh", "leaky_relu")


def mlp(input_size, hidden, classes, activation="relu", init="kaiming_uniform"):
    """``Linear -> activation`` for each hidden size, then a final ``Linear`` to the classes.

    With ``hidden=[256]`` this is the textbooks' network: z = W1 x, h = phi(z), o = W2 h.
    """
    from . import nn
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    act = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
           "leaky_relu": nn.LeakyReLU}[activation]
    sizes = [int(input_size), *[int(h) for h in hidden], int(classes)]
    if any(s < 1 for s in sizes):
        raise ValueError(f"layer sizes must be positive, got {sizes}")
    layers = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(fan_in, fan_out, init=init), act()]
    layers.append(nn.Linear(sizes[-2], sizes[-1], init=init))
    return nn.Sequential(*layers)


def mlp_config(input_size, hidden, classes, activation="relu"):
    return {"input_size": int(input_size), "hidden": [int(h) for h in hidden],
            "classes": int(classes), "activation": activation}


def load_model(path):
    """Rebuild the model saved in a checkpoint; returns ``(model, tree)``."""
    from .errors import CheckpointError
    from .serialize import load_tree
    tree = load_tree(path)
    config = tree.get("config") if isinstance(tree, dict) else None
    if not isinstance(config, dict) or "model" not in tree:
        raise CheckpointError(f"{path}: not a chainrule model checkpoint (no 'config' and "
                              f"'model' entries)")
    try:
        model = mlp(config["input_size"], config["hidden"], config["classes"],
                    config.get("activation", "relu"))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: the checkpoint's config is unusable: {error}") from error
    model.load_state_dict(tree["model"])
    return model, tree
