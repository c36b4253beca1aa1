"""parameters/kpis.yaml: KPIs added to or overriding the built-in catalog, and the built-in KPIs.

The measures (SQL aggregates) and the catalog that checks formulas live in :mod:`kpi_lib.definitions`;
this module holds the KPI model, the built-in KPI list, the file's model and its load/validate/save.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec

Unit = Literal["money", "count", "pct", "ratio", "days", "hours"]
Direction = Literal["up", "down"]
Aggregation = Literal["sum_formula", "median", "distinct"]


class KpiDef(StrictModel):
    """One KPI of the catalog."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="snake_case id used in formulas and YAML")
    zh: str = Field(description="Chinese name")
    en: str = Field(description="English name")
    unit: Unit
    direction: Direction = Field(description="better direction: up = higher is better")
    aggregation: Aggregation = "sum_formula"
    formula: str = Field(description="arithmetic over measures and KPIs: + - * / ( ) numbers min max abs")
    description: str = ""


def _k(id: str, zh: str, en: str, formula: str, unit: Unit, direction: Direction,
       aggregation: Aggregation = "sum_formula") -> KpiDef:
    return KpiDef(id=id, zh=zh, en=en, formula=formula, unit=unit, direction=direction, aggregation=aggregation)


_OTHER_PLATFORM = ("subscription", "refund", "other")

BUILTIN_KPIS: list[KpiDef] = [
    _k("gmv", "销售额", "GMV", "gmv_rc", "money", "up"),
    _k("refunds", "退款额", "Refunds", "refunds_rc", "money", "down"),
    _k("net_sales", "净销售额", "Net sales", "gmv - refunds", "money", "up"),
    _k("orders", "订单量", "Orders", "order_count", "count", "up", "distinct"),
    _k("units", "销量", "Units", "units_sold", "count", "up"),
    _k("aov", "客单价", "Average order value", "gmv / orders", "money", "up"),
    _k("sessions", "访客数", "Sessions", "sessions_sum", "count", "up"),
    _k("cvr", "转化率", "Conversion rate", "orders / sessions", "pct", "up"),
    _k("ad_spend", "广告花费", "Ad spend", "ad_spend_rc", "money", "down"),
    _k("ad_sales", "广告销售额", "Ad sales", "ad_sales_rc", "money", "up"),
    _k("acos", "广告成本销售比", "ACoS", "ad_spend / ad_sales", "pct", "down"),
    _k("roas", "广告投入产出比", "ROAS", "ad_sales / ad_spend", "ratio", "up"),
    _k("tacos", "总广告成本占比", "TACoS", "ad_spend / gmv", "pct", "down"),
    _k("clicks", "点击量", "Clicks", "clicks_sum", "count", "up"),
    _k("impressions", "曝光量", "Impressions", "impressions_sum", "count", "up"),
    _k("cpc", "单次点击成本", "CPC", "ad_spend / clicks", "money", "down"),
    _k("ctr", "点击率", "CTR", "clicks / impressions", "pct", "up"),
    _k("cogs", "商品成本", "COGS", "cogs_rc", "money", "down"),
    _k("first_leg", "头程物流费", "First-leg freight", "first_leg_rc", "money", "down"),
    _k("duties", "关税", "Duties", "duties_rc", "money", "down"),
    _k("referral_fees", "平台佣金", "Referral fees", "fee_referral_rc", "money", "down"),
    _k("payment_fees", "支付手续费", "Payment fees", "fee_payment_rc", "money", "down"),
    _k("other_platform_fees", "其他平台费用", "Other platform fees",
       " + ".join(f"fee_{t}_rc" for t in _OTHER_PLATFORM), "money", "down"),
    _k("platform_fees", "平台费用", "Platform fees", "referral_fees + payment_fees + other_platform_fees", "money",
       "down"),
    _k("fulfillment_fees", "配送费", "Fulfillment fees", "fee_fulfillment_rc + fee_shipping_label_rc", "money", "down"),
    _k("monthly_storage_fees", "仓储费(月度)", "Storage fees (monthly)", "fee_storage_rc", "money", "down"),
    _k("long_term_storage_fees", "长期仓储费", "Long-term storage fees", "fee_long_term_storage_rc", "money", "down"),
    _k("storage_fees", "仓储费", "Storage fees", "monthly_storage_fees + long_term_storage_fees", "money", "down"),
    _k("return_processing", "退货处理费", "Returns processing", "fee_return_processing_rc", "money", "down"),
    _k("discounts", "卖家折扣", "Seller discounts", "discounts_rc", "money", "down"),
    _k("promotions", "促销费用", "Promotions", "fee_promotion_rc + discounts", "money", "down"),
    _k("gross_profit", "毛利", "Gross profit", "net_sales - cogs - first_leg - duties", "money", "up"),
    _k("contribution", "贡献利润", "Contribution profit",
       "gross_profit - platform_fees - fulfillment_fees - storage_fees - ad_spend - return_processing - promotions",
       "money", "up"),
    _k("overheads", "分摊管理费用", "Allocated overheads", "overheads_rc", "money", "down"),
    _k("net_profit", "净利润", "Net profit", "contribution - overheads", "money", "up"),
    _k("gross_margin", "毛利率", "Gross margin", "gross_profit / net_sales", "pct", "up"),
    _k("contribution_margin", "贡献利润率", "Contribution margin", "contribution / net_sales", "pct", "up"),
    _k("net_margin", "净利润率", "Net profit margin", "net_profit / net_sales", "pct", "up"),
    _k("return_rate", "退货率", "Return rate", "refund_units / shipped_units", "pct", "down"),
    _k("inventory_days", "库存周转天数", "Days of inventory",
       "(sellable_unit_days / inventory_dates) / (units / calendar_days)", "days", "down"),
    _k("inventory_turnover", "库存周转率", "Inventory turnover",
       "cogs / (inventory_value_days_rc / inventory_dates)", "ratio", "up"),
    _k("sell_through", "售罄率", "Sell-through rate", "units / (units + ending_sellable)", "pct", "up"),
    _k("stockout_rate", "缺货率", "Stock-out rate", "stockout_sku_days / sku_days", "pct", "down"),
    _k("aged_inventory_share", "超龄库存占比", "Aged inventory share (>180 d)",
       "aged_unit_days / sellable_unit_days", "pct", "down"),
    _k("active_sku_rate", "动销率", "Active SKU rate", "skus_sold / skus_listed", "pct", "up", "distinct"),
    _k("first_response_hours", "首次响应时效", "First response time", "median_first_response_hours", "hours", "down",
       "median"),
    _k("response_24h_rate", "24小时响应率", "Answered within 24 h", "tickets_answered_24h / ticket_count", "pct", "up"),
    _k("dispute_days", "纠纷处理周期", "Dispute resolution time", "median_dispute_days", "days", "down", "median"),
    _k("negative_review_hours", "差评处理时效", "Negative-review handling time", "median_negative_review_hours",
       "hours", "down", "median"),
    _k("new_listings", "上新数量", "New listings", "new_listing_count", "count", "up"),
    _k("ad_optimizations", "广告组优化次数", "Ad-group optimizations", "ad_optimization_count", "count", "up"),
    _k("late_shipment_rate", "迟发率", "Late shipment rate", "late_shipped_lines / shipped_lines", "pct", "down"),
    _k("uncosted_share", "无成本销售占比", "Sales without unit cost", "uncosted_gmv_rc / gmv", "pct", "down"),
]


class KpiSpec(StrictModel):
    """An entry of parameters/kpis.yaml: a new KPI (all fields) or an override (id + changed fields)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    zh: str | None = None
    en: str | None = None
    unit: Unit | None = None
    direction: Direction | None = None
    aggregation: Aggregation | None = None
    formula: str | None = None
    description: str | None = None


class KpisFile(StrictModel):
    """parameters/kpis.yaml"""

    kpis: list[KpiSpec] = Field(default_factory=list)


def known_ids(f: KpisFile | None) -> set[str]:
    """KPI ids of the built-in catalog plus those of a kpis.yaml model."""
    return {k.id for k in BUILTIN_KPIS} | ({k.id for k in f.kpis} if f is not None else set())


_BUILTIN_IDS = frozenset(k.id for k in BUILTIN_KPIS)


def _cross(f: KpisFile, chk: Checker) -> None:
    seen: set[str] = set()
    for i, k in enumerate(f.kpis):
        if k.id in seen:
            chk.add(f"kpis[{i}]", "id", f"duplicate KPI id {k.id!r}")
        seen.add(k.id)
        if k.id not in _BUILTIN_IDS:
            missing = [n for n in ("zh", "en", "unit", "direction", "formula") if getattr(k, n) is None]
            if missing:
                chk.add(f"kpis[{i}] ({k.id})", missing[0],
                        f"a new KPI needs {', '.join(missing)} (only overrides of built-in KPIs may leave them out)")


SPEC: Spec[KpisFile] = Spec("kpis", KpisFile, "kpis.yaml", cross=_cross)


def load(path: Path | None = None) -> KpisFile:
    """parameters/kpis.yaml (no file = no additions)."""
    return SPEC.load(path)


def validate(obj: KpisFile, context: Context | None = None) -> list[Issue]:
    """Model issues plus duplicate ids and incomplete new KPIs (formulas are checked by the catalog)."""
    return SPEC.validate(obj, context)


def save(obj: KpisFile, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)


__all__ = [
    "BUILTIN_KPIS",
    "SPEC",
    "Aggregation",
    "Direction",
    "KpiDef",
    "KpiSpec",
    "KpisFile",
    "Unit",
    "known_ids",
    "load",
    "save",
    "validate",
]
