"""Margin-change explanation worked by hand for two months, and the contract waterfall actually run.

Fixture: tests/cost_fixtures.py (amounts in the reporting currency). October 2026 by order date:
O6 (S1, B-1, 80, its referral fee 12 posted 11-02 belongs to the order's month), O7 (S1, 3 × A-1, 150,
referral 22.5), O8 (S2, 2 × B-1, 160); ads S1 10; overheads S1 30.

| line | October | November (cost_fixtures.ORDER_NOV) |
|---|---|---|
| GMV | 80 + 150 + 160 = 390 | 280 |
| refunds | 0 | 40 |
| net sales | 390 | 240 |
| COGS | B-1 20 + A-1 3 × 8 + B-1 2 × 20 = 84 | 64 |
| first leg | 3 + 3 × 2 + 2 × 3 = 15 | 13 |
| duties | 10 % × 24 = 2.4 | 2.4 |
| referral | 22.5 + 12 = 34.5 | 15 |
| advertising | 10 | 25 |
| overheads | 30 | 45 |
| net profit | 214.1 | 52.4 |
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cost_fixtures import ORDER_NOV, make_project, make_warehouse

from kpi_lib import costs
from kpi_lib.errors import KpiError

ORDER_OCT = {"gmv": 390.0, "refunds": 0.0, "cogs": 84.0, "first_leg": 15.0, "duties": 2.4, "referral_fees": 34.5,
             "advertising": 10.0, "overheads": 30.0, "net_profit": 214.1}
NS_OCT, NS_NOV = 390.0, 240.0


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj", contracts="contracts:\n  - id: C-1\n    stores: [S1]\n")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_october_waterfall_hand_worked(wh) -> None:
    got = costs.waterfall(period="2026-10", warehouse=wh).set_index("step")["amount_rc"]
    for step, v in ORDER_OCT.items():
        sign = 1 if step in ("gmv", "net_profit") else -1
        assert got[step] == pytest.approx(sign * v), step
    for step in costs.COST_STEPS:
        if step not in ORDER_OCT:
            assert got[step] == 0.0, step


def test_margin_points_per_cost_line_hand_worked(wh) -> None:
    df = costs.explain_margin_change(period="2026-11", prior="2026-10", warehouse=wh).set_index("step")
    # points = −(cost_nov / 240 − cost_oct / 390) × 100 for each line
    hand = {
        "cogs": -(64 / 240 - 84 / 390) * 100,           # −5.128: COGS went from 21.5 % to 26.7 % of net sales
        "first_leg": -(13 / 240 - 15 / 390) * 100,      # −1.571
        "duties": -(2.4 / 240 - 2.4 / 390) * 100,       # −0.385
        "referral_fees": -(15 / 240 - 34.5 / 390) * 100,  # +2.596: the only line that helped
        "payment_fees": -(1.2 / 240) * 100,             # −0.5
        "other_platform_fees": -(0.5 / 240) * 100,
        "fulfillment": -(8 / 240) * 100,
        "storage": -(7 / 240) * 100,
        "long_term_storage": -(2 / 240) * 100,
        "advertising": -(25 / 240 - 10 / 390) * 100,    # −7.853
        "return_processing": -(1.5 / 240) * 100,
        "promotions": -(3 / 240) * 100,
        "overheads": -(45 / 240 - 30 / 390) * 100,      # −11.058
    }
    assert hand["cogs"] == pytest.approx(-5.128205, abs=1e-6)
    assert hand["referral_fees"] == pytest.approx(2.596154, abs=1e-6)
    for step, pts in hand.items():
        assert df.loc[step, "margin_points"] == pytest.approx(pts, abs=1e-9), step
    assert df.loc["cogs", "share_prior"] == pytest.approx(84 / 390)
    assert df.loc["cogs", "share_current"] == pytest.approx(64 / 240)
    # net margin 214.1 / 390 = 54.90 % → 52.4 / 240 = 21.83 %: −33.064 points, the sum of the lines
    total = (ORDER_NOV["net_profit"] / NS_NOV - ORDER_OCT["net_profit"] / NS_OCT) * 100
    assert total == pytest.approx(-33.064103, abs=1e-6)
    assert df.loc["net_margin", "margin_points"] == pytest.approx(total, abs=1e-9)
    assert sum(hand.values()) == pytest.approx(total, abs=1e-9)
    assert "refunds" not in df.index  # refunds are inside net sales, not a margin line


def test_contract_waterfall_runs(wh) -> None:
    # contract C-1 covers S1 only: November S1 = O1 100 + O2 80 = 180 GMV, refund 10, COGS 2 × 8 + 20 = 36
    c = costs.waterfall("contract", "C-1", "2026-11", warehouse=wh).set_index("step")["amount_rc"]
    s1 = costs.waterfall("store", "S1", "2026-11", warehouse=wh).set_index("step")["amount_rc"]
    assert c.to_dict() == s1.to_dict()
    assert c["gmv"] == pytest.approx(180.0) and c["refunds"] == pytest.approx(-10.0) and c["cogs"] == pytest.approx(-36.0)
    with pytest.raises(KpiError, match="contract.*needs an entity id"):
        costs.waterfall("contract", None, "2026-11", warehouse=wh)
