"""One rule for "is this period finished" (kpi_lib.coverage) and its users: widgets and `kpi settle`.

Hand-worked coverage rows check the rule; the shared demo warehouse (its last month, 2026-12, holds
two order lines of one store; at scale 0.04 two Shopee stores stop before 30 Nov) checks the users.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from kpi_lib.coverage import active_stores, finished_periods, is_finished, last_complete_day, open_period
from kpi_lib.errors import DefinitionError


def _cov(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """(store, month, first_date, last_date) orders rows, plus one fees row that must be ignored."""
    out = [{"store_id": s, "month": m, "source": "orders", "rows": 10, "first_date": pd.Timestamp(f),
            "last_date": pd.Timestamp(la), "share": 1.0} for s, m, f, la in rows]
    out.append({"store_id": "A", "month": "2026-12", "source": "fees", "rows": 3,
                "first_date": pd.Timestamp("2026-12-01"), "last_date": pd.Timestamp("2026-12-31"), "share": 1.0})
    return pd.DataFrame(out)


# A: full Jul..Nov, then 2 days of Dec.  B: Aug..Oct full, nothing in Nov (export missing).
# C: closed after July.  D: opens 2026-10-15, full to 30 Nov.
COV = _cov([
    ("A", "2026-07", "2026-07-01", "2026-07-31"), ("A", "2026-08", "2026-08-01", "2026-08-31"),
    ("A", "2026-09", "2026-09-01", "2026-09-30"), ("A", "2026-10", "2026-10-01", "2026-10-31"),
    ("A", "2026-11", "2026-11-01", "2026-11-30"), ("A", "2026-12", "2026-12-01", "2026-12-02"),
    ("B", "2026-08", "2026-08-01", "2026-08-31"), ("B", "2026-09", "2026-09-02", "2026-09-30"),
    ("B", "2026-10", "2026-10-01", "2026-10-31"),
    ("C", "2026-06", "2026-06-01", "2026-06-30"), ("C", "2026-07", "2026-07-01", "2026-07-12"),
    ("D", "2026-10", "2026-10-15", "2026-10-31"), ("D", "2026-11", "2026-11-01", "2026-11-30"),
])


def test_last_complete_day_is_the_last_order_day_per_store():
    assert last_complete_day(COV) == {"A": dt.date(2026, 12, 2), "B": dt.date(2026, 10, 31),
                                      "C": dt.date(2026, 7, 12), "D": dt.date(2026, 11, 30)}
    assert last_complete_day(COV, ["B", "X"]) == {"B": dt.date(2026, 10, 31)}


def test_finished_months_hand_worked():
    # June: only C (full month) → finished.  July: active A (in July), C (in July) — C stops on 12 July → unfinished.
    # August: A, B in August; C in July (month before) → C ends 12 July → unfinished.
    # September: A, B (C no longer active) → finished.  October: A, B, D → finished.
    # November: A, D in Nov; B in Oct (month before) ends 31 Oct → unfinished (B's export is missing).
    # December: A (2 Dec) → unfinished.
    assert active_stores("2026-08", COV) == ["A", "B", "C"]
    assert active_stores("2026-11", COV) == ["A", "B", "D"]
    assert finished_periods(COV) == ["2026-06", "2026-09", "2026-10"]
    assert open_period(COV) == "2026-12"
    assert not is_finished("2026-11", COV) and not is_finished("2026-12", COV)
    assert not is_finished("2027-01", COV)  # no data at all is never finished


def test_store_filter_and_quarters():
    # only A and D (e.g. a contract's stores): November is finished for them, December is not
    assert finished_periods(COV, "month", ["A", "D"]) == ["2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    assert open_period(COV, "month", ["A", "D"]) == "2026-12"
    # Q2: only C (June, full) → finished.  Q3: A, B, C active (C in July) → C stops on 12 July →
    # unfinished; Q4 unfinished (B's November is missing)
    assert finished_periods(COV, "quarter") == ["2026-Q2"]
    assert finished_periods(COV, "quarter", ["A"]) == ["2026-Q3"]
    assert open_period(COV, "quarter", ["A"]) == "2026-Q4"
    assert is_finished("2026-Q3", COV, ["A", "B"])
    with pytest.raises(DefinitionError, match="2026-13"):  # a user error (KpiError) naming the label
        is_finished("2026-13", COV)


# ------------------------------------------------------------------------------ users of the rule
@pytest.fixture
def demo_copy(demo_project, tmp_path, monkeypatch):
    import shutil

    proj = tmp_path / "project"
    shutil.copytree(demo_project / "parameters", proj / "parameters")
    monkeypatch.setenv("KPI_ROOT", str(proj))
    monkeypatch.setenv("KPI_WAREHOUSE", str(demo_project / "data" / "warehouse"))
    monkeypatch.setenv("KPI_HEADLESS", "1")
    return proj


@pytest.fixture
def demo_cov(demo_project):
    from kpi_lib.coverage import coverage_frame
    from kpi_lib.warehouse import Warehouse

    con = Warehouse(demo_project / "data" / "warehouse").connect()
    try:
        return coverage_frame(con)
    finally:
        con.close()


def test_demo_last_month_is_partial(demo_cov, demo_project):
    from kpi_lib.warehouse import Warehouse

    con = Warehouse(demo_project / "data" / "warehouse").connect()
    try:
        last_month = con.execute("SELECT max(strftime(order_date, '%Y-%m')) FROM orders").fetchone()[0]
    finally:
        con.close()
    assert open_period(demo_cov) == last_month  # the demo's last month with orders is not finished
    done = finished_periods(demo_cov)
    assert done and done[-1] < last_month


def test_kpi_report_defaults_to_the_last_finished_month(demo_project, demo_cov):
    from kpi_lib.reports import latest_period
    from kpi_lib.warehouse import Warehouse

    got = latest_period(Warehouse(demo_project / "data" / "warehouse"))
    assert got == finished_periods(demo_cov)[-1] and got != open_period(demo_cov)


def test_widgets_never_default_to_an_unfinished_month(demo_copy, demo_cov):
    from kpi_lib.widgets import data as wdata
    from kpi_lib.widgets.cost_explorer import CostExplorer

    open_m, done = open_period(demo_cov), finished_periods(demo_cov)
    app = CostExplorer(lang="en")
    assert app.period.value == done[-1]
    labels = {v: k for k, v in app.period.options}
    assert labels[open_m].endswith("to date")  # offered only "to date"
    assert all(labels[m] == m for m in done)
    # every month with orders stays in the picker; an earlier unfinished one is marked, not dropped
    months = sorted(set(demo_cov.loc[demo_cov["source"] == "orders", "month"]))
    assert sorted(m for m in labels if "-Q" not in m) == months
    assert all(labels[m] == m or labels[m].endswith(("to date", "incomplete")) for m in months)
    df = wdata.company_last_months(["gmv"], app.warehouse, months=3)
    assert list(df["period"]) == done[-3:]  # training tables: finished months only


def test_contract_simulator_exit_clause_ignores_unfinished_month(demo_copy, demo_cov):
    from kpi_lib.settlement import get_contract, settle
    from kpi_lib.widgets import ContractSimulator

    app = ContractSimulator(lang="en")
    for cid in ("C-001", "C-002"):
        app.load_contract(cid)
        stores = get_contract(cid).stores
        open_m = open_period(demo_cov, "month", stores)  # for the contract's own stores
        done = finished_periods(demo_cov, "month", stores)
        periods = [h["period"] for h in app.exit_state["history"]]
        assert open_period(demo_cov) not in periods  # the company's partial last month (2 order lines)
        assert periods == done[-len(periods):] and list(app.recent_frame["period"]) == periods
        if cid == "C-002":  # SHP-SG-01's data ends on 29 Nov: November is not finished for C-002
            assert open_m == "2026-11" and open_m not in periods
            assert "2026-11 is not finished yet" in app.exit_view.value
        # hand count of the trailing run below the threshold over the finished periods shown
        below = float(get_contract(cid).exit_clause.below)
        run = 0
        for a in reversed(list(app.recent_frame["achievement"])):
            if a is None or pd.isna(a) or a >= below:
                break
            run += 1
        assert app.exit_state["consecutive_below"] == run
        # the saved terms' fee shown for the last finished period is the settlement engine's
        st = settle(cid, periods[-1], app.warehouse)
        assert app.recent_frame["saved_terms_fee"].iloc[-1] == pytest.approx(float(st.total))


def test_simulator_prices_scenarios_at_the_target_kpi_settle_used(demo_copy, demo_cov):
    """C-002's target grows 20 % on last year; its `target: 400000` is only the fallback without last-year data.
    The simulator says so, prices its scenarios at the target `kpi settle` used in the latest finished period
    (100 % achievement = that target's net GMV), and still saves the fallback field unchanged."""
    from kpi_lib.settlement import contract_period, contract_target, get_contract
    from kpi_lib.widgets import ContractSimulator

    app = ContractSimulator(lang="en")
    app.load_contract("C-002")
    c = get_contract("C-002")
    assert c.target_growth is not None and float(c.target) == 400000 == app.target.value
    period, value = app._scenario_target
    want, _ = contract_target(c, contract_period(c, period), app.warehouse)
    assert value == pytest.approx(float(want)) and value != 400000
    at_100 = app.scenarios().set_index("achievement").loc[1.0]
    assert at_100["net_gmv"] == pytest.approx(float(want), abs=0.005)
    assert app.target.description == "Fallback target (no last-year data)"
    assert period in app.settled_target.value and f"{value:,.2f}" in app.settled_target.value
    app.load_contract("C-001")  # C-001 also grows from last year; a new contract has no settled target
    app.load_contract("")
    assert app._scenario_target is None and app.settled_target.value == ""


def test_kpi_settle_marks_unfinished_period_provisional_or_refuses_with_final(demo_copy, demo_cov):
    from typer.testing import CliRunner

    from kpi_lib.cli import app
    from kpi_lib.settlement import get_contract

    stores = get_contract("C-002").stores
    open_m = open_period(demo_cov, "month", stores)
    runner = CliRunner()
    r = runner.invoke(app, ["settle", "--contract", "C-002", "--period", open_m, "--final"])
    assert r.exit_code != 0
    out = r.output
    try:
        out += r.stderr
    except (ValueError, AttributeError):
        pass
    assert f"period {open_m} is not finished" in out and "SHP-SG-01 ends" in out
    r = runner.invoke(app, ["settle", "--contract", "C-002", "--period", open_m, "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["provisional"] is True and any("PROVISIONAL" in n for n in doc["notes"])
    r = runner.invoke(app, ["settle", "--contract", "C-002", "--period", open_m])
    assert r.exit_code == 0 and "PROVISIONAL" in r.output
    r = runner.invoke(app, ["settle", "--contract", "C-002", "--json"])  # default: the last finished month
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["period"] == finished_periods(demo_cov)[-1] and doc["provisional"] is False
