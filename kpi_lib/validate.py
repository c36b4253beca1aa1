"""`kpi validate`: check every YAML under parameters/ and the reference data, collecting all issues.

Each known file is checked by its spec (:mod:`kpi_lib.spec`), the same model and loader the
workbench uses, so what passes here is what the engine accepts. A YAML file no model knows is an
issue too (a misplaced or misspelt file would otherwise be ignored silently).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import paths
from .definitions import load_catalog
from .errors import KpiError
from .reference import load_reference
from .spec import ALL, Context, Issue, Spec
from .spec import kpis as kpis_spec
from .spec import targets as targets_spec
from .spec import tree as tree_spec
from .targets import all_targets, load_targets, target_conflicts
from .tree import validate_tree
from .warehouse import Warehouse


def _file_issues(spec: Spec, p: Path, ctx: Context) -> tuple[list[str], bool]:
    """(every issue of one parameter file, whether it loads): its spec's schema and cross-file checks,
    then the engine-level ones (tree structure, KPI formulas)."""
    found = spec.check_file(p, ctx)
    issues = [str(i) for i in found]
    if any(not isinstance(i, Issue) for i in found):
        return issues, False  # the file does not load: its schema errors are all there is to say
    if spec is tree_spec.SPEC:  # unknown KPIs are the spec's issues already
        issues += [str(i) for i in validate_tree(tree_spec.load(p), source=p.name) if i.code != "unknown_kpi"]
    if spec is kpis_spec.SPEC and not issues:
        load_catalog(p)  # formulas parse, name known measures/KPIs, no cycles (DefinitionError)
    return issues, True


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
    """Every issue in parameters/ and the reference data (empty list = all valid).

    Every file is checked by its spec (:mod:`kpi_lib.spec`: schema, then unknown KPI/store/person/…
    ids, each issue naming file, position and field); the tree also by its structure, the targets
    also for ratio targets that contradict their components.
    """
    base = parameters or paths.parameters_dir()
    ctx = Context.from_files(base, reference)
    issues: list[str] = []
    seen: set[Path] = set()
    targets_load = True
    for spec in ALL:
        for p in spec.files(base):
            seen.add(p)
            try:
                found, loads = _file_issues(spec, p, ctx)
            except KpiError as exc:
                found, loads = [str(exc)], False
            issues += found
            targets_load = targets_load and (loads or spec is not targets_spec.SPEC)
    targets_dir = targets_spec.SPEC.default_path(base)
    seen.update(targets_dir.rglob("*") if targets_dir.is_dir() else [])
    if targets_dir.is_dir() and targets_load:  # ratio conflicts, and the CSV target files
        try:
            issues += target_issues(targets_dir)
        except KpiError as exc:
            issues.append(str(exc))
    for p in sorted(base.rglob("*.y*ml")):
        if p not in seen:
            issues.append(f"{p.relative_to(base)}: no schema knows this file (expected one of: "
                          + ", ".join(s.relpath + ("/*.yaml" if s.folder else "") for s in ALL) + ")")
    ref_dir = reference or paths.reference_dir()
    if ref_dir.is_dir():
        try:
            load_reference(ref_dir)
        except KpiError as exc:
            issues.append(str(exc))
    return list(dict.fromkeys(issues))
