"""``chainrule.utils``, where PyTorch keeps ``torch.utils.data``: ``chainrule.utils.data`` is
``chainrule.data`` (loaded on first use, so ``cr.utils.data.DataLoader`` works after a plain
``import chainrule``)."""


def __getattr__(name):
    if name == "data":
        from chainrule import data
        globals()["data"] = data
        return data
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
