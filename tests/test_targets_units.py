"""Small target rules against hand numbers (issue 11: survivors of ``adjustments_for``, ``_excluded_days`` through
``evaluate``, ``derive_targets``, ``ratio_components``, ``achievement``, ``ramp_factor``, ``store_age_months``,
``pacing``, ``load_target_files``, ``thresholds``, ``computed_targets`` / ``target_for``)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from worked_fixtures import make_project, make_warehouse

from kpi_lib.definitions import Catalog, load_catalog
from kpi_lib.targets import (
    TARGET_COLUMNS,
    achievement,
    adjustments_for,
    derive_targets,
    evaluate,
    load_target_files,
    pacing,
    ramp_factor,
    ratio_components,
    store_age_months,
    target_for,
    thresholds,
)

ADJ = """
adjustments:
  - {id: A0, who: me, when: 2026-01-01, why: other store, kind: exclude_days, entity_kind: store, entity_id: S9,
     start: 2026-01-01, end: 2026-01-31}
  - {id: A1, who: me, when: 2026-01-01, why: before the month, kind: exclude_days, entity_kind: store,
     entity_id: S1, start: 2025-12-01, end: 2025-12-31}
  - {id: A2, who: me, when: 2026-01-01, why: ends on the 1st, kind: exclude_days, entity_kind: store, entity_id: S1,
     start: 2025-12-20, end: 2026-01-01}
  - {id: A3, who: me, when: 2026-01-01, why: starts on the 31st, kind: exclude_days, kpi: gmv, entity_kind: store,
     entity_id: S1, start: 2026-01-31, end: 2026-02-03}
  - {id: A4, who: me, when: 2026-01-01, why: ads only, kind: exclude_days, kpi: acos, entity_kind: store,
     entity_id: S1, start: 2026-01-05, end: 2026-01-06}
  - {id: O1, who: me, when: 2026-01-01, why: other month, kind: override_target, kpi: gmv, entity_kind: store,
     entity_id: S1, period: 2026-02, value: 1}
  - {id: O2, who: me, when: 2026-01-01, why: other store, kind: override_target, kpi: gmv, entity_kind: store,
     entity_id: S2, period: 2026-01, value: 1}
  - {id: O3, who: me, when: 2026-01-01, why: company plan, kind: override_target, kpi: gmv, entity_kind: company,
     period: 2026-01, value: 1}
  - {id: O4, who: me, when: 2026-01-01, why: store plan, kind: override_target, kpi: gmv, entity_kind: store,
     entity_id: S1, period: 2026-01, value: 1}
  - {id: C1, who: me, when: 2026-01-01, why: company pause, kind: exclude_days, entity_kind: company,
     start: 2026-01-10, end: 2026-01-11}
"""


def _ids(adjs) -> list[str]:
    return [a.id for a in adjs]


def test_adjustments_for_windows_kinds_and_kpis(tmp_path, monkeypatch):
    """January 2026 of store S1: A1 ends before it (out), A2 ends on its first day and A3 starts on its last
    (both in), A4 is an acos adjustment (out for gmv, in for acos and for 'any KPI'), O4 is S1's own January
    override (O1 another month, O2 another store, O3 the company: out). The file is passed as ``path`` while
    the project has no adjustments file."""
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "empty")))
    p = tmp_path / "adj.yaml"
    p.write_text(ADJ, encoding="utf-8")
    assert adjustments_for("store", "S1", "2026-01", "gmv") == []  # the project's own (absent) file
    assert _ids(adjustments_for("store", "S1", "2026-01", "gmv", path=p)) == ["A2", "A3", "O4"]
    assert _ids(adjustments_for("store", "S1", "2026-01", "acos", path=p)) == ["A2", "A4"]
    assert _ids(adjustments_for("store", "S1", "2026-01", None, path=p)) == ["A2", "A3", "A4", "O4"]
    # the company: its own override and pause, and every store's days (listed, for the figures they roll into)
    assert _ids(adjustments_for("company", None, "2026-01", "gmv", path=p)) == ["A0", "A2", "A3", "O3", "C1"]
    assert _ids(adjustments_for("company", "", "2026-01", "acos", path=p)) == ["A0", "A2", "A4", "C1"]
    # every entity a store rolls into lists store adjustments; another store does not
    for kind in ("platform", "marketplace", "team", "person", "contract"):
        assert _ids(adjustments_for(kind, "X", "2026-01", "acos", path=p)) == ["A0", "A2", "A4"], kind
    assert _ids(adjustments_for("store", "S2", "2026-01", "gmv", path=p)) == ["O2"]


EVAL_TARGETS = """
targets:
  - {kpi: gmv, entity_kind: store, entity_id: M1, period: 2026-01, value: 3100}
  - {kpi: gmv, entity_kind: store, entity_id: M2, period: 2026-01, value: 3100}
"""

EVAL_ADJ = """
adjustments:
  - {id: OV, who: me, when: 2026-01-01, why: re-plan, kind: override_target, kpi: gmv, entity_kind: store,
     entity_id: M1, period: 2026-01, value: 3100}
  - {id: E1, who: me, when: 2026-01-01, why: stock-out, kind: exclude_days, kpi: gmv, entity_kind: store,
     entity_id: M1, start: 2026-01-01, end: 2026-01-10}
  - {id: E2, who: me, when: 2026-01-01, why: stock-out, kind: exclude_days, kpi: gmv, entity_kind: store,
     entity_id: M1, start: 2026-01-05, end: 2026-01-12}
  - {id: E3, who: me, when: 2026-01-01, why: stock-out, kind: exclude_days, kpi: gmv, entity_kind: store,
     entity_id: M2, start: 2025-12-28, end: 2026-01-02}
"""


def test_excluded_days_overlap_and_clip(tmp_path, monkeypatch):
    """M1: E1 (1st-10th) and E2 (5th-12th) overlap: 12 distinct days of 31 → 3100 × 19/31 = 1900 (the override OV
    listed first changes nothing: same value); M2: E3 runs from December: only January 1st-2nd count → 3100 × 29/31
    = 2900. Actuals: the orders of the 15th stay (M1 900, M2 500)."""
    root = make_project(tmp_path / "p", targets_yaml=EVAL_TARGETS)
    (root / "parameters" / "adjustments.yaml").write_text(EVAL_ADJ, encoding="utf-8")
    monkeypatch.setenv("KPI_ROOT", str(root))
    wh = make_warehouse(tmp_path / "wh")
    ev = evaluate(periods=["2026-01"], as_of=dt.date(2026, 2, 1), warehouse=wh).set_index("entity_id")
    assert ev.loc["M1", "target"] == pytest.approx(1900.0) and ev.loc["M1", "actual"] == 900.0
    assert ev.loc["M1", "adjustment_ids"] == "OV,E1,E2"
    assert ev.loc["M2", "target"] == pytest.approx(2900.0) and ev.loc["M2", "actual"] == 500.0


# --------------------------------------------------------------------------------------- derive_targets
def _tg(rows) -> pd.DataFrame:
    return pd.DataFrame([{"kpi": k, "entity_kind": "store", "entity_id": e, "period": "2026-01", "value": v,
                          "cascade": False, "source": "t.yaml", "method": m, "parent": par}
                         for k, e, v, m, par in rows], columns=TARGET_COLUMNS)


def test_derive_targets_replaces_copies_keeps_explicit():
    """aov = gmv / orders. S1 has an explicit aov (kept, listed first), S2 and S3 copied aov rows from a cascade
    (replaced: 1000 / 4 = 250 and 900 / 3 = 300), S4 has orders 0 (nothing derived), S5 an unknown gmv (NaN:
    nothing derived), S6 a third copy (500 / 5 = 100): every copy goes, not only the last one seen."""
    rows = [("aov", "S1", 99.0, "file", ""), ("gmv", "S1", 1000.0, "file", ""), ("orders", "S1", 4.0, "file", ""),
            ("aov", "S2", 7.0, "copy (non-additive KPI)", "company::2026-Q1"),
            ("aov", "S3", 7.0, "copy (non-additive KPI)", "company::2026-Q1"),
            ("gmv", "S2", 1000.0, "file", ""), ("orders", "S2", 4.0, "file", ""),
            ("gmv", "S3", 900.0, "file", ""), ("orders", "S3", 3.0, "file", ""),
            ("gmv", "S4", 900.0, "file", ""), ("orders", "S4", 0.0, "file", ""),
            ("gmv", "S5", float("nan"), "file", ""), ("orders", "S5", 3.0, "file", ""),
            ("aov", "S6", 7.0, "copy (non-additive KPI)", "company::2026-Q1"),
            ("gmv", "S6", 500.0, "file", ""), ("orders", "S6", 5.0, "file", "")]
    d = derive_targets(_tg(rows))
    assert list(d.columns) == TARGET_COLUMNS and list(d.index) == list(range(len(d)))
    aov = d[d["kpi"] == "aov"].set_index("entity_id")
    assert sorted(aov.index) == ["S1", "S2", "S3", "S6"]  # no duplicate, nothing for S4 and S5
    assert aov.loc["S1", "value"] == 99.0 and aov.loc["S1", "method"] == "file"
    for s, v in (("S2", 250.0), ("S3", 300.0), ("S6", 100.0)):
        r = aov.loc[s]
        assert (r["value"], r["method"], r["source"], r["parent"], bool(r["cascade"])) == (
            v, "derived (gmv / orders)", "derived", "", False)
    assert derive_targets(_tg([])).empty


def test_ratio_components_need_two_catalog_kpis():
    base = load_catalog()
    cat = Catalog({**base.kpis, "x_share": base.kpis["aov"].model_copy(update={"id": "x_share",
                                                                                "formula": "gmv_rc / orders"})},
                  base.measures)
    rc = ratio_components(cat)
    assert rc["aov"] == ("gmv", "orders") and "x_share" not in rc


# ------------------------------------------------------------------------------------------- small rules
def test_achievement_scalar_and_array():
    a = achievement(90.0, 100.0, "up")
    assert type(a) is float and a == pytest.approx(0.9)
    arr = achievement(np.array([90.0, 120.0]), np.array([100.0, 100.0]), "down")
    assert isinstance(arr, np.ndarray) and arr == pytest.approx([1.1, 0.8])


def test_ramp_and_age_edges():
    # launched on the last day of February: February is its first ramp month (1/3), not "not launched"
    assert ramp_factor(dt.date(2026, 2, 28), "2026-02", 3) == pytest.approx(1 / 3)
    assert ramp_factor(dt.date(2024, 1, 1), "2026-02", 3) == 1.0  # mature: capped at 1
    assert ramp_factor(None, "2026-02", 3) == 1.0  # unknown launch: mature
    # across a year: November 2025 → February 2026 = 3 months
    assert store_age_months(dt.date(2025, 11, 20), "2026-02") == 3


def test_seasonal_pacing_on_the_first_day():
    curve = pd.Series([0.2] + [0.2 + 0.8 * i / 29 for i in range(1, 30)])
    p = pacing("gmv", 10.0, 100.0, "2026-11", dt.date(2026, 11, 1), method="seasonal", curve=curve)
    assert p["elapsed_share"] == pytest.approx(0.2) and p["expected_to_date"] == pytest.approx(20.0)


def test_target_files_yml_csv_ids_and_thresholds(tmp_path, monkeypatch):
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "empty")))
    d = tmp_path / "targets"
    d.mkdir()
    (d / "a.yml").write_text("thresholds: {acos: {green: 1.1, amber: 1.0}}\n"
                             "targets:\n  - {kpi: gmv, entity_kind: company, period: 2026-01, value: 5}\n",
                             encoding="utf-8")
    (d / "b.csv").write_text("kpi,entity_kind,entity_id,period,value\ngmv,store,007,2026-01,12.5\n", encoding="utf-8")
    files, th = load_target_files(d)
    assert [(t.kpi, t.entity_id, t.value, src) for t, src in files] == [
        ("gmv", None, 5.0, "a.yml"), ("gmv", "007", 12.5, "b.csv")]
    assert th["acos"].green == 1.1 and thresholds(d)["acos"].amber == 1.0
    assert thresholds() == {}  # the project's own (empty) targets folder


def test_target_for_reads_stored_targets_with_missing_values(tmp_path, monkeypatch):
    """``kpi compute`` stores targets with a null entity id for the company and NaN for an unknown value."""
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "p")))
    wh = make_warehouse(tmp_path / "wh")
    stored = pd.DataFrame([["gmv", "company", None, "2026-01", 1234.0, False, "t.yaml", "file", ""],
                           ["gmv", "store", "M1", "2026-01", float("nan"), False, "t.yaml", "file", ""]],
                          columns=TARGET_COLUMNS)
    with wh.transaction("stored targets") as tx:
        tx.write("kpi_targets", stored, partition_by=())
    assert target_for("gmv", "company", None, "2026-01", wh) == 1234.0
    assert target_for("gmv", "store", "M1", "2026-01", wh) is None  # unknown, not NaN
