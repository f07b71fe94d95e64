"""More of PyTorch's elementwise and special functions under their names and signatures,
declared public as those of functions.py are (chainrule/public.py)."""
