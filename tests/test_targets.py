"""Targets: cascade sums to the parent, ramps for new stores, pacing, direction-aware status, adjustments."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from engine_fixtures import make_project, make_warehouse
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kpi_lib.errors import ConfigError
from kpi_lib.targets import (
    Target,
    achievement,
    adjustments_for,
    all_targets,
    cascade,
    evaluate,
    load_targets,
    pacing,
    status_of,
)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("proj"))
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    wh, tables = make_warehouse(root / "data" / "warehouse")
    mp.setenv("KPI_WAREHOUSE", str(wh.path))
    yield root, wh, tables
    mp.undo()


def test_cascade_sums_to_parent_with_ramp_for_new_store(env):
    _, wh, _ = env
    c = cascade({"kpi": "gmv", "entity_kind": "company", "period": "2026-Q1", "value": 900000.0, "cascade": True}, wh)
    assert c["value"].sum() == pytest.approx(900000.0, rel=1e-12)
    assert set(c["period"]) == {"2026-01", "2026-02", "2026-03"}
    new = c[c["entity_id"] == "N-US-02"].sort_values("period")
    assert new["method"].str.contains("cold-start ramp").all()
    assert list(new["value"]) == sorted(new["value"])  # ramps up
    assert c[c["entity_id"] == "A-US-01"]["method"].str.contains("seasonality of 2025-01..2025-03").all()
    # reproducible
    c2 = cascade({"kpi": "gmv", "entity_kind": "company", "period": "2026-Q1", "value": 900000.0}, wh)
    assert c2.equals(c)
    # team cascade covers only the team's stores
    t = cascade({"kpi": "gmv", "entity_kind": "team", "entity_id": "T1", "period": "2025-Q4", "value": 1000.0}, wh)
    assert set(t["entity_id"]) == {"A-US-01"} and t["value"].sum() == pytest.approx(1000.0)
    # ratios are copied, not split
    r = cascade({"kpi": "acos", "entity_kind": "company", "period": "2025-Q4", "value": 0.2}, wh)
    assert (r["value"] == 0.2).all() and r["method"].str.startswith("copy").all()


@settings(max_examples=12, deadline=None)
@given(st.floats(min_value=1.0, max_value=1e9), st.sampled_from(["2025-Q3", "2025-Q4", "2026-Q1", "2026-02"]),
       st.integers(min_value=1, max_value=12))
def test_cascade_property_sums_to_parent(env, value, period, ramp):
    _, wh, _ = env
    c = cascade({"kpi": "net_sales", "entity_kind": "company", "period": period, "value": value}, wh, ramp_months=ramp)
    assert c["value"].sum() == pytest.approx(value, rel=1e-12)
    assert (c["value"] >= 0).all()


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e6, max_value=1e6), st.floats(min_value=-1e6, max_value=1e6),
       st.floats(min_value=0.01, max_value=1e6), st.floats(min_value=-1e6, max_value=1e6).filter(lambda x: abs(x) > 1e-3))
def test_achievement_is_direction_aware(a1, a2, delta, target):
    lo, hi = min(a1, a2), max(a1, a2) + delta
    assert achievement(hi, target, "up") > achievement(lo, target, "up")
    assert achievement(hi, target, "down") < achievement(lo, target, "down")
    assert achievement(target, target, "up") == pytest.approx(1.0)
    assert achievement(target, target, "down") == pytest.approx(1.0)
    better_up = achievement(target + delta, target, "up")
    better_down = achievement(target - delta, target, "down")
    assert better_up > 1 and better_down > 1


def test_status_thresholds_and_acos():
    assert achievement(0.30, 0.25, "down") == pytest.approx(0.8)
    assert achievement(120, 100, "up") == pytest.approx(1.2)
    assert status_of(1.0) == "green" and status_of(0.95) == "amber" and status_of(0.89) == "red"
    assert status_of(float("nan")) == "none"
    from kpi_lib.targets import Threshold
    assert status_of(0.96, "acos", {"acos": Threshold(green=1.0, amber=0.97)}) == "red"
    assert np.isnan(achievement(5, 0, "up"))


def test_pacing_calendar_and_projection():
    p = pacing("gmv", 500.0, 3000.0, "2026-11", dt.date(2026, 11, 10))
    assert p["expected_to_date"] == pytest.approx(1000.0)
    assert p["projection"] == pytest.approx(1500.0)
    q = pacing("acos", 0.3, 0.25, "2026-11", dt.date(2026, 11, 10))
    assert q["expected_to_date"] == 0.25 and q["projection"] == 0.3


def test_files_adjustments_and_status(env):
    root, wh, tables = env
    (root / "parameters" / "targets" / "t.yaml").write_text(
        "thresholds: {acos: {green: 1.0, amber: 0.95}}\n"
        "targets:\n"
        "  - {kpi: gmv, entity_kind: company, period: 2026-Q1, growth: 0.1, cascade: true}\n"
        "  - {kpi: acos, entity_kind: store, entity_id: A-US-01, period: '*', value: 0.25}\n"
        "  - {kpi: gmv, entity_kind: team, entity_id: T2, period: latest_month, value: 50000}\n", encoding="utf-8")
    (root / "parameters" / "targets" / "s.csv").write_text(
        "kpi,entity_kind,entity_id,period,value\nunits,store,S-MY-01,2026-02,100\n", encoding="utf-8")
    (root / "parameters" / "adjustments.yaml").write_text(
        "adjustments:\n"
        "  - {id: A1, who: P1, when: 2026-02-10, why: stock-out, kind: exclude_days, kpi: units, entity_kind: store,\n"
        "     entity_id: S-MY-01, start: 2026-02-01, end: 2026-02-07}\n"
        "  - {id: A2, who: P1, when: 2026-01-05, why: new store reset, kind: override_target, kpi: gmv, entity_kind: store,\n"
        "     entity_id: N-US-02, period: 2026-02, value: 1234}\n", encoding="utf-8")
    raw = load_targets()
    assert len(raw) == 4
    tg = all_targets(wh)
    q1 = tg[(tg["kpi"] == "gmv") & (tg["entity_kind"] == "company") & (tg["period"] == "2026-Q1")]
    months = tg[(tg["kpi"] == "gmv") & (tg["entity_kind"] == "company") & tg["period"].str.match(r"^\d{4}-\d{2}$")]
    assert months["value"].sum() == pytest.approx(float(q1["value"].iloc[0]))
    assert tg[(tg["entity_id"] == "N-US-02") & (tg["period"] == "2026-02") & (tg["kpi"] == "gmv")]["value"].iloc[0] == 1234
    assert (tg[tg["kpi"] == "acos"]["period"].nunique()) == 15
    assert tg[(tg["entity_kind"] == "team")]["period"].tolist() == ["2026-03"]
    ev = evaluate(as_of=dt.date(2026, 3, 10), warehouse=wh)
    assert set(ev["status"]) <= {"green", "amber", "red", "none"}
    u = ev[(ev["kpi"] == "units") & (ev["entity_id"] == "S-MY-01")].iloc[0]
    assert u["target"] == pytest.approx(100 * (1 - 7 / 28)) and u["adjusted"] and "A1" in u["adjustment_ids"]
    o = tables["orders"]
    kept = o[(o["store_id"] == "S-MY-01") & (o["status"] != "cancelled") & (o["order_date"] >= "2026-02-08")
             & (o["order_date"] <= "2026-02-28")]
    assert u["actual"] == pytest.approx(float(kept["quantity"].sum()))
    m = ev[(ev["kpi"] == "gmv") & (ev["entity_kind"] == "company") & (ev["period"] == "2026-03")].iloc[0]
    assert m["expected_to_date"] == pytest.approx(m["target"] * 10 / 31)  # in progress: judged on pace
    assert [a.id for a in adjustments_for("company", None, "2026-02")] == ["A1"]
    assert [a.id for a in adjustments_for("store", "N-US-02", "2026-02", "gmv")] == ["A2"]
    assert adjustments_for("store", "A-US-01", "2026-02") == []


def test_bad_target_file_names_file_and_key(env, tmp_path):
    (tmp_path / "bad.yaml").write_text("targets:\n  - {kpi: gmv, period: 2026-Q5, value: 1}\n"
                                       "  - {kpi: gmv, period: 2026-Q1, value: 1, growth: 0.1}\n"
                                       "  - {kpi: gmv, period: 2026-Q1, value: 1, colour: red}\n")
    with pytest.raises(ConfigError) as e:
        load_targets(tmp_path)
    msg = str(e.value)
    assert "bad.yaml" in msg and "targets[0]" in msg and "targets[1]" in msg and "targets[2].colour" in msg
    with pytest.raises(ValidationError):
        Target(kpi="gmv", entity_kind="store", period="2026-01", value=1)  # store needs entity_id


# ------------------------------------------------------------------------------ coherent targets


@settings(max_examples=50, deadline=None)
@given(gmv=st.floats(1.0, 1e7), orders=st.floats(1.0, 1e5), profit=st.floats(-1e5, 1e6), sales=st.floats(1.0, 1e7))
def test_derived_targets_equal_component_ratios(gmv, orders, profit, sales):
    from kpi_lib.targets import TARGET_COLUMNS, derive_targets

    def row(kpi, value, parent="", eid="S1", kind="store", period="2026-11", method="file"):
        return {"kpi": kpi, "entity_kind": kind, "entity_id": eid, "period": period, "value": value, "cascade": False,
                "source": "t.yaml", "method": method, "parent": parent}

    import pandas as pd

    df = pd.DataFrame([row("gmv", gmv), row("orders", orders), row("net_profit", profit, parent="company::2026-Q4"),
                       row("net_sales", sales, parent="company::2026-Q4"),
                       # a copied cascade of a ratio is replaced by the ratio of the cascaded components
                       row("net_margin", 0.5, parent="company::2026-Q4", method="copy (non-additive KPI)"),
                       row("gmv", gmv, kind="company", eid="")], columns=TARGET_COLUMNS)
    out = derive_targets(df).set_index(["kpi", "entity_kind", "entity_id", "period"])
    assert out.loc[("aov", "store", "S1", "2026-11"), "value"] == pytest.approx(gmv / orders)
    assert out.loc[("aov", "store", "S1", "2026-11"), "method"] == "derived (gmv / orders)"
    assert out.loc[("net_margin", "store", "S1", "2026-11"), "value"] == pytest.approx(profit / sales)
    assert ("aov", "company", "", "2026-11") not in out.index  # no orders target for the company
    assert not out.index.duplicated().any()


def test_target_for_reads_computed_targets_and_conflicts(env, tmp_path):
    from kpi_lib.targets import all_targets, target_conflicts, target_for, target_row

    _, wh, _ = env
    d = tmp_path / "targets"
    d.mkdir()
    (d / "t.yaml").write_text(
        "targets:\n"
        "  - {kpi: net_profit, entity_kind: store, entity_id: A-US-01, period: '2026-02', value: 1000}\n"
        "  - {kpi: net_sales, entity_kind: store, entity_id: A-US-01, period: '2026-02', value: 5000}\n"
        "  - {kpi: net_margin, entity_kind: store, entity_id: A-US-01, period: '2026-02', value: 0.30}\n"
        "  - {kpi: ad_spend, entity_kind: store, entity_id: A-US-01, period: '2026-02', value: 300}\n"
        "  - {kpi: ad_sales, entity_kind: store, entity_id: A-US-01, period: '2026-02', value: 1200}\n",
        encoding="utf-8")
    tg = all_targets(wh, directory=d)
    conf = target_conflicts(tg)
    assert len(conf) == 1
    c = conf.iloc[0]
    assert (c["kpi"], c["entity_id"], c["period"], c["explicit"]) == ("net_margin", "A-US-01", "2026-02", 0.30)
    assert c["derived"] == pytest.approx(0.2) and c["source"] == "t.yaml"
    with wh.transaction("targets") as w:
        w.write("kpi_targets", tg, partition_by=())
    assert target_for("acos", "store", "A-US-01", "2026-02", wh) == pytest.approx(0.25)  # derived 300 / 1200
    assert target_row("acos", "store", "A-US-01", "2026-02", wh)["method"] == "derived (ad_spend / ad_sales)"
    assert target_for("net_margin", "store", "A-US-01", "2026-02", wh) == pytest.approx(0.30)  # explicit kept
    assert target_for("gmv", "store", "A-US-01", "2026-02", wh) is None
