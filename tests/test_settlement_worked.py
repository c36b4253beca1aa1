"""Fee-model comparison worked by hand (from mutation survivors: compare_models' equivalents,
provider earnings, fee share of GMV and target choice were never checked by number)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from cost_fixtures import make_project, make_warehouse

from kpi_lib.errors import SettlementError
from kpi_lib.settlement import compare_models

CONTRACTS = """
contracts:
  - id: C-W
    stores: [S1, S2]
    target: 1000
    targets: {"2026-11": 400}
    provider_cost: 25
    fee:
      model: base_plus_performance
      base: 20
      performance: {kind: linear, pool: 200}
    alternatives:
      - {model: fixed, base: 150}
      - {name: cps, model: commission, performance: {kind: commission, tiers: [{from: 0, rate: 0.2}]}}
  - id: C-Z
    stores: [S1]
    fee: {model: fixed, base: 5}
"""


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj", contracts=CONTRACTS)
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_compare_models_hand_worked(wh) -> None:
    df = compare_models("C-W", scenarios=[0.5, 1.0, 1.25], target=800, warehouse=wh)
    assert list(df.columns) == ["model", "achievement", "net_gmv", "client_pays", "provider_earns", "fee_pct_of_gmv"]
    # the contract at 100 % pays 20 + 200 × 1.0 = 220 on a net GMV of 800: a commission of 220/800 = 0.275
    assert list(dict.fromkeys(df["model"])) == ["contract", "alternative 1", "cps", "fixed (same at 100%)",
                                                "commission 0.2750 (same at 100%)"]
    got = {(r.model, r.achievement): r for r in df.itertuples()}
    # scenario a: net GMV = 800 × a
    for a, gmv in ((0.5, 400.0), (1.0, 800.0), (1.25, 1000.0)):
        c = got[("contract", a)]
        assert c.net_gmv == gmv
        assert c.client_pays == pytest.approx(20 + 200 * a)                  # 120, 220, 270
        assert c.provider_earns == pytest.approx(20 + 200 * a - 25)          # minus provider_cost 25
        assert c.fee_pct_of_gmv == pytest.approx((20 + 200 * a) / gmv)      # 30 %, 27.5 %, 27 %
        assert got[("alternative 1", a)].client_pays == 150.0
        assert got[("cps", a)].client_pays == pytest.approx(0.2 * gmv)
        assert got[("fixed (same at 100%)", a)].client_pays == 220.0
        assert got[("commission 0.2750 (same at 100%)", a)].client_pays == pytest.approx(0.275 * gmv)
        assert got[("commission 0.2750 (same at 100%)", a)].provider_earns == pytest.approx(0.275 * gmv - 25)


def test_compare_models_target_choice(wh) -> None:
    # no target given: the contract's default target (1000); with a period: that period's (400)
    d = compare_models("C-W", scenarios=[1.0], warehouse=wh)
    assert d[d["model"] == "contract"]["net_gmv"].tolist() == [1000.0]
    p = compare_models("C-W", scenarios=[1.0], period="2026-11", warehouse=wh)
    assert p[p["model"] == "contract"]["net_gmv"].tolist() == [400.0]
    assert p[p["model"] == "contract"]["client_pays"].tolist() == [220.0]
    with pytest.raises(SettlementError, match="C-Z: no positive target"):
        compare_models("C-Z", scenarios=[1.0], warehouse=wh)
    z = compare_models("C-W", scenarios=[0.0], target=800, warehouse=wh)
    assert math.isnan(z[z["model"] == "contract"]["fee_pct_of_gmv"].iloc[0])  # no GMV: no share
