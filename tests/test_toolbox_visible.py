"""Every op of the toolbox reaches explain, the graph and the memory ledger: each primitive
has its chain-rule formula for every input, and each case's graph can be explained, drawn and
measured, with each op labelled by its name."""
import io
import re

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn  # noqa: F401  (loads the conv, pool and norm primitives into REGISTRY)
from torch_cases import CASES


def test_every_primitive_says_its_chain_rule_step_for_every_input():
    missing = [f"{p.name}.{p.input_name(position)}" for p in cr.REGISTRY.values()
               if p.differentiable and p.forward.__module__.startswith("chainrule.")
               for position in p.vjps if not p.formula_for(position)]
    undifferentiated = [p.name for p in cr.REGISTRY.values()
                        if p.differentiable and not p.vjps]
    assert not missing, missing
    assert not undifferentiated, undifferentiated


def _loss(case):
    rng = np.random.default_rng(0)
    inputs = []
    for spec in case.inputs:
        array = spec.array(rng, "float64")
        inputs.append(cr.tensor(array, requires_grad=spec.kind in ("float", "zeros")))
    try:
        out = case.fn(cr, *inputs)
    except cr.ChainruleError:
        # The edge, empty and integer cases include calls PyTorch refuses, and chainrule with
        # it (test_torch_ops checks that they agree); they leave no graph to show here.
        if case.name in ("edge", "empty", "integer", "reduction") or case.edges:
            return None
        raise
    outs = out if isinstance(out, (tuple, list)) else [out]
    terms = [o.sum() for o in outs if isinstance(o, cr.Tensor) and o.requires_grad]
    return sum(terms[1:], terms[0]) if terms else None


def _ops(loss):
    seen, stack, names = set(), [loss.node], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen or node.op is None:
            continue
        seen.add(id(node))
        names.add(node.op.name)
        stack.extend(node.parents)
    return names


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_explain_graph_and_memory_name_every_op(case):
    loss = _loss(case)
    if loss is None:
        return
    ops = _ops(loss)
    text = io.StringIO()
    cr.inspect.explain(loss, file=text)
    dot = cr.inspect.to_dot(loss)
    report = str(cr.inspect.memory_report(loss))
    # Long names are wrapped at their underscores in the drawing.
    labels = {label.replace("\\n", "") for label in
              re.findall(r'shape=circle.*?label="([^"]+)"', dot)}
    assert ops <= labels, ops - labels
    for op in ops:
        assert re.search(rf"\b{op}\(", text.getvalue()), f"explain never shows {op}"
    assert "training keeps" in report
