"""More of PyTorch's reductions, selections and rearrangements under their names and
signatures, declared public as those of functions.py are (chainrule/public.py)."""
