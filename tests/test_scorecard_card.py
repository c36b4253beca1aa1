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
    """Orders 25 (above its threshold 10; 100 % + 50 % × 5 / 10 = 125 %): no cap, total 60 × 1.25 + 40 × 1.25
    = 125, bonus 1,000 × 125 % = 1,250 with no gate line."""
    def fine(kpis, period, dim, entity_id, filters) -> pd.DataFrame:
        return actuals(kpis, period, dim, entity_id, filters).assign(value=[250.0, 25.0])

    card = score(team_id="T1", period="2026-11", warehouse=wh, config=CFG, actuals=fine)
    assert card.gated is False and card.gate_cap is None
    assert card.total == pytest.approx(125.0) and card.uncapped_total == pytest.approx(125.0)
    assert card.bonus == pytest.approx(1250.0) and "gate" not in card.bonus_lines()["kpi"].tolist()
