"""The figures report templates show: thin wrappers over the engine, scoped to one entity and month.

A template builds a :class:`ReportContext` with :func:`context` (validating the entity and period) and
passes it to the functions here; each returns a pandas DataFrame (or a small dict) in the report's
currency and language, ready for :mod:`kpi_lib.present`. Nothing here formats or builds HTML.

Scope: every function filters to the context's entity, so a person's report is built only from that
person's rows (their attributed KPI values, their own activities); people's names other than the
report's own subject are never returned for person and team reports.

Speed: report kernels are kept warm by the runner and execute many reports in a row, so tables that
do not depend on the entity (kpi_values, kpi_status, freshness…) are cached per warehouse snapshot
id; a new snapshot invalidates them.

Size (≈1350 lines): one thin function per report section, all scoped by the same ReportContext and
batch cache (whose precomputations must mirror these functions' engine calls exactly); splitting by
report kind would copy the scoping and cache code into each part.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from . import actions as actions_mod
from . import changes, paths
from . import costs as costs_mod
from . import scorecard as scorecard_mod
from . import settlement as settlement_mod
from .alerts import open_alerts
from .compute import grain_frames, stored_cost_rows, stored_covers, stored_values_through
from .config import workbench
from .definitions import load_catalog
from .errors import KpiError, RenderError
from .memo import ByObject
from .metrics import LONG_COLUMNS, compute, compute_long, period_bounds, period_label, shift_period
from .org import ENTITY_DIMENSION, contract_stores, entity_stores
from .periods import months_of
from .periods import period_kind as periods_kind
from .targets import adjustments_for
from .tree import attribute as tree_attribute
from .tree import attribute_values, in_root_terms, load_tree
from .warehouse import Warehouse

PERIOD_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
KINDS = ("store", "team", "person", "contract", "company")

STATUS_KPIS = {
    "store": ["gmv", "refunds", "net_sales", "orders", "aov", "cvr", "acos", "tacos", "contribution", "net_profit", "net_margin",
              "return_rate", "inventory_days"],
    "team": ["gmv", "net_sales", "orders", "acos", "contribution", "net_margin", "return_rate", "new_listings",
             "ad_optimizations", "first_response_hours"],
    "person": ["gmv", "net_sales", "orders", "acos", "contribution", "net_margin", "new_listings", "ad_optimizations",
               "first_response_hours", "negative_review_hours"],
    "contract": ["gmv", "net_sales", "refunds", "acos", "contribution", "net_margin"],
    "company": ["gmv", "refunds", "net_sales", "orders", "aov", "cvr", "acos", "tacos", "contribution", "net_profit", "net_margin",
                "return_rate", "inventory_days"],
}
ADS_KPIS = ["ad_spend", "ad_sales", "acos", "roas", "tacos", "cpc", "ctr"]
INVENTORY_KPIS = ["inventory_days", "sell_through", "stockout_rate", "aged_inventory_share", "active_sku_rate"]
SERVICE_KPIS = ["first_response_hours", "response_24h_rate", "dispute_days", "negative_review_hours"]
FRESHNESS_SOURCES = {"orders": "order_date", "fees": "date", "refunds": "date", "settlement_lines": "posted_date",
                     "payouts": "deposit_date", "ads": "date", "traffic": "date", "inventory": "date",
                     "tickets": "opened_at", "activities": "date"}


@dataclass
class ReportContext:
    """Who and what a report is about; passed to every data and presentation function."""

    kind: str
    entity_id: str
    period: str
    lang: str
    currency: str
    warehouse: Warehouse
    name: str = ""
    fx: float = 1.0  # reporting-currency units per one unit of ``currency``
    snapshot: str = ""
    snapshot_id: str = ""
    generated: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    figures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def entity_kind(self) -> str:
        return self.kind

    def record(self, kpi: str, value: Any, *, unit: str | None = None, period: str | None = None,
               entity_kind: str | None = None, entity_id: str | None = None, basis: str | None = "order",
               complete: Any = True, source: str = "", converted: bool = True, stores_covered: Any = None,
               stores_total: Any = None) -> None:
        """Note one figure the page shows (called by kpi_lib.present as it formats it).

        ``value`` is as shown: money in the report currency when ``converted`` (stored back in the
        reporting currency, so figures files of reports in different currencies compare). A missing
        value is stored as null and ``complete`` false.
        """
        unit = unit or kpi_unit(kpi.split(":")[0])
        v: float | None
        try:
            v = None if value is None or pd.isna(value) else float(value)
            v = v if v is None or np.isfinite(v) else None
        except (TypeError, ValueError):
            v = None
        if v is not None and unit == "money" and converted:
            v = v * self.fx
        done = bool(complete) if complete is not None and not (isinstance(complete, float) and pd.isna(complete)) \
            else True
        self.figures.append({
            "entity_kind": entity_kind or self.kind,
            "entity_id": self.entity_id if entity_id is None and entity_kind is None else str(entity_id or ""),
            "period": period or self.period, "kpi": kpi, "basis": basis, "value": v,
            "complete": bool(done and v is not None), "source": source, "unit": unit,
            "stores_covered": _int_or_none(stores_covered), "stores_total": _int_or_none(stores_total),
        })

    def figures_data(self) -> list[dict[str, Any]]:
        """The recorded figures, exact duplicates removed, in recording order."""
        seen: set[tuple] = set()
        out = []
        for f in self.figures:
            key = tuple((k, f[k]) for k in sorted(f))
            if key not in seen:
                seen.add(key)
                out.append(f)
        return out

    @property
    def engine_id(self) -> str | None:
        return None if self.kind == "company" else self.entity_id

    def money(self, v: Any) -> float:
        """A reporting-currency amount in the report's currency."""
        return float("nan") if v is None or pd.isna(v) else float(v) / self.fx

    def prior(self, n: int = 1) -> str:
        return shift_period(self.period, -n)


def _int_or_none(v: Any) -> int | None:
    try:
        return None if v is None or pd.isna(v) else int(v)
    except (TypeError, ValueError):
        return None


# ---- caches per snapshot -------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _table(path: str, snapshot_id: str, name: str) -> pd.DataFrame:
    wh = Warehouse(path)
    return wh.read(name) if wh.has(name) else pd.DataFrame()


def table(ctx: ReportContext, name: str) -> pd.DataFrame:
    """A warehouse table, cached per snapshot (callers must not modify it in place)."""
    return _table(str(ctx.warehouse.path), ctx.snapshot_id, name)


ENTITY_TABLES = ("kpi_values", "kpi_status")  # per-entity slices in the batch cache


def entity_rows(ctx: ReportContext, name: str, entity_kind: str, entity_id: str) -> pd.DataFrame:
    """Rows of ``name`` (kpi_values, kpi_status) to filter for one entity: inside a batch, only that
    entity's rows from the batch cache (same rows, same order, same types as in the warehouse table);
    otherwise (no batch, or an entity the batch did not plan) the whole table. Callers apply the same
    filters either way, so the figures are equal."""
    cache = _batch_cache(ctx)
    if cache is not None and name in ENTITY_TABLES:
        path = cache / f"{name}.parquet"
        slices = _entity_slices(str(path), _cache_meta(str(cache), _stamp(cache))["token"]) if path.is_file() else {}
        key = (entity_kind, entity_id or "")
        if key in slices:
            return slices[key]
    return table(ctx, name)


@lru_cache(maxsize=8)
def _entity_slices(path: str, token: str) -> dict[tuple[str, str], pd.DataFrame]:
    """A batch cache table split by (entity_kind, entity_id), each slice in the table's row order."""
    con = duckdb.connect()
    try:
        df = con.sql(f"SELECT * FROM read_parquet('{_sql_str(path)}')").df()
    finally:
        con.close()
    eid = df["entity_id"].fillna("").astype(str)
    return {(str(k), str(e)): g for (k, e), g in df.groupby([df["entity_kind"].astype(str), eid], sort=False)}


@lru_cache(maxsize=8)
def _read_cached_frame(path: str, token: str) -> pd.DataFrame:
    return pd.read_parquet(path)


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


@lru_cache(maxsize=8)
def _catalog(key: str) -> Any:
    return load_catalog()


def catalog() -> Any:
    """The KPI catalog, loaded again only when parameters/kpis.yaml changes (one ``stat`` per call)."""
    p = os.path.join(paths.parameters_dir(), "kpis.yaml")
    try:
        mtime = os.stat(p).st_mtime
    except OSError:
        mtime = 0
    return _catalog(f"{p}:{mtime}")


def kpi_name(kpi: str, lang: str, cat: Any = None) -> str:
    """The KPI's name in ``lang`` (its id when the catalog does not know it); ``cat``: the catalog, when
    the caller already holds it."""
    cat = cat or catalog()
    return cat.name(kpi, lang) if kpi in cat.kpis else kpi


def kpi_unit(kpi: str, cat: Any = None) -> str:
    cat = cat or catalog()
    return cat.get(kpi).unit if kpi in cat.kpis else "count"


# ---- context -----------------------------------------------------------------------------------
def check_period(period: Any) -> str:
    if not isinstance(period, str) or not PERIOD_RE.match(period):
        raise RenderError(f"period must be a month 'YYYY-MM', got {period!r}")
    return period


def entity_name(wh: Warehouse, kind: str, entity_id: str, lang: str) -> str | None:
    """The display name of an entity, or None when it does not exist."""
    if kind == "company":
        wb = workbench()
        return (wb.company_name_zh or wb.company_name) if lang == "zh" else wb.company_name
    if kind == "contract":
        cs = contract_stores()
        if entity_id not in set(cs["contract_id"].astype(str)):
            return None
        try:
            name = settlement_mod.get_contract(entity_id).display_name(lang)
        except KpiError:
            name = None
        return str(name) if name else entity_id
    tname, idcol, ncol = {"store": ("stores", "store_id", "store_name"), "team": ("teams", "team_id", "team_name"),
                          "person": ("people", "person_id", "name")}[kind]
    df = _table(str(wh.path), wh.current_id() or "", tname)
    if df.empty or idcol not in df:
        return None
    row = df[df[idcol].astype(str) == entity_id]
    if row.empty:
        return None
    col = f"{ncol}_zh" if lang == "zh" and f"{ncol}_zh" in row and pd.notna(row[f"{ncol}_zh"].iloc[0]) else ncol
    v = row[col].iloc[0] if col in row else entity_id
    return str(v) if pd.notna(v) else entity_id


def fx_factor(wh: Warehouse, currency: str, period: str) -> float:
    """Reporting-currency units per unit of ``currency`` for the month (latest rate up to it)."""
    rc = workbench().reporting_currency
    if currency == rc:
        return 1.0
    fx = _table(str(wh.path), wh.current_id() or "", "fx_rates")
    if fx.empty:
        raise RenderError(f"no FX rates in the warehouse to show the report in {currency}")
    rows = fx[(fx["currency"] == currency) & (fx["month"].astype(str) <= period)].sort_values("month")
    if rows.empty:
        known = ", ".join(sorted(set(fx["currency"].astype(str)) | {rc}))
        raise RenderError(f"unknown report currency {currency!r} for {period}; use one of {known}")
    return float(rows["rate"].iloc[-1])


_CURRENT: list[ReportContext] = []
FIGURES_MIME = "application/vnd.kpi-figures+json"


def current_figures() -> list[dict[str, Any]] | None:
    """The figures of the last report context built in this process (None when there is none), and
    forget it: the report runner calls this once after a template ran (see kpi_lib.reports)."""
    if not _CURRENT:
        return None
    ctx = _CURRENT.pop()
    _CURRENT.clear()
    return ctx.figures_data()


def publish_figures() -> None:
    """Display the current report's figures as one output of type FIGURES_MIME (read by the runner)."""
    from IPython.display import display

    figs = current_figures()
    if figs is not None:
        display({FIGURES_MIME: figs}, raw=True)


def context(kind: str, entity_id: str | None, period: str, language: str = "zh", currency: str | None = None,
            warehouse: Warehouse | str | Path | None = None, kinds: tuple[str, ...] = KINDS) -> ReportContext:
    """Validate the report's subject and build its context (RenderError names what is wrong).

    ``currency`` empty or None = the reporting currency; ``kinds`` = entity kinds the template supports.
    """
    if kind not in kinds:
        raise RenderError(f"entity kind must be one of {', '.join(kinds)}, got {kind!r}")
    check_period(period)
    if language not in ("zh", "en"):
        raise RenderError(f"language must be 'zh' or 'en', got {language!r}")
    wh = Warehouse.of(warehouse)
    sid = wh.current_id()
    if sid is None:
        raise RenderError(f"no warehouse at {wh.path}: run `kpi ingest` and `kpi compute` first")
    eid = "" if kind == "company" else str(entity_id or "")
    if kind != "company" and not eid:
        raise RenderError(f"a {kind} report needs an entity id")
    name = entity_name(wh, kind, eid, language)
    if name is None:
        raise RenderError(f"unknown {kind} {eid!r}")
    cur = currency or workbench().reporting_currency
    ctx = ReportContext(kind=kind, entity_id=eid, period=period, lang=language, currency=cur, warehouse=wh,
                        name=name, fx=fx_factor(wh, cur, period), snapshot=wh.snapshot_hash(), snapshot_id=sid)
    _CURRENT.clear()
    _CURRENT.append(ctx)
    return ctx


# ---- KPI values and status -------------------------------------------------------------------------
META_COLUMNS = ("complete", "missing", "stores_covered", "stores_total")


def _long(ctx: ReportContext, kpis: list[str], start: str, end: str, entity_kind: str | None = None,
          entity_id: str | None = None) -> pd.DataFrame:
    """period, kpi, value + completeness (complete, missing, stores_covered, stores_total) of an entity.

    From kpi_values (written by ``kpi compute``) or, when absent, computed by the engine. Columns the
    engine does not provide yet default to complete (no information is not a claim of missing data).
    """
    ek = entity_kind or ctx.kind
    eid = ctx.entity_id if entity_id is None else entity_id
    kv = entity_rows(ctx, "kpi_values", ek, eid)
    if not kv.empty:
        months = _month_rows(kv, ek, eid)
        out = months[(months["period"] >= start) & (months["period"] <= end) & months["kpi"].isin(kpis)]
        return out.reset_index(drop=True)
    dim = {"store": "store_id", "team": "team_id", "person": "person_id", "contract": "contract_id"}.get(ek)
    df = compute(kpis, by=[], period="month", start=start, end=end,
                 filters={dim: eid} if dim else None, warehouse=ctx.warehouse)
    out = df.melt(id_vars=["period"], value_vars=[k for k in kpis if k in df], var_name="kpi", value_name="value")
    for c, d in (("complete", True), ("missing", ""), ("stores_covered", np.nan), ("stores_total", np.nan)):
        if c not in out:
            out[c] = d
    out["complete"] = out["complete"].fillna(True).astype(bool)
    out["missing"] = out["missing"].map(_missing_text)
    return out.reset_index(drop=True)


_MONTH_ROWS = ByObject(256)


def _month_rows(kv: pd.DataFrame, ek: str, eid: str) -> pd.DataFrame:
    """The entity's monthly order-basis rows of ``kv`` (a kpi_values table or the entity's slice of it):
    period, kpi, value and completeness, the first row of each (period, kpi), completeness defaults
    filled (no information is not a claim of missing data). Worked out once per frame and entity: a
    report reads them for its status table, trends, margins and summary (a subset of KPIs and months
    each time, taken from these rows in the same order)."""
    hit = _MONTH_ROWS.get(kv, ek, eid)
    if hit is not None:
        return hit
    v = kv[(kv["entity_kind"] == ek) & (kv["entity_id"].fillna("").astype(str) == eid)
           & (kv["period_kind"] == "month")]
    if "basis" in v:  # the order-date basis is the one reports show unless a section says otherwise
        v = v[v["basis"].fillna("order") == "order"]
    cols = ["period", "kpi", "value", *[c for c in META_COLUMNS if c in v]]
    out = v[cols].drop_duplicates(["period", "kpi"]).copy()
    for c, d in (("complete", True), ("missing", ""), ("stores_covered", np.nan), ("stores_total", np.nan)):
        if c not in out:
            out[c] = d
    out["complete"] = out["complete"].fillna(True).astype(bool)
    out["missing"] = out["missing"].map(_missing_text)
    return _MONTH_ROWS.put(kv, ek, eid, value=out)


def _missing_text(v: Any) -> str:
    """The engine's ``missing`` (list, array or comma-separated text of source kinds) as 'a,b'."""
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if isinstance(v, (list, tuple, set, np.ndarray)):
        return ",".join(str(x) for x in v if str(x))
    return str(v)


def _values(ctx: ReportContext, kpis: list[str], start: str, end: str) -> pd.DataFrame:
    """period × kpi (wide) for the entity, from kpi_values (or computed when absent)."""
    lg = _long(ctx, kpis, start, end)
    wide = lg.pivot_table(index="period", columns="kpi", values="value", aggfunc="first", dropna=False)
    wide = wide.reindex(columns=kpis)
    wide.columns.name = None
    return wide.sort_index()


def _wide(lg: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    """period × kpi values of ``_long`` rows (one row per period and KPI), the KPIs in ``kpis``' order
    and the periods sorted: ``pivot_table(aggfunc="first", dropna=False)`` without its group-by."""
    periods = sorted(set(lg["period"]))
    wide = pd.DataFrame(np.nan, index=pd.Index(periods, name="period"), columns=pd.Index(kpis, name="kpi"))
    if len(lg):
        r = pd.Index(periods).get_indexer(lg["period"])
        c = pd.Index(kpis).get_indexer(lg["kpi"])
        keep = c >= 0
        wide.values[r[keep], c[keep]] = lg["value"].to_numpy(dtype=float)[keep]
    return wide


def _to_currency(ctx: ReportContext, df: pd.DataFrame, kpi_col: str | None = None,
                 cols: tuple[str, ...] = ("value",)) -> pd.DataFrame:
    """Convert money columns (by KPI unit) to the report currency."""
    out = df.copy()
    if ctx.fx == 1.0:
        return out
    if kpi_col:
        money = out[kpi_col].map(lambda k: kpi_unit(k) == "money")
        for c in cols:
            if c in out:
                out.loc[money, c] = out.loc[money, c].astype(float) / ctx.fx
    else:
        for c in out.columns:
            if kpi_unit(c) == "money":
                out[c] = out[c].astype(float) / ctx.fx
    return out


def prior_periods(period: str) -> dict[str, str]:
    """{"mom": prior month, "yoy": same month last year} (kpi_lib.changes)."""
    return dict(changes.prior_periods(period))


def change(kpi: str, current: Any, prior: Any, cat: Any = None) -> tuple[float, str]:
    """(delta, unit) as readers read it (kpi_lib.changes.change): "pp" percentage points (3.9) for rates,
    "x" for ratios, "%" relative (0.17 = +17 %) for money and counts; NaN when either side is missing."""
    cat = cat or catalog()
    if kpi not in cat.kpis:
        return float("nan"), "%"
    d, u = changes.change(kpi, current, prior, cat)
    return (float("nan") if d is None else float(d)), str(u)


def is_good(kpi: str, delta: Any, cat: Any = None) -> bool | None:
    """Whether a change is good news for the KPI (its catalog direction); None for no change/unknown."""
    cat = cat or catalog()
    if kpi not in cat.kpis:
        return None
    return changes.is_good(kpi, delta, cat)


def kpi_status(ctx: ReportContext, kpis: list[str] | None = None) -> pd.DataFrame:
    """One row per KPI: actual, prior month, same month last year, changes (pp for ratios, % otherwise),
    target, expected to date, projection, achievement, status, completeness (complete, missing,
    stores_covered, stores_total) and basis."""
    kpis = list(kpis or STATUS_KPIS[ctx.kind])
    pp = prior_periods(ctx.period)
    lg = _long(ctx, kpis, min(pp["yoy"], pp["mom"]), ctx.period)
    lg = lg[lg["period"].isin([ctx.period, pp["mom"], pp["yoy"]])]
    # (period, kpi) -> its row, and kpi -> its status rows in table order: one pass each, then look-ups
    lg_cols = {c: lg[c].tolist() for c in lg.columns}
    cells = {pk: i for i, pk in enumerate(zip(lg_cols["period"], lg_cols["kpi"]))}
    quarter = period_label(period_bounds(ctx.period)[0], "quarter")
    st = entity_rows(ctx, "kpi_status", ctx.kind, ctx.entity_id)
    status_rows: dict[str, list[dict[str, Any]]] = {}
    if not st.empty:
        st = st[(st["entity_kind"] == ctx.kind) & (st["entity_id"].fillna("").astype(str) == ctx.entity_id)
                & st["period"].isin([ctx.period, quarter])]
        for r in st.to_dict("records"):
            status_rows.setdefault(r["kpi"], []).append(r)
    rows = []

    def cell(period: str, k: str, col: str, default: Any = np.nan) -> Any:
        i = cells.get((period, k))
        return default if i is None else lg_cols[col][i]

    cat = catalog()
    for k in kpis:
        actual, prior, yoy = (cell(ctx.period, k, "value"), cell(pp["mom"], k, "value"), cell(pp["yoy"], k, "value"))
        # the engine's value: over the stores that have the sources (NaN when none has), never zeros
        complete = bool(cell(ctx.period, k, "complete", True))
        mom_d, mom_u = change(k, actual, prior, cat)
        yoy_d, yoy_u = change(k, actual, yoy, cat)
        # a monthly target first; else the quarter's (then target/pacing/status are the quarter's, to date)
        found = status_rows.get(k, [])
        first = next((r for r in found if r["period"] == ctx.period), found[0] if found else None)
        target_period = str(first["period"]) if first is not None else ctx.period

        def get(c: str, first: dict[str, Any] | None = first) -> float:
            v = None if first is None else first.get(c)
            return float(v) if v is not None and pd.notna(v) else np.nan

        raw_status = None if first is None else first.get("status")
        status = str(raw_status) if raw_status is not None and pd.notna(raw_status) else "none"
        if not complete:
            status = "incomplete"  # never green on data we do not have
        rows.append({
            "kpi": k, "name": kpi_name(k, ctx.lang, cat), "unit": kpi_unit(k, cat), "actual": actual, "prior": prior,
            "yoy_prior": yoy, "change": mom_d, "change_unit": mom_u, "change_good": is_good(k, mom_d, cat),
            "yoy_change": yoy_d, "yoy_change_unit": yoy_u, "yoy_change_good": is_good(k, yoy_d, cat),
            "prior_period": pp["mom"], "yoy_period": pp["yoy"],
            "target": get("target"), "expected_to_date": get("expected_to_date"), "projection": get("projection"),
            "achievement": get("achievement") if complete else np.nan,
            "pace_achievement": get("pace_achievement") if complete else np.nan,
            "status": status, "target_period": target_period,
            "adjusted": bool(first["adjusted"]) if first is not None and first.get("adjusted") is not None
            and pd.notna(first["adjusted"]) else False,
            "complete": complete, "missing": cell(ctx.period, k, "missing", ""),
            "stores_covered": cell(ctx.period, k, "stores_covered"), "stores_total": cell(ctx.period, k, "stores_total"),
            "prior_complete": bool(cell(pp["mom"], k, "complete", True)),
            "prior_stores_covered": cell(pp["mom"], k, "stores_covered"),
            "yoy_complete": bool(cell(pp["yoy"], k, "complete", True)),
            "yoy_stores_covered": cell(pp["yoy"], k, "stores_covered"),
            "basis": "order", "source": "kpi_values",
        })
    df = pd.DataFrame(rows)
    money = (df["unit"] == "money").to_numpy()
    for c in ("actual", "prior", "yoy_prior", "target", "expected_to_date", "projection"):
        v = df[c].astype(float).to_numpy()
        df[c] = np.where(money, v / ctx.fx, v)  # money in the report currency, the rest as it is
    return df


def trend(ctx: ReportContext, kpis: list[str], months: int = 12) -> pd.DataFrame:
    """period + one column per KPI for the last ``months`` months up to the report period."""
    lg = _long(ctx, kpis, ctx.prior(months - 1), ctx.period)
    wide = _wide(lg, kpis)
    out = _to_currency(ctx, wide).reset_index().rename(columns={"index": "period"})
    out.columns.name = None
    out.attrs["names"] = {k: kpi_name(k, ctx.lang) for k in kpis}
    out.attrs["units"] = {k: kpi_unit(k) for k in kpis}
    out.attrs["meta"] = {f"{r.period}|{r.kpi}": {"complete": bool(r.complete), "stores_covered": r.stores_covered,
                                                 "stores_total": r.stores_total} for r in lg.itertuples()}
    return out


def attribution(ctx: ReportContext, root: str = "net_profit") -> pd.DataFrame:
    """KPI tree attribution of the change vs the prior month, report currency.

    The node values are the entity's KPI values ``kpi compute`` stored (kpi_values, the figures every
    other section shows), attributed by :func:`kpi_lib.tree.attribute_values`; only when a tree KPI
    is not stored for both months does the engine compute them (:func:`kpi_lib.tree.attribute`).
    ``contribution`` and ``share`` are each row's part of the root's change (:func:`kpi_lib.tree.in_root_terms`),
    so the children of a cost read as what they did to profit.
    """
    tr = load_tree()
    if root not in {n.id for n in tr.nodes}:
        root = None  # type: ignore[assignment]
    kpis = sorted({n.kpi for n in tr.nodes})
    stored = _long(ctx, kpis, ctx.prior(), ctx.period)
    vals: dict[str, dict[str, float]] = {per: {} for per in (ctx.prior(), ctx.period)}
    for r in stored.itertuples():
        if r.period in vals:
            vals[r.period][r.kpi] = float(r.value) if r.value is not None and pd.notna(r.value) else float("nan")
    if all(k in v for v in vals.values() for k in kpis):
        df = attribute_values(tr, vals[ctx.prior()], vals[ctx.period], root=root)
    else:
        df = tree_attribute(tr, entity_kind=ctx.kind, entity_id=ctx.engine_id, period_a=ctx.prior(),
                            period_b=ctx.period, warehouse=ctx.warehouse, root=root)
    df = in_root_terms(tr, df)  # every row's part of the root's change, in the root's unit
    df["name"] = df["kpi"].map(lambda k: kpi_name(k, ctx.lang))
    df["unit"] = df["kpi"].map(kpi_unit)
    money = df["unit"] == "money"
    for c in ("value_a", "value_b"):
        df.loc[money, c] = df.loc[money, c].astype(float) / ctx.fx
    root_unit = kpi_unit(str(df["kpi"].iloc[0])) if len(df) else "money"
    if root_unit == "money":
        df["contribution"] = df["contribution"].astype(float) / ctx.fx
    df["root_unit"] = root_unit
    # completeness of each node's values, from the engine's figures for the entity (kpi_values)
    node_kpis = sorted({str(k) for k in df["kpi"] if k is not None and not pd.isna(k)})  # not the residual rows
    lg = _long(ctx, node_kpis, ctx.prior(), ctx.period).set_index(["period", "kpi"])
    for side, per in (("a", ctx.prior()), ("b", ctx.period)):
        for c in ("complete", "missing", "stores_covered", "stores_total"):
            df[f"{c}_{side}"] = [lg.at[(per, k), c] if (per, k) in lg.index else (True if c == "complete" else None)
                                 for k in df["kpi"].astype(str)]
    return df


def drivers(attr: pd.DataFrame) -> pd.DataFrame:
    """The root's direct non-informational children (with their contributions) for a waterfall."""
    if attr.empty:
        return attr
    root = attr["node"].iloc[0]
    kids = attr[(attr["parent"] == root) & attr["contribution"].notna()]
    return kids


def by_sku(ctx: ReportContext, kpis: list[str], sort: str, ascending: bool = False, limit: int = 15) -> pd.DataFrame:
    """Per-SKU KPIs of the entity in the month (metrics.compute by sku), top ``limit`` by ``sort``."""
    dim = {"store": "store_id", "team": "team_id", "person": "person_id", "contract": "contract_id"}.get(ctx.kind)
    df = compute(kpis, by=["sku"], period="month", start=ctx.period, end=ctx.period,
                 filters={dim: ctx.entity_id} if dim else None, warehouse=ctx.warehouse)
    df = df[df["sku"].notna()]
    if sort in df:
        df = df.sort_values(sort, ascending=ascending)
    df = _to_currency(ctx, df.drop(columns=["period"]))
    skus = table(ctx, "skus")
    if not skus.empty and "name" in skus:
        df = df.merge(skus[["sku", "name", "category"]], on="sku", how="left")
    return df.head(limit).reset_index(drop=True)


def alerts(ctx: ReportContext, limit: int = 20) -> pd.DataFrame:
    """Alerts for the entity up to the report month (open first, newest first)."""
    df = open_alerts(ctx.warehouse, ctx.kind, ctx.engine_id if ctx.kind != "company" else "", include_closed=True)
    if df.empty:
        return df
    df = df[df["period"].astype(str) <= ctx.period]
    df = df.sort_values(["state", "period"], ascending=[False, False], key=lambda s: s.astype(str))
    return df.head(limit).reset_index(drop=True)


def adjustments(ctx: ReportContext) -> pd.DataFrame:
    """Manual target adjustments touching the entity and month (the audit trail shown in reports).

    For person and team reports the ``who`` column is dropped: it names another person.
    """
    adj = adjustments_for(ctx.kind, ctx.engine_id, ctx.period)
    df = pd.DataFrame([a.model_dump() for a in adj])
    if df.empty:
        return df
    if ctx.kind in ("person", "team") and "who" in df:
        df = df.drop(columns=["who"])
    return df


def activities(ctx: ReportContext) -> pd.DataFrame:
    """Counts of the person's own (or the team's) activities by kind in the month."""
    acts = table(ctx, "activities")
    if acts.empty:
        return pd.DataFrame(columns=["kind", "count"])
    a, b = period_bounds(ctx.period)
    d = _days(acts)
    sel = acts[(d >= pd.Timestamp(a)) & (d <= pd.Timestamp(b))]
    if ctx.kind == "person":
        sel = sel[sel["person_id"].astype(str) == ctx.entity_id]
    elif ctx.kind == "team":
        sel = sel[sel["store_id"].isin(entity_stores("team", ctx.entity_id, a, b, warehouse=ctx.warehouse))]
    return sel.groupby("kind").size().rename("count").reset_index().sort_values("count", ascending=False)


_DAYS = ByObject(8)


def _days(df: pd.DataFrame) -> pd.Series:
    """The day of each row's ``date`` (midnight), parsed once per table frame (the snapshot's
    activities, read once per process)."""
    hit = _DAYS.get(df)
    return hit if hit is not None else _DAYS.put(df, value=pd.to_datetime(df["date"]).dt.normalize())


@lru_cache(maxsize=32)
def _waterfall(path: str, snapshot_id: str, kind: str, entity_id: str | None, period: str, basis: str) -> pd.DataFrame:
    return costs_mod.waterfall(kind, entity_id, period, basis=basis, warehouse=Warehouse(path))


def waterfall(ctx: ReportContext, basis: str = "order") -> pd.DataFrame:
    """Cost waterfall GMV → net profit for the month (kpi_lib.costs.waterfall, the one definition of
    every line), report currency.

    Columns: step, kpi (the catalog KPI of the line), name, amount (signed: costs negative),
    pct_of_net_sales, kind (total|cost|subtotal), basis, complete, missing, stores_covered, stores_total
    (every line is over the stores complete for net profit).
    """
    rows = _cost_rows(ctx, basis)
    if rows is not None:  # the batch's set-based engine rows: same figures, no query
        df = costs_mod.waterfall(ctx.kind, ctx.engine_id, ctx.period, basis=basis, warehouse=ctx.warehouse, rows=rows)
    else:
        df = _waterfall(str(ctx.warehouse.path), ctx.snapshot_id, ctx.kind, ctx.engine_id, ctx.period, basis).copy()
    df["name"] = df["label_zh" if ctx.lang == "zh" else "label_en"]
    df["amount"] = df["amount_rc"].astype(float) / ctx.fx
    df["basis"] = basis
    for c, d in (("complete", True), ("missing", ""), ("stores_covered", np.nan), ("stores_total", np.nan),
                 ("kpi", None)):
        if c not in df:
            df[c] = d
    df["kpi"] = df["kpi"].fillna(df["step"])
    df["complete"] = df["complete"].fillna(True).astype(bool)
    df["missing"] = df["missing"].map(_missing_text)
    out = df[["step", "kpi", "name", "amount", "pct_of_net_sales", "kind", "basis", "complete", "missing",
              "stores_covered", "stores_total"]].copy()
    # the entity's own GMV and net sales over all its stores (what the other reports show), to reconcile
    # a waterfall computed over fewer stores
    if basis == "order" and len(out) and not out["complete"].all():
        lg = _long(ctx, ["gmv", "net_sales"], ctx.period, ctx.period).set_index("kpi")
        out.attrs["all_stores"] = {k: ctx.money(lg.at[k, "value"]) for k in ("gmv", "net_sales") if k in lg.index}
        out.attrs["all_stores_meta"] = {k: {c: lg.at[k, c] for c in ("complete", "stores_covered", "stores_total")}
                                        for k in ("gmv", "net_sales") if k in lg.index}
    return out


def basis_bridge(ctx: ReportContext) -> pd.DataFrame:
    """How order-date net profit becomes posted-date net profit (kpi_lib.costs.basis_bridge), report
    currency: item, name, amount, kind (start | timing | end), plus the waterfall's coverage columns.
    Empty when net profit is unknown for the entity on either basis (no store with every source it needs)."""
    none = pd.DataFrame(columns=["item", "name", "amount", "kind"])
    wf = waterfall(ctx, "order")
    if wf.empty or wf["amount"].isna().all():
        return none
    rows = {q: r for q in ("order", "posted", "discounts_order", "discounts_posted")
            if (r := _cost_rows(ctx, q)) is not None}
    df = costs_mod.basis_bridge(ctx.kind, ctx.engine_id, ctx.period, warehouse=ctx.warehouse, rows=rows).copy()
    if df.empty or df["amount_rc"].isna().all():  # the posted basis unknown: no bridge either
        return none
    df["name"] = df["label_zh" if ctx.lang == "zh" else "label_en"]
    df["amount"] = df["amount_rc"].astype(float) / ctx.fx
    for c in ("complete", "missing", "stores_covered", "stores_total"):
        df[c] = wf[c].iloc[0]
    return df[["item", "name", "amount", "kind", "complete", "missing", "stores_covered", "stores_total"]]


def unit_economics(ctx: ReportContext, limit: int = 20, loss_only: bool = False) -> pd.DataFrame:
    """Per-SKU unit economics (kpi_lib.costs.unit_economics / loss_makers) in the report currency.

    Sorted by contribution: best first, or worst loss-makers first with ``loss_only``. The full list's
    share of net sales from SKUs without a unit cost (COGS incomplete) is ``attrs["cost_missing_share"]``.
    """
    costs = costs_mod
    full = _unit_economics(ctx)
    if loss_only:
        df = costs.loss_makers(ctx.kind, ctx.engine_id, ctx.period, n=limit, warehouse=ctx.warehouse, ue=full).copy()
    else:
        share = np.nan
        if "cost_missing" in full and len(full):
            ns = full["net_sales"].astype(float)
            total = float(ns.sum())
            share = float(ns[full["cost_missing"].fillna(False).astype(bool)].sum()) / total if total else np.nan
        df = full.sort_values("contribution", ascending=False).head(limit).copy()
        df.attrs["cost_missing_share"] = share  # share of net sales from SKUs without a unit cost
    attrs = dict(df.attrs)
    for c in ("net_sales", "landed_cost_per_unit", "fees_per_unit", "ads_per_unit", "return_loss_per_unit",
              "contribution_per_unit", "contribution"):
        if c in df:
            df[c] = df[c].astype(float) / ctx.fx
    if df.empty or "sku" not in df:
        return df.reset_index(drop=True)
    skus = table(ctx, "skus")
    if not skus.empty and "name" in skus and "name" not in df:
        df = df.merge(skus[["sku", "name"]], on="sku", how="left")
    df = df.reset_index(drop=True)
    df.attrs.update(attrs)
    return df


_UE = ByObject(8)


def _unit_economics(ctx: ReportContext) -> pd.DataFrame:
    """``costs.unit_economics`` of the report's entity and month: inside a batch once per report (its SKU
    table and its loss-makers both read it, from the batch's rows)."""
    rows = _cost_rows(ctx, "ue")
    if rows is None:  # no batch: the engine each time (a notebook may have changed a definition since)
        return costs_mod.unit_economics(ctx.kind, ctx.engine_id, ctx.period, warehouse=ctx.warehouse)
    key = (str(ctx.warehouse.path), ctx.snapshot_id, ctx.kind, ctx.engine_id, ctx.period)
    hit = _UE.get(rows, *key)
    if hit is not None:
        return hit
    return _UE.put(rows, *key, value=costs_mod.unit_economics(ctx.kind, ctx.engine_id, ctx.period,
                                                               warehouse=ctx.warehouse, rows=rows))


def overheads(ctx: ReportContext) -> pd.DataFrame:
    """Allocated overheads of the entity's stores for the month, by item (report currency)."""
    oh = table(ctx, "overhead_allocations")
    if oh.empty:
        return pd.DataFrame(columns=["item", "amount"])
    sel = oh[oh["month"].astype(str) == ctx.period]
    if ctx.kind != "company":
        a, b = period_bounds(ctx.period)
        stores = [ctx.entity_id] if ctx.kind == "store" else entity_stores(ctx.kind, ctx.entity_id, a, b,
                                                                         warehouse=ctx.warehouse)
        sel = sel[sel["store_id"].isin(stores)]
    group = "item" if "item" in sel else "store_id"
    out = sel.groupby(group)["amount_rc"].sum().rename("amount").reset_index().rename(columns={group: "item"})
    out["amount"] = out["amount"] / ctx.fx
    return out.sort_values("amount", ascending=False).reset_index(drop=True)


def margin_moves(ctx: ReportContext) -> pd.DataFrame:
    """What moved net margin vs the prior month, in percentage points per cost step (costs module)."""
    costs = costs_mod
    df = costs.explain_margin_change(ctx.kind, ctx.engine_id, ctx.period, prior=ctx.prior(),
                                     warehouse=ctx.warehouse, rows=_cost_rows(ctx, "order")).copy()
    df["name"] = df["label_zh" if ctx.lang == "zh" else "label_en"]
    df["basis"] = "order"
    # the margin rows are the engine's net margin (over the stores complete for net profit): its completeness
    lg = _long(ctx, ["net_margin"], ctx.prior(), ctx.period).set_index("period")
    for side, per in (("prior", ctx.prior()), ("current", ctx.period)):
        for c in ("complete", "stores_covered", "stores_total"):
            df[f"{c}_{side}"] = lg.at[per, c] if per in lg.index else (True if c == "complete" else None)
    return df


RANKING_KPIS = ["gmv", "net_profit", "net_margin", "acos"]


def store_ranking(ctx: ReportContext) -> pd.DataFrame:
    """All stores in the month: GMV, net profit, net margin, ACoS, GMV change vs prior and status counts.

    A figure a store lacks data for is NaN (never ranked as best) and the store is marked: ``incomplete``
    lists those KPIs, ``missing`` the absent sources; ``incomplete_n`` counts incomplete statuses.
    """
    kv = table(ctx, "kpi_values")
    kpis = RANKING_KPIS
    if kv.empty:
        return pd.DataFrame(columns=["store_id", *kpis])
    v = kv[(kv["entity_kind"] == "store") & (kv["period_kind"] == "month") & kv["kpi"].isin(kpis)
           & kv["period"].isin([ctx.period, ctx.prior()])].copy()
    if "basis" in v:
        v = v[v["basis"].fillna("order") == "order"]
    if "complete" not in v:
        v["complete"] = True
    v["complete"] = v["complete"].fillna(True).astype(bool)
    v["missing"] = v["missing"].map(_missing_text) if "missing" in v else ""
    wide = v.pivot_table(index=["entity_id", "period"], columns="kpi", values="value", aggfunc="first",
                         dropna=False).reset_index()
    cur = wide[wide["period"] == ctx.period].set_index("entity_id")
    pri = wide[wide["period"] == ctx.prior()].set_index("entity_id")
    out = cur.reindex(columns=kpis).copy()
    out["gmv_change"] = (out["gmv"] - pri["gmv"].reindex(out.index)) / pri["gmv"].reindex(out.index).abs()
    now = v[v["period"] == ctx.period]
    inc = now[~now["complete"]]
    out["incomplete"] = [",".join(sorted(inc.loc[inc["entity_id"] == e, "kpi"])) for e in out.index]
    out["missing"] = [",".join(sorted({m for x in inc.loc[inc["entity_id"] == e, "missing"] for m in x.split(",") if m}))
                      for e in out.index]
    st = table(ctx, "kpi_status")
    statuses = ("red", "amber", "green", "incomplete")
    if not st.empty:
        s = st[(st["entity_kind"] == "store") & (st["period"] == ctx.period)]
        counts = s.groupby(["entity_id", "status"]).size().unstack(fill_value=0)
        for c in statuses:
            out[c] = counts[c].reindex(out.index).fillna(0).astype(int) if c in counts else 0
    else:
        for c in statuses:
            out[c] = 0
    out = out.reset_index().rename(columns={"entity_id": "store_id"})
    stores = table(ctx, "stores")
    if not stores.empty:
        out = out.merge(stores[["store_id", "store_name", "platform"]], on="store_id", how="left")
    for c in ("gmv", "net_profit"):
        out[c] = out[c] / ctx.fx
    return out.sort_values("gmv", ascending=False).reset_index(drop=True)


def red_flags(ctx: ReportContext, limit: int = 25) -> pd.DataFrame:
    """Red KPI statuses of stores, teams and the company in the month (worst achievement first), then
    the KPIs that could not be judged because data are missing (status ``incomplete``, with ``missing``)."""
    st = table(ctx, "kpi_status")
    cols = ["entity_kind", "entity_id", "kpi", "name", "actual", "target", "achievement", "status", "missing"]
    if st.empty:
        return pd.DataFrame(columns=cols)
    s = st[(st["period"] == ctx.period) & st["status"].isin(["red", "incomplete"])
           & st["entity_kind"].isin(["company", "store", "team"])].copy()
    s["_order"] = (s["status"] == "incomplete").astype(int)
    s = s.sort_values(["_order", "pace_achievement" if "pace_achievement" in s else "achievement"])
    s = s.assign(name=s["kpi"].map(lambda k: kpi_name(k, ctx.lang)), unit=s["kpi"].map(kpi_unit))
    s["missing"] = s["missing"].map(_missing_text) if "missing" in s else ""
    s.loc[s["status"] == "incomplete", "achievement"] = np.nan
    money = s["unit"] == "money"
    for c in ("actual", "target"):
        s[c] = s[c].astype(float)
        s.loc[money, c] = s.loc[money, c] / ctx.fx
    red = s[s["status"] == "red"].head(limit)
    return pd.concat([red, s[s["status"] == "incomplete"]]).drop(columns="_order").reset_index(drop=True)


def freshness(ctx: ReportContext) -> pd.DataFrame:
    """Latest date and row count per canonical source table (plus the ingest manifest's last run)."""
    cache = _batch_cache(ctx)
    if cache is not None and (cache / "freshness.parquet").is_file():
        return _read_cached_frame(str(cache / "freshness.parquet"), _cache_meta(str(cache), _stamp(cache))["token"])
    return _freshness(str(ctx.warehouse.path), ctx.snapshot_id)


@lru_cache(maxsize=8)
def _freshness(path: str, snapshot_id: str) -> pd.DataFrame:
    wh = Warehouse(path)
    rows = []
    con = wh.connect()
    try:
        for name, col in FRESHNESS_SOURCES.items():
            if not wh.has(name):
                continue
            try:
                mx, n = con.execute(f'SELECT max("{col}"), count(*) FROM "{name}"').fetchone()
            except Exception:  # noqa: BLE001 - a table without the column: report rows only
                mx, n = None, con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
            rows.append({"source": name, "latest_date": str(mx)[:10] if mx is not None else "–", "rows": int(n)})
        if wh.has("manifest"):
            man = wh.read("manifest")
            if "ingested_at" in man and len(man):
                rows.append({"source": "manifest (ingested_at)", "latest_date": str(man["ingested_at"].max())[:19],
                             "rows": len(man)})
    finally:
        con.close()
    return pd.DataFrame(rows, columns=["source", "latest_date", "rows"])


# ---- costs, scorecards, settlements (other modules; see docs/api-costs.md) ------------------------
class Unavailable(str):
    """Returned instead of data when the engine module behind a section is not installed yet."""


def scorecard(ctx: ReportContext) -> Any:
    """The person's or team's scorecard (kpi_lib.scorecard.score) or Unavailable."""
    mod = scorecard_mod
    actuals = _scorecard_actuals(ctx)
    if ctx.kind == "person":
        return mod.score(person_id=ctx.entity_id, period=ctx.period, warehouse=ctx.warehouse, actuals=actuals)
    return mod.score(team_id=ctx.entity_id, period=ctx.period, warehouse=ctx.warehouse, actuals=actuals)


def scorecard_lines(card: Any, ctx: ReportContext) -> pd.DataFrame | None:
    """The scorecard's lines with names in the report language (money actual/target converted)."""
    if isinstance(card, Unavailable) or card is None:
        return None
    df = card.lines.copy()
    df["name"] = df["label_zh" if ctx.lang == "zh" else "label_en"]
    df["unit"] = df["kpi"].map(kpi_unit)
    money = df["unit"] == "money"
    for c in ("threshold", "target", "maximum", "actual"):
        if c in df:
            df.loc[money, c] = df.loc[money, c].astype(float) / ctx.fx
    return df


def settlement(ctx: ReportContext) -> Any:
    """The contract's settlement statement as a dict (kpi_lib.settlement.settle(...).to_dict()) or Unavailable."""
    mod = settlement_mod
    return mod.settle(ctx.entity_id, ctx.period, warehouse=ctx.warehouse, gmv=_contract_gmv(ctx)).to_dict()


def fee_models(ctx: ReportContext) -> Any:
    """Fee-model comparison across achievement scenarios (kpi_lib.settlement.compare_models) or Unavailable."""
    mod = settlement_mod
    df = mod.compare_models(ctx.entity_id, period=ctx.period, warehouse=ctx.warehouse, gmv=_contract_gmv(ctx)).copy()
    for c in ("net_gmv", "client_pays", "provider_earns"):
        if c in df:
            df[c] = df[c].astype(float) / ctx.fx
    return df


CONTRACT_WINDOW = 27  # months before the settled period read in one query (exit-clause history, last year)


def _contract_gmv(ctx: ReportContext) -> Callable[[Any, str], dict]:
    """``gmv`` for :func:`kpi_lib.settlement.settle` / ``compare_models``: the GMV figures of every period
    a statement reads (the period, its exit-clause history, last year's for growth targets) from one
    :func:`kpi_lib.settlement.gmv_rows` query over the months up to the period, instead of one query per
    period; a period outside that window goes to the engine as before."""
    f = paths.parameters_dir() / "contracts.yaml"  # a changed contract (its stores) is a new memo
    stamp = f.stat().st_mtime_ns if f.is_file() else 0
    cache = _batch_cache(ctx)
    token = _cache_meta(str(cache), _stamp(cache)).get("token", "") if cache is not None else ""
    return _contract_gmv_memo(str(ctx.warehouse.path), ctx.snapshot_id, ctx.entity_id, ctx.period, stamp,
                              str(cache or ""), token)


def _contract_window(contract: Any, period: str) -> tuple[str, str]:
    """The months a statement of ``period`` reads for ``contract``: :data:`CONTRACT_WINDOW` months before
    the period up to the end of its contract period."""
    last = months_of(settlement_mod.contract_period(contract, period))[-1]
    return shift_period(months_of(period)[0], -CONTRACT_WINDOW), last


@lru_cache(maxsize=8)
def _contract_gmv_memo(path: str, snapshot_id: str, contract_id: str, period: str,
                       stamp: int, cache: str = "", token: str = "") -> Callable[[Any, str], dict]:
    wh = Warehouse(path)
    c = settlement_mod.get_contract(contract_id)
    first, last = _contract_window(c, period)
    window = settlement_mod.gmv_window(c, first, last, wh, rows=_batch_contract_rows(cache, token, c, first, last))
    memo: dict[tuple[str, str], dict] = {}

    def gmv(contract: Any, per: str) -> dict:
        key = (contract.id, per)
        if key not in memo:
            memo[key] = window(contract, per)
        return dict(memo[key])

    return gmv


# ---- compute once per batch ----------------------------------------------------------------------
BATCH_CACHE_ENV = "KPI_BATCH_CACHE"
CACHE_META = "batch.json"
_SEP = "\x1f"  # between entity kind and id in the cache filter (never in an id)


def batch_cache_dir() -> Path | None:
    """The batch cache the report runner prepared for this process (``KPI_BATCH_CACHE``), if any."""
    d = os.environ.get(BATCH_CACHE_ENV)
    return Path(d) if d and (Path(d) / CACHE_META).is_file() else None


def _stamp(cache: Path) -> int:
    """Identifies one version of batch.json (each stage replaces the file: a new inode)."""
    st = (cache / CACHE_META).stat()
    return hash((st.st_mtime_ns, st.st_ino, st.st_size))


@lru_cache(maxsize=8)
def _cache_meta(path: str, stamp: int) -> dict[str, Any]:
    """The cache's batch.json (keyed by its mtime: a later batch at the same path is a new cache)."""
    return json.loads((Path(path) / CACHE_META).read_text(encoding="utf-8"))


def _batch_cache(ctx: ReportContext) -> Path | None:
    """The active batch cache when it was prepared from the context's warehouse snapshot, else None
    (a stale or foreign cache is never read)."""
    d = batch_cache_dir()
    if d is None:
        return None
    meta = _cache_meta(str(d), _stamp(d))
    ok = meta.get("snapshot_id") == ctx.snapshot_id and meta.get("warehouse") == str(ctx.warehouse.path.resolve())
    return d if ok else None


BATCH_NEEDS = ("costs", "actions", "scorecards", "contracts")  # what prepare_batch can precompute per subject besides the KPI tables


def prepare_batch(subjects: list[tuple[str, str]], period: str, cache_dir: Path,
                  warehouse: Warehouse | None = None,
                  needs: Mapping[tuple[str, str], Collection[str]] | None = None) -> dict[str, Any]:
    """Compute once what a batch's reports read, for all its subjects, into ``cache_dir`` (Parquet).

    ``subjects`` are the (entity_kind, entity_id) pairs the batch renders (company id ignored). One
    set-based DuckDB query per table copies the subjects' rows of ``kpi_values`` and ``kpi_status``
    (every period: trends, prior month, last year, quarter) in the warehouse's row order, so a report
    reads its slice instead of scanning and filtering the whole table; the source freshness table
    (one scan of every source) is computed once. Company and cross-store sections (ranking, red
    flags) keep reading the warehouse table.

    ``needs`` ({subject: subset of :data:`BATCH_NEEDS`}; None = only the KPI tables) adds:
    ``costs`` (store and company subjects: the engine rows of the cost waterfall on both bases,
    discounts and unit economics, one query per kind of rows over all the stores, see
    :func:`_prepare_costs`) and ``actions`` (the before/after KPI values of every subject's actions,
    :func:`kpi_lib.actions.values_by_kind`) and ``scorecards`` (team and person subjects: the engine
    rows ``kpi_lib.scorecard.score`` asks for, one query per KPI list and month over all the subjects,
    :func:`_prepare_scorecards`) and ``contracts`` (contract subjects: each statement's GMV rows,
    :func:`_prepare_contracts`). Reports read their slice and pass it to the same
    ``kpi_lib.costs`` / ``kpi_lib.actions`` functions, so every line is built by the one definition.
    Returns the row counts written (:func:`prepare_batch_stages` run to the end).
    """
    counts: dict[str, Any] = {}
    for _ in prepare_batch_stages(subjects, period, cache_dir, warehouse, needs, counts):
        pass
    return counts


#: the stages of :func:`prepare_batch_stages` in order, and which of :data:`BATCH_NEEDS` each makes ready
BATCH_STAGES = {"tables": (), "actions": ("actions",), "costs": ("costs",), "scorecards": ("scorecards",),
                "contracts": ("contracts",)}


def prepare_batch_stages(subjects: list[tuple[str, str]], period: str, cache_dir: Path,
                         warehouse: Warehouse | None = None,
                         needs: Mapping[tuple[str, str], Collection[str]] | None = None,
                         counts: dict[str, Any] | None = None) -> Iterator[str]:
    """:func:`prepare_batch` one stage at a time (a generator yielding each name of
    :data:`BATCH_STAGES` once it is written): after each stage ``batch.json`` lists what is ready, so
    reports that need only that much can render while the later stages are computed. ``counts``
    receives the row counts."""
    counts = {} if counts is None else counts
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    sid = wh.current_id()
    if sid is None:
        raise RenderError(f"no warehouse at {wh.path}: run `kpi ingest` and `kpi compute` first")
    check_period(period)
    if cache_dir.exists():
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True)
    keys = sorted({(k, "" if k == "company" else str(e)) for k, e in subjects})
    # a constant IN list is a filter (a subquery would be a join, which does not keep the row order)
    wanted = ", ".join(f"'{_sql_str(k)}{_SEP}{_sql_str(e)}'" for k, e in keys) or "''"
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        for name in ENTITY_TABLES:
            target = cache_dir / f"{name}.parquet"
            if not wh.has(name):
                continue
            scan = wh.scan_sql(name)
            con.execute(f"COPY (SELECT t.* FROM {scan} t WHERE CAST(t.entity_kind AS VARCHAR) || '{_SEP}' || "
                        f"coalesce(CAST(t.entity_id AS VARCHAR), '') IN ({wanted})) TO '{_sql_str(str(target))}' "
                        "(FORMAT parquet)")
            counts[name] = con.execute(f"SELECT count(*) FROM read_parquet('{_sql_str(str(target))}')").fetchone()[0]
    finally:
        con.close()
    fr = _freshness(str(wh.path), sid)
    fr.to_parquet(cache_dir / "freshness.parquet", index=False)
    counts["freshness"] = len(fr)
    need = {key: set((needs or {}).get(key, ())) for key in keys}
    if needs is not None:  # callers may key the company by any id
        for (k, e), n in needs.items():
            if k == "company":
                need[("company", "")] = need.get(("company", ""), set()) | set(n)
    cost_subjects = [key for key in keys if "costs" in need.get(key, ()) and key[0] in ("store", "company")]
    action_subjects = [key for key in keys if "actions" in need.get(key, ())]
    card_subjects = [key for key in keys if "scorecards" in need.get(key, ()) and key[0] in ("team", "person")]
    contract_subjects = [key for key in keys if "contracts" in need.get(key, ()) and key[0] == "contract"]
    meta = {"snapshot_id": sid, "warehouse": str(wh.path.resolve()), "period": period, "token": uuid.uuid4().hex,
            "subjects": keys, "rows": counts, "costs": [], "actions": [], "scorecards": [], "contracts": []}
    _write_meta(cache_dir, meta)
    yield "tables"
    # which months the stored kpi_values hold in full: asked once for the actions and scorecards stages
    through = stored_values_through(wh) if action_subjects or card_subjects else (None, None)
    # the cheap stage first, so that the reports needing only it start early
    counts.update(_prepare_actions(action_subjects, period, cache_dir, wh, through))
    meta["actions"] = action_subjects if (cache_dir / ACTION_VALUES).is_file() else []
    _write_meta(cache_dir, meta)
    yield "actions"
    counts.update(_prepare_costs(cost_subjects, period, cache_dir, wh))
    meta["costs"] = cost_subjects
    _write_meta(cache_dir, meta)
    yield "costs"
    counts.update(_prepare_scorecards(card_subjects, period, cache_dir, wh, through))
    meta["scorecards"] = card_subjects if (cache_dir / SCORECARD_QUERIES).is_file() else []
    _write_meta(cache_dir, meta)
    yield "scorecards"
    counts.update(_prepare_contracts(contract_subjects, period, cache_dir, wh))
    meta["contracts"] = contract_subjects
    _write_meta(cache_dir, meta)
    yield "contracts"


CONTRACT_ROWS = "contract_gmv.parquet"  # the batch's contracts' GMV rows (settlement.gmv_rows), keyed by _cid


def _prepare_contracts(subjects: list[tuple[str, str]], period: str, cache_dir: Path, wh: Warehouse) -> dict[str, int]:
    """The GMV rows every contract statement of the batch reads (:func:`kpi_lib.settlement.gmv_rows` over
    its window, the same query the report would make), into :data:`CONTRACT_ROWS` with the window and
    stores each was computed for (``batch.json``'s ``contract_windows``); a contract whose definition
    fails is left to its report, which shows the error."""
    if not subjects:
        return {}
    frames, windows = [], {}
    for _, cid in subjects:
        try:
            c = settlement_mod.get_contract(cid)
            first, last = _contract_window(c, period)
            rows = settlement_mod.gmv_rows(c, first, last, wh)
        except KpiError:
            continue
        frames.append(rows.assign(_cid=cid))
        windows[cid] = [first, last, list(c.stores)]
    if frames:
        pd.concat(frames, ignore_index=True).to_parquet(cache_dir / CONTRACT_ROWS, index=False)
    (cache_dir / "contract_windows.json").write_text(json.dumps(windows), encoding="utf-8")
    return {"contract_gmv": sum(len(f) for f in frames)}


@lru_cache(maxsize=4)
def _contract_rows_file(cache: str, token: str) -> tuple[dict[str, list], dict[str, pd.DataFrame]]:
    base = Path(cache)
    windows = json.loads((base / "contract_windows.json").read_text(encoding="utf-8"))
    path = base / CONTRACT_ROWS
    df = pd.read_parquet(path) if path.is_file() else pd.DataFrame(columns=["_cid"])
    return windows, {str(k): g.drop(columns="_cid").reset_index(drop=True) for k, g in df.groupby("_cid", sort=False)}


def _batch_contract_rows(cache: str, token: str, contract: Any, first: str, last: str) -> pd.DataFrame | None:
    """The batch's GMV rows of ``contract`` when it computed them for the same window and stores (else
    None: the statement queries the engine, as without a batch)."""
    if not cache or not (Path(cache) / "contract_windows.json").is_file():
        return None
    windows, rows = _contract_rows_file(cache, token)
    if windows.get(contract.id) != [first, last, list(contract.stores)] or contract.id not in rows:
        return None
    return rows[contract.id]


def _write_meta(cache_dir: Path, meta: dict[str, Any]) -> None:
    """batch.json, replaced atomically (kernels may be reading it while later stages are prepared)."""
    tmp = cache_dir / f".{CACHE_META}.{uuid.uuid4().hex}.tmp"
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, cache_dir / CACHE_META)




# ---- costs and actions, computed once per batch --------------------------------------------------
#: the cost sections' queries and the batch cache file answering each: the waterfall, margin moves and
#: the bridge's start on the order basis, the bridge's end on the posted basis (each basis's file holds
#: discounts too: :data:`kpi_lib.costs.COST_ROW_KPIS`), unit economics by SKU
COST_FILES = {"order": "order", "posted": "posted", "discounts_order": "order", "discounts_posted": "posted",
              "ue": "ue"}
ACTION_VALUES = "action_values.json"
_KEYS = ["_ek", "_eid"]
Stored = tuple[dt.date | None, dt.date | None]  # what :func:`kpi_lib.compute.stored_values_through` says


def _keyed_grains(grains: Mapping[str, pd.DataFrame], stores: list[str], company: bool) -> pd.DataFrame:
    """The store and company rows of :func:`kpi_lib.costs.waterfall_grain_rows` (or of the stored rows,
    :func:`kpi_lib.compute.grain_frames`) for the batch's subjects, keyed by ``_ek``/``_eid``."""
    frames = []
    if stores:
        g = grains["store"]
        frames.append(g[g["store_id"].astype(str).isin(stores)].rename(columns={"store_id": "_eid"}).assign(_ek="store"))
    if company:
        frames.append(grains["company"].assign(_ek="company", _eid=""))
    return pd.concat(frames, ignore_index=True)


def _prepare_costs(subjects: list[tuple[str, str]], period: str, cache_dir: Path, wh: Warehouse) -> dict[str, int]:
    """The engine rows ``kpi_lib.costs`` asks for per entity (``waterfall``, ``explain_margin_change``,
    ``basis_bridge``, ``unit_economics``) for all the batch's stores and the company, as
    ``costs_<file>.parquet`` keyed by ``_ek``/``_eid`` (:data:`COST_FILES`):

    - ``order``: :data:`kpi_lib.costs.COST_ROW_KPIS` on the order basis, the prior month and the month;
    - ``posted``: the same on the posted basis, the month;
    - ``ue``: the unit-economics KPIs by store × SKU, the month (the company's rows are all its stores').

    All three are what `kpi compute` stored (:func:`kpi_lib.compute.stored_cost_rows`) when they hold both
    months of the live data; otherwise one store-level query each (``costs.waterfall_grain_rows`` /
    ``costs.unit_rows``), whose company rows are the engine's sums of store rows: the same values as each
    entity's own query (tests/test_report_batch_cache.py). The posted rows hold the prior month too when
    stored (harmless: every reader takes the month's rows)."""
    if not subjects:
        return {}
    stores = sorted(e for k, e in subjects if k == "store")
    company = any(k == "company" for k, _ in subjects)
    prior = shift_period(period, -1)
    stored = stored_cost_rows(wh, [prior, period])
    if stored is not None:
        wf, ue = stored
        order, posted = (grain_frames(wf[wf["basis"] == b]) for b in ("order", "posted"))
    else:
        order = costs_mod.waterfall_grain_rows("month", "order", wh, start=prior, end=period)
        posted = costs_mod.waterfall_grain_rows("month", "posted", wh, start=period, end=period)
        ue = costs_mod.unit_rows("month", period, period, wh)
    ue = ue.assign(store_id=ue["store_id"].astype(str))
    units = ([ue[ue["store_id"].isin(stores)].rename(columns={"store_id": "_eid"}).assign(_ek="store")] if stores else [])
    units += [ue.drop(columns=["store_id"]).assign(_ek="company", _eid="")] if company else []
    counts: dict[str, int] = {"costs_stored": int(stored is not None)}
    for name, out in (("order", _keyed_grains(order, stores, company)), ("posted", _keyed_grains(posted, stores, company)),
                      ("ue", pd.concat(units, ignore_index=True))):
        out["_eid"] = out["_eid"].astype(str)
        out.to_parquet(cache_dir / f"costs_{name}.parquet", index=False)
        counts[f"costs_{name}"] = len(out)
    return counts


def _prepare_actions(subjects: list[tuple[str, str]], period: str, cache_dir: Path, wh: Warehouse,
                     through: Stored) -> dict[str, int]:
    """The before/after KPI values every subject's actions section asks for (``actions_for`` itself
    says which, run with a recorder), computed set-based (:func:`kpi_lib.actions.values_by_kind`) into
    ``action_values.json``: ``{"months": [...], "values": [[kind, id, kpi, month, value], ...]}``."""
    if not subjects:
        return {}
    wanted: dict[tuple[str, str | None], set[str]] = {}
    months: set[str] = set()
    per_report = [0]  # engine queries the reports would make themselves (one per entity per report)

    def record(w: dict[tuple[str, str | None], set[str]], ms: list[str]) -> dict:
        for key, kpis in w.items():
            wanted.setdefault(key, set()).update(kpis)
        months.update(ms)
        per_report[0] += len(w)
        return {}

    try:
        acts = actions_mod.load_actions()
        for kind, eid in subjects:
            actions_mod.actions_for(kind, None if kind == "company" else eid, period, warehouse=wh, actions=acts,
                                    values=record)
    except KpiError:  # a broken actions file: each report shows the error in its section, as without a cache
        return {}
    # always set-based, even without sharing (store reports only): one query for all the stores costs
    # about what one store's costs, and it runs while the kernels start. Every subject of a kind asks
    # for the union of that kind's KPIs, so there is one query per kind (a KPI's value does not depend
    # on the others computed with it)
    union: dict[str, set[str]] = {}
    for (k, _), kpis in wanted.items():
        union.setdefault(k, set()).update(kpis)
    wanted = {key: set(union[key[0]]) for key in wanted}
    groups = {(k, tuple(sorted(kpis))) for (k, _), kpis in wanted.items()}
    vals = _stored_action_values(wanted, sorted(months), wh, through) if wanted else {}
    if vals is None:
        vals = actions_mod.values_by_kind(wanted, sorted(months), warehouse=wh)
    doc = {"months": sorted(months),
           "wanted": [[k, e, kpi] for (k, e), kpis in sorted(wanted.items(), key=lambda x: (x[0][0], x[0][1] or ""))
                      for kpi in sorted(kpis)],
           "values": [[k, e, kpi, m, v] for (k, e, kpi, m), v in vals.items()]}
    (cache_dir / ACTION_VALUES).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return {"action_values": len(vals), "action_queries_saved": per_report[0] - len(groups)}


def _stored_action_values(wanted: actions_mod.Wanted, months: list[str], wh: Warehouse,
                          through: Stored) -> actions_mod.Values | None:
    """:func:`kpi_lib.actions.values_by_kind` read from the ``kpi_values`` `kpi compute` stored (the same
    engine values, one row per entity, KPI and month), when they are fresh and hold every month in
    full (``through``: :func:`kpi_lib.compute.stored_values_through`); else None. Keys as
    ``values_by_kind`` gives them (the company's id as asked)."""
    if through[1] is None or not months or not all(stored_covers(m, through) for m in months):
        return None
    kinds = {k for k, _ in wanted}
    kpis = {kpi for ks in wanted.values() for kpi in ks}
    lit = lambda xs: ", ".join(f"'{_sql_str(str(x))}'" for x in sorted(xs))
    con = wh.connect()
    try:
        rows = con.execute(
            "SELECT CAST(entity_kind AS VARCHAR), CAST(entity_id AS VARCHAR), CAST(kpi AS VARCHAR), "
            f"CAST(period AS VARCHAR), value FROM kpi_values WHERE period_kind = 'month' AND period IN ({lit(months)}) "
            f"AND kpi IN ({lit(kpis)}) AND entity_kind IN ({lit(kinds)})").fetchall()
    finally:
        con.close()
    ids = {(k, "" if k == "company" else str(e)): e for k, e in wanted}  # stored id -> the id asked
    out: actions_mod.Values = {}
    for kind, eid, kpi, per, v in rows:
        key = (kind, "" if kind == "company" else (eid or ""))
        if key in ids and kpi in wanted[(kind, ids[key])]:
            out[(kind, ids[key], kpi, per)] = float(v) if v is not None and not np.isnan(v) else np.nan
    return out


@lru_cache(maxsize=16)
def _keyed_slices(path: str, token: str) -> tuple[dict[tuple[str, str], pd.DataFrame], pd.DataFrame]:
    """A ``costs_*`` cache file split by (_ek, _eid), key columns dropped; plus its empty frame."""
    df = pd.read_parquet(path)
    empty = df.iloc[0:0].drop(columns=_KEYS)
    out = {(str(k), str(e)): g.drop(columns=_KEYS).reset_index(drop=True)
           for (k, e), g in df.groupby(_KEYS, sort=False)}
    return out, empty


def _cost_rows(ctx: ReportContext, name: str) -> pd.DataFrame | None:
    """The context's engine rows of cost query ``name`` from the batch cache, or None (no cache, another
    month, or a subject the batch did not precompute: the caller queries the engine). The batch's own
    frame, the same object each time (``kpi_lib.costs`` reads it, never writes into it, and works out
    the waterfall of the same rows once): callers must not modify it."""
    cache = _batch_cache(ctx)
    if cache is None:
        return None
    meta = _cache_meta(str(cache), _stamp(cache))
    key = [ctx.kind, ctx.entity_id or ""]
    path = cache / f"costs_{COST_FILES[name]}.parquet"
    if meta.get("period") != ctx.period or key not in meta.get("costs", []) or not path.is_file():
        return None
    slices, empty = _keyed_slices(str(path), meta["token"])
    return slices.get((key[0], key[1]), empty)


@lru_cache(maxsize=4)
def _action_doc(path: str, token: str) -> tuple[set[tuple[str, str | None, str]], set[str], dict]:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    wanted = {(k, e, kpi) for k, e, kpi in doc["wanted"]}
    vals = {(k, e, kpi, m): float(v) if v is not None else np.nan for k, e, kpi, m, v in doc["values"]}
    return wanted, set(doc["months"]), vals


def action_values(ctx: ReportContext) -> Callable[[dict, list[str]], dict] | None:
    """``values`` for :func:`kpi_lib.actions.actions_for` answering from the batch cache (None without
    one): the precomputed values when the batch covered what is asked, else the engine
    (:func:`kpi_lib.actions.values_by_kind`, the same figures)."""
    cache = _batch_cache(ctx)
    if cache is None:
        return None
    meta = _cache_meta(str(cache), _stamp(cache))
    path = cache / ACTION_VALUES
    if meta.get("period") != ctx.period or not meta.get("actions") or not path.is_file():
        return None
    covered, months, vals = _action_doc(str(path), meta["token"])
    wh = ctx.warehouse

    def values(wanted: dict, ms: list[str]) -> dict:
        if set(ms) <= months and all((k, e, kpi) in covered for (k, e), kpis in wanted.items() for kpi in kpis):
            return vals
        return actions_mod.values_by_kind(wanted, ms, warehouse=wh)

    return values


SCORECARD_QUERIES = "scorecard_queries.json"


def _card_query_key(kpis: list[str], period: str, dim: str, filters: Mapping[str, str]) -> str:
    return json.dumps([list(kpis), period, dim, sorted(filters.items())])


def _prepare_scorecards(subjects: list[tuple[str, str]], period: str, cache_dir: Path, wh: Warehouse,
                        through: Stored) -> dict[str, int]:
    """The engine rows every subject's scorecard asks for (``score`` itself says which, run once with a
    recorder): one ``compute_long(kpis, by=[dim], filters={dim: all the subjects})`` per KPI list and
    month, each subject's rows exactly those of its own query (its own group), into
    ``scorecard_rows.parquet`` (``_q`` = query number) and ``scorecard_queries.json``."""
    if not subjects:
        return {}
    asked: dict[str, set[str]] = {}

    def record(kpis: list[str], per: str, dim: str, eid: str, filters: dict[str, str]) -> pd.DataFrame:
        asked.setdefault(_card_query_key(kpis, per, dim, filters), set()).add(eid)
        return pd.DataFrame(columns=[dim, "period", "kpi", "value", "complete", "missing", "stores_covered",
                                     "stores_total"])

    for kind, eid in subjects:
        try:
            if kind == "person":
                scorecard_mod.score(person_id=eid, period=period, warehouse=wh, actuals=record)
            else:
                scorecard_mod.score(team_id=eid, period=period, warehouse=wh, actuals=record)
        except KpiError:  # the report shows the error itself, as without a cache
            continue
    frames, queries = [], []
    stored = _stored_subject_values(cache_dir) if through[1] is not None else None
    for i, (key, ids) in enumerate(sorted(asked.items())):
        kpis, per, dim, filters = json.loads(key)
        kind = _DIM_KINDS.get(dim)
        if stored is not None and kind and not filters and stored_covers(per, through):
            # what `kpi compute` stored for these subjects (the batch's own kpi_values slice): the same rows
            sel = stored[(stored["entity_kind"] == kind) & stored["entity_id"].isin(sorted(ids))
                         & (stored["period_kind"] == periods_kind(per)) & (stored["period"] == per)
                         & stored["kpi"].isin(kpis)]
            df = sel.rename(columns={"entity_id": dim})[[dim, *LONG_COLUMNS]]
        else:
            df = compute_long(kpis, by=[dim], period=periods_kind(per), start=per, end=per,
                              filters={dim: sorted(ids), **dict(filters)}, warehouse=wh)
        frames.append(df.assign(_q=i, **{dim: df[dim].astype(str)}) if len(df) else df.assign(_q=i))
        queries.append({"key": key, "ids": sorted(ids), "dim": dim})
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["_q"])
    rows.to_parquet(cache_dir / "scorecard_rows.parquet", index=False)
    (cache_dir / SCORECARD_QUERIES).write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    return {"scorecard_rows": len(rows)}


_DIM_KINDS = {dim: kind for kind, dim in ENTITY_DIMENSION.items() if dim}  # engine dimension -> entity kind


def _stored_subject_values(cache_dir: Path) -> pd.DataFrame | None:
    """The batch's subjects' ``kpi_values`` rows (written by the tables stage), text keys as str."""
    path = cache_dir / "kpi_values.parquet"
    if not path.is_file():
        return None
    df = pd.read_parquet(path)
    for c in ("entity_kind", "entity_id", "period_kind", "period", "kpi"):
        df[c] = df[c].astype(str)
    return df


@lru_cache(maxsize=4)
def _card_rows(path: str, token: str) -> tuple[dict[str, tuple[int, set[str]]], dict[int, pd.DataFrame]]:
    queries = json.loads((Path(path) / SCORECARD_QUERIES).read_text(encoding="utf-8"))
    rows = pd.read_parquet(Path(path) / "scorecard_rows.parquet")
    by_q = {int(q): g.drop(columns="_q") for q, g in rows.groupby("_q", sort=False)} if len(rows) else {}
    return {q["key"]: (i, set(q["ids"])) for i, q in enumerate(queries)}, by_q


def _scorecard_actuals(ctx: ReportContext) -> Callable[..., pd.DataFrame] | None:
    """``actuals`` for :func:`kpi_lib.scorecard.score` answering from the batch cache (None without one);
    a query the batch did not precompute goes to the engine, as without the cache."""
    cache = _batch_cache(ctx)
    if cache is None:
        return None
    meta = _cache_meta(str(cache), _stamp(cache))
    if meta.get("period") != ctx.period or [ctx.kind, ctx.entity_id] not in meta.get("scorecards", []):
        return None
    index, by_q = _card_rows(str(cache), meta["token"])
    wh = ctx.warehouse

    def actuals(kpis: list[str], per: str, dim: str, eid: str, filters: dict[str, str]) -> pd.DataFrame:
        hit = index.get(_card_query_key(kpis, per, dim, filters))
        if hit is None or eid not in hit[1]:
            return compute_long(kpis, by=[dim], period=periods_kind(per), start=per, end=per,
                                filters={dim: eid, **filters}, warehouse=wh)
        df = by_q.get(hit[0])
        if df is None:
            return pd.DataFrame(columns=[dim, "period", "kpi", "value", "complete", "missing", "stores_covered",
                                         "stores_total"])
        return df.loc[df[dim].astype(str) == eid, [dim, *LONG_COLUMNS]].reset_index(drop=True)

    return actuals
