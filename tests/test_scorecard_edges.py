"""Scorecard edges found by the seventh session's whole-module mutation run (issue 11): which team and person
cards ``score_all`` makes when an assignment starts or ends on the period's edge, and the last-year figure of a
growth target read from the precomputed actuals a report batch passes (``score(actuals=)``).

Org (``tests/cost_fixtures.py``): P1 (manager) in T1 always; P2 (operator) in T1 until 2026-11-15 and in T2
from 2026-11-16. The cards: one for any team, one for operators (so P1 has none and is skipped).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import build_tables, make_project, make_warehouse

from kpi_lib import paths
from kpi_lib.scorecard import ScorecardConfig, score, score_all

CFG = ScorecardConfig.model_validate({"scorecards": [
    {"id": "team", "applies_to": "team", "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2,
                                                   "maximum": 3}]},
    {"id": "op", "applies_to": "person", "role": "operator",
     "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2, "maximum": 3}]},
    {"id": "growth", "applies_to": "team",
     "kpis": [{"kpi": "gmv", "weight": 100, "basis": "achievement", "growth": 0.1, "threshold": 0.8, "target": 1.0,
               "maximum": 1.2}]},
]})


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "proj")))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def cards(period: str, wh, cfg: ScorecardConfig = CFG) -> list[tuple[str, str, str | None]]:
    out = score_all(period, warehouse=wh, config=cfg)
    assert {c.period for c in out} <= {period}  # every card is of the period asked
    return [(c.entity_kind, c.entity_id, c.team_id, c.scorecard_id) for c in out]


def card(d: dict) -> dict:
    return {**d, "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2, "maximum": 3}]}


def test_score_all_takes_the_assignments_that_overlap_the_period(wh) -> None:
    # October: P2 is in T1 only (T2 starts 2026-11-16): team T1 and P2 in T1
    assert cards("2026-10", wh) == [("team", "T1", "T1", "team"), ("person", "P2", "T1", "op")]
    # 15 November, P2's last day in T1: still P2 in T1; T2 has nobody yet
    assert cards("2026-11-15", wh) == [("team", "T1", "T1", "team"), ("person", "P2", "T1", "op")]
    # 16 November, P2's first day in T2: T2 has a card and P2 is scored there, no longer in T1
    assert cards("2026-11-16", wh) == [("team", "T1", "T1", "team"), ("team", "T2", "T2", "team"),
                                       ("person", "P2", "T2", "op")]
    # November: both of P2's teams
    assert cards("2026-11", wh) == [("team", "T1", "T1", "team"), ("team", "T2", "T2", "team"),
                                    ("person", "P2", "T1", "op"), ("person", "P2", "T2", "op")]


def test_score_all_makes_only_the_cards_that_apply(wh) -> None:
    # person cards only: no team is scored (and none fails for lack of a team card)
    only_people = ScorecardConfig.model_validate({"scorecards": [card({"id": "op", "applies_to": "person",
                                                                        "role": "operator"})]})
    assert cards("2026-11", wh, only_people) == [("person", "P2", "T1", "op"), ("person", "P2", "T2", "op")]
    # cards for team T1 only: T2 and P2's time in T2 are skipped; P2 in T1 gets T1's operator card
    t1_only = ScorecardConfig.model_validate({"scorecards": [
        card({"id": "team-t1", "applies_to": "team", "team": "T1"}),
        card({"id": "op-t1", "applies_to": "person", "role": "operator", "team": "T1"})]})
    assert cards("2026-11", wh, t1_only) == [("team", "T1", "T1", "team-t1"), ("person", "P2", "T1", "op-t1")]


def test_growth_target_reads_last_year_from_the_given_actuals(wh) -> None:
    asked: list[str] = []

    def actuals(kpis, period, dim, entity_id, filters) -> pd.DataFrame:
        asked.append(period)
        value = {"2027-10": 440.0, "2026-10": 400.0}[period]
        return pd.DataFrame({dim: [entity_id], "kpi": ["gmv"], "value": [value], "complete": [True], "missing": [""],
                             "stores_covered": [2], "stores_total": [2]})

    card = score(team_id="T1", period="2027-10", warehouse=wh, config=CFG, scorecard_id="growth", actuals=actuals)
    line = card.lines.iloc[0]
    # target = the given last year's 400 × 1.1 = 440 (the engine's October 2026 would give 390 × 1.1 = 429);
    # 440 / 440 = achievement 1.0 -> payout 100 % -> 100 points
    assert line["target"] == pytest.approx(440.0) and line["achievement"] == pytest.approx(1.0)
    assert card.total == pytest.approx(100.0)
    assert sorted(asked) == ["2026-10", "2027-10"]


@pytest.mark.parametrize("people", ["without P2", "no people table"])
def test_a_person_without_a_role_gets_the_card_for_any_role(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            people: str) -> None:
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "proj")))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    tables = build_tables()
    if people == "without P2":
        tables["people"] = tables["people"][tables["people"]["person_id"] != "P2"]
    else:
        del tables["people"]
    wh = make_warehouse(tmp_path / "wh", tables=tables)
    cfg = ScorecardConfig.model_validate({"scorecards": [card({"id": "op", "applies_to": "person", "role": "operator"}),
                                                         card({"id": "anyone", "applies_to": "person"})]})
    # P2's role is unknown: the operator card does not apply, the card without a role does
    assert score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=cfg).scorecard_id == "anyone"


def test_precomputed_actuals_are_asked_for_the_entity_and_read_for_it_alone(wh) -> None:
    """An ActualsFn (a report batch's set-based rows) is asked exactly what ``compute_long`` would be, and
    may answer with other entities' rows too: the card reads its own entity's row."""
    asked: list[tuple] = []

    def actuals(kpis, period, dim, entity_id, filters) -> pd.DataFrame:
        asked.append((kpis, period, dim, entity_id, filters))
        return pd.DataFrame({dim: ["P1", "P2"], "kpi": ["gmv", "gmv"], "value": [9.0, 2.5], "complete": [True, True],
                             "missing": ["", ""], "stores_covered": [1, 1], "stores_total": [1, 1]})

    card = score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=CFG, actuals=actuals)
    assert asked == [(["gmv"], "2026-11", "person_id", "P2", {"team_id": "T1"})]
    # P2's 2.5: halfway from target 2 (100 %) to maximum 3 (150 %) -> 125 % (P1's 9.0 would pay 150 %)
    assert card.lines.iloc[0]["actual"] == 2.5 and card.total == pytest.approx(125.0)
    # no rows at all: no actual (NaN, never 0), not scored, and no total (missing is not zero)
    empty = score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=CFG,
                  actuals=lambda *a: pd.DataFrame())
    assert math.isnan(empty.lines.iloc[0]["actual"]) and math.isnan(empty.lines.iloc[0]["payout_pct"])
    assert math.isnan(empty.total) and empty.open == [{"kpi": "gmv", "missing": ""}]
    assert empty.provisional_total == 0.0


def test_a_period_without_the_entity_s_stores_has_no_actual(wh) -> None:
    # P2 joined T2 on 2026-11-16: P2-in-T2 has no store in October, so no GMV (not November's 40, not 0)
    card = score(person_id="P2", team_id="T2", period="2026-10", warehouse=wh, config=CFG)
    assert math.isnan(card.lines.iloc[0]["actual"]) and math.isnan(card.total) and card.bonus is None
    assert [o["kpi"] for o in card.open] == ["gmv"]


def test_each_achievement_line_finds_its_own_target(wh) -> None:
    (paths.parameters_dir() / "targets" / "t.yaml").write_text(
        "targets:\n  - {kpi: orders, entity_kind: team, entity_id: T1, period: '*', value: 9}\n", encoding="utf-8")
    band = {"basis": "achievement", "threshold": 0.8, "target": 1.0, "maximum": 1.2}
    cfg = ScorecardConfig.model_validate({"scorecards": [{"id": "three", "applies_to": "team", "kpis": [
        {"kpi": "units", "weight": 30, "target_value": 4, **band},
        {"kpi": "orders", "weight": 40, **band},
        {"kpi": "gmv", "weight": 30, "growth": 0.1, **band}]}]})
    lines = score(team_id="T1", period="2026-11", warehouse=wh, config=cfg).lines
    # units: the line's own target_value 4; orders: 9 from parameters/targets ('*' = every month with data
    # in this warehouse, November included); gmv: last year (2025-11) has no data, so no target
    assert lines["target_source"].tolist() == ["target_value", "targets", "last_year+0.1"]
    assert lines["target"].tolist()[:2] == [4.0, 9.0] and math.isnan(lines["target"].iloc[2])


def test_a_person_s_card_can_be_named(wh) -> None:
    cfg = ScorecardConfig.model_validate({"scorecards": [card({"id": "op", "applies_to": "person", "role": "operator"}),
                                                         card({"id": "anyone", "applies_to": "person"})]})
    # P2 is an operator, so "op" applies unless another card is asked for by id
    assert score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=cfg).scorecard_id == "op"
    assert score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=cfg,
                 scorecard_id="anyone").scorecard_id == "anyone"


def test_each_line_says_whether_its_actual_is_complete(wh) -> None:
    """A KPI lacking a source is shown as such (never scored on zeros): the fixture has no traffic table, so
    conversion (sessions needed) is incomplete for both of T1's stores; GMV has every source."""
    cfg = ScorecardConfig.model_validate({"scorecards": [{"id": "two", "applies_to": "team", "kpis": [
        {"kpi": "gmv", "weight": 50, "threshold": 100, "target": 200, "maximum": 300},
        {"kpi": "cvr", "weight": 50, "threshold": 0.05, "target": 0.1, "maximum": 0.15}]}]})
    lines = score(team_id="T1", period="2026-11", warehouse=wh, config=cfg).lines
    # T1 November GMV: S1 100 + 80, S2 until 11-15 60 = 240 over 2 of 2 stores
    assert lines["actual"].iloc[0] == pytest.approx(240.0) and math.isnan(lines["actual"].iloc[1])
    assert lines["complete"].tolist() == [True, False]
    assert lines["missing"].tolist() == ["", "traffic"]
    assert lines["stores_covered"].tolist() == [2, 0] and lines["stores_total"].tolist() == [2, 2]
    # precomputed rows without completeness figures, and without a row for conversion at all:
    # not complete, nothing named missing
    rows = pd.DataFrame({"team_id": ["T1"], "kpi": ["gmv"], "value": [240.0], "complete": [None], "missing": [None],
                         "stores_covered": [2], "stores_total": [2]})
    lines = score(team_id="T1", period="2026-11", warehouse=wh, config=cfg, actuals=lambda *a: rows).lines
    assert lines["complete"].tolist() == [False, False] and lines["missing"].tolist() == ["", ""]
    assert lines["stores_covered"].iloc[0] == 2 and math.isnan(lines["actual"].iloc[1])


def test_a_value_line_takes_the_entity_target_from_the_given_warehouse(wh) -> None:
    (paths.parameters_dir() / "targets" / "t.yaml").write_text(
        "targets:\n  - {kpi: gmv, entity_kind: team, entity_id: T1, period: '*', value: 200}\n", encoding="utf-8")
    # '*': every month with data in this warehouse. The money line's band 1 / 2 / 3 scales × 100 to 100 / 200 / 300;
    # T1's 240 -> 100 + 50 × 40 / 100 = 120 %
    line = score(team_id="T1", period="2026-11", warehouse=wh, config=CFG).lines.iloc[0]
    assert (line["threshold"], line["target"], line["maximum"]) == (100.0, 200.0, 300.0)
    assert line["target_source"] == "targets" and line["payout_pct"] == pytest.approx(120.0)
