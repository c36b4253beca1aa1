"""The settlement statement as a document a client signs (issue 14, item 5): parties, contract reference,
tax/VAT, total due, payment terms and due date, the reproduce line and the sign-off block.

Every number is worked by hand in the comments; the page is checked for the statement's own figures.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal as D
from pathlib import Path

import pytest
from cost_fixtures import make_project, make_warehouse
from pydantic import ValidationError
from typer.testing import CliRunner

from kpi_lib import present as p
from kpi_lib.cli import app
from kpi_lib.errors import ConfigError
from kpi_lib.settlement import due_date, load_contracts, settle, tax_and_total
from kpi_lib.spec.contracts import Contract, Payment, Tax

# C-T: fee 10 + linear pool 100 × achievement 1.15 = 125.00 (tests/test_settlement.py works it out)
BASE = """
  - id: {id}
    name: {name}
    client: Client Co
    provider: Provider Co
    stores: [S1, S2]
    excluded_skus: [X-9]
    targets: {{"2026-11": 200}}
    fee:
      model: base_plus_performance
      base: 10
      performance: {{kind: linear, pool: 100}}
"""
DOCUMENT = """    reference: PC-2026-009
    provider_party:
      legal_name: 上海示例咨询有限公司
      legal_name_en: Shanghai Example Consulting Co., Ltd.
      address: 上海市徐汇区示例路 1 号
      address_en: 1 Example Road, Xuhui District, Shanghai
      tax_id: 91310104MA1FL0000X
      signatory: 李明（总经理）
      signatory_en: Li Ming (General Manager)
    client_party:
      legal_name: Client Company Pte. Ltd.
      address: 1 Client Street, Singapore 000001
    tax: {{rate: 0.06, fees_are: {fees_are}}}
    payment:
      terms_days: 30
      due_from: period_end
      bank: 示例银行上海分行
      bank_en: Example Bank, Shanghai Branch
      account_name: 上海示例咨询有限公司
      account_no: "6222 0000 1111"
      reference: "{{contract}}/{{period}}"
"""
CONTRACTS = ("contracts:\n" + BASE.format(id="C-NET", name="Net VAT") + DOCUMENT.format(fees_are="net")
             + BASE.format(id="C-GROSS", name="Gross VAT") + DOCUMENT.format(fees_are="gross")
             + BASE.format(id="C-OLD", name="Old style"))
ISSUED = dt.date(2026, 12, 5)


@pytest.fixture()
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    make_project(tmp_path / "proj", contracts=CONTRACTS)
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return make_warehouse(tmp_path / "wh")


# ---- the arithmetic -------------------------------------------------------------------------------
def test_tax_net_is_added_and_rounded_half_up() -> None:
    net = Tax(rate=D("0.06"))
    # 125.00 × 6 % = 7.50 ; total 132.50
    assert tax_and_total(D("125.00"), net) == (D("7.50"), D("132.50"))
    # 10 333.33 × 6 % = 619.9998 -> 620.00 ; total 10 953.33
    assert tax_and_total(D("10333.33"), net) == (D("620.00"), D("10953.33"))
    # 0.50 × 5 % = 0.025 -> 0.03 half-up (banker's rounding would give 0.02)
    assert tax_and_total(D("0.50"), Tax(rate=D("0.05"))) == (D("0.03"), D("0.53"))


def test_tax_gross_is_included_and_no_tax_means_no_line() -> None:
    # 106.00 including 6 %: 106 × 0.06 / 1.06 = 6.00 ; the total due stays 106.00
    assert tax_and_total(D("106.00"), Tax(rate=D("0.06"), fees_are="gross")) == (D("6.00"), D("106.00"))
    # 100.00 including 13 %: 100 × 0.13 / 1.13 = 11.5044… -> 11.50
    assert tax_and_total(D("100.00"), Tax(rate=D("0.13"), fees_are="gross")) == (D("11.50"), D("100.00"))
    assert tax_and_total(D("125.00"), None) == (None, D("125.00"))


def test_due_date_counts_from_period_end_or_issue_date() -> None:
    end, issued = dt.date(2026, 10, 31), dt.date(2026, 11, 6)
    assert due_date(Payment(terms_days=30), end, issued) == dt.date(2026, 11, 30)  # 31 Oct + 30 days
    assert due_date(Payment(terms_days=14, due_from="issue_date"), end, issued) == dt.date(2026, 11, 20)
    assert due_date(Payment(terms_days=30), dt.date(2026, 12, 31), issued) == dt.date(2027, 1, 30)  # a quarter end
    assert due_date(Payment(terms_days=0), end, issued) == end
    assert due_date(None, end, issued) is None


def test_document_fields_are_validated() -> None:
    base = {"id": "X", "stores": ["S1"], "fee": {"model": "fixed", "base": 1}}
    with pytest.raises(ValidationError, match="rate"):
        Contract.model_validate({**base, "tax": {"rate": 6}})  # 6 is not a rate: 0.06 is
    with pytest.raises(ValidationError, match="fees_are"):
        Contract.model_validate({**base, "tax": {"rate": 0.06, "fees_are": "included"}})
    with pytest.raises(ValidationError, match=r"\{store\}"):
        Contract.model_validate({**base, "payment": {"terms_days": 30, "reference": "{contract}-{store}"}})
    with pytest.raises(ValidationError, match="terms_days"):
        Contract.model_validate({**base, "payment": {"terms_days": -1}})
    with pytest.raises(ValidationError, match="legal_name"):
        Contract.model_validate({**base, "client_party": {"address": "somewhere"}})


def test_a_bad_document_field_names_file_and_position(tmp_path: Path) -> None:
    bad = tmp_path / "contracts.yaml"
    bad.write_text("contracts:\n  - id: X\n    stores: [S1]\n    fee: {model: fixed, base: 1}\n"
                   "    tax: {rate: 0.06, vat_included: true}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_contracts(bad)
    assert "contracts.yaml" in str(e.value) and "contracts[0].tax" in str(e.value) and "vat_included" in str(e.value)


# ---- the statement ---------------------------------------------------------------------------------
def test_statement_with_net_tax_and_payment_terms(wh) -> None:
    st = settle("C-NET", "2026-11", warehouse=wh, issued=ISSUED)
    assert st.total == D("125.00")
    d = st.to_dict()
    # subtotal 125.00, VAT 6 % = 7.50, total due 132.50; due 30 Nov + 30 days = 30 Dec
    assert (d["subtotal"], d["tax"]["amount"], d["total_due"]) == ("125.00", "7.50", "132.50")
    assert d["tax"]["rate"] == "0.06" and d["tax"]["fees_are"] == "net"
    assert d["payment"]["due_date"] == "2026-12-30" and d["payment"]["terms_days"] == 30
    assert d["payment"]["reference"] == "C-NET/2026-11"  # the placeholders filled in
    assert d["issued"] == "2026-12-05" and d["reference"] == "PC-2026-009"
    assert d["parties"]["provider"]["legal_name"] == "上海示例咨询有限公司"
    assert d["parties"]["client"]["legal_name"] == "Client Company Pte. Ltd."
    json.dumps(d)


def test_statement_with_gross_tax_and_without_document_fields(wh) -> None:
    g = settle("C-GROSS", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    # 125.00 includes 6 %: 125 × 0.06 / 1.06 = 7.0754… -> 7.08 ; total due stays 125.00
    assert (g["subtotal"], g["tax"]["amount"], g["total_due"]) == ("125.00", "7.08", "125.00")
    old = settle("C-OLD", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    assert (old["subtotal"], old["tax"], old["total_due"], old["payment"]) == ("125.00", None, "125.00", None)
    assert old["parties"] == {"provider": None, "client": None} and old["reference"] == ""


def test_issue_date_defaults_to_today() -> None:
    # (no warehouse needed: the default is read when the statement is built; checked through due_date's input)
    today = dt.datetime.now(dt.UTC).date()
    assert due_date(Payment(terms_days=1, due_from="issue_date"), dt.date(2000, 1, 31), today) == today + dt.timedelta(1)


# ---- the page --------------------------------------------------------------------------------------
class Ctx:
    def __init__(self, lang: str, entity_id: str, name: str) -> None:
        self.lang, self.currency, self.fx, self.kind = lang, "CNY", 1.0, "contract"
        self.entity_id, self.name, self.period = entity_id, name, "2026-11"
        self.figures: dict[str, float] = {}

    def record(self, kpi, value, **kw) -> None:
        self.figures[kpi] = value


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _rows(html: str) -> list[list[str]]:
    """The fee table's rows as cell texts (body and foot)."""
    tbl = re.search(r'<table class="kpi-table fee-lines">(.*?)</table>', html, flags=re.DOTALL).group(1)
    return [[_text(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.DOTALL)]
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", tbl, flags=re.DOTALL)]


def test_page_shows_parties_tax_total_due_terms_and_sign_off(wh) -> None:
    st = settle("C-NET", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    for lang, tax_row, total_row in (("zh", ["增值税 6%", "小计 ¥125.00 × 6%，四舍五入到分（价外税）", "¥7.50"],
                                      ["应付合计", "小计 + 增值税", "¥132.50"]),
                                     ("en", ["VAT at 6%", "subtotal ¥125.00 × 6%, rounded to the cent (added to the fee)",
                                             "¥7.50"], ["Total due", "subtotal + VAT", "¥132.50"])):
        ctx = Ctx(lang, "C-NET", "Net VAT")
        html = p.settlement_section(st, ctx)
        rows = _rows(html)
        assert rows[-3][0] == p.t("settlement.subtotal", lang) and rows[-3][2] == "¥125.00"
        assert rows[-2] == tax_row and rows[-1] == total_row
        text = _text(html)
        if lang == "zh":
            assert "上海示例咨询有限公司" in text and "上海市徐汇区示例路 1 号" in text and "李明（总经理）" in text
            assert "结算期末（2026-11-30）后 30 天内" in text and "示例银行上海分行" in text
        else:
            assert "Shanghai Example Consulting Co., Ltd." in text and "1 Example Road" in text
            assert "Li Ming (General Manager)" in text and "within 30 days of the period end (2026-11-30)" in text
            assert "Example Bank, Shanghai Branch" in text and "示例银行" not in text
            # the account name is printed as the bank holds it (the payer must match it), in any language
            assert "Account name 上海示例咨询有限公司" in text
        assert "Client Company Pte. Ltd." in text and "PC-2026-009" in text and "2026-12-30" in text
        assert "C-NET/2026-11" in text and "2026-12-05" in text
        # how to check it: the snapshot, contract and period in words; no command line on a client's page
        assert st["snapshot_hash"] in text and "kpi settle" not in text and "--contract" not in text
        assert re.search(r"合同为 .+（C-NET），结算期为 2026-11。" if lang == "zh" else r"for contract .+ \(C-NET\), period 2026-11\.", text)
        assert html.count('class="sign-party"') == 2 and html.count('class="sign-line"') == 8
        # the figures file gets the statement's own amounts
        assert (ctx.figures["fee_total"], ctx.figures["fee_tax"], ctx.figures["fee_total_due"]) == (125.0, 7.5, 132.5)


def test_gross_tax_reads_as_included(wh) -> None:
    st = settle("C-GROSS", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    rows = _rows(p.settlement_section(st, Ctx("en", "C-GROSS", "Gross VAT")))
    assert rows[-3] == ["Subtotal (including VAT)", "the lines above, added up", "¥125.00"]
    assert rows[-2][0] == "of which VAT at 6% (included in the subtotal)" and rows[-2][2] == "¥7.08"
    assert rows[-1] == ["Total due", "the subtotal", "¥125.00"]


def test_old_contract_renders_without_tax_line_or_payment_block(wh) -> None:
    st = settle("C-OLD", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    for lang in ("zh", "en"):
        html = p.settlement_section(st, Ctx(lang, "C-OLD", "Old style"))
        rows = _rows(html)
        assert [r[0] for r in rows[-2:]] == [p.t("settlement.subtotal", lang), p.t("settlement.total_due", lang)]
        assert rows[-1][2] == "¥125.00" and 'class="tax"' not in html
        text = _text(html)
        assert p.t("settlement.tax_default", lang) not in text and p.t("settlement.due_date", lang) not in text
        assert "Provider Co" in text and "Client Co" in text  # the short names stand in for the legal names
    # the same statement dict without the document keys (a statement written before them) still renders
    legacy = {k: v for k, v in st.items() if k not in ("subtotal", "tax", "total_due", "payment", "parties",
                                                       "reference", "issued")}
    assert _rows(p.settlement_section(legacy, Ctx("en", "C-OLD", "Old style")))[-1] == ["Total due", "the subtotal",
                                                                                          "¥125.00"]


def test_summary_states_tax_total_due_and_due_date(wh) -> None:
    st = settle("C-NET", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    ctx = Ctx("en", "C-NET", "Net VAT")
    text = _text(p.contract_summary(st, ctx))
    assert ("the fee for this period is ¥125.00; with VAT of ¥7.50 the total due is ¥132.50. "
            "Payment is due by 2026-12-30.") in text
    assert ctx.figures["fee_total_due"] == 132.5 and ctx.figures["fee_tax"] == 7.5
    old = settle("C-OLD", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    assert "the fee due for this period is ¥125.00." in _text(p.contract_summary(old, Ctx("en", "C-OLD", "Old style")))


def test_kpi_settle_json_carries_the_document_totals(wh) -> None:
    res = CliRunner().invoke(app, ["settle", "--contract", "C-NET", "--period", "2026-11", "--json",
                                   "--warehouse", str(wh.path), "--issued", "2026-12-05"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert (d["subtotal"], d["tax"]["amount"], d["total_due"]) == ("125.00", "7.50", "132.50")
    assert d["payment"]["due_date"] == "2026-12-30" and d["issued"] == "2026-12-05"
    res = CliRunner().invoke(app, ["settle", "--contract", "C-NET", "--period", "2026-11",
                                   "--warehouse", str(wh.path), "--issued", "2026-12-05"])
    assert res.exit_code == 0, res.output
    assert "total due" in res.output and "132.50" in res.output and "payment due 2026-12-30" in res.output
    bad = CliRunner().invoke(app, ["settle", "--contract", "C-NET", "--period", "2026-11",
                                   "--warehouse", str(wh.path), "--issued", "5.12.2026"])
    assert bad.exit_code != 0 and "YYYY-MM-DD" in bad.output


def test_fee_lines_and_models_carry_the_contract_s_own_names(wh) -> None:
    st = settle("C-OLD", "2026-11", warehouse=wh, issued=ISSUED).to_dict()
    st["terms"]["fee"]["labels"] = {"base": {"label_zh": "月度服务费", "label_en": "Monthly retainer"},
                                    "performance": {"label_zh": "达成奖励", "label_en": "Achievement bonus"}}
    assert [r[0] for r in _rows(p.settlement_section(st, Ctx("zh", "C-OLD", "Old style")))[1:3]] == ["月度服务费", "达成奖励"]
    assert [r[0] for r in _rows(p.settlement_section(st, Ctx("en", "C-OLD", "Old style")))[1:3]] == [
        "Monthly retainer", "Achievement bonus"]
    # without labels: the catalog's names
    del st["terms"]["fee"]["labels"]
    assert [r[0] for r in _rows(p.settlement_section(st, Ctx("en", "C-OLD", "Old style")))[1:3]] == [
        "Base fee", "Performance fee"]


def test_demo_contracts_show_both_cases() -> None:
    """The shipped contracts.yaml: C-001 a zh provider with 6 % VAT on top, due 30 days after the period;
    C-002 an en provider without tax, due 14 days after issue; both with full party blocks."""
    root = Path(__file__).resolve().parents[1]
    cs = {c.id: c for c in load_contracts(root / "parameters" / "contracts.yaml")}
    a, b = cs["C-001"], cs["C-002"]
    assert a.tax is not None and a.tax.rate == D("0.06") and a.tax.fees_are == "net" and b.tax is None
    assert (a.payment.terms_days, a.payment.due_from) == (30, "period_end")
    assert (b.payment.terms_days, b.payment.due_from) == (14, "issue_date")
    for c in (a, b):
        for party in (c.provider_party, c.client_party):
            # an unquoted '#' in YAML starts a comment: the address would end early, at a comma
            assert party and party.legal_name and party.address and not party.address.rstrip().endswith(",")
            assert party.signatory and party.tax_id
        assert c.reference and c.payment.account_no
