"""The standalone HTML page that inspect writes, shared by the graph's page (html.py) and the
compiled step's (compiled_code.py)."""
from ..display import run_dot
from .layout import fallback_svg


def page_svg(report, view):
    """The report's graph drawn by Graphviz as inline SVG, or the built-in layout without it."""
    svg = run_dot(report.dot, "svg")
    if svg is None:
        return fallback_svg(view)
    svg = svg.decode()
    start = svg.find("<svg")  # drop the XML prolog and doctype: the SVG sits inside the page
    return svg[start:] if start >= 0 else svg


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>body {{ margin: 0; }} {css}</style>
</head>
<body>
{body}
</body>
</html>
"""
