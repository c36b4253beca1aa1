"""`kpi validate`: check every YAML under parameters/ and the reference data, collecting all issues.

Each known file is loaded through the same pydantic model and loader the workbench uses, so what
passes here is what the engine accepts. A YAML file no model knows is an issue too (a misplaced or
misspelt file would otherwise be ignored silently).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from . import paths
from .errors import KpiError


def _checks() -> list[tuple[str, Callable[[Path], list[str]]]]:
    """(glob relative to parameters/, checker returning issues) pairs, most specific first."""

    def load_only(fn: Callable[[Path], object]) -> Callable[[Path], list[str]]:
        def run(p: Path) -> list[str]:
            fn(p)
            return []

        return run

    def workbench(p: Path) -> list[str]:
        from .config import Workbench, load_model

        load_model(p, Workbench)
        return []

    def kpis(p: Path) -> list[str]:
        from .definitions import load_catalog

        load_catalog(p)
        return []

    def tree(p: Path) -> list[str]:
        from .tree import load_tree, validate_tree

        return [f"{i.path}: {i.message}" for i in validate_tree(load_tree(p))]

    def targets(p: Path) -> list[str]:
        from .targets import load_targets

        load_targets(p.parent)
        return []

    def adjustments(p: Path) -> list[str]:
        from .targets import load_adjustments

        load_adjustments(p)
        return []

    def alerts(p: Path) -> list[str]:
        from .alerts import load_rules

        load_rules(p)
        return []

    def contracts(p: Path) -> list[str]:
        from .settlement import load_contracts

        load_contracts(p)
        return []

    def scorecards(p: Path) -> list[str]:
        from .scorecard import load_scorecards

        load_scorecards(p)
        return []

    def overheads(p: Path) -> list[str]:
        from .costs import load_overheads

        load_overheads(p)
        return []

    def batch(p: Path) -> list[str]:
        from .reports import load_batch

        load_batch(p)
        return []

    def recipients(p: Path) -> list[str]:
        from .delivery import validate_recipients

        return validate_recipients(p)

    def mapping(p: Path) -> list[str]:
        from .ingest.readers.mapping import load_mapping

        load_mapping(p)
        return []

    return [
        ("workbench.yaml", workbench),
        ("kpis.yaml", kpis),
        ("kpi_tree.yaml", tree),
        ("targets/*", targets),
        ("adjustments.yaml", adjustments),
        ("alerts.yaml", alerts),
        ("contracts.yaml", contracts),
        ("scorecards.yaml", scorecards),
        ("overheads.yaml", overheads),
        ("batches/*.yaml", batch),
        ("recipients.yaml", recipients),
        ("mappings/*.yaml", mapping),
    ]


def validate_all(parameters: Path | None = None, reference: Path | None = None) -> list[str]:
    """Every issue in parameters/ and the reference data (empty list = all valid)."""
    base = parameters or paths.parameters_dir()
    issues: list[str] = []
    checks = _checks()
    seen: set[Path] = set()
    targets_done = False
    for pattern, check in checks:
        for p in sorted(base.glob(pattern)):
            if p.suffix not in (".yaml", ".yml", ".csv") or p in seen:
                continue
            seen.add(p)
            if pattern == "targets/*":
                if targets_done:
                    continue
                targets_done = True
            try:
                issues += check(p)
            except KpiError as exc:
                issues.append(str(exc))
    for p in sorted(base.rglob("*.y*ml")):
        if p not in seen and not (p.parent.name == "targets"):
            issues.append(f"{p.relative_to(base)}: no schema knows this file (expected one of: "
                          + ", ".join(c[0] for c in checks) + ")")
    try:
        from .reference import load_reference

        ref_dir = reference or paths.reference_dir()
        if ref_dir.is_dir():
            load_reference(ref_dir)
    except KpiError as exc:
        issues.append(str(exc))
    return issues
