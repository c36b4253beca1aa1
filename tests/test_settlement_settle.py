"""``settlement.settle`` assembled by hand (issue 11, written for the survivors of ``settle`` and ``_terms``):
the exit clause's history from the contract's start, targets that need the warehouse, figures read through
the ``gmv=`` the caller gives, a commission on the net GMV, the terms as stated, the inactive message.

Data: ``tests/cost_fixtures.py`` on the posted basis, S1 + S2, nothing excluded, net of refunds:
2026-09 nothing -> 0; 2026-10 GMV 310 -> net 310; 2026-11 GMV 280 − refunds 10 -> net 270.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal as D
from pathlib import Path

import pytest
from cost_fixtures import contract_project

from kpi_lib import paths, settlement
from kpi_lib.errors import ConfigError, SettlementError, TargetError
from kpi_lib.settlement import Contract, contract_target, gmv_figures, settle

CONTRACTS = """
contracts:
  - id: C-H
    stores: [S1, S2]
    start: "2026-10"
    targets: {"2026-09": 100, "2026-10": 400, "2026-11": 200}
    fee:
      model: base_plus_performance
      base: 10
      performance: {kind: achievement_tiers, pool: 100, tiers: [{from: 0.8, rate: 0.5}, {from: 1.0, rate: 1.0}]}
    exit_clause: {below: 0.9, periods: 3}
  - id: C-STAR
    stores: [S1, S2]
    fee: {model: fixed, base: 5}
    exit_clause: {below: 0.5, periods: 2}
  - id: C-G
    stores: [S1, S2]
    target_growth: 0.1
    fee: {model: fixed, base: 5}
    exit_clause: {below: 0.5, periods: 2}
  - id: C-CPS
    stores: [S1, S2]
    fee: {model: commission, performance: {kind: commission, tiers: [{from: 0, rate: 0.1}]}}
  - id: C-OLD
    stores: [S1]
    end: "2026-10"
    fee: {model: fixed, base: 5}
  - id: C-DOC
    stores: [S1, S2]
    fee: {model: fixed, base: 100}
    tax: {rate: 0.06, label_zh: 增值税, label_en: VAT}
    payment: {terms_days: 10, due_from: issue_date, bank: Example Bank}
"""
# '*': every month with data in the warehouse the target is read with (2026-10 and 2026-11 here)
TARGETS = "targets:\n  - {kpi: gmv, entity_kind: contract, entity_id: C-STAR, period: '*', value: 123}\n"


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    return contract_project(tmp_path, monkeypatch, CONTRACTS, TARGETS)


def test_exit_clause_history_starts_at_the_contract_s_start(wh) -> None:
    st = settle("C-H", "2026-11", wh)
    # November: net 270 / target 200 = 1.35 -> marginal tiers: 100 × (0.5 × (1.0 − 0.8) + 1.0 × (1.35 − 1.0))
    # = 100 × 0.45 = 45 ; total 10 + 45 = 55
    assert (st.kpis["net_gmv"], st.kpis["achievement"], st.total) == (D("270.00"), D("1.350000"), D("55.00"))
    # three periods back would reach 2026-09, before the start (2026-10): only October and November count.
    # October: 310 / 400 = 0.775 (below 0.9); November 1.35 (not): the run is 0
    assert st.exit_clause["history"] == [{"period": "2026-10", "achievement": "0.775000", "below": True},
                                         {"period": "2026-11", "achievement": "1.350000", "below": False}]
    assert (st.exit_clause["consecutive_below"], st.exit_clause["triggered"]) == (0, False)


def test_targets_and_history_read_the_given_warehouse(wh) -> None:
    st = settle("C-STAR", "2026-11", wh)
    # target 123 for every month with data in wh; November 270 / 123 = 2.1951219… -> 2.195122
    assert (st.kpis["target"], st.kpis["target_source"]) == (D("123.00"), "parameters/targets (gmv)")
    assert st.kpis["achievement"] == D("2.195122")
    # October 310 / 123 = 2.5203252… -> 2.520325
    assert [(h["period"], h["achievement"]) for h in st.exit_clause["history"]] == [("2026-10", "2.520325"),
                                                                                    ("2026-11", "2.195122")]


def test_settle_reads_every_figure_through_the_given_gmv(wh) -> None:
    asked: list[str] = []

    def gmv(c, p):
        asked.append(p)
        return gmv_figures(c, p, wh)

    st = settle("C-G", "2027-11", wh, gmv=gmv)
    # target: 2026-11 net 270 × 1.1 = 297; 2027-11 has no sales -> achievement 0 / 297 = 0
    assert (st.kpis["target"], st.kpis["achievement"]) == (D("297.00"), D("0.000000"))
    # history: 2027-10 against 2026-10's 310 × 1.1 = 341 -> 0; both periods below 0.5 -> triggered
    assert [(h["period"], h["achievement"]) for h in st.exit_clause["history"]] == [("2027-10", "0.000000"),
                                                                                    ("2027-11", "0.000000")]
    assert st.exit_clause["triggered"] is True
    # the settled period, its last year (the target), the earlier period and its last year
    assert asked == ["2027-11", "2026-11", "2027-10", "2026-10"]


def test_commission_is_on_the_net_gmv(wh) -> None:
    st = settle("C-CPS", "2026-11", wh)
    # 10 % of net 270 = 27.00; no target needed, so no achievement
    assert [(ln.name, ln.amount) for ln in st.fee_lines] == [("commission", D("27.00"))]
    assert (st.kpis["target"], st.kpis["achievement"], st.kpis["target_source"]) == (None, None, "none")


def test_terms_as_stated_in_the_contract(wh) -> None:
    assert settle("C-H", "2026-11", wh).terms == {
        "stores": ["S1", "S2"], "period": "month", "net_of_refunds": True, "excluded_skus": [],
        # the fee block as written (tier starts under their YAML name "from"), unset fields left out
        "fee": {"labels": {}, "model": "base_plus_performance", "base": "10",
                "performance": {"kind": "achievement_tiers", "pool": "100", "min_achievement": "0",
                                "tiers": [{"from": "0.8", "rate": "0.5"}, {"from": "1.0", "rate": "1.0"}],
                                "mode": "marginal"}},
        "exit_clause": {"below": "0.9", "periods": 3},
    }
    assert settle("C-CPS", "2026-11", wh).terms["exit_clause"] is None


def test_a_period_outside_the_contract_says_when_it_runs(wh) -> None:
    with pytest.raises(SettlementError, match=r"contract C-OLD runs …\.\.2026-10; nothing to settle for 2026-11"):
        settle("C-OLD", "2026-11", wh)
    with pytest.raises(SettlementError, match=r"contract C-H runs 2026-10\.\.…; nothing to settle for 2026-09"):
        settle("C-H", "2026-09", wh)


def test_tax_and_payment_terms_as_the_statement_states_them(wh) -> None:
    st = settle("C-DOC", "2026-11", wh, issued=dt.date(2026, 12, 5))
    # 100.00 net of 6 % VAT: tax 6.00, total due 106.00
    assert st.tax == {"rate": "0.06", "fees_are": "net", "label_zh": "增值税", "label_en": "VAT", "amount": "6.00"}
    assert (st.total, st.total_due) == (D("100.00"), D("106.00"))
    # due 10 days from the issue date (5 Dec) = 15 Dec; no payment reference is set, so none is printed
    assert st.payment == {"terms_days": 10, "due_from": "issue_date", "bank": "Example Bank", "bank_en": None,
                          "account_name": None, "account_no": None, "swift": None, "due_date": "2026-12-15",
                          "reference": None}


def test_the_issue_date_is_today_in_utc_whatever_the_machine_s_zone(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    # UTC−12 and UTC+14: at any hour one of them is on another calendar day than UTC
    try:
        for zone in ("Etc/GMT+12", "Etc/GMT-14"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            before = dt.datetime.now(dt.UTC).date()
            st = settle("C-DOC", "2026-11", wh)
            assert st.issued in {before.isoformat(), dt.datetime.now(dt.UTC).date().isoformat()}, zone
    finally:
        monkeypatch.undo()
        time.tzset()


def test_an_unusable_target_file_falls_back_to_the_contract_s_own_rule(wh, monkeypatch: pytest.MonkeyPatch) -> None:
    """A target file naming an unknown KPI is a broken parameter file: a ConfigError naming the file and the target,
    for a contract with its own rule too (it must not silently drop every file target; ninth session). Targets that
    fail otherwise (a TargetError from target_for): a contract with its own target or growth rule uses it; one
    without any rule cannot be settled, and says why."""
    bad = paths.parameters_dir() / "targets" / "t.yaml"
    bad.write_text("targets:\n  - {kpi: nope, entity_kind: contract, entity_id: C-X, period: '2026-11', value: 1}\n",
                   encoding="utf-8")

    def contract(**kw) -> Contract:
        return Contract.model_validate({"id": "C-X", "stores": ["S1", "S2"], "fee": {"model": "fixed", "base": 1},
                                        **kw})

    with pytest.raises(ConfigError, match=r"t.yaml: targets\[0\]: unknown KPI 'nope'"):
        contract_target(contract(target=900), "2026-11", wh)
    bad.unlink()

    def unusable(*a, **k):
        raise TargetError("no usable target")

    monkeypatch.setattr(settlement, "target_for", unusable)
    assert contract_target(contract(target=900), "2026-11", wh) == (D("900.00"), "contract target")
    # growth: 2027-11 <- 2026-11 net 270 × 1.1 = 297
    assert contract_target(contract(target_growth=0.1), "2027-11", wh) == (D("297.00"),
                                                                            "2026-11 net GMV × (1 + 0.1)")
    with pytest.raises(SettlementError, match=r"contract C-X: no target in contracts.yaml and targets failed: "
                                              r"no usable target"):
        contract_target(contract(), "2026-11", wh)
