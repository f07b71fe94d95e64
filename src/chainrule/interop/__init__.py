"""chainrule and the standard tools around it, each through its own library (optional extras,
imported only when used): PyTorch modules in and out (``from_torch``, ``to_torch``; torch is a
user's own install), ONNX export (``chainrule.onnx.export``, the onnx package) and TensorBoard
logs (``TensorBoardLogger``, tensorboardX). safetensors files are in ``chainrule.serialize``.
"""
from .tensorboard import TensorBoardLogger
from .torch_modules import ConversionError, from_torch, to_torch

__all__ = ["from_torch", "to_torch", "ConversionError", "TensorBoardLogger"]
