"""What explain, the graph and the memory ledger say matches the textbook: an activation a
learner meets is one step whose saved arrays are the ones its printed formula uses, the notes
read as sentences, and the objective has one name (L alone, J = L + s with a penalty)."""
import numpy as np
import pytest

from chainrule import models, nn
from chainrule.inspect import backward_steps, memory_report, to_dot
from chainrule.nn.objective import objective
from chainrule.random import manual_seed

# activation -> (what its one node saves, the symbol its formula in explain reads)
SAVED = {"relu": (["mask"], "mask"), "tanh": (["out"], "h"), "sigmoid": (["out"], "h"),
         "leaky_relu": (["positive"], "mask")}


def network(activation, lam=0.0):
    manual_seed(0)
    model = models.mlp(6, [5], 3, activation=activation)
    rng = np.random.default_rng(0)
    x = rng.random((4, 6), dtype=np.float32)
    y = rng.integers(0, 3, 4)
    return model, objective(model, x, y, lam)


@pytest.mark.parametrize("activation", sorted(SAVED))
def test_an_activation_is_one_step_that_saves_what_its_formula_reads(activation):
    model, loss = network(activation)
    h = loss.node.parents[0].parents[0]  # L <- o = h W2^T + b2 <- h W2^T
    while h.op.name != activation:
        h = next(p for p in h.parents if p is not None)
    assert sorted(k for k, v in h.saved.items() if isinstance(v, np.ndarray)) == \
        SAVED[activation][0]
    # h's only parent is z: the activation is a single node, not a composite's several.
    assert [p.op.name for p in h.parents] == ["add"]
    steps = backward_steps(loss, params=model)
    z_step = next(s for s in steps if s.name == "z")
    note = " ".join(z_step.notes)
    assert "composite" not in note and " is is " not in note and "saved" in note
    assert ("mask" in note) == (SAVED[activation][1] == "mask")
    ledger = memory_report(loss, model)
    row = next(r for r in ledger.rows if r.op == activation)
    assert sorted(item.name for item in row.saved) == SAVED[activation][0]


@pytest.mark.parametrize("activation", ["sigmoid", "softplus", "leaky_relu"])
def test_activations_appear_in_the_graph_as_one_op(activation):
    import chainrule as cr
    x = cr.tensor(np.linspace(-2, 2, 5), requires_grad=True)
    y = getattr(cr, activation)(x)
    assert y.node.op.name == activation and y.node.parents == (x.node,)
    assert to_dot(y.sum()).count("->") == 4  # x -> op -> y -> sum -> out: one op, not several


def test_the_objective_is_L_alone_and_J_with_a_penalty():
    model, loss = network("relu")
    assert [s.name for s in backward_steps(loss, params=model)][0] == "L"
    assert "J" not in {s.name for s in backward_steps(loss, params=model)}
    model, penalised = network("relu", lam=0.1)
    names = [s.name for s in backward_steps(penalised, params=model)]
    assert names[0] == "J" and "L" in names and "s" in names
    assert "the output J" in str(memory_report(penalised, model))
    assert "the output L" in str(memory_report(loss, model))


def test_only_parameters_are_called_parameters():
    import chainrule as cr
    model, _ = network("relu")
    x = cr.tensor(np.ones((2, 6), dtype=np.float32), requires_grad=True)  # an input
    loss = nn.functional.cross_entropy(model(x), np.array([0, 1]))
    steps = backward_steps(loss, params=model)
    leaves = [s for s in steps if s.op == "leaf"]
    assert len(leaves) == 5
    called = {s.name for s in leaves if s.definition.split(": ", 1)[1].startswith("a parameter")}
    assert called == {name for name, _ in model.named_parameters()}
    (x_step,) = [s for s in leaves if s.name not in called]
    assert x_step.definition.endswith("a leaf tensor that requires grad (not a parameter of "
                                      "the model)")


def test_the_memory_summary_puts_the_ratio_beside_the_whole_footprint():
    model, loss = network("relu")
    report = memory_report(loss, model)
    text = str(report)
    assert f"training keeps {report.ratio:.1f}x as much beyond the parameters and the batch" in text
    both = report.parameter_bytes + report.input_bytes
    line = next(l for l in text.splitlines() if l.startswith("with the parameters and the batch"))
    assert f"training {both + report.training_bytes:,} B" in line
    assert f"prediction {both + report.inference_bytes:,} B" in line
