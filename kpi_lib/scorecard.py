"""Weighted scorecards for people and teams: payout curves, caps, floors and gate KPIs.

A scorecard (parameters/scorecards.yaml) lists KPIs with a weight (percent; all weights sum to 100),
a threshold, a target and a maximum. The payout curve maps the actual to a payout in percent of the
KPI's points: 0 below the threshold, then linear between the curve points (default 50 % at the
threshold, 100 % at the target, 150 % at the maximum), flat above the maximum. Lower-is-better KPIs
(direction ``down``: threshold > target > maximum) are mirrored. ``floor``/``cap`` bound a KPI's
payout. A ``gate`` KPI that is red (worse than its threshold) caps the total at ``gate_cap`` points (a gate
KPI without data is not red: no data is not a breach).
weighted points = weight × payout / 100, total = Σ weighted points (100 = every KPI on target);
a total above 100 means KPIs beyond their target (the stretch zone up to the maximum, where the curve
is capped). The bonus is shown line by line: weight × payout × bonus_base = amount (each line rounded to
cents; a gate cap is its own negative line), and the bonus is the sum of its lines.

Missing is not zero: a weighted line whose actual is unknown (no data) or incomplete (a source missing
for some of the stores, e.g. no ads export: net profit would be overstated) is *open*. An unknown actual
is not scored (its payout and points are NaN, not the floor), and a card with an open line has no total
and no bonus (``total`` NaN, ``bonus`` None, ``bonus_withheld``): ``open`` says which lines and why, and
``provisional_total`` is the total over the lines that could be scored, shown as such.

Targets: a KPI target set for the entity and period (``kpi_lib.targets.target_for``, the one target
reports and settlements read) replaces the line's ``target``; its threshold and maximum keep their
configured distance from the target (a difference for ratios, a ratio for money and counts).

``basis: achievement`` lines compare direction-aware achievement (actual vs a KPI target) instead of
the raw value (their threshold/target/maximum columns in the lines are shown as KPI values); the KPI target is ``target_value``, else a kpi_lib.targets target of the entity, else
the same period last year × (1 + growth).

KPI actuals come from the KPI engine (kpi_lib.metrics.compute): a team's stores on each date, a
person's stores on each date, and for a person within a team only the dates the person was in it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import org
from .definitions import load_catalog
from .errors import ConfigError, KpiError
from .labels import label
from .metrics import compute_long
from .money import cents
from .periods import period_bounds, period_kind
from .spec import scorecards as scorecards_spec
from .spec.scorecards import (  # noqa: F401 - re-exported
    DEFAULT_CURVE,
    CurvePoint,
    ScorecardConfig,
    ScorecardDef,
    ScoreKpi,
    default_scorecards,
)
from .targets import achievement as achievement_of
from .targets import growth_target, target_for
from .warehouse import Warehouse


def load_scorecards(path: Path | None = None) -> ScorecardConfig:
    """parameters/scorecards.yaml, or the default cards when the file does not exist."""
    return scorecards_spec.load(path)


# ----------------------------------------------------------------------------------- the curve


def payout(actual: float, line: ScoreKpi, curve: list[CurvePoint] | None = None, direction: str | None = None) -> float:
    """Payout percent of one KPI: 0 below threshold, linear between curve points, capped and floored."""
    curve = curve or DEFAULT_CURVE
    d = direction or line.direction or ("up" if line.maximum >= line.threshold else "down")
    if actual is None or not math.isfinite(actual):
        return float(line.floor)
    sign = 1.0 if d == "up" else -1.0
    x = sign * actual
    pos = {"threshold": sign * line.threshold, "target": sign * line.target, "maximum": sign * line.maximum}
    pts = [(pos[p.at], p.payout) for p in curve]
    if x < pts[0][0]:
        val = 0.0
    elif x >= pts[-1][0]:
        val = pts[-1][1]
    else:
        val = float(np.interp(x, [p[0] for p in pts], [p[1] for p in pts]))
    cap = line.cap if line.cap is not None else pts[-1][1]
    return float(min(max(val, line.floor), cap))


# ------------------------------------------------------------------------------------ scoring


@dataclass
class Scorecard:
    entity_kind: str
    entity_id: str
    team_id: str | None
    period: str
    scorecard_id: str
    start: str
    end: str
    lines: pd.DataFrame
    total: float
    gated: bool
    bonus: float | None
    name: str = ""
    notes: list[str] = field(default_factory=list)
    curve: list[CurvePoint] = field(default_factory=lambda: list(DEFAULT_CURVE))
    bonus_base: float | None = None
    gate_cap: float | None = None
    uncapped_total: float | None = None
    #: the weighted lines that could not be scored: [{"kpi", "missing"}] (see the module docstring)
    open: list[dict[str, str]] = field(default_factory=list)
    provisional_total: float | None = None  # the total over the scorable lines, when some are open
    bonus_withheld: bool = False  # a bonus base is set but the card is open: no bonus until it is complete

    def bonus_lines(self) -> pd.DataFrame:
        """kpi, weight, payout_pct, pool, amount: weight % × payout % × pool = amount per KPI (cents),
        plus a ``gate`` line when a red gate caps the total; the amounts sum to ``bonus``. Empty while the
        card is open (no bonus is computed on incomplete actuals)."""
        if self.open:
            return bonus_lines(self.lines, None, self.gated, self.total)
        return bonus_lines(self.lines, self.bonus_base, self.gated, self.total)

    def to_dict(self) -> dict[str, Any]:
        recs = self.lines.replace({np.nan: None}).to_dict("records")
        return {
            "entity_kind": self.entity_kind, "entity_id": self.entity_id, "team_id": self.team_id,
            "name": self.name, "period": self.period, "scorecard": self.scorecard_id, "start": self.start,
            "end": self.end, "lines": recs, "total": self.total, "gated": self.gated, "bonus": self.bonus,
            "notes": list(self.notes), "curve": [c.model_dump() for c in self.curve], "bonus_base": self.bonus_base,
            "uncapped_total": self.uncapped_total, "open": list(self.open),
            "provisional_total": self.provisional_total, "bonus_withheld": self.bonus_withheld,
            "bonus_lines": self.bonus_lines().replace({np.nan: None}).to_dict("records"),
        }


def _cents(x: float) -> float:
    """``money.cents`` as a float; unknown (NaN) stays unknown."""
    return x if math.isnan(x) else float(cents(x))


def bonus_lines(lines: pd.DataFrame, base: float | None, gated: bool, total: float) -> pd.DataFrame:
    """The bonus line by line (see :meth:`Scorecard.bonus_lines`); empty without a bonus base."""
    cols = ["kpi", "label_zh", "label_en", "weight", "payout_pct", "pool", "amount"]
    if base is None:
        return pd.DataFrame(columns=cols)
    rows = [(r.kpi, r.label_zh, r.label_en, float(r.weight), float(r.payout_pct), float(base),
             _cents(float(base) * float(r.weight) / 100.0 * float(r.payout_pct) / 100.0))
            for r in lines.itertuples() if float(r.weight) > 0]
    out = pd.DataFrame(rows, columns=cols)
    if gated:
        capped = _cents(float(base) * float(total) / 100.0)
        adj = _cents(capped - float(out["amount"].sum()))
        if adj != 0:
            out.loc[len(out)] = ["gate", label("scorecard.gate_line", "zh"), label("scorecard.gate_line", "en"),
                                 np.nan, np.nan, float(base), adj]
    return out


LINE_COLUMNS = ["kpi", "label_zh", "label_en", "weight", "threshold", "target", "maximum", "direction", "actual",
                "achievement", "payout_pct", "points", "weighted_points", "gate", "gate_red", "basis", "cap", "floor",
                "target_source"]


def _retarget(ln: ScoreKpi, target: float, unit: str) -> ScoreKpi:
    """The line with ``target`` as its target; threshold and maximum keep their distance from it
    (difference for ratios, ratio for money and counts; a zero configured target keeps differences)."""
    if unit in ("money", "count") and ln.target != 0:
        f = target / ln.target
        thr, mx = ln.threshold * f, ln.maximum * f
    else:
        thr, mx = target + (ln.threshold - ln.target), target + (ln.maximum - ln.target)
    return ln.model_copy(update={"target": target, "threshold": thr, "maximum": mx})


def score_lines(card: ScorecardDef, actuals: dict[str, float], catalog: Any = None,
                kpi_targets: dict[str, float] | None = None,
                value_targets: dict[str, float] | None = None) -> tuple[pd.DataFrame, float, bool]:
    """(lines, total, gated) for given KPI actuals — pure, no warehouse. A line whose actual (achievement,
    for ``basis: achievement``) is unknown is not scored: NaN payout and points, left out of ``total``.

    ``kpi_targets``: what achievement lines compare against; ``value_targets``: the entity's KPI targets
    for the period, used as a value line's target (see :func:`_retarget`)."""
    rows = []
    gated, gate_cap = False, math.inf
    last_pay = card.curve[-1].payout if card.curve else DEFAULT_CURVE[-1].payout
    for ln in card.kpis:
        kt_value = (value_targets or {}).get(ln.kpi, float("nan"))
        source = "scorecards.yaml"
        if ln.basis == "value" and kt_value is not None and math.isfinite(kt_value):
            kd0 = catalog.get(ln.kpi) if catalog is not None and ln.kpi in getattr(catalog, "kpis", {}) else None
            ln = _retarget(ln, float(kt_value), getattr(kd0, "unit", "pct") if kd0 is not None else "pct")
            source = "targets"
        elif ln.basis == "achievement":
            source = "target_value" if ln.target_value is not None else str(
                (kpi_targets or {}).get(f"{ln.kpi}:source", "targets"))
        kd = catalog.get(ln.kpi) if catalog is not None else None
        direction = ln.direction or (kd.direction if kd is not None else ("up" if ln.maximum >= ln.threshold else "down"))
        if (direction == "up" and not ln.threshold <= ln.target <= ln.maximum) or (
                direction == "down" and not ln.threshold >= ln.target >= ln.maximum):
            raise ConfigError(f"scorecards.yaml: {card.id}.{ln.kpi} is {direction}-is-better but its threshold, "
                              "target and maximum are ordered the other way")
        actual = actuals.get(ln.kpi, float("nan"))
        actual = float("nan") if actual is None else float(actual)
        if ln.basis == "achievement":
            kt = (kpi_targets or {}).get(ln.kpi, float("nan"))
            measured = float(achievement_of(actual, kt, direction)) if not math.isnan(kt) else float("nan")
            cmp_dir = "up" if ln.threshold <= ln.maximum else "down"
            pay = payout(measured, ln, card.curve, cmp_dir)
            achievement, tgt = measured, kt

            def level(x: float, kt: float = kt, d: str = direction) -> float:  # achievement level -> KPI value
                return kt * x if d == "up" else kt * (2 - x) if kt >= 0 else float("nan")

            thr, mx = level(ln.threshold), level(ln.maximum)
            red = math.isfinite(measured) and (measured < ln.threshold if cmp_dir == "up" else measured > ln.threshold)
        else:
            pay = payout(actual, ln, card.curve, direction)
            tgt, thr, mx = ln.target, ln.threshold, ln.maximum
            achievement = float(achievement_of(actual, ln.target, direction)) if math.isfinite(actual) else float("nan")
            red = math.isfinite(actual) and (actual < ln.threshold if direction == "up" else actual > ln.threshold)
        if ln.gate and red:
            gated, gate_cap = True, min(gate_cap, ln.gate_cap)
        if not math.isfinite(achievement if ln.basis == "achievement" else actual):
            pay = float("nan")  # unknown: not scored (missing is not zero; the card says the line is open)
        rows.append((ln.kpi, kd.zh if kd else ln.kpi, kd.en if kd else ln.kpi, ln.weight, thr, tgt,
                     mx, direction, actual, achievement, pay, pay, ln.weight * pay / 100.0, ln.gate,
                     bool(ln.gate and red), ln.basis, float(ln.cap if ln.cap is not None else last_pay),
                     float(ln.floor), source))
    df = pd.DataFrame(rows, columns=LINE_COLUMNS)
    total = float(df["weighted_points"].sum())  # over the scored lines (NaN: not scored)
    if gated:
        total = min(total, gate_cap)
    return df, round(total, 4), gated



def _person_role(person_id: str, wh: Warehouse) -> str | None:
    if not wh.has("people"):
        return None
    p = wh.read("people")
    m = p[p["person_id"].astype(str) == person_id]
    return str(m["role"].iloc[0]) if len(m) and "role" in m.columns else None


def _find(cfg: ScorecardConfig, kind: str, team_id: str | None, role: str | None) -> ScorecardDef | None:
    """The most specific card for kind × team × role (team beats role beats neither), None when none applies."""
    best, best_rank = None, -1
    for c in cfg.scorecards:
        if c.applies_to != kind or (c.team and c.team != team_id) or (c.role and c.role != role):
            continue
        rank = (c.team is not None) * 2 + (c.role is not None)
        if rank > best_rank:
            best, best_rank = c, rank
    return best


def _pick(cfg: ScorecardConfig, kind: str, team_id: str | None, role: str | None, scorecard_id: str | None) -> ScorecardDef:
    if scorecard_id:
        for c in cfg.scorecards:
            if c.id == scorecard_id:
                return c
        raise ConfigError(f"scorecards.yaml: no scorecard {scorecard_id!r}")
    best = _find(cfg, kind, team_id, role)
    if best is None:
        raise ConfigError(f"scorecards.yaml: no {kind} scorecard for team={team_id} role={role}; add one")
    return best


#: (kpis, period, dim, entity_id, filters) → the ``compute_long(kpis, by=[dim], filters={dim: entity_id,
#: **filters})`` rows, precomputed (a report batch's set-based query); see :func:`score`
ActualsFn = Callable[[list[str], str, str, str, dict[str, str]], pd.DataFrame]


def _actuals_long(kpis: list[str], period: str, dim: str, entity_id: str, filters: dict[str, str],
                  wh: Warehouse, actuals: ActualsFn | None = None) -> pd.DataFrame:
    """kpi → value, complete, missing, stores_covered, stores_total from the KPI engine (compute_long)."""
    kind = period_kind(period)
    df = actuals(kpis, period, dim, entity_id, filters) if actuals is not None else compute_long(
        kpis, by=[dim], period=kind, start=period, end=period, filters={dim: entity_id, **filters}, warehouse=wh)
    df = df[df[dim].astype("string") == entity_id] if len(df) else df
    out = df.drop_duplicates("kpi").set_index("kpi") if len(df) else pd.DataFrame(
        columns=["value", "complete", "missing", "stores_covered", "stores_total"])
    return out.reindex(kpis)


def _actuals(kpis: list[str], period: str, dim: str, entity_id: str, filters: dict[str, str],
             wh: Warehouse, actuals: ActualsFn | None = None) -> dict[str, float]:
    long = _actuals_long(kpis, period, dim, entity_id, filters, wh, actuals)
    return {k: float(long.at[k, "value"]) if pd.notna(long.at[k, "value"]) else float("nan") for k in kpis}


def kpi_target(kpi: str, entity_kind: str, entity_id: str, period: str, warehouse: Any = None) -> float:
    """The entity's target for the KPI and period, the same one reports and settlements read:
    ``kpi_lib.targets.target_for`` (NaN when none is set)."""
    v = target_for(kpi, entity_kind, entity_id, period, warehouse=Warehouse.of(warehouse))
    return float("nan") if v is None else float(v)


def _kpi_targets(card: ScorecardDef, period: str, dim: str, entity_kind: str, entity_id: str,
                 filters: dict[str, str], wh: Warehouse, actuals: ActualsFn | None = None) -> dict[str, float]:
    """KPI targets of the card's lines: ``target_value``, else the entity's target (:func:`kpi_target`),
    else (achievement lines) the same period last year × (1 + growth)."""
    out: dict[str, float] = {}
    for ln in card.kpis:
        if ln.basis != "achievement":
            continue
        if ln.target_value is not None:
            out[ln.kpi] = ln.target_value
            continue
        t = kpi_target(ln.kpi, entity_kind, entity_id, period, wh)
        if math.isfinite(t):
            out[ln.kpi] = t
            continue
        g = growth_target(period, ln.growth,
                          lambda ly, k=ln.kpi: _actuals([k], ly, dim, entity_id, filters, wh, actuals).get(
                              k, float("nan")))
        out[ln.kpi] = float("nan") if g.value is None else g.value
        out[f"{ln.kpi}:source"] = f"last_year+{ln.growth:g}"  # type: ignore[assignment]
    return out


def score(person_id: str | None = None, team_id: str | None = None, period: str | None = None,
          warehouse: Any = None, scorecard_id: str | None = None, bonus_base: float | None = None,
          config: ScorecardConfig | None = None, actuals: ActualsFn | None = None) -> Scorecard:
    """Scorecard of a person (their stores on each date; with ``team_id`` only their time in that team)
    or of a team (the team's stores on each date) for ``period`` (default: the last month with data, as
    ``settlement.settle_all``). ``actuals`` answers the engine queries (the period's actuals, last
    year's for growth targets) from precomputed rows (:data:`ActualsFn`)."""
    if not person_id and not team_id:
        raise KpiError("score needs person_id or team_id")
    wh = Warehouse.of(warehouse)
    period = period or wh.last_month()
    cfg = config or load_scorecards()
    catalog = load_catalog()
    if person_id:
        kind, dim, eid = "person", "person_id", person_id
        filters = {"team_id": team_id} if team_id else {}
        card = _pick(cfg, "person", team_id, _person_role(person_id, wh), scorecard_id)
    else:
        kind, dim, eid, filters = "team", "team_id", str(team_id), {}
        card = _pick(cfg, "team", team_id, None, scorecard_id)
    kpis = list(dict.fromkeys(ln.kpi for ln in card.kpis))
    long = _actuals_long(kpis, period, dim, eid, filters, wh, actuals)
    values = {k: float(long.at[k, "value"]) if pd.notna(long.at[k, "value"]) else float("nan") for k in kpis}
    targets = _kpi_targets(card, period, dim, kind, eid, filters, wh, actuals)
    value_targets = {ln.kpi: kpi_target(ln.kpi, kind, eid, period, wh) for ln in card.kpis if ln.basis == "value"}
    lines, total, gated = score_lines(card, values, catalog, targets, value_targets)
    # completeness of each actual (a KPI lacking a source is shown as such, never scored on zeros)
    lines["complete"] = [bool(long.at[k, "complete"]) if pd.notna(long.at[k, "complete"]) else False
                         for k in lines["kpi"]]
    lines["missing"] = [str(long.at[k, "missing"]) if pd.notna(long.at[k, "missing"]) else "" for k in lines["kpi"]]
    lines["stores_covered"] = [long.at[k, "stores_covered"] for k in lines["kpi"]]
    lines["stores_total"] = [long.at[k, "stores_total"] for k in lines["kpi"]]
    base = bonus_base if bonus_base is not None else card.bonus_base
    s, e = period_bounds(period)
    caps = [ln.gate_cap for ln, r in zip(card.kpis, lines.itertuples()) if r.gate_red]
    opened = open_lines(lines)
    bonus = None if base is None or opened else round(float(bonus_lines(lines, base, gated, total)["amount"].sum()), 2)
    return Scorecard(kind, eid, team_id, period, card.id, s.isoformat(), e.isoformat(), lines,
                     float("nan") if opened else total, gated, bonus, name=card.name,
                     curve=list(card.curve), bonus_base=base, gate_cap=min(caps) if caps else None,
                     uncapped_total=round(float(lines["weighted_points"].sum()), 4), open=opened,
                     provisional_total=total if opened else None, bonus_withheld=bool(opened) and base is not None)


def open_lines(lines: pd.DataFrame) -> list[dict[str, str]]:
    """The weighted lines of a scored card that cannot count yet: an actual unknown (not scored) or
    incomplete (``complete`` False: a source missing for some stores), with the engine's ``missing``
    text (empty when it gives none). A line without weight (a gate only) never opens the card: a gate
    without data is not a breach."""
    out = []
    for r in lines.to_dict("records"):
        if float(r["weight"]) <= 0:
            continue
        unknown = not math.isfinite(float(r["payout_pct"]))
        if unknown or not bool(r.get("complete", True)):
            out.append({"kpi": str(r["kpi"]), "missing": str(r.get("missing") or "")})
    return out


def score_all(period: str, team_id: str | None = None, warehouse: Any = None,
              config: ScorecardConfig | None = None) -> list[Scorecard]:
    """Every team's card, and every person's card per team they were in during the period."""
    wh = Warehouse.of(warehouse)
    cfg = config or load_scorecards()
    s, e = period_bounds(period)
    a = org.assignments(wh)
    a = a[(a["valid_from"] <= pd.Timestamp(e)) & (a["valid_to"].fillna(org.OPEN_END) >= pd.Timestamp(s))]
    if team_id:
        a = a[a["team_id"] == team_id]
    out: list[Scorecard] = []
    teams = sorted(a["team_id"].dropna().astype(str).unique())
    for t in teams:
        if any(c.applies_to == "team" and (c.team in (None, t)) for c in cfg.scorecards):
            out.append(score(team_id=t, period=period, warehouse=wh, config=cfg))
    pairs = a.dropna(subset=["person_id", "team_id"])[["person_id", "team_id"]].drop_duplicates()
    for p, t in sorted(pairs.itertuples(index=False, name=None)):
        if _find(cfg, "person", str(t), _person_role(str(p), wh)) is None:
            continue  # no scorecard for this role (any other error, e.g. a broken targets file, is raised)
        out.append(score(person_id=str(p), team_id=str(t), period=period, warehouse=wh, config=cfg))
    return out


__all__ = [
    "DEFAULT_CURVE",
    "LINE_COLUMNS",
    "ActualsFn",
    "CurvePoint",
    "ScoreKpi",
    "Scorecard",
    "ScorecardConfig",
    "ScorecardDef",
    "bonus_lines",
    "kpi_target",
    "load_scorecards",
    "open_lines",
    "payout",
    "score",
    "score_all",
    "score_lines",
]
