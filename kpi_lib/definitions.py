"""The KPI catalog: base measures (SQL aggregates over canonical tables) and KPIs (formulas over them).

Every KPI of ../shared/KPI_CATALOG.md ships here with zh/en names, unit, better direction,
aggregation kind and a formula. Formulas only combine *measures* — named aggregates computed by
DuckDB at the grain asked for — and other KPIs, so a ratio is always a ratio of sums. Medians and
distinct counts are measures of kind ``median`` / ``distinct``: DuckDB computes them from the
underlying rows at every grain (never an average of medians).

Users add KPIs or override fields of built-in ones in ``parameters/kpis.yaml``::

    kpis:
      - id: ad_share          # new KPI: zh, en, unit, direction, formula required
        zh: 广告销售占比
        en: Ad sales share
        unit: pct
        direction: up
        formula: ad_sales / gmv
      - id: acos              # override: only the fields given change
        zh: 广告花费占比

Measure conventions (documented choices):
- orders: non-cancelled lines; ``order_count`` counts distinct (store_id, order_id); COGS and
  first-leg use the ``sku_costs`` row valid on the order date (fallback ``skus``); duties =
  units × unit_cogs × skus.duty_rate. Shipped = status shipped|delivered|returned; returned units =
  quantity of lines with status returned; late = ship_date > promised_ship_date (null = not late).
- return rate = refunded units / shipped units: refunds are the platform-neutral trace of a return
  (Amazon marks no order line "returned"); a refund row without quantity counts as one unit per
  (store, order, sku, date).
- fees: one measure per fee_type ``fee_<type>_rc``. ``advertising`` fees are not used (ad spend comes
  from ``ads``; on the posted basis the engine reads them as ad spend) and ``duty`` fees are not used
  (duties are computed from SKU costs). Every waterfall line is a KPI here (referral_fees,
  payment_fees, other_platform_fees, monthly/long-term storage, return_processing, promotions =
  promotion fees + seller discounts, gross_profit): costs.waterfall reads them, one definition.
- unit costs: a SKU without one gets NULL, never 0 (its COGS is unknown: the store × month's
  ``costs`` coverage is incomplete; ``uncosted_share`` = GMV share affected).
- sources: each measure knows the coverage source kinds it needs (``Measure.sources``); a KPI needs
  the union (``Catalog.sources``) and is computed over the stores that have them (kpi_lib.metrics).
- inventory: sums over daily snapshots (SKU-days); averages divide by the number of snapshot dates.
- listings: SKUs listed at any time in the period; tickets are dated by opened_at.
- overheads: table ``overhead_allocations`` (store_id, month, amount_rc) when present, dated the
  first day of the month; otherwise 0.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from . import paths
from .config import format_validation_error
from .coverage import SOURCES
from .errors import DefinitionError
from .formula import dependency_order, parse, required_measures
from .money import money_sum
from .schemas import FEE_TYPES
from .spec import kpis as kpis_spec
from .spec.kpis import BUILTIN_KPIS, KpiDef, KpiSpec


@dataclass(frozen=True)
class Measure:
    """A named aggregate over one source (see kpi_lib.metrics for the source row sets)."""

    id: str
    table: str
    sql: str  # aggregate expression over the source's columns
    kind: Literal["sum", "median", "distinct"] = "sum"
    description: str = ""
    #: coverage source kinds (kpi_lib.coverage.SOURCES) this measure needs; () = derived from the table
    needs: tuple[str, ...] = ()
    #: False when the aggregate cannot be summed over stores (medians, distinct snapshot dates):
    #: it is then computed at the requested grain over every store's rows
    store_additive: bool = True

    @property
    def sources(self) -> tuple[str, ...]:
        """Coverage source kinds this measure needs (its table's kind, plus ``costs`` for cost measures)."""
        base = (TABLE_SOURCE[self.table],) if self.table in TABLE_SOURCE else ()
        return tuple(dict.fromkeys(base + self.needs))


#: the coverage source kind of each measure table (tables not listed need no coverage: tickets,
#: activities, listings, overheads, calendar, refunds — refunds come with the orders or the settlement)
TABLE_SOURCE = {"orders": "orders", "fees": "fees", "ads": "ads", "traffic": "traffic", "inventory": "inventory"}

NOT_CANCELLED = "status IS DISTINCT FROM 'cancelled'"
SHIPPED = "status IN ('shipped', 'delivered', 'returned')"


def _m(id: str, table: str, sql: str, kind: Literal["sum", "median", "distinct"] = "sum", d: str = "",
       needs: tuple[str, ...] = (), store_additive: bool | None = None) -> Measure:
    additive = kind != "median" if store_additive is None else store_additive
    return Measure(id, table, sql, kind, d, needs, additive)


COSTED = ("costs",)




_MEASURES: list[Measure] = [
    _m("gmv_rc", "orders", money_sum("gross_sales_rc", NOT_CANCELLED), d="gross sales, non-cancelled lines"),
    _m("order_count", "orders", f"count(DISTINCT order_key) FILTER (WHERE {NOT_CANCELLED})", "distinct",
       "distinct (store_id, order_id) of non-cancelled lines"),
    _m("order_lines", "orders", "count(*)", d="order lines (any status): which stores were active"),
    _m("units_sold", "orders", f"sum(quantity) FILTER (WHERE {NOT_CANCELLED})"),
    _m("discounts_rc", "orders", money_sum("coalesce(discounts_rc, 0)", NOT_CANCELLED),
       d="seller-funded discounts of non-cancelled lines (GMV is before discounts)"),
    _m("cogs_rc", "orders", money_sum("quantity * unit_cogs", NOT_CANCELLED),
       d="units × unit_cogs valid on the order date (lines without a cost add nothing: see costs coverage)",
       needs=COSTED),
    _m("first_leg_rc", "orders", money_sum("quantity * first_leg_cost", NOT_CANCELLED), needs=COSTED),
    _m("duties_rc", "orders", money_sum("quantity * unit_cogs * duty_rate", NOT_CANCELLED), needs=COSTED),
    _m("uncosted_gmv_rc", "orders", money_sum("gross_sales_rc", f"{NOT_CANCELLED} AND unit_cogs IS NULL"),
       d="GMV of lines whose SKU has no unit cost on the order date"),
    _m("shipped_units", "orders", f"sum(quantity) FILTER (WHERE {SHIPPED})"),
    _m("returned_units", "orders", "sum(quantity) FILTER (WHERE status = 'returned')"),
    _m("shipped_lines", "orders", f"count(*) FILTER (WHERE {SHIPPED})"),
    _m("late_shipped_lines", "orders", f"count(*) FILTER (WHERE {SHIPPED} AND ship_date > promised_ship_date)"),
    _m("skus_sold", "orders", f"count(DISTINCT store_sku) FILTER (WHERE {NOT_CANCELLED} AND quantity > 0)", "distinct"),
    _m("refunds_rc", "refunds", money_sum("amount_rc")),
    _m("refund_units", "refunds",
       "coalesce(sum(quantity), 0) + count(DISTINCT refund_key) FILTER (WHERE quantity IS NULL)",
       d="refunded units; a refunded line without quantity counts once per (store, order, sku, date)"),
    *[_m(f"fee_{t}_rc", "fees", money_sum("amount_rc", f"fee_type = '{t}'")) for t in FEE_TYPES],
    _m("ad_spend_rc", "ads", money_sum("spend_rc")),
    _m("ad_sales_rc", "ads", money_sum("ad_sales_rc")),
    _m("clicks_sum", "ads", "sum(clicks)"),
    _m("impressions_sum", "ads", "sum(impressions)"),
    _m("ad_orders_sum", "ads", "sum(ad_orders)"),
    _m("sessions_sum", "traffic", "sum(sessions)"),
    _m("page_views_sum", "traffic", "sum(page_views)"),
    _m("sellable_unit_days", "inventory", "sum(sellable)"),
    _m("inventory_dates", "inventory", "count(DISTINCT _date)", "distinct", "number of snapshot dates",
       store_additive=False),
    _m("inventory_value_days_rc", "inventory", money_sum("sellable * unit_cogs"), needs=COSTED),
    _m("ending_sellable", "inventory", "sum(sellable) FILTER (WHERE is_last)",
       d="sellable on each store-SKU's last snapshot date in the period"),
    _m("sku_days", "inventory", "count(*)"),
    _m("stockout_sku_days", "inventory", "count(*) FILTER (WHERE sellable = 0)"),
    _m("aged_unit_days", "inventory", "sum(coalesce(age_181_365, 0) + coalesce(age_365_plus, 0))"),
    _m("skus_listed", "listings", "count(DISTINCT store_sku)", "distinct"),
    _m("ticket_count", "tickets", "count(*)"),
    _m("tickets_answered_24h", "tickets", "count(*) FILTER (WHERE response_hours <= 24)"),
    _m("median_first_response_hours", "tickets", "median(response_hours)", "median"),
    _m("median_dispute_days", "tickets", "median(resolution_hours / 24.0) FILTER (WHERE kind = 'dispute')", "median"),
    _m("median_negative_review_hours", "tickets", "median(resolution_hours) FILTER (WHERE kind = 'negative_review')",
       "median"),
    _m("new_listing_count", "activities", "count(*) FILTER (WHERE kind = 'new_listing')"),
    _m("ad_optimization_count", "activities", "count(*) FILTER (WHERE kind = 'ad_group_optimization')"),
    _m("activity_count", "activities", "count(*)"),
    _m("overheads_rc", "overheads", money_sum("amount_rc")),
    _m("calendar_days", "calendar", "", d="calendar days of the period (clipped to the requested range and data)"),
]
MEASURES: dict[str, Measure] = {m.id: m for m in _MEASURES}


class Catalog:
    """KPIs and measures, with lookups used by metrics, tree, targets and reports."""

    def __init__(self, kpis: dict[str, KpiDef], measures: dict[str, Measure] | None = None) -> None:
        self.kpis = kpis
        self.measures = dict(measures if measures is not None else MEASURES)

    def get(self, kpi_id: str) -> KpiDef:
        try:
            return self.kpis[kpi_id]
        except KeyError:
            raise DefinitionError(
                f"unknown KPI {kpi_id!r}; known KPIs: {', '.join(self.kpis)}"
            ) from None

    def ids(self) -> list[str]:
        return list(self.kpis)

    def name(self, kpi_id: str, lang: str = "zh") -> str:
        d = self.get(kpi_id)
        return d.zh if lang == "zh" else d.en

    def is_additive(self, kpi_id: str) -> bool:
        """True when targets of this KPI add up across stores and months (money/count sums)."""


        d = self.get(kpi_id)
        if d.aggregation != "sum_formula" or d.unit not in ("money", "count"):
            return False
        return not any(isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Div, ast.Mult))
                       for n in ast.walk(parse(d.formula, kpi_id)))

    def sources(self, kpi_id: str) -> tuple[str, ...]:
        """Coverage source kinds a KPI needs: the union over the measures it uses (coverage order)."""

        need = {s for m in required_measures(self, [kpi_id]) for s in self.measures[m].sources}
        return tuple(s for s in SOURCES if s in need)

    def check(self, source: str = "catalog") -> None:
        """Every formula parses, names known measures/KPIs, and no cycles (all issues at once)."""

        issues = []
        for k in self.kpis:
            try:
                dependency_order(self, [k])
            except DefinitionError as exc:
                issues.append(f"{source}: kpis.{k}.formula: {exc}")
        if issues:
            raise DefinitionError("invalid KPI definitions:\n" + "\n".join(f"  - {i}" for i in dict.fromkeys(issues)))


def build_catalog(specs: list[KpiSpec], source: str = "kpis.yaml") -> Catalog:
    kpis = {k.id: k for k in BUILTIN_KPIS}
    issues: list[str] = []
    for i, spec in enumerate(specs):
        given = spec.model_dump(exclude_none=True)
        if spec.id in kpis:
            base = kpis[spec.id].model_dump()
            base.update(given)
            data = base
        else:
            data = given
        try:
            kpis[spec.id] = KpiDef.model_validate(data)
        except ValidationError as err:
            for line in format_validation_error(source, err):
                _, loc, msg = line.split(": ", 2)
                issues.append(f"{source}: kpis[{i}].{loc}: {msg}")
        if spec.id in MEASURES:
            issues.append(f"{source}: kpis[{i}].id: {spec.id!r} is a measure id; choose another KPI id")
    if issues:
        raise DefinitionError(f"{source}: {len(issues)} problem(s)\n" + "\n".join(f"  - {x}" for x in issues))
    cat = Catalog(kpis)
    cat.check(source)
    return cat


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Catalog:
    p = Path(path)
    return build_catalog(kpis_spec.load(p).kpis, p.name)


def load_catalog(path: Path | None = None) -> Catalog:
    """Built-in KPIs plus parameters/kpis.yaml (validated; cached per file version)."""
    p = Path(path) if path is not None else paths.parameters_dir() / "kpis.yaml"
    if not p.is_file():
        return _builtin()
    return _load_cached(str(p), p.stat().st_mtime)


@lru_cache(maxsize=1)
def _builtin() -> Catalog:
    return Catalog({k.id: k for k in BUILTIN_KPIS})
