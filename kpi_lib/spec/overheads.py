"""parameters/overheads.yaml: company overheads (staff, rent, tool subscriptions) and how they are allocated.

Costs and allocations are computed in :mod:`kpi_lib.costs`; this module holds the model, its
load/validate/save and the cross-file checks (unknown stores). Each item may carry zh/en display
names (``label_zh`` / ``label_en``) so reports show names, not ids.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec

Basis = Literal["net_sales", "orders", "units", "headcount"]


class Scoped(StrictModel):
    """Fields every overhead item has: when it applies, how it is allocated, its display names."""

    start: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="first month (YYYY-MM) the cost applies")
    end: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="last month (YYYY-MM), empty = open")
    basis: Basis | None = Field(None, description="allocation basis; default = the file's default_basis")
    stores: list[str] = Field(default_factory=list, description="stores that share the cost; empty = all active stores")
    currency: str = Field("CNY", min_length=3, max_length=3)
    label_zh: str | None = Field(None, description="Chinese display name in reports (default: name / vendor)")
    label_en: str | None = Field(None, description="English display name in reports (default: name / vendor)")

    def active(self, month: str) -> bool:
        return (self.start is None or self.start <= month) and (self.end is None or month <= self.end)


class StaffCost(Scoped):
    id: str
    name: str = ""
    monthly_cost: Decimal = Field(..., ge=0, description="fully loaded monthly cost")
    headcount: float = Field(1, ge=0)


class RentCost(Scoped):
    id: str
    name: str = ""
    monthly_cost: Decimal = Field(..., ge=0)


class Addon(StrictModel):
    name: str
    per: Literal["store", "platform", "flat"] = Field("store", description="priced per store, per platform or once")
    price: Decimal = Field(..., ge=0, description="price per unit per month (before annual discount)")
    platforms: list[str] = Field(default_factory=list, description="only these platforms count (empty = all)")


class Subscription(Scoped):
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


def item_label(item: StaffCost | RentCost | Subscription, lang: str) -> str:
    """The display name of an overhead item in ``lang``: label_zh / label_en, else name / vendor, else id."""
    lab = item.label_zh if lang == "zh" else item.label_en
    return lab or getattr(item, "name", "") or getattr(item, "vendor", "") or item.id


def _cross(f: Overheads, chk: Checker) -> None:
    seen: set[str] = set()
    for group in ("staff", "rent", "subscriptions"):
        for i, item in enumerate(getattr(f, group)):
            pos = f"{group}[{i}] ({item.id})"
            if item.id in seen:
                chk.add(pos, "id", f"duplicate overhead id {item.id!r}")
            seen.add(item.id)
            for j, s in enumerate(item.stores):
                chk.store(pos, f"stores[{j}]", s)
            if isinstance(item, Subscription):
                for j, ad in enumerate(item.addons):
                    for k, plat in enumerate(ad.platforms):
                        if chk.ctx.platforms is not None and plat not in chk.ctx.platforms:
                            chk.add(pos, f"addons[{j}].platforms[{k}]", f"unknown platform {plat!r} (known: "
                                    f"{', '.join(sorted(chk.ctx.platforms)) or 'none'})")


SPEC: Spec[Overheads] = Spec("overheads", Overheads, "overheads.yaml", cross=_cross)


def load(path: Path | None = None) -> Overheads:
    """parameters/overheads.yaml (no file = no overheads)."""
    return SPEC.load(path)


def validate(obj: Overheads, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown stores / platforms and duplicate ids."""
    return SPEC.validate(obj, context)


def save(obj: Overheads, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
