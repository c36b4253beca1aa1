"""parameters/contracts.yaml: KPI-linked service contracts and their fee models.

The fee rules themselves (lines, rounding, tiers) are computed in :mod:`kpi_lib.settlement`; this
module holds the file's model, its load/validate/save and the cross-file checks (stores of
``stores.csv``). Each fee model may name its statement lines in both languages::

    fee:
      model: base_plus_performance
      base: 30000
      labels:
        base: {label_zh: 基础服务费, label_en: Base fee}
        performance: {label_zh: 绩效服务费, label_en: Performance fee}
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec


class Tier(StrictModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: Decimal = Field(..., alias="from", ge=0, description="tier start: achievement (1.0 = 100 %) or net GMV")
    rate: Decimal = Field(..., ge=0, description="commission rate, or share of the pool")


class Performance(StrictModel):
    kind: Literal["linear", "achievement_tiers", "commission"]
    pool: Decimal | None = Field(None, ge=0, description="performance fee at 100 % achievement (linear, achievement_tiers)")
    min_achievement: Decimal = Field(Decimal(0), ge=0, description="linear: nothing below this achievement")
    max_achievement: Decimal | None = Field(None, ge=0, description="linear: achievement counted at most up to this")
    tiers: list[Tier] = Field(default_factory=list)
    mode: Literal["marginal", "retroactive"] = "marginal"
    cap: Decimal | None = Field(None, ge=0, description="cap on the performance line")

    @model_validator(mode="after")
    def _check(self) -> Performance:
        if self.kind in ("linear", "achievement_tiers") and self.pool is None:
            raise ValueError(f"performance kind {self.kind!r} needs a pool")
        if self.kind in ("achievement_tiers", "commission") and not self.tiers:
            raise ValueError(f"performance kind {self.kind!r} needs tiers")
        froms = [t.from_ for t in self.tiers]
        if froms != sorted(froms) or len(set(froms)) != len(froms):
            raise ValueError("tiers must be in increasing order of 'from'")
        return self


class ItemLabel(StrictModel):
    """Display names of one fee line (statements and reports show names, not slugs)."""

    label_zh: str | None = Field(None, description="Chinese name, e.g. 基础服务费")
    label_en: str | None = Field(None, description="English name, e.g. Base fee")


FEE_ITEMS = ("fixed", "base", "performance", "cap", "floor")
FeeItem = Literal["fixed", "base", "performance", "cap", "floor"]


class FeeModel(StrictModel):
    name: str | None = Field(None, description="label for comparisons")
    labels: dict[FeeItem, ItemLabel] = Field(
        default_factory=dict, description="zh/en names of the statement lines (fixed, base, performance, cap, floor)")
    model: Literal["fixed", "base_plus_performance", "commission"]
    base: Decimal = Field(Decimal(0), ge=0, description="fixed fee / base fee per period")
    performance: Performance | None = None
    cap: Decimal | None = Field(None, ge=0, description="maximum total fee per period")
    floor: Decimal | None = Field(None, ge=0, description="minimum total fee per period")

    @model_validator(mode="after")
    def _check(self) -> FeeModel:
        if self.model == "base_plus_performance" and self.performance is None:
            raise ValueError("base_plus_performance needs a performance block")
        if self.model == "commission" and (self.performance is None or self.performance.kind != "commission"):
            raise ValueError("model commission needs performance.kind: commission")
        if self.cap is not None and self.floor is not None and self.floor > self.cap:
            raise ValueError("floor is above cap")
        return self


class ExitClause(StrictModel):
    below: Decimal = Field(..., gt=0, description="achievement threshold, e.g. 0.8")
    periods: int = Field(..., ge=1, description="consecutive periods below the threshold")


class Contract(StrictModel):
    id: str
    name: str = ""
    client: str = ""
    provider: str = ""
    stores: list[str] = Field(..., min_length=1)
    period: Literal["month", "quarter"] = "month"
    currency: str = Field("CNY", min_length=3, max_length=3)
    start: str | None = Field(None, description="first period (YYYY-MM or YYYY-Qn)")
    end: str | None = None
    net_of_refunds: bool = True
    excluded_skus: list[str] = Field(default_factory=list)
    target: Decimal | None = Field(None, ge=0, description="net GMV target per period (default)")
    targets: dict[str, Decimal] = Field(default_factory=dict, description="net GMV target per period label")
    target_growth: Decimal | None = Field(
        None, description="target = same period last year's net GMV × (1 + growth), when no explicit target")
    fee: FeeModel
    alternatives: list[FeeModel] = Field(default_factory=list, description="other models to compare")
    provider_cost: Decimal = Field(Decimal(0), ge=0, description="provider's cost to serve per period")
    exit_clause: ExitClause | None = None


class ContractsFile(StrictModel):
    """parameters/contracts.yaml"""

    contracts: list[Contract] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ContractsFile:
        ids = [c.id for c in self.contracts]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate contract ids: {', '.join(dup)}")
        return self


def _cross(f: ContractsFile, chk: Checker) -> None:
    for i, c in enumerate(f.contracts):
        for j, s in enumerate(c.stores):
            chk.store(f"contracts[{i}] ({c.id})", f"stores[{j}]", s)


def item_label(fee: FeeModel, item: str, lang: str) -> str | None:
    """The display name of a fee line in ``lang`` (zh/en), or None when the file gives none."""
    lab = fee.labels.get(item)  # type: ignore[call-overload]
    if lab is None:
        return None
    return lab.label_zh if lang == "zh" else lab.label_en


SPEC: Spec[ContractsFile] = Spec("contracts", ContractsFile, "contracts.yaml", cross=_cross)


def load(path: Path | None = None) -> ContractsFile:
    """parameters/contracts.yaml (no file = no contracts)."""
    return SPEC.load(path)


def validate(obj: ContractsFile, context: Context | None = None) -> list[Issue]:
    """Model and cross-file issues (unknown stores), each naming file, position and field."""
    return SPEC.validate(obj, context)


def save(obj: ContractsFile, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)


__all__ = [
    "FEE_ITEMS",
    "SPEC",
    "Contract",
    "ContractsFile",
    "ExitClause",
    "FeeModel",
    "ItemLabel",
    "Performance",
    "Tier",
    "item_label",
    "load",
    "save",
    "validate",
]
