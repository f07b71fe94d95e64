"""``chainrule.utils``, where PyTorch keeps ``torch.utils.data``: ``chainrule.utils.data`` is
``chainrule.data``."""
