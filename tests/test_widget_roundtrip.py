"""Round-trip or refuse: the contract simulator and the tree designer never rewrite what they cannot show.

Open + save without an edit leaves parameters/contracts.yaml and parameters/kpi_tree.yaml byte-identical;
one edit changes only that item's lines and keeps every comment; a contract the editor cannot show is
read-only with Save disabled; C-002 (commission above a threshold) is fully represented and its fee is
the settlement engine's.
"""

from __future__ import annotations

import difflib
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_lib import yaml_roundtrip

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def rproject(tmp_path, monkeypatch):
    """A project with the repo's parameters/ and no warehouse (editors only)."""
    proj = tmp_path / "project"
    shutil.copytree(REPO / "parameters", proj / "parameters")
    (proj / "data").mkdir()
    monkeypatch.setenv("KPI_ROOT", str(proj))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    monkeypatch.setenv("KPI_HEADLESS", "1")
    return proj


def _changed(old: str, new: str) -> list[str]:
    return [ln for ln in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0)
            if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


def _comments(text: str) -> list[str]:
    return [ln[ln.index("#"):] for ln in text.splitlines() if "#" in ln]


# ------------------------------------------------------------------------------------ the module
@pytest.mark.parametrize("name", ["contracts.yaml", "kpi_tree.yaml", "overheads.yaml", "scorecards.yaml"])
def test_load_dump_is_byte_identical(name):
    text = (REPO / "parameters" / name).read_text(encoding="utf-8")
    assert yaml_roundtrip.dumps(yaml_roundtrip.loads(text)) == text


_scalar = st.one_of(st.integers(-10**6, 10**6), st.sampled_from(["a", "b c", "2025-06", "x_y"]), st.booleans(),
                    st.none())
_data = st.recursive(_scalar, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.sampled_from(["id", "k", "from", "v", "w"]), kids, max_size=4)),
    max_leaves=12)


def _plain(x):
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v) for v in x]
    return x


@settings(max_examples=120, deadline=None)
@given(old=st.dictionaries(st.sampled_from(["a", "b", "c"]), _data, min_size=1, max_size=3),
       new=st.dictionaries(st.sampled_from(["a", "b", "c"]), _data, min_size=1, max_size=3))
def test_update_gives_the_new_data_and_keeps_equal_text(old, new):
    doc = yaml_roundtrip.loads(yaml_roundtrip.dumps(yaml_roundtrip.update(None, old)))
    text = yaml_roundtrip.dumps(doc)
    merged = yaml_roundtrip.update(doc, new)
    again = yaml_roundtrip.loads(yaml_roundtrip.dumps(merged))
    assert yaml_roundtrip.same(_plain(again), new)  # whatever the merge kept, it reads back as `new`
    # updating with the data it already holds changes no byte
    assert yaml_roundtrip.dumps(yaml_roundtrip.update(yaml_roundtrip.loads(text), old)) == text


def test_update_keyed_list_insert_keeps_neighbours_and_comments():
    text = "nodes:  # the nodes\n  - {id: a, v: 1}  # first\n  - {id: b, v: 2}\n"
    doc = yaml_roundtrip.loads(text)
    yaml_roundtrip.update(doc, {"nodes": [{"id": "a", "v": 1}, {"id": "n", "v": 9}, {"id": "b", "v": 2}]})
    out = yaml_roundtrip.dumps(doc)
    assert _changed(text, out) == ["+  - {id: n, v: 9}"]
    assert "# the nodes" in out and "# first" in out


# ---------------------------------------------------------------------------- contract simulator
def test_contract_simulator_open_and_save_every_contract_byte_identical(rproject):
    from kpi_lib.settlement import load_contracts
    from kpi_lib.widgets import ContractSimulator

    path = rproject / "parameters" / "contracts.yaml"
    before = path.read_bytes()
    app = ContractSimulator()
    contracts = load_contracts()
    assert any(c.fee.label_zh and c.fee.label_en for c in contracts)  # the fee model's zh/en names are covered
    for c in contracts:
        app.load_contract(c.id)
        assert not app.read_only, app.read_only_reasons  # every demo contract is fully represented
        assert (app.fee_label_zh.value, app.fee_label_en.value) == (c.fee.label_zh or "", c.fee.label_en or "")
        assert not app.fee_label_zh.disabled
        assert app.name_zh.value == (c.name_zh or "") and not app.name_zh.disabled
        assert app.save() is True
        assert path.read_bytes() == before


def test_contract_fee_names_are_edited_in_place(rproject):
    from kpi_lib.settlement import load_contracts
    from kpi_lib.widgets import ContractSimulator

    path = rproject / "parameters" / "contracts.yaml"
    before = path.read_text(encoding="utf-8")
    app = ContractSimulator()
    app.load_contract("C-002")
    old_zh = app.fee_label_zh.value
    app.fee_label_zh.value = "基础费 + 超额佣金"
    app.fee_label_en.value = ""  # cleared: the key goes (the English name then defaults to ``name``)
    assert app.save() is True, app.status.issues
    after = path.read_text(encoding="utf-8")
    assert _changed(before, after) == [f"-      label_zh: {old_zh}", "-      label_en: Base 8k + commission above 150k",
                                       "+      label_zh: 基础费 + 超额佣金"]
    c = {x.id: x for x in load_contracts(path)}["C-002"]
    assert (c.fee.label_zh, c.fee.label_en) == ("基础费 + 超额佣金", None)


def test_contract_chinese_name_is_edited_in_place_and_names_it_in_zh(rproject):
    from kpi_lib.settlement import load_contracts
    from kpi_lib.widgets import ContractSimulator

    path = rproject / "parameters" / "contracts.yaml"
    before = path.read_text(encoding="utf-8")
    app = ContractSimulator(lang="zh")
    old = {c.id: c for c in load_contracts(path)}["C-002"].name_zh
    assert old and any(lab == f"C-002 · {old}" for lab, _ in app.contract.options)  # the zh panel lists it so
    app.load_contract("C-002")
    app.name_zh.value = "Shopee 东南亚代运营"
    assert app.save() is True, app.status.issues
    assert _changed(before, path.read_text(encoding="utf-8")) == [f"-    name_zh: {old}", "+    name_zh: Shopee 东南亚代运营"]
    assert {c.id: c for c in load_contracts(path)}["C-002"].name_zh == "Shopee 东南亚代运营"


def test_contract_edit_changes_only_its_lines_and_keeps_comments(rproject):
    from kpi_lib.settlement import load_contracts
    from kpi_lib.widgets import ContractSimulator

    path = rproject / "parameters" / "contracts.yaml"
    before = path.read_text(encoding="utf-8")
    app = ContractSimulator()
    app.load_contract("C-002")
    app.floor.value = 12000
    app.tiers.value = "150000 0.04\n400000 0.07"
    assert app.save() is True, app.status.issues
    after = path.read_text(encoding="utf-8")
    assert _changed(before, after) == ["-          - {from: 400000, rate: 0.06}", "-      floor: 10000",
                                       "+          - {from: 400000, rate: 0.07}", "+      floor: 12000"]
    assert _comments(after) == _comments(before)
    c = {x.id: x for x in load_contracts(path)}
    assert c["C-002"].fee.floor == Decimal(12000) and c["C-002"].fee.performance.tiers[1].rate == Decimal("0.07")
    assert c["C-002"].fee.performance.kind == "commission" and c["C-002"].fee.name  # not turned into a tier scheme


def test_c002_is_fully_represented_with_the_engines_fee(rproject):
    from kpi_lib.settlement import fee_lines, get_contract, total_of
    from kpi_lib.widgets import ContractSimulator

    app = ContractSimulator()
    app.load_contract("C-002")
    assert not app.read_only and app.issues == [] and not app.save_button.disabled
    assert app.perf_kind.value == "commission" and app.tier_mode.value == "marginal"
    fee = get_contract("C-002").fee
    target = Decimal(str(app.target.value))
    for _, row in app.scenario_frame.iterrows():
        ach = Decimal(str(row["achievement"]))
        gmv = (target * ach).quantize(Decimal("0.01"))
        assert Decimal(str(row["client_pays"])) == total_of(fee_lines(fee, gmv, ach))
    # hand-worked: net GMV 400,000 → base 8,000 + 4 % × 250,000 = 18,000 (between floor 10k and cap 40k)
    assert total_of(fee_lines(app.fee_model(), Decimal(400000), None)) == Decimal("18000.00")
    # and below the threshold the floor applies: 8,000 + 0 → 10,000 (never the flat ¥10,000 of a wrong model above)
    assert total_of(fee_lines(app.fee_model(), Decimal(100000), None)) == Decimal("10000.00")
    assert total_of(fee_lines(app.fee_model(), Decimal(500000), None)) == Decimal("24000.00")


C_UNSHOWABLE = """# hand-written contracts
contracts:
  - id: C-9
    stores: [AMZ-US-01]
    target: 100000
    fee:  # performance capped inside a capped total: the editor has one cap field
      model: base_plus_performance
      base: 1000
      performance: {kind: linear, pool: 9000, cap: 5000}
      cap: 20000
"""


def test_contract_the_editor_cannot_show_is_read_only(rproject):
    from kpi_lib.settlement import fee_lines, get_contract, total_of
    from kpi_lib.widgets import ContractSimulator

    path = rproject / "parameters" / "contracts.yaml"
    path.write_text(C_UNSHOWABLE, encoding="utf-8")
    app = ContractSimulator(lang="en")
    app.load_contract("C-9")
    assert app.read_only and app.save_button.disabled and app.model.disabled
    assert any("performance.cap" in r for r in app.read_only_reasons)
    assert "Read-only" in app.read_only_note.value and "terms are valid" not in app.read_only_note.value
    assert "performance.cap" in app.terms_details.children[0].children[0].value  # the reasons: in details
    fee = get_contract("C-9").fee  # scenarios show the saved terms
    row = app.scenario_frame.set_index("achievement").loc[1.4]
    assert Decimal(str(row["client_pays"])) == total_of(fee_lines(fee, Decimal("140000.00"), Decimal("1.4")))
    assert row["client_pays"] == 6000.0  # 1000 + min(9000 × 1.4, 5000)
    assert app.save() is False and path.read_text(encoding="utf-8") == C_UNSHOWABLE


def test_new_contract_is_appended_without_touching_the_others(rproject):
    from kpi_lib.settlement import load_contracts
    from kpi_lib.widgets import ContractSimulator

    path = rproject / "parameters" / "contracts.yaml"
    before = path.read_text(encoding="utf-8")
    app = ContractSimulator()
    app.contract.value = ""
    app.contract_id.value = "C-NEW"
    app.stores.value = ("AMZ-DE-01",) if "AMZ-DE-01" in app.stores.options else (app.stores.options[0],)
    assert app.save() is True, app.status.issues
    after = path.read_text(encoding="utf-8")
    assert after.startswith(before.rstrip("\n"))  # old text kept verbatim, the new contract appended
    assert [c.id for c in load_contracts(path)] == ["C-001", "C-002", "C-NEW"]


# ---------------------------------------------------------------------------------- tree designer
def test_tree_designer_save_without_edit_is_byte_identical(rproject):
    from kpi_lib.widgets import TreeDesigner

    path = rproject / "parameters" / "kpi_tree.yaml"
    before = path.read_bytes()
    app = TreeDesigner()
    assert app.save() is True
    assert path.read_bytes() == before


def test_tree_designer_one_node_one_line(rproject):
    from kpi_lib.tree import load_tree
    from kpi_lib.widgets import TreeDesigner

    path = rproject / "parameters" / "kpi_tree.yaml"
    before = path.read_text(encoding="utf-8")
    app = TreeDesigner()
    app.add_node("orders", parent="gmv", relation="informational", layer="execution")
    assert app.save() is True, app.status.issues
    after = path.read_text(encoding="utf-8")
    assert _changed(before, after) == ["+  - {kpi: orders, parent: gmv, layer: execution, relation: informational}"]
    assert _comments(after) == _comments(before)
    app.remove_node("cpc")
    assert app.save() is True, app.status.issues
    again = path.read_text(encoding="utf-8")
    assert _changed(after, again) == ["-  - {kpi: cpc, parent: ad_spend, layer: middle, relation: informational}"]
    assert [n.id for n in load_tree(path).nodes] == [n.id for n in app.tree.nodes]
