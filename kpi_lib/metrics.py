"""Computing KPIs at any grain: generated DuckDB SQL over the Parquet warehouse, results as pandas.

How it works: the requested KPIs are resolved to the base measures they need (kpi_lib.formula);
measures are grouped by source table and each source is aggregated once, in its own CTE, at the
requested grain (period × dimensions); the CTEs are joined on the grain in a single generated DuckDB
statement (one scan per source table) and the formulas are evaluated over the grouped sums, so every ratio is a ratio of sums, medians
are medians of the underlying rows and distinct counts are distinct at that grain.

Org grains: fact rows are joined on their date to the assignment intervals (kpi_lib.org), so a
person who changed team mid-year counts in each team only for the days they were in it. Contracts
get the rows of the stores in their scope.

Bases: ``basis="order"`` (sales on the order date; fees and refunds carrying an order id on their
order's date) or ``basis="posted"`` (settlement / ship / own posting date; ads as invoiced).

Completeness: measures are aggregated per store inside every group (the grain plus store_id); a
KPI is then evaluated over the sums of the stores that have every coverage source it needs in every
month of the period (kpi_lib.coverage: a store × month with orders lacking e.g. ads is incomplete
for ACoS), so roll-ups are ratios of sums over complete stores, a row with no complete store is NaN
(never 0), and ``compute_long`` says ``complete``, ``missing``, ``stores_covered``, ``stores_total``.

Periods are label strings (``2026-11-07``, ``2026-W45``, ``2026-11``, ``2026-Q4``, ``2026``).

Size (≈830 lines): one SQL generator (measures → per-source CTEs → grain joins → formulas) plus the
completeness columns it must compute in the same statement; its helpers are private to that statement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from . import coverage, org
from .definitions import Catalog, load_catalog
from .errors import DefinitionError
from .formula import dependency_order, evaluate, required_measures, split_ratio
from .periods import PERIODS, months_between, period_bounds, period_kind, period_label, shift_period, to_date
from .warehouse import Warehouse

DIMENSIONS = ("platform", "marketplace", "store_id", "category", "sku", "team_id", "person_id", "contract_id")
_STEP = {"day": "1 day", "week": "7 days", "month": "1 month", "quarter": "3 months", "year": "1 year"}

def _labels(ts: pd.Series, period: str) -> pd.Series:
    ts = pd.to_datetime(ts)
    if period == "day":
        return ts.dt.strftime("%Y-%m-%d")
    if period == "week":
        iso = ts.dt.isocalendar()
        return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)
    if period == "month":
        return ts.dt.strftime("%Y-%m")
    if period == "quarter":
        return ts.dt.year.astype(str) + "-Q" + ts.dt.quarter.astype(str)
    return ts.dt.year.astype(str)


# ------------------------------------------------------------------------------------ SQL building


def _q(v: Any) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    try:
        return {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    except duckdb.Error:
        return set()


def cost_join(con: duckdb.DuckDBPyConnection, alias: str, date_expr: str,
              tables: set[str] | None = None) -> tuple[str, str, str, str]:
    """(join sql, unit_cogs, first_leg, duty_rate) for fact rows ``alias`` sold on ``date_expr``.

    The sku_costs row valid on the sale date (ASOF join), falling back to the skus master; the one
    definition of landed cost that KPIs and the cost waterfall share. A SKU without any unit cost
    gets NULL (never 0): its sales add nothing to COGS and make the store × month's ``costs``
    coverage (and so every COGS-based KPI) incomplete; ``uncosted_share`` says how much is affected.
    """
    if tables is None:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    joins, cogs, leg, duty = [], [], [], "0.0"
    if "sku_costs" in tables:
        joins.append(
            "ASOF LEFT JOIN (SELECT CAST(sku AS VARCHAR) AS sku, CAST(valid_from AS DATE) AS vf, "
            "CAST(unit_cogs AS DOUBLE) AS unit_cogs, CAST(first_leg_cost AS DOUBLE) AS first_leg_cost "
            f"FROM sku_costs) _c ON {alias}.sku = _c.sku AND {date_expr} >= _c.vf"
        )
        cogs.append("_c.unit_cogs")
        leg.append("_c.first_leg_cost")
    if "skus" in tables:
        kc = _columns(con, "skus")
        joins.append(f"LEFT JOIN skus _k ON {alias}.sku = CAST(_k.sku AS VARCHAR)")
        if "unit_cogs" in kc:
            cogs.append("CAST(_k.unit_cogs AS DOUBLE)")
        if "first_leg_cost" in kc:
            leg.append("CAST(_k.first_leg_cost AS DOUBLE)")
        if "duty_rate" in kc:
            duty = "coalesce(CAST(_k.duty_rate AS DOUBLE), 0.0)"
    c = f"coalesce({', '.join(cogs)})" if cogs else "NULL::DOUBLE"
    f = f"coalesce({', '.join(leg)})" if leg else "NULL::DOUBLE"
    return " ".join(joins), c, f, duty


class _Ctx:
    def __init__(self, con: duckdb.DuckDBPyConnection, period: str, start: dt.date, end: dt.date,
                 need_costs: bool, filter_start: dt.date | None = None, filter_end: dt.date | None = None,
                 basis: str = "order") -> None:
        self.con = con
        self.basis = basis
        self.period = period
        self.start, self.end = start, end  # range for listings and calendar days
        self.filter_start = filter_start or dt.date(1900, 1, 1)  # range of fact rows (open when not asked)
        self.filter_end = filter_end or dt.date(9999, 12, 31)
        self.tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        self.need_costs = need_costs
        self._cols: dict[str, set[str]] = {}

    def has(self, t: str) -> bool:
        return t in self.tables

    def columns(self, t: str) -> set[str]:
        """Columns of a table (cached for the statement being built)."""
        if t not in self._cols:
            self._cols[t] = _columns(self.con, t)
        return self._cols[t]

    @property
    def date_range(self) -> str:
        return f"BETWEEN DATE {_q(self.filter_start)} AND DATE {_q(self.filter_end)}"

    def cost_join(self, alias: str, date_expr: str) -> tuple[str, str, str, str]:
        """(join sql, unit_cogs expr, first_leg expr, duty expr)."""
        return cost_join(self.con, alias, date_expr, self.tables)

    def order_date_join(self, alias: str) -> tuple[str, str]:
        """(join sql, date expr): on the order basis, rows carrying an order id take their order's date."""
        own = f"CAST({alias}.date AS DATE)"
        if self.basis != "order" or "order_id" not in self.columns("fees" if alias == "f" else "refunds"):
            return "", own
        join = (f"LEFT JOIN (SELECT store_id AS _od_store, order_id AS _od_order, min(CAST(order_date AS DATE)) AS _od "
                f"FROM orders GROUP BY 1, 2) _od ON _od._od_store = {alias}.store_id AND _od._od_order = {alias}.order_id")
        return join, f"coalesce(_od._od, {own})"


def _posted_sale_date(ctx: _Ctx, cols: set[str]) -> tuple[str, str]:
    """(join sql, date expr) of an order line on the posted basis.

    Stores with Amazon settlement lines: the first posting of the line's sales principal (NULL = not
    settled yet, so not in any posted period); other stores: the ship date, else the order date.
    """
    ship = "CAST(o.ship_date AS DATE)" if "ship_date" in cols else "NULL::DATE"
    if not ctx.has("settlement_lines"):
        return "", f"coalesce({ship}, CAST(o.order_date AS DATE))"
    join = (
        "LEFT JOIN (SELECT store_id AS _p_store, order_id AS _p_order, sku AS _p_sku, "
        "min(CAST(posted_date AS DATE)) AS _p_date FROM settlement_lines "
        "WHERE category = 'sales' AND amount_type = 'ItemPrice' GROUP BY 1, 2, 3) _p "
        "ON _p._p_store = o.store_id AND _p._p_order = o.order_id AND _p._p_sku = o.sku "
        "LEFT JOIN (SELECT DISTINCT store_id AS _ps_store FROM settlement_lines) _ps ON _ps._ps_store = o.store_id"
    )
    return join, (f"CASE WHEN _ps._ps_store IS NOT NULL THEN _p._p_date "
                  f"ELSE coalesce({ship}, CAST(o.order_date AS DATE)) END")


def _base_orders(ctx: _Ctx) -> str:
    cols = ctx.columns("orders")
    odate = "CAST(o.order_date AS DATE)"
    join, cogs, leg, duty = ctx.cost_join("o", odate) if ctx.need_costs else ("", "NULL::DOUBLE", "NULL::DOUBLE", "0.0")
    if ctx.basis == "posted":
        pjoin, date = _posted_sale_date(ctx, cols)
        join = f"{join} {pjoin}"
    else:
        date = odate
    ship = "CAST(o.ship_date AS DATE)" if "ship_date" in cols else "NULL::DATE"
    prom = "CAST(o.promised_ship_date AS DATE)" if "promised_ship_date" in cols else "NULL::DATE"
    disc = "CAST(o.discounts_rc AS DOUBLE)" if "discounts_rc" in cols else "0.0"
    return (
        f"SELECT o.store_id, o.sku, {date} AS _date, o.store_id || '|' || o.order_id AS order_key, "
        f"o.store_id || '|' || o.sku AS store_sku, o.status, o.quantity, o.gross_sales_rc, {disc} AS discounts_rc, "
        f"{ship} AS ship_date, {prom} AS promised_ship_date, "
        f"{cogs} AS unit_cogs, {leg} AS first_leg_cost, {duty} AS duty_rate "
        f"FROM orders o {join} WHERE {date} {ctx.date_range}"
    )


def _simple(table: str, date_col: str, cols: Iterable[str], sku: bool = True) -> Any:
    def build(ctx: _Ctx) -> str:
        have = ctx.columns(table)
        sku_col = "NULLIF(sku, '') AS sku" if sku and "sku" in have else "NULL::VARCHAR AS sku"
        sel = [f"CAST({date_col} AS DATE) AS _date", "store_id", sku_col]
        for c in cols:
            sel.append(c if c in have else f"NULL AS {c}")
        return f"SELECT {', '.join(sel)} FROM \"{table}\" WHERE CAST({date_col} AS DATE) {ctx.date_range}"

    return build


def _base_refunds(ctx: _Ctx) -> str:
    have = ctx.columns("refunds")
    oid = "coalesce(r.order_id, '')" if "order_id" in have else "''"
    sku = "NULLIF(r.sku, '')" if "sku" in have else "NULL::VARCHAR"
    join, date = ctx.order_date_join("r")
    return (
        f"SELECT {date} AS _date, r.store_id, {sku} AS sku, r.amount_rc, r.quantity, "
        f"r.store_id || '|' || {oid} || '|' || coalesce({sku}, '') || '|' || CAST(CAST(r.date AS DATE) AS VARCHAR) "
        f"AS refund_key FROM refunds r {join} WHERE {date} {ctx.date_range}"
    )


def _base_fees(ctx: _Ctx) -> str:
    have = ctx.columns("fees")
    sku = "NULLIF(f.sku, '')" if "sku" in have else "NULL::VARCHAR"
    join, date = ctx.order_date_join("f")
    return (f"SELECT {date} AS _date, f.store_id, {sku} AS sku, f.fee_type, f.amount_rc "
            f"FROM fees f {join} WHERE {date} {ctx.date_range}")


def _base_ads(ctx: _Ctx) -> str:
    """Ads rows; on the posted basis, stores invoiced for ads (fees of type advertising) take their
    spend from those fee rows (by fee date) instead of the ads reports, never both."""
    have = ctx.columns("ads")
    cols = ["spend_rc", "ad_sales_rc", "clicks", "impressions", "ad_orders"]
    sku = "NULLIF(sku, '')" if "sku" in have else "NULL::VARCHAR"
    sel = ", ".join(c if c in have else f"NULL AS {c}" for c in cols)
    ads = f"SELECT CAST(date AS DATE) AS _date, store_id, {sku} AS sku, {sel} FROM ads WHERE CAST(date AS DATE) {ctx.date_range}"
    if ctx.basis != "posted" or not ctx.has("fees"):
        return ads
    inv = "(SELECT DISTINCT store_id FROM fees WHERE fee_type = 'advertising')"
    fsku = "NULLIF(sku, '')" if "sku" in ctx.columns("fees") else "NULL::VARCHAR"
    return (
        f"SELECT _date, store_id, sku, CASE WHEN store_id IN {inv} THEN 0.0 ELSE spend_rc END AS spend_rc, "
        f"ad_sales_rc, clicks, impressions, ad_orders FROM ({ads}) "
        f"UNION ALL SELECT CAST(date AS DATE), store_id, {fsku}, amount_rc, NULL, NULL, NULL, NULL FROM fees "
        f"WHERE fee_type = 'advertising' AND CAST(date AS DATE) {ctx.date_range}"
    )


def _base_inventory(ctx: _Ctx) -> str:
    have = ctx.columns("inventory")
    date = "CAST(i.date AS DATE)"
    join, cogs, _, _ = ctx.cost_join("i", date) if ctx.need_costs else ("", "0.0", "0.0", "0.0")
    ages = ", ".join(f"i.{c}" if c in have else f"NULL AS {c}" for c in ("age_181_365", "age_365_plus"))
    unit = {"day": "day", "week": "week", "month": "month", "quarter": "quarter", "year": "year"}[ctx.period]
    return (
        f"SELECT i.store_id, i.sku, {date} AS _date, i.sellable, {ages}, {cogs} AS unit_cogs, "
        f"{date} = max({date}) OVER (PARTITION BY i.store_id, i.sku, date_trunc('{unit}', {date})) AS is_last "
        f"FROM inventory i {join} WHERE {date} {ctx.date_range}"
    )


def _base_tickets(ctx: _Ctx) -> str:
    return (
        "SELECT store_id, NULL::VARCHAR AS sku, CAST(CAST(opened_at AS TIMESTAMP) AS DATE) AS _date, kind, "
        "date_diff('microsecond', CAST(opened_at AS TIMESTAMP), CAST(first_response_at AS TIMESTAMP)) / 3600e6 AS response_hours, "
        "date_diff('microsecond', CAST(opened_at AS TIMESTAMP), CAST(resolved_at AS TIMESTAMP)) / 3600e6 AS resolution_hours "
        f"FROM tickets WHERE CAST(CAST(opened_at AS TIMESTAMP) AS DATE) {ctx.date_range}"
    )


def _base_overheads(ctx: _Ctx) -> str:
    """Monthly allocations spread evenly over the days of their month (so ranges and org intervals
    take their share by days, like every other fact)."""
    d = ("coalesce(TRY_CAST(CAST(month AS VARCHAR) || '-01' AS DATE), TRY_CAST(CAST(month AS VARCHAR)[:7] || '-01' AS DATE))")
    return (
        "SELECT store_id, NULL::VARCHAR AS sku, CAST(t.day AS DATE) AS _date, amount_rc / _n AS amount_rc FROM ("
        f"SELECT store_id, {d} AS _m, CAST(amount_rc AS DOUBLE) AS amount_rc, "
        f"date_diff('day', {d}, CAST({d} + INTERVAL 1 MONTH AS DATE)) AS _n FROM overhead_allocations), "
        "unnest(generate_series(CAST(_m AS TIMESTAMP), CAST(_m + INTERVAL 1 MONTH - INTERVAL 1 DAY AS TIMESTAMP), "
        f"INTERVAL 1 DAY)) AS t(day) WHERE CAST(t.day AS DATE) {ctx.date_range}"
    )


def _base_listings(ctx: _Ctx, daily: bool) -> str:
    unit = "day" if daily else ctx.period
    step = _STEP[unit]
    s, e = _q(ctx.start), _q(ctx.end)
    lo = f"greatest(CAST(listed_on AS DATE), DATE {s})"
    hi = f"least(coalesce(CAST(delisted_on AS DATE), DATE {e}), DATE {e})"
    return (
        f"SELECT store_id, sku, store_id || '|' || sku AS store_sku, CAST(t.p AS DATE) AS _date FROM listings, "
        f"unnest(generate_series(CAST(date_trunc('{unit}', {lo}) AS TIMESTAMP), "
        f"CAST(date_trunc('{unit}', {hi}) AS TIMESTAMP), INTERVAL '{step}')) AS t(p) WHERE {lo} <= {hi}"
    )


SOURCES: dict[str, Any] = {
    "orders": _base_orders,
    "refunds": _base_refunds,
    "fees": _base_fees,
    "ads": _base_ads,
    "traffic": _simple("traffic", "date", ["sessions", "page_views"]),
    "inventory": _base_inventory,
    "tickets": _base_tickets,
    "activities": _simple("activities", "date", ["kind"]),
    "overheads": _base_overheads,
    "listings": _base_listings,
}
_SOURCE_TABLE = {"overheads": "overhead_allocations"}


def _org_setup(con: duckdb.DuckDBPyConnection, wh: Warehouse, dims: set[str]) -> str | None:
    """Register the org interval table; returns its kind ("person" / "team") or None."""
    if "person_id" in dims:
        a = org.assignments(wh)
        kind = "person"
    elif "team_id" in dims:
        a = org.team_store_intervals(wh)
        a["person_id"] = None
        kind = "team"
    else:
        return None
    a = a[["person_id", "team_id", "store_id", "valid_from", "valid_to"]].copy()
    a["valid_to"] = a["valid_to"].fillna(org.OPEN_END)
    a["person_id"] = a["person_id"].astype("string")
    a["team_id"] = a["team_id"].astype("string")
    a["store_id"] = a["store_id"].astype("string")
    con.register("_org_df", a)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _org AS SELECT CAST(person_id AS VARCHAR) AS _o_person, "
        "CAST(team_id AS VARCHAR) AS _o_team, CAST(store_id AS VARCHAR) AS _o_store, "
        "CAST(valid_from AS DATE) AS _o_from, CAST(valid_to AS DATE) AS _o_to FROM _org_df"
    )
    return kind


def _contract_setup(con: duckdb.DuckDBPyConnection) -> None:
    cs = org.contract_stores().astype("string")
    con.register("_contracts_df", cs)
    con.execute("CREATE OR REPLACE TEMP TABLE _contracts AS SELECT CAST(contract_id AS VARCHAR) AS _ct_id, "
                "CAST(store_id AS VARCHAR) AS _ct_store FROM _contracts_df")


def _source_sql(ctx: _Ctx, source: str, measures: list[str], catalog: Catalog, by: list[str],
                filters: dict[str, list[str]], org_kind: str | None, use_contracts: bool,
                exclude: list[tuple[str | None, dt.date, dt.date]] | None = None, light: bool = False) -> str:
    if light and source in ("inventory", "orders"):  # only dates and keys, no cost joins or windows
        builder = _simple(source, "order_date" if source == "orders" else "date", [])
    else:
        builder = SOURCES[source]
    base = builder(ctx, org_kind is not None) if source == "listings" else builder(ctx)
    dims = list(dict.fromkeys(list(by) + list(filters)))
    expr = {
        "store_id": "b.store_id", "sku": "b.sku", "platform": "_s._s_platform", "marketplace": "_s._s_marketplace",
        "category": "_sk._sk_category", "team_id": "_o._o_team", "person_id": "_o._o_person",
        "contract_id": "_ct._ct_id",
    }
    joins = []
    if {"platform", "marketplace"} & set(dims):
        joins.append("LEFT JOIN (SELECT store_id AS _s_store, platform AS _s_platform, marketplace AS _s_marketplace "
                     "FROM stores) _s ON _s._s_store = b.store_id" if ctx.has("stores")
                     else "LEFT JOIN (SELECT NULL::VARCHAR _s_store, NULL::VARCHAR _s_platform, "
                     "NULL::VARCHAR _s_marketplace) _s ON false")
    if "category" in dims:
        joins.append("LEFT JOIN (SELECT sku AS _sk_sku, category AS _sk_category FROM skus) _sk ON _sk._sk_sku = b.sku"
                     if ctx.has("skus")
                     else "LEFT JOIN (SELECT NULL::VARCHAR _sk_sku, NULL::VARCHAR _sk_category) _sk ON false")
    if org_kind:
        joins.append("JOIN _org _o ON _o._o_store = b.store_id AND b._date BETWEEN _o._o_from AND _o._o_to")
    if use_contracts:
        joins.append("JOIN _contracts _ct ON _ct._ct_store = b.store_id")
    where = []
    for d, vals in filters.items():
        where.append(f"{expr[d]} IN ({', '.join(_q(v) for v in vals)})")
    for store, d0, d1 in exclude or []:
        cond = f"b._date BETWEEN DATE {_q(d0)} AND DATE {_q(d1)}"
        where.append(f"NOT ({cond}{f' AND b.store_id = {_q(store)}' if store else ''})")
    unit = ctx.period
    sel = [f"date_trunc('{unit}', b._date) AS period"] + [f"{expr[d]} AS {d}" for d in by]
    sel += [f"{catalog.measures[m].sql} AS \"{m}\"" for m in measures]
    sql = f"SELECT {', '.join(sel)} FROM ({base}) b {' '.join(joins)}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " GROUP BY ALL"


def _combine(parts: list[tuple[str, list[str]]], by: list[str]) -> str:
    """One statement: each source aggregated in its own CTE, joined on the grain (nulls match nulls)."""
    keys = ["period", *by]
    ctes = [f"_s{i} AS ({sql})" for i, (sql, _) in enumerate(parts)]
    cols = ", ".join(f'"{k}"' for k in keys)
    union = " UNION ".join(f"SELECT {cols} FROM _s{i}" for i in range(len(parts)))
    sel = [f'_k."{k}"' for k in keys]
    joins = []
    for i, (_, ms) in enumerate(parts):
        sel += [f'_s{i}."{m}"' for m in ms]
        cond = " AND ".join(f'_k."{k}" IS NOT DISTINCT FROM _s{i}."{k}"' for k in keys)
        joins.append(f"LEFT JOIN _s{i} ON {cond}")
    return (f"WITH {', '.join(ctes)}, _k AS ({union}) SELECT {', '.join(sel)} FROM _k " + " ".join(joins))


def _data_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date]:
    lo, hi = con.execute("SELECT min(CAST(order_date AS DATE)), max(CAST(order_date AS DATE)) FROM orders").fetchone()
    if lo is None:
        today = dt.date.today()
        return today.replace(day=1), today
    return lo, hi


def _norm_filters(filters: dict[str, Any] | None) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in (filters or {}).items():
        if k not in DIMENSIONS:
            raise DefinitionError(f"unknown filter {k!r}; filters take {', '.join(DIMENSIONS)}")
        out[k] = [str(x) for x in (v if isinstance(v, (list, tuple, set)) else [v])]
    return out



BASES = ("order", "posted")
_COST_MEASURES = {"cogs_rc", "first_leg_rc", "duties_rc", "inventory_value_days_rc", "uncosted_gmv_rc"}
_COVERAGE_CACHE: dict[tuple[str, str | None], pd.DataFrame] = {}


def coverage_matrix(warehouse: Any = None, con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """store_id, month, one bool column per coverage source (kpi_lib.coverage), for the live snapshot.

    Reads the warehouse table ``coverage`` when ingest wrote it, else builds it from the canonical
    tables (cached per snapshot).
    """
    wh = Warehouse.of(warehouse)
    key = (str(wh.path), wh.current_id())
    if key in _COVERAGE_CACHE:
        return _COVERAGE_CACHE[key]
    own = con is None
    con = con or wh.connect()
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        cov = con.execute("SELECT * FROM coverage").df() if "coverage" in tables else coverage.build_coverage(con)
    finally:
        if own:
            con.close()
    if len(cov):
        cov = cov.assign(store_id=cov["store_id"].astype(str), month=cov["month"].astype(str).str[:7])
    m = coverage.matrix(cov)
    if len(_COVERAGE_CACHE) > 16:
        _COVERAGE_CACHE.clear()
    _COVERAGE_CACHE[key] = m
    return m


def _period_months(labels: Iterable[str], lo: dt.date | None, hi: dt.date | None) -> pd.DataFrame:
    """period, month pairs: the months each period label overlaps (clipped to [lo, hi])."""
    rows = []
    for lbl in labels:
        s, e = period_bounds(lbl)
        s, e = max(s, lo) if lo else s, min(e, hi) if hi else e
        if s > e:
            continue
        rows.extend((lbl, m) for m in months_between(s, e))
    return pd.DataFrame(rows, columns=["period", "month"])


def _missing_flags(split: pd.DataFrame, cov: pd.DataFrame, lo: dt.date | None, hi: dt.date | None,
                   snaps: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each split row (store × period): one bool column per source, True when the store had
    orders in a month of the period but lacked that source (the store is incomplete for it).

    ``snaps`` (periods shorter than a month, :func:`_snapshot_periods`): the store × period pairs with an
    inventory snapshot of their own. Coverage is kept per month, so without it a week with no snapshot
    of a month that has one would read an ending stock of 0; with it, such a week is incomplete for
    inventory."""
    cols = [f"_miss_{s}" for s in coverage.SOURCES]
    out = pd.DataFrame(False, index=split.index, columns=cols)
    if cov.empty or not len(split):
        return out
    active = cov[cov["orders"]].copy()
    if active.empty:
        return out
    for s in coverage.SOURCES:
        active[f"_miss_{s}"] = ~active[s] if s != "orders" else False
    pm = _period_months(split["period"].dropna().unique(), lo, hi)
    flags = pm.merge(active[["store_id", "month", *cols]], on="month").groupby(["store_id", "period"])[cols].max()
    flags = flags.reset_index()
    if snaps is not None:  # an active store × period without a snapshot of its own lacks inventory
        have = flags.merge(snaps.assign(_snap=True), on=["store_id", "period"], how="left")["_snap"]
        flags["_miss_inventory"] = flags["_miss_inventory"] | have.isna().to_numpy()
    keys = split[["store_id", "period"]].astype({"store_id": "object"})
    m = keys.merge(flags, on=["store_id", "period"], how="left")
    out[cols] = m[cols].astype("boolean").fillna(False).astype(bool).values
    return out


def _snapshot_periods(ctx: _Ctx, sources_of: dict[str, tuple[str, ...]]) -> pd.DataFrame | None:
    """store_id, period: the days or weeks with an inventory snapshot (None for months and longer, whose
    coverage is the month's, or when no KPI asked reads inventory)."""
    if ctx.period not in ("day", "week") or not any("inventory" in s for s in sources_of.values()):
        return None  # (an inventory table never loaded is an empty view: the query finds no snapshot)
    df = ctx.con.execute(
        f"SELECT DISTINCT CAST(store_id AS VARCHAR) AS store_id, date_trunc('{ctx.period}', CAST(date AS DATE)) AS p "
        f"FROM inventory WHERE CAST(date AS DATE) {ctx.date_range}").df()
    labels = _labels(df["p"], ctx.period) if len(df) else pd.Series(dtype="object")
    return pd.DataFrame({"store_id": df["store_id"].astype("object"), "period": labels}).drop_duplicates()


class _Result:
    """Evaluated KPIs on the key frame plus, per KPI, numerator/denominator and completeness."""

    def __init__(self, keys: pd.DataFrame, kpi_list: list[str]) -> None:
        self.keys = keys
        self.kpis = kpi_list
        self.values: dict[str, pd.Series] = {}
        self.parts: dict[str, tuple[pd.Series, pd.Series]] = {}
        self.complete: dict[str, pd.Series] = {}
        self.missing: dict[str, pd.Series] = {}
        self.covered: dict[str, pd.Series] = {}
        self.total: dict[str, pd.Series] = {}


def _prepare(kpis: Any, by: list[str] | None, period: str, basis: str, complete_for: str | None,
             catalog: Catalog | None) -> tuple[Catalog, list[str], list[str], set[str], dict[str, tuple[str, ...]]]:
    """Checked arguments: (catalog, kpi list, by, measures, coverage sources per KPI)."""
    catalog = catalog or load_catalog()
    if kpis is None:
        kpi_list = catalog.ids()
    elif isinstance(kpis, str):
        kpi_list = [kpis]
    else:
        kpi_list = list(dict.fromkeys(kpis))
    for k in kpi_list:
        catalog.get(k)
    by = list(by or [])
    for d in by:
        if d not in DIMENSIONS:
            raise DefinitionError(f"unknown dimension {d!r} in by; use any of {', '.join(DIMENSIONS)}")
    if len(set(by)) != len(by):
        raise DefinitionError(f"duplicate dimension in by={by}")
    if period not in PERIODS:
        raise DefinitionError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")
    if basis not in BASES:
        raise DefinitionError(f"unknown basis {basis!r}; use 'order' (order date) or 'posted' (settlement date)")
    if complete_for:
        catalog.get(complete_for)
    measures = required_measures(catalog, kpi_list)
    sources_of = {k: catalog.sources(complete_for or k) for k in kpi_list}
    return catalog, kpi_list, by, measures, sources_of


def _fetch(ctx: _Ctx, catalog: Catalog, measures: set[str], sources_of: dict[str, tuple[str, ...]],
           split_by: list[str], grain_bys: list[list[str]], flt: dict[str, list[str]], org_kind: str | None,
           use_contracts: bool, excl: list[tuple[str | None, dt.date, dt.date]]
           ) -> tuple[pd.DataFrame, dict[tuple[str, ...], pd.DataFrame | None], set[str]]:
    """Run the SQL: store-additive measures at ``split_by`` (the grain plus store_id) in one statement,
    and the other measures (medians, snapshot-date counts) at each grain of ``grain_bys``."""
    split_parts: list[tuple[str, list[str]]] = []
    grain_src: list[tuple[str, list[str]]] = []
    by_source: dict[tuple[str, bool], list[str]] = {}
    for m in sorted(measures):
        meas = catalog.measures[m]
        if meas.table != "calendar":
            by_source.setdefault((meas.table, meas.store_additive), []).append(m)
    if any(sources_of.values()) and ("orders", True) not in by_source:
        by_source[("orders", True)] = ["order_lines"]  # every active store shows up in its groups
        measures = measures | {"order_lines"}
    for (src, additive), ms in by_source.items():
        if not ctx.has(_SOURCE_TABLE.get(src, src)):
            continue
        if additive:
            split_parts.append((_source_sql(ctx, src, ms, catalog, split_by, flt, org_kind,
                                            use_contracts and "contract_id" in set(split_by) | set(flt), excl,
                                            light=ms == ["order_lines"]), ms))
        else:
            grain_src.append((src, ms))
    con = ctx.con
    split = con.execute(_combine(split_parts, split_by)).df() if split_parts else pd.DataFrame(
        columns=["period", *split_by])
    grains: dict[tuple[str, ...], pd.DataFrame | None] = {}
    for g in grain_bys:
        parts = [(_source_sql(ctx, src, ms, catalog, g, flt, org_kind,
                              use_contracts and "contract_id" in set(g) | set(flt), excl,
                              light=all(catalog.measures[m].kind != "median" for m in ms)), ms)
                 for src, ms in grain_src]
        grains[tuple(g)] = con.execute(_combine(parts, g)).df() if parts else None
    return split, grains, measures


def _compute(kpis: Any, by: list[str] | None, period: str, start: Any, end: Any, filters: Any,
             warehouse: Any, catalog: Catalog | None = None, parts: bool = False,
             exclude: list[tuple[str | None, Any, Any]] | None = None, basis: str = "order",
             complete_for: str | None = None) -> _Result:
    catalog, kpi_list, by, measures, sources_of = _prepare(kpis, by, period, basis, complete_for, catalog)
    flt = _norm_filters(filters)
    wh = Warehouse.of(warehouse)
    split_by = by if "store_id" in by else [*by, "store_id"]
    con = wh.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        lo, hi = _data_range(con)
        fs, fe = to_date(start, False), to_date(end, True)
        s, e = fs or lo, fe or hi
        ctx = _Ctx(con, period, s, e, need_costs=bool(measures & _COST_MEASURES), filter_start=fs, filter_end=fe,
                   basis=basis)
        dims = set(by) | set(flt)
        org_kind = _org_setup(con, wh, dims)
        use_contracts = "contract_id" in dims
        if use_contracts:
            _contract_setup(con)
        excl = [(st, pd.Timestamp(a).date(), pd.Timestamp(b).date()) for st, a, b in (exclude or [])]
        split, grains, measures = _fetch(ctx, catalog, measures, sources_of, split_by, [by], flt, org_kind,
                                         use_contracts, excl)
        cov = coverage_matrix(wh, con) if any(sources_of.values()) else pd.DataFrame()
        snaps = _snapshot_periods(ctx, sources_of)
    finally:
        con.close()
    return _evaluate(split, grains[tuple(by)], by, period, catalog, kpi_list, measures, sources_of, cov,
                     (fs, fe, s, e), parts, snaps)


def _evaluate(split: pd.DataFrame, grain: pd.DataFrame | None, by: list[str], period: str, catalog: Catalog,
              kpi_list: list[str], measures: set[str], sources_of: dict[str, tuple[str, ...]], cov: pd.DataFrame,
              rng: tuple[Any, Any, dt.date, dt.date], parts: bool, snaps: pd.DataFrame | None = None) -> _Result:
    """Formulas over the sums of the covered stores' rows, per set of sources (see module docstring);
    ``snaps``: :func:`_snapshot_periods`."""
    fs, fe, s, e = rng
    keys = ["period", *by]
    split = split.copy()
    grain = grain.copy() if grain is not None else None
    for frame in (split, grain):
        if frame is None:
            continue
        frame["period"] = _labels(pd.to_datetime(frame["period"]), period) if len(frame) else pd.Series(dtype="object")
    allkeys = pd.concat([split[keys]] + ([grain[keys]] if grain is not None else []), ignore_index=True)
    K = allkeys.drop_duplicates().sort_values([*by, "period"], na_position="last", kind="mergesort")
    K = K.reset_index(drop=True)
    K["_key"] = np.arange(len(K))
    split = split.merge(K, on=keys, how="left") if len(split) else split.assign(_key=pd.Series(dtype="int64"))
    # a fixed row order, so the float sums over stores below do not depend on DuckDB's output order
    split = split.sort_values(["_key", "store_id"], na_position="last", kind="mergesort", ignore_index=True)
    n = len(K)
    idx = pd.RangeIndex(n)
    add_ms = [m for m in measures if catalog.measures[m].store_additive and catalog.measures[m].table != "calendar"]
    for m in add_ms:
        split[m] = pd.to_numeric(split[m], errors="coerce").astype("float64").fillna(0.0) if m in split.columns \
            else 0.0
    env0: dict[str, Any] = {}
    if grain is not None and len(grain):
        grain = grain.merge(K, on=keys, how="left").set_index("_key")
    for m in measures:
        meas = catalog.measures[m]
        if meas.store_additive or meas.table == "calendar":
            continue
        col = grain[m] if grain is not None and len(grain) and m in grain.columns else pd.Series(dtype="float64")
        v = pd.to_numeric(col, errors="coerce").astype("float64").reindex(idx)
        env0[m] = v if meas.kind == "median" else v.fillna(0.0)
    if "calendar_days" in measures:
        if n:
            pstart = pd.Series([pd.Timestamp(period_bounds(lbl)[0]) for lbl in K["period"]], index=idx)
            pend = pd.Series([pd.Timestamp(period_bounds(lbl)[1]) for lbl in K["period"]], index=idx)
            days = (pend.clip(upper=pd.Timestamp(e)) - pstart.clip(lower=pd.Timestamp(s))).dt.days + 1
            env0["calendar_days"] = days.clip(lower=0).astype("float64")
        else:
            env0["calendar_days"] = pd.Series(dtype="float64")
    miss = _missing_flags(split[["store_id", "period"]], cov, fs, fe, snaps) if len(split) else pd.DataFrame(
        columns=[f"_miss_{x}" for x in coverage.SOURCES])
    has_store = split["store_id"].notna() if len(split) else pd.Series(dtype=bool)
    total = split[has_store].groupby("_key")["store_id"].nunique().reindex(idx, fill_value=0) if len(split) \
        else pd.Series(0, index=idx)
    res = _Result(K[[*by, "period"]], kpi_list)
    envs: dict[bytes, tuple[dict[str, Any], pd.Series]] = {}
    groups: dict[tuple[str, ...], list[str]] = {}
    for k in kpi_list:
        groups.setdefault(sources_of[k], []).append(k)
    for srcs, ks in groups.items():
        if srcs and len(split):
            mcols = [f"_miss_{x}" for x in srcs]
            bad = miss[mcols].any(axis=1).values
        else:
            mcols, bad = [], np.zeros(len(split), dtype=bool)
        ok = ~bad
        ckey = ok.tobytes()
        if ckey not in envs:  # one aggregation and one evaluation per set of covered rows
            if len(split):
                # a key with no store-additive row at all (only a median's or a snapshot count's rows)
                # sums to 0, like a row whose source had nothing: the same figure whichever KPIs are
                # asked together (keys with rows but no covered store are made unknown below)
                sums = split.loc[ok].groupby("_key")[add_ms].sum().reindex(idx).fillna(0.0)
                cov_n = split.loc[ok & has_store.values].groupby("_key")["store_id"].nunique().reindex(idx, fill_value=0)
            else:
                sums = pd.DataFrame(index=idx, columns=add_ms, dtype="float64")
                cov_n = pd.Series(0, index=idx)
            env_new: dict[str, Any] = dict(env0)
            for m in add_ms:
                env_new[m] = sums[m].astype("float64")
            envs[ckey] = (env_new, cov_n)
        env, covered = envs[ckey]
        if mcols and bad.any():
            mflags = miss.loc[bad, mcols].groupby(split.loc[bad, "_key"].values).max().reindex(idx, fill_value=False)
            missing = pd.Series([", ".join(x for x, f in zip(srcs, row) if f) for row in mflags.itertuples(index=False)],
                                index=idx, dtype="object")
        else:
            missing = pd.Series("", index=idx, dtype="object")
        for k in dependency_order(catalog, ks):
            if k not in env:
                f = catalog.kpis[k].formula
                env[k] = pd.Series(evaluate(f, env, k), index=idx, dtype="float64") if n else pd.Series(dtype="float64")
        # no covered store (and rows to cover): the figure is unknown, never 0
        unknown = (covered == 0) & (total > 0) if srcs else pd.Series(False, index=idx)
        for k in ks:
            v = env[k].where(~unknown)
            res.values[k] = v
            res.complete[k] = (covered == total) & ~unknown if srcs else pd.Series(True, index=idx)
            res.missing[k] = missing
            res.covered[k] = covered.astype("int64")
            res.total[k] = total.astype("int64")
            if parts:
                sp = split_ratio(catalog.kpis[k].formula, k)
                if sp:
                    res.parts[k] = (pd.Series(evaluate(sp[0], env, k), index=idx, dtype="float64").where(~unknown),
                                    pd.Series(evaluate(sp[1], env, k), index=idx, dtype="float64").where(~unknown))
    return res


def compute(kpis: str | list[str] | None, by: list[str] | None = None, period: str = "month",
            start: Any = None, end: Any = None, filters: dict[str, Any] | None = None,
            warehouse: Warehouse | str | Path | None = None,
            exclude: list[tuple[str | None, Any, Any]] | None = None, basis: str = "order",
            complete_for: str | None = None) -> pd.DataFrame:
    """KPIs at the grain ``by`` × ``period``: columns ``*by, period, <one per KPI>``.

    ``kpis=None`` computes every catalog KPI. ``start``/``end`` are inclusive dates or period labels.
    ``filters`` maps a dimension to a value or list of values. ``exclude`` drops fact rows of
    ``(store_id or None for every store, first day, last day)`` — excluded days of adjustments.
    ``basis``: ``"order"`` (order date; order-linked fees and refunds on their order's date) or
    ``"posted"`` (settlement / posting date). Values are over the stores that have every source the
    KPI needs in the period (NaN when none has); ``complete_for=kpi`` uses that KPI's sources for every
    KPI (one store set, e.g. the waterfall's). Completeness flags: :func:`compute_long`.
    """
    r = _compute(kpis, by, period, start, end, filters, warehouse, exclude=exclude, basis=basis,
                 complete_for=complete_for)
    out = r.keys.copy()
    for k in r.kpis:
        out[k] = r.values[k].values
    return out


LONG_COLUMNS = ["period", "kpi", "value", "numerator", "denominator", "complete", "missing", "stores_covered",
                "stores_total"]


def _long(r: _Result, by: list[str]) -> pd.DataFrame:
    frames = []
    for k in r.kpis:
        f = r.keys.copy()
        f["kpi"] = k
        f["value"] = r.values[k].astype("float64").values
        if k in r.parts:
            f["numerator"] = r.parts[k][0].values
            f["denominator"] = r.parts[k][1].values
        else:
            f["numerator"] = f["value"]
            f["denominator"] = np.nan
        f["complete"] = r.complete[k].astype(bool).values
        f["missing"] = r.missing[k].values
        f["stores_covered"] = r.covered[k].values
        f["stores_total"] = r.total[k].values
        frames.append(f)
    if not frames or not len(r.keys):
        return pd.DataFrame(columns=[*by, *LONG_COLUMNS])
    return pd.concat(frames, ignore_index=True)


def compute_long(kpis: str | list[str] | None, by: list[str] | None = None, period: str = "month",
                 start: Any = None, end: Any = None, filters: dict[str, Any] | None = None,
                 warehouse: Warehouse | str | Path | None = None, catalog: Catalog | None = None,
                 basis: str = "order", exclude: list[tuple[str | None, Any, Any]] | None = None,
                 complete_for: str | None = None) -> pd.DataFrame:
    """Tidy KPIs: ``*by, period, kpi, value, numerator, denominator, complete, missing, stores_covered,
    stores_total``.

    ``complete``: every store contributing to the row had every source the KPI needs;
    ``missing``: the missing source kinds (comma-joined, '' if none); the value is over the
    ``stores_covered`` of ``stores_total`` stores (NaN when none is covered).
    """
    by = list(by or [])
    r = _compute(kpis, by, period, start, end, filters, warehouse, catalog, parts=True, exclude=exclude,
                 basis=basis, complete_for=complete_for)
    return _long(r, by)


#: grains whose rows are sums of store rows (one store-level query serves them all)
STORE_GRAINS = (None, "store_id", "platform", "marketplace", "contract_id")


def compute_long_grains(kpis: str | list[str] | None, grains: dict[str, str | None], period: str = "month",
                        start: Any = None, end: Any = None, warehouse: Warehouse | str | Path | None = None,
                        catalog: Catalog | None = None, basis: str = "order",
                        complete_for: str | None = None) -> dict[str, pd.DataFrame]:
    """``compute_long`` for several grains at once ({name: dimension or None for the whole company}).

    Company, store, platform, marketplace and contract rows are sums of store rows, so they share one
    store-level query (the same values as separate ``compute_long`` calls); team and person grains
    (date-interval joins) run their own. ``complete_for``: as in :func:`compute`.
    """
    catalog, kpi_list, _, measures, sources_of = _prepare(kpis, [], period, basis, complete_for, catalog)
    shared = {name: d for name, d in grains.items() if d in STORE_GRAINS}
    out: dict[str, pd.DataFrame] = {}
    if shared:
        wh = Warehouse.of(warehouse)
        con = wh.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            lo, hi = _data_range(con)
            fs, fe = to_date(start, False), to_date(end, True)
            s, e = fs or lo, fe or hi
            ctx = _Ctx(con, period, s, e, need_costs=bool(measures & _COST_MEASURES), filter_start=fs,
                       filter_end=fe, basis=basis)
            use_contracts = "contract_id" in shared.values()
            if use_contracts:
                _contract_setup(con)
            grain_bys = [[d] if d else [] for d in dict.fromkeys(shared.values())]
            split, gframes, ms = _fetch(ctx, catalog, measures, sources_of, ["store_id"], grain_bys, {}, None,
                                        use_contracts, [])
            cov = coverage_matrix(wh, con) if any(sources_of.values()) else pd.DataFrame()
            snaps = _snapshot_periods(ctx, sources_of)
            stores = con.execute("SELECT CAST(store_id AS VARCHAR) AS store_id, CAST(platform AS VARCHAR) AS platform, "
                                 "CAST(marketplace AS VARCHAR) AS marketplace FROM stores").df() \
                if ctx.has("stores") else pd.DataFrame(columns=["store_id", "platform", "marketplace"])
            contracts = con.execute("SELECT _ct_id AS contract_id, _ct_store AS store_id FROM _contracts").df() \
                if use_contracts else None
        finally:
            con.close()
        split = split.assign(store_id=split["store_id"].astype("object"))
        for name, d in shared.items():
            if d in ("platform", "marketplace"):
                sp = split.merge(stores[["store_id", d]], on="store_id", how="left")
            elif d == "contract_id":
                sp = split.merge(contracts, on="store_id", how="inner")
            else:
                sp = split
            by = [d] if d else []
            r = _evaluate(sp, gframes[tuple(by)], by, period, catalog, kpi_list, ms, sources_of, cov, (fs, fe, s, e),
                          True, snaps)
            out[name] = _long(r, by)
    for name, d in grains.items():
        if name not in out:
            out[name] = compute_long(kpi_list, by=[d] if d else [], period=period, start=start, end=end,
                                     warehouse=warehouse, catalog=catalog, basis=basis, complete_for=complete_for)
    return out


__all__ = [
    "BASES",
    "DIMENSIONS",
    "LONG_COLUMNS",
    "PERIODS",
    "compute",
    "compute_long",
    "compute_long_grains",
    "coverage_matrix",
    "period_bounds",
    "period_kind",
    "period_label",
    "shift_period",
]
