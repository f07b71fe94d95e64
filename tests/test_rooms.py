"""Each room one job: the command line lives in chainrule.cli and no library imports it; inspect
sits below train (it imports neither train, models nor the CLI); a command module that fails to
import is an error, not a silently missing command."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "chainrule"


def imported_modules(path):
    """The chainrule modules a file imports (absolute names), anywhere in it."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([node.module]
                                                                       if node.module else []))
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def test_no_library_module_imports_the_cli():
    offenders = [str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                 if "cli" not in path.relative_to(PACKAGE).parts[:1]
                 and path.name != "__main__.py"
                 and any(m == "chainrule.cli" or m.startswith("chainrule.cli.")
                         for m in imported_modules(path))]
    assert offenders == []


@pytest.mark.parametrize("path", sorted((PACKAGE / "inspect").glob("*.py")), ids=lambda p: p.name)
def test_inspect_sits_below_train(path):
    above = ("chainrule.train", "chainrule.models", "chainrule.cli")
    found = [m for m in imported_modules(path) if m.startswith(above)]
    assert found == [], f"{path.name} imports {found}"


def test_the_old_command_modules_are_gone():
    for old in ("train/commands.py", "inspect/commands.py", "interop/commands.py", "cli.py",
                "inspect/display.py"):
        assert not (PACKAGE / old).exists(), old


def test_a_command_module_that_fails_to_import_is_an_error():
    code = ("import sys\n"
            "sys.modules['chainrule.cli.export'] = None  # as if export.py failed to import\n"
            "from chainrule.cli import main\n"
            "main(['--help'])\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "Error: import of chainrule.cli.export halted" in result.stderr
    assert "usage: chainrule" not in result.stdout  # not a help that silently lacks export


def test_every_command_is_registered():
    from chainrule.cli import build_parser
    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    assert set(commands.choices) == {"train", "evaluate", "graph", "explain", "memory",
                                     "export", "sample", "compile"}
