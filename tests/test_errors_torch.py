"""Misuse, run in both libraries: chainrule raises an instance of the class PyTorch raises, so
ported code's ``except RuntimeError:`` (or IndexError, ValueError, TypeError) still catches it,
and its message names the op and, where shapes are the trouble, the shapes.

Each case is one call written once for both (``M`` is chainrule or torch, ``F`` its
nn.functional); ``says`` is what chainrule's message must contain.
"""
import re
from dataclasses import dataclass

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@dataclass
class Misuse:
    name: str
    call: object  # call(M, F)
    says: str  # a regular expression chainrule's message must match


def _ones(M, *shape, **kw):
    return M.ones(*shape, **kw)


def _grad_leaf(M):
    return M.ones(2, requires_grad=True)


CASES = [
    # shapes that do not fit: RuntimeError
    Misuse("reshape", lambda M, F: _ones(M, 2, 3).reshape(4, 2), r"reshape.*\(2, 3\)|6"),
    Misuse("view", lambda M, F: _ones(M, 2, 3).view(5), r"view"),
    Misuse("view-two-inferred", lambda M, F: _ones(M, 2, 3).view(-1, -1), r"view.*-1|infer"),
    Misuse("permute-count", lambda M, F: _ones(M, 2, 3).permute(0), r"permute"),
    Misuse("permute-repeated", lambda M, F: _ones(M, 2, 3).permute(0, 0), r"permute"),
    Misuse("einsum-sizes", lambda M, F: M.einsum("ij,jk->ik", _ones(M, 2, 3), _ones(M, 2, 3)),
           r"einsum"),
    Misuse("einsum-operands", lambda M, F: M.einsum("ij,jk->ik", _ones(M, 2, 3)), r"einsum"),
    Misuse("gather-index-shape", lambda M, F: M.gather(_ones(M, 2, 3), 1,
                                                       M.zeros(3, 1, dtype=M.int64)), r"gather"),
    Misuse("gather-out-of-bounds", lambda M, F: M.gather(_ones(M, 2, 3), 1,
                                                         M.full((2, 1), 5, dtype=M.int64)),
           r"gather"),
    Misuse("conv2d-negative-padding", lambda M, F: F.conv2d(_ones(M, 1, 1, 3, 3),
                                                            _ones(M, 1, 1, 2, 2), padding=-1),
           r"conv2d.*padding"),
    Misuse("conv2d-channels", lambda M, F: F.conv2d(_ones(M, 1, 2, 3, 3), _ones(M, 1, 1, 2, 2)),
           r"conv2d"),
    Misuse("matmul", lambda M, F: _ones(M, 2, 3) @ _ones(M, 2, 3), r"matmul.*\(2, 3\)"),
    Misuse("broadcast", lambda M, F: _ones(M, 2, 3) + _ones(M, 4), r"add.*\(2, 3\).*\(4,\)"),
    Misuse("cat-sizes", lambda M, F: M.cat([_ones(M, 2, 3), _ones(M, 3, 4)], 1), r"cat"),
    Misuse("stack-sizes", lambda M, F: M.stack([_ones(M, 2, 3), _ones(M, 2, 4)]), r"stack"),
    Misuse("expand", lambda M, F: _ones(M, 2, 3).expand(4, 3), r"expand|broadcast.*\(2, 3\)"),
    Misuse("mm-vectors", lambda M, F: M.mm(_ones(M, 2), _ones(M, 2)), r"mm.*\(2,\)"),
    Misuse("bmm-batch", lambda M, F: M.bmm(_ones(M, 2, 2, 3), _ones(M, 3, 3, 2)), r"bmm"),
    Misuse("dot-sizes", lambda M, F: M.dot(_ones(M, 2), _ones(M, 3)), r"(dot|matmul).*\(3,\)"),
    Misuse("masked_fill-mask", lambda M, F: _ones(M, 2, 3).masked_fill(M.ones(4, dtype=M.bool),
                                                                       0.0), r"masked_fill"),
    Misuse("where-shapes", lambda M, F: M.where(M.ones(2, dtype=M.bool), _ones(M, 3),
                                                 _ones(M, 2)), r"where"),
    Misuse("repeat-fewer-dims", lambda M, F: _ones(M, 2, 3).repeat(2), r"repeat"),
    Misuse("linear-features", lambda M, F: M.nn.Linear(3, 2)(_ones(M, 4, 5)), r"Linear.*\(4, 5\)"),
    Misuse("flip-repeated-dim", lambda M, F: _ones(M, 2, 3).flip((0, 0)), r"flip.*0"),
    Misuse("clamp-no-bounds", lambda M, F: _ones(M, 2).clamp(), r"clamp"),
    Misuse("zeros-negative", lambda M, F: M.zeros(-1), r"zeros.*-1"),
    Misuse("eye-negative", lambda M, F: M.eye(-1), r"eye.*-1"),
    Misuse("arange-step-0", lambda M, F: M.arange(0, 3, 0), r"arange.*step"),
    Misuse("chunk-0", lambda M, F: _ones(M, 4).chunk(0), r"chunk"),
    Misuse("narrow-past-end", lambda M, F: _ones(M, 2, 3).narrow(0, 1, 2), r"narrow"),
    Misuse("unfold-too-big", lambda M, F: _ones(M, 4).unfold(0, 5, 1), r"unfold"),
    Misuse("topk-too-many", lambda M, F: _ones(M, 3).topk(4), r"topk"),
    Misuse("repeat_interleave-negative", lambda M, F: _ones(M, 3).repeat_interleave(-1),
           r"repeat_interleave"),
    Misuse("tril-vector", lambda M, F: _ones(M, 3).tril(), r"tril"),
    Misuse("diagonal-same-dims", lambda M, F: _ones(M, 3, 3).diagonal(0, 0, 0), r"diagonal"),
    Misuse("scatter_reduce-kind", lambda M, F: M.scatter_reduce(_ones(M, 3), 0, M.tensor([0]),
                                                                _ones(M, 1), "median"),
           r"scatter_reduce"),
    Misuse("cat-empty", lambda M, F: M.cat([]), r"cat|concatenate"),
    Misuse("stack-empty", lambda M, F: M.stack([]), r"stack"),
    Misuse("expand-negative", lambda M, F: _ones(M, 3).expand(-2), r"expand"),
    Misuse("masked_fill-float-mask", lambda M, F: _ones(M, 3).masked_fill(_ones(M, 3), 0.0),
           r"masked_fill"),
    Misuse("gather-float-index", lambda M, F: M.gather(_ones(M, 3), 0, _ones(M, 1)), r"gather"),
    Misuse("int-negative-power", lambda M, F: M.tensor([2]) ** -1, r"pow|power|negative"),
    Misuse("reshape-two-inferred", lambda M, F: _ones(M, 6).reshape(-1, -1), r"reshape|-1"),
    Misuse("split-0", lambda M, F: _ones(M, 4).split(0), r"split"),
    Misuse("load_state_dict-missing", lambda M, F: M.nn.Linear(3, 2).load_state_dict({}),
           r"weight"),
    Misuse("std-of-integers", lambda M, F: M.tensor([1, 2]).std(), r"std|var"),
    Misuse("softmax-of-integers", lambda M, F: M.softmax(M.tensor([1, 2]), 0), r"softmax"),
    # dtypes that do not fit: RuntimeError
    Misuse("mean-of-integers", lambda M, F: M.tensor([1, 2]).mean(), r"mean.*int64"),
    Misuse("bitwise-on-floats", lambda M, F: _ones(M, 2) & _ones(M, 2), r"bitwise_and.*float"),
    Misuse("linspace-bool", lambda M, F: M.linspace(0, 1, 3, dtype=M.bool), r"linspace.*bool"),
    Misuse("arange-bool", lambda M, F: M.arange(0, 3, dtype=M.bool), r"arange.*bool"),
    Misuse("one_hot-floats", lambda M, F: F.one_hot(M.tensor([1.0]), 3), r"one_hot"),
    Misuse("one_hot-negative", lambda M, F: F.one_hot(M.tensor([-1]), 3), r"one_hot"),
    Misuse("inplace-float-into-int", lambda M, F: M.tensor([1, 2]).add_(0.5), r"int64"),
    Misuse("inplace-changes-shape", lambda M, F: _ones(M, 3).add_(_ones(M, 2, 3)), r"shape"),
    Misuse("sub-of-bools", lambda M, F: M.tensor([True]) - M.tensor([1]), r"sub.*bool"),
    Misuse("pow-of-bools", lambda M, F: M.tensor([True]) ** M.tensor([False]), r"pow.*bool"),
    # autograd misuse: RuntimeError
    Misuse("backward-non-scalar", lambda M, F: (_grad_leaf(M) * 2).backward(), r"scalar"),
    Misuse("backward-no-grad", lambda M, F: _ones(M, 2).sum().backward(), r"grad"),
    Misuse("inplace-on-leaf", lambda M, F: _grad_leaf(M).add_(1), r"leaf|in-place|in place"),
    Misuse("item-of-many", lambda M, F: _ones(M, 2).item(), r"item|element"),
    Misuse("bool-of-many", lambda M, F: bool(_ones(M, 2)), r"bool|ambiguous|element"),
    # dimensions and indices out of range: IndexError
    Misuse("sum-dim", lambda M, F: _ones(M, 2, 3).sum(2), r"sum.*2"),
    Misuse("index-too-many", lambda M, F: _ones(M, 3)[0, 0], r"index|indices"),
    Misuse("index-out-of-bounds", lambda M, F: _ones(M, 3)[5], r"5"),
    Misuse("transpose-dim", lambda M, F: _ones(M, 2, 3).transpose(0, 2), r"transpose|2"),
    Misuse("squeeze-dim", lambda M, F: _ones(M, 2).squeeze(1), r"squeeze|1"),
    Misuse("unsqueeze-dim", lambda M, F: _ones(M, 2).unsqueeze(3), r"unsqueeze|expand_dims|3"),
    Misuse("softmax-dim", lambda M, F: F.softmax(_ones(M, 2), 1), r"softmax|1"),
    Misuse("max-dim", lambda M, F: _ones(M, 2).max(1), r"max|1"),
    Misuse("argmax-dim", lambda M, F: _ones(M, 2).argmax(1), r"argmax|1"),
    Misuse("cumsum-dim", lambda M, F: _ones(M, 2).cumsum(1), r"cumsum"),
    Misuse("cat-dim", lambda M, F: M.cat([_ones(M, 2), _ones(M, 2)], 1), r"cat"),
    Misuse("index_select-index", lambda M, F: M.index_select(_ones(M, 3), 0,
                                                             M.tensor([5])), r"index_select"),
    Misuse("median-empty-dim", lambda M, F: M.zeros(2, 0).median(-1), r"median.*\(2, 0\)"),
    Misuse("cross_entropy-label", lambda M, F: F.cross_entropy(M.zeros(2, 3), M.tensor([0, 3])),
           r"cross_entropy.*3"),
    # values PyTorch calls ValueError / TypeError
    Misuse("cross_entropy-batch", lambda M, F: F.cross_entropy(M.zeros(2, 3), M.tensor([0])),
           r"cross_entropy"),
    Misuse("ragged-data", lambda M, F: M.tensor([[1, 2], [3]]), r"shape|length|ragged"),
    Misuse("string-data", lambda M, F: M.tensor("a"), r"str"),
    Misuse("cross_entropy-reduction", lambda M, F: F.cross_entropy(M.zeros(2, 3), M.tensor([0, 1]),
                                                                   reduction="avg"),
           r"reduction"),
    Misuse("roll-dim", lambda M, F: _ones(M, 3).roll(1, 2), r"roll|2"),
    Misuse("bool-mask-length", lambda M, F: _ones(M, 3)[M.tensor([True, False])],
           r"mask|index|shape"),
    Misuse("index_select-float-index", lambda M, F: M.index_select(_ones(M, 3), 0, _ones(M, 1)),
           r"index_select"),
]


def _run(call, M, F):
    try:
        call(M, F)
    except Exception as error:  # noqa: BLE001  (the class is what is compared)
        return error
    return None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_chainrule_raises_the_class_pytorch_raises(case):
    theirs = _run(case.call, torch, torch.nn.functional)
    assert theirs is not None, f"{case.name}: PyTorch no longer raises; the case is stale"
    ours = _run(case.call, cr, cr.nn.functional)
    assert ours is not None, f"{case.name}: chainrule answered where PyTorch raised {theirs!r}"
    expected = type(theirs)
    assert isinstance(ours, expected), (
        f"{case.name}: PyTorch raised {expected.__name__} ({theirs}), chainrule "
        f"{type(ours).__name__} ({ours})")
    assert re.search(case.says, str(ours)), f"{case.name}: message {str(ours)!r}"


def test_the_cases_cover_each_builtin_class_pytorch_uses():
    classes = {type(_run(case.call, torch, torch.nn.functional)).__name__ for case in CASES}
    assert {"RuntimeError", "IndexError", "ValueError", "TypeError"} <= classes


def test_chainrules_own_classes_still_catch_as_before():
    with pytest.raises(cr.ShapeError):
        cr.ones(2, 3) @ cr.ones(2, 3)
    with pytest.raises(ValueError):  # what ShapeError was before, kept as a base
        cr.ones(2, 3).reshape(4, 2)
    with pytest.raises(cr.DimError):
        cr.ones(2, 3).sum(2)
    assert issubclass(cr.DimError, IndexError) and issubclass(cr.ShapeError, RuntimeError)
    assert issubclass(cr.DtypeError, RuntimeError) and issubclass(cr.DtypeError, TypeError)
