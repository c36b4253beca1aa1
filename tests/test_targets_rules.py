"""Target files, cascades by method, growth from precomputed rows and ratio conflicts against numbers worked by
hand (issue 11: the survivors of ``all_targets``, ``reweight``, ``cascade``, ``kpi_growth_target``,
``target_conflicts`` and ``load_targets``).

Data: ``tests/worked_fixtures.py`` (M1 and M2 mature, N1 launched 2026-02-10; T2 = N1 alone), the warehouse kept
outside the project (``KPI_WAREHOUSE`` unset: every step must use the warehouse passed in). Orders run from
2025-01 to 2026-03 (15 months with data).

Historical cascade of Q1 2026 with a 3-month ramp (worked in ``test_targets_worked.py``): raw weights
M1 .15 / .30 / .15, M2 .10 / .20 / .10, N1 0 / 1/12 / 1/12 (not launched in January; cold start
0.5 × 1/3 × 1/2 and 0.5 × 2/3 × 1/4), total 7/6; months 3/14, 1/2, 2/7 of the parent.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from worked_fixtures import catalog_plus, one_row, project_elsewhere

from kpi_lib.definitions import Catalog
from kpi_lib.errors import TargetError
from kpi_lib.targets import (
    TARGET_COLUMNS,
    Target,
    all_targets,
    cascade,
    kpi_growth_target,
    load_targets,
    reweight,
    target_conflicts,
)

TARGETS = """
targets:
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: '2026-01-05', growth: 0.1}
  - {kpi: units, entity_kind: team, entity_id: T2, period: '*', value: 10, cascade: true}
  - {kpi: gmv, entity_kind: company, period: latest_quarter, value: 12000, cascade: true, ramp_months: 3}
  - {kpi: units, entity_kind: store, entity_id: M1, period: '*', value: 5}
  - {kpi: acos, entity_kind: company, period: 2026-Q1, value: 0.2, cascade: true}
  - {kpi: orders, entity_kind: store, entity_id: M1, period: 2026-02, value: 4}
  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-01, growth: 0.5, note: stretch}
  - {kpi: units, entity_kind: store, entity_id: M2, period: '*', growth: 0.1}
  - {kpi: gmv, entity_kind: team, entity_id: T1, period: 2026-02, growth: 0}
"""

ADJUSTMENTS = """
adjustments:
  - {id: OV1, who: me, when: 2026-01-02, why: new plan, kind: override_target, kpi: gmv, entity_kind: company,
     period: 2026-Q1, value: 6000}
  - {id: OV2, who: me, when: 2026-01-02, why: new plan, kind: override_target, kpi: gmv, entity_kind: store,
     entity_id: M1, period: 2026-02, value: 3000}
  - {id: OV3, who: me, when: 2026-01-02, why: store closes, kind: override_target, kpi: gmv, entity_kind: store,
     entity_id: M2, period: 2026-05, value: 0}
"""


def catalog_b() -> Catalog:
    """The project's catalog plus ``aov_b``: AOV (``gmv / orders``) under another name."""
    return catalog_plus("aov_b", "aov")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    with project_elsewhere(tmp_path_factory.mktemp("rules"), TARGETS, ADJUSTMENTS) as got:
        yield got


# ------------------------------------------------------------------------------------------ all_targets
def test_all_targets_overrides_cascades_and_expansions(project):
    _, wh = project
    tg = all_targets(wh, catalog=catalog_b())
    assert list(tg.columns) == TARGET_COLUMNS and list(tg.index) == list(range(len(tg)))
    # latest_quarter = the quarter of the data's last day (2026-03) = 2026-Q1; OV1 replaces 12000 by 6000
    # *before* the cascade, so the children share 6000: 6000 / (7/6) = 5142.857 per unit of raw weight
    q = one_row(tg, "gmv", "company", "", "2026-Q1")
    assert q["value"] == 6000.0 and q["method"] == "override OV1" and q["source"] == "t.yaml" and q["cascade"] in (True,)
    unit = 6000 / (7 / 6)
    for (eid, per), w in {("M1", "2026-01"): .15, ("M1", "2026-03"): .15, ("M2", "2026-01"): .10,
                          ("M2", "2026-02"): .20, ("M2", "2026-03"): .10, ("N1", "2026-01"): 0.0,
                          ("N1", "2026-02"): 1 / 12, ("N1", "2026-03"): 1 / 12}.items():
        r = one_row(tg, "gmv", "store", eid, per)
        assert r["value"] == pytest.approx(w * unit, abs=1e-6), (eid, per)
        assert r["parent"] == "company::2026-Q1" and r["source"] == "t.yaml" and r["cascade"] in (False,)
    # OV2 replaces M1's cascaded February (.30 × 5142.86 = 1542.86) after the cascade
    r = one_row(tg, "gmv", "store", "M1", "2026-02")
    assert r["value"] == 3000.0 and r["method"] == "override OV2"
    # the parent's months: sums of the cascade (before OV2): .25, .5 + 1/12, .25 + 1/12 of 7/6
    for per, w in {"2026-01": .25, "2026-02": .5 + 1 / 12, "2026-03": .25 + 1 / 12}.items():
        r = one_row(tg, "gmv", "company", "", per)
        assert r["value"] == pytest.approx(w * unit) and r["method"] == "month of cascaded 2026-Q1"
        assert r["parent"] == "company::2026-Q1" and r["source"] == "t.yaml" and r["cascade"] in (False,)
    # acos (a ratio) is copied to every store × month, and its parent months take the value, not a sum
    for per in ("2026-01", "2026-02", "2026-03"):
        assert one_row(tg, "acos", "company", "", per)["value"] == pytest.approx(0.2)
        assert {one_row(tg, "acos", "store", s, per)["value"] for s in ("M1", "M2", "N1")} == {0.2}
    # '*': one row per month with data, 2025-01 .. 2026-03
    units = tg[(tg["kpi"] == "units") & (tg["entity_id"] == "M1")]
    assert sorted(units["period"]) == [f"2025-{m:02d}" for m in range(1, 13)] + ["2026-01", "2026-02", "2026-03"]
    assert set(units["value"]) == {5.0} and set(units["method"]) == {"file"}
    # T2's units '*' cascade: N1 is T2's only store, launched 2026-02-10: 2026-02 and 2026-03 get the whole 10;
    # the 13 earlier months have no store (skipped and said) but keep the team's own row
    n1 = tg[(tg["kpi"] == "units") & (tg["entity_id"] == "N1")]
    assert sorted(zip(n1["period"], n1["value"])) == [("2026-02", 10.0), ("2026-03", 10.0)]
    assert (tg[(tg["kpi"] == "units") & (tg["entity_id"] == "T2")]["value"] == 10.0).sum() == 15
    # growth: T1 (M1 + M2) January 2025 = 300 + 100 = 400 → 600
    g = one_row(tg, "gmv", "team", "T1", "2026-01")
    assert g["value"] == pytest.approx(600.0) and g["method"] == "2025-01 × (1 +50%)"
    # M2's units '*' growth: 2025's months have no 2024 to grow from (skipped, each said); 2026's months grow
    # last year's single order (1 unit) by 10 %
    u2 = tg[(tg["kpi"] == "units") & (tg["entity_id"] == "M2")]
    assert sorted(zip(u2["period"], u2["value"])) == [(m, pytest.approx(1.1)) for m in ("2026-01", "2026-02", "2026-03")]
    # growth 0: last year as it was (T1 February 2025 = 600 + 200 = 800), not doubled
    g0 = one_row(tg, "gmv", "team", "T1", "2026-02")
    assert g0["value"] == pytest.approx(800.0) and g0["method"] == "2025-02 × (1 +0%)"
    # OV3 overrides a target no file has: added as its own row, value 0 (not missing, not 1)
    r = one_row(tg, "gmv", "store", "M2", "2026-05")
    assert (r["value"], r["source"], r["method"], r["parent"], bool(r["cascade"])) == (
        0.0, "adjustments.yaml", "override OV3", "", False)
    # aov_b = gmv / orders (in the catalog passed in only), derived: M1 February 3000 / 4 = 750
    d = one_row(tg, "aov_b", "store", "M1", "2026-02")
    assert d["value"] == pytest.approx(750.0) and d["method"] == "derived (gmv / orders)"
    # warnings: the day-level growth target (skipped) and T2's 13 months without a store, each naming the file
    w = tg.attrs["warnings"]
    # and M2's 12 units months of 2025 without a base
    assert len(w) == 26 and sum(x.startswith("t.yaml: ") for x in w) == 14
    assert sum("2026-01-05" in x for x in w) == 1 and sum("cascade skipped" in x for x in w) == 13
    assert sum("units store M2" in x and "growth needs data for 2024-" in x for x in w) == 12


def test_load_targets_as_written(project):
    root, _ = project
    df = load_targets(root / "parameters" / "targets")
    assert list(df.columns) == ["kpi", "entity_kind", "entity_id", "period", "value", "growth", "cascade",
                                "ramp_months", "pacing", "note", "source"]
    assert len(df) == 9 and set(df["source"]) == {"t.yaml"}
    r = df.iloc[6]
    assert (r["kpi"], r["entity_id"], r["period"], r["growth"], r["note"], r["pacing"]) == (
        "gmv", "T1", "2026-01", 0.5, "stretch", "calendar")
    assert pd.isna(r["value"]) and df.iloc[2]["ramp_months"] == 3 and df.iloc[2]["period"] == "latest_quarter"
    none = load_targets(root / "absent")
    assert none.empty and list(none.columns) == list(df.columns)


# ------------------------------------------------------------------------------------ cascade methods
Q1 = {"kpi": "gmv", "entity_kind": "company", "period": "2026-Q1", "value": 12000.0}


def _v(c: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {(r.entity_id, r.period): r.value for r in c.itertuples()}


def test_equal_cascade_keeps_months_and_ramps(project):
    """Equal store weights × the historical month split (3/14, 1/2, 2/7) × each store's ramp (N1: 0, 1/3, 2/3):
    M1 and M2 3/14 + 1/2 + 2/7 = 1 each, N1 1/2 × 1/3 + 2/7 × 2/3 = 1/6 + 4/21 = 5/14; total 33/14, so one
    unit of weight is 12000 × 14/33 = 5090.91."""
    _, wh = project
    c = cascade(Q1, wh, ramp_months=3, method="equal")
    u = 12000 * 14 / 33
    want = {("M1", "2026-01"): 3 / 14 * u, ("M1", "2026-02"): u / 2, ("M1", "2026-03"): 2 / 7 * u,
            ("M2", "2026-01"): 3 / 14 * u, ("M2", "2026-02"): u / 2, ("M2", "2026-03"): 2 / 7 * u,
            ("N1", "2026-01"): 0.0, ("N1", "2026-02"): u / 6, ("N1", "2026-03"): 4 / 21 * u}
    assert _v(c) == pytest.approx(want)
    assert set(c["kpi"]) == {"gmv"} and set(c["entity_kind"]) == {"store"} and set(c["parent"]) == {"company::2026-Q1"}
    m = dict(zip(zip(c["entity_id"], c["period"]), c["method"]))
    assert m[("M1", "2026-02")] == "equal store weight × seasonal month weight"
    assert m[("N1", "2026-02")] == "equal store weight × seasonal month weight × ramp 0.33"
    # the target's own ramp (6 months) when none is passed. The historical split first: N1's cold start is
    # 0.5 × 1/6 × 1/2 = 1/24 and 0.5 × 2/6 × 1/4 = 1/24, so months .25, .5 + 1/24, .25 + 1/24 of 13/12 =
    # 3/13, 1/2, 7/26; equal weights: N1 1/2 × 1/6 + 7/26 × 2/6 = 1/12 + 7/78, total 2 + 9/52 = 113/52
    c6 = cascade({**Q1, "ramp_months": 6}, wh, method="equal")
    assert _v(c6)[("N1", "2026-02")] == pytest.approx(12000 * (1 / 12) / (113 / 52))
    assert _v(c6)[("M1", "2026-03")] == pytest.approx(12000 * (7 / 26) / (113 / 52))
    # a value passed in wins over the file's (a growth target has none)
    g = cascade({**Q1, "value": None, "growth": 0.1}, wh, ramp_months=3, method="equal", value=1200.0)
    assert _v(g) == pytest.approx({k: v / 10 for k, v in want.items()})


def test_manual_cascade_any_scale(project):
    """Manual weights 0.3 : 0.1 (N1 unnamed: 0): M1 3/4 and M2 1/4 of 12000, each split 3/14, 1/2, 2/7."""
    _, wh = project
    c = cascade(Q1, wh, ramp_months=3, method="manual", store_weights={"M1": 0.3, "M2": 0.1})
    want = {("M1", "2026-01"): 9000 * 3 / 14, ("M1", "2026-02"): 4500.0, ("M1", "2026-03"): 9000 * 2 / 7,
            ("M2", "2026-01"): 3000 * 3 / 14, ("M2", "2026-02"): 1500.0, ("M2", "2026-03"): 3000 * 2 / 7,
            ("N1", "2026-01"): 0.0, ("N1", "2026-02"): 0.0, ("N1", "2026-03"): 0.0}
    assert _v(c) == pytest.approx(want)
    with pytest.raises(TargetError, match="^all store weights are zero$"):
        cascade(Q1, wh, ramp_months=3, method="manual", store_weights={"N1": 0.0})
    with pytest.raises(TargetError, match="all store weights are zero"):
        cascade(Q1, wh, ramp_months=3, method="manual")


def test_cascade_method_errors_and_ratio_copies(project):
    _, wh = project
    for bad in ("seasonal", "EQUAL"):
        with pytest.raises(TargetError, match=f"cascade method '{bad}': expected one of historical, equal, manual"):
            cascade(Q1, wh, method=bad)
    base = cascade(Q1, wh, ramp_months=3)
    with pytest.raises(TargetError, match="cascade method 'historical': expected one of historical, equal, manual"):
        reweight(base, 12000.0, "historical", {}, 3)
    r = cascade({**Q1, "kpi": "aov", "value": 50.0}, wh, method="equal")
    assert set(r["value"]) == {50.0} and set(r["method"]) == {"equal (non-additive KPI: copied)"} and len(r) == 9
    # a Target instance is taken as it is
    t = cascade(Target.model_validate(Q1), wh, ramp_months=3, method="equal")
    assert t["value"].sum() == pytest.approx(12000.0)


def test_cascade_reads_the_history_given(project):
    """History passed in (M1 and M2 sold 100 in each of the twelve months before, last year's months equal):
    shares 1/2 each, last year's Q1 months equal (1/3 each); N1 cold start
    0.5 × 1/3 (Feb) and 0.5 × 2/3 (Mar) × 1/3: total 1 + 1/18 + 1/9 = 7/6 → M1 January 12000 × (1/6) / (7/6)."""
    _, wh = project
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    hist = pd.DataFrame([(s, m, 100.0) for s in ("M1", "M2") for m in months], columns=["store_id", "period", "gmv"])
    # rows the cascade must ignore: another store, a month of the period itself, a month before the 24
    other = pd.DataFrame([("Z9", "2025-01", 5000.0), ("M1", "2026-01", 5000.0), ("M1", "2023-12", 5000.0)],
                         columns=["store_id", "period", "gmv"])
    for h in (hist, pd.concat([other, hist], ignore_index=True)):
        v = _v(cascade(Q1, wh, ramp_months=3, history=h))
        assert v[("M1", "2026-01")] == pytest.approx(12000 / 7)
        assert v[("N1", "2026-03")] == pytest.approx(12000 * (1 / 9) / (7 / 6))
    # the split does not depend on the scale of the history: 0.5 a month (last year's months 1.0 each)
    tiny = hist.assign(gmv=0.5)
    assert _v(cascade(Q1, wh, ramp_months=3, history=tiny))[("M1", "2026-01")] == pytest.approx(12000 / 7)


# --------------------------------------------------------------------------------------------- growth
def test_growth_from_rows_given(project):
    _, wh = project
    rows = pd.DataFrame({"kpi": ["units", "gmv", "gmv"], "period": ["2025-11", "2025-11", "2025-10"],
                         "value": [7.0, 200.0, 999.0]})
    g = kpi_growth_target("gmv", "store", "M1", "2026-11", 0.1, wh, rows=rows)
    assert (g.value, g.base, g.last_year) == (pytest.approx(220.0), 200.0, "2025-11")
    # rows of one KPI without a kpi column
    one = rows[rows["kpi"] == "gmv"].drop(columns="kpi")
    assert kpi_growth_target("gmv", "store", "M1", "2026-10", 0.1, wh, rows=one).value == pytest.approx(1098.9)
    # no row for last year: no target (missing is not zero), the base unknown
    none = kpi_growth_target("gmv", "store", "M1", "2026-09", 0.1, wh, rows=rows)
    assert none.value is None and math.isnan(none.base) and none.last_year == "2025-09"
    # from the engine, in the warehouse given: M2 2025-12 = 200 → 300
    e = kpi_growth_target("gmv", "store", "M2", "2026-12", 0.5, wh)
    assert e.value == pytest.approx(300.0) and e.base == pytest.approx(200.0)


# ------------------------------------------------------------------------------------------ conflicts
def test_target_conflicts_tolerance_and_inputs():
    """aov = gmv / orders. 1000 / 4 = 250: explicit 252.5 is 1 % off (not a conflict: > 1 % is), 253 is.
    S6: 300 / 1 = 300 vs 250 (a second gmv row for the same key is ignored: the first counts)."""
    rows = [("gmv", "store", "S1", "2026-01", 1000.0), ("orders", "store", "S1", "2026-01", 4.0),
            ("aov", "store", "S1", "2026-01", 252.5),
            ("gmv", "store", None, "2026-02", 1000.0), ("orders", "store", None, "2026-02", 4.0),
            ("aov", "store", None, "2026-02", 253.0),
            ("gmv", "store", "S3", "2026-01", 1000.0), ("orders", "store", "S3", "2026-01", 0.0),
            ("aov", "store", "S3", "2026-01", 1.0),
            ("aov", "store", "S4", "2026-01", 1.0), ("orders", "store", "S4", "2026-01", 1.0),
            ("gmv", "store", "S5", "2026-01", -1000.0), ("orders", "store", "S5", "2026-01", 4.0),
            ("aov", "store", "S5", "2026-01", 250.0),
            ("gmv", "store", "S6", "2026-01", 300.0), ("orders", "store", "S6", "2026-01", 1.0),
            ("aov", "store", "S6", "2026-01", 250.0), ("gmv", "store", "S6", "2026-01", 250.0)]
    t = pd.DataFrame(rows, columns=["kpi", "entity_kind", "entity_id", "period", "value"])  # no parent/method/source
    c = target_conflicts(t)
    assert list(c.columns) == ["source", "kpi", "entity_kind", "entity_id", "period", "explicit", "derived",
                               "numerator", "denominator"]
    # S1 within 1 %; the None entity (read as '') 253 vs 250 → conflict; S3 zero denominator and S4 missing gmv:
    # nothing to compare; S5: derived −250 vs explicit 250
    assert list(zip(c["entity_id"], c["explicit"], c["derived"])) == [
        ("", 253.0, 250.0), ("S5", 250.0, -250.0), ("S6", 250.0, 300.0)]
    assert set(c["source"]) == {""} and set(c["numerator"]) == {"gmv"} and set(c["denominator"]) == {"orders"}
    # a wider tolerance (2 %) keeps S5 and S6; a cascaded or derived aov row is not explicit, a null parent is
    assert list(target_conflicts(t, tolerance=0.02)["entity_id"]) == ["S5", "S6"]
    t2 = t.assign(parent=["", "", "company::2026-01"] + [""] * 11 + [None] * 4,
                  method=["file"] * 5 + ["derived (gmv / orders)"] + ["file"] * 12, source="x.yaml")
    c2 = target_conflicts(t2)
    assert list(c2["entity_id"]) == ["S5", "S6"] and list(c2["source"]) == ["x.yaml"] * 2
    empty = target_conflicts(t.iloc[0:0])
    assert len(empty) == 0 and list(empty.columns) == list(c.columns)
