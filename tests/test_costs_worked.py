"""Margin-change explanation worked by hand for two months, and the contract waterfall actually run.

Fixture: tests/cost_fixtures.py (amounts in the reporting currency). October 2026 by order date:
O6 (S1, B-1, 80, its referral fee 12 posted 11-02 belongs to the order's month), O7 (S1, 3 × A-1, 150,
referral 22.5), O8 (S2, 2 × B-1, 160); ads S1 10; overheads S1 30. S2 has no fee and no ads rows in
October: missing is not zero, so S2 is *incomplete* for net profit in October and the company
October waterfall is computed over S1 alone (1 of 2 stores) — O8 is not counted with zero fees.

| line | October (company = S1, 1 of 2 stores) | November (both stores, cost_fixtures.ORDER_NOV) |
|---|---|---|
| GMV | 80 + 150 = 230 | 280 |
| refunds | 0 | 40 |
| net sales | 230 | 240 |
| COGS | B-1 20 + A-1 3 × 8 = 44 | 64 |
| first leg | 3 + 3 × 2 = 9 | 13 |
| duties | 10 % × 24 = 2.4 | 2.4 |
| referral | 22.5 + 12 = 34.5 | 15 |
| advertising | 10 | 25 |
| overheads | 30 | 45 |
| net profit | 100.1 | 52.4 |
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cost_fixtures import ORDER_NOV, make_project, make_warehouse

from kpi_lib import costs
from kpi_lib.errors import KpiError

ORDER_OCT = {"gmv": 230.0, "refunds": 0.0, "cogs": 44.0, "first_leg": 9.0, "duties": 2.4, "referral_fees": 34.5,
             "advertising": 10.0, "overheads": 30.0, "net_profit": 100.1}
NS_OCT, NS_NOV = 230.0, 240.0


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj", contracts="contracts:\n  - id: C-1\n    stores: [S1]\n")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_october_waterfall_hand_worked(wh) -> None:
    wf = costs.waterfall(period="2026-10", warehouse=wh).set_index("step")
    got = wf["amount_rc"]
    assert (wf["stores_covered"] == 1).all() and (wf["stores_total"] == 2).all()  # S2 lacks fees and ads
    assert not wf["complete"].any() and "fees" in wf.loc["net_profit", "missing"]
    s1 = costs.waterfall("store", "S1", "2026-10", warehouse=wh).set_index("step")["amount_rc"]
    assert got.to_dict() == s1.to_dict()
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
        "cogs": -(64 / 240 - 44 / 230) * 100,           # −7.536: COGS went from 19.1 % to 26.7 % of net sales
        "first_leg": -(13 / 240 - 9 / 230) * 100,       # −1.504
        "duties": -(2.4 / 240 - 2.4 / 230) * 100,       # +0.043
        "referral_fees": -(15 / 240 - 34.5 / 230) * 100,  # +8.75
        "payment_fees": -(1.2 / 240) * 100,             # −0.5
        "other_platform_fees": -(0.5 / 240) * 100,
        "fulfillment": -(8 / 240) * 100,
        "storage": -(7 / 240) * 100,
        "long_term_storage": -(2 / 240) * 100,
        "advertising": -(25 / 240 - 10 / 230) * 100,    # −6.069
        "return_processing": -(1.5 / 240) * 100,
        "promotions": -(3 / 240) * 100,
        "overheads": -(45 / 240 - 30 / 230) * 100,      # −5.707
    }
    assert hand["cogs"] == pytest.approx(-7.536232, abs=1e-6)
    assert hand["referral_fees"] == pytest.approx(8.75, abs=1e-6)
    for step, pts in hand.items():
        assert df.loc[step, "margin_points"] == pytest.approx(pts, abs=1e-9), step
    assert df.loc["cogs", "share_prior"] == pytest.approx(44 / 230)
    assert df.loc["cogs", "share_current"] == pytest.approx(64 / 240)
    # net margin 100.1 / 230 = 43.52 % → 52.4 / 240 = 21.83 %: −21.688 points, the sum of the lines
    total = (ORDER_NOV["net_profit"] / NS_NOV - ORDER_OCT["net_profit"] / NS_OCT) * 100
    assert total == pytest.approx(-21.688406, abs=1e-6)
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
