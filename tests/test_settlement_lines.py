"""Fee lines, exit clause, achievement, contract periods and scenarios at their edges (issue 11, written for
the survivors of the whole-module mutation run): amounts exactly at a tier start, a minimum, a cap or a
floor; which lines a model has; each line's rate and the basis the statement prints; rounding half-up.

Every number is worked by hand in the comments. No warehouse: these are the pure fee rules.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import make_project

from kpi_lib.errors import SettlementError
from kpi_lib.settlement import (
    Contract,
    ExitClause,
    FeeLine,
    FeeModel,
    Performance,
    Tier,
    achievement,
    compare_scenarios,
    contract_period,
    exit_clause_state,
    fee_lines,
    get_contract,
    money,
    performance_line,
    tier_amount,
    total_of,
)


def perf(**kw) -> Performance:
    return Performance.model_validate(kw)


def fm(**kw) -> FeeModel:
    return FeeModel.model_validate(kw)


def names(lines: list[FeeLine]) -> list[tuple[str, D]]:
    return [(ln.name, ln.amount) for ln in lines]


# ------------------------------------------------------------------------------------------ money


def test_money_is_half_up_cents_and_never_nan() -> None:
    assert str(money(None)) == "0.00"  # nothing to pay is 0.00, not 0 or None
    assert str(money(float("nan"))) == "0.00"  # a statement line is always a number
    assert money(2.675) == D("2.68")  # from the shortest repr "2.675" (the binary float is 2.67499…)
    assert money(D("1.005")) == D("1.01") and money(D("-1.005")) == D("-1.01")  # half away from zero
    assert str(money(7)) == "7.00"


# ------------------------------------------------------------------------------------- tier_amount


def test_tier_amount_exactly_at_a_tier_start() -> None:
    tiers = [Tier.model_validate({"from": 1000, "rate": "0.05"}), Tier.model_validate({"from": 2000, "rate": "0.08"})]
    # retroactive at exactly 2 000: the 8 % tier is reached -> 0.08 × (2 000 − 1 000) = 80
    assert tier_amount(D(2000), tiers, "retroactive") == D("80.00")
    # marginal at 2 000: 0.05 × (2 000 − 1 000) = 50, nothing inside the second band yet
    assert tier_amount(D(2000), tiers, "marginal") == D("50.00")
    # at the threshold itself nothing is earned either way
    assert tier_amount(D(1000), tiers, "retroactive") == 0 and tier_amount(D(1000), tiers, "marginal") == 0
    assert tier_amount(D(5000), [], "marginal") == 0


# ------------------------------------------------------------------------------------ performance_line


def test_commission_line_rate_and_basis() -> None:
    one = perf(kind="commission", tiers=[{"from": 0, "rate": "0.05"}])
    # one tier: 5 % of 1 000 = 50, and the line shows that rate
    assert performance_line(one, D("1000.00"), None) == FeeLine(
        "commission", "net GMV 1000.00 × tiers [≥0: 0.05] (marginal)", D("0.05"), D("50.00"))
    two = perf(kind="commission", tiers=[{"from": 1000, "rate": "0.05"}, {"from": 2000, "rate": "0.08"}])
    # two tiers, marginal, 2 500: 0.05 × 1 000 + 0.08 × 500 = 50 + 40 = 90; no single rate to show
    assert performance_line(two, D("2500.00"), None) == FeeLine(
        "commission", "net GMV 2500.00 × tiers [≥1000: 0.05, ≥2000: 0.08] (marginal)", None, D("90.00"))


def test_linear_line_at_the_minimum_with_a_zero_pool_and_without_target() -> None:
    p = perf(kind="linear", pool=1000, min_achievement="0.8")
    # exactly at the minimum counts: 1 000 × 0.8 = 800, the rate shown is the achievement counted
    assert performance_line(p, D(0), D("0.8")) == FeeLine("performance", "pool 1000 × achievement 0.8", D("0.8"),
                                                          D("800.00"))
    # a pool of 0 pays nothing at any achievement
    assert performance_line(perf(kind="linear", pool=0), D(0), D("1.2")).amount == D("0.00")
    with pytest.raises(SettlementError, match="achievement: give the contract a target"):
        performance_line(p, D("100.00"), None)


def test_achievement_tiers_line_at_a_tier_start() -> None:
    tiers = [{"from": "0.8", "rate": "0.5"}, {"from": "1.0", "rate": "1.0"}]
    retro = perf(kind="achievement_tiers", pool=1000, mode="retroactive", tiers=tiers)
    # exactly 100 %: the 100 % tier is reached -> the whole pool × 1.0 = 1 000, rate 1.0
    assert performance_line(retro, D(0), D("1.0")) == FeeLine(
        "performance", "pool 1000, achievement 1.0, tiers [≥0.8: 0.5, ≥1.0: 1.0] (retroactive)", D("1.0"),
        D("1000.00"))
    marg = perf(kind="achievement_tiers", pool=1000, tiers=tiers)
    # marginal, 110 %: 1 000 × (0.5 × (1.0 − 0.8) + 1.0 × (1.1 − 1.0)) = 1 000 × 0.2 = 200; no single rate
    assert performance_line(marg, D(0), D("1.1")) == FeeLine(
        "performance", "pool 1000, achievement 1.1, tiers [≥0.8: 0.5, ≥1.0: 1.0] (marginal)", None, D("200.00"))


def test_performance_cap_keeps_the_line_s_name_and_rate() -> None:
    p = perf(kind="linear", pool=1000, cap=1100)
    # 1 000 × 1.3 = 1 300 -> capped at 1 100; the line is still the performance line at rate 1.3
    assert performance_line(p, D(0), D("1.3")) == FeeLine(
        "performance", "pool 1000 × achievement 1.3, capped at 1100", D("1.3"), D("1100.00"))
    # exactly at the cap: 1 000 × 1.1 = 1 100 is not capped
    assert performance_line(p, D(0), D("1.1")) == FeeLine("performance", "pool 1000 × achievement 1.1", D("1.1"),
                                                          D("1100.00"))


# -------------------------------------------------------------------------------------------- fee_lines


def test_which_lines_a_model_has() -> None:
    assert fee_lines(fm(model="fixed", base=5000), D("1.00"), None) == [
        FeeLine("fixed", "fixed fee per period", None, D("5000.00"))]
    # base + performance always shows its base line, even a base of 0
    bp = fm(model="base_plus_performance", base=0, performance={"kind": "linear", "pool": 100})
    assert fee_lines(bp, D(0), D("0.5")) == [FeeLine("base", "base fee per period", None, D("0.00")),
                                             FeeLine("performance", "pool 100 × achievement 0.5", D("0.5"), D("50.00"))]
    cps = {"kind": "commission", "tiers": [{"from": 0, "rate": "0.1"}]}
    # pure commission: no base line when the base is 0 ...
    assert names(fee_lines(fm(model="commission", performance=cps), D(100), None)) == [("commission", D("10.00"))]
    # ... and a base line when it has one (1.00: 10 % of 100 = 10.00 beside it)
    assert names(fee_lines(fm(model="commission", base=1, performance=cps), D(100), None)) == [
        ("base", D("1.00")), ("commission", D("10.00"))]


def test_cap_and_floor_exactly_reached_add_no_line() -> None:
    assert names(fee_lines(fm(model="fixed", base=100, cap=100), D(0), None)) == [("fixed", D("100.00"))]
    assert names(fee_lines(fm(model="fixed", base=100, floor=100), D(0), None)) == [("fixed", D("100.00"))]
    # 150 capped at 100: a cap line of −50 ; 50 raised to the floor 100: a floor line of +50
    assert fee_lines(fm(model="fixed", base=150, cap=100), D(0), None)[1] == FeeLine(
        "cap", "total 150.00 capped at 100", None, D("-50.00"))
    assert fee_lines(fm(model="fixed", base=50, floor=100), D(0), None)[1] == FeeLine(
        "floor", "total 50.00 raised to floor 100", None, D("50.00"))


def test_total_of_no_line_is_zero_cents() -> None:
    assert str(total_of([])) == "0.00"


# ------------------------------------------------------------------------------------- exit clause


def test_exit_clause_state_in_full() -> None:
    assert exit_clause_state(None, [("2026-11", D("0.1"))]) == {"defined": False, "triggered": False}
    clause = ExitClause(below=D("0.8"), periods=2)
    # going back from November: 0.79 is below, 0.8 exactly is not (the run stops there) -> 1, not triggered
    hist = [("2026-08", D("0.7")), ("2026-09", None), ("2026-10", D("0.8")), ("2026-11", D("0.79"))]
    assert exit_clause_state(clause, hist) == {
        "defined": True, "below": "0.8", "periods": 2, "consecutive_below": 1, "triggered": False,
        "history": [{"period": "2026-08", "achievement": "0.7", "below": True},
                    {"period": "2026-09", "achievement": None, "below": False},
                    {"period": "2026-10", "achievement": "0.8", "below": False},
                    {"period": "2026-11", "achievement": "0.79", "below": True}],
    }


# ------------------------------------------------------------------------------------- achievement


def test_achievement_rounding_and_targets_of_zero_and_one() -> None:
    assert achievement(D("230.00"), D("200.00")) == D("1.150000")
    # 1.00 / 2 000 000 = 0.0000005 -> 0.000001 half-up (half-even would give 0.000000)
    assert achievement(D("1.00"), D("2000000.00")) == D("0.000001")
    assert achievement(D("100.00"), D(0)) is None and achievement(D("100.00"), None) is None
    assert achievement(D("50.00"), D(1)) == D("50.000000")  # a target of 1 is a target


# ---------------------------------------------------------------------------------- contract_period


def test_contract_period_fits_a_period_or_says_why_not() -> None:
    month = Contract.model_validate({"id": "M", "stores": ["S1"], "fee": {"model": "fixed"}})
    quarter = month.model_copy(update={"id": "Q", "period": "quarter"})
    assert contract_period(month, "2026-11") == "2026-11"
    assert contract_period(quarter, "2026-11") == "2026-Q4" and contract_period(quarter, "2026-Q4") == "2026-Q4"
    with pytest.raises(SettlementError, match=r"contract M settles per month; period '2026-Q4' does not fit"):
        contract_period(month, "2026-Q4")
    with pytest.raises(SettlementError, match="settles per quarter"):
        contract_period(quarter, "2026-11-05")


# ------------------------------------------------------------------------------------- get_contract


def test_get_contract_reads_the_given_file_and_names_the_known_ids(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KPI_ROOT", str(make_project(tmp_path / "proj", contracts=(
        "contracts:\n  - {id: C-ROOT, stores: [S1], fee: {model: fixed, base: 1}}\n"))))
    other = tmp_path / "other.yaml"
    other.write_text("contracts:\n  - {id: C-A, stores: [S1], fee: {model: fixed, base: 2}}\n"
                     "  - {id: C-B, stores: [S2], fee: {model: fixed, base: 3}}\n", encoding="utf-8")
    assert get_contract("C-B", other).fee.base == D(3)
    with pytest.raises(SettlementError, match=r"unknown contract 'C-Z'; known: C-A, C-B \(parameters/contracts.yaml\)"):
        get_contract("C-Z", other)
    empty = tmp_path / "empty.yaml"
    empty.write_text("contracts: []\n", encoding="utf-8")
    with pytest.raises(SettlementError, match=r"known: none \(parameters/contracts.yaml\)"):
        get_contract("C-ROOT", empty)


# ---------------------------------------------------------------------------------- compare_scenarios


def test_compare_scenarios_of_one_model_without_provider_cost() -> None:
    df = compare_scenarios(fm(name="flat", model="fixed", base=100), 1000, scenarios=(0.5, 1.0))
    # 100 at any GMV: 500 -> 20 % of GMV, 1 000 -> 10 %; no provider cost, so the provider earns the fee
    expected = pd.DataFrame([("flat", 0.5, 500.0, 100.0, 100.0, 0.2), ("flat", 1.0, 1000.0, 100.0, 100.0, 0.1)],
                            columns=["model", "achievement", "net_gmv", "client_pays", "provider_earns",
                                     "fee_pct_of_gmv"])
    pd.testing.assert_frame_equal(df, expected)


def test_compare_scenarios_rounds_the_achievement_half_up() -> None:
    # 1.0000005 -> 1.000001 (six decimals, half-up like statements; half-even would give 1.000000)
    df = compare_scenarios([fm(name="f", model="fixed", base=1)], 1000, scenarios=(1.0000005,))
    assert df["achievement"].tolist() == [1.000001]
