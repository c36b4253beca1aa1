"""Business rules with one home (issue 12 item 3): the ramp and the equal/manual cascade in targets, the
growth rule, scenario comparison in settlement (half-up to the cent, as `kpi settle`), the multi-store
waterfall in costs, org without settlement, the CLI status table in people's words."""

from __future__ import annotations

import datetime as dt
import math
from decimal import ROUND_HALF_EVEN, Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from kpi_lib import org
from kpi_lib.errors import TargetError
from kpi_lib.labels import label
from kpi_lib.periods import shift_period
from kpi_lib.settlement import compare_models, compare_scenarios, fee_lines, get_contract, money, total_of
from kpi_lib.targets import GrowthTarget, growth_target, ramp_factor, reweight, store_age_months


# ------------------------------------------------------------------------------------- ramp + cascade
def test_ramp_factor_hand_worked():
    launch = dt.date(2026, 9, 20)
    assert store_age_months(launch, "2026-09") == 0 and store_age_months(None, "2026-09") is None
    assert ramp_factor(launch, "2026-08", 6) == 0.0  # before launch
    assert ramp_factor(launch, "2026-09", 6) == pytest.approx(1 / 6)  # launch month: first of six steps
    assert ramp_factor(launch, "2026-11", 6) == pytest.approx(3 / 6)
    assert ramp_factor(launch, "2027-03", 6) == 1.0 and ramp_factor(launch, "2030-01", 6) == 1.0
    assert ramp_factor(None, "2026-11", 6) == 1.0  # unknown launch: treated as mature


def _base() -> pd.DataFrame:
    rows = [("gmv", "store", s, m, v, "company::2026-Q4", "hist") for s, m, v in [
        ("A", "2026-10", 30.0), ("A", "2026-11", 50.0), ("A", "2026-12", 20.0),
        ("B", "2026-10", 3.0), ("B", "2026-11", 5.0), ("B", "2026-12", 2.0)]]
    return pd.DataFrame(rows, columns=["kpi", "entity_kind", "entity_id", "period", "value", "parent", "method"])


def test_equal_and_manual_reweight_hand_worked():
    # month weights from the base: 33/110, 55/110, 22/110 = 0.3, 0.5, 0.2; B launched 2026-11-05, ramp 2
    launch = {"B": dt.date(2026, 11, 5)}
    eq = reweight(_base(), 1000.0, "equal", launch, 2).set_index(["entity_id", "period"])["value"]
    # raw weights: A .3 .5 .2 ; B 0 (.5 × 1/2) (.2 × 1) → total 1.0 + .45 = 1.45
    assert eq[("A", "2026-11")] == pytest.approx(1000 * 0.5 / 1.45)
    assert eq[("B", "2026-10")] == 0.0 and eq[("B", "2026-11")] == pytest.approx(1000 * 0.25 / 1.45)
    assert eq.sum() == pytest.approx(1000.0)
    man = reweight(_base(), 1000.0, "manual", {}, 6, {"A": 75, "B": 25}).groupby("entity_id")["value"].sum()
    assert man["A"] == pytest.approx(750.0) and man["B"] == pytest.approx(250.0)
    with pytest.raises(TargetError, match="all store weights are zero"):
        reweight(_base(), 1000.0, "manual", {}, 6, {})


@settings(max_examples=40, deadline=None)
@given(st.floats(1, 1e9), st.dictionaries(st.sampled_from(["A", "B"]), st.floats(0.01, 100), min_size=2))
def test_reweight_always_sums_to_the_parent(total, weights):
    df = reweight(_base(), total, "manual", {}, 3, weights)
    assert df["value"].sum() == pytest.approx(total, rel=1e-9)
    assert (df["value"] >= 0).all()


# ------------------------------------------------------------------------------------------ growth rule
def test_growth_target_one_rule_for_floats_and_money():
    g = growth_target("2026-Q4", 0.1, lambda ly: {"2025-Q4": 200.0}.get(ly, float("nan")))
    assert g == GrowthTarget(pytest.approx(220.0), 200.0, "2025-Q4")
    assert growth_target("2026-11", 0.1, lambda ly: float("nan")).value is None  # missing is not zero
    assert growth_target("2026-11", 0.1, lambda ly: None).value is None
    d = growth_target("2026-11", Decimal("0.15"), lambda ly: Decimal("1000.10"))
    assert d.value == Decimal("1150.1150") and d.last_year == "2025-11"


# ------------------------------------------------------------------------------- scenario comparison
def test_simulator_and_settle_agree_to_the_cent(project, monkeypatch):
    """target × 90 % = 900 000.045: half-up (statements) gives .05, half-even (the old simulator) .04."""
    from kpi_lib.widgets import ContractSimulator

    monkeypatch.setenv("KPI_HEADLESS", "1")
    target = Decimal("1000000.05")
    raw = target * Decimal("0.9")
    assert raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN) != money(raw)  # the case that differs
    app = ContractSimulator()
    app.load_contract("C-002")
    app.target.value = float(target)
    sim = app.scenarios().set_index("achievement")
    row = sim.loc[0.9]
    assert row["net_gmv"] == float(money(raw)) == 900000.05
    fee = get_contract("C-002").fee
    settle_total = total_of(fee_lines(fee, money(raw), Decimal("0.9")))  # what `kpi settle` bills on that GMV
    assert row["client_pays"] == float(settle_total)
    cm = compare_models("C-002", target=target)
    ours = cm[(cm["model"] == cm["model"].iloc[0]) & (cm["achievement"] == 0.9)].iloc[0]
    assert (ours["net_gmv"], ours["client_pays"]) == (row["net_gmv"], row["client_pays"])
    one = compare_scenarios(fee, target, get_contract("C-002").provider_cost, [0.9]).iloc[0]
    assert one["provider_earns"] == pytest.approx(row["provider_earns"], abs=0)


# ----------------------------------------------------------------------------------- org, no settlement
def test_org_reads_contract_scopes_without_settlement(project):
    import ast
    from pathlib import Path

    src = Path(org.__file__).read_text(encoding="utf-8")
    assert "settlement" not in {n.module for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)}
    cs = org.contract_stores()
    want = {(c.id, s) for c in __import__("kpi_lib.settlement", fromlist=["load_contracts"]).load_contracts()
            for s in c.stores}
    assert set(map(tuple, cs[["contract_id", "store_id"]].to_numpy())) == want
    given_scopes = org.contract_stores([{"id": "X", "stores": ["S1", "S2"]}])
    assert given_scopes.to_dict("records") == [{"contract_id": "X", "store_id": "S1"},
                                               {"contract_id": "X", "store_id": "S2"}]


# ------------------------------------------------------------------------- warehouse-backed (demo)
def test_warehouse_months_and_last_order_date(demo_env):
    import duckdb

    from kpi_lib.warehouse import Warehouse

    wh = Warehouse.of(None)
    assert Warehouse.of(wh) is wh
    con = duckdb.connect()
    lo, hi = con.execute(f"SELECT min(order_date), max(order_date) FROM {wh.scan_sql('orders')}").fetchone()
    lo, hi = pd.Timestamp(lo).date(), pd.Timestamp(hi).date()
    assert wh.order_dates() == (lo, hi) and wh.last_order_date() == hi
    months = wh.data_months()
    assert months[0] == lo.strftime("%Y-%m") and months[-1] == hi.strftime("%Y-%m") == wh.last_month()
    assert len(months) == (hi.year - lo.year) * 12 + hi.month - lo.month + 1


def test_multi_store_waterfall_is_one_entity(demo_env):
    """The cost explorer's marketplace view: one waterfall over the stores' rows (costs.waterfall(stores=))."""
    from kpi_lib import costs
    from kpi_lib.metrics import compute
    from kpi_lib.warehouse import Warehouse

    period = shift_period(Warehouse().last_month(), -1)  # a full month (the last one is partial)
    stores = ["AMZ-US-01", "AMZ-US-02"]
    both = costs.waterfall("store", None, period=period, stores=stores).set_index("step")
    each = [costs.waterfall("store", s, period=period).set_index("step") for s in stores]
    # additive steps of complete stores add up (to the cent, each store rounded separately: ≤ 1 cent apart)
    assert abs(both.at["gmv", "amount_rc"] - sum(e.at["gmv", "amount_rc"] for e in each)) <= 0.01
    np_ = compute(["net_profit"], by=[], period="month", start=period, end=period, filters={"store_id": stores})
    # subtotals are sums of steps rounded to the cent: at most half a cent per cost step apart
    assert both.at["net_profit", "amount_rc"] == pytest.approx(float(np_["net_profit"].iloc[0]),
                                                                abs=0.005 * len(costs.STEPS))
    assert set(both["stores_total"]) == {2} and set(both["stores_covered"]) == {2}
    assert math.isclose(both.at["net_sales", "pct_of_net_sales"], 1.0)
    assert both.at["net_sales", "amount_rc"] > 0


def test_cli_status_table_speaks_to_people(demo_env):
    from kpi_lib.cli_views import status_table
    from kpi_lib.compute import status_table as status_frame

    df = status_frame(lang="en")
    assert isinstance(df, pd.DataFrame) and len(df)
    for lang in ("en", "zh"):
        c = Console(record=True, width=200)
        c.print(status_table(lang=lang))
        text = c.export_text()
        assert label("cli.status_title", lang) in text
        words = {label(f"status.{s}", lang) for s in df["status"]}
        assert all(w in text for w in words)
        assert not any(f"({k})" in text for k in df["kpi"])  # names, not KPI ids
    en = Console(record=True, width=200)
    en.print(status_table(lang="en"))
    text = en.export_text()
    assert " green" not in text and " red " not in text and df.iloc[0]["name"] in text
