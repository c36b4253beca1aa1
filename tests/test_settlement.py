"""Contract fee models, worked by hand (the arithmetic is in each test), and settlement statements."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from cost_fixtures import make_project, make_warehouse
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from kpi_lib.errors import ConfigError, SettlementError
from kpi_lib.settlement import (
    ExitClause,
    FeeModel,
    compare_models,
    exit_clause_state,
    fee_lines,
    load_contracts,
    settle,
    total_of,
)


def fm(**kw) -> FeeModel:
    return FeeModel.model_validate(kw)


def names(lines) -> dict[str, D]:
    return {ln.name: ln.amount for ln in lines}


def test_fixed_fee() -> None:
    lines = fee_lines(fm(model="fixed", base="5000"), D("123456.78"), D("0.5"))
    assert names(lines) == {"fixed": D("5000.00")}
    assert total_of(lines) == D("5000.00")


def test_base_plus_linear_performance_min_and_max_achievement() -> None:
    fee = fm(model="base_plus_performance", base=30000,
             performance={"kind": "linear", "pool": 70000, "min_achievement": 0.6, "max_achievement": 1.5})
    # 85 %: 30 000 + 70 000 × 0.85 = 30 000 + 59 500 = 89 500
    assert total_of(fee_lines(fee, D(0), D("0.85"))) == D("89500.00")
    # 50 % is below the 60 % minimum: base only
    assert names(fee_lines(fee, D(0), D("0.5")))["performance"] == D("0.00")
    # 170 % counts as 150 %: 70 000 × 1.5 = 105 000
    assert names(fee_lines(fee, D(0), D("1.7")))["performance"] == D("105000.00")


def test_achievement_tiers_retroactive_vs_marginal() -> None:
    tiers = [{"from": 0.8, "rate": 0.5}, {"from": 1.0, "rate": 1.0}, {"from": 1.2, "rate": 1.4}]
    retro = fm(model="base_plus_performance", base=0,
               performance={"kind": "achievement_tiers", "pool": 70000, "mode": "retroactive", "tiers": tiers})
    marg = fm(model="base_plus_performance", base=0,
              performance={"kind": "achievement_tiers", "pool": 70000, "mode": "marginal", "tiers": tiers})
    # retroactive: 105 % reaches the 100 % tier -> whole pool × 1.0 = 70 000
    assert names(fee_lines(retro, D(0), D("1.05")))["performance"] == D("70000.00")
    # 125 % -> 70 000 × 1.4 = 98 000 ; 79 % is below the first tier -> 0
    assert names(fee_lines(retro, D(0), D("1.25")))["performance"] == D("98000.00")
    assert names(fee_lines(retro, D(0), D("0.79")))["performance"] == D("0.00")
    # marginal: 105 % -> 70 000 × (0.5 × (1.0 − 0.8) + 1.0 × (1.05 − 1.0)) = 70 000 × 0.15 = 10 500
    assert names(fee_lines(marg, D(0), D("1.05")))["performance"] == D("10500.00")


def test_commission_above_threshold_marginal_vs_retroactive_tiers() -> None:
    tiers = [{"from": 150000, "rate": 0.04}, {"from": 400000, "rate": 0.06}]
    marg = fm(model="base_plus_performance", base=8000, performance={"kind": "commission", "tiers": tiers})
    retro = fm(model="base_plus_performance", base=8000,
               performance={"kind": "commission", "tiers": tiers, "mode": "retroactive"})
    # marginal, net GMV 500 000: 0.04 × (400 000 − 150 000) + 0.06 × (500 000 − 400 000) = 10 000 + 6 000 = 16 000
    assert names(fee_lines(marg, D(500000), None)) == {"base": D("8000.00"), "commission": D("16000.00")}
    # retroactive: the 6 % tier applies to everything above the threshold: 0.06 × 350 000 = 21 000
    assert names(fee_lines(retro, D(500000), None))["commission"] == D("21000.00")
    # below the threshold nothing: 8 000 base only
    assert total_of(fee_lines(marg, D(100000), None)) == D("8000.00")


def test_cap_and_floor_per_period() -> None:
    tiers = [{"from": 150000, "rate": 0.04}, {"from": 400000, "rate": 0.06}]
    fee = fm(model="base_plus_performance", base=8000, performance={"kind": "commission", "tiers": tiers},
             cap=20000, floor=10000)
    # 8 000 + 16 000 = 24 000 > cap 20 000 -> cap line −4 000, total 20 000
    lines = fee_lines(fee, D(500000), None)
    assert names(lines)["cap"] == D("-4000.00") and total_of(lines) == D("20000.00")
    # GMV 160 000: 8 000 + 0.04 × 10 000 = 8 400 < floor 10 000 -> floor line +1 600
    lines = fee_lines(fee, D(160000), None)
    assert names(lines)["floor"] == D("1600.00") and total_of(lines) == D("10000.00")


def test_performance_cap() -> None:
    fee = fm(model="base_plus_performance", base=100, performance={"kind": "linear", "pool": 1000, "cap": 1100})
    # 1 000 × 1.3 = 1 300 capped at 1 100; total 100 + 1 100 = 1 200
    assert total_of(fee_lines(fee, D(0), D("1.3"))) == D("1200.00")


def test_pure_commission_cps_and_rounding_rule() -> None:
    fee = fm(model="commission", performance={"kind": "commission", "tiers": [{"from": 0, "rate": 0.05}]})
    # 5 % of 123 456.78 = 6 172.839 -> 6 172.84
    assert total_of(fee_lines(fee, D("123456.78"), None)) == D("6172.84")
    # ROUND_HALF_UP at the line: 5 % of 100.10 = 5.005 -> 5.01 (banker's rounding would give 5.00)
    assert total_of(fee_lines(fee, D("100.10"), None)) == D("5.01")


def test_exit_clause_after_n_consecutive_periods() -> None:
    clause = ExitClause(below=D("0.8"), periods=3)
    hist = [("2026-08", D("0.9")), ("2026-09", D("0.7")), ("2026-10", D("0.75")), ("2026-11", D("0.79"))]
    st = exit_clause_state(clause, hist)
    assert st["consecutive_below"] == 3 and st["triggered"] is True
    st = exit_clause_state(clause, hist[:3])  # only two periods below so far
    assert st["consecutive_below"] == 2 and st["triggered"] is False
    st = exit_clause_state(clause, hist[1:3] + [("2026-11", D("0.85"))])  # back above: run reset
    assert st["consecutive_below"] == 0 and st["triggered"] is False
    st = exit_clause_state(clause, [("a", D("0.5")), ("b", None), ("c", D("0.5"))])  # missing data breaks the run
    assert st["consecutive_below"] == 1
    assert exit_clause_state(None, hist)["triggered"] is False


def test_model_validation() -> None:
    with pytest.raises(ValidationError):
        fm(model="base_plus_performance", base=1)  # no performance
    with pytest.raises(ValidationError):
        fm(model="commission", performance={"kind": "commission",
                                            "tiers": [{"from": 2, "rate": 0.1}, {"from": 1, "rate": 0.2}]})
    with pytest.raises(ValidationError):
        fm(model="fixed", base=1, cap=5, floor=10)
    with pytest.raises(ValidationError):
        fm(model="fixed", base=1, bonus=3)  # unknown key


CONTRACTS = """
contracts:
  - id: C-T
    stores: [S1, S2]
    excluded_skus: [X-9]
    target: 1000
    targets: {"2026-11": 200}
    fee:
      model: base_plus_performance
      base: 10
      performance: {kind: linear, pool: 100}
    alternatives:
      - {name: flat, model: fixed, base: 120}
    exit_clause: {below: 0.8, periods: 2}
  - id: C-LOW
    stores: [S1, S2]
    target: 1000
    fee: {model: fixed, base: 50}
    exit_clause: {below: 0.8, periods: 2}
"""


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj", contracts=CONTRACTS)
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


def test_settle_statement_from_warehouse(wh) -> None:
    st = settle("C-T", "2026-11", warehouse=wh)
    k = st.kpis
    # GMV Nov (non-cancelled): 100 + 80 + 60 + 40 = 280; refunds dated in Nov: 10; X-9 excluded: 40
    assert k["gmv"] == D("280.00") and k["refunds"] == D("10.00") and k["excluded_gmv"] == D("40.00")
    # net GMV = 280 − 40 − 10 = 230; achievement = 230 / 200 = 1.15
    assert k["net_gmv"] == D("230.00") and k["achievement"] == D("1.150000")
    # fee = 10 + 100 × 1.15 = 125
    assert st.total == D("125.00")
    # exit clause: Oct net GMV (posted) 150 + 160 = 310 vs default target 1 000 = 0.31 (below); Nov 1.15 (not)
    assert st.exit_clause["consecutive_below"] == 0 and not st.exit_clause["triggered"]
    assert st.snapshot_hash == wh.snapshot_hash() and st.snapshot_hash
    d = st.to_dict()
    json.dumps(d)
    assert set(d) >= {"contract", "period", "terms", "kpis", "fee_lines", "total", "exit_clause", "snapshot_hash"}
    assert d["fee_lines"][0] == {"name": "base", "basis": "base fee per period", "rate": None, "amount": "10.00"}
    assert d["total"] == "125.00"


def test_settle_exit_clause_triggered(wh) -> None:
    st = settle("C-LOW", "2026-11", warehouse=wh)
    # Oct: 310 / 1 000 = 0.31; Nov: 280 − 10 = 270 / 1 000 = 0.27 -> 2 periods below 0.8 -> termination right
    assert st.kpis["net_gmv"] == D("270.00")
    assert st.exit_clause["consecutive_below"] == 2 and st.exit_clause["triggered"]


def test_unknown_contract_and_bad_yaml(wh, tmp_path: Path) -> None:
    with pytest.raises(SettlementError):
        settle("NOPE", "2026-11", warehouse=wh)
    bad = tmp_path / "bad.yaml"
    bad.write_text("contracts:\n  - id: X\n    stores: [S1]\n    fee: {model: fixed, base: 1, cap_amount: 3}\n")
    with pytest.raises(ConfigError) as e:
        load_contracts(bad)
    assert "cap_amount" in str(e.value)


def test_compare_models(wh) -> None:
    df = compare_models("C-T", scenarios=[0.6, 1.0, 1.4], target=200, warehouse=wh)
    assert set(df["model"]) >= {"contract", "flat"}
    c = df[df["model"] == "contract"].set_index("achievement")["client_pays"]
    # 10 + 100 × a: 70, 110, 150
    assert c.to_dict() == {0.6: 70.0, 1.0: 110.0, 1.4: 150.0}
    fixed = df[df["model"].str.startswith("fixed")]["client_pays"]
    assert (fixed == 110.0).all()  # the fixed equivalent pays what the contract pays at 100 %
    # provider earns = fee − provider_cost (0 here)
    assert (df["client_pays"] == df["provider_earns"]).all()


def test_demo_contracts_file_is_valid() -> None:
    root = Path(__file__).resolve().parents[1]
    cs = load_contracts(root / "parameters" / "contracts.yaml")
    assert {c.id for c in cs} >= {"C-001", "C-002"}


def test_cli_settle_json(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from kpi_lib.cli import app

    monkeypatch.setenv("KPI_WAREHOUSE", str(wh.path))
    r = CliRunner().invoke(app, ["settle", "--contract", "C-T", "--period", "2026-11", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["contract"] == "C-T" and d["total"] == "125.00"
    assert [ln["name"] for ln in d["fee_lines"]] == ["base", "performance"]
    assert d["kpis"]["net_gmv"] == "230.00" and d["snapshot_hash"] == wh.snapshot_hash()
    r = CliRunner().invoke(app, ["settle", "--period", "2026-11"])
    assert r.exit_code == 0 and "C-LOW" in r.output
    r = CliRunner().invoke(app, ["settle", "--contract", "NOPE", "--period", "2026-11"])
    assert r.exit_code == 1 and "unknown contract" in r.output


def test_contract_start_and_end(wh) -> None:
    from kpi_lib.settlement import Contract, is_active

    c = Contract.model_validate({"id": "Q", "stores": ["S1"], "period": "quarter", "start": "2026-Q4",
                                 "fee": {"model": "fixed", "base": 1}})
    assert is_active(c, "2026-11") and not is_active(c, "2026-09")  # a month maps to its quarter
    with pytest.raises(SettlementError):
        settle("C-T", "2026-11-05", warehouse=wh)  # a day is not a contract period


@settings(max_examples=150, deadline=None)
@given(st.decimals(min_value=0, max_value=10**7, places=2), st.decimals(min_value=0, max_value=10**7, places=2))
def test_commission_properties(g1: D, g2: D) -> None:
    tiers = [{"from": 150000, "rate": 0.04}, {"from": 400000, "rate": 0.06}]
    marg = fm(model="base_plus_performance", base=8000, performance={"kind": "commission", "tiers": tiers},
              floor=10000, cap=40000)
    retro = fm(model="base_plus_performance", base=8000,
               performance={"kind": "commission", "tiers": tiers, "mode": "retroactive"}, floor=10000, cap=40000)
    lo, hi = sorted((g1, g2))
    for m in (marg, retro):
        t_lo, t_hi = total_of(fee_lines(m, lo, None)), total_of(fee_lines(m, hi, None))
        assert D(10000) <= t_lo <= t_hi <= D(40000)  # bounded and monotone in GMV
    # with rising rates, retroactive never pays less than marginal
    assert total_of(fee_lines(retro, g1, None)) >= total_of(fee_lines(marg, g1, None))
