"""parameters/targets/*.yaml: targets per KPI × entity × period, and the status thresholds.

Targets are resolved (cascades, growth, '*' and relative periods) in :mod:`kpi_lib.targets`; this
module holds the file model, its load/validate/save and the cross-file checks (unknown KPI,
store, team, person or contract ids). CSV target files in the same folder use :class:`Target` too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec, check_period_label

EntityKind = Literal["company", "platform", "marketplace", "store", "category", "sku", "team", "person", "contract"]
RELATIVE = ("latest_month", "latest_quarter", "latest_year")  # resolved against the data's last day


class Target(StrictModel):
    """One target row."""

    kpi: str
    entity_kind: EntityKind = "company"
    entity_id: str | None = None
    period: str = Field(description="period label (2026-11, 2026-Q4, 2026), '*' for every month with data, or "
                        "latest_month / latest_quarter / latest_year (the period holding the data's last day)")
    value: float | None = None
    growth: float | None = Field(None, description="target = same period last year × (1 + growth)")
    cascade: bool = False
    ramp_months: int = Field(6, ge=1)
    pacing: Literal["calendar", "seasonal"] = "calendar"
    note: str = ""

    @model_validator(mode="after")
    def _check(self) -> Target:
        if (self.value is None) == (self.growth is None):
            raise ValueError("give exactly one of value or growth")
        if self.period not in ("*", *RELATIVE):
            check_period_label(self.period)
        if self.entity_kind != "company" and not self.entity_id:
            raise ValueError(f"entity_id is required for entity_kind {self.entity_kind}")
        return self


class Threshold(StrictModel):
    green: float = 1.0
    amber: float = 0.9


class TargetsFile(StrictModel):
    """parameters/targets/*.yaml"""

    thresholds: dict[str, Threshold] = Field(default_factory=dict)
    targets: list[Target] = Field(default_factory=list)


def _cross(f: TargetsFile, chk: Checker) -> None:
    for k in f.thresholds:
        chk.kpi("thresholds", str(k), k)
    for i, t in enumerate(f.targets):
        chk.kpi(f"targets[{i}]", "kpi", t.kpi)
        chk.entity(f"targets[{i}]", "entity_id", t.entity_kind, t.entity_id)


SPEC: Spec[TargetsFile] = Spec("targets", TargetsFile, "targets", folder=True, cross=_cross)


def load(path: Path | str) -> TargetsFile:
    """One targets file (a path, or a bare name inside parameters/targets/)."""
    return SPEC.load(path)


def validate(obj: TargetsFile, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown KPIs and entities, each naming file, position and field."""
    return SPEC.validate(obj, context)


def save(obj: TargetsFile, path: Path | str, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
