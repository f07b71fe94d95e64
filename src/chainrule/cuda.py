"""``cr.cuda``: what ``torch.cuda`` answers on a machine without a GPU, so that the usual
``device = "cuda" if cr.cuda.is_available() else "cpu"`` picks the CPU. chainrule computes with
NumPy on the CPU only.
"""


def is_available():
    """Whether a CUDA GPU can be used: never, in chainrule.

    >>> cr.cuda.is_available()
    False
    """
    return False


def device_count():
    """The number of CUDA GPUs chainrule can use: 0.

    >>> cr.cuda.device_count()
    0
    """
    return 0


def manual_seed(seed):
    """Seed the GPUs' generators: there are none, so nothing happens (as in PyTorch without a
    GPU). Seed chainrule's own generator with ``cr.manual_seed``.

    >>> cr.cuda.manual_seed(0)
    """


def manual_seed_all(seed):
    """Seed every GPU's generator: there are none, so nothing happens (as in PyTorch without
    a GPU).

    >>> cr.cuda.manual_seed_all(0)
    """


__all__ = ["is_available", "device_count", "manual_seed", "manual_seed_all"]
