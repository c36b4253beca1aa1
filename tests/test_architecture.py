"""The layer order of kpi_lib (issue 12): the import-linter contract in ``.importlinter`` is kept, an
upward import breaks it, no module imports another module's private name (beyond the named list
below, each waiting for its owner), and the engine modules keep their imports at the top."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "kpi_lib"

# No module imports another module's private name (issue 12); a new one fails
# test_no_private_names_across_modules.
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = set()

# Modules whose imports sit at the top (engine side of issue 12); a function-level import is allowed
# only under `if TYPE_CHECKING:` (types, no runtime edge).
TOP_IMPORT_MODULES = ["periods", "status", "warehouse", "metrics", "org", "tree", "formula", "coverage", "compute",
                      "cli_views", "costs", "targets", "scorecard", "settlement", "alerts", "changes", "actions"]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    return subprocess.run([sys.executable, "-c", code, "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_layer_contract_is_kept():
    r = _lint(ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "1 kept, 0 broken" in r.stdout


@pytest.mark.parametrize("module,upward", [
    ("periods.py", "from . import metrics"),  # base importing the engine
    ("metrics.py", "from . import settlement"),  # the old hidden metrics -> org -> settlement cycle, made direct
    ("costs.py", "from .cli_views import waterfall_table"),  # money layer importing a view
])
def test_an_upward_import_breaks_the_contract(tmp_path, module, upward):
    """Mutation check: the same contract on a copy of the package with one upward import fails, naming it."""
    shutil.copytree(PKG, tmp_path / "kpi_lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    f = tmp_path / "kpi_lib" / module
    f.write_text(f.read_text(encoding="utf-8") + f"\n{upward}  # noqa\n", encoding="utf-8")
    r = _lint(tmp_path)
    assert r.returncode != 0
    target = upward.split()[1].lstrip(".") or upward.split()[3]
    assert f"kpi_lib.{module[:-3]} is not allowed to import kpi_lib.{target}" in r.stdout, r.stdout[-3000:]


def _private_imports() -> set[tuple[str, str]]:
    out = set()
    for p in sorted(PKG.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level == 0 and not (node.module or "").startswith("kpi_lib"):
                continue
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    out.add((p.relative_to(ROOT).as_posix(), a.name))
    return out


def test_no_private_names_across_modules():
    found = _private_imports()
    new = found - KNOWN_PRIVATE_IMPORTS
    assert not new, f"modules importing another module's private name: {sorted(new)}"
    # the engine side is clean: the old cross-module private names are gone
    assert not {n for _, n in found} & {"_data_months", "_wh", "_months_of", "_contract_entries"}


@pytest.mark.parametrize("name", TOP_IMPORT_MODULES)
def test_engine_imports_at_module_top(name):
    tree = ast.parse((PKG / f"{name}.py").read_text(encoding="utf-8"))
    nested = [n.lineno for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
              for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not nested, f"kpi_lib/{name}.py imports inside functions at lines {nested}"


def test_periods_is_a_leaf():
    tree = ast.parse((PKG / "periods.py").read_text(encoding="utf-8"))
    local = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0}
    assert local == {"errors"}


def test_long_modules_say_why():
    """A module over ~500 lines states why it is one module ("Size (…): reason") in its docstring (issue 12)."""
    long = []
    for p in sorted(PKG.rglob("*.py")):
        text = p.read_text(encoding="utf-8")
        if text.count("\n") > 500 and "Size (" not in (ast.get_docstring(ast.parse(text)) or ""):
            long.append(f"{p.relative_to(ROOT).as_posix()} ({text.count(chr(10))} lines)")
    assert not long, "split these or say why in the module docstring: " + ", ".join(long)
