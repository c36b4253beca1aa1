"""Project hygiene: dependency lists in sync, notebooks without outputs, two-command README."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    return req.replace(" ", "").lower()


def test_environment_yml_matches_pyproject() -> None:
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = py["project"]["dependencies"] + py["project"]["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_list = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pip_deps = [p for p in pip_list if not p.startswith("-e")]
    assert sorted(map(_norm, pip_deps)) == sorted(map(_norm, deps))
    assert "python=3.11" in env["dependencies"]


def test_notebooks_have_no_outputs() -> None:
    tracked = subprocess.run(["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True,
                             check=False).stdout.split()
    files = tracked or [str(p.relative_to(ROOT)) for p in ROOT.glob("*/*.ipynb")]
    for nb in files:
        cells = json.loads((ROOT / nb).read_text())["cells"]
        for c in cells:
            assert not c.get("outputs"), f"{nb} is committed with outputs"
            assert c.get("execution_count") in (None,), f"{nb} has execution counts"


def test_readme_starts_with_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    head = text[: text.find("\n## ", 10) if "\n## " in text[10:] else len(text)]
    assert "make demo" in head and "make test" in head
    assert "make test" in (ROOT / ".ci" / "run").read_text()
