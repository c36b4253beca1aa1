"""One definition per figure: the waterfall is built from the engine's KPIs, on both bases; the basis
bridge closes exactly; changes read the way readers read them."""

from __future__ import annotations

import math
from decimal import Decimal as D

import pandas as pd
import pytest
from engine_fixtures import make_project, make_warehouse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kpi_lib import changes, costs
from kpi_lib.definitions import load_catalog
from kpi_lib.metrics import compute, compute_long
from kpi_lib.money import cents

ENTITIES = [("company", None, []), ("platform", "amazon", ["platform"]), ("store", "A-US-01", ["store_id"]),
            ("store", "S-MY-01", ["store_id"]), ("team", "T1", ["team_id"]), ("team", "T2", ["team_id"]),
            ("person", "P3", ["person_id"])]
DIM = {"company": None, "platform": "platform", "store": "store_id", "team": "team_id", "person": "person_id"}


@pytest.fixture(scope="module")
def ewh(tmp_path_factory):
    root = make_project(tmp_path_factory.mktemp("onedef"))
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    w, _ = make_warehouse(root / "data" / "warehouse")
    mp.setenv("KPI_WAREHOUSE", str(w.path))
    yield w
    mp.undo()


@pytest.fixture()
def cwh(cost_wh):
    return cost_wh


def _engine(kpi: str | list[str], kind: str, eid: str | None, period: str, basis: str, wh) -> float | pd.Series:
    """The engine's own figure(s) for the entity (one compute call; a Series for a list of KPIs)."""
    dim = DIM[kind]
    df = compute(kpi, by=[dim] if dim else [], start=period, end=period, filters={dim: eid} if dim else None,
                 basis=basis, warehouse=wh)
    df = df[df["period"] == period]
    return df[kpi].iloc[0] if isinstance(kpi, list) else float(df[kpi].iloc[0])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ent=st.sampled_from(ENTITIES), month=st.sampled_from(["2025-03", "2025-06", "2025-11", "2026-02", "2026-03"]),
       basis=st.sampled_from(["order", "posted"]))
# S-MY-01's February contribution: compute() sums it to …204999999998 and the waterfall's query to …205; both
# must show the same cent (money.cents drops the float noise first)
@example(ent=("store", "S-MY-01", ["store_id"]), month="2026-02", basis="order")
def test_waterfall_is_the_engine(ewh, ent, month, basis) -> None:
    kind, eid, _ = ent
    wf = costs.waterfall(kind, eid, month, basis=basis, warehouse=ewh).set_index("step")
    steps = ("gmv", "net_sales", "contribution", "advertising", "promotions", "overheads")
    eng = _engine(["net_profit"] + [costs.STEP_KPI[s] for s in steps], kind, eid, month, basis, ewh)
    np_engine = eng["net_profit"]
    # same figure, same definition: the engine's net profit and subtotals to the cent, exactly (they were sums
    # of rounded steps, a cent or more away); a cost step within a cent of its engine value
    assert wf.loc["net_profit", "amount_rc"] == float(cents(np_engine))
    assert (wf["basis"] == basis).all()
    for step in steps:
        v = eng[costs.STEP_KPI[step]]
        if wf.loc[step, "kind"] == "cost":
            assert wf.loc[step, "amount_rc"] == pytest.approx(-v, abs=0.0100001), step
        else:
            assert wf.loc[step, "amount_rc"] == float(cents(v)), step
    # the steps add up exactly, in cents
    a = {s: D(str(x)).quantize(D("0.01")) for s, x in wf["amount_rc"].items()}
    assert a["gmv"] + sum(a[s] for s in costs.COST_STEPS) == a["net_profit"]


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ent=st.sampled_from(ENTITIES), month=st.sampled_from(["2025-01", "2025-07", "2025-12", "2026-01", "2026-03"]))
def test_basis_bridge_closes_exactly(ewh, ent, month) -> None:
    kind, eid, _ = ent
    br = costs.basis_bridge(kind, eid, month, warehouse=ewh)
    assert list(br["kind"]) == ["start"] + ["timing"] * 5 + ["end"]
    amt = [D(str(x)).quantize(D("0.01")) for x in br["amount_rc"]]
    assert sum(amt[:-1]) == amt[-1]
    assert float(amt[0]) == pytest.approx(_engine("net_profit", kind, eid, month, "order", ewh), abs=0.05)
    assert float(amt[-1]) == pytest.approx(_engine("net_profit", kind, eid, month, "posted", ewh), abs=0.05)
    assert br.set_index("item").loc["overheads", "amount_rc"] == 0


def test_bridge_hand_worked(cwh) -> None:
    # cost fixture, November: order basis 52.40 -> posted 81.40 (see tests/cost_fixtures.py)
    br = costs.basis_bridge("company", None, "2026-11", warehouse=cwh).set_index("item")["amount_rc"]
    assert br["net_profit_order"] == pytest.approx(52.4) and br["net_profit_posted"] == pytest.approx(81.4)
    # O4's refund of 30 is posted in December; O6's referral fee of 12 (October order) is posted in November;
    # S1's ads are invoiced 9 (settlement) instead of spent 20
    assert br["refund_timing"] == pytest.approx(30.0)
    assert br["fee_timing"] == pytest.approx(-12.0)
    assert br["ads_invoicing"] == pytest.approx(11.0)
    assert br["sales_timing"] == pytest.approx(0.0)  # O2 (settled 12-01) out, O6 (settled 11-03) in: same GMV/cost


def test_waterfall_uses_catalog_kpis_only(cwh) -> None:
    cat = load_catalog()
    assert set(costs.STEP_KPI) == {s.step for s in costs.STEPS}
    for step, kpi in costs.STEP_KPI.items():
        assert kpi in cat.kpis, step
    # the catalog's contribution is the waterfall's: same lines, same signs (hand-worked ORDER_NOV: 97.4)
    long = compute_long(["contribution", "net_profit"], start="2026-11", end="2026-11", warehouse=cwh).set_index("kpi")
    assert long.loc["contribution", "value"] == pytest.approx(97.4)
    assert long.loc["net_profit", "value"] == pytest.approx(52.4)
    assert long.loc["net_profit", "complete"]


def test_changes_read_like_readers() -> None:
    assert changes.change("net_margin", 0.267, 0.228) == pytest.approx((3.9, "pp"))
    d, u = changes.change("net_sales", 117.0, 100.0)
    assert u == "%" and d == pytest.approx(0.17)
    assert changes.change("roas", 3.5, 3.0) == pytest.approx((0.5, "x"))
    assert math.isnan(changes.change("gmv", 5.0, 0.0)[0])
    assert changes.format_change("net_margin", 3.9, "pp") == "+3.9 pp"
    assert changes.format_change("gmv", 0.17, "%") == "+17.0%"
    assert changes.prior_periods("2026-11") == {"mom": "2026-10", "yoy": "2025-11"}
    assert changes.prior_periods("2026-Q4") == {"mom": "2026-Q3", "yoy": "2025-Q4"}
    assert changes.prior_periods("2026-W45")["yoy"] is None
    assert changes.is_good("acos", -2.0) is True and changes.is_good("acos", 1.0) is False
    assert changes.is_good("gmv", 0.1) is True and changes.is_good("gmv", 0.0) is None


@settings(max_examples=60, deadline=None)
@given(cur=st.floats(0.001, 1e6), prior=st.floats(0.001, 1e6),
       kpi=st.sampled_from(["gmv", "net_margin", "acos", "roas", "orders", "cvr"]))
def test_change_direction_property(cur, prior, kpi) -> None:
    d, unit = changes.change(kpi, cur, prior)
    assert unit == {"pct": "pp", "ratio": "x"}.get(load_catalog().get(kpi).unit, "%")
    assert (d > 0) == (cur > prior) or d == 0
    good = changes.is_good(kpi, d)
    if d != 0:
        assert good == ((cur > prior) == (load_catalog().get(kpi).direction == "up"))


def test_compute_rejects_unknown_basis(ewh) -> None:
    from kpi_lib.errors import DefinitionError

    with pytest.raises(DefinitionError, match="basis"):
        compute("gmv", basis="settled", warehouse=ewh)
    assert isinstance(pd.DataFrame(), pd.DataFrame)


def test_coverage_text() -> None:
    assert changes.coverage_text("cvr", 4, 11, "traffic") == "Conversion rate over 4 of 11 stores (missing traffic data)"
    assert changes.coverage_text("cvr", 11, 11, "") == ""
    assert changes.coverage_text("net_profit", 8, 11, "fees, ads", lang="zh") == "净利润：基于11家店铺中的8家(缺少费用、广告数据)"
