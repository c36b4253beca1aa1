"""Read-only data helpers the panels share (reference tables, recent company KPIs).

Everything numeric comes from the engine (``kpi_lib.metrics``); this module only picks periods and
shapes frames for display.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import paths
from ..coverage import coverage_frame, finished_periods, open_period

TO_DATE = "to date"
_STATUS_CACHE: dict[tuple[str, str], tuple[list[str], str | None]] = {}


def stores_frame(wh: Any | None = None) -> pd.DataFrame:
    """The stores table: from the live snapshot when there is one, else data/reference/stores.csv."""
    if wh is not None and wh.has("stores"):
        df = wh.read("stores")
    else:
        f = paths.reference_dir() / "stores.csv"
        if not f.is_file():
            return pd.DataFrame(columns=["store_id", "platform", "marketplace", "currency", "launch_date", "team_id"])
        df = pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if "launch_date" in df:
        df["launch_date"] = pd.to_datetime(df["launch_date"], errors="coerce").dt.date
    return df


def reference_frame(name: str, wh: Any | None = None) -> pd.DataFrame:
    """A reference table (skus, teams, people, …) from the snapshot, else from data/reference/."""
    if wh is not None and wh.has(name):
        return wh.read(name)
    f = paths.reference_dir() / f"{name}.csv"
    if f.is_file():
        return pd.read_csv(f, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return pd.DataFrame()


def data_months(wh: Any) -> list[str]:
    """Months (YYYY-MM) with orders in the warehouse, oldest first."""
    con = wh.connect()
    try:
        rows = con.sql(
            "SELECT DISTINCT strftime(order_date, '%Y-%m') AS m FROM orders WHERE order_date IS NOT NULL ORDER BY m"
        ).fetchall()
    finally:
        con.close()
    return [str(r[0]) for r in rows]


def period_status(wh: Any, kind: str = "month") -> tuple[list[str], str | None]:
    """(finished periods oldest first, the unfinished latest period or None) by the coverage rule
    (``kpi_lib.coverage.is_finished``: every active store's data reaches the period's last day)."""
    try:
        key = (str(wh.snapshot_hash()), kind)
    except Exception:  # a warehouse without a hash is not cached
        key = None
    if key is not None and key in _STATUS_CACHE:
        done, open_ = _STATUS_CACHE[key]
        return list(done), open_
    con = wh.connect()
    try:
        cov = coverage_frame(con)
    finally:
        con.close()
    result = (finished_periods(cov, kind), open_period(cov, kind))
    if key is not None:
        _STATUS_CACHE[key] = result
    return list(result[0]), result[1]


def finished_months(wh: Any) -> list[str]:
    """Finished months (YYYY-MM) of the warehouse, oldest first."""
    return period_status(wh, "month")[0]


def period_options(wh: Any, kinds: tuple[str, ...] = ("month", "quarter")) -> tuple[list[tuple[str, str]], str | None]:
    """Picker options (newest first per kind; an unfinished period labelled "… · to date") and the default
    (the latest finished period of the first kind; never an unfinished one)."""
    opts: list[tuple[str, str]] = []
    default = None
    for kind in kinds:
        done, open_ = period_status(wh, kind)
        if open_:
            opts.append((f"{open_} · {TO_DATE}", open_))
        opts += [(p, p) for p in reversed(done)]
        if default is None and done:
            default = done[-1]
    return opts, default


def company_last_months(kpis: list[str], wh: Any, months: int = 3) -> pd.DataFrame:
    """Company KPIs for the last ``months`` finished months (one row per month; an unfinished month never shows)."""
    from .. import metrics

    ms = finished_months(wh)
    if not ms:
        return pd.DataFrame()
    sel = ms[-months:]
    start = f"{sel[0]}-01"
    end = (pd.Period(sel[-1], "M").end_time.date()).isoformat()
    df = metrics.compute(kpis, by=[], period="month", start=start, end=end, warehouse=wh)
    df = df.copy()
    df["period"] = df["period"].astype(str)
    return df
