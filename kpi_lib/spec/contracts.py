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

The statement a client signs reads the optional document fields (files without them still load; the
statement then shows no address, no tax line and no due date)::

    reference: NWG-SZ-2025-017            # the contract number as signed
    provider_party: {legal_name: 深圳北风增长营销有限公司, legal_name_en: …, address: …, tax_id: …,
                     signatory: …}
    client_party: {legal_name: …}
    tax: {rate: 0.06, fees_are: net}      # net: tax added on top; gross: the fee lines include it
    payment: {terms_days: 30, due_from: period_end, bank: …, account_name: …, account_no: …,
              reference: "{contract}-{period}"}
"""

from __future__ import annotations

import string
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
    label_zh: str | None = Field(None, description="the model's name on Chinese pages (default: name)")
    label_en: str | None = Field(None, description="the model's name on English pages (default: name)")
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


class Party(StrictModel):
    """A party of the contract as the signed statement prints it."""

    legal_name: str = Field(..., min_length=1, description="registered name, e.g. 深圳北风增长营销有限公司")
    legal_name_en: str | None = Field(None, description="the name English statements print (default: legal_name)")
    address: str | None = Field(None, description="registered address")
    address_en: str | None = Field(None, description="the address English statements print (default: address)")
    tax_id: str | None = Field(None, description="unified social credit code / VAT or tax number")
    signatory: str | None = Field(None, description="who signs, e.g. 王磊（财务总监）")
    signatory_en: str | None = Field(None, description="who signs, in English (default: signatory)")


class Tax(StrictModel):
    """Tax (VAT) on the fee: ``net`` fee lines get the tax added on top (tax = subtotal × rate); ``gross``
    fee lines already include it (tax shown = subtotal × rate / (1 + rate)). Each rounded half-up to cents."""

    rate: Decimal = Field(..., ge=0, lt=1, description="e.g. 0.06 for 6 %")
    fees_are: Literal["net", "gross"] = Field("net", description="net: tax added to the fees; gross: fees include it")
    label_zh: str | None = Field(None, description="the tax's name in Chinese (default 增值税)")
    label_en: str | None = Field(None, description="the tax's name in English (default VAT)")


PAYMENT_REF_FIELDS = ("contract", "period")


class Payment(StrictModel):
    """Payment terms: due date = the period's last day (or the statement's issue date) + ``terms_days``."""

    terms_days: int = Field(..., ge=0, le=365, description="days to pay")
    due_from: Literal["period_end", "issue_date"] = Field("period_end", description="what the days count from")
    bank: str | None = Field(None, description="bank and branch")
    bank_en: str | None = Field(None, description="bank and branch in English (default: bank)")
    account_name: str | None = None
    account_no: str | None = None
    swift: str | None = None
    reference: str | None = Field(None, description="payment reference; may use {contract} and {period}")

    @model_validator(mode="after")
    def _check(self) -> Payment:
        if self.reference:
            used = {f for _, f, _, _ in string.Formatter().parse(self.reference) if f is not None}
            bad = sorted(used - set(PAYMENT_REF_FIELDS))
            if bad:
                raise ValueError(f"payment.reference may use {{contract}} and {{period}} only, not "
                                 f"{', '.join('{' + b + '}' for b in bad)}")
        return self


class Contract(StrictModel):
    id: str
    name: str = ""
    name_zh: str = Field("", description="the name Chinese reports print (default: name)")
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
    reference: str | None = Field(None, description="contract number as signed, printed on statements")
    provider_party: Party | None = Field(None, description="provider's legal name, address, tax id, signatory")
    client_party: Party | None = Field(None, description="client's legal name, address, tax id, signatory")
    tax: Tax | None = Field(None, description="tax / VAT on the fee; no tax line when not set")
    payment: Payment | None = Field(None, description="payment terms (days) and bank details")

    def display_name(self, lang: str) -> str:
        """The contract's name on a page in ``lang``: name_zh on Chinese pages when it has one, else name."""
        return (self.name_zh or self.name) if lang == "zh" else self.name


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
    "PAYMENT_REF_FIELDS",
    "SPEC",
    "Contract",
    "ContractsFile",
    "ExitClause",
    "FeeModel",
    "ItemLabel",
    "Party",
    "Payment",
    "Performance",
    "Tax",
    "Tier",
    "item_label",
    "load",
    "save",
    "validate",
]
