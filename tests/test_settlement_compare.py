"""``compare_models``: the equivalent models and the target the scenarios are built on (issue 11, written
for the survivors of ``compare_models`` and ``_equivalents``). Numbers worked by hand in the comments.

Data for the growth target: ``tests/cost_fixtures.py`` on the posted basis, S1 + S2: 2026-11 net GMV
280 − 10 = 270; nothing a year earlier (2025-11). Orders run to 2026-11, the warehouse's last month.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cost_fixtures import contract_project

from kpi_lib.errors import SettlementError
from kpi_lib.settlement import compare_models, gmv_figures

CONTRACTS = """
contracts:
  - id: C-FIX
    stores: [S1, S2]
    fee: {model: fixed, base: 125}
  - id: C-CPS
    stores: [S1, S2]
    fee: {model: commission, performance: {kind: commission, tiers: [{from: 0, rate: 0.05}]}}
  - id: C-TS
    stores: [S1, S2]
    targets: {"2026-10": 300, "2026-11": 200}
    fee: {model: fixed, base: 30}
  - id: C-NONE
    stores: [S1, S2]
    fee: {model: fixed, base: 5}
  - id: C-GROW
    stores: [S1, S2]
    target_growth: 0.1
    fee: {model: fixed, base: 5}
"""
TARGETS = "targets:\n  - {kpi: gmv, entity_kind: contract, entity_id: C-NONE, period: '2026-11', value: 400}\n"


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return contract_project(tmp_path, monkeypatch, CONTRACTS, TARGETS)


def pays(df) -> dict[str, float]:
    return dict(zip(df["model"], df["client_pays"], strict=True))


def test_equivalent_models_pay_the_same_at_100_percent(wh) -> None:
    # a fixed 125 on a target of 100 000: commission 125 / 100 000 = 0.00125 -> 0.0013 (half-up to 4 places)
    # which pays 0.0013 × 100 000 = 130 at 100 %
    assert pays(compare_models("C-FIX", scenarios=(1.0,), target=100000)) == {
        "contract": 125.0, "fixed (same at 100%)": 125.0, "commission 0.0013 (same at 100%)": 130.0}
    # a 5 % commission on a target of 2 000 pays 100 at 100 %: the fixed equivalent is 100, the commission 5 %;
    # at 50 % (net GMV 1 000) the commissions pay 50
    assert pays(compare_models("C-CPS", scenarios=(0.5,), target=2000)) == {
        "contract": 50.0, "fixed (same at 100%)": 100.0, "commission 0.0500 (same at 100%)": 50.0}
    # a target of 1.00 is a positive target: 125 / 1 = 125 as a commission rate
    assert pays(compare_models("C-FIX", scenarios=(1.0,), target=1)) == {
        "contract": 125.0, "fixed (same at 100%)": 125.0, "commission 125.0000 (same at 100%)": 125.0}


def test_target_without_a_period(wh) -> None:
    # the contract's first per-period target (300) when it has no default target
    df = compare_models("C-TS", scenarios=(1.0,))
    assert df.loc[df["model"] == "contract", "net_gmv"].tolist() == [300.0]
    # neither: the target of the warehouse's last month (2026-11) in parameters/targets
    df = compare_models("C-NONE", scenarios=(1.0,), warehouse=wh)
    assert df.loc[df["model"] == "contract", "net_gmv"].tolist() == [400.0]
    # growth on 2025-11, which had no sales: no base, no target
    with pytest.raises(SettlementError, match="C-GROW: no positive target"):
        compare_models("C-GROW", scenarios=(1.0,), warehouse=wh)


def test_target_of_a_period(wh) -> None:
    with pytest.raises(SettlementError, match="C-NONE: no positive target"):
        compare_models("C-NONE", scenarios=(1.0,), period="2026-10", warehouse=wh)  # no target for October
    # 2027-11: 2026-11's net GMV 270 × 1.1 = 297, from the warehouse given
    df = compare_models("C-GROW", scenarios=(1.0,), period="2027-11", warehouse=wh)
    assert df.loc[df["model"] == "contract", "net_gmv"].tolist() == [297.0]
    # ... or through the gmv= given (e.g. a window over many months)
    asked: list[str] = []

    def gmv(c, p):
        asked.append(p)
        return gmv_figures(c, p, wh)

    df = compare_models("C-GROW", scenarios=(1.0,), period="2027-11", warehouse=wh, gmv=gmv)
    assert df.loc[df["model"] == "contract", "net_gmv"].tolist() == [297.0] and asked == ["2026-11"]
