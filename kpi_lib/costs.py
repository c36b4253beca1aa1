"""Where the money goes: cost waterfall, per-SKU unit economics, overheads and their allocation.

Waterfall conventions (documented choices, see docs/api-costs.md):

- Two views. ``basis="order"`` dates every amount by the order it belongs to (fees and refunds that
  carry an ``order_id`` take that order's ``order_date``; the rest keep their own date) and takes
  advertising from ``ads.spend_rc`` by ad date; advertising *fees* from settlements are ignored so ad
  spend is never counted twice. ``basis="posted"`` dates every amount when it was posted: fees and
  refunds by their ``date``, revenue and units of stores with settlement lines by
  ``settlement_lines.posted_date`` (sales principal), other stores by ``orders.ship_date`` (fallback
  order date); advertising = settlement advertising fees for stores that have any, ads spend for the
  others (never both for one store).
- COGS and first-leg use the ``sku_costs`` row valid on the sale date (fallback ``skus``); duties are
  units × unit_cogs × duty_rate (``duty`` fee rows are not used, as in the KPI engine).
- Fee types: referral → referral_fees; payment → payment_fees; subscription, refund (refund admin),
  other → other_platform_fees; fulfillment + shipping_label → fulfillment; storage; long_term_storage;
  advertising; return_processing; promotion → promotions.
- Promotions also include seller-funded order discounts (``orders.discounts_rc``; GMV is before
  discounts), in the posted view the settlements' promotion lines for stores with settlements. This
  is the one place the waterfall's net profit is lower than the KPI engine's ``net_profit`` (which
  does not deduct discounts); the order view also re-dates order-linked fees to the order date.
- Overheads come from the ``overhead_allocations`` table (store × month), spread evenly over the days
  of the month so that custom ranges and people/teams (store intervals) take their share by days.
  They are not attributed to SKUs or categories.
- Every step is rounded to cents; subtotals are sums of rounded steps, so the steps add up from GMV to
  net profit exactly.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
from pydantic import Field

from . import org, paths
from .config import StrictModel, load_model
from .errors import ConfigError, KpiError
from .warehouse import Warehouse, WarehouseWriter

ENTITY_KINDS = ("company", "platform", "marketplace", "store", "team", "person", "contract", "category", "sku")
Basis = Literal["net_sales", "orders", "units", "headcount"]


@dataclass(frozen=True)
class Step:
    step: str
    label_zh: str
    label_en: str
    kind: str  # total | cost | subtotal


STEPS: list[Step] = [
    Step("gmv", "销售额", "GMV", "total"),
    Step("refunds", "退款", "Refunds", "cost"),
    Step("net_sales", "净销售额", "Net sales", "subtotal"),
    Step("cogs", "商品成本", "COGS", "cost"),
    Step("first_leg", "头程物流费", "First-leg freight", "cost"),
    Step("duties", "关税", "Duties", "cost"),
    Step("gross_profit", "毛利", "Gross profit", "subtotal"),
    Step("referral_fees", "平台佣金", "Referral fees", "cost"),
    Step("payment_fees", "支付手续费", "Payment fees", "cost"),
    Step("other_platform_fees", "其他平台费用", "Other platform fees", "cost"),
    Step("fulfillment", "配送费", "Fulfillment", "cost"),
    Step("storage", "仓储费", "Storage", "cost"),
    Step("long_term_storage", "长期仓储费", "Long-term storage", "cost"),
    Step("advertising", "广告费", "Advertising", "cost"),
    Step("return_processing", "退货处理费", "Returns processing", "cost"),
    Step("promotions", "促销费用", "Promotions", "cost"),
    Step("contribution", "贡献利润", "Contribution profit", "subtotal"),
    Step("overheads", "分摊管理费用", "Allocated overheads", "cost"),
    Step("net_profit", "净利润", "Net profit", "total"),
]
COST_STEPS = [s.step for s in STEPS if s.kind == "cost"]
_LABELS = {s.step: s for s in STEPS}

FEE_STEP = {
    "referral": "referral_fees",
    "payment": "payment_fees",
    "subscription": "other_platform_fees",
    "refund": "other_platform_fees",
    "other": "other_platform_fees",
    "fulfillment": "fulfillment",
    "shipping_label": "fulfillment",
    "storage": "storage",
    "long_term_storage": "long_term_storage",
    "advertising": "advertising",
    "return_processing": "return_processing",
    "promotion": "promotions",
}
CENT = Decimal("0.01")


def _wh(warehouse: Any) -> Warehouse:
    return warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)


def _q(v: Any) -> str:
    return "'" + str(v).replace("'", "''") + "'"


def period_range(period: str) -> tuple[dt.date, dt.date]:
    """Inclusive dates of a period label (``2026-11``, ``2026-Q4``) or ``YYYY-MM-DD..YYYY-MM-DD``."""
    from .metrics import period_bounds

    if ".." in str(period):
        a, b = str(period).split("..", 1)
        try:
            s, e = dt.date.fromisoformat(a.strip()), dt.date.fromisoformat(b.strip())
        except ValueError:
            raise KpiError(f"custom period {period!r}: expected YYYY-MM-DD..YYYY-MM-DD") from None
        if e < s:
            raise KpiError(f"custom period {period!r}: end is before start")
        return s, e
    return period_bounds(str(period))


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}


def _cols(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    try:
        return {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
    except duckdb.Error:
        return set()


def _cost_join(con: duckdb.DuckDBPyConnection, alias: str, date_expr: str) -> tuple[str, str, str, str]:
    """(join sql, unit_cogs, first_leg, duty_rate): the engine's landed-cost definition."""
    from .metrics import cost_join

    return cost_join(con, alias, date_expr)


def _fee_case() -> str:
    whens = " ".join(f"WHEN {_q(k)} THEN {_q(v)}" for k, v in FEE_STEP.items())
    return f"CASE CAST(fee_type AS VARCHAR) {whens} ELSE NULL END"


def _facts(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date, basis: str) -> pd.DataFrame:
    """Long fact rows: store_id, sku, d (date), step, amount (positive = revenue or cost), units.

    Pseudo steps ``_units`` (units sold) and ``_ad_sales`` feed unit economics only.
    """
    rng = f"BETWEEN DATE {_q(start)} AND DATE {_q(end)}"
    tabs = _tables(con)
    parts: list[str] = []
    ocols = _cols(con, "orders")
    not_cancelled = "coalesce(CAST(o.status AS VARCHAR), '') <> 'cancelled'"
    if basis == "order":
        sale_date = "CAST(o.order_date AS DATE)"
        src = f"(SELECT * FROM orders o WHERE {not_cancelled}) o"
        sales_filter = f"{sale_date} {rng}"
    else:
        ship = "CAST(o.ship_date AS DATE)" if "ship_date" in ocols else "NULL::DATE"
        sale_date = f"coalesce({ship}, CAST(o.order_date AS DATE))"
        settled = "(SELECT DISTINCT store_id FROM settlement_lines WHERE store_id IS NOT NULL)" if "settlement_lines" in tabs else "(SELECT NULL AS store_id WHERE false)"
        src = f"(SELECT * FROM orders o WHERE {not_cancelled} AND o.store_id NOT IN {settled}) o"
        sales_filter = f"{sale_date} {rng}"
    join, cogs, leg, duty = _cost_join(con, "o", sale_date)
    disc = "coalesce(CAST(o.discounts_rc AS DOUBLE), 0.0)" if "discounts_rc" in ocols else "0.0"
    parts.append(
        f"SELECT CAST(o.store_id AS VARCHAR) AS store_id, CAST(o.sku AS VARCHAR) AS sku, {sale_date} AS d, "
        f"CAST(o.gross_sales_rc AS DOUBLE) AS gmv, CAST(o.quantity AS DOUBLE) AS units, "
        f"o.quantity * {cogs} AS cogs, o.quantity * {leg} AS first_leg, o.quantity * {cogs} * {duty} AS duties, "
        f"{disc} AS promotions FROM {src} {join} WHERE {sales_filter}"
    )
    if basis == "posted" and "settlement_lines" in tabs:
        g = (
            "SELECT CAST(store_id AS VARCHAR) AS store_id, CAST(sku AS VARCHAR) AS sku, CAST(posted_date AS DATE) AS d, "
            "sum(CAST(amount_rc AS DOUBLE)) FILTER (WHERE category = 'sales' AND amount_type = 'ItemPrice') AS gmv, "
            "max(CAST(quantity AS DOUBLE)) AS q FROM settlement_lines "
            f"WHERE CAST(posted_date AS DATE) {rng} "
            "GROUP BY store_id, settlement_id, transaction_type, order_id, sku, posted_date"
        )
        sj, scogs, sleg, sduty = _cost_join(con, "o", "o.d")
        parts.append(
            f"SELECT o.store_id, o.sku, o.d, o.gmv, o.units, o.units * {scogs} AS cogs, o.units * {sleg} AS first_leg, "
            f"o.units * {scogs} * {sduty} AS duties, 0.0 AS promotions FROM (SELECT store_id, sku, d, gmv, "
            f"CASE WHEN gmv > 0 THEN coalesce(q, 0) ELSE 0 END AS units FROM ({g}) WHERE gmv IS NOT NULL) o {sj}"
        )
    sales = " UNION ALL ".join(parts)
    sql = [
        (f"SELECT store_id, sku, d, step, amount FROM (SELECT * FROM ({sales})) "
         "UNPIVOT (amount FOR step IN (gmv, cogs, first_leg, duties, units, promotions))")
    ]
    if basis == "posted" and "settlement_lines" in tabs:  # promotion rebates as posted (cost = -amount)
        sql.append(
            "SELECT CAST(store_id AS VARCHAR), CAST(sku AS VARCHAR), CAST(posted_date AS DATE), 'promotions', "
            f"-CAST(amount_rc AS DOUBLE) FROM settlement_lines WHERE category = 'promotion' AND CAST(posted_date AS DATE) {rng}"
        )
    # refunds and fees
    odate = (
        "LEFT JOIN (SELECT CAST(store_id AS VARCHAR) AS s_, CAST(order_id AS VARCHAR) AS o_, "
        "min(CAST(order_date AS DATE)) AS od FROM orders GROUP BY 1, 2) _od "
        "ON _od.s_ = CAST(x.store_id AS VARCHAR) AND _od.o_ = CAST(x.order_id AS VARCHAR)"
    )
    xdate = "coalesce(_od.od, CAST(x.date AS DATE))" if basis == "order" else "CAST(x.date AS DATE)"
    xjoin = odate if basis == "order" else ""
    sql.append(
        f"SELECT CAST(x.store_id AS VARCHAR), CAST(x.sku AS VARCHAR), {xdate} AS d, 'refunds', "
        f"CAST(x.amount_rc AS DOUBLE) FROM refunds x {xjoin} WHERE {xdate} {rng}"
    )
    fee_step = _fee_case().replace("fee_type", "x.fee_type")
    if basis == "order":
        fee_filter = "CAST(x.fee_type AS VARCHAR) <> 'advertising'"
    else:
        fee_filter = "true"
    sql.append(
        f"SELECT CAST(x.store_id AS VARCHAR), CAST(x.sku AS VARCHAR), {xdate} AS d, {fee_step}, "
        f"CAST(x.amount_rc AS DOUBLE) FROM fees x {xjoin} WHERE {xdate} {rng} AND {fee_filter} AND {fee_step} IS NOT NULL"
    )
    if basis == "order":
        ad_filter = "true"
    else:
        ad_filter = "CAST(store_id AS VARCHAR) NOT IN (SELECT DISTINCT CAST(store_id AS VARCHAR) FROM fees WHERE fee_type = 'advertising')"
    sql.append(
        "SELECT CAST(store_id AS VARCHAR), CAST(sku AS VARCHAR), CAST(date AS DATE), 'advertising', "
        f"CAST(spend_rc AS DOUBLE) FROM ads WHERE CAST(date AS DATE) {rng} AND {ad_filter}"
    )
    sql.append(
        "SELECT CAST(store_id AS VARCHAR), CAST(sku AS VARCHAR), CAST(date AS DATE), '_ad_sales', "
        f"CAST(ad_sales_rc AS DOUBLE) FROM ads WHERE CAST(date AS DATE) {rng}"
    )
    full = " UNION ALL ".join(f"({s})" for s in sql)
    df = con.execute(
        f"SELECT store_id, sku, d, step, sum(amount) AS amount FROM ({full}) t(store_id, sku, d, step, amount) "
        "WHERE amount IS NOT NULL GROUP BY ALL"
    ).df()
    df["step"] = df["step"].replace({"units": "_units"})
    df["d"] = pd.to_datetime(df["d"])
    if "overhead_allocations" in tabs:
        oh = con.execute("SELECT CAST(store_id AS VARCHAR) AS store_id, CAST(month AS VARCHAR) AS month, "
                         "CAST(amount_rc AS DOUBLE) AS amount FROM overhead_allocations").df()
        df = pd.concat([df, _spread_overheads(oh, start, end)], ignore_index=True)
    return df


def _spread_overheads(oh: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Monthly overheads as daily rows within [start, end] (amount / days in month per day)."""
    out = []
    if oh.empty:
        return pd.DataFrame(columns=["store_id", "sku", "d", "step", "amount"])
    oh = oh.groupby(["store_id", "month"], as_index=False)["amount"].sum()
    for r in oh.itertuples():
        ms = pd.Timestamp(str(r.month)[:7] + "-01")
        me = ms + pd.offsets.MonthEnd(0)
        s, e = max(ms, pd.Timestamp(start)), min(me, pd.Timestamp(end))
        if s > e:
            continue
        days = pd.date_range(s, e, freq="D")
        out.append(pd.DataFrame({"store_id": r.store_id, "sku": None, "d": days, "step": "overheads",
                                 "amount": r.amount / me.day}))
    if not out:
        return pd.DataFrame(columns=["store_id", "sku", "d", "step", "amount"])
    return pd.concat(out, ignore_index=True)


def _filter_entity(df: pd.DataFrame, entity_kind: str, entity_id: str | None, wh: Warehouse,
                   start: dt.date, end: dt.date) -> pd.DataFrame:
    if entity_kind not in ENTITY_KINDS:
        raise KpiError(f"unknown entity kind {entity_kind!r}; expected one of {', '.join(ENTITY_KINDS)}")
    if entity_kind == "company":
        return df
    if entity_id is None:
        raise KpiError(f"entity kind {entity_kind!r} needs an entity id")
    if entity_kind in ("store", "platform", "marketplace", "contract"):
        stores = org.entity_stores(entity_kind, entity_id, warehouse=wh)
        return df[df["store_id"].isin(stores)]
    if entity_kind == "sku":
        return df[df["sku"] == entity_id]
    if entity_kind == "category":
        skus = wh.read("skus") if wh.has("skus") else pd.DataFrame(columns=["sku", "category"])
        keep = set(skus.loc[skus["category"].astype(str) == str(entity_id), "sku"].astype(str))
        return df[df["sku"].isin(keep)]
    # team / person: rows of the stores they held on each date
    if entity_kind == "team":
        iv = org.team_store_intervals(wh)
        iv = iv[iv["team_id"] == entity_id]
    else:
        iv = org.assignments(wh)
        iv = iv[iv["person_id"] == entity_id]
    iv = iv[["store_id", "valid_from", "valid_to"]].copy()
    iv["valid_to"] = iv["valid_to"].fillna(pd.Timestamp("2262-01-01"))
    m = df.reset_index().merge(iv.astype({"store_id": "string"}).assign(store_id=lambda x: x["store_id"].astype(str)),
                               on="store_id", how="inner")
    m = m[(m["d"] >= m["valid_from"]) & (m["d"] <= m["valid_to"])]
    return df.loc[m["index"].drop_duplicates()]


def _rc(x: float) -> Decimal:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return Decimal("0.00")
    return Decimal(repr(float(x))).quantize(CENT, rounding=ROUND_HALF_UP)


def _waterfall_from_totals(totals: dict[str, float]) -> pd.DataFrame:
    """Build the waterfall rows (signed, rounded to cents; subtotals are sums of rounded steps)."""
    running = Decimal("0.00")
    rows = []
    amounts: dict[str, Decimal] = {}
    for s in STEPS:
        if s.step == "gmv":
            amt = _rc(totals.get("gmv", 0.0))
            running = amt
        elif s.kind == "cost":
            amt = -_rc(totals.get(s.step, 0.0)) + Decimal("0.00")  # no negative zero
            running += amt
        else:
            amt = running
        amounts[s.step] = amt
        rows.append((s.step, s.label_zh, s.label_en, amt, s.kind))
    ns = amounts["net_sales"]
    out = pd.DataFrame(rows, columns=["step", "label_zh", "label_en", "amount", "kind"])
    out["amount_rc"] = out["amount"].astype(float)
    out["pct_of_net_sales"] = [float(a / ns) if ns != 0 else float("nan") for a in out["amount"]]
    return out[["step", "label_zh", "label_en", "amount_rc", "pct_of_net_sales", "kind"]]


def _entity_facts(entity_kind: str, entity_id: str | None, period: str, basis: str,
                  warehouse: Any) -> pd.DataFrame:
    if basis not in ("order", "posted"):
        raise KpiError(f"basis must be 'order' or 'posted', not {basis!r}")
    wh = _wh(warehouse)
    start, end = period_range(period)
    con = wh.connect()
    try:
        df = _facts(con, start, end, basis)
    finally:
        con.close()
    return _filter_entity(df, entity_kind, entity_id, wh, start, end)


def waterfall(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
              basis: Literal["order", "posted"] = "order", warehouse: Any = None) -> pd.DataFrame:
    """GMV → net profit for one entity and period; the signed steps add up exactly (cents)."""
    if period is None:
        period = last_month(warehouse)
    df = _entity_facts(entity_kind, entity_id, period, basis, warehouse)
    totals = df.groupby("step")["amount"].sum().to_dict()
    return _waterfall_from_totals(totals)


def last_month(warehouse: Any = None) -> str:
    """The last month with order data (the default reporting month)."""
    wh = _wh(warehouse)
    con = wh.connect()
    try:
        d = con.execute("SELECT max(CAST(order_date AS DATE)) FROM orders").fetchone()[0]
    finally:
        con.close()
    if d is None:
        return (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    return pd.Timestamp(d).strftime("%Y-%m")


# ----------------------------------------------------------------------------- unit economics

_FEE_STEPS = ["referral_fees", "payment_fees", "other_platform_fees", "fulfillment", "storage",
              "long_term_storage", "promotions"]


def unit_economics(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
                   warehouse: Any = None) -> pd.DataFrame:
    """Per-SKU unit economics (order-date basis), worst contribution first.

    return loss = return-processing fees (refunds themselves are already out of net sales); fees = all other SKU-attributed platform, fulfillment, storage and promotion
    fees; break-even ACoS = pre-ad contribution / net sales (the ACoS at which contribution is zero if
    every sale were ad-driven). Costs without a SKU (store-level storage, ads without SKU, overheads)
    are not in unit economics.
    """
    if period is None:
        period = last_month(warehouse)
    wh = _wh(warehouse)
    df = _entity_facts(entity_kind, entity_id, period, "order", wh)
    df = df[df["sku"].notna() & (df["sku"].astype(str).str.strip() != "")]
    cols = ["sku", "category", "units", "net_sales", "landed_cost_per_unit", "fees_per_unit", "ads_per_unit",
            "return_loss_per_unit", "contribution_per_unit", "margin", "acos", "break_even_acos", "loss_making",
            "contribution"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    p = df.pivot_table(index="sku", columns="step", values="amount", aggfunc="sum", fill_value=0.0)

    def g(c: str) -> pd.Series:
        return p[c] if c in p.columns else pd.Series(0.0, index=p.index)

    units = g("_units")
    net_sales = g("gmv") - g("refunds")
    landed = g("cogs") + g("first_leg") + g("duties")
    fees = sum((g(c) for c in _FEE_STEPS), pd.Series(0.0, index=p.index))
    ads = g("advertising")
    ret_loss = g("return_processing")
    pre_ad = net_sales - landed - fees - ret_loss
    contribution = pre_ad - ads
    u = units.where(units > 0)
    out = pd.DataFrame({
        "sku": p.index.astype(str),
        "units": units.values,
        "net_sales": net_sales.values,
        "landed_cost_per_unit": (landed / u).values,
        "fees_per_unit": (fees / u).values,
        "ads_per_unit": (ads / u).values,
        "return_loss_per_unit": (ret_loss / u).values,
        "contribution_per_unit": (contribution / u).values,
        "margin": (contribution / net_sales.where(net_sales != 0)).values,
        "acos": (ads / g("_ad_sales").where(g("_ad_sales") > 0)).values,
        "break_even_acos": (pre_ad / net_sales.where(net_sales != 0)).values,
        "loss_making": (contribution < 0).values,
        "contribution": contribution.values,
    })
    skus = wh.read("skus") if wh.has("skus") else pd.DataFrame(columns=["sku", "category"])
    cat = dict(zip(skus["sku"].astype(str), skus["category"].astype(str))) if len(skus) else {}
    out["category"] = out["sku"].map(cat)
    return out[cols].sort_values(["contribution", "sku"]).reset_index(drop=True)


def loss_makers(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
                n: int = 20, warehouse: Any = None) -> pd.DataFrame:
    """The loss-making SKUs of ``unit_economics``, worst first."""
    ue = unit_economics(entity_kind, entity_id, period, warehouse)
    return ue[ue["loss_making"]].head(n).reset_index(drop=True)


# --------------------------------------------------------------------- margin change explanation


def explain_margin_change(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
                          prior: str | None = None, basis: Literal["order", "posted"] = "order",
                          warehouse: Any = None) -> pd.DataFrame:
    """Which cost lines moved net margin, in percentage points; the lines sum to the total change.

    net margin = 1 − Σ cost_i / net_sales, so each line contributes −Δ(cost_i / net_sales).
    """
    from .metrics import shift_period

    if period is None:
        period = last_month(warehouse)
    if prior is None:
        prior = shift_period(period, -1)
    a = waterfall(entity_kind, entity_id, prior, basis, warehouse).set_index("step")
    b = waterfall(entity_kind, entity_id, period, basis, warehouse).set_index("step")
    rows = []
    total = 0.0
    for s in STEPS:
        if s.kind != "cost" or s.step == "refunds":
            continue
        sa = -a.loc[s.step, "pct_of_net_sales"]
        sb = -b.loc[s.step, "pct_of_net_sales"]
        pts = -(sb - sa) * 100
        total += pts
        rows.append((s.step, s.label_zh, s.label_en, sa, sb, pts))
    rows.append(("net_margin", "净利润率", "Net profit margin", a.loc["net_profit", "pct_of_net_sales"],
                 b.loc["net_profit", "pct_of_net_sales"],
                 (b.loc["net_profit", "pct_of_net_sales"] - a.loc["net_profit", "pct_of_net_sales"]) * 100))
    return pd.DataFrame(rows, columns=["step", "label_zh", "label_en", "share_prior", "share_current", "margin_points"])


# ------------------------------------------------------------------------------------- overheads


class _Scoped(StrictModel):
    start: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="first month (YYYY-MM) the cost applies")
    end: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="last month (YYYY-MM), empty = open")
    basis: Basis | None = Field(None, description="allocation basis; default = the file's default_basis")
    stores: list[str] = Field(default_factory=list, description="stores that share the cost; empty = all active stores")
    currency: str = Field("CNY", min_length=3, max_length=3)

    def active(self, month: str) -> bool:
        return (self.start is None or self.start <= month) and (self.end is None or month <= self.end)


class StaffCost(_Scoped):
    id: str
    name: str = ""
    monthly_cost: Decimal = Field(..., ge=0, description="fully loaded monthly cost")
    headcount: float = Field(1, ge=0)


class RentCost(_Scoped):
    id: str
    name: str = ""
    monthly_cost: Decimal = Field(..., ge=0)


class Addon(StrictModel):
    name: str
    per: Literal["store", "platform", "flat"] = Field("store", description="priced per store, per platform or once")
    price: Decimal = Field(..., ge=0, description="price per unit per month (before annual discount)")
    platforms: list[str] = Field(default_factory=list, description="only these platforms count (empty = all)")


class Subscription(_Scoped):
    id: str
    vendor: str = ""
    base_fee: Decimal = Field(Decimal(0), ge=0, description="monthly base fee")
    seats: int = Field(0, ge=0)
    price_per_seat: Decimal = Field(Decimal(0), ge=0, description="monthly price per seat")
    addons: list[Addon] = Field(default_factory=list)
    billing: Literal["monthly", "annual"] = "monthly"
    annual_discount: Decimal = Field(Decimal(0), ge=0, lt=1, description="discount fraction for annual billing")


class Overheads(StrictModel):
    """parameters/overheads.yaml"""

    default_basis: Basis = "net_sales"
    staff: list[StaffCost] = Field(default_factory=list)
    rent: list[RentCost] = Field(default_factory=list)
    subscriptions: list[Subscription] = Field(default_factory=list)


def load_overheads(path: Path | None = None) -> Overheads:
    p = path or paths.parameters_dir() / "overheads.yaml"
    if not p.is_file():
        return Overheads()
    return load_model(p, Overheads)


def subscription_monthly_cost(sub: Subscription, stores: pd.DataFrame | None = None) -> Decimal:
    """Monthly cost in the subscription's currency, as vendors price it.

    (base_fee + seats × price_per_seat + add-ons) per month; add-ons priced per store count the stores
    in scope (``stores``: store_id, platform), per platform the distinct platforms. Annual billing pays
    12 months less the annual discount up front; the monthly equivalent is that price / 12.
    """
    stores = stores if stores is not None else pd.DataFrame(columns=["store_id", "platform"])
    monthly = sub.base_fee + sub.seats * sub.price_per_seat
    for a in sub.addons:
        st = stores if not a.platforms else stores[stores["platform"].astype(str).isin(a.platforms)]
        n = 1 if a.per == "flat" else (len(st) if a.per == "store" else st["platform"].nunique())
        monthly += a.price * n
    if sub.billing == "annual":
        annual = (monthly * 12 * (1 - sub.annual_discount)).quantize(CENT, rounding=ROUND_HALF_UP)
        return (annual / 12).quantize(CENT, rounding=ROUND_HALF_UP)
    return monthly.quantize(CENT, rounding=ROUND_HALF_UP)


def _active_stores(month: str, wh: Warehouse) -> pd.DataFrame:
    st = wh.read("stores") if wh.has("stores") else pd.DataFrame(columns=["store_id", "platform", "launch_date"])
    st = st.copy()
    st["store_id"] = st["store_id"].astype(str)
    if "launch_date" in st.columns:
        me = pd.Timestamp(month + "-01") + pd.offsets.MonthEnd(0)
        ld = pd.to_datetime(st["launch_date"], errors="coerce")
        st = st[ld.isna() | (ld <= me)]
    return st.reset_index(drop=True)


def _fx(month: str, currency: str, wh: Warehouse) -> Decimal:
    from .config import workbench

    if currency == workbench().reporting_currency:
        return Decimal(1)
    fx = wh.read("fx_rates") if wh.has("fx_rates") else pd.DataFrame(columns=["month", "currency", "rate"])
    m = fx[(fx["month"].astype(str).str[:7] == month) & (fx["currency"].astype(str) == currency)]
    if m.empty:
        raise ConfigError(f"overheads.yaml: no FX rate for {currency} in {month}; add it to fx_rates.csv")
    return Decimal(repr(float(m["rate"].iloc[0])))


def overhead_items(month: str, warehouse: Any = None, config: Overheads | None = None) -> pd.DataFrame:
    """item, kind, basis, stores (list), amount_rc (Decimal, cents) of every overhead active in ``month``."""
    wh = _wh(warehouse)
    cfg = config or load_overheads()
    stores = _active_stores(month, wh)
    rows = []
    for kind, items in (("staff", cfg.staff), ("rent", cfg.rent), ("subscription", cfg.subscriptions)):
        for it in items:
            if not it.active(month):
                continue
            scope = stores[stores["store_id"].isin(it.stores)] if it.stores else stores
            if isinstance(it, Subscription):
                amt = subscription_monthly_cost(it, scope)
            else:
                amt = it.monthly_cost
            amt_rc = (amt * _fx(month, it.currency, wh)).quantize(CENT, rounding=ROUND_HALF_UP)
            rows.append((it.id, kind, it.basis or cfg.default_basis, list(scope["store_id"]), amt_rc))
    return pd.DataFrame(rows, columns=["item", "kind", "basis", "stores", "amount_rc"])


def largest_remainder(total: Decimal, weights: list[float]) -> list[Decimal]:
    """Split ``total`` (cents) in proportion to ``weights`` so that the parts sum exactly to it."""
    cents = int((total / CENT).to_integral_value(rounding=ROUND_HALF_UP))
    w = np.array([0.0 if math.isnan(float(x)) else max(float(x), 0.0) for x in weights], dtype=float)
    if len(w) == 0:
        return []
    if w.sum() <= 0:
        w = np.ones(len(w))
    raw = cents * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    rem = int(cents - base.sum())
    order = np.argsort(-(raw - base), kind="stable")
    for i in order[:rem]:
        base[i] += 1
    return [Decimal(int(c)) * CENT for c in base]


def _basis_weights(month: str, stores: list[str], basis: str, wh: Warehouse,
                   bases: pd.DataFrame | None = None) -> list[float]:
    if basis == "headcount":
        a = org.assignments(wh)
        ms = pd.Timestamp(month + "-01")
        me = ms + pd.offsets.MonthEnd(0)
        a = a[(a["valid_from"] <= me) & (a["valid_to"].fillna(pd.Timestamp("2262-01-01")) >= ms)].dropna(subset=["person_id"])
        if a.empty:
            return [1.0] * len(stores)
        per = a.groupby("person_id")["store_id"].transform("nunique")
        share = (1.0 / per).groupby(a["store_id"].astype(str)).sum()
        return [float(share.get(s, 0.0)) for s in stores]
    if bases is None:
        bases = _basis_table(month, month, wh)
    kpi = {"net_sales": "net_sales", "orders": "orders", "units": "units"}[basis]
    sel = bases[bases["period"] == month]
    vals = dict(zip(sel["store_id"].astype(str), sel[kpi].astype(float)))
    return [0.0 if math.isnan(vals.get(s, 0.0)) else vals.get(s, 0.0) for s in stores]


def _basis_table(first: str, last: str, wh: Warehouse) -> pd.DataFrame:
    """store_id, period, net_sales, orders, units per store × month (one engine query)."""
    from .metrics import compute

    return compute(["net_sales", "orders", "units"], by=["store_id"], period="month", start=first, end=last,
                   warehouse=wh)


def allocate_overheads(month: str, basis: str | None = None, warehouse: Any = None,
                       config: Overheads | None = None, _bases: pd.DataFrame | None = None) -> pd.DataFrame:
    """store_id, month, item, amount_rc: each overhead item split over its stores by the basis.

    Each item's parts sum exactly to the item (largest remainder on cents), so the allocation sums
    exactly to the overhead total. ``basis`` overrides every item's basis.
    """
    wh = _wh(warehouse)
    items = overhead_items(month, wh, config)
    rows = []
    cache: dict[tuple[str, tuple[str, ...]], list[float]] = {}
    for it in items.itertuples():
        b = basis or it.basis
        if b not in ("net_sales", "orders", "units", "headcount"):
            raise ConfigError(f"unknown allocation basis {b!r}; expected net_sales, orders, units or headcount")
        stores = list(it.stores)
        if not stores:
            continue
        key = (b, tuple(stores))
        if key not in cache:
            if _bases is None and b != "headcount":
                _bases = _basis_table(month, month, wh)
            cache[key] = _basis_weights(month, stores, b, wh, _bases)
        for s, amt in zip(stores, largest_remainder(it.amount_rc, cache[key])):
            rows.append((s, month, it.item, float(amt)))
    return pd.DataFrame(rows, columns=["store_id", "month", "item", "amount_rc"])


def _data_months(wh: Warehouse) -> list[str]:
    from .targets import _data_months as months

    return months(wh)


def overhead_allocations(months: list[str] | None = None, warehouse: Any = None,
                         config: Overheads | None = None) -> pd.DataFrame:
    """store_id, month, item, amount_rc for every month with order data (or ``months``)."""
    wh = _wh(warehouse)
    cfg = config or load_overheads()
    months = months if months is not None else _data_months(wh)
    bases = _basis_table(min(months), max(months), wh) if months else None
    frames = [allocate_overheads(m, warehouse=wh, config=cfg, _bases=bases) for m in months]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"store_id": pd.Series(dtype="string"), "month": pd.Series(dtype="string"),
                             "item": pd.Series(dtype="string"), "amount_rc": pd.Series(dtype="float64")})
    return pd.concat(frames, ignore_index=True)


def write_overhead_allocations(warehouse: Any = None, months: list[str] | None = None,
                               writer: WarehouseWriter | None = None) -> pd.DataFrame:
    """Write table ``overhead_allocations`` (store_id, month, item, amount_rc); the KPI engine reads it.

    Inside compute's transaction pass its ``writer``; otherwise a transaction of its own is opened.
    """
    wh = _wh(warehouse)
    df = overhead_allocations(months, wh)
    if writer is not None:
        writer.write("overhead_allocations", df, partition_by=())
    else:
        with wh.transaction("overhead allocations") as w:
            w.write("overhead_allocations", df, partition_by=())
    return df


__all__ = [
    "ENTITY_KINDS",
    "STEPS",
    "Addon",
    "Overheads",
    "RentCost",
    "StaffCost",
    "Step",
    "Subscription",
    "allocate_overheads",
    "explain_margin_change",
    "largest_remainder",
    "last_month",
    "load_overheads",
    "loss_makers",
    "overhead_allocations",
    "overhead_items",
    "period_range",
    "subscription_monthly_cost",
    "unit_economics",
    "waterfall",
    "write_overhead_allocations",
]
