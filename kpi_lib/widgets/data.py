"""Read-only data helpers the panels share (reference tables, recent company KPIs).

Everything numeric comes from the engine (``kpi_lib.metrics``); this module only picks periods and
shapes frames for display.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import paths


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


def company_last_months(kpis: list[str], wh: Any, months: int = 3) -> pd.DataFrame:
    """Company KPIs for the last ``months`` complete months of data (one row per month)."""
    from .. import metrics

    ms = data_months(wh)
    if not ms:
        return pd.DataFrame()
    sel = ms[-months:]
    start = f"{sel[0]}-01"
    end = (pd.Period(sel[-1], "M").end_time.date()).isoformat()
    df = metrics.compute(kpis, by=[], period="month", start=start, end=end, warehouse=wh)
    df = df.copy()
    df["period"] = df["period"].astype(str)
    return df
