"""Missing is not zero on a scorecard: a weighted line whose actual is unknown or incomplete opens the card.

Found in the demo (2026-11): P09's card scored 150 points and paid a bonus of ¥18,000 on a net profit and a
net margin that lacked a store's ads export (``complete`` False, ``missing`` 'ads'): the missing ads spend
made both look better. An unknown actual was scored at the floor (0 %), i.e. computed as a zero.

Card "Open card" (person, bonus base 1,000; default curve 50 / 100 / 150 %):
- GMV, weight 60, band 100 / 200 / 300: actual 250 → 125 % → 75 points;
- net profit, weight 40, band 10 / 20 / 30: actual 25, but incomplete (no ads for one store) → open;
- orders, weight 0, a gate (cap 50): no data → not red, and a line without weight never opens the card.
The card has no total and no bonus; its provisional total is 75 + 40 × 125 % = 125 (the incomplete line is
computed, shown as such); the bonus is withheld. With net profit complete the same card pays 125 points and
1,000 × (60 % × 125 % + 40 % × 125 %) = 1,250.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import make_project, make_warehouse

from kpi_lib.present import summary
from kpi_lib.present.scorecard import scorecard_section
from kpi_lib.scorecard import ScorecardConfig, open_lines, score, score_lines

CFG = ScorecardConfig.model_validate({"scorecards": [{
    "id": "open", "name": "Open card", "applies_to": "person", "bonus_base": 1000, "kpis": [
        {"kpi": "gmv", "weight": 60, "threshold": 100, "target": 200, "maximum": 300},
        {"kpi": "net_profit", "weight": 40, "threshold": 10, "target": 20, "maximum": 30},
        {"kpi": "orders", "weight": 0, "threshold": 10, "target": 20, "maximum": 30, "gate": True, "gate_cap": 50},
    ]}]})


def actuals_with(complete: bool, gmv: float = 250.0):
    def actuals(kpis, period, dim, entity_id, filters) -> pd.DataFrame:
        return pd.DataFrame({dim: entity_id, "kpi": ["gmv", "net_profit"], "value": [gmv, 25.0],
                             "complete": [True, complete], "missing": ["", "" if complete else "ads"],
                             "stores_covered": [2, 2 if complete else 1], "stores_total": 2})
    return actuals


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "proj")))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_an_incomplete_actual_withholds_the_total_and_the_bonus(wh) -> None:
    card = score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=CFG,
                 actuals=actuals_with(complete=False))
    assert card.open == [{"kpi": "net_profit", "missing": "ads"}]
    assert math.isnan(card.total) and card.bonus is None and card.bonus_withheld
    assert card.provisional_total == pytest.approx(125.0)
    assert card.bonus_lines().empty  # nothing to pay line by line either
    d = card.to_dict()
    assert d["open"] == card.open and d["bonus_withheld"] is True and d["bonus"] is None
    # the same card with every actual complete: scored and paid
    full = score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=CFG,
                 actuals=actuals_with(complete=True))
    assert full.open == [] and full.total == pytest.approx(125.0) and full.bonus == pytest.approx(1250.0)
    assert not full.bonus_withheld and full.provisional_total is None


def test_an_unknown_actual_is_not_scored_at_the_floor() -> None:
    card = CFG.scorecards[0]
    lines, total, gated = score_lines(card, {"gmv": 250.0, "net_profit": float("nan")})
    np_line = lines.set_index("kpi").loc["net_profit"]
    assert math.isnan(np_line["payout_pct"]) and math.isnan(np_line["weighted_points"])
    assert total == pytest.approx(75.0) and not gated  # the scored lines only
    assert open_lines(lines.assign(complete=True, missing="")) == [{"kpi": "net_profit", "missing": ""}]
    # a weighted line below its threshold is scored 0 % (a real zero) and does not open the card
    low, total, _ = score_lines(card, {"gmv": 50.0, "net_profit": 25.0})
    assert low.set_index("kpi").loc["gmv", "payout_pct"] == 0.0 and total == pytest.approx(50.0)
    assert open_lines(low.assign(complete=True, missing="")) == []


class Ctx:
    currency, fx, kind, entity_id, period = "CNY", 1.0, "person", "P2", "2026-11"

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.figures: list[tuple] = []

    def record(self, kpi, value, **kw) -> None:
        self.figures.append((kpi, value, kw))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_and_the_summary_say_which_line_waits_and_pay_nothing(wh, lang: str) -> None:
    card = score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=CFG,
                 actuals=actuals_with(complete=False))
    lines = card.lines.assign(name=card.lines["label_" + lang], unit=["money", "money", "count"])
    ctx = Ctx(lang)
    html = scorecard_section(card, lines, ctx)
    waits = "待补数据" if lang == "zh" else "Waiting for data"
    assert html.count(waits) == 2  # the score and the bonus cards
    why = "净利润（缺少广告数据）" if lang == "zh" else "Net profit (no ads data)"
    assert why in html and ("125.0" in html)  # the open line and the provisional points
    assert "bonus-table" not in html and "nan" not in html.lower().replace("nano", "")
    score_fig = [f for f in ctx.figures if f[0] == "score"]
    assert len(score_fig) == 1 and math.isnan(score_fig[0][1]) and score_fig[0][2]["complete"] is False
    assert not [f for f in ctx.figures if f[0] == "bonus"]
    sentence = summary.score_sentence(card, lines, Ctx(lang))
    assert why in sentence and "125" not in sentence and "1,250" not in sentence
