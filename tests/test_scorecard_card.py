"""The whole Scorecard that ``score`` returns for a card whose gate is red, worked by hand: the period's
dates, the gate's cap, the total before and after it, the bonus base (the argument over the card's) and the
bonus with its gate line. Actuals come from an ActualsFn, so no number depends on the fixture's orders.

Card "Gated card" (team, bonus base 1,000; default curve 50 / 100 / 150 % at threshold / target / maximum):
- GMV, weight 60, band 100 / 200 / 300: actual 250 → 125 % → 60 × 1.25 = 75 points;
- orders, weight 40, gate (cap 50), band 10 / 20 / 30: actual 8 is below the threshold → 0 %, and red.
Uncapped total 75, capped by the red gate to 50. With a bonus base of 2,000: GMV 2,000 × 60 % × 125 % = 1,500,
orders 0, gate line 2,000 × 50 % − 1,500 = −500, bonus 1,000; with the card's own 1,000: 750, 0, −250, 500.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import make_project, make_warehouse

from kpi_lib.scorecard import ScorecardConfig, score

CFG = ScorecardConfig.model_validate({"scorecards": [{
    "id": "gated", "name": "Gated card", "applies_to": "team", "bonus_base": 1000, "kpis": [
        {"kpi": "gmv", "weight": 60, "threshold": 100, "target": 200, "maximum": 300},
        {"kpi": "orders", "weight": 40, "threshold": 10, "target": 20, "maximum": 30, "gate": True, "gate_cap": 50},
    ]}]})


def actuals(kpis, period, dim, entity_id, filters) -> pd.DataFrame:
    return pd.DataFrame({dim: entity_id, "kpi": ["gmv", "orders"], "value": [250.0, 8.0], "complete": True,
                         "missing": "", "stores_covered": 2, "stores_total": 2})


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "proj")))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_a_red_gate_caps_the_card_and_its_bonus(wh) -> None:
    card = score(team_id="T1", period="2026-11", warehouse=wh, config=CFG, actuals=actuals, bonus_base=2000)
    assert (card.entity_kind, card.entity_id, card.period, card.start, card.end) == (
        "team", "T1", "2026-11", "2026-11-01", "2026-11-30")
    assert (card.scorecard_id, card.name) == ("gated", "Gated card")
    assert card.lines["payout_pct"].tolist() == pytest.approx([125.0, 0.0])
    assert card.lines["gate_red"].tolist() == [False, True]
    assert card.gated is True and card.gate_cap == 50.0
    assert card.uncapped_total == pytest.approx(75.0) and card.total == pytest.approx(50.0)
    assert card.bonus_base == 2000 and card.bonus == pytest.approx(1000.0)
    bl = card.bonus_lines()
    assert bl["kpi"].tolist() == ["gmv", "orders", "gate"]
    assert bl["amount"].tolist() == pytest.approx([1500.0, 0.0, -500.0])
    d = card.to_dict()
    assert (d["start"], d["end"], d["bonus"], d["uncapped_total"]) == ("2026-11-01", "2026-11-30", 1000.0, 75.0)


def test_without_a_bonus_base_argument_the_cards_own_is_paid(wh) -> None:
    card = score(team_id="T1", period="2026-11", warehouse=wh, config=CFG, actuals=actuals)
    assert card.bonus_base == 1000 and card.bonus == pytest.approx(500.0)
    assert card.bonus_lines()["amount"].tolist() == pytest.approx([750.0, 0.0, -250.0])


def test_a_gate_that_is_not_red_caps_nothing(wh) -> None:
    """GMV 200 + 100/7 = 214.2857 (1/7 of the way from target to maximum: 100 + 50/7 = 107.142857 %, 64.285714
    points) and orders 25 (above its threshold: 125 %, 50 points): no cap, total and uncapped total
    114.2857 (4 places); bonus 1,000 × 60 % × 107.142857 % = 642.86 plus 1,000 × 40 % × 125 % = 500: 1,142.86,
    with no gate line."""
    def fine(kpis, period, dim, entity_id, filters) -> pd.DataFrame:
        return actuals(kpis, period, dim, entity_id, filters).assign(value=[200 + 100 / 7, 25.0])

    card = score(team_id="T1", period="2026-11", warehouse=wh, config=CFG, actuals=fine)
    assert card.gated is False and card.gate_cap is None
    assert card.total == 114.2857 and card.uncapped_total == 114.2857
    assert card.bonus == 1142.86 and card.bonus_lines()["kpi"].tolist() == ["gmv", "orders"]


def test_a_card_without_a_bonus_base_pays_no_bonus_and_keeps_its_curve(wh) -> None:
    """No bonus base anywhere: no bonus (None, not 0) and no bonus lines. The card's own curve (50 / 100 / 120 %)
    is the one the card carries (GMV 250: 100 + 20 × 0.5 = 110 % → 66 points)."""
    d = CFG.scorecards[0].model_dump()
    d.update(bonus_base=None, curve=[{"at": "threshold", "payout": 50}, {"at": "target", "payout": 100},
                                     {"at": "maximum", "payout": 120}])
    cfg = ScorecardConfig.model_validate({"scorecards": [d]})
    card = score(team_id="T1", period="2026-11", warehouse=wh, config=cfg, actuals=actuals)
    assert card.bonus is None and card.bonus_base is None and card.bonus_lines().empty
    assert [c.payout for c in card.curve] == [50, 100, 120]
    assert card.lines["payout_pct"].iloc[0] == pytest.approx(110.0) and card.uncapped_total == pytest.approx(66.0)


@pytest.mark.parametrize(("curve", "cap", "pay"), [
    ([{"at": "threshold", "payout": 50}, {"at": "target", "payout": 100}, {"at": "maximum", "payout": 120}], 120.0, 110.0),
    ([], 150.0, 125.0)])
def test_a_lines_cap_is_its_cards_top_payout(wh, curve, cap, pay) -> None:
    """Without a cap of its own a line is capped at the top of its card's curve: 120 % for a 50 / 100 / 120 curve;
    an empty curve is the default one (50 / 100 / 150: cap 150, GMV 250 pays 125 %)."""
    d = CFG.scorecards[0].model_dump()
    d.update(curve=curve)
    card = score(team_id="T1", period="2026-11", warehouse=wh,
                 config=ScorecardConfig.model_validate({"scorecards": [d]}), actuals=actuals)
    assert card.lines["cap"].tolist() == [cap, cap]
    assert card.lines["payout_pct"].iloc[0] == pytest.approx(pay)
