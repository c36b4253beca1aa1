"""Batch planning: batch files (parameters/batches/*.yaml), templates and their parameters, jobs.

:func:`plan` expands a :class:`Batch` into :class:`Job` s (one per report and entity) and validates
every job's parameters against the template's ``parameters`` cell (``papermill.inspect_notebook``)
**before any kernel starts**; a job's ``key`` hashes template + parameters + warehouse snapshot +
report code + parameter files, so an unchanged report is skipped.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat
import papermill

from .. import paths
from ..config import workbench
from ..coverage import coverage_frame, finished_periods
from ..errors import RenderError
from ..org import contract_stores
from ..spec import batches as batches_spec
from ..spec.batches import ENTITY_KIND, Batch, ReportSpec  # noqa: F401 - re-exported
from ..warehouse import Warehouse

DEFAULT_BATCH = "monthly.yaml"
LANG_PARAM, PERIOD_PARAM, CURRENCY_PARAM = "language", "period", "currency"
ENTITY_PARAM = {"stores": "store_id", "teams": "team_id", "people": "person_id", "contracts": "contract_id"}


# ---- batch files (the model and its loading live in kpi_lib.spec.batches) ------------------------
def batch_path(batch: str | Path | None) -> Path:
    if batch is None:
        return paths.parameters_dir() / "batches" / DEFAULT_BATCH
    p = Path(batch)
    if not p.is_file() and not p.is_absolute():
        cand = paths.parameters_dir() / "batches" / (p.name if p.suffix else p.name + ".yaml")
        if cand.is_file():
            return cand
    return p


def load_batch(batch: str | Path | None = None) -> Batch:
    """A batch file (loaded by :mod:`kpi_lib.spec.batches`)."""
    return batches_spec.load(batch_path(batch))


# ---- templates and parameter validation ----------------------------------------------------------
def template_path(name: str) -> Path:
    p = paths.templates_dir() / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not p.is_file():
        known = ", ".join(sorted(q.stem for q in paths.templates_dir().glob("*.ipynb")))
        raise RenderError(f"template {name!r} not found in {paths.templates_dir()}; templates: {known or 'none'}")
    return p


@lru_cache(maxsize=64)
def _inspect(path: str, mtime: float) -> dict[str, dict]:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise RenderError(f"{path}: a template needs exactly one cell tagged 'parameters' (found {len(tagged)})")
    return dict(papermill.inspect_notebook(path))


def template_parameters(path: Path) -> dict[str, dict]:
    """name → {default, inferred_type_name, help} from the template's parameters cell."""
    return _inspect(str(path), path.stat().st_mtime)


def validate_parameters(template: Path, params: dict[str, Any]) -> None:
    """Unknown or missing parameters (default ``None`` = required) and bad values → RenderError.

    Runs in the parent process before any kernel starts; papermill itself would silently accept a
    misspelt parameter.
    """
    declared = template_parameters(template)
    unknown = sorted(set(params) - set(declared))
    missing = sorted(k for k, v in declared.items() if str(v.get("default")) == "None" and params.get(k) is None)
    problems = []
    if unknown:
        problems.append(f"unknown parameter(s) {', '.join(unknown)} (the template declares {', '.join(declared)})")
    if missing:
        problems.append(f"missing parameter(s) {', '.join(missing)}")
    if PERIOD_PARAM in params and not re.match(r"^\d{4}-(0[1-9]|1[0-2])$", str(params[PERIOD_PARAM])):
        problems.append(f"period must be 'YYYY-MM', got {params[PERIOD_PARAM]!r}")
    if LANG_PARAM in params and params[LANG_PARAM] not in ("zh", "en"):
        problems.append(f"language must be 'zh' or 'en', got {params[LANG_PARAM]!r}")
    for k, v in params.items():
        if not isinstance(v, (str, int, float, bool, type(None), list, dict)):
            problems.append(f"parameter {k} must be a JSON type, got {type(v).__name__}")
    if problems:
        raise RenderError(f"{template.name}: " + "; ".join(problems))


# ---- planning ----------------------------------------------------------------------------------
@dataclass
class Job:
    report: str
    template: str
    entity_kind: str
    entity: str
    params: dict[str, Any]
    html: Path
    ipynb: Path
    key: str = ""

    @property
    def figures(self) -> Path:
        """<entity>.figures.json beside the HTML: every figure the page shows, as data."""
        return self.html.with_name(self.html.stem + ".figures.json")

    @property
    def label(self) -> str:
        return f"{self.report}/{self.entity}"


def entity_ids(entities: str, warehouse: Warehouse) -> list[str]:
    """All ids of an entity set, from the warehouse's reference tables (contracts from contracts.yaml)."""
    if entities == "company":
        return ["company"]
    if entities == "contracts":
        return sorted(set(contract_stores()["contract_id"].astype(str)))
    table, col = {"stores": ("stores", "store_id"), "teams": ("teams", "team_id"), "people": ("people", "person_id")}[
        entities]
    if not warehouse.has(table):
        return []
    return sorted(set(warehouse.read(table)[col].dropna().astype(str)))


def safe_name(entity: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", entity) or "_"


def latest_period(warehouse: Warehouse) -> str:
    """The default month to report: the last finished one (every active store's data reaches its last
    day, ``coverage.finished_periods``), else — no month finished yet — the latest month with orders."""
    con = warehouse.connect()
    try:
        cov = coverage_frame(con)
        mx = con.execute("SELECT max(order_date) FROM orders").fetchone()[0] if warehouse.has("orders") else None
    finally:
        con.close()
    done = finished_periods(cov, "month")
    if done:
        return done[-1]
    if mx is None:
        raise RenderError("no data in the warehouse to report on: pass --period YYYY-MM")
    return f"{mx.year}-{mx.month:02d}"


def _hash_files(files: list[Path], base: Path | None = None) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        if f.is_file():
            h.update(str(f.relative_to(base) if base and f.is_relative_to(base) else f.name).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _code_hash() -> str:
    """Report code and the parameter files the figures depend on (targets, tree, contracts…)."""
    lib = Path(__file__).resolve().parents[1]
    files = [lib / f"{m}.py" for m in ("present", "report_data", "scorecard", "settlement", "review", "actions")]
    for pkg in ("reports", "present", "labels"):  # packages: every module and label file in them
        files += [f for f in (lib / pkg).rglob("*") if f.suffix in (".py", ".yaml")] if (lib / pkg).is_dir() else []
    pdir = paths.parameters_dir()
    files += [p for p in pdir.rglob("*.yaml") if "batches" not in p.parts]
    return _hash_files(files, base=lib)


def job_key(template: Path, params: dict[str, Any], snapshot: str, code: str, bundle: bool) -> str:
    h = hashlib.sha256()
    h.update(template.read_bytes())
    h.update(json.dumps(params, sort_keys=True, default=str).encode())
    h.update(f"{snapshot}|{code}|{bundle}".encode())
    return h.hexdigest()[:20]


def plan(batch: Batch, period: str, warehouse: Warehouse, only: str | None = None, bundle: bool = False,
         language: str | None = None) -> list[Job]:
    """Expand a batch into jobs and validate every job's parameters (all problems in one RenderError)."""

    out_dir = paths.outputs_dir() / period
    code = _code_hash()
    snapshot = warehouse.snapshot_hash()
    jobs: list[Job] = []
    problems: list[str] = []
    for spec in batch.reports:
        try:
            tpl = template_path(spec.template)
            declared = template_parameters(tpl)
        except RenderError as exc:
            problems.append(str(exc))
            continue
        ids = spec.ids or entity_ids(spec.entities, warehouse)
        kind = ENTITY_KIND[spec.entities]
        for eid in ids:
            params: dict[str, Any] = {PERIOD_PARAM: period,
                                      LANG_PARAM: language or spec.language or batch.language
                                      or workbench().default_language}
            cur = spec.currency or batch.currency
            if cur:
                params[CURRENCY_PARAM] = cur
            key = ENTITY_PARAM.get(spec.entities)
            if key and key in declared:
                params[key] = eid
            elif "entity_id" in declared and spec.entities != "company":
                params["entity_kind"], params["entity_id"] = kind, eid
            elif "entity_kind" in declared:
                params["entity_kind"] = kind
            params.update(spec.parameters)
            label = f"{spec.report}/{eid}"
            if only and not any(fnmatch.fnmatch(x, only) for x in (label, spec.report, eid)):
                continue
            try:
                validate_parameters(tpl, params)
            except RenderError as exc:
                problems.append(f"{label}: {exc}")
                continue
            base = out_dir / spec.report / safe_name(eid)
            jobs.append(Job(spec.report, spec.template, kind, eid, params, base.with_suffix(".html"),
                            base.with_suffix(".ipynb"), job_key(tpl, params, snapshot, code, bundle)))
    if problems:
        raise RenderError(f"{len(problems)} problem(s) in the batch:\n" + "\n".join(f"  - {p}" for p in problems))
    return jobs


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
