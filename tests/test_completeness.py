"""Completeness: a KPI whose source a store lacks is incomplete (NaN + flagged), never computed with zeros.

Fixture: the engine test warehouse (tests/engine_fixtures.py) with the ads and traffic of store
S-MY-01 removed, so its ACoS / TACoS / CVR cannot be known while its GMV can.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from cost_fixtures import build_tables as cost_tables
from cost_fixtures import make_project as cost_project
from engine_fixtures import REFERENCE, build_tables, make_project
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi_lib import targets
from kpi_lib.metrics import compute, compute_long, coverage_matrix
from kpi_lib.warehouse import Warehouse

NO_ADS = "S-MY-01"
MONTH = "2026-02"  # all three stores active (N-US-02 launched 2026-01-15)
RATIOS = ["cvr", "acos", "tacos", "aov", "roas", "ctr", "cpc", "net_margin", "gross_margin", "contribution_margin",
          "return_rate", "uncosted_share"]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("completeness"))
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    tables = build_tables()
    for t in ("ads", "traffic"):
        tables[t] = tables[t][tables[t]["store_id"] != NO_ADS].reset_index(drop=True)
    w = Warehouse(root / "data" / "warehouse")
    with w.transaction("completeness fixture") as tx:
        for name, df in tables.items():
            tx.write(name, df, partition_by=() if name in REFERENCE else None)
    mp.setenv("KPI_WAREHOUSE", str(w.path))
    yield w
    mp.undo()


@pytest.fixture(scope="module")
def store_long(wh) -> pd.DataFrame:
    return compute_long(RATIOS, by=["store_id"], period="month", warehouse=wh)


def test_store_without_ads_and_traffic_is_incomplete_not_zero(wh, store_long) -> None:
    cov = coverage_matrix(wh)
    row = cov[(cov["store_id"] == NO_ADS) & (cov["month"] == MONTH)].iloc[0]
    assert row["orders"] and row["fees"] and not row["ads"] and not row["traffic"]
    long = compute_long(["acos", "tacos", "cvr", "ad_spend", "gmv"], by=["store_id"], period="month",
                        start=MONTH, end=MONTH, warehouse=wh).set_index(["store_id", "kpi"])
    for k, miss in (("acos", "ads"), ("tacos", "ads"), ("cvr", "traffic"), ("ad_spend", "ads")):
        r = long.loc[(NO_ADS, k)]
        assert math.isnan(r["value"]), k  # never 0
        assert not r["complete"] and r["missing"] == miss and r["stores_covered"] == 0 and r["stores_total"] == 1
    g = long.loc[(NO_ADS, "gmv")]
    assert g["complete"] and g["value"] > 0 and g["missing"] == ""
    ok = long.loc[("A-US-01", "acos")]
    assert ok["complete"] and 0 < ok["value"] < 5
    wide = compute(["acos", "cvr"], by=["store_id"], start=MONTH, end=MONTH, warehouse=wh).set_index("store_id")
    assert np.isnan(wide.loc[NO_ADS, "acos"]) and np.isnan(wide.loc[NO_ADS, "cvr"])


def test_company_cvr_excludes_the_store_and_says_so(wh) -> None:
    con = wh.connect()
    try:  # independent: orders / sessions of the stores that have traffic in the month
        exp = con.execute(f"""
            WITH t AS (SELECT store_id, sum(sessions) AS s FROM traffic
                       WHERE strftime(CAST(date AS DATE), '%Y-%m') = '{MONTH}' GROUP BY 1),
                 o AS (SELECT store_id, count(DISTINCT order_id) AS n FROM orders
                       WHERE status <> 'cancelled' AND strftime(CAST(order_date AS DATE), '%Y-%m') = '{MONTH}'
                       GROUP BY 1)
            SELECT sum(o.n) / sum(t.s), count(*) FROM o JOIN t USING (store_id)""").fetchone()
        all_orders = con.execute(f"""SELECT count(DISTINCT store_id || order_id) FROM orders WHERE status <> 'cancelled'
                                     AND strftime(CAST(order_date AS DATE), '%Y-%m') = '{MONTH}'""").fetchone()[0]
    finally:
        con.close()
    long = compute_long(["cvr", "orders"], period="month", start=MONTH, end=MONTH, warehouse=wh).set_index("kpi")
    cvr = long.loc["cvr"]
    assert cvr["value"] == pytest.approx(exp[0], rel=1e-12)
    assert not cvr["complete"] and cvr["missing"] == "traffic"
    assert (cvr["stores_covered"], cvr["stores_total"]) == (exp[1], 3) == (2, 3)
    # orders themselves are complete over all three stores
    assert long.loc["orders", "complete"] and long.loc["orders", "value"] == all_orders
    assert compute("cvr", start=MONTH, end=MONTH, warehouse=wh)["cvr"].iloc[0] == pytest.approx(exp[0], rel=1e-12)
    # additive money over complete stores: company ad_spend = the two stores with ads
    ad = compute_long("ad_spend", by=["store_id"], start=MONTH, end=MONTH, warehouse=wh)
    comp = compute_long("ad_spend", start=MONTH, end=MONTH, warehouse=wh).iloc[0]
    assert comp["value"] == pytest.approx(ad["value"].sum(skipna=True)) and not comp["complete"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kpi=st.sampled_from(RATIOS), month=st.sampled_from([f"2025-{m:02d}" for m in range(1, 13)]
                                                           + ["2026-01", "2026-02", "2026-03"]),
       grain=st.sampled_from(["company", "platform"]))
def test_rollup_is_ratio_of_sums_over_complete_stores(wh, store_long, kpi, month, grain) -> None:
    s = store_long[(store_long["kpi"] == kpi) & (store_long["period"] == month)].copy()
    stores = wh.read("stores").set_index("store_id")["platform"]
    s["platform"] = s["store_id"].map(stores)
    by = ["platform"] if grain == "platform" else []
    got = compute_long(kpi, by=by, start=month, end=month, warehouse=wh)
    for r in got.itertuples():
        grp = s if not by else s[s["platform"] == r.platform]
        ok = grp[grp["complete"]]
        assert r.stores_total == len(grp) and r.stores_covered == len(ok)
        assert r.complete == (len(ok) == len(grp))
        if len(ok) == 0:
            assert math.isnan(r.value)
            continue
        num, den = ok["numerator"].sum(), ok["denominator"].sum()
        exp = num / den if den != 0 else float("nan")
        assert r.value == pytest.approx(exp, rel=1e-9, nan_ok=True)


def test_incomplete_status_is_never_green(wh, tmp_path) -> None:
    d = tmp_path / "targets"
    d.mkdir()
    (d / "t.yaml").write_text(
        "targets:\n"
        f"  - {{kpi: acos, entity_kind: store, entity_id: {NO_ADS}, period: '{MONTH}', value: 9.0}}\n"
        f"  - {{kpi: acos, entity_kind: store, entity_id: A-US-01, period: '{MONTH}', value: 9.0}}\n"
        f"  - {{kpi: cvr, entity_kind: company, period: '{MONTH}', value: 0.0001}}\n"
        f"  - {{kpi: gmv, entity_kind: store, entity_id: {NO_ADS}, period: '{MONTH}', value: 1}}\n",
        encoding="utf-8")
    tg = targets.all_targets(wh, directory=d)
    st_ = targets.evaluate(periods=[MONTH], warehouse=wh, targets=tg).set_index(["kpi", "entity_id"])
    # a target of 9.0 would make any real ACoS green: the store without ads is 'incomplete' instead
    assert st_.loc[("acos", NO_ADS), "status"] == "incomplete"
    assert not st_.loc[("acos", NO_ADS), "complete"] and st_.loc[("acos", NO_ADS), "missing"] == "ads"
    assert st_.loc[("acos", "A-US-01"), "status"] == "green"
    assert st_.loc[("cvr", ""), "status"] == "incomplete"
    assert st_.loc[("gmv", NO_ADS), "status"] == "green"
    assert targets.status_of(2.0, "acos", complete=False) == "incomplete"


def test_skus_without_cost_make_cogs_incomplete_not_zero(tmp_path, monkeypatch) -> None:
    cost_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    t = cost_tables()
    t["skus"] = t["skus"][t["skus"]["sku"] != "X-9"]  # X-9: 40 of S2's 100 GMV in November
    w = Warehouse(tmp_path / "wh")
    with w.transaction("no cost") as tx:
        for name, df in t.items():
            tx.write(name, df, partition_by=())
    long = compute_long(["cogs", "uncosted_share", "gmv", "net_profit"], by=["store_id"], start="2026-11",
                        end="2026-11", warehouse=w).set_index(["store_id", "kpi"])
    assert math.isnan(long.loc[("S2", "cogs"), "value"]) and long.loc[("S2", "cogs"), "missing"] == "costs"
    assert math.isnan(long.loc[("S2", "net_profit"), "value"])
    assert long.loc[("S2", "uncosted_share"), "value"] == pytest.approx(40 / 100)
    assert long.loc[("S1", "cogs"), "complete"] and long.loc[("S1", "cogs"), "value"] == pytest.approx(2 * 8 + 20)
    comp = compute_long(["cogs", "uncosted_share"], start="2026-11", end="2026-11", warehouse=w).set_index("kpi")
    assert comp.loc["uncosted_share", "value"] == pytest.approx(40 / 280)
    assert comp.loc["cogs", "value"] == pytest.approx(36.0)  # S1 only, S2 excluded (not counted at cost 0)
    assert (comp.loc["cogs", "stores_covered"], comp.loc["cogs", "stores_total"]) == (1, 2)


def test_shared_store_query_equals_separate_calls(wh) -> None:
    from kpi_lib.compute import GRAINS
    from kpi_lib.metrics import compute_long_grains

    kpis = RATIOS + ["net_profit", "orders", "inventory_days", "first_response_hours", "active_sku_rate", "overheads"]
    for pk in ("month", "quarter"):
        many = compute_long_grains(kpis, GRAINS, period=pk, warehouse=wh)
        for name, dim in GRAINS.items():
            one = compute_long(kpis, by=[dim] if dim else [], period=pk, warehouse=wh)
            got = many[name]
            assert list(got.columns) == list(one.columns) and len(got) == len(one), name
            pd.testing.assert_frame_equal(got.reset_index(drop=True), one.reset_index(drop=True), check_dtype=False,
                                          rtol=1e-9, obj=f"{name} {pk}")


def test_incomplete_figures_raise_no_alerts() -> None:
    from kpi_lib.alerts import AlertConfig, evaluate_alerts

    cfg = AlertConfig.model_validate({"rules": [{"id": "acos-high", "kind": "threshold", "kpi": "acos",
                                                 "entity_kind": "store", "op": ">", "value": 0.3}], "anomaly": None})
    kv = pd.DataFrame({"entity_kind": "store", "entity_id": ["A", "B"], "period_kind": "month", "period": "2026-02",
                       "kpi": "acos", "value": [0.5, 0.5], "complete": [True, False]})
    al = evaluate_alerts(kv, None, cfg)
    assert list(al["entity_id"]) == ["A"]
