"""ONNX export of chainrule models: ``chainrule.onnx.export`` (the onnx package, an optional
extra: pip install -e ".[interop]"). The work is done in chainrule.interop.onnx_export."""
from .interop.onnx_export import export

__all__ = ["export"]
