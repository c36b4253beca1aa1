"""Where the money goes: cost waterfall, per-SKU unit economics, overheads and their allocation.

Waterfall conventions (documented choices, see docs/api-costs.md):

- **One definition per figure.** Every waterfall step is a catalog KPI (:data:`STEP_KPI`) computed by
  the KPI engine (``kpi_lib.metrics``, same SQL) on the chosen basis, so the waterfall's net profit
  is ``metrics.compute("net_profit")`` for the same grain, period and basis. The waterfall is over the
  stores that have every source net profit needs (orders, fees, ads, unit costs) in the period;
  its ``complete`` / ``missing`` / ``stores_covered`` / ``stores_total`` columns say so.
- **Two bases.** ``basis="order"``: sales by order date; fees and refunds that carry an order id on
  their order's date (others on their own date); advertising from the ads reports by ad date
  (settlement advertising fees are not used). ``basis="posted"``: sales of stores with Amazon
  settlement lines on the first posting of the line's sales principal (not yet settled = not in any
  period), other stores on the ship date (fallback order date); fees and refunds on their own
  date; advertising as invoiced (settlement advertising fees) for stores that have any, else ads
  spend by date (never both for one store). :func:`basis_bridge` explains the difference.
- COGS and first-leg use the ``sku_costs`` row valid on the order date (fallback ``skus``), on both
  bases; a SKU without a cost adds nothing and makes COGS incomplete (never 0); duties are
  units × unit_cogs × duty_rate (``duty`` fee rows are not used).
- Fee types: referral → referral_fees; payment → payment_fees; subscription, refund (refund admin),
  other → other_platform_fees; fulfillment + shipping_label → fulfillment; storage; long_term_storage;
  return_processing; promotion fees + seller-funded order discounts (``orders.discounts_rc``, GMV is
  before discounts) → promotions.
- Overheads come from the ``overhead_allocations`` table (store × month), spread evenly over the days
  of the month so that custom ranges and people/teams (store intervals) take their share by days.
  They are not attributed to SKUs or categories.
- Every figure is rounded to cents. GMV, the subtotals and net profit are the engine's own figures
  (so the waterfall's net profit is the cent that every other report shows); the cost steps between
  two of them are rounded by largest remainder (each within a cent of its value) so that they add up
  to the difference exactly. The steps therefore add up from GMV to net profit exactly.

Size (≈690 lines): waterfall, unit economics, overhead allocation and the basis bridge all read the
same catalog steps and allocation table; each is a separate public function.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from . import org
from .config import workbench
from .definitions import load_catalog
from .errors import ConfigError, KpiError
from .labels import label, pair
from .memo import ByObject
from .metrics import compute, compute_long, compute_long_grains
from .money import CENT, cents, decimal
from .periods import period_bounds, period_kind, shift_period
from .spec import overheads as overheads_spec
from .spec.overheads import (  # noqa: F401 - re-exported
    Addon,
    Basis,
    Overheads,
    RentCost,
    StaffCost,
    Subscription,
    item_label,
)
from .warehouse import Warehouse

ENTITY_KINDS = ("company", "platform", "marketplace", "store", "team", "person", "contract", "category", "sku")


@dataclass(frozen=True)
class Step:
    step: str
    kind: str  # total | cost | subtotal

    @property
    def label_zh(self) -> str:
        return label(f"cost.step.{self.step}", "zh")

    @property
    def label_en(self) -> str:
        return label(f"cost.step.{self.step}", "en")


STEPS: list[Step] = [
    Step("gmv", "total"),
    Step("refunds", "cost"),
    Step("net_sales", "subtotal"),
    Step("cogs", "cost"),
    Step("first_leg", "cost"),
    Step("duties", "cost"),
    Step("gross_profit", "subtotal"),
    Step("referral_fees", "cost"),
    Step("payment_fees", "cost"),
    Step("other_platform_fees", "cost"),
    Step("fulfillment", "cost"),
    Step("storage", "cost"),
    Step("long_term_storage", "cost"),
    Step("advertising", "cost"),
    Step("return_processing", "cost"),
    Step("promotions", "cost"),
    Step("contribution", "subtotal"),
    Step("overheads", "cost"),
    Step("net_profit", "total"),
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



def period_range(period: str) -> tuple[dt.date, dt.date]:
    """Inclusive dates of a period label (``2026-11``, ``2026-Q4``) or ``YYYY-MM-DD..YYYY-MM-DD``."""
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


#: the catalog KPI behind each waterfall step (one definition per figure: the waterfall reads the engine)
STEP_KPI: dict[str, str] = {
    "gmv": "gmv", "refunds": "refunds", "net_sales": "net_sales", "cogs": "cogs", "first_leg": "first_leg",
    "duties": "duties", "gross_profit": "gross_profit", "referral_fees": "referral_fees",
    "payment_fees": "payment_fees", "other_platform_fees": "other_platform_fees", "fulfillment": "fulfillment_fees",
    "storage": "monthly_storage_fees", "long_term_storage": "long_term_storage_fees", "advertising": "ad_spend",
    "return_processing": "return_processing", "promotions": "promotions", "contribution": "contribution",
    "overheads": "overheads", "net_profit": "net_profit",
}


#: the engine KPIs a waterfall asks for, in its order (complete for net profit): every step and subtotal
WATERFALL_KPIS: list[str] = [STEP_KPI[s.step] for s in STEPS]


def _cents_adding_up(values: list[float], total: Decimal) -> list[Decimal] | None:
    """``values`` rounded to cents so that they add up to ``total`` exactly, each within a cent of its value
    (largest remainder: each part is its value's floor or the cent above, the cents left over go to the
    largest fractions; when whole-cent values exceed the total by a cent, which two anchors rounding half
    away from zero on opposite signs can make, the largest takes a cent less); None when the values are
    further from the total than that (then they are not its parts)."""
    raw = [decimal(v) / CENT for v in values]
    floors = [r.to_integral_value(rounding=ROUND_FLOOR) for r in raw]
    left = total / CENT - sum(floors, Decimal(0))
    if left < 0:
        whole = sorted((i for i in range(len(raw)) if raw[i] == floors[i]), key=lambda i: -abs(raw[i]))
        if len(whole) < -left:
            return None
        down = set(whole[:int(-left)])
        return [(f - (1 if i in down else 0)) * CENT for i, f in enumerate(floors)]
    if left > len(raw):
        return None
    up = set(sorted(range(len(raw)), key=lambda i: floors[i] - raw[i])[:int(left)])
    return [(f + (1 if i in up else 0)) * CENT for i, f in enumerate(floors)]


def _waterfall_from_totals(totals: dict[str, float], unknown: bool = False) -> pd.DataFrame:
    """Build the waterfall rows (signed, in cents; the steps add up exactly).

    ``totals`` maps a step to its positive engine value; ``unknown`` (no store has the sources)
    makes every amount NaN. A subtotal or total given in ``totals`` is that figure rounded, and the cost
    steps before it are rounded to add up to it (:func:`_cents_adding_up`); one not given (or whose steps
    do not add up to it) is the sum of its rounded steps. A step not given is 0.
    """
    def known(step: str) -> bool:
        v = totals.get(step)
        return v is not None and not (isinstance(v, float) and math.isnan(v))

    amounts: dict[str, Decimal] = {}
    running, segment = cents(totals.get("gmv", 0.0)), []
    for s in STEPS:  # GMV first: an anchor with no rows before it
        if s.kind == "cost":
            segment.append(s.step)
            continue
        values = [totals[x] if known(x) else 0.0 for x in segment]
        parts = _cents_adding_up(values, running - cents(totals[s.step])) if known(s.step) else None
        if parts is None:
            parts = [cents(v) for v in values]
        for x, part in zip(segment, parts):
            amounts[x] = -part + Decimal("0.00")  # no negative zero
        running -= sum(parts, Decimal("0.00"))
        amounts[s.step], segment = running, []
    ns = amounts["net_sales"]
    out = pd.DataFrame([(s.step, s.label_zh, s.label_en, amounts[s.step], s.kind) for s in STEPS],
                       columns=["step", "label_zh", "label_en", "amount", "kind"])
    out["amount_rc"] = np.nan if unknown else out["amount"].astype(float)
    out["pct_of_net_sales"] = [float(a / ns) if ns != 0 and not unknown else float("nan") for a in out["amount"]]
    return out[["step", "label_zh", "label_en", "amount_rc", "pct_of_net_sales", "kind"]]


def _entity_scope(entity_kind: str, entity_id: str | None) -> dict[str, str] | None:
    if entity_kind not in ENTITY_KINDS:
        raise KpiError(f"unknown entity kind {entity_kind!r}; expected one of {', '.join(ENTITY_KINDS)}")
    if entity_kind == "company":
        return None
    if entity_id is None:
        raise KpiError(f"entity kind {entity_kind!r} needs an entity id")
    return {org.ENTITY_DIMENSION[entity_kind]: str(entity_id)}


def engine_figures(kpis: list[str], entity_kind: str = "company", entity_id: str | None = None,
                   period: str | None = None, basis: Literal["order", "posted"] = "order", warehouse: Any = None,
                   complete_for: str | None = None, stores: Sequence[str] | None = None,
                   rows: pd.DataFrame | None = None) -> tuple[dict[str, float], dict[str, Any]]:
    """Engine values of ``kpis`` for one entity and period (label or ``a..b`` range) and the
    completeness of the row: ``{complete, missing, stores_covered, stores_total}``.

    ``stores``: a set of stores taken as one entity (e.g. a marketplace's stores; overrides the entity).

    With ``complete_for`` every KPI is over the stores complete for that KPI (one store set).
    A custom range sums daily values (for additive KPIs only).

    ``rows``: the entity's ``compute_long`` rows of exactly these ``kpis`` with the same basis and
    ``complete_for`` (any months including ``period``), e.g. its slice of one query over many
    entities (the report batch cache); used instead of querying the engine.
    """
    if basis not in ("order", "posted"):
        raise KpiError(f"basis must be 'order' or 'posted', not {basis!r}")
    wh = Warehouse.of(warehouse)
    if period is None:
        period = last_month(wh)
    start, end = period_range(period)
    custom = ".." in str(period)
    pk = "day" if custom else period_kind(period)
    scope = {"store_id": sorted(str(x) for x in stores)} if stores is not None else _entity_scope(entity_kind, entity_id)
    long = rows if rows is not None else compute_long(kpis, by=[], period=pk, start=start, end=end, filters=scope,
                                                      warehouse=wh, basis=basis, complete_for=complete_for)
    if not custom:
        long = long[long["period"] == str(period)]
    vals: dict[str, float] = {}
    if not long["kpi"].duplicated().any():  # one row per KPI (a month, a quarter): read each row's value
        one = dict(zip(long["kpi"], long["value"]))
        for k in kpis:
            v = one.get(k, float("nan"))  # no row: unknown, not 0
            vals[k] = float("nan") if v is None or pd.isna(v) else float(v)
    else:  # a custom range: the KPI's daily rows summed
        for k in kpis:
            v = long.loc[long["kpi"] == k, "value"]
            vals[k] = float(v.sum(min_count=1)) if len(v) else float("nan")  # no row: unknown, not 0
    ref = long[long["kpi"] == (complete_for or kpis[-1])]
    miss = sorted({x.strip() for m in ref["missing"] for x in str(m).split(",") if x.strip()})
    info = {
        "complete": bool(ref["complete"].all()) if len(ref) else True,
        "missing": ", ".join(miss),
        "stores_covered": int(ref["stores_covered"].max()) if len(ref) else 0,
        "stores_total": int(ref["stores_total"].max()) if len(ref) else 0,
        "basis": basis,
    }
    return vals, info


def waterfall(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
              basis: Literal["order", "posted"] = "order", warehouse: Any = None,
              stores: Sequence[str] | None = None, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """GMV → net profit for one entity and period; the signed steps add up exactly (cents).

    ``stores``: several stores as one entity (a marketplace's stores in the cost explorer): the KPIs
    over their rows together (ratios of sums over the complete stores), not a sum of per-store tables.

    Every step is the catalog KPI of :data:`STEP_KPI` computed by the KPI engine on the given basis,
    over the stores that have every source net profit needs (so the last row equals
    ``metrics.compute("net_profit")`` for the same grain). Extra columns say so: ``kpi``, ``basis``,
    ``complete``, ``missing``, ``stores_covered``, ``stores_total`` (the same on every row).
    ``rows``: precomputed engine rows of :data:`WATERFALL_KPIS` (see :func:`engine_figures`); the waterfall
    of the same rows is worked out once (a report's waterfall, bridge and margin change all read it).
    """
    key = (entity_kind, entity_id, period, basis, None if stores is None else tuple(stores))
    if rows is not None:
        hit = _ROWS_WATERFALLS.get(rows, *key)
        if hit is not None:
            return hit.copy()
    vals, info = engine_figures(WATERFALL_KPIS, entity_kind, entity_id, period, basis, warehouse, complete_for="net_profit",
                                stores=stores, rows=rows)
    # no store with every source net profit needs, or no store with any data in the period (a month
    # before the data or after it): unknown, not a waterfall of zeros (missing is not zero)
    unknown = info["stores_covered"] == 0
    out = _waterfall_from_totals({s.step: vals[STEP_KPI[s.step]] for s in STEPS}, unknown=unknown)
    out["kpi"] = out["step"].map(STEP_KPI)
    for k in ("basis", "complete", "missing", "stores_covered", "stores_total"):
        out[k] = info[k]
    if rows is not None:
        _ROWS_WATERFALLS.put(rows, *key, value=out.copy())
    return out


_ROWS_WATERFALLS = ByObject(32)  # waterfalls of precomputed rows, by (rows, entity, period, basis, stores)


_BRIDGE = ["sales_timing", "refund_timing", "fee_timing", "ads_invoicing", "overheads"]  # timing lines, labels cost.bridge.<item>


def basis_bridge(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
                 warehouse: Any = None, rows: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """How order-basis net profit becomes posted-basis net profit: rows sum exactly (cents).

    Columns ``item, label_zh, label_en, amount_rc, kind`` (kind ``start`` | ``timing`` | ``end``):
    the order-basis net profit, then the timing differences (posted − order) of sales and their
    landed cost and discounts, refunds, fees, advertising and overheads, then the posted-basis net
    profit. Built from the two waterfalls, so each basis matches ``metrics.compute(..., basis=…)``; when
    either waterfall is unknown (no store with every source net profit needs), every amount is NaN.
    ``rows``: precomputed engine rows (see :func:`engine_figures`) by query: ``order`` and ``posted``
    (:data:`WATERFALL_KPIS`), ``discounts_order`` and ``discounts_posted`` (``["discounts"]``).
    """
    wh = Warehouse.of(warehouse)
    period = period or last_month(wh)
    got = rows or {}
    a = waterfall(entity_kind, entity_id, period, "order", wh, rows=got.get("order"))
    b = waterfall(entity_kind, entity_id, period, "posted", wh, rows=got.get("posted"))
    da = {s: cents(v) for s, v in zip(a["step"], a["amount_rc"])}
    db = {s: cents(v) for s, v in zip(b["step"], b["amount_rc"])}
    disc_a, _ = engine_figures(["discounts"], entity_kind, entity_id, period, "order", wh, complete_for="net_profit",
                               rows=got.get("discounts_order"))
    disc_b, _ = engine_figures(["discounts"], entity_kind, entity_id, period, "posted", wh, complete_for="net_profit",
                               rows=got.get("discounts_posted"))
    d_disc = -(cents(disc_b["discounts"]) - cents(disc_a["discounts"]))  # signed like the waterfall rows

    def delta(steps: list[str]) -> Decimal:
        return sum((db[s] - da[s] for s in steps), Decimal("0.00"))

    fee_steps = ["referral_fees", "payment_fees", "other_platform_fees", "fulfillment", "storage", "long_term_storage",
                 "return_processing", "promotions"]
    parts = {
        "sales_timing": delta(["gmv", "cogs", "first_leg", "duties"]) + d_disc,
        "refund_timing": delta(["refunds"]),
        "fee_timing": delta(fee_steps) - d_disc,
        "ads_invoicing": delta(["advertising"]),
        "overheads": delta(["overheads"]),
    }
    rows = [("net_profit_order", *pair("cost.bridge.net_profit_order"), da["net_profit"], "start")]
    rows += [(k, *pair(f"cost.bridge.{k}"), parts[k], "timing") for k in _BRIDGE]
    rows.append(("net_profit_posted", *pair("cost.bridge.net_profit_posted"), db["net_profit"], "end"))
    out = pd.DataFrame(rows, columns=["item", "label_zh", "label_en", "amount", "kind"])
    assert sum(out["amount"].iloc[:-1]) == out["amount"].iloc[-1], "bridge does not close"
    # a basis without a covered store has an unknown net profit: so has every line between the two (not 0.00)
    unknown = bool((a["stores_covered"] == 0).any() or (b["stores_covered"] == 0).any())
    out["amount_rc"] = np.nan if unknown else out["amount"].astype(float)
    return out[["item", "label_zh", "label_en", "amount_rc", "kind"]]


def last_month(warehouse: Any = None) -> str:
    """The last month with order data (the default reporting month)."""
    return Warehouse.of(warehouse).last_month()


# ----------------------------------------------------------------------------- unit economics

_UE_KPIS = ["units", "gmv", "refunds", "cogs", "first_leg", "duties", "referral_fees", "payment_fees",
            "other_platform_fees", "fulfillment_fees", "monthly_storage_fees", "long_term_storage_fees", "promotions",
            "ad_spend", "ad_sales", "return_processing", "uncosted_share"]
UE_KPIS = list(_UE_KPIS)  # what unit_economics asks the engine (by SKU, complete for contribution)


def unit_economics(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
                   warehouse: Any = None, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-SKU unit economics (order-date basis), worst contribution first.

    The catalog KPIs by SKU from the engine (over the stores complete for contribution).
    return loss = return-processing fees (refunds themselves are already out of net sales); fees = all
    other SKU-attributed platform, fulfillment, storage and promotion fees; break-even ACoS = pre-ad
    contribution / net sales (the ACoS at which contribution is zero if every sale were ad-driven).
    Costs without a SKU (store-level storage, ads without SKU, overheads) are not in unit economics.
    ``cost_missing`` marks SKUs with sales lacking a unit cost (their COGS is unknown, not 0).
    ``rows``: the entity's ``compute(UE_KPIS, by=["sku"], complete_for="contribution")`` frame,
    precomputed (e.g. one slice of a query over many stores); used instead of querying the engine.
    """
    wh = Warehouse.of(warehouse)
    if period is None:
        period = last_month(wh)
    start, end = period_range(period)
    custom = ".." in str(period)
    df = rows if rows is not None else compute(
        _UE_KPIS, by=["sku"], period="day" if custom else period_kind(period), start=start, end=end,
        filters=_entity_scope(entity_kind, entity_id), warehouse=wh, complete_for="contribution")
    cols = ["sku", "category", "units", "net_sales", "landed_cost_per_unit", "fees_per_unit", "ads_per_unit",
            "return_loss_per_unit", "contribution_per_unit", "margin", "acos", "break_even_acos", "loss_making",
            "contribution", "cost_missing"]
    df = df[df["sku"].notna() & (df["sku"].astype(str).str.strip() != "")]
    if not custom:
        df = df[df["period"] == str(period)]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df = df.assign(uncosted=df["uncosted_share"].fillna(0) * df["gmv"].fillna(0))
    p = df.drop(columns=["period", "uncosted_share"]).groupby("sku").sum(min_count=1).fillna(0.0)
    p = p[(p.drop(columns=["uncosted"]) != 0).any(axis=1)]
    units = p["units"]
    net_sales = p["gmv"] - p["refunds"]
    landed = p["cogs"] + p["first_leg"] + p["duties"]
    fees = p[["referral_fees", "payment_fees", "other_platform_fees", "fulfillment_fees", "monthly_storage_fees",
              "long_term_storage_fees", "promotions"]].sum(axis=1)
    ads = p["ad_spend"]
    ret_loss = p["return_processing"]
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
        "acos": (ads / p["ad_sales"].where(p["ad_sales"] > 0)).values,
        "break_even_acos": (pre_ad / net_sales.where(net_sales != 0)).values,
        "loss_making": (contribution < 0).values,
        "contribution": contribution.values,
        "cost_missing": (p["uncosted"] > 0).values,
    })
    skus = wh.read("skus") if wh.has("skus") else pd.DataFrame(columns=["sku", "category"])
    cat = dict(zip(skus["sku"].astype(str), skus["category"].astype(str))) if len(skus) else {}
    out["category"] = out["sku"].map(cat)
    return out[cols].sort_values(["contribution", "sku"]).reset_index(drop=True)


#: the KPIs of the cost sections' engine rows: the waterfall's, and discounts (the basis bridge's one more);
#: one query on one basis answers both, since every KPI is over the stores complete for net profit
COST_ROW_KPIS: list[str] = [*WATERFALL_KPIS, "discounts"]
COST_BASES: tuple[Literal["order", "posted"], ...] = ("order", "posted")  # the bases `kpi compute` stores them on

#: grains one store-level waterfall query answers (name -> engine dimension; None = the company)
WATERFALL_GRAINS: dict[str, str | None] = {"company": None, "store": "store_id", "platform": "platform",
                                           "marketplace": "marketplace"}


def waterfall_grain_rows(period_kind: str, basis: Literal["order", "posted"] = "order", warehouse: Any = None,
                         start: Any = None, end: Any = None) -> dict[str, pd.DataFrame]:
    """Engine rows of :data:`COST_ROW_KPIS` for every company / store / platform / marketplace × period of
    ``period_kind`` (one store-level query, complete for net profit): an entity's slice is what
    :func:`waterfall` takes as ``rows=`` (and :func:`basis_bridge` for both of its queries on that basis).
    The cost explorer and report batches read them, `kpi compute` stores them."""
    got = compute_long_grains(COST_ROW_KPIS, WATERFALL_GRAINS, period=period_kind, start=start, end=end, basis=basis,
                              warehouse=Warehouse.of(warehouse), complete_for="net_profit")
    for name, dim in WATERFALL_GRAINS.items():
        if dim is not None and dim in got[name]:
            got[name] = got[name].assign(**{dim: got[name][dim].astype(str)})
        got[name] = got[name].assign(period=got[name]["period"].astype(str))
    return got


def unit_rows(period_kind: str, start: Any = None, end: Any = None, warehouse: Any = None) -> pd.DataFrame:
    """Engine rows of :data:`UE_KPIS` per store × SKU × period (complete for contribution): a set of stores'
    rows without ``store_id`` is what :func:`unit_economics` takes as ``rows=``."""
    df = compute(_UE_KPIS, by=["store_id", "sku"], period=period_kind, start=start, end=end,
                 warehouse=Warehouse.of(warehouse), complete_for="contribution")
    return df.assign(store_id=df["store_id"].astype(str), period=df["period"].astype(str))


def loss_makers(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
                n: int = 20, warehouse: Any = None, rows: pd.DataFrame | None = None,
                ue: pd.DataFrame | None = None) -> pd.DataFrame:
    """The loss-making SKUs of ``unit_economics``, worst first (``ue``: that frame, when the caller has it
    for the same entity and period)."""
    if ue is None:
        ue = unit_economics(entity_kind, entity_id, period, warehouse, rows=rows)
    return ue[ue["loss_making"]].head(n).reset_index(drop=True)



# --------------------------------------------------------------------- margin change explanation


def explain_margin_change(entity_kind: str = "company", entity_id: str | None = None, period: str | None = None,
                          prior: str | None = None, basis: Literal["order", "posted"] = "order",
                          warehouse: Any = None, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which cost lines moved net margin, in percentage points; the lines sum to the total change.

    net margin = 1 − Σ cost_i / net_sales, so each line contributes −Δ(cost_i / net_sales).
    ``rows``: precomputed waterfall rows on ``basis`` covering both months (see :func:`waterfall`).
    """
    if period is None:
        period = last_month(warehouse)
    if prior is None:
        prior = shift_period(period, -1)
    a = waterfall(entity_kind, entity_id, prior, basis, warehouse, rows=rows).set_index("step")
    b = waterfall(entity_kind, entity_id, period, basis, warehouse, rows=rows).set_index("step")
    rows = []
    for s in STEPS:
        if s.kind != "cost" or s.step == "refunds":
            continue
        sa = -a.loc[s.step, "pct_of_net_sales"]
        sb = -b.loc[s.step, "pct_of_net_sales"]
        rows.append((s.step, s.label_zh, s.label_en, sa, sb, -(sb - sa) * 100))
    cat = load_catalog()
    rows.append(("net_margin", cat.name("net_margin", "zh"), cat.name("net_margin", "en"), a.loc["net_profit", "pct_of_net_sales"],
                 b.loc["net_profit", "pct_of_net_sales"],
                 (b.loc["net_profit", "pct_of_net_sales"] - a.loc["net_profit", "pct_of_net_sales"]) * 100))
    return pd.DataFrame(rows, columns=["step", "label_zh", "label_en", "share_prior", "share_current", "margin_points"])


# ------------------------------------------------------------------------------------- overheads


def load_overheads(path: Path | None = None) -> Overheads:
    """parameters/overheads.yaml (loaded by :mod:`kpi_lib.spec.overheads`)."""
    return overheads_spec.load(path)


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
        return cents(cents(monthly * 12 * (1 - sub.annual_discount)) / 12)
    return cents(monthly)


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
    if currency == workbench().reporting_currency:
        return Decimal(1)
    fx = wh.read("fx_rates") if wh.has("fx_rates") else pd.DataFrame(columns=["month", "currency", "rate"])
    m = fx[(fx["month"].astype(str).str[:7] == month) & (fx["currency"].astype(str) == currency)]
    if m.empty:
        raise ConfigError(f"overheads.yaml: no FX rate for {currency} in {month}; add it to fx_rates.csv")
    return Decimal(repr(float(m["rate"].iloc[0])))


def overhead_items(month: str, warehouse: Any = None, config: Overheads | None = None) -> pd.DataFrame:
    """item, kind, basis, stores (list), amount_rc (Decimal, cents), label_zh, label_en (display names,
    ``spec.overheads.item_label``) of every overhead active in ``month``."""
    wh = Warehouse.of(warehouse)
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
            amt_rc = cents(amt * _fx(month, it.currency, wh))
            rows.append((it.id, kind, it.basis or cfg.default_basis, list(scope["store_id"]), amt_rc,
                         item_label(it, "zh"), item_label(it, "en")))
    return pd.DataFrame(rows, columns=["item", "kind", "basis", "stores", "amount_rc", "label_zh", "label_en"])


def largest_remainder(total: Decimal, weights: list[float]) -> list[Decimal]:
    """Split ``total`` (cents) in proportion to ``weights`` so that the parts sum exactly to it."""
    n_cents = int(cents(total) / CENT)
    w = np.array([0.0 if math.isnan(float(x)) else max(float(x), 0.0) for x in weights], dtype=float)
    if len(w) == 0:
        return []
    if w.sum() <= 0:
        w = np.ones(len(w))
    raw = n_cents * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    rem = int(n_cents - base.sum())
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
        # one person counts once, split over the distinct stores they work on (a team change mid-month
        # gives two rows for the same store: still one head)
        a = a.drop_duplicates(["person_id", "store_id"])
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
    return compute(["net_sales", "orders", "units"], by=["store_id"], period="month", start=first, end=last,
                   warehouse=wh)


def allocate_overheads(month: str, basis: str | None = None, warehouse: Any = None,
                       config: Overheads | None = None, _bases: pd.DataFrame | None = None) -> pd.DataFrame:
    """store_id, month, item, amount_rc: each overhead item split over its stores by the basis.

    Each item's parts sum exactly to the item (largest remainder on cents), so the allocation sums
    exactly to the overhead total. ``basis`` overrides every item's basis.
    """
    wh = Warehouse.of(warehouse)
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


def overhead_allocations(months: list[str] | None = None, warehouse: Any = None,
                         config: Overheads | None = None) -> pd.DataFrame:
    """store_id, month, item, amount_rc for every month with order data (or ``months``)."""
    wh = Warehouse.of(warehouse)
    cfg = config or load_overheads()
    months = months if months is not None else wh.data_months()
    bases = _basis_table(min(months), max(months), wh) if months else None
    frames = [allocate_overheads(m, warehouse=wh, config=cfg, _bases=bases) for m in months]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"store_id": pd.Series(dtype="string"), "month": pd.Series(dtype="string"),
                             "item": pd.Series(dtype="string"), "amount_rc": pd.Series(dtype="float64")})
    return pd.concat(frames, ignore_index=True)


def allocated_overheads(months: list[str], stores: list[str] | None = None, warehouse: Any = None) -> pd.DataFrame:
    """store_id, month, item, amount_rc as ``kpi compute`` allocated them (table ``overhead_allocations``:
    each item by its own basis): the overheads the waterfall and net profit carry, so every view of a
    store's overheads reads this one figure. Empty (same columns) before compute has run."""
    wh = Warehouse.of(warehouse)
    cols = ["store_id", "month", "item", "amount_rc"]
    if not wh.has("overhead_allocations"):
        return pd.DataFrame(columns=cols)
    df = wh.read("overhead_allocations")
    df = df.assign(store_id=df["store_id"].astype(str), month=df["month"].astype(str).str[:7])
    if "item" not in df.columns:  # a table written without item detail: one line per store and month
        df = df.assign(item="overheads")
    df = df[df["month"].isin(list(months))]
    if stores is not None:
        df = df[df["store_id"].isin([str(s) for s in stores])]
    return df[cols].reset_index(drop=True)


def write_overhead_allocations(warehouse: Any = None, months: list[str] | None = None) -> pd.DataFrame:
    """Write table ``overhead_allocations`` (store_id, month, item, amount_rc) in a transaction of its
    own; the KPI engine reads it. Returns what was written."""
    wh = Warehouse.of(warehouse)
    df = overhead_allocations(months, wh)
    with wh.transaction("overhead allocations") as w:
        w.write("overhead_allocations", df, partition_by=())
    return df


__all__ = [
    "COST_BASES",
    "COST_ROW_KPIS",
    "ENTITY_KINDS",
    "STEPS",
    "UE_KPIS",
    "WATERFALL_GRAINS",
    "WATERFALL_KPIS",
    "Addon",
    "Overheads",
    "RentCost",
    "StaffCost",
    "Step",
    "Subscription",
    "allocate_overheads",
    "allocated_overheads",
    "basis_bridge",
    "engine_figures",
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
    "unit_rows",
    "waterfall",
    "waterfall_grain_rows",
    "write_overhead_allocations",
]
