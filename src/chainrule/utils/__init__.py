"""``chainrule.utils``, where PyTorch keeps ``torch.utils.data`` and ``torch.utils.checkpoint``:
``chainrule.utils.data`` is ``chainrule.data``, and ``chainrule.utils.checkpoint`` holds
activation checkpointing (both loaded on first use, so ``cr.utils.data.DataLoader`` and
``cr.utils.checkpoint.checkpoint`` work after a plain ``import chainrule``)."""


def __getattr__(name):
    if name == "data":
        from chainrule import data
        globals()["data"] = data
        return data
    if name == "checkpoint":
        import importlib
        return importlib.import_module("chainrule.utils.checkpoint")
    raise AttributeError(f"module 'chainrule.utils' has no attribute {name!r}")
