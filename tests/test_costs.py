"""Cost waterfall, unit economics, margin-change explanation and overhead allocation."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import ORDER_NOV, POSTED_NOV, make_project, make_warehouse

from kpi_lib import costs
from kpi_lib.errors import ConfigError

OVERHEADS = """
default_basis: net_sales
staff:
  - {id: staff, monthly_cost: 1000}
rent:
  - {id: rent, monthly_cost: 0.03, basis: headcount}
subscriptions:
  - id: erp
    base_fee: 1200
    seats: 12
    price_per_seat: 80
    addons: [{name: store connector, per: store, price: 60}]
    billing: annual
    annual_discount: 0.15
    basis: orders
"""


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj", overheads=OVERHEADS)
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def _amounts(df: pd.DataFrame) -> dict[str, D]:
    return {s: D(str(a)).quantize(D("0.01")) for s, a in zip(df["step"], df["amount_rc"])}


def _check_sums(df: pd.DataFrame) -> None:
    a = _amounts(df)
    cost_rows = df[df["kind"] == "cost"]["step"]
    # GMV + every (signed) cost line = net profit, exactly to the cent
    assert a["gmv"] + sum(a[s] for s in cost_rows) == a["net_profit"]
    assert a["net_sales"] == a["gmv"] + a["refunds"]
    assert a["gross_profit"] == a["net_sales"] + a["cogs"] + a["first_leg"] + a["duties"]
    assert a["net_profit"] == a["contribution"] + a["overheads"]
    ns = float(a["net_sales"])
    assert df.set_index("step")["pct_of_net_sales"].to_dict() == pytest.approx(
        {s: float(v) / ns for s, v in a.items()})


@pytest.mark.parametrize("basis,expected", [("order", ORDER_NOV), ("posted", POSTED_NOV)])
def test_waterfall_hand_worked(wh, basis: str, expected: dict[str, float]) -> None:
    df = costs.waterfall("company", None, "2026-11", basis=basis, warehouse=wh)
    assert list(df.columns)[:6] == ["step", "label_zh", "label_en", "amount_rc", "pct_of_net_sales", "kind"]
    assert list(df["step"]) == [s.step for s in costs.STEPS]
    got = df.set_index("step")["amount_rc"]
    for step, v in expected.items():
        sign = 1 if step in ("gmv", "net_profit") else -1
        assert got[step] == pytest.approx(sign * v), step
    _check_sums(df)


def test_waterfall_entities_and_custom_range(wh) -> None:
    # team T1 has S1 all month and S2 until 11-15; T2 has S2 from 11-16: GMV 240 + 40 = 280
    t1 = costs.waterfall("team", "T1", "2026-11", warehouse=wh).set_index("step")["amount_rc"]
    t2 = costs.waterfall("team", "T2", "2026-11", warehouse=wh).set_index("step")["amount_rc"]
    assert t1["gmv"] == pytest.approx(240.0) and t2["gmv"] == pytest.approx(40.0)
    # overheads follow the days: S2's 15 for November is split 7.50 / 7.50
    assert t1["overheads"] == pytest.approx(-37.5) and t2["overheads"] == pytest.approx(-7.5)
    s1 = costs.waterfall("store", "S1", "2026-11-01..2026-11-15", warehouse=wh).set_index("step")["amount_rc"]
    assert s1["gmv"] == pytest.approx(100.0)  # O1 only
    assert s1["overheads"] == pytest.approx(-15.0)  # 30 × 15 / 30 days
    # SKU cost history: A-1 in October uses the 2026-01-01 cost (8), not skus.unit_cogs (10): 3 × 8 = 24
    a1 = costs.waterfall("sku", "A-1", "2026-10", warehouse=wh).set_index("step")["amount_rc"]
    assert a1["cogs"] == pytest.approx(-24.0)
    cat = costs.waterfall("category", "X", "2026-11", warehouse=wh).set_index("step")["amount_rc"]
    assert cat["gmv"] == pytest.approx(40.0) and cat["cogs"] == pytest.approx(-20.0)  # X-9 from skus: 4 × 5
    for kind, eid in (("person", "P2"), ("platform", "shopee"), ("contract", None)):
        if eid:
            _check_sums(costs.waterfall(kind, eid, "2026-11", warehouse=wh))


def test_unit_economics(wh) -> None:
    ue = costs.unit_economics(period="2026-11", warehouse=wh).set_index("sku")
    b = ue.loc["B-1"]
    # B-1: one unit for 80, landed 20 + 3, no fees on the November order -> contribution 57
    assert b["units"] == 1 and b["net_sales"] == pytest.approx(80.0)
    assert b["landed_cost_per_unit"] == pytest.approx(23.0)
    assert b["contribution_per_unit"] == pytest.approx(57.0)
    assert b["break_even_acos"] == pytest.approx(57 / 80)
    a = ue.loc["A-1"]
    # GMV 160 − refunds 40 = 120; landed 3 × (8 + 2 + 0.8 duty) = 32.4; fees 15 + 6 + 1.2 + 2 = 24.2;
    # return processing 1.5; ads 25 -> contribution 36.9; ACoS 25 / 80
    assert a["landed_cost_per_unit"] == pytest.approx(10.8)
    assert a["fees_per_unit"] == pytest.approx(24.2 / 3)
    assert a["return_loss_per_unit"] == pytest.approx(0.5)
    assert a["ads_per_unit"] == pytest.approx(25 / 3)
    assert a["contribution_per_unit"] * 3 == pytest.approx(36.9)
    assert a["acos"] == pytest.approx(25 / 80)
    assert a["break_even_acos"] == pytest.approx((36.9 + 25) / 120)
    assert not ue["loss_making"].any()
    assert list(ue["contribution"]) == sorted(ue["contribution"])  # worst first
    assert costs.loss_makers(period="2026-11", warehouse=wh).empty


def test_explain_margin_change_sums(wh) -> None:
    df = costs.explain_margin_change(period="2026-11", prior="2026-10", warehouse=wh)
    total = df[df["step"] == "net_margin"]["margin_points"].iloc[0]
    assert df[df["step"] != "net_margin"]["margin_points"].sum() == pytest.approx(total)
    a = costs.waterfall(period="2026-10", warehouse=wh).set_index("step")["pct_of_net_sales"]
    b = costs.waterfall(period="2026-11", warehouse=wh).set_index("step")["pct_of_net_sales"]
    assert total == pytest.approx((b["net_profit"] - a["net_profit"]) * 100)


def test_subscription_pricing() -> None:
    sub = costs.Subscription(id="erp", base_fee=D(1200), seats=12, price_per_seat=D(80),
                             addons=[costs.Addon(name="conn", per="store", price=D(60)),
                                     costs.Addon(name="amz", per="platform", price=D(39), platforms=["amazon"])],
                             billing="monthly")
    stores = pd.DataFrame({"store_id": ["S1", "S2", "S3"], "platform": ["amazon", "amazon", "shopee"]})
    # monthly: 1 200 + 12 × 80 + 3 stores × 60 + 1 platform (amazon) × 39 = 1 200 + 960 + 180 + 39 = 2 379
    assert costs.subscription_monthly_cost(sub, stores) == D("2379.00")
    annual = sub.model_copy(update={"billing": "annual", "annual_discount": D("0.15")})
    # annual: 2 379 × 12 × 0.85 = 24 265.80 per year -> 2 022.15 per month
    assert costs.subscription_monthly_cost(annual, stores) == D("2022.15")


def test_largest_remainder() -> None:
    parts = costs.largest_remainder(D("100.00"), [1, 1, 1])
    assert sum(parts) == D("100.00") and sorted(parts) == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(costs.largest_remainder(D("0.05"), [0, 0])) == D("0.05")  # no basis -> equal split


def test_allocate_overheads_sums_exactly(wh) -> None:
    al = costs.allocate_overheads("2026-11", warehouse=wh)
    items = costs.overhead_items("2026-11", warehouse=wh).set_index("item")["amount_rc"]
    # erp: (1 200 + 12 × 80 + 2 stores × 60) × 12 × 0.85 / 12 = 2 280 × 0.85 = 1 938
    assert items["erp"] == D("1938.00")
    for item, g in al.groupby("item"):
        assert sum(D(str(x)) for x in g["amount_rc"]) == items[item]
    assert sum(D(str(x)) for x in al["amount_rc"]) == D(1000) + D("0.03") + D("1938.00")
    staff = al[al["item"] == "staff"].set_index("store_id")["amount_rc"]
    # net sales Nov (order basis: O4's December refund of 30 belongs to its November order):
    # S1 180 − 10 = 170, S2 100 − 30 = 70 -> 1 000 × 170 / 240 = 708.33, 291.67
    assert staff.to_dict() == {"S1": 708.33, "S2": 291.67}
    by_units = costs.allocate_overheads("2026-11", basis="units", warehouse=wh)
    assert by_units[by_units["item"] == "staff"]["amount_rc"].sum() == pytest.approx(1000.0)


def test_write_overhead_allocations_feeds_engine(wh) -> None:
    from kpi_lib.metrics import compute

    df = costs.write_overhead_allocations(wh, months=["2026-11"])
    assert set(df.columns) == {"store_id", "month", "item", "amount_rc"}
    got = compute(["overheads"], by=["store_id"], start="2026-11", end="2026-11", warehouse=wh)
    assert got["overheads"].sum() == pytest.approx(2938.03)
    wf = costs.waterfall(period="2026-11", warehouse=wh).set_index("step")["amount_rc"]
    assert wf["overheads"] == pytest.approx(-2938.03)


def test_overheads_yaml_rejects_unknown_keys(tmp_path: Path) -> None:
    p = tmp_path / "overheads.yaml"
    p.write_text("staff:\n  - {id: a, monthly_cost: 1, montly: 2}\n")
    with pytest.raises(ConfigError):
        costs.load_overheads(p)
    root = Path(__file__).resolve().parents[1]
    assert costs.load_overheads(root / "parameters" / "overheads.yaml").subscriptions


def test_cli_costs(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from kpi_lib.cli import app

    monkeypatch.setenv("KPI_WAREHOUSE", str(wh.path))
    r = CliRunner().invoke(app, ["costs", "--period", "2026-11"])
    assert r.exit_code == 0, r.output
    assert "Net profit" in r.output and "52.40" in r.output
    r = CliRunner().invoke(app, ["costs", "--store", "S1", "--period", "2026-11", "--basis", "posted", "--json"])
    assert r.exit_code == 0, r.output
    rows = {x["step"]: x["amount_rc"] for x in json.loads(r.output)}
    assert rows["gmv"] == pytest.approx(180.0)  # O1 100 + O6 80 settled in November
