"""One query for many periods: :func:`settlement.gmv_rows` and :func:`settlement.gmv_window` (issue 11,
written for their mutants: the settlement test files never called them, only report and widget tests did).

Data: ``tests/cost_fixtures.py`` on the posted basis (S1 Amazon: settlement posted date; S2: ship date).
Non-cancelled GMV and refunds per SKU × month, worked from the fixture's order and refund tables:

| month | A-1 gmv | A-1 refunds | B-1 gmv | X-9 gmv | stores |
|---|---|---|---|---|---|
| 2026-10 | 150 (O7, S1, posted 10-12) | 0 | 160 (O8, S2, shipped 10-13) | | |
| 2026-11 | 100 (O1, S1) + 60 (O4, S2) = 160 | 10 (O1, S1, 11-15) | 80 (O6, S1, posted 11-03) | 40 (O5, S2) | |
| 2026-12 | 0 | 30 (O4, S2, 12-02) | 80 (O2, S1, posted 12-01) | | |

On the order basis O6 (ordered 10-30) would be October's and O2 (ordered 11-20) November's, so a query on
the wrong basis moves 80 between months.

Contract C (S1 + S2, X-9 excluded, net of refunds): net = gmv − excluded gmv − (refunds − excluded refunds)
- 2026-10: 310 − 0 − 0 = 310
- 2026-11: 280 − 40 − 10 = 230
- 2026-12: 80 − 0 − 30 = 50
- 2026-Q4: 670 − 40 − 40 = 590
S2 alone in 2026-11: 60 + 40 = 100, X-9 40 excluded, no refund dated November -> net 60.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from cost_fixtures import make_project, make_warehouse

from kpi_lib import settlement
from kpi_lib.settlement import Contract, gmv_rows, gmv_window


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # the project has no warehouse of its own: a query that loses the warehouse argument fails loudly
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "proj")))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


@pytest.fixture()
def queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every engine query settlement makes, by its first month."""
    calls: list[str] = []
    real = settlement.compute

    def counting(*a, **k):
        calls.append(str(k.get("start")))
        return real(*a, **k)

    monkeypatch.setattr(settlement, "compute", counting)
    return calls


def contract(**kw) -> Contract:
    base = {"id": "C", "stores": ["S1", "S2"], "excluded_skus": ["X-9"], "fee": {"model": "fixed", "base": 1}}
    base.update(kw)
    return Contract.model_validate(base)


def figures(gmv: str, refunds: str, xg: str, xr: str, net: str) -> dict[str, D]:
    return {"gmv": D(gmv), "refunds": D(refunds), "excluded_gmv": D(xg), "excluded_refunds": D(xr), "net_gmv": D(net)}


def table(df) -> dict[tuple[str, str], tuple[float, float]]:
    return {(str(r.period), str(r.sku)): (float(r.gmv), float(r.refunds)) for r in df.itertuples()}


# ------------------------------------------------------------------------------------------- gmv_rows


def test_gmv_rows_are_gmv_and_refunds_by_sku_and_month_of_the_window(wh) -> None:
    df = gmv_rows(contract(), "2026-11", "2026-12", wh)
    assert sorted(df.columns) == ["gmv", "period", "refunds", "sku"]  # the two figures gmv_figures reads
    # November and December only (October's 310 is outside), posted basis, both stores, every SKU
    assert table(df) == {
        ("2026-11", "A-1"): (160.0, 10.0), ("2026-11", "B-1"): (80.0, 0.0), ("2026-11", "X-9"): (40.0, 0.0),
        ("2026-12", "A-1"): (0.0, 30.0), ("2026-12", "B-1"): (80.0, 0.0),
    }


def test_gmv_rows_keep_to_the_contract_s_stores(wh) -> None:
    # S1 only: O7 in October; O1 (100, refund 10) and O6 (80) in November; O2 (80) in December
    df = gmv_rows(contract(stores=["S1"]), "2026-10", "2026-12", wh)
    assert table(df) == {
        ("2026-10", "A-1"): (150.0, 0.0), ("2026-11", "A-1"): (100.0, 10.0), ("2026-11", "B-1"): (80.0, 0.0),
        ("2026-12", "B-1"): (80.0, 0.0),
    }
    # a window ending before the data does: December's rows (O2's 80, the refund of 30) stay out
    assert set(gmv_rows(contract(stores=["S1"]), "2026-10", "2026-11", wh)["period"]) == {"2026-10", "2026-11"}


# ----------------------------------------------------------------------------------------- gmv_window


def test_gmv_window_answers_its_periods_from_one_query(wh, queries: list[str]) -> None:
    gmv = gmv_window(contract(), "2026-10", "2026-12", wh)
    assert queries == []  # made on first use, not when the window is built
    c = contract()
    assert gmv(c, "2026-11") == figures("280.00", "10.00", "40.00", "0.00", "230.00")
    assert gmv(c, "2026-10") == figures("310.00", "0.00", "0.00", "0.00", "310.00")
    assert gmv(c, "2026-12") == figures("80.00", "30.00", "0.00", "0.00", "50.00")
    # a quarter whose months are exactly the window's is inside it too
    assert gmv(c, "2026-Q4") == figures("670.00", "40.00", "40.00", "0.00", "590.00")
    assert queries == ["2026-10"]  # one query, from the window's first month, for all four periods


def test_gmv_window_asks_the_engine_for_other_periods_and_stores(wh, queries: list[str]) -> None:
    gmv = gmv_window(contract(), "2026-11", "2026-12", wh)
    c = contract()
    # October is outside the window: its own query (and the window's query is not made for it)
    assert gmv(c, "2026-10") == figures("310.00", "0.00", "0.00", "0.00", "310.00")
    assert queries == ["2026-10"]
    # the same months for another store set: the engine, not the window's rows of both stores
    assert gmv(contract(stores=["S2"]), "2026-11") == figures("100.00", "0.00", "40.00", "0.00", "60.00")
    assert queries == ["2026-10", "2026-11"]
    # a quarter reaching outside the window (October) is not answered from it
    assert gmv(c, "2026-Q4") == figures("670.00", "40.00", "40.00", "0.00", "590.00")
    assert queries == ["2026-10", "2026-11", "2026-Q4"]
    # now the window's own periods: one query for both, the figures as the engine gives them
    assert gmv(c, "2026-12") == figures("80.00", "30.00", "0.00", "0.00", "50.00")
    assert gmv(c, "2026-11") == figures("280.00", "10.00", "40.00", "0.00", "230.00")
    assert queries == ["2026-10", "2026-11", "2026-Q4", "2026-11"]
