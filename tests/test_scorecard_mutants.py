"""Scorecard paths its tests never ran (issue 11), worked by hand: which card applies (id, team, role,
none), where an achievement line's target comes from (target_value, parameters/targets, last year ×
(1 + growth)), a value line re-targeted to the entity's target, the default cards, and the errors.
Data: ``tests/cost_fixtures.py`` (order basis: team T1 = S1 + S2 in October, GMV 80 + 150 + 160 = 390).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from cost_fixtures import make_project, make_warehouse

from kpi_lib.definitions import load_catalog
from kpi_lib.errors import ConfigError, KpiError
from kpi_lib.scorecard import ScorecardConfig, ScorecardDef, load_scorecards, score, score_lines

if TYPE_CHECKING:
    from kpi_lib.scorecard import Scorecard

CARDS = {"scorecards": [
    {"id": "team-any", "applies_to": "team", "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2,
                                                        "maximum": 3}]},
    {"id": "team-t2", "applies_to": "team", "team": "T2",
     "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 10, "target": 20, "maximum": 30}]},
    {"id": "person-any", "applies_to": "person",
     "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2, "maximum": 3}]},
    {"id": "person-op", "applies_to": "person", "role": "operator",
     "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2, "maximum": 3}]},
    {"id": "person-op-t1", "applies_to": "person", "role": "operator", "team": "T1",
     "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2, "maximum": 3}]},
    {"id": "growth", "applies_to": "team",
     "kpis": [{"kpi": "gmv", "weight": 100, "basis": "achievement", "growth": 0.1, "threshold": 0.8, "target": 1.0,
               "maximum": 1.2}]},
]}


@pytest.fixture()
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return root


@pytest.fixture()
def wh(proj: Path, tmp_path: Path):
    return make_warehouse(tmp_path / "wh")


def test_which_card_applies(wh) -> None:
    cfg = ScorecardConfig.model_validate(CARDS)
    # a team card for this team beats the generic one
    assert score(team_id="T2", period="2026-11", warehouse=wh, config=cfg).scorecard_id == "team-t2"
    assert score(team_id="T1", period="2026-11", warehouse=wh, config=cfg).scorecard_id == "team-any"
    # P2 is an operator: team + role beats role beats generic
    assert score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=cfg).scorecard_id == "person-op-t1"
    assert score(person_id="P2", team_id="T2", period="2026-11", warehouse=wh, config=cfg).scorecard_id == "person-op"
    # P1 is a manager: only the generic card fits
    assert score(person_id="P1", period="2026-11", warehouse=wh, config=cfg).scorecard_id == "person-any"
    # named card
    assert score(team_id="T1", period="2026-11", warehouse=wh, config=cfg, scorecard_id="team-t2").scorecard_id \
        == "team-t2"
    with pytest.raises(ConfigError, match="scorecards.yaml: no scorecard 'nope'"):
        score(team_id="T1", period="2026-11", warehouse=wh, config=cfg, scorecard_id="nope")
    only_ops = ScorecardConfig.model_validate({"scorecards": [CARDS["scorecards"][3]]})
    with pytest.raises(ConfigError, match="no person scorecard for team=None role=manager; add one"):
        score(person_id="P1", period="2026-11", warehouse=wh, config=only_ops)
    with pytest.raises(KpiError, match="score needs person_id or team_id"):
        score(period="2026-11", warehouse=wh, config=cfg)


def test_achievement_target_from_last_year_growth(wh) -> None:
    cfg = ScorecardConfig.model_validate(CARDS)
    # 2027-10 has no target and no data: the target is T1's 2026-10 GMV 390 × 1.1 = 429
    sc = score(team_id="T1", period="2027-10", warehouse=wh, config=cfg, scorecard_id="growth")
    ln = sc.lines.iloc[0]
    assert ln["target"] == pytest.approx(429.0)
    assert ln["target_source"] == "last_year+0.1"
    # achievement levels shown as KPI values: threshold 0.8 × 429, maximum 1.2 × 429
    assert ln["threshold"] == pytest.approx(343.2) and ln["maximum"] == pytest.approx(514.8)
    # no actual: not scored (no payout, no total), never a made-up score nor a zero
    assert math.isnan(ln["actual"]) and math.isnan(ln["payout_pct"]) and math.isnan(sc.total)
    # quarterly: 2027-Q4 <- 2026-Q4 (T1: Oct 390 + Nov 240) × 1.1 = 693
    q = score(team_id="T1", period="2027-Q4", warehouse=wh, config=cfg, scorecard_id="growth")
    assert q.lines.iloc[0]["target"] == pytest.approx(693.0)


def test_achievement_and_value_targets_from_target_files(proj, wh) -> None:
    (proj / "parameters" / "targets" / "t.yaml").write_text(
        "targets:\n"
        "  - {kpi: gmv, entity_kind: team, entity_id: T1, period: '2026-11', value: 200}\n", encoding="utf-8")
    cfg = ScorecardConfig.model_validate(CARDS)
    # T1 November GMV: S1 180 + S2 until 11-15 60 = 240; target 200 -> achievement 1.2 -> 150 points
    sc = score(team_id="T1", period="2026-11", warehouse=wh, config=cfg, scorecard_id="growth")
    ln = sc.lines.iloc[0]
    assert ln["target"] == 200.0 and ln["target_source"] == "targets"
    assert ln["achievement"] == pytest.approx(1.2) and sc.total == pytest.approx(150.0)
    # a value line takes the entity target 200 instead of its configured 2 (money: thresholds scale × 100)
    v = score(team_id="T1", period="2026-11", warehouse=wh, config=cfg, scorecard_id="team-any").lines.iloc[0]
    assert (v["threshold"], v["target"], v["maximum"]) == (100.0, 200.0, 300.0)
    assert v["target_source"] == "targets"
    # 240 between target 200 (100 %) and maximum 300 (150 %): 100 + 50 × 40 / 100 = 120
    assert v["payout_pct"] == pytest.approx(120.0)


def test_value_line_retarget_by_unit() -> None:
    cat = load_catalog()
    card = ScorecardDef.model_validate({"id": "c", "kpis": [
        {"kpi": "gmv", "weight": 50, "threshold": 80, "target": 100, "maximum": 120},
        {"kpi": "net_margin", "weight": 50, "threshold": 0.04, "target": 0.10, "maximum": 0.16}]})
    lines, _, _ = score_lines(card, {"gmv": 200.0, "net_margin": 0.12}, cat, None,
                              {"gmv": 250.0, "net_margin": 0.12})
    g, m = lines.set_index("kpi").loc["gmv"], lines.set_index("kpi").loc["net_margin"]
    # money: ratio kept: 80/100 and 120/100 of 250 = 200 and 300
    assert (g["threshold"], g["target"], g["maximum"]) == (200.0, 250.0, 300.0)
    assert g["payout_pct"] == pytest.approx(50.0)  # at the threshold
    # a ratio: differences kept: 0.12 − 0.06 = 0.06, 0.12 + 0.06 = 0.18
    assert (m["threshold"], m["target"], m["maximum"]) == pytest.approx((0.06, 0.12, 0.18))
    assert m["payout_pct"] == pytest.approx(100.0)
    # a configured target of 0 keeps differences even for money: 0 → 50 moves −10/+10 by 50
    zero = ScorecardDef.model_validate({"id": "z", "kpis": [
        {"kpi": "gmv", "weight": 100, "threshold": -10, "target": 0, "maximum": 10}]})
    z = score_lines(zero, {"gmv": 50.0}, cat, None, {"gmv": 50.0})[0].iloc[0]
    assert (z["threshold"], z["target"], z["maximum"]) == (40.0, 50.0, 60.0)
    # no entity target (NaN): the configured band stays
    n = score_lines(card, {"gmv": 100.0, "net_margin": 0.1}, cat, None, {"gmv": float("nan")})[0].iloc[0]
    assert (n["threshold"], n["target"], n["target_source"]) == (80.0, 100.0, "scorecards.yaml")


def test_direction_against_the_catalog_is_an_error() -> None:
    # gmv is higher-is-better in the catalog; a descending band without an explicit direction
    card = ScorecardDef.model_validate({"id": "bad", "kpis": [
        {"kpi": "gmv", "weight": 100, "threshold": 120, "target": 100, "maximum": 80}]})
    with pytest.raises(ConfigError, match=r"scorecards.yaml: bad.gmv is up-is-better but its threshold, target and "
                                          r"maximum are ordered the other way"):
        score_lines(card, {"gmv": 100.0}, load_catalog())
    # without a catalog the band's own order decides (down): 90 between 100 and 80 -> 125
    lines, total, _ = score_lines(card, {"gmv": 90.0})
    assert lines.iloc[0]["direction"] == "down" and total == pytest.approx(125.0)


def test_default_cards_when_the_file_is_absent(proj) -> None:
    cfg = load_scorecards()
    assert [(c.id, c.applies_to) for c in cfg.scorecards] == [("default-team", "team"),
                                                              ("default-person", "person")]
    k = cfg.scorecards[0].kpis
    assert [(x.kpi, x.weight, x.basis) for x in k] == [("gmv", 40, "achievement"), ("net_margin", 30, "value"),
                                                      ("return_rate", 30, "value")]
    assert k[0].growth == 0.1 and (k[0].threshold, k[0].target, k[0].maximum) == (0.8, 1.0, 1.2)
    assert (k[1].threshold, k[1].target, k[1].maximum) == (0.04, 0.10, 0.16)
    assert (k[2].threshold, k[2].target, k[2].maximum) == (0.10, 0.06, 0.03)
    assert cfg.scorecards[0].name == "Team scorecard (default)" and cfg.scorecards[1].name == "Person scorecard (default)"
    assert cfg.scorecards[1].kpis == k


def _card(gated: bool) -> Scorecard:
    """Two KPIs worked by hand: gmv weight 60 paying 120 %, acos weight 40 paying 50 %; base ¥1,000.
    Uncapped total 0.6 × 120 + 0.4 × 50 = 92 points; a red gate caps it at 80."""
    import pandas as pd

    from kpi_lib.scorecard import LINE_COLUMNS, Scorecard

    rows = [dict.fromkeys(LINE_COLUMNS) | {"kpi": "gmv", "label_zh": "GMV", "label_en": "GMV", "weight": 60.0,
                                           "payout_pct": 120.0, "points": 120.0, "weighted_points": 72.0},
            dict.fromkeys(LINE_COLUMNS) | {"kpi": "acos", "label_zh": "ACoS", "label_en": "ACoS", "weight": 40.0,
                                           "payout_pct": 50.0, "points": 50.0, "weighted_points": 20.0,
                                           "gate": True, "gate_red": gated}]
    total = 80.0 if gated else 92.0
    return Scorecard("person", "P01", "T1", "2026-10", "person-any", "2026-10-01", "2026-10-31",
                     pd.DataFrame(rows), total, gated, 1000.0 * total / 100, name="Ann", notes=["n1"],
                     bonus_base=1000.0, gate_cap=80.0 if gated else None, uncapped_total=92.0)


def test_to_dict_carries_every_figure_the_reports_read() -> None:
    d = _card(gated=False).to_dict()
    assert {k: d[k] for k in ("entity_kind", "entity_id", "team_id", "name", "period", "scorecard", "start", "end",
                              "total", "gated", "bonus", "notes", "bonus_base", "uncapped_total")} == {
        "entity_kind": "person", "entity_id": "P01", "team_id": "T1", "name": "Ann", "period": "2026-10",
        "scorecard": "person-any", "start": "2026-10-01", "end": "2026-10-31", "total": 92.0, "gated": False,
        "bonus": 920.0, "notes": ["n1"], "bonus_base": 1000.0, "uncapped_total": 92.0}
    assert [c["at"] for c in d["curve"]] == ["threshold", "target", "maximum"]
    assert [c["payout"] for c in d["curve"]] == [50, 100, 150]
    assert [(x["kpi"], x["weighted_points"]) for x in d["lines"]] == [("gmv", 72.0), ("acos", 20.0)]
    assert d["lines"][0]["actual"] is None  # NaN/None become JSON null, never the string 'nan'
    # 1000 × 60 % × 120 % = 720.00; 1000 × 40 % × 50 % = 200.00; no gate line
    assert [(x["kpi"], x["amount"]) for x in d["bonus_lines"]] == [("gmv", 720.0), ("acos", 200.0)]
    assert sum(x["amount"] for x in d["bonus_lines"]) == d["bonus"]


def test_a_red_gate_adds_a_line_that_brings_the_bonus_to_the_cap() -> None:
    card = _card(gated=True)
    lines = card.bonus_lines()
    # capped: 1000 × 80 % = 800.00; the KPI lines still say 720 + 200 = 920, so the gate line is −120.00
    assert lines["kpi"].tolist() == ["gmv", "acos", "gate"]
    assert lines["amount"].tolist() == [720.0, 200.0, -120.0]
    assert lines["amount"].sum() == card.bonus == 800.0
    d = card.to_dict()
    assert d["gated"] is True and d["bonus_lines"][-1]["weight"] is None and d["bonus_lines"][-1]["amount"] == -120.0


def test_count_line_retarget_keeps_ratios() -> None:
    """A count KPI is re-targeted like money (ratio kept), not like a ratio KPI (difference kept)."""
    card = ScorecardDef.model_validate({"id": "c", "kpis": [
        {"kpi": "orders", "weight": 100, "threshold": 80, "target": 100, "maximum": 120}]})
    o = score_lines(card, {"orders": 50.0}, load_catalog(), None, {"orders": 50.0})[0].iloc[0]
    # 80/100 and 120/100 of 50 = 40 and 60 (differences would give 30 and 70)
    assert (o["threshold"], o["target"], o["maximum"]) == (40.0, 50.0, 60.0)


def test_an_actual_the_engine_cannot_compute_is_nan(monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from kpi_lib import scorecard

    long = pd.DataFrame({"value": [390.0, float("nan")]}, index=pd.Index(["gmv", "acos"], name="kpi"))
    monkeypatch.setattr(scorecard, "_actuals_long", lambda kpis, *a: long.reindex(kpis))
    got = scorecard._actuals(["gmv", "acos"], "2026-10", "team_id", "T1", {}, None)
    assert got["gmv"] == 390.0 and math.isnan(got["acos"])


def test_bonus_lines_columns_pool_and_zero_weights() -> None:
    import pandas as pd

    from kpi_lib.scorecard import bonus_lines

    cols = ["kpi", "label_zh", "label_en", "weight", "payout_pct", "pool", "amount"]
    assert list(bonus_lines(pd.DataFrame(), None, False, 0.0).columns) == cols  # no bonus base: empty, same columns
    lines = _card(gated=False).lines.copy()
    lines.loc[len(lines)] = lines.iloc[0].to_dict() | {"kpi": "units", "weight": 0.0}  # weight 0: pays nothing
    out = bonus_lines(lines, 1000.0, False, 92.0)
    assert list(out.columns) == cols and out["kpi"].tolist() == ["gmv", "acos"]
    assert out["pool"].tolist() == [1000.0, 1000.0] and out["label_en"].tolist() == ["GMV", "ACoS"]


def test_bonus_cents_round_half_up() -> None:
    from kpi_lib.scorecard import bonus_lines

    # 0.25 × 50 % × 100 % = 0.125 → 0.13 (half-up; banker's rounding would give 0.12)
    lines = _card(gated=False).lines.iloc[[0]].assign(weight=50.0, payout_pct=100.0)
    assert bonus_lines(lines, 0.25, False, 50.0)["amount"].tolist() == [0.13]


def test_gate_line_words_come_from_the_catalog() -> None:
    from kpi_lib.labels import label

    gate = _card(gated=True).bonus_lines().iloc[-1]
    assert (gate["label_zh"], gate["label_en"]) == (label("scorecard.gate_line", "zh"), label("scorecard.gate_line", "en"))
    assert gate["label_en"] != "scorecard.gate_line"


def test_a_lower_is_better_band_without_direction_is_read_downwards() -> None:
    from kpi_lib.scorecard import ScoreKpi, payout

    ln = ScoreKpi(kpi="acos", weight=100, threshold=0.30, target=0.20, maximum=0.10)  # no direction given
    # down: 0.30 → 50 %, 0.20 → 100 %, 0.10 → 150 %; 0.25 halfway → 75 %; worse than 0.30 → 0
    assert [payout(a, ln) for a in (0.35, 0.30, 0.25, 0.20, 0.10, 0.05)] == pytest.approx([0, 50, 75, 100, 150, 150])


def test_a_team_card_outranks_a_role_card(wh) -> None:
    """rank = team × 2 + role: a card for the person's team beats a card for their role."""
    cards = {"scorecards": [
        {"id": "person-team-t1", "applies_to": "person", "team": "T1",
         "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2, "maximum": 3}]},
        {"id": "person-op", "applies_to": "person", "role": "operator",
         "kpis": [{"kpi": "gmv", "weight": 100, "threshold": 1, "target": 2, "maximum": 3}]}]}
    cfg = ScorecardConfig.model_validate(cards)
    assert score(person_id="P2", team_id="T1", period="2026-11", warehouse=wh, config=cfg).scorecard_id \
        == "person-team-t1"


def test_precomputed_actuals_are_the_ones_scored(wh) -> None:
    """score(actuals=) (the report batch cache) must score the rows it is given, not the engine's."""
    import pandas as pd

    cfg = ScorecardConfig.model_validate({"scorecards": [CARDS["scorecards"][0]]})
    given = pd.DataFrame({"team_id": ["T1"], "kpi": ["gmv"], "value": [2.5], "complete": [True], "missing": [""],
                          "stores_covered": [2], "stores_total": [2]})
    card = score(team_id="T1", period="2026-10", warehouse=wh, config=cfg, actuals=lambda *a: given)
    line = card.lines.set_index("kpi").loc["gmv"]
    assert line["actual"] == 2.5 and line["payout_pct"] == 125.0  # halfway target 2 → maximum 3: 100 → 150


def test_nan_figures_are_json_null() -> None:
    card = _card(gated=False)
    card.lines["actual"] = [390.0, float("nan")]  # a float column with one missing value
    d = card.to_dict()
    assert d["lines"][0]["actual"] == 390.0 and d["lines"][1]["actual"] is None


def test_a_fractional_weight_still_pays() -> None:
    from kpi_lib.scorecard import bonus_lines

    lines = _card(gated=False).lines.iloc[[0]].assign(weight=0.5, payout_pct=100.0)
    assert bonus_lines(lines, 1000.0, False, 0.5)["amount"].tolist() == [5.0]  # 1000 × 0.5 % × 100 %


def test_kpi_target_reads_the_warehouse_it_is_given(wh, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two warehouses: the default one (KPI_WAREHOUSE) has no computed targets, the other stores T1's
    November GMV target 500. The target comes from the warehouse passed, never from the default."""
    import pandas as pd

    from kpi_lib.scorecard import kpi_target
    from kpi_lib.targets import TARGET_COLUMNS

    monkeypatch.setenv("KPI_WAREHOUSE", str(wh.path))
    other = make_warehouse(tmp_path / "other")
    row = {"kpi": "gmv", "entity_kind": "team", "entity_id": "T1", "period": "2026-11", "value": 500.0,
           "cascade": False, "source": "targets", "method": "set", "parent": ""}
    with other.transaction("targets") as w:
        w.write("kpi_targets", pd.DataFrame([{c: row.get(c) for c in TARGET_COLUMNS}]), partition_by=())
    assert kpi_target("gmv", "team", "T1", "2026-11", warehouse=other) == 500.0
    assert math.isnan(kpi_target("gmv", "team", "T1", "2026-11", warehouse=wh))
    assert math.isnan(kpi_target("gmv", "team", "T1", "2026-11"))  # the default warehouse has none
