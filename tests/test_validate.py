"""`kpi validate`: the shipped parameters are valid; every bad file is reported with its key path."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from kpi_lib.cli import app
from kpi_lib.validate import validate_all


def test_shipped_parameters_are_valid(project: Path) -> None:
    assert validate_all(project / "parameters", reference=project / "no-reference") == []


def test_all_issues_reported_at_once(project: Path) -> None:
    params = project / "parameters"
    c = params / "contracts.yaml"
    c.write_text(c.read_text(encoding="utf-8").replace("contracts:", "contracts:\n  - {id: X, colour: red}\n", 1) + "\n",
                 encoding="utf-8")
    (params / "batches" / "typo.yaml").write_text("name: t\nreprots: []\n", encoding="utf-8")
    (params / "stray.yaml").write_text("a: 1\n", encoding="utf-8")
    issues = "\n".join(validate_all(params, reference=project / "no-reference"))
    assert "colour" in issues and "contracts.yaml" in issues
    assert "reprots" in issues and "typo.yaml" in issues
    assert "stray.yaml: no schema knows this file" in issues
    r = CliRunner().invoke(app, ["validate"])
    assert r.exit_code == 1 and "Traceback" not in r.output
