"""Settlement figures worked by hand, written for mutation survivors (issue 11): ``gmv_figures``
(exclusions, refunds, store filter, an empty month), ``contract_target`` (every source in its order of
precedence, the growth rule for months and quarters, broken target files) and ``Statement.to_dict``.

Data: ``tests/cost_fixtures.py`` on the posted basis (Amazon store S1: settlement posted date; S2:
ship date). Non-cancelled GMV per store × SKU × month:

| month | S1 A-1 | S1 B-1 | S2 A-1 | S2 B-1 | S2 X-9 | total |
|---|---|---|---|---|---|---|
| 2026-10 | 150 (O7, posted 10-12) | | | 160 (O8, shipped 10-13) | | 310 |
| 2026-11 | 100 (O1, posted 11-08) | 80 (O6, posted 11-03) | 60 (O4) | | 40 (O5) | 280 |
| 2026-12 | | 80 (O2, posted 12-01) | | | | 80 |

Refunds by date: S1 A-1 10 on 2026-11-15; S2 A-1 30 on 2026-12-02 (S2 has no sale in December).
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import REFERENCE, build_tables, make_project, make_warehouse

from kpi_lib.errors import ConfigError
from kpi_lib.settlement import Contract, FeeLine, Statement, contract_target, gmv_figures, settle, settle_all
from kpi_lib.warehouse import Warehouse

CONTRACTS = """
contracts:
  - id: C-T
    name: Test contract
    client: Client Co
    provider: Provider Co
    currency: USD
    stores: [S1, S2]
    excluded_skus: [X-9]
    target: 1000
    targets: {"2026-11": 200}
    fee:
      model: base_plus_performance
      base: 10
      performance: {kind: linear, pool: 100}
"""


@pytest.fixture()
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "proj", contracts=CONTRACTS)
    monkeypatch.setenv("KPI_ROOT", str(root))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return root


@pytest.fixture()
def wh(proj: Path, tmp_path: Path):
    return make_warehouse(tmp_path / "wh")


def contract(**kw) -> Contract:
    base = {"id": "C-X", "stores": ["S1", "S2"], "fee": {"model": "fixed", "base": 1}}
    base.update(kw)
    return Contract.model_validate(base)


def write_targets(proj: Path, text: str) -> None:
    (proj / "parameters" / "targets" / "t.yaml").write_text(text, encoding="utf-8")


# ------------------------------------------------------------------------------------ gmv_figures


def test_gmv_figures_exclusions_and_refunds(wh) -> None:
    # X-9 excluded: gmv 280, refunds 10, excluded 40 / 0 -> net = 280 − 40 − (10 − 0) = 230
    f = gmv_figures(contract(excluded_skus=["X-9"]), "2026-11", wh)
    assert f == {"gmv": D("280.00"), "refunds": D("10.00"), "excluded_gmv": D("40.00"),
                 "excluded_refunds": D("0.00"), "net_gmv": D("230.00")}
    assert all(isinstance(v, D) and str(v).endswith(".00") for v in f.values())
    # A-1 excluded: its GMV 100 + 60 = 160 and its refund 10 leave net = 280 − 160 − (10 − 10) = 120
    f = gmv_figures(contract(excluded_skus=["A-1"]), "2026-11", wh)
    assert (f["excluded_gmv"], f["excluded_refunds"], f["net_gmv"]) == (D("160.00"), D("10.00"), D("120.00"))
    # two SKUs excluded: 160 + 40 = 200 -> net = 80 − 0 = 80
    f = gmv_figures(contract(excluded_skus=["A-1", "X-9"]), "2026-11", wh)
    assert (f["excluded_gmv"], f["net_gmv"]) == (D("200.00"), D("80.00"))


def test_gmv_figures_gross_of_refunds_and_store_filter(wh) -> None:
    # net_of_refunds false: refunds stay in the figures but not in net: 280 − 40 = 240
    f = gmv_figures(contract(excluded_skus=["X-9"], net_of_refunds=False), "2026-11", wh)
    assert (f["refunds"], f["net_gmv"]) == (D("10.00"), D("240.00"))
    f = gmv_figures(contract(excluded_skus=["A-1"], net_of_refunds=False), "2026-11", wh)
    assert f["net_gmv"] == D("120.00")  # 280 − 160; the excluded refund does not enter either
    # one store: S2 November = 60 + 40 = 100, its refund is dated December
    assert gmv_figures(contract(stores=["S2"]), "2026-11", wh)["net_gmv"] == D("100.00")
    assert gmv_figures(contract(stores=["S1"]), "2026-10", wh)["gmv"] == D("150.00")  # O6 posts in November
    # S2 December: no sale, a refund of 30 -> net −30 (a refund is not dropped for lack of sales)
    f = gmv_figures(contract(stores=["S2"]), "2026-12", wh)
    assert f == {"gmv": D("0.00"), "refunds": D("30.00"), "excluded_gmv": D("0.00"),
                 "excluded_refunds": D("0.00"), "net_gmv": D("-30.00")}


def test_gmv_figures_empty_month_is_zero_money(wh) -> None:
    f = gmv_figures(contract(excluded_skus=["X-9"]), "2025-03", wh)
    assert f == dict.fromkeys(("gmv", "refunds", "excluded_gmv", "excluded_refunds", "net_gmv"), D("0.00"))
    assert all(str(v) == "0.00" for v in f.values())


# ------------------------------------------------------------------------------------ contract_target


def test_contract_target_precedence(proj, wh) -> None:
    write_targets(proj, "targets:\n"
                  "  - {kpi: gmv, entity_kind: contract, entity_id: C-X, period: '2026-11', value: 300}\n"
                  "  - {kpi: net_sales, entity_kind: contract, entity_id: C-X, period: '2026-11', value: 333}\n"
                  "  - {kpi: net_sales, entity_kind: contract, entity_id: C-X, period: '2026-12', value: 444.444}\n"
                  "  - {kpi: gmv, entity_kind: contract, entity_id: C-STAR, period: '*', value: 123}\n")
    c = contract(target=1000, target_growth=0.5, targets={"2026-10": 250.005})
    # 1. the contract's own per-period target (rounded to cents, half up)
    assert contract_target(c, "2026-10", wh) == (D("250.01"), "contract targets")
    # 2. parameters/targets, gmv before net_sales
    assert contract_target(c, "2026-11", wh) == (D("300.00"), "parameters/targets (gmv)")
    assert contract_target(c, "2026-12", wh) == (D("444.44"), "parameters/targets (net_sales)")
    # 3. growth: 2027-10 <- 2026-10 net GMV 310 × 1.5 = 465
    assert contract_target(c, "2027-10", wh) == (D("465.00"), "2026-10 net GMV × (1 + 0.5)")
    # 4. last year had no sales (2025-09): the default target
    assert contract_target(c, "2026-09", wh) == (D("1000.00"), "contract target")
    # 5. nothing at all
    assert contract_target(contract(), "2026-09", wh) == (None, "none")
    # '*' = every month with data in *this* warehouse (orders run 2026-10..2026-11)
    assert contract_target(contract(id="C-STAR"), "2026-11", wh) == (D("123.00"), "parameters/targets (gmv)")
    assert contract_target(contract(id="C-STAR"), "2026-12", wh) == (None, "none")
    # a target file for another contract is not this one's
    assert contract_target(contract(id="C-Y", target=7), "2026-11", wh) == (D("7.00"), "contract target")


def test_contract_target_growth_month_and_quarter(wh) -> None:
    # 2027-11 <- 2026-11: net = 280 − 10 = 270 (nothing excluded) × 1.1 = 297
    c = contract(target_growth=0.1)
    assert contract_target(c, "2027-11", wh) == (D("297.00"), "2026-11 net GMV × (1 + 0.1)")
    # with X-9 excluded: 230 × 1.1 = 253; a negative growth: 230 × 0.8 = 184
    assert contract_target(contract(target_growth=0.1, excluded_skus=["X-9"]), "2027-11", wh)[0] == D("253.00")
    assert contract_target(contract(target_growth=-0.2, excluded_skus=["X-9"]), "2027-11", wh)[0] == D("184.00")
    # quarterly: 2027-Q4 <- 2026-Q4 (four quarters back, not twelve):
    # GMV 310 + 280 + 80 = 670, refunds 10 + 30 = 40 -> net 630 × 1.1 = 693
    q = contract(period="quarter", target_growth=0.1)
    assert contract_target(q, "2027-Q4", wh) == (D("693.00"), "2026-Q4 net GMV × (1 + 0.1)")
    # last year's net GMV of zero or below is no base: S2 in 2026-12 nets −30 -> fall through
    neg = contract(stores=["S2"], target_growth=0.1)
    assert contract_target(neg, "2027-12", wh) == (None, "none")
    assert contract_target(contract(stores=["S2"], target_growth=0.1, target=5), "2027-12", wh) == (D("5.00"),
                                                                                                   "contract target")


def test_contract_target_broken_target_files(proj, wh) -> None:
    """A broken target file is a user error that names the file, whatever the contract's own rule:
    it is never passed over silently (issue 12: configuration errors are not swallowed)."""
    write_targets(proj, "targets: [{kpi: gmv, entity_kind: contract, period: '2026-11', value: 1, bogus: 2}]\n")
    for c in (contract(target=900), contract(target_growth=0.1), contract()):
        with pytest.raises(ConfigError, match=r"t\.yaml"):
            contract_target(c, "2026-11", wh)
    # a per-period target in contracts.yaml comes first: the target files are not read at all
    assert contract_target(contract(targets={"2026-11": 5}), "2026-11", wh) == (D("5.00"), "contract targets")


# ------------------------------------------------------------------------------------ Statement.to_dict


def test_statement_to_dict_every_field() -> None:
    st = Statement(
        contract_id="C-1", period="2026-11", start="2026-11-01", end="2026-11-30", terms={"stores": ["S1"]},
        kpis={"net_gmv": D("12.50"), "achievement": None, "target_source": "contract target", "n": 3},
        fee_lines=[FeeLine("base", "base fee per period", None, D("10.00")),
                   FeeLine("performance", "linear", D("0.125000"), D("2.50"))],
        total=D("12.50"), exit_clause={"triggered": False}, snapshot_hash="abc", currency="USD", client="Cl",
        provider="Pr", notes=["n1"],
    )
    d = st.to_dict()
    assert d == {
        "contract": "C-1", "period": "2026-11", "start": "2026-11-01", "end": "2026-11-30", "currency": "USD",
        "client": "Cl", "provider": "Pr", "terms": {"stores": ["S1"]},
        "kpis": {"net_gmv": "12.50", "achievement": None, "target_source": "contract target", "n": 3},
        "fee_lines": [{"name": "base", "basis": "base fee per period", "rate": None, "amount": "10.00"},
                      {"name": "performance", "basis": "linear", "rate": "0.125000", "amount": "2.50"}],
        "total": "12.50", "exit_clause": {"triggered": False}, "snapshot_hash": "abc", "notes": ["n1"],
        # the document fields (no tax, no payment terms: total due = the fee total)
        "reference": "", "issued": "", "parties": {}, "subtotal": "12.50", "tax": None, "total_due": "12.50",
        "payment": None,
    }
    assert list(d) == ["contract", "period", "start", "end", "currency", "client", "provider", "terms", "kpis",
                       "fee_lines", "total", "exit_clause", "snapshot_hash", "notes", "reference", "issued",
                       "parties", "subtotal", "tax", "total_due", "payment"]
    d["notes"].append("x")
    assert st.notes == ["n1"]  # a copy, not the statement's own list
    json.dumps(d)


def test_settled_statement_to_dict(wh) -> None:
    d = settle("C-T", "2026-11", warehouse=wh).to_dict()
    # net 230 / 200 = 1.15 -> fee 10 + 100 × 1.15 = 125
    assert (d["contract"], d["period"], d["start"], d["end"]) == ("C-T", "2026-11", "2026-11-01", "2026-11-30")
    assert (d["currency"], d["client"], d["provider"], d["notes"]) == ("USD", "Client Co", "Provider Co", [])
    assert d["kpis"] == {"gmv": "280.00", "refunds": "10.00", "excluded_gmv": "40.00", "excluded_refunds": "0.00",
                         "net_gmv": "230.00", "target": "200.00", "target_source": "contract targets",
                         "achievement": "1.150000", "basis": "posted"}
    assert d["terms"]["stores"] == ["S1", "S2"] and d["terms"]["excluded_skus"] == ["X-9"]
    assert d["terms"]["period"] == "month" and d["terms"]["net_of_refunds"] is True
    assert d["terms"]["exit_clause"] is None
    assert d["total"] == "125.00" and d["snapshot_hash"] == wh.snapshot_hash()
    assert [ln["amount"] for ln in d["fee_lines"]] == ["10.00", "115.00"]


def test_settle_all_runs_the_active_contracts(proj, wh) -> None:
    (proj / "parameters" / "contracts.yaml").write_text(CONTRACTS + """
  - id: C-OLD
    stores: [S1]
    end: "2026-10"
    fee: {model: fixed, base: 5}
  - id: C-FIX
    stores: [S2]
    fee: {model: fixed, base: 7}
""", encoding="utf-8")
    sts = settle_all("2026-11", warehouse=wh)
    # C-OLD ended in October: not settled; the others in file order
    assert [(s.contract_id, s.period, str(s.total)) for s in sts] == [("C-T", "2026-11", "125.00"),
                                                                       ("C-FIX", "2026-11", "7.00")]
    assert [s.contract_id for s in settle_all("2026-10", warehouse=wh)] == ["C-T", "C-OLD", "C-FIX"]
    # no period: the last month with data (orders run to 2026-11)
    assert [s.period for s in settle_all(warehouse=wh)] == ["2026-11", "2026-11"]


def test_contract_target_growth_on_a_small_positive_base(proj, tmp_path: Path) -> None:
    # any positive last-year net GMV is a base, even 0.50: S2 sold 0.50 of X-9 in 2026-09
    t = build_tables()
    o = t["orders"]
    extra = o[o["order_id"] == "O5"].assign(order_id="O9", order_date=pd.Timestamp("2026-09-15"),
                                            order_ts=pd.Timestamp("2026-09-15"), ship_date=pd.Timestamp("2026-09-16"),
                                            promised_ship_date=pd.Timestamp("2026-09-16"), quantity=1,
                                            gross_sales=0.5, gross_sales_rc=0.5)
    t["orders"] = pd.concat([o, extra], ignore_index=True)
    wh = Warehouse(tmp_path / "small")
    with wh.transaction("small base") as w:
        for name, df in t.items():
            w.write(name, df, partition_by=() if name in REFERENCE else None)
    c = contract(stores=["S2"], target_growth=1.0)
    assert gmv_figures(c, "2026-09", wh)["net_gmv"] == D("0.50")
    # 0.50 × (1 + 1.0) = 1.00
    assert contract_target(c, "2027-09", wh) == (D("1.00"), "2026-09 net GMV × (1 + 1.0)")
