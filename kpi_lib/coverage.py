"""Which data exist, per store × month × source kind: the base of every completeness rule.

A figure that needs a source a store lacks in a month (no fee export, no ads report, no traffic,
no unit costs) is incomplete for that store and month; it is never computed with zeros. This
module only *describes* the warehouse; the KPI engine and the reports read the ``coverage`` table
that ingest writes (or call :func:`build_coverage` on a connection when it is absent).

Source kinds and what makes a store × month covered:

- ``orders``    order lines dated in the month;
- ``fees``      fee rows (platform fees, from a fee report or a settlement) dated in the month;
- ``ads``       ads rows (the source-of-record ``ads`` table) dated in the month;
- ``traffic``   traffic rows (sessions) dated in the month;
- ``inventory`` inventory snapshots dated in the month;
- ``costs``     unit costs: ``share`` is the part of the month's GMV whose SKU has a unit cost
  (``rows`` counts the order lines with a cost). Covered when ``share`` ≥ :data:`COST_SHARE_OK`.

Columns: ``store_id, month ('YYYY-MM'), source, rows, first_date, last_date, share``.
``share`` is 1.0 for every source except ``costs``.

Finished periods (one rule for every widget, report and ``kpi settle``)
-----------------------------------------------------------------------
- :func:`last_complete_day`: per store, the last day with orders (``max(last_date)`` of the
  ``orders`` rows). Data of a store is complete up to and including that day.
- A store is *active* in a period when it has orders in the period or in the month before it (a store
  whose export stops mid-month therefore still counts in the next period and keeps it unfinished; a
  store that closed long ago, or opens later, does not).
- :func:`is_finished`: a period (``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``) is finished when it has active
  stores and every active store's last complete day reaches the period's last day. ``stores``
  restricts the rule to some stores (e.g. a contract's).
- :func:`finished_periods`: the finished periods of a kind, oldest first; :func:`open_period`: the
  latest period with data when it is not finished (shown only "to date").
All take the coverage frame (:func:`coverage_frame` reads the ``coverage`` table of a connection, or
builds it with :func:`build_coverage` when the table is absent).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import duckdb
import pandas as pd

from .periods import month_end, months_of, previous_month, roll_up

SOURCES: tuple[str, ...] = ("orders", "fees", "ads", "traffic", "inventory", "costs")
COLUMNS: tuple[str, ...] = ("store_id", "month", "source", "rows", "first_date", "last_date", "share")
#: share of a month's GMV that must carry a unit cost for COGS-based figures to count as complete
COST_SHARE_OK = 0.995

_DATE_COLUMNS = {"orders": "order_date", "fees": "date", "ads": "date", "traffic": "date", "inventory": "date"}


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}


def _cost_sql(con: duckdb.DuckDBPyConnection, tables: set[str]) -> str | None:
    if "orders" not in tables:
        return None
    known: list[str] = []
    if "sku_costs" in tables:
        known.append("SELECT DISTINCT CAST(sku AS VARCHAR) AS sku FROM sku_costs WHERE unit_cogs IS NOT NULL")
    if "skus" in tables and "unit_cogs" in _columns(con, "skus"):
        known.append("SELECT CAST(sku AS VARCHAR) AS sku FROM skus WHERE unit_cogs IS NOT NULL")
    known_sql = " UNION ".join(known) if known else "SELECT NULL::VARCHAR AS sku WHERE false"
    return (
        "SELECT o.store_id, strftime(CAST(o.order_date AS DATE), '%Y-%m') AS month, 'costs' AS source, "
        "count(k.sku) AS rows, min(CAST(o.order_date AS DATE)) AS first_date, "
        "max(CAST(o.order_date AS DATE)) AS last_date, "
        "CASE WHEN sum(abs(o.gross_sales_rc)) > 0 THEN "
        "sum(CASE WHEN k.sku IS NOT NULL THEN abs(o.gross_sales_rc) ELSE 0 END) / sum(abs(o.gross_sales_rc)) "
        "ELSE CASE WHEN count(*) = count(k.sku) THEN 1.0 ELSE 0.0 END END AS share "
        f"FROM orders o LEFT JOIN ({known_sql}) k ON o.sku = k.sku "
        "WHERE o.status IS DISTINCT FROM 'cancelled' GROUP BY 1, 2"
    )


def build_coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The coverage table computed from the canonical tables visible on ``con``."""
    tables = _tables(con)
    parts: list[str] = []
    for source, date_col in _DATE_COLUMNS.items():
        if source in tables and date_col in _columns(con, source):
            d = f"CAST({date_col} AS DATE)"
            parts.append(
                f"SELECT store_id, strftime({d}, '%Y-%m') AS month, '{source}' AS source, count(*) AS rows, "
                f"min({d}) AS first_date, max({d}) AS last_date, 1.0 AS share "
                f'FROM "{source}" WHERE {d} IS NOT NULL GROUP BY 1, 2'
            )
    cost = _cost_sql(con, tables)
    if cost:
        parts.append(cost)
    if not parts:
        return empty()
    sql = " UNION ALL ".join(f"({p})" for p in parts) + " ORDER BY store_id, month, source"
    df = con.execute(sql).df()
    df["rows"] = df["rows"].astype("int64")
    df["share"] = df["share"].astype("float64")
    return df[list(COLUMNS)]


def empty() -> pd.DataFrame:
    """An empty coverage frame with the contract's columns."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS})


def is_covered(df: pd.DataFrame) -> pd.Series:
    """True where a coverage row makes its store × month count as having the source."""
    ok = df["rows"].fillna(0) > 0
    cost = df["source"] == "costs"
    return ok & (~cost | (df["share"].fillna(0) >= COST_SHARE_OK))


def matrix(df: pd.DataFrame) -> pd.DataFrame:
    """Store × month rows, one boolean column per source kind (absent = False)."""
    if df.empty:
        return pd.DataFrame(columns=["store_id", "month", *SOURCES])
    d = df.assign(ok=is_covered(df))
    m = d.pivot_table(index=["store_id", "month"], columns="source", values="ok", aggfunc="max", fill_value=False)
    for s in SOURCES:
        if s not in m.columns:
            m[s] = False
    return m[list(SOURCES)].astype(bool).reset_index()


# ------------------------------------------------------------------------------- finished periods

def coverage_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The ``coverage`` table visible on ``con`` (built from the canonical tables when absent)."""
    if "coverage" in _tables(con):
        return con.execute('SELECT * FROM "coverage"').df()
    return build_coverage(con)


def _orders(cov: pd.DataFrame, stores: Iterable[str] | None) -> pd.DataFrame:
    o = cov[(cov["source"] == "orders") & (cov["rows"].fillna(0) > 0)]
    if stores is not None:
        o = o[o["store_id"].astype(str).isin([str(s) for s in stores])]
    return o


def last_complete_day(cov: pd.DataFrame, stores: Iterable[str] | None = None) -> dict[str, dt.date]:
    """Store → the last day with orders (the data's last complete day for that store)."""
    o = _orders(cov, stores)
    if o.empty:
        return {}
    last = pd.to_datetime(o["last_date"]).groupby(o["store_id"].astype(str)).max()
    return {s: d.date() for s, d in last.items()}


def active_stores(period: str, cov: pd.DataFrame, stores: Iterable[str] | None = None) -> list[str]:
    """Stores with orders in the period or in the month before it (see the module docstring)."""
    months = months_of(period)
    o = _orders(cov, stores)
    wanted = {*months, previous_month(months[0])}
    return sorted(set(o.loc[o["month"].astype(str).isin(wanted), "store_id"].astype(str)))


def is_finished(period: str, cov: pd.DataFrame, stores: Iterable[str] | None = None) -> bool:
    """True when every active store's data reaches the period's last day (False without active stores)."""
    months = months_of(period)
    active = active_stores(period, cov, stores)
    if not active:
        return False
    last = last_complete_day(cov, active)
    end = month_end(months[-1])
    return all(s in last and last[s] >= end for s in active)


def finished_periods(cov: pd.DataFrame, kind: str = "month", stores: Iterable[str] | None = None) -> list[str]:
    """The finished periods of ``kind`` (month, quarter, year) that hold orders, oldest first."""
    o = _orders(cov, stores)
    labels = sorted({roll_up(str(m), kind) for m in o["month"].astype(str)})
    return [p for p in labels if is_finished(p, cov, stores)]


def open_period(cov: pd.DataFrame, kind: str = "month", stores: Iterable[str] | None = None) -> str | None:
    """The latest period of ``kind`` with orders when it is not finished (to be shown only "to date")."""
    o = _orders(cov, stores)
    labels = sorted({roll_up(str(m), kind) for m in o["month"].astype(str)})
    if not labels or is_finished(labels[-1], cov, stores):
        return None
    return labels[-1]


__all__ = ["COLUMNS", "COST_SHARE_OK", "SOURCES", "active_stores", "build_coverage", "coverage_frame", "empty",
           "finished_periods", "is_covered", "is_finished", "last_complete_day", "matrix", "open_period"]
