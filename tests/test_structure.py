"""The package's import structure: the only cycle allowed is ops <-> tensor, which the design
calls for (Tensor's operators call the ops; the ops return Tensors). The graph is read from the
source with ``ast``, so imports inside functions count too: a lazy import hides a cycle from
Python's import machinery, not from a reader."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "chainrule"

# Cycles beyond ops <-> tensor allowed for now: none are left (issue 20, item 4). Each entry
# would be a set of modules allowed to take part in a cycle (beside ops and tensor); an entry
# that no longer takes part in any cycle fails the test, so that this list can only shrink.
REMAINING_ELSEWHERE = []


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules():
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imported_names(tree, name, is_package, known):
    """The chainrule modules that a module's source imports, anywhere in the file: for
    ``from X import y``, the module X.y where y is one, otherwise X."""
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                yield submodule if submodule in known else base


def import_graph():
    """module -> the chainrule modules it imports."""
    known = modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        found = set(imported_names(tree, name, path.name == "__init__.py", known))
        graph[name] = {m for m in found if m in known and m != name}
    return graph


def strongly_connected(graph):
    """Tarjan's algorithm, iterative: the groups of modules that import each other in a
    circle (only groups of two or more)."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph[succ]))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(group)
    return groups


def beyond_ops_and_tensor(group):
    return {m for m in group if m != "chainrule.tensor" and m != "chainrule.ops"
            and not m.startswith("chainrule.ops.")}


def unexpected_cycles(graph, allowlist):
    """The cycles beyond ops <-> tensor that no allowlist entry covers."""
    cycles = [beyond_ops_and_tensor(g) for g in strongly_connected(graph)]
    return [sorted(extra) for extra in cycles
            if extra and not any(extra <= allowed for allowed in allowlist)]


def fixed_entries(graph, allowlist):
    """The allowlist entries that no longer take part in any cycle."""
    cycles = [beyond_ops_and_tensor(g) for g in strongly_connected(graph)]
    return [sorted(allowed) for allowed in allowlist
            if not any(extra and extra <= allowed for extra in cycles)]


def test_the_only_import_cycle_is_ops_and_tensor():
    unexpected = unexpected_cycles(import_graph(), REMAINING_ELSEWHERE)
    assert not unexpected, f"modules in an import cycle: {unexpected}"


def test_the_allowlist_of_remaining_cycles_only_shrinks():
    gone = fixed_entries(import_graph(), REMAINING_ELSEWHERE)
    assert not gone, f"these cycles are fixed; remove them from REMAINING_ELSEWHERE: {gone}"


def test_the_checks_report_a_new_cycle_and_a_fixed_entry():
    tensor, ops = "chainrule.tensor", "chainrule.ops"
    graph = {tensor: {ops, "chainrule.a"}, ops: {tensor}, "chainrule.a": {tensor},
             "chainrule.b": {"chainrule.c"}, "chainrule.c": set()}
    assert unexpected_cycles(graph, []) == [["chainrule.a"]]
    assert unexpected_cycles(graph, [{"chainrule.a"}]) == []
    assert fixed_entries(graph, [{"chainrule.a"}, {"chainrule.b", "chainrule.c"}]) == [
        ["chainrule.b", "chainrule.c"]]
    graph[tensor] = {ops}
    assert unexpected_cycles(graph, []) == [] and fixed_entries(graph, [{"chainrule.a"}])


def test_the_engine_imports_neither_tensor_nor_the_checks():
    graph = import_graph()
    assert graph["chainrule.engine"] <= {"chainrule.backend", "chainrule.errors"}


def test_the_cycle_finder_finds_a_cycle_and_ignores_a_chain():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == [{"a", "b", "c"}]
    assert strongly_connected({"a": {"b"}, "b": set()}) == []


def test_function_level_imports_count():
    tree = ast.parse("def f():\n    from .tensor import Tensor\n")
    found = imported_names(tree, "chainrule.engine", False, {"chainrule.tensor"})
    assert set(found) == {"chainrule.tensor"}


def _function(path, name):
    tree = ast.parse((PACKAGE / path).read_text())
    return next(node for node in ast.walk(tree)
                if isinstance(node, ast.FunctionDef) and node.name == name)


def _depth(node, level=0):
    """How deeply blocks (if, for, while, try, with) nest inside ``node``."""
    blocks = (ast.If, ast.For, ast.While, ast.Try, ast.With)
    deepest = level
    for child in ast.iter_child_nodes(node):
        inner = level + 1 if isinstance(child, blocks) else level
        deepest = max(deepest, _depth(child, inner))
    return deepest


@pytest.mark.parametrize("path, name", [("engine.py", "backward_pass"),
                                        ("ops/primitive.py", "__call__")])
def test_the_engine_loop_and_the_op_call_read_as_the_algorithm(path, name):
    function = _function(path, name)
    body = function.body[1:] if isinstance(function.body[0].value if isinstance(
        function.body[0], ast.Expr) else None, ast.Constant) else function.body
    lines = function.end_lineno - body[0].lineno + 1  # the code, without the docstring
    assert lines < 40, f"{name} has {lines} lines of code"
    assert _depth(function) <= 3, f"{name} nests {_depth(function)} blocks deep"
    assert not any(isinstance(n, ast.While) and isinstance(n.test, ast.Constant)
                   for n in ast.walk(function)), f"{name} loops with while True"


def test_the_depth_measure_counts_nested_blocks():
    tree = ast.parse("def f():\n    for a in b:\n        if a:\n            while a:\n"
                     "                with c:\n                    pass\n")
    assert _depth(tree.body[0]) == 4
