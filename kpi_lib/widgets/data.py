"""Read-only data helpers the panels share (reference tables, recent company KPIs).

Everything numeric comes from the engine (``kpi_lib.metrics``); this module only picks periods and
shapes frames for display.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import metrics, paths
from ..coverage import coverage_frame, finished_periods, open_period

TO_DATE = "to date"
INCOMPLETE = "incomplete"
_STATUS_CACHE: dict[tuple[str, str], tuple[list[str], str | None, list[str]]] = {}


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


def period_status(wh: Any, kind: str = "month") -> tuple[list[str], str | None]:
    """(finished periods oldest first, the unfinished latest period or None) by the coverage rule
    (``kpi_lib.coverage.is_finished``: every active store's data reaches the period's last day)."""
    try:
        key = (str(wh.snapshot_hash()), kind)
    except Exception:  # noqa: BLE001 - a warehouse without a hash (any reason) is not cached
        key = None
    done, open_, _ = _status(wh, kind, key)
    return done, open_


def _status(wh: Any, kind: str, key: tuple[str, str] | None = None) -> tuple[list[str], str | None, list[str]]:
    """(finished, open, every period with orders) of ``kind``, cached per snapshot."""
    if key is not None and key in _STATUS_CACHE:
        done, open_, every = _STATUS_CACHE[key]
        return list(done), open_, list(every)
    con = wh.connect()
    try:
        cov = coverage_frame(con)
    finally:
        con.close()
    result = (finished_periods(cov, kind), open_period(cov, kind), _labels(cov, kind))
    if key is not None:
        _STATUS_CACHE[key] = result
    return list(result[0]), result[1], list(result[2])


def _labels(cov: pd.DataFrame, kind: str) -> list[str]:
    months = sorted(set(cov.loc[(cov["source"] == "orders") & (cov["rows"].fillna(0) > 0), "month"].astype(str)))
    if kind == "quarter":
        return sorted({f"{m[:4]}-Q{(int(m[5:7]) - 1) // 3 + 1}" for m in months})
    if kind == "year":
        return sorted({m[:4] for m in months})
    return months


def finished_months(wh: Any) -> list[str]:
    """Finished months (YYYY-MM) of the warehouse, oldest first."""
    return period_status(wh, "month")[0]


def period_options(wh: Any, kinds: tuple[str, ...] = ("month", "quarter")) -> tuple[list[tuple[str, str]], str | None]:
    """Picker options, newest first per kind: finished periods by their label, the unfinished latest one as
    "… · to date", an earlier unfinished one (a store's data ends early) as "… · incomplete"; and the
    default (the latest finished period of the first kind; never an unfinished one)."""
    opts: list[tuple[str, str]] = []
    default = None
    for kind in kinds:
        try:
            key: tuple[str, str] | None = (str(wh.snapshot_hash()), kind)
        except Exception:  # noqa: BLE001 - as above: not cached
            key = None
        done, open_, every = _status(wh, kind, key)
        for p in reversed(every):
            label = p if p in done else f"{p} · {TO_DATE}" if p == open_ else f"{p} · {INCOMPLETE}"
            opts.append((label, p))
        if default is None and done:
            default = done[-1]
    return opts, default


def company_last_months(kpis: list[str], wh: Any, months: int = 3) -> pd.DataFrame:
    """Company KPIs for the last ``months`` finished months (one row per month; an unfinished month never shows)."""

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
