"""parameters/alerts.yaml: alert rules and the anomaly detector's settings.

Rules are evaluated in :mod:`kpi_lib.alerts`; this module holds the model, its load/validate/save
and the cross-file checks (unknown KPI ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec

Severity = Literal["low", "medium", "high"]


class Rule(StrictModel):
    id: str
    kind: Literal["threshold", "consecutive_below_target", "inventory_cover", "return_rate_spike"]
    kpi: str | None = None
    entity_kind: str = "store"
    severity: Severity = "medium"
    op: Literal[">", ">=", "<", "<="] = ">"
    value: float | None = None
    periods: int = Field(3, ge=1)
    below: float = 1.0
    lead_time_days: float = 45
    safety_days: float = 14
    factor: float = Field(1.5, gt=0)
    window: int = Field(6, ge=2)


class AnomalyConfig(StrictModel):
    kpis: list[str] = Field(default_factory=lambda: ["gmv", "net_margin", "acos"])
    entity_kind: str = "store"
    window: int = Field(6, ge=3)
    z: float = Field(3.5, gt=0)
    severity: Severity = "low"


class AlertConfig(StrictModel):
    """parameters/alerts.yaml"""

    rules: list[Rule] = Field(default_factory=list)
    anomaly: AnomalyConfig | None = Field(default_factory=AnomalyConfig)


def _cross(f: AlertConfig, chk: Checker) -> None:
    seen: set[str] = set()
    for i, r in enumerate(f.rules):
        if r.id in seen:
            chk.add(f"rules[{i}]", "id", f"duplicate rule id {r.id!r}")
        seen.add(r.id)
        chk.kpi(f"rules[{i}] ({r.id})", "kpi", r.kpi)
    if f.anomaly is not None:
        for j, k in enumerate(f.anomaly.kpis):
            chk.kpi("anomaly", f"kpis[{j}]", k)


SPEC: Spec[AlertConfig] = Spec("alerts", AlertConfig, "alerts.yaml", cross=_cross)


def load(path: Path | None = None) -> AlertConfig:
    """parameters/alerts.yaml (no file = no rules, default anomaly detection)."""
    return SPEC.load(path)


def validate(obj: AlertConfig, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown KPIs and duplicate rule ids."""
    return SPEC.validate(obj, context)


def save(obj: AlertConfig, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
