"""`kpi validate`: check every YAML under parameters/ and the reference data, collecting all issues.

Each known file is loaded through the same pydantic model and loader the workbench uses, so what
passes here is what the engine accepts. A YAML file no model knows is an issue too (a misplaced or
misspelt file would otherwise be ignored silently).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from . import paths
from .errors import KpiError
from .warehouse import Warehouse


def _checks(reference: Path | None = None) -> list[tuple[str, Callable[[Path], list[str]]]]:
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
        return target_issues(p.parent)

    def adjustments(p: Path) -> list[str]:
        from .targets import load_adjustments

        load_adjustments(p)
        return []

    def actions(p: Path) -> list[str]:  # actions (issue 16): model, then owners/KPIs/entities vs reference
        from .actions import check_file

        return check_file(p, reference=reference)

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
        ("actions.yaml", actions),
        ("contracts.yaml", contracts),
        ("scorecards.yaml", scorecards),
        ("overheads.yaml", overheads),
        ("batches/*.yaml", batch),
        ("recipients.yaml", recipients),
        ("mappings/*.yaml", mapping),
    ]


def _conflict_messages(conf: pd.DataFrame) -> list[str]:
    out = []
    for r in conf.itertuples():
        who = f"{r.entity_kind} {r.entity_id}".strip() if r.entity_id else r.entity_kind
        out.append(f"targets/{r.source}: {r.kpi} target for {who} {r.period} is {r.explicit:.6g} but its components' "
                   f"targets give {r.numerator} / {r.denominator} = {r.derived:.6g}; set one or the other")
    return out


def target_issues(directory: Path, warehouse: Warehouse | None = None, tolerance: float = 0.01) -> list[str]:
    """Problems of the target files: schema errors, and explicit ratio targets (net margin, AOV, ACoS,
    CVR…) that contradict their numerator and denominator targets by more than ``tolerance``
    (relative). Literal targets are compared as written; with a warehouse, resolved targets too
    (growth, '*', cascades)."""
    from .targets import all_targets, load_targets, target_conflicts

    t = load_targets(directory)
    explicit = t[t["value"].notna()].assign(entity_id=lambda d: d["entity_id"].fillna(""), parent="", method="file")
    conf = [target_conflicts(explicit, tolerance=tolerance)]
    wh = warehouse if warehouse is not None else Warehouse()
    if wh.current_id() is not None:
        try:
            conf.append(target_conflicts(all_targets(wh, directory=directory), tolerance=tolerance))
        except KpiError as exc:
            return [str(exc)]
    df = pd.concat([c for c in conf if len(c)], ignore_index=True) if any(len(c) for c in conf) else conf[0]
    df = df.drop_duplicates(["kpi", "entity_kind", "entity_id", "period"])
    return _conflict_messages(df)


def validate_all(parameters: Path | None = None, reference: Path | None = None) -> list[str]:
    """Every issue in parameters/ and the reference data (empty list = all valid)."""
    base = parameters or paths.parameters_dir()
    issues: list[str] = []
    checks = _checks(reference)
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
        if p not in seen and p.parent.name != "targets":
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
