"""parameters/scorecards.yaml: weighted scorecards for people and teams (curves, floors, caps, gates).

Scores are computed in :mod:`kpi_lib.scorecard`; this module holds the model, the default cards,
the load/validate/save and the cross-file checks (unknown KPI, team, role).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from ..config import StrictModel
from ._base import Checker, Context, Issue, Spec


class CurvePoint(StrictModel):
    at: Literal["threshold", "target", "maximum"]
    payout: float = Field(..., ge=0, description="payout in percent of the KPI's points at this point")


DEFAULT_CURVE = [CurvePoint(at="threshold", payout=50), CurvePoint(at="target", payout=100),
                 CurvePoint(at="maximum", payout=150)]


class ScoreKpi(StrictModel):
    kpi: str
    weight: float = Field(..., ge=0, le=100, description="percent of the total; all weights sum to 100")
    threshold: float
    target: float
    maximum: float
    direction: Literal["up", "down"] | None = Field(None, description="default: the KPI catalog's direction")
    basis: Literal["value", "achievement"] = "value"
    target_value: float | None = Field(None, description="achievement basis: the KPI target")
    growth: float = Field(0.0, description="achievement basis without target: last year × (1 + growth)")
    floor: float = Field(0.0, ge=0, description="minimum payout percent")
    cap: float | None = Field(None, ge=0, description="maximum payout percent (default: the curve's last point)")
    gate: bool = False
    gate_cap: float = Field(50.0, ge=0, description="total capped at these points when this gate KPI is red")

    @model_validator(mode="after")
    def _order(self) -> ScoreKpi:
        t, g, m = self.threshold, self.target, self.maximum
        up, down = t <= g <= m, t >= g >= m
        if not (up or down):
            raise ValueError(f"{self.kpi}: threshold, target, maximum must be monotone (up: t ≤ target ≤ max; "
                             "down: t ≥ target ≥ max)")
        if self.direction == "up" and not up:
            raise ValueError(f"{self.kpi}: higher-is-better needs threshold ≤ target ≤ maximum")
        if self.direction == "down" and not down:
            raise ValueError(f"{self.kpi}: lower-is-better needs threshold ≥ target ≥ maximum")
        if self.cap is not None and self.cap < self.floor:
            raise ValueError(f"{self.kpi}: cap below floor")
        return self


class ScorecardDef(StrictModel):
    id: str
    name: str = ""
    applies_to: Literal["person", "team"] = "person"
    role: str | None = Field(None, description="people with this role (person scorecards)")
    team: str | None = Field(None, description="only this team")
    bonus_base: float | None = Field(None, ge=0, description="bonus at 100 points (reporting currency)")
    curve: list[CurvePoint] = Field(default_factory=lambda: list(DEFAULT_CURVE))
    kpis: list[ScoreKpi] = Field(..., min_length=1)

    @model_validator(mode="after")
    def _weights(self) -> ScorecardDef:
        total = sum(k.weight for k in self.kpis)
        if abs(total - 100.0) > 1e-6:
            raise ValueError(f"scorecard {self.id}: weights sum to {total:g}, must sum to 100")
        ats = [p.at for p in self.curve]
        if sorted(set(ats), key=["threshold", "target", "maximum"].index) != ats:
            raise ValueError(f"scorecard {self.id}: curve points must be threshold, target, maximum in order, once each")
        pays = [p.payout for p in self.curve]
        if pays != sorted(pays):
            raise ValueError(f"scorecard {self.id}: curve payouts must not decrease")
        return self


class ScorecardConfig(StrictModel):
    """parameters/scorecards.yaml"""

    scorecards: list[ScorecardDef] = Field(default_factory=list)


def default_scorecards() -> ScorecardConfig:
    """Used when parameters/scorecards.yaml is absent: one generic person card and one team card."""
    kpis = [
        {"kpi": "gmv", "weight": 40, "basis": "achievement", "growth": 0.1, "threshold": 0.8, "target": 1.0,
         "maximum": 1.2},
        {"kpi": "net_margin", "weight": 30, "threshold": 0.04, "target": 0.10, "maximum": 0.16},
        {"kpi": "return_rate", "weight": 30, "threshold": 0.10, "target": 0.06, "maximum": 0.03},
    ]
    return ScorecardConfig.model_validate({"scorecards": [
        {"id": "default-team", "name": "Team scorecard (default)", "applies_to": "team", "kpis": kpis},
        {"id": "default-person", "name": "Person scorecard (default)", "applies_to": "person", "kpis": kpis},
    ]})


def _cross(f: ScorecardConfig, chk: Checker) -> None:
    seen: set[str] = set()
    for i, card in enumerate(f.scorecards):
        pos = f"scorecards[{i}] ({card.id})"
        if card.id in seen:
            chk.add(pos, "id", f"duplicate scorecard id {card.id!r}")
        seen.add(card.id)
        chk.team(pos, "team", card.team)
        if card.role and chk.ctx.roles is not None and card.role not in chk.ctx.roles:
            chk.add(pos, "role", f"no person has role {card.role!r} (roles in people.csv: "
                                 f"{', '.join(sorted(chk.ctx.roles)) or 'none'})")
        for j, k in enumerate(card.kpis):
            chk.kpi(pos, f"kpis[{j}].kpi", k.kpi)


SPEC: Spec[ScorecardConfig] = Spec("scorecards", ScorecardConfig, "scorecards.yaml", cross=_cross,
                                   default=default_scorecards)


def load(path: Path | None = None) -> ScorecardConfig:
    """parameters/scorecards.yaml, or the default cards when the file does not exist."""
    return SPEC.load(path)


def validate(obj: ScorecardConfig, context: Context | None = None) -> list[Issue]:
    """Model issues plus unknown KPIs, teams and roles."""
    return SPEC.validate(obj, context)


def save(obj: ScorecardConfig, path: Path | None = None, context: Context | None = None) -> bool:
    """Validate, then write round-trip and atomically; False when the file already holds ``obj``."""
    return SPEC.save(obj, path, context)
