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


def test_contradicting_ratio_targets_are_reported(project: Path) -> None:
    (project / "parameters" / "targets" / "team.yaml").write_text(
        "targets:\n"
        "  - {kpi: net_profit, entity_kind: store, entity_id: AMZ-DE-01, period: 2026-11, value: 112768}\n"
        "  - {kpi: net_sales, entity_kind: store, entity_id: AMZ-DE-01, period: 2026-11, value: 525913}\n"
        "  - {kpi: net_margin, entity_kind: store, entity_id: AMZ-DE-01, period: 2026-11, value: 0.299}\n"
        "  - {kpi: gmv, entity_kind: company, period: 2026-11, value: 1000}\n"
        "  - {kpi: orders, entity_kind: company, period: 2026-11, value: 10}\n"
        "  - {kpi: aov, entity_kind: company, period: 2026-11, value: 100.5}\n",  # within 1 %: consistent
        encoding="utf-8")
    issues = validate_all(project / "parameters", reference=project / "no-reference")
    assert len(issues) == 1, issues
    msg = issues[0]
    assert "team.yaml" in msg and "net_margin" in msg and "AMZ-DE-01" in msg and "2026-11" in msg
    assert "0.299" in msg and "0.214423" in msg  # 112 768 / 525 913 = 21.4 %
