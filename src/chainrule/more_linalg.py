"""More of PyTorch's matrix functions and in-place random fills under their names and
signatures, declared public as those of functions.py are (chainrule/public.py)."""
