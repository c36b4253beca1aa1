"""Repeated interactions answer from the panel's cache (issue 13.4): a spy on the shared connection
(``CachedWarehouse.stats``) counts the statements run against DuckDB; the second time an interaction
happens it must run none. Timing is not asserted (the machine's load decides it); the kept results are
checked to be the results DuckDB gives, and to be forgotten after a write.
"""

from __future__ import annotations

import shutil

import pytest

from kpi_lib.warehouse import Warehouse
from kpi_lib.widgets.cache import CachedWarehouse


@pytest.fixture
def panel_env(demo_project, tmp_path, monkeypatch):
    """Parameters copied to a private project (panels may save); the demo warehouse read in place."""
    proj = tmp_path / "project"
    shutil.copytree(demo_project / "parameters", proj / "parameters")
    monkeypatch.setenv("KPI_ROOT", str(proj))
    monkeypatch.setenv("KPI_WAREHOUSE", str(demo_project / "data" / "warehouse"))
    monkeypatch.setenv("KPI_REFERENCE", str(demo_project / "data" / "reference"))
    monkeypatch.setenv("KPI_HEADLESS", "1")
    return proj


def test_kept_results_are_duckdbs_and_a_write_forgets_them(panel_env):
    wh = CachedWarehouse()
    con = wh.connect()
    sql = "SELECT count(*) AS n, min(CAST(order_date AS DATE)) AS lo FROM orders"
    first = con.execute(sql).fetchone()
    n0 = wh.stats["executed"]
    again = con.execute(sql).fetchone()
    assert again == first and wh.stats["executed"] == n0 and wh.stats["reused"] == 1
    plain = Warehouse().connect()
    try:  # the same answer as an uncached connection to the same snapshot
        assert plain.execute(sql).fetchone() == first
        assert plain.execute("SELECT store_id, count(*) FROM orders GROUP BY 1 ORDER BY 1").df().equals(
            con.execute("SELECT store_id, count(*) FROM orders GROUP BY 1 ORDER BY 1").df())
    finally:
        plain.close()
    df = con.execute("SELECT store_id, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1").df()
    df["n"] = -1  # a caller changing its frame never changes the kept one
    assert (con.execute("SELECT store_id, count(*) AS n FROM orders GROUP BY 1 ORDER BY 1").df()["n"] > 0).all()
    # a write (the engine's temp tables) forgets every kept result: the next read sees the new rows
    con.execute("CREATE OR REPLACE TEMP TABLE _t AS SELECT 1 AS x")
    assert con.execute("SELECT count(*) FROM _t").fetchone() == (1,)
    con.execute("INSERT INTO _t VALUES (2)")
    assert con.execute("SELECT count(*) FROM _t").fetchone() == (2,)


def _executed(app) -> int:
    return app.warehouse.stats["executed"]


def test_target_setting_slider_and_period_back_do_not_query(panel_env):
    from kpi_lib.widgets import TargetSetting

    app = TargetSetting(lang="en")
    first = app.result.copy()
    assert len(first) and app.status.kind != "error"
    n = _executed(app)
    app.growth.value = round(app.growth.value + 0.05, 2)  # only rescales: same questions to the engine
    assert _executed(app) == n and app.result["value"].sum() > first["value"].sum()
    p0 = app.period.value
    app.period.value = next(p for p in app.period.options if p != p0)
    n = _executed(app)
    app.period.value = p0
    app.growth.value = round(app.growth.value - 0.05, 2)
    assert _executed(app) == n
    assert app.result["value"].tolist() == pytest.approx(first["value"].tolist())  # the same figures


def test_actions_review_team_back_does_not_query(panel_env):
    from kpi_lib.widgets import ActionsReview

    app = ActionsReview(lang="en")
    teams = [v for _l, v in app.team.options]
    assert len(teams) > 1
    before = app.deviations.copy()
    app.team.value = teams[1]
    n = _executed(app)
    app.team.value = teams[0]
    app.team.value = teams[1]
    app.team.value = teams[0]
    assert _executed(app) == n and app.deviations.equals(before)


def test_cost_explorer_store_back_does_not_query(panel_env):
    from kpi_lib.widgets import CostExplorer

    app = CostExplorer(lang="en")
    stores = [v for _l, v in app.store.options if v]
    app.store.value = stores[0]
    wf = app.waterfall_frame.copy()
    app.store.value = stores[1]
    n = _executed(app)
    app.store.value = stores[0]
    app.store.value = stores[1]
    app.store.value = stores[0]
    assert _executed(app) == n and app.waterfall_frame.equals(wf)


def test_simulator_switch_back_and_edits_do_not_query(panel_env):
    from kpi_lib.widgets import ContractSimulator

    app = ContractSimulator(lang="en")
    ids = [c.id for c in app.contracts]
    app.contract.value = ids[1]
    app.contract.value = ids[0]
    n = _executed(app)
    app.contract.value = ids[1]
    app.contract.value = ids[0]
    app.exit_below.value = 0.5
    app.tiers.value = app.tiers.value + "\n"
    assert _executed(app) == n
