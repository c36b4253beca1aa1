"""`kpi compute`: KPI values for the standard grains, target status and alerts, written atomically.

Tables written in one warehouse transaction (readers see all three or none):
- ``kpi_values``: entity_kind, entity_id, period_kind, period, kpi, value, numerator, denominator,
  complete, missing, stores_covered, stores_total, basis for company, platform, store, team, person
  and contract × month and quarter (order basis; see metrics.compute_long for completeness);
- ``kpi_status``: targets.evaluate() for every target period started by the data's last day (status
  ``incomplete`` when the actual lacks a source), with complete / missing;
- ``kpi_targets``: targets.all_targets() (file, cascaded and derived targets) that
  ``targets.target_for`` reads;
- ``alerts``: alerts.evaluate_alerts() over the monthly values and status;
- ``cost_waterfall_rows`` / ``cost_unit_rows``: the cost explorer's set-based engine rows
  (``costs.waterfall_grain_rows`` on both bases, ``costs.unit_rows``) × month and quarter, so a
  panel opens and a report batch prepares its cost sections without querying the facts
  (:func:`stored_cost_rows`: only while :func:`stored_is_fresh`, and only periods held in full).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import alerts as alerts_mod
from . import paths
from . import targets as targets_mod
from .config import workbench
from .costs import (
    COST_BASES,
    COST_ROW_KPIS,
    WATERFALL_GRAINS,
    unit_rows,
    waterfall_grain_rows,
    write_overhead_allocations,
)
from .definitions import load_catalog
from .metrics import compute_long_grains
from .periods import month_of, period_bounds
from .warehouse import Warehouse

GRAINS: dict[str, str | None] = {
    "company": None, "platform": "platform", "store": "store_id", "team": "team_id", "person": "person_id",
    "contract": "contract_id",
}
PERIOD_KINDS = ("month", "quarter")
HEADLINE = ["gmv", "net_sales", "orders", "aov", "cvr", "acos", "tacos", "contribution", "net_profit", "net_margin",
            "return_rate", "inventory_days"]
COMPUTE_NOTE = "compute"  # snapshot.json note of the snapshot `kpi compute` publishes
VALUE_COLUMNS = ["entity_kind", "entity_id", "period_kind", "period", "kpi", "value", "numerator", "denominator",
                 "complete", "missing", "stores_covered", "stores_total", "basis"]



def data_range(warehouse: Any = None) -> tuple[dt.date | None, dt.date | None]:
    """First and last order date in the warehouse (the range `kpi compute` covers)."""
    return Warehouse.of(warehouse).order_dates()


def kpi_values(warehouse: Any = None, grains: dict[str, str | None] | None = None,
               period_kinds: tuple[str, ...] = PERIOD_KINDS, start: Any = None, end: Any = None) -> pd.DataFrame:
    """Tidy KPI values for the standard grains over [start, end] (default: the orders' date range)."""
    wh = Warehouse.of(warehouse)
    catalog = load_catalog()
    lo, hi = data_range(wh)
    start, end = start or lo, end or hi
    frames = []
    grains = grains or GRAINS
    for pk in period_kinds:
        by_grain = compute_long_grains(None, grains, period=pk, start=start, end=end, warehouse=wh, catalog=catalog)
        for ek, dim in grains.items():
            df = by_grain[ek]
            if dim:
                df = df.rename(columns={dim: "entity_id"})
                df = df[df["entity_id"].notna()]
            else:
                df["entity_id"] = ""
            df["entity_kind"] = ek
            df["period_kind"] = pk
            df["basis"] = "order"
            frames.append(df[VALUE_COLUMNS])
    nonempty = [f for f in frames if len(f)]
    out = pd.concat(nonempty, ignore_index=True) if nonempty else pd.DataFrame(columns=VALUE_COLUMNS)
    out["entity_id"] = out["entity_id"].astype(str)
    out["complete"] = out["complete"].astype(bool)
    out["missing"] = out["missing"].fillna("").astype(str)
    out["stores_covered"] = out["stores_covered"].astype("int64")
    out["stores_total"] = out["stores_total"].astype("int64")
    for c in ("value", "numerator", "denominator"):
        out[c] = out[c].astype("float64").replace([np.inf, -np.inf], np.nan)
    return out


def cost_rows(warehouse: Any = None, start: Any = None, end: Any = None,
              period_kinds: tuple[str, ...] = PERIOD_KINDS) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(waterfall rows, unit rows) stored by `kpi compute`: ``costs.waterfall_grain_rows`` on both bases as
    ``grain, entity_id, period_kind, basis`` + the engine's long columns, and ``costs.unit_rows`` (order
    basis) with ``period_kind``."""
    wh = Warehouse.of(warehouse)
    wf, ue = [], []
    for pk in period_kinds:
        for basis in COST_BASES:
            for name, df in waterfall_grain_rows(pk, basis, wh, start, end).items():
                dim = WATERFALL_GRAINS[name]
                df = df.rename(columns={dim: "entity_id"}) if dim else df.assign(entity_id="")
                wf.append(df.assign(grain=name, period_kind=pk, basis=basis, entity_id=df["entity_id"].astype(str)))
        ue.append(unit_rows(pk, start, end, wh).assign(period_kind=pk))
    nonempty = [f for f in wf if len(f)]
    waterfall = pd.concat(nonempty, ignore_index=True) if nonempty else pd.DataFrame(
        columns=["grain", "entity_id", "period_kind", "basis", "period", "kpi", "value"])
    units = pd.concat([f for f in ue if len(f)] or ue, ignore_index=True)
    waterfall["missing"] = waterfall["missing"].fillna("").astype(str) if "missing" in waterfall else ""
    return waterfall, units


def grain_frames(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Stored ``cost_waterfall_rows`` of one period kind and basis split by grain as
    ``costs.waterfall_grain_rows`` returns them (each grain's dimension column named again; ``grain``,
    ``period_kind`` and ``basis`` dropped): the inverse of :func:`cost_rows`. Grains this version does
    not know are left out."""
    out: dict[str, pd.DataFrame] = {}
    for name, g in rows.groupby("grain", sort=False):
        if str(name) not in WATERFALL_GRAINS:
            continue
        dim = WATERFALL_GRAINS[str(name)]
        g = g.drop(columns=[c for c in ("grain", "period_kind", "basis") if c in g])
        out[str(name)] = (g.rename(columns={"entity_id": dim}) if dim else g.drop(columns=["entity_id"])
                          ).reset_index(drop=True)
    return out


def stored_is_fresh(warehouse: Any = None) -> bool:
    """True when the tables `kpi compute` wrote (``kpi_values``…) are of the live data: the live snapshot is
    the one `kpi compute` published (no ingest since) and the KPI catalog file is not newer than it.
    Callers that use stored values fall back to the engine otherwise."""
    wh = Warehouse.of(warehouse)
    if not wh.exists() or wh.info().get("note") != COMPUTE_NOTE:
        return False
    catalog_file = paths.parameters_dir() / "kpis.yaml"
    published = (wh.current / "snapshot.json").stat().st_mtime
    return not catalog_file.is_file() or catalog_file.stat().st_mtime <= published


def stored_values(warehouse: Any = None) -> pd.DataFrame | None:
    """``kpi_values`` as `kpi compute` stored it when :func:`stored_is_fresh`, else None."""
    wh = Warehouse.of(warehouse)
    if not stored_is_fresh(wh) or not wh.has("kpi_values"):
        return None
    return wh.read("kpi_values")


def stored_through(warehouse: Any, stored_months: Any) -> tuple[dt.date | None, dt.date | None]:
    """(last order date, last day stored rows hold in full) for stored rows whose months are
    ``stored_months``: the last stored month holds data to the last order date when it is that date's
    month, else to its own end. A period is held in full when ``min(its end, last order date)`` is not
    after that day (:func:`stored_covers`)."""
    months = sorted(str(m) for m in stored_months)
    _first, last = Warehouse(Warehouse.of(warehouse).path).order_dates()  # Parquet statistics: no copy
    if not months or last is None:
        return last, None
    return last, (last if months[-1] == month_of(last) else period_bounds(months[-1])[1])


def stored_covers(period: str, through: tuple[dt.date | None, dt.date | None]) -> bool:
    """Stored rows held to ``through`` (:func:`stored_through`) hold ``period`` exactly as the live
    query gives it."""
    last, stored_last = through
    if last is None or stored_last is None:
        return False
    return min(period_bounds(str(period))[1], last) <= stored_last


def stored_values_through(warehouse: Any = None) -> tuple[dt.date | None, dt.date | None]:
    """:func:`stored_through` of ``kpi_values`` ((None, None) unless :func:`stored_is_fresh`): a period
    ``p`` of it equals the engine's live query when ``stored_covers(p, stored_values_through(wh))``."""
    wh = Warehouse.of(warehouse)
    if not stored_is_fresh(wh) or not wh.has("kpi_values"):
        return None, None
    con = wh.connect()
    try:
        months = [r[0] for r in con.execute(
            "SELECT DISTINCT CAST(period AS VARCHAR) FROM kpi_values WHERE period_kind = 'month'").fetchall()]
    finally:
        con.close()
    return stored_through(wh, months)


def stored_cost_rows(warehouse: Any = None, months: Sequence[str] = ()) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The month rows of ``months`` that `kpi compute` stored for the cost sections: (``cost_waterfall_rows``
    with ``grain, entity_id, basis`` and every :data:`kpi_lib.costs.COST_ROW_KPIS` on both bases,
    ``cost_unit_rows`` with ``store_id``), each row exactly the live query's. None when they are not of the
    live data (:func:`stored_is_fresh`), were stored without a KPI or basis asked today, or do not hold
    every month in full: the caller asks the engine (``costs.waterfall_grain_rows`` /
    ``costs.unit_rows``) instead."""
    wh = Warehouse.of(warehouse)
    if not (stored_is_fresh(wh) and wh.has("cost_waterfall_rows") and wh.has("cost_unit_rows")):
        return None
    wf = wh.read("cost_waterfall_rows")
    wf = wf[wf["period_kind"] == "month"]
    through = stored_through(wh, wf["period"].unique())
    wanted = [str(m) for m in months]
    if not wanted or not all(stored_covers(m, through) for m in wanted):
        return None
    wf = wf[wf["period"].astype(str).isin(wanted)]
    if "basis" not in wf or not all(set(COST_ROW_KPIS) <= set(wf.loc[wf["basis"] == b, "kpi"].astype(str))
                                    for b in COST_BASES):  # stored by an older `kpi compute`
        return None
    ue = wh.read("cost_unit_rows")
    ue = ue[(ue["period_kind"] == "month") & ue["period"].astype(str).isin(wanted)]
    return (wf.drop(columns=["period_kind"]).reset_index(drop=True),
            ue.drop(columns=["period_kind"]).reset_index(drop=True))


def run_compute(warehouse: Any = None, as_of: dt.date | None = None) -> dict:
    """Compute kpi_values, kpi_status and alerts and publish them in one snapshot."""
    t0 = time.perf_counter()
    wh = Warehouse.of(warehouse)
    _ = wh.current  # raises WarehouseError with a hint when there is no warehouse
    # overheads first, in their own snapshot: the engine's net_profit reads the allocations from the
    # live snapshot. A crash between the two leaves a consistent (if partly refreshed) warehouse.
    write_overhead_allocations(wh)
    lo, hi = data_range(wh)
    values = kpi_values(wh, start=lo, end=min(hi, as_of) if (hi and as_of) else hi)
    cost_wf, cost_ue = cost_rows(wh, start=lo, end=min(hi, as_of) if (hi and as_of) else hi)
    tg = targets_mod.all_targets(wh)
    status = targets_mod.evaluate(as_of=as_of, warehouse=wh, targets=tg)
    al = alerts_mod.evaluate_alerts(values, status)
    warn = list(status.attrs.get("warnings", [])) or list(tg.attrs.get("warnings", []))
    status = status.astype({"adjusted": bool, "complete": bool})
    status.attrs["warnings"] = warn
    with wh.transaction(COMPUTE_NOTE) as w:
        w.write("kpi_values", values, partition_by=())
        w.write("cost_waterfall_rows", cost_wf, partition_by=())
        w.write("cost_unit_rows", cost_ue, partition_by=())
        tcols = targets_mod.TARGET_COLUMNS
        w.write("kpi_targets", tg[tcols].astype({"entity_id": str}) if len(tg) else
                pd.DataFrame({c: pd.Series(dtype="float64" if c == "value" else "string") for c in tcols}),
                partition_by=())
        w.write("kpi_status", status if len(status) else pd.DataFrame({c: pd.Series(dtype="string")
                                                                        for c in targets_mod.STATUS_COLUMNS}),
                partition_by=())
        w.write("alerts", al if len(al) else pd.DataFrame({c: pd.Series(dtype="string") for c in alerts_mod.ALERT_COLUMNS}),
                partition_by=())
    months = sorted(values.loc[values["period_kind"] == "month", "period"].unique())
    return {
        "snapshot": wh.current_id(), "kpi_values": len(values), "kpi_status": len(status),
        "alerts": len(al), "open_alerts": int((al["state"] == "open").sum()) if len(al) else 0,
        "periods": [months[0], months[-1]] if months else [], "seconds": round(time.perf_counter() - t0, 2),
        "warnings": list(status.attrs.get("warnings", [])),
    }


def latest_status(warehouse: Any = None, entity_kind: str = "company", entity_id: str | None = None,
                  period: str | None = None, kpis: list[str] | None = None, lang: str = "zh") -> pd.DataFrame:
    """One row per KPI for an entity and month (default: the latest month): value, target, status, names."""
    wh = Warehouse.of(warehouse)
    catalog = load_catalog()
    vals = wh.read("kpi_values") if wh.has("kpi_values") else pd.DataFrame(columns=VALUE_COLUMNS)
    vals = vals[(vals["entity_kind"] == entity_kind) & (vals["entity_id"] == (entity_id or ""))]
    if period is None:
        months = vals.loc[vals["period_kind"] == "month", "period"]
        period = str(months.max()) if len(months) else None
    if period is None:
        return pd.DataFrame(columns=["kpi", "name", "value", "target", "achievement", "status", "unit", "complete",
                                     "missing"])
    vals = vals[vals["period"] == period]
    st = wh.read("kpi_status") if wh.has("kpi_status") else pd.DataFrame(columns=targets_mod.STATUS_COLUMNS)
    st = st[(st["entity_kind"] == entity_kind) & (st["entity_id"].fillna("") == (entity_id or "")) & (st["period"] == period)]
    wanted = kpis or list(dict.fromkeys(HEADLINE + [k for k in st["kpi"] if k in catalog.kpis]))
    rows = []
    for k in wanted:
        v = vals.loc[vals["kpi"] == k, "value"]
        s = st[st["kpi"] == k]
        rows.append({
            "kpi": k, "name": catalog.name(k, lang), "value": float(v.iloc[0]) if len(v) else np.nan,
            "target": float(s["target"].iloc[0]) if len(s) else np.nan,
            "achievement": float(s["pace_achievement"].iloc[0] if len(s) and pd.notna(s["pace_achievement"].iloc[0])
                                 else (s["achievement"].iloc[0] if len(s) else np.nan)),
            "status": str(s["status"].iloc[0]) if len(s) else "none", "unit": catalog.get(k).unit, "period": period,
            "complete": bool(vals.loc[vals["kpi"] == k, "complete"].iloc[0]) if len(v) and "complete" in vals else True,
            "missing": str(vals.loc[vals["kpi"] == k, "missing"].iloc[0]) if len(v) and "missing" in vals else "",
        })
    return pd.DataFrame(rows)


def status_table(period: str | None = None, entity_kind: str = "company", entity_id: str | None = None,
                 lang: str | None = None, warehouse: Any = None, kpis: list[str] | None = None) -> pd.DataFrame:
    """``latest_status`` in the workbench's language (names in ``lang``); rendering is the caller's
    (the CLI's Rich table is :func:`kpi_lib.cli_views.status_table`)."""
    return latest_status(warehouse, entity_kind, entity_id, period, kpis=kpis, lang=lang or workbench().default_language)
