"""Scorecards: validation, payout curve (hand-worked and property tests), gates, people who change team."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from cost_fixtures import make_project, make_warehouse
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kpi_lib.errors import ConfigError
from kpi_lib.scorecard import ScorecardDef, ScoreKpi, load_scorecards, payout, score, score_all, score_lines


def line(**kw) -> ScoreKpi:
    base = {"kpi": "gmv", "weight": 100, "threshold": 80, "target": 100, "maximum": 120}
    base.update(kw)
    return ScoreKpi.model_validate(base)


def test_weights_must_sum_to_100() -> None:
    with pytest.raises(ValidationError, match="sum to 90"):
        ScorecardDef.model_validate({"id": "x", "kpis": [
            {"kpi": "gmv", "weight": 60, "threshold": 1, "target": 2, "maximum": 3},
            {"kpi": "acos", "weight": 30, "threshold": 0.3, "target": 0.2, "maximum": 0.1}]})
    ScorecardDef.model_validate({"id": "x", "kpis": [
        {"kpi": "gmv", "weight": 70, "threshold": 1, "target": 2, "maximum": 3},
        {"kpi": "acos", "weight": 30, "threshold": 0.3, "target": 0.2, "maximum": 0.1}]})


def test_yaml_errors(tmp_path: Path) -> None:
    p = tmp_path / "scorecards.yaml"
    p.write_text("scorecards:\n  - id: a\n    kpis:\n      - {kpi: gmv, weight: 100, threshold: 1, target: 2, "
                 "maximum: 3, wieght: 1}\n")
    with pytest.raises(ConfigError, match="wieght"):
        load_scorecards(p)
    with pytest.raises(ValidationError):
        line(threshold=100, target=80, maximum=120)  # not monotone
    with pytest.raises(ValidationError):
        line(direction="down")  # lower-is-better needs threshold ≥ target ≥ maximum
    root = Path(__file__).resolve().parents[1]
    assert load_scorecards(root / "parameters" / "scorecards.yaml").scorecards


def test_payout_hand_worked() -> None:
    ln = line()
    assert payout(79.9, ln) == 0  # below threshold
    assert payout(80, ln) == 50  # threshold
    assert payout(90, ln) == pytest.approx(75)  # halfway threshold -> target: 50 + 50 × 0.5
    assert payout(100, ln) == 100
    assert payout(110, ln) == pytest.approx(125)
    assert payout(200, ln) == 150  # flat above maximum
    assert payout(200, line(cap=130)) == 130
    assert payout(0, line(floor=20)) == 20
    down = line(kpi="acos", threshold=0.35, target=0.25, maximum=0.18, direction="down")
    assert payout(0.30, down, direction="down") == pytest.approx(75)  # 50 + 50 × 0.05 / 0.10
    assert payout(0.40, down, direction="down") == 0
    assert payout(0.10, down, direction="down") == 150
    assert payout(float("nan"), ln) == 0


curves = st.tuples(st.floats(-1e3, 1e3), st.floats(0, 1e3), st.floats(0, 1e3)).map(
    lambda t: (t[0], t[0] + t[1], t[0] + t[1] + t[2]))


@settings(max_examples=200, deadline=None)
@given(curves, st.floats(-2e3, 4e3), st.floats(-2e3, 4e3), st.floats(0, 60), st.floats(60, 200),
       st.sampled_from(["up", "down"]))
def test_payout_monotone_and_bounded(pts, x1, x2, floor, cap, direction) -> None:
    t, g, m = pts
    if direction == "down":
        t, g, m = -t, -g, -m
    ln = line(threshold=t, target=g, maximum=m, floor=floor, cap=cap, direction=direction)
    p1, p2 = payout(x1, ln, direction=direction), payout(x2, ln, direction=direction)
    assert floor <= p1 <= cap and floor <= p2 <= cap
    lo, hi = (x1, x2) if x1 <= x2 else (x2, x1)
    plo, phi = payout(lo, ln, direction=direction), payout(hi, ln, direction=direction)
    if direction == "up":
        assert plo <= phi + 1e-9
    else:
        assert plo >= phi - 1e-9


def test_gate_caps_total() -> None:
    card = ScorecardDef.model_validate({"id": "c", "kpis": [
        {"kpi": "gmv", "weight": 100, "threshold": 80, "target": 100, "maximum": 120, "direction": "up"},
        {"kpi": "late_shipment_rate", "weight": 0, "threshold": 0.1, "target": 0.04, "maximum": 0.01,
         "direction": "down", "gate": True, "gate_cap": 60}]})
    lines, total, gated = score_lines(card, {"gmv": 120, "late_shipment_rate": 0.02})
    assert total == 150 and not gated
    lines, total, gated = score_lines(card, {"gmv": 120, "late_shipment_rate": 0.2})  # gate red
    assert total == 60 and gated and lines.set_index("kpi").loc["late_shipment_rate", "gate_red"]
    lines, total, gated = score_lines(card, {"gmv": 120, "late_shipment_rate": float("nan")})  # no data: no breach
    assert total == 150 and not gated
    # weighted points = weight × payout / 100; total = Σ
    lines, total, _ = score_lines(card, {"gmv": 90, "late_shipment_rate": 0.02})
    assert lines.set_index("kpi").loc["gmv", "weighted_points"] == pytest.approx(75) and total == pytest.approx(75)


CARDS = """
scorecards:
  - id: team
    applies_to: team
    kpis:
      - {kpi: gmv, weight: 100, threshold: 100, target: 200, maximum: 300}
  - id: op
    role: operator
    bonus_base: 1000
    kpis:
      - {kpi: gmv, weight: 60, threshold: 40, target: 80, maximum: 120}
      - {kpi: gmv, weight: 40, basis: achievement, target_value: 50, threshold: 0.8, target: 1.0, maximum: 1.2}
"""


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj", scorecards=CARDS)
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_team_scores_use_stores_on_each_date(wh) -> None:
    t1 = score(team_id="T1", period="2026-11", warehouse=wh)
    t2 = score(team_id="T2", period="2026-11", warehouse=wh)
    # T1: S1 (100 + 80) + S2 until 11-15 (60) = 240 -> 100 + 50 × 40 / 100 = 120 points
    assert t1.lines["actual"].iloc[0] == pytest.approx(240) and t1.total == pytest.approx(120)
    # T2: S2 from 11-16 (40) -> below threshold 100 -> 0
    assert t2.lines["actual"].iloc[0] == pytest.approx(40) and t2.total == 0


def test_person_who_changed_team_is_scored_per_team(wh) -> None:
    in_t1 = score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh)
    in_t2 = score(person_id="P2", team_id="T2", period="2026-11", warehouse=wh)
    whole = score(person_id="P2", period="2026-11", warehouse=wh)
    assert in_t1.scorecard_id == "op"
    # P2 held S2 for T1 until 11-15 (O4: 60) and for T2 from 11-16 (O5: 40)
    assert in_t1.lines["actual"].iloc[0] == pytest.approx(60)
    assert in_t2.lines["actual"].iloc[0] == pytest.approx(40)
    assert whole.lines["actual"].iloc[0] == pytest.approx(100)
    # in T1: value line 60 -> 50 + 50 × 20 / 40 = 75 (× 0.6 = 45); achievement 60 / 50 = 1.2 -> 150 (× 0.4 = 60)
    assert in_t1.total == pytest.approx(105)
    assert in_t1.bonus == pytest.approx(1050)
    d = in_t1.to_dict()
    assert d["entity_id"] == "P2" and d["team_id"] == "T1" and len(d["lines"]) == 2
    cards = score_all("2026-11", warehouse=wh)
    assert {(c.entity_kind, c.entity_id, c.team_id) for c in cards} >= {
        ("team", "T1", "T1"), ("team", "T2", "T2"), ("person", "P2", "T1"), ("person", "P2", "T2")}
    assert not any(math.isnan(c.total) for c in cards)


def test_cli_score(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from kpi_lib.cli import app

    monkeypatch.setenv("KPI_WAREHOUSE", str(wh.path))
    r = CliRunner().invoke(app, ["score", "--period", "2026-11", "--team", "T2", "--json"])
    assert r.exit_code == 0, r.output
    cards = json.loads(r.output)
    assert {(c["entity_kind"], c["entity_id"]) for c in cards} == {("team", "T2"), ("person", "P2")}
    r = CliRunner().invoke(app, ["score", "--period", "2026-11"])
    assert r.exit_code == 0 and "P2" in r.output


# ---- issue 9: a bonus a person can check ---------------------------------------------------------
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_lib.scorecard import bonus_lines


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100), st.floats(-50, 300, allow_nan=False)), min_size=1, max_size=5),
       st.floats(0, 50000, allow_nan=False), st.booleans())
def test_bonus_lines_are_weight_times_payout_times_pool_and_add_up(parts, base, gate_red) -> None:
    weights = [w for w, _ in parts]
    if sum(weights) == 0:
        weights[0] = 100
    scale = 100 / sum(weights)
    weights = [w * scale for w in weights]
    weights[-1] = 100 - sum(weights[:-1])
    kpis = [{"kpi": f"k{i}", "weight": w, "threshold": 0, "target": 100, "maximum": 200, "direction": "up"}
            for i, w in enumerate(weights)]
    kpis.append({"kpi": "gate", "weight": 0, "threshold": 10, "target": 5, "maximum": 1, "direction": "down",
                 "gate": True, "gate_cap": 40})
    card = ScorecardDef.model_validate({"id": "c", "bonus_base": base, "kpis": kpis})
    actuals = {f"k{i}": a for i, (_, a) in enumerate(parts)} | {"gate": 20.0 if gate_red else 2.0}
    lines, total, gated = score_lines(card, actuals)
    assert gated == gate_red
    bl = bonus_lines(lines, base, gated, total)
    for r in bl[bl["kpi"] != "gate"].itertuples():  # each line: weight % × payout % × pool, to the cent
        assert abs(r.amount - r.weight / 100 * r.payout_pct / 100 * base) <= 0.005 + 1e-9
    if gated:  # the gate line brings the sum to the capped total's bonus
        assert float(bl["amount"].sum()) == pytest.approx(round(base * total / 100, 2), abs=0.005)
    else:  # unrounded, the lines add up to base × total / 100
        assert float(bl["amount"].sum()) == pytest.approx(base * total / 100, abs=0.005 * len(bl) + base * 1e-6)
    assert (lines["payout_pct"] <= lines["cap"] + 1e-9).all()  # the cap shown is the cap applied


def test_score_lines_use_the_entity_target_and_keep_the_configured_band() -> None:
    card = ScorecardDef.model_validate({"id": "c", "kpis": [
        {"kpi": "net_margin", "weight": 100, "threshold": 0.04, "target": 0.10, "maximum": 0.16, "direction": "up"}]})
    lines, total, _ = score_lines(card, {"net_margin": 0.20}, value_targets={"net_margin": 0.20})
    ln = lines.iloc[0]
    assert (ln.target, round(ln.threshold, 6), round(ln.maximum, 6)) == (0.20, 0.14, 0.26)
    assert ln.target_source == "targets" and total == pytest.approx(100)
    lines, total, _ = score_lines(card, {"net_margin": 0.20})  # no entity target: the card's own
    assert lines.iloc[0].target == 0.10 and lines.iloc[0].target_source == "scorecards.yaml"


def test_score_defaults_to_the_last_month_with_data(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a period, the warehouse's last month with data (not a month written in the code)."""
    assert score(team_id="T1", warehouse=wh).period == wh.last_month()
    monkeypatch.setattr(type(wh), "last_month", lambda self: "2026-10")
    card = score(team_id="T1", warehouse=wh)
    assert card.period == "2026-10" and card.to_dict() == score(team_id="T1", period="2026-10", warehouse=wh).to_dict()
