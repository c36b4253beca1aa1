"""parameters/adjustments.yaml: manual adjustments (excluded days, overridden targets) with their audit trail.

How adjustments change evaluations is :mod:`kpi_lib.targets`; this module holds the model, its
load/validate/save and the cross-file checks (unknown KPI, entity, or author).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec, check_period_label
from .targets import EntityKind


class Adjustment(StrictModel):
    """One manual adjustment with its audit trail."""

    id: str
    who: str
    when: dt.date
    why: str = Field(min_length=3)
    kind: Literal["exclude_days", "override_target"]
    kpi: str | None = Field(None, description="KPI id; empty = every KPI")
    entity_kind: EntityKind = "store"
    entity_id: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    period: str | None = None
    value: float | None = None

    @model_validator(mode="after")
    def _check(self) -> Adjustment:
        if self.kind == "exclude_days" and (self.start is None or self.end is None or self.end < self.start):
            raise ValueError("exclude_days needs start <= end")
        if self.kind == "override_target" and (self.value is None or not self.period or not self.kpi):
            raise ValueError("override_target needs kpi, period and value")
        if self.period:
            check_period_label(self.period)
        return self


class AdjustmentsFile(StrictModel):
    adjustments: list[Adjustment] = Field(default_factory=list)


def _cross(f: AdjustmentsFile, chk: Checker) -> None:
    seen: set[str] = set()
    for i, a in enumerate(f.adjustments):
        pos = f"adjustments[{i}] ({a.id})"
        if a.id in seen:
            chk.add(pos, "id", f"duplicate adjustment id {a.id!r}")
        seen.add(a.id)
        chk.kpi(pos, "kpi", a.kpi)
        chk.entity(pos, "entity_id", a.entity_kind, a.entity_id)
        chk.person(pos, "who", a.who)


SPEC: Spec[AdjustmentsFile] = Spec("adjustments", AdjustmentsFile, "adjustments.yaml", cross=_cross)


def load(path: Path | None = None) -> AdjustmentsFile:
    """parameters/adjustments.yaml (no file = no adjustments)."""
    return SPEC.load(path)


def validate(obj: AdjustmentsFile, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown KPIs, entities and authors."""
    return SPEC.validate(obj, context)


def save(obj: AdjustmentsFile, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
