"""Target gaps named by the eighth session's mutation run (issue 11, ninth session), each worked by hand.

1. **The cascade's rows sum to the parent exactly.** ``_cascade_historical`` normalises its weights, then puts
   the float remainder on the largest row. "Exactly" means the correctly rounded sum (``math.fsum``, the same
   whatever the order of the rows); the remainder must be the parent minus that sum (a remainder of the wrong
   sign doubles the error instead of removing it).
2. **A month row that opens its target's quarter paces like the quarter.** January of a seasonal Q1 target
   (``_pacing_method``: the target whose period holds the row, its first day included).
3. **A cascaded store row paces like the target it was cascaded from** (the store has no target of its own:
   the company's seasonal Q1 target decides, not the calendar).
4. **A team's excluded days leave the team's actual** (every store of the team on those days; the team id is
   not a store id).

Data: ``tests/worked_fixtures.py`` plus two M1 orders: 100 on 2025-01-25 and 200 on 2026-01-25 (delivered).

- Trailing 12 months before 2026-01: M1 2,100 + 100 = 2,200, M2 1,400 → shares 11/18, 7/18, median 1/2.
- Last year's Q1: January 300 + 100 + 100 = 500, February 800, March 400 (1,700) → months 5/17, 8/17, 4/17.
- N1 (launched 2026-02-10, ramp 3): January 0 (not launched), February 1/3, March 2/3 of the median share.
- Σ weights = 1 (the mature stores) + 1/2 × (1/3 × 8/17 + 2/3 × 4/17) = 1 + 8/51 = 59/51.
- A company Q1 target of 1,180 (= 59 × 20): each row = weight × 1,180 × 51/59 = weight × 1,020.
  M1 January = 11/18 × 5/17 × 1,020 = 183⅓, M2 January = 7/18 × 5/17 × 1,020 = 116⅔, the company's January
  row 300; the largest row is M1 February = 11/18 × 8/17 × 1,020 = 293⅓.
- Last January by its 10th day: company 400 of 500 = 0.8; M1 300 of 400 = 0.75; M2 100 of 100 = 1.
  Calendar: 10/31.
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction

import pandas as pd
import pytest
from worked_fixtures import build_tables, catalog_plus, order_lines_like, project_elsewhere
from worked_fixtures import one_row as row

from kpi_lib.definitions import load_catalog
from kpi_lib.targets import all_targets, cascade, evaluate

TARGETS = """
targets:
  - {kpi: gmv, entity_kind: company, period: 2026-Q1, value: 1180, cascade: true, pacing: seasonal, ramp_months: 3}
  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-01, value: 1500}
"""

ADJUSTMENTS = """
adjustments:
  - {id: T9, who: me, when: 2026-02-01, why: team off-line, kind: exclude_days, kpi: gmv, entity_kind: team,
     entity_id: T1, start: 2026-01-12, end: 2026-01-20}
"""


def _tables() -> dict:
    tables = build_tables()
    o = tables["orders"]
    line = o[o["store_id"] == "M1"].iloc[0]
    extra = order_lines_like(line, [("M1", "2025-01-25", 100.0), ("M1", "2026-01-25", 200.0)])
    tables["orders"] = pd.concat([o, extra], ignore_index=True)
    return tables


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with project_elsewhere(tmp_path_factory.mktemp("gaps"), TARGETS, ADJUSTMENTS, _tables()) as got:
        yield got


@pytest.mark.parametrize("total", [1000.0, 1234.5, 1180.0, 3000.0, 947.0, 13.1])
def test_cascade_rows_sum_to_the_parent_exactly(project, total):
    """The rows' correctly rounded sum is the parent. 947 and 13.1 (found by trying every total 1..3,000 and
    0.1..19.9): the normalised rows fall short by 1.1e-13 and 1.8e-15 before the remainder; a remainder of the
    wrong sign leaves them 2.3e-13 and 3.6e-15 short. 1,000, 1,234.5 and 3,000: the rows are exact before the
    remainder, but pandas' sum of them is not (a remainder taken from it moved the exact sum off by 1e-13). Each row is its share of the total worked by hand (to 1e-12), the
    largest, M1 February, 11/18 × 8/17 × 51/59 of it (= 44/177), within the remainder of one ulp or two."""
    _, wh = project
    c = cascade({"kpi": "gmv", "entity_kind": "company", "period": "2026-Q1", "value": total}, wh, ramp_months=3)
    rows = {(r.entity_id, r.period): r.value for r in c.itertuples()}
    assert math.fsum(rows.values()) == total
    # the exact (rational) sum of the rows is the total within half an ulp of it
    exact = sum(Fraction(v) for v in rows.values())
    assert abs(exact - Fraction(total)) <= Fraction(math.ulp(total)) / 2
    share = {("M1", "2026-01"): Fraction(11, 18) * Fraction(5, 17), ("M1", "2026-02"): Fraction(11, 18) * Fraction(8, 17),
             ("M1", "2026-03"): Fraction(11, 18) * Fraction(4, 17), ("M2", "2026-01"): Fraction(7, 18) * Fraction(5, 17),
             ("M2", "2026-02"): Fraction(7, 18) * Fraction(8, 17), ("M2", "2026-03"): Fraction(7, 18) * Fraction(4, 17),
             ("N1", "2026-01"): Fraction(0), ("N1", "2026-02"): Fraction(1, 6) * Fraction(8, 17),
             ("N1", "2026-03"): Fraction(1, 3) * Fraction(4, 17)}
    assert sum(share.values()) == Fraction(59, 51)
    for key, w in share.items():
        assert rows[key] == pytest.approx(float(w * Fraction(51, 59) * Fraction(total)), rel=1e-12, abs=0), key
    assert max(rows, key=rows.get) == ("M1", "2026-02")
    assert float(Fraction(44, 177) * Fraction(total)) == pytest.approx(rows[("M1", "2026-02")], rel=1e-15, abs=0)


def test_january_paces_like_its_seasonal_quarter(project):
    """As of 2026-01-10 the company's January row (a month of its seasonal Q1 target, starting on the quarter's
    first day) expects 300 × 0.8 = 240 (last January's curve), not 300 × 10/31 = 96.8."""
    _, wh = project
    ev = evaluate(as_of=dt.date(2026, 1, 10), warehouse=wh)
    r = row(ev, "gmv", "company", "", "2026-01")
    assert r["target"] == pytest.approx(300.0, rel=1e-12)
    assert r["expected_to_date"] == pytest.approx(240.0, rel=1e-12)
    # the same rows passed in without the name of their parent (a frame edited by hand): January still finds the
    # company's target whose period holds it, from its first day
    tg = all_targets(wh).assign(parent="")
    ev = evaluate(as_of=dt.date(2026, 1, 10), warehouse=wh, targets=tg)
    assert row(ev, "gmv", "company", "", "2026-01")["expected_to_date"] == pytest.approx(240.0, rel=1e-12)
    # parents read back as NaN (a frame from CSV or Parquet): no parent, the same pacing
    ev = evaluate(as_of=dt.date(2026, 1, 10), warehouse=wh, targets=tg.assign(parent=float("nan")))
    assert row(ev, "gmv", "company", "", "2026-01")["expected_to_date"] == pytest.approx(240.0, rel=1e-12)
    # and March, which closes the quarter: its row is 1,020 × (4/17 + 1/2 × 2/3 × 4/17) = 320; last March the
    # company sold all 400 by the 10th → expected 320 × 1.0 (the calendar would say 320 × 10/31 = 103.2)
    ev = evaluate(as_of=dt.date(2026, 3, 10), warehouse=wh, targets=tg)
    r = row(ev, "gmv", "company", "", "2026-03")
    assert r["target"] == pytest.approx(320.0, rel=1e-12) and r["expected_to_date"] == pytest.approx(320.0, rel=1e-12)


def test_cascaded_store_rows_pace_like_their_parent_target(project):
    """M1 and M2 have no targets of their own: their January rows come from the company's seasonal Q1 target and
    pace by their own last January: M1 183⅓ × 0.75 = 137.5 (not × 10/31 = 59.1), M2 116⅔ × 1.0."""
    _, wh = project
    ev = evaluate(as_of=dt.date(2026, 1, 10), warehouse=wh)
    m1 = row(ev, "gmv", "store", "M1", "2026-01")
    assert m1["target"] == pytest.approx(550 / 3, rel=1e-12)
    assert m1["expected_to_date"] == pytest.approx(137.5, rel=1e-12)
    m2 = row(ev, "gmv", "store", "M2", "2026-01")
    assert m2["target"] == pytest.approx(350 / 3, rel=1e-12)
    assert m2["expected_to_date"] == pytest.approx(350 / 3, rel=1e-12)


def test_a_teams_excluded_days_leave_its_actual(project):
    """T1 (M1 + M2) January: the orders of the 15th (900 + 500) fall in T9's days (12th-20th, 9 of 31 days),
    M1's 200 of the 25th stays: actual 200 (not 1,600), target 1,500 × 22/31 = 1,064.5 → 0.188, red."""
    _, wh = project
    ev = evaluate(as_of=dt.date(2026, 2, 1), warehouse=wh)
    r = row(ev, "gmv", "team", "T1", "2026-01")
    assert r["actual"] == pytest.approx(200.0)
    assert r["target"] == pytest.approx(1500 * 22 / 31)
    assert r["achievement"] == pytest.approx(200 / (1500 * 22 / 31)) and r["status"] == "red"
    assert r["adjustment_ids"] == "T9"


def test_two_cascades_onto_one_store_month_keep_the_first_and_say_so(tmp_path):
    """The company's Q1 target (1,180, listed first) and team T1's (2,000) both cascade onto M1 and M2 × Q1:
    the six store × month rows keep the company's values (M1 January 183⅓, not the team's 2,000 × 11/18 × 5/17
    = 359.5) and one warning names both parents and the six rows the team's cascade lost. T1's own month rows
    (its parent's months, 2,000 × 5/17 for January) are no store's: kept. One cascade alone: no warning."""
    targets = TARGETS.replace("  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-01, value: 1500}\n", "")
    both = targets + "  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-Q1, value: 2000, cascade: true}\n"
    with project_elsewhere(tmp_path / "both", both, tables=_tables()) as (_, wh):
        tg = all_targets(wh)
    assert row(tg, "gmv", "store", "M1", "2026-01")["value"] == pytest.approx(550 / 3, rel=1e-12)
    assert row(tg, "gmv", "store", "M1", "2026-01")["parent"] == "company::2026-Q1"
    assert row(tg, "gmv", "team", "T1", "2026-01")["value"] == pytest.approx(2000 * 5 / 17, rel=1e-12)
    lost = [w for w in tg.attrs["warnings"] if "team:T1:2026-Q1" in w]
    assert len(lost) == 1 and "company::2026-Q1" in lost[0] and " 6 " in lost[0], tg.attrs["warnings"]
    with project_elsewhere(tmp_path / "one", targets, tables=_tables()) as (_, wh):
        assert all_targets(wh).attrs["warnings"] == []


def test_a_target_of_an_unknown_kpi_is_a_config_error_naming_file_and_target(tmp_path):
    """A target file naming a KPI the catalog lacks is a broken parameter file: a ConfigError (which no caller
    swallows: a contract with its own target rule must not silently drop every file target) naming the file,
    the target's place in it and the known KPIs — every such target at once (YAML ``targets[1]``, CSV row 3)."""
    from kpi_lib.errors import ConfigError
    from kpi_lib.settlement import contract_target
    from kpi_lib.spec.contracts import Contract

    bad = TARGETS + "  - {kpi: gmvv, entity_kind: contract, entity_id: C-X, period: 2026-01, value: 1}\n"
    with project_elsewhere(tmp_path, bad, tables=_tables()) as (root, wh):
        (root / "parameters" / "targets" / "more.csv").write_text(
            "kpi,entity_kind,entity_id,period,value\ngmv,store,M1,2026-02,5\nnope,company,,2026-02,5\n", encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            all_targets(wh)
        assert err.value.issues == ["more.csv: row 3: unknown KPI 'nope' (company 2026-02)",
                                    "t.yaml: targets[2]: unknown KPI 'gmvv' (contract C-X 2026-01)"]
        assert f"(known KPIs: {', '.join(load_catalog().kpis)})" in str(err.value)
        c = Contract.model_validate({"id": "C-X", "stores": ["M1"], "fee": {"model": "fixed", "base": 1}, "target": 900})
        with pytest.raises(ConfigError, match="unknown KPI 'gmvv'"):
            contract_target(c, "2026-01", wh)


def test_a_catalog_passed_in_decides_the_cascade_and_only_overrides_override(tmp_path):
    """``all_targets(catalog=…)`` cascades with that catalog: ``aov_b`` (AOV under another name, a ratio) exists in
    it only, so its company Q1 target of 55 is copied to every store × month of the quarter (a ratio is not shared
    out; N1, launched in February, too, as ``test_targets_rules`` has it for acos); the
    project's own catalog does not know it. An ``exclude_days`` adjustment that also carries the period label
    2026-02 (allowed) is not an override: M1's February target of 4,000 stays the file's, with its method."""
    cat = catalog_plus("aov_b", "aov")
    targets = TARGETS + ("  - {kpi: aov_b, entity_kind: company, period: 2026-Q1, value: 55, cascade: true}\n"
                         "  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-02, value: 4000}\n")
    adjustments = ADJUSTMENTS + ("  - {id: X2, who: me, when: 2026-02-01, why: stock-out, kind: exclude_days, kpi: gmv,\n"
                                 "     entity_kind: store, entity_id: M1, start: 2026-02-03, end: 2026-02-04,"
                                 " period: 2026-02, value: 1}\n")
    with project_elsewhere(tmp_path, targets, adjustments, _tables()) as (_, wh):
        tg = all_targets(wh, catalog=cat)
    copied = tg[(tg["kpi"] == "aov_b") & (tg["entity_kind"] == "store")]
    assert sorted(zip(copied["entity_id"], copied["period"])) == sorted(
        (s, m) for s in ("M1", "M2", "N1") for m in ("2026-01", "2026-02", "2026-03"))
    assert set(copied["value"]) == {55.0} and set(copied["method"]) == {"copy (non-additive KPI)"}
    m1 = row(tg, "gmv", "store", "M1", "2026-02")
    assert (m1["value"], m1["method"], m1["parent"]) == (4000.0, "file", "")
    assert tg.attrs["warnings"] == []  # a file target over a cascaded row is the rule, not an overlap of cascades


def test_a_periods_own_target_wins_and_two_different_values_are_an_error(tmp_path):
    """M1's units: 5 for every month ('*') and 8 written for 2026-02. February is 8 whichever is listed first
    (before: the first listed won, so '*' first silently dropped the 8); the other months keep 5. The same
    company Q1 target in a second file: with the same value it is one target; with another value (2,000 against
    1,180) a ConfigError names both places and values rather than keeping the first."""
    from kpi_lib.errors import ConfigError

    every, feb = ("  - {kpi: units, entity_kind: store, entity_id: M1, period: '*', value: 5}\n",
                  "  - {kpi: units, entity_kind: store, entity_id: M1, period: 2026-02, value: 8}\n")
    for i, extra in enumerate((every + feb, feb + every)):
        with project_elsewhere(tmp_path / f"order{i}", TARGETS + extra, tables=_tables()) as (_, wh):
            tg = all_targets(wh)
        assert row(tg, "units", "store", "M1", "2026-02")["value"] == 8.0, i
        assert row(tg, "units", "store", "M1", "2026-01")["value"] == 5.0
        assert row(tg, "units", "store", "M1", "2026-03")["value"] == 5.0
    company = TARGETS.splitlines(keepends=True)[2]  # the company's Q1 target, as written
    for value, fails in (("1180", False), ("2000", True)):
        with project_elsewhere(tmp_path / value, TARGETS, tables=_tables()) as (root, wh):
            (root / "parameters" / "targets" / "u.yaml").write_text("targets:\n" + company.replace("1180", value),
                                                                    encoding="utf-8")
            if not fails:
                tg = all_targets(wh)
                assert row(tg, "gmv", "company", "", "2026-Q1")["value"] == 1180.0
                assert tg.attrs["warnings"] == []  # one target: its cascade does not overlap itself
                continue
            with pytest.raises(ConfigError) as err:
                all_targets(wh)
    assert err.value.issues == ["gmv company 2026-Q1: t.yaml: targets[0] = 1180; u.yaml: targets[0] = 2000"]
    assert str(err.value).splitlines()[0] == ("targets set twice with different values: keep one (a period's own "
                                              "target already wins over a '*' or latest_* one)")
    # every conflict at once, in the order the files list them (units before gmv, though "gmv" sorts first)
    twice = TARGETS + "".join(f"  - {{kpi: {k}, entity_kind: store, entity_id: M2, period: 2026-02, value: {v}}}\n"
                              for k, v in (("units", 8), ("gmv", 100), ("units", 9), ("gmv", 200)))
    with project_elsewhere(tmp_path / "both", twice, tables=_tables()) as (_, wh), pytest.raises(ConfigError) as err:
        all_targets(wh)
    assert err.value.issues == ["units store M2 2026-02: t.yaml: targets[2] = 8; t.yaml: targets[4] = 9",
                                "gmv store M2 2026-02: t.yaml: targets[3] = 100; t.yaml: targets[5] = 200"]


def test_an_every_month_target_beats_a_cascade_and_an_override_can_stand_alone(tmp_path):
    """M2's gmv written for every month ('*', 70) beats the company's Q1 cascade onto M2 (January 116⅔): a target
    written in a file, general or not, wins over a cascaded row. A company override for a month no file
    targets (2026-04, 500) is a target of its own: entity id "" (the company), value 500."""
    targets = TARGETS + "  - {kpi: gmv, entity_kind: store, entity_id: M2, period: '*', value: 70}\n"
    adjustments = ADJUSTMENTS + ("  - {id: OV9, who: me, when: 2026-03-01, why: new plan, kind: override_target,"
                                 " kpi: gmv, entity_kind: company, period: 2026-04, value: 500}\n")
    with project_elsewhere(tmp_path, targets, adjustments, _tables()) as (_, wh):
        tg = all_targets(wh)
    m2 = row(tg, "gmv", "store", "M2", "2026-01")
    assert (m2["value"], m2["parent"], m2["method"]) == (70.0, "", "file")
    apr = row(tg, "gmv", "company", "", "2026-04")
    assert (apr["value"], apr["method"], apr["source"]) == (500.0, "override OV9", "adjustments.yaml")
