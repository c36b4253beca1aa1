"""Widget panels driven without a browser: set values, fire callbacks, check state and saved YAML.

Writes go to a temporary project (KPI_ROOT); data comes from the engine's small fixture warehouse
(tests/engine_fixtures.py, via KPI_WAREHOUSE) or from no warehouse at all. Every saved file is
re-validated with the same kpi_lib loaders `kpi validate` uses.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from engine_fixtures import make_warehouse

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def wproject(project: Path) -> Path:
    """The shared temporary project (conftest ``project``) with an empty data/raw."""
    (project / "data" / "raw").mkdir(parents=True, exist_ok=True)
    return project


@pytest.fixture(scope="module")
def fixture_warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("widget_wh") / "warehouse"
    make_warehouse(path)
    return path


@pytest.fixture
def wdata(wproject, fixture_warehouse, monkeypatch):
    monkeypatch.setenv("KPI_WAREHOUSE", str(fixture_warehouse))
    return wproject


def _bytes(p: Path) -> bytes | None:
    return p.read_bytes() if p.is_file() else None


# ---------------------------------------------------------------------------------- tree designer
def test_tree_designer_add_node_diff_and_save(wproject):
    from kpi_lib import tree as tree_mod
    from kpi_lib.widgets import TreeDesigner

    path = wproject / "parameters" / "kpi_tree.yaml"
    app = TreeDesigner()
    assert app.issue_lines() == []
    n0 = len(app.tree.nodes)
    used = {n.kpi for n in app.tree.nodes}
    kpi = "late_shipment_rate" if "late_shipment_rate" not in used else next(
        k for k in app.catalog().ids() if k not in used)
    nid = app.add_node(kpi, parent="net_profit", layer="execution", relation="informational",
                       owner="T-AMZ", weight=2.0)
    assert nid == kpi and len(app.tree.nodes) == n0 + 1
    assert f'data-node="{kpi}"' in app.outline.value
    diff = app.show_diff()
    assert f"+  kpi: {kpi}" in diff or f"+- id: {kpi}" in diff or f"+- kpi: {kpi}" in diff
    # the same KPI again under the same parent is refused, beside the button, and nothing is added
    assert app.add_node(kpi, parent="net_profit") == kpi and len(app.tree.nodes) == n0 + 1
    assert app.status.kind == "error" and "已在此上级节点下" in app.status.text
    assert app.save() is True and app.status.kind == "ok"
    saved = tree_mod.load_tree(path)
    assert tree_mod.validate_tree(saved) == []
    node = {n.id or n.kpi: n for n in saved.nodes}[kpi]
    assert (node.parent, node.owner, node.weight) == ("net_profit", "T-AMZ", 2.0)
    assert app.diff() == ""


def test_tree_designer_invalid_tree_is_not_written(wproject):
    from kpi_lib import tree as tree_mod
    from kpi_lib.widgets import TreeDesigner

    path = wproject / "parameters" / "kpi_tree.yaml"
    before = _bytes(path)
    app = TreeDesigner(lang="en")
    app.add_node("gmv", parent="")  # a second root
    assert any("root" in line for line in app.issue_lines())
    assert "validation issue" in app.issues_box.value
    assert app.save() is False and app.status.kind == "error" and app.status.issues
    assert _bytes(path) == before
    # a cycle made by editing a node's parent
    app.remove_node("gmv_2")
    app.node.value = "gmv"
    app.parent.value = "sessions"
    app.update_node()
    assert any("cycle" in line for line in app.issue_lines())
    assert app.save() is False and _bytes(path) == before
    app.reload()
    assert app.issue_lines() == []
    if before is not None:
        assert tree_mod.validate_tree(tree_mod.load_tree(path)) == []


def test_tree_designer_formula_checked_as_typed_and_custom_kpi_saved(wproject):
    from kpi_lib.definitions import load_catalog
    from kpi_lib.widgets import TreeDesigner

    kpis = wproject / "parameters" / "kpis.yaml"
    app = TreeDesigner(lang="en")
    app.custom_id.value = "ad_share"
    app.custom_formula.value = "ad_sales / gmvv"
    assert "gmvv" in app.formula_check.value  # the user's typo is echoed
    app.custom_formula.value = "__import__('os')"
    assert "cannot be parsed" in app.formula_check.value
    details = app.formula_details.children[0].children[0].value  # the engine's message, collapsed
    assert "not allowed" in details or "__import__" in details
    before = _bytes(kpis)
    assert app.add_custom_kpi() is False and _bytes(kpis) == before
    app.custom_formula.value = "ad_sales / gmv"
    assert "valid" in app.formula_check.value and app.check_formula() == []
    app.custom_en.value, app.custom_zh.value = "Ad sales share", "广告销售占比"
    assert app.add_custom_kpi() is True
    cat = load_catalog()
    assert cat.get("ad_share").formula == "ad_sales / gmv"
    assert app.add_node("ad_share", parent="ad_spend", relation="informational") == "ad_share"
    assert app.save() is True
    app.custom_id.value = "Bad Id"
    assert app.add_custom_kpi() is False and app.status.kind == "error"


def test_tree_designer_colors_by_status_with_data(wdata):
    from kpi_lib.widgets import TreeDesigner

    app = TreeDesigner()
    assert app.warehouse is not None
    fig = app.figure()
    assert fig is not None and len(fig.data[0].ids) == len(app.tree.nodes)
    from kpi_lib.widgets.common import STATUS_COLORS

    app.node_status = {"gmv": "red", "acos": "green"}
    colors = dict(zip(app.figure().data[0].ids, app.figure().data[0].marker.colors))
    assert colors["gmv"] == STATUS_COLORS["red"] and colors["acos"] == STATUS_COLORS["green"]
    assert STATUS_COLORS["red"] in app.outline_html()


# ---------------------------------------------------------------------------------- target setting
def test_target_setting_without_warehouse_says_make_demo(wproject):
    from kpi_lib.widgets import TargetSetting

    app = TargetSetting()
    assert "make demo" in app.summary()
    assert app.save() is False
    assert not (wproject / "parameters" / "targets" / "target_setting.yaml").exists()


def test_target_setting_cascades_and_saves(wdata):
    from kpi_lib.targets import load_target_files
    from kpi_lib.widgets import TargetSetting

    app = TargetSetting()
    app.period.value = "2026-Q1"
    app.mode.value = "growth"
    app.growth.value = 0.10
    df = app.preview()
    assert not df.empty and set(df["period"]) == {"2026-01", "2026-02", "2026-03"}
    top = app.top_value()
    assert df["value"].sum() == pytest.approx(top, rel=1e-9)
    assert app.last_year_value and top == pytest.approx(app.last_year_value * 1.10)

    app.method.value = "equal"
    eq = app.result
    assert eq["value"].sum() == pytest.approx(top)
    mature = eq[eq["entity_id"] != "N-US-02"].groupby("entity_id")["value"].sum()
    assert mature.iloc[0] == pytest.approx(mature.iloc[1])  # equal weights for mature stores
    new = eq[eq["entity_id"] == "N-US-02"].set_index("period")["value"]
    assert new["2026-01"] < new["2026-03"]  # launched 2026-01-15: ramp

    app.method.value = "manual"
    assert set(app.store_sliders) == {"A-US-01", "N-US-02", "S-MY-01"}
    app.store_sliders["S-MY-01"].value = 0
    assert app.result[app.result["entity_id"] == "S-MY-01"]["value"].sum() == 0
    assert app.save() is True
    path = app.path
    targets, _ = load_target_files(path.parent)
    mine = [t for t, src in targets if src == path.name]
    assert len(mine) == 1 + 9
    assert sum(t.value for t in mine if t.entity_kind == "store") == pytest.approx(top, rel=1e-6)

    app.method.value = "historical"
    assert app.save() is True  # replaces the manual rows of the same top target
    mine = [t for t, src in load_target_files(path.parent)[0] if src == path.name]
    assert len(mine) == 1 and mine[0].cascade and mine[0].growth == pytest.approx(0.10)


def test_target_setting_invalid_input_leaves_file(wdata):
    from kpi_lib.widgets import TargetSetting

    app = TargetSetting()
    app.period.value = "2026-Q1"
    assert app.save() is True
    before = _bytes(app.path)
    app.mode.value = "absolute"
    app.value.value = float("nan")
    app.method.value = "historical"
    app.ramp_months.value = 6
    app.entity_kind.value = "store"
    app.entity_id.value = None  # a store target without a store
    assert app.save() is False and app.status.kind == "error"
    assert _bytes(app.path) == before


# ---------------------------------------------------------------------------------- training
def test_training_walkthrough_steps_and_exercises(wproject):
    from kpi_lib.widgets import TrainingWalkthrough
    from kpi_lib.widgets.training import STEPS

    app = TrainingWalkthrough(lang="en")
    assert app.index == 0 and "three KPI layers" in app.title.value
    ok, why = app.check()
    assert ok is None  # nothing chosen yet
    for i, step in enumerate(STEPS):
        app.go(i)
        wrong = (step.answer + 1) % len(step.options("en"))
        ok, why = app.check(wrong)
        assert ok is False and "Not quite" in app.feedback.value and why
        ok, why = app.check(step.answer)
        assert ok is True and "Right" in app.feedback.value
    app.set_language("zh")
    assert "正确" in app.feedback.value and app.check_button.description == "检查答案"
    app.go(0)
    app.next()
    assert app.index == 1 and "make demo" in app.data.value
    app.prev()
    assert app.index == 0 and app.prev_button.disabled


def test_training_walkthrough_shows_demo_figures(wdata):
    from kpi_lib.widgets import TrainingWalkthrough

    app = TrainingWalkthrough(lang="en")
    assert "GMV" in app.data.value and "make demo" not in app.data.value and "CNY" in app.data.value
    assert "Net profit margin" in app.data.value and "%" in app.data.value  # KPI names, rates as %
    app.set_language("zh")
    assert "净利润率" in app.data.value and "Net profit margin" not in app.data.value  # the table follows the switch
    app.go(2)
    assert "N-US-02" in app.data.value


def test_tree_designer_thresholds_saved_with_targets(wproject):
    from kpi_lib.targets import thresholds
    from kpi_lib.widgets import TreeDesigner

    app = TreeDesigner()
    app.node.value = "acos"
    saved = thresholds().get("acos")
    assert (app.green.value, app.amber.value) == ((saved.green, saved.amber) if saved else (1.0, 0.9))
    app.green.value, app.amber.value = 1.0, 1.2  # amber above green: refused
    app.update_node()
    assert any("amber" in line for line in app.issue_lines())
    tree_file = wproject / "parameters" / "kpi_tree.yaml"
    before = _bytes(tree_file)
    assert app.save() is False and _bytes(tree_file) == before
    app.amber.value = 0.8
    app.update_node()
    assert app.issue_lines() == []
    assert app.save() is True
    th = thresholds()["acos"]
    assert (th.green, th.amber) == (1.0, 0.8)


# ---------------------------------------------------------------------------------- cost explorer
def test_cost_explorer_without_warehouse(wproject):
    from kpi_lib.widgets import CostExplorer

    app = CostExplorer()
    assert "make demo" in app.summary()


def test_cost_explorer_filters_waterfall_unit_economics(wdata):
    from kpi_lib import costs
    from kpi_lib.widgets import CostExplorer

    app = CostExplorer(lang="en")
    assert app.period.value == "2026-03" and app.status.kind != "error"
    wf = app.waterfall_frame
    assert wf["step"].iloc[0] == "gmv" and list(wf["step"])[-1] == "net_profit"
    cost_rows = wf[wf["kind"] == "cost"]["amount_rc"].sum()
    assert wf["amount_rc"].iloc[0] + cost_rows == pytest.approx(wf["amount_rc"].iloc[-1], abs=0.05)
    fig = app.figure()
    assert fig is not None and len(fig.data[0].x) == len(wf)
    ue = app.unit_frame
    assert len(ue) and ue["margin"].is_monotonic_increasing

    app.platform.value = "amazon"
    assert app.entity() == ("platform", ["amazon"])
    app.marketplace.value = "US"
    assert app.entity() == ("store", ["A-US-01", "N-US-02"])
    summed = app.waterfall_frame
    parts = [costs.waterfall("store", s, period="2026-03", warehouse=app.warehouse) for s in ("A-US-01", "N-US-02")]
    assert summed["amount_rc"].iloc[-1] == pytest.approx(sum(p["amount_rc"].iloc[-1] for p in parts))
    app.store.value = "A-US-01"
    assert app.entity() == ("store", ["A-US-01"])
    with app.batch():
        app.platform.value = ""
        app.marketplace.value = ""
        app.store.value = ""
        app.category.value = "HK"
    assert app.entity() == ("category", ["HK"])
    assert set(app.unit_frame["category"]) <= {"HK"}
    app.loss_only.value = True
    assert app.unit_frame["loss_making"].all()
    app.basis.value = "posted"
    assert app.status.kind != "error" and "settlement date" in app.scope_note
    app.alloc_basis.value = "orders"
    assert app.status.kind != "error"
    app.period.value = "2026-Q1"
    assert app.months() == ["2026-01", "2026-02", "2026-03"] and app.status.kind != "error"


# ---------------------------------------------------------------------------------- contract simulator
CONTRACTS = """contracts:
  - id: C-1
    name: Amazon growth service
    client: Demo Co
    provider: Agency
    stores: [A-US-01, N-US-02]
    target: 150000
    fee:
      model: base_plus_performance
      base: 9000
      performance:
        kind: achievement_tiers
        pool: 21000
        mode: retroactive
        tiers: [{from: 0.8, rate: 0.5}, {from: 1.0, rate: 1.0}, {from: 1.2, rate: 1.3}]
      cap: 40000
    provider_cost: 12000
    exit_clause: {below: 0.7, periods: 3}
"""


@pytest.fixture
def with_contract(wdata):
    (wdata / "parameters" / "contracts.yaml").write_text(CONTRACTS, encoding="utf-8")
    return wdata


def test_contract_simulator_scenarios_recent_and_save(with_contract):
    from decimal import Decimal

    from kpi_lib.settlement import load_contracts, settle
    from kpi_lib.widgets import ContractSimulator

    app = ContractSimulator()
    assert app.contract.value == "C-1" and app.issues == []
    assert app.base_share.value == pytest.approx(0.3) and app.fee_at_target.value == pytest.approx(30000)
    sc = app.scenarios().set_index("achievement")
    # retroactive tiers: 9000 base + 21000 × rate of the tier reached
    assert sc.loc[0.7, "client_pays"] == pytest.approx(9000)
    assert sc.loc[0.8, "client_pays"] == pytest.approx(9000 + 10500)
    assert sc.loc[1.0, "client_pays"] == pytest.approx(30000)
    assert sc.loc[1.4, "client_pays"] == pytest.approx(9000 + 21000 * 1.3)
    assert sc.loc[1.0, "provider_earns"] == pytest.approx(30000 - 12000)
    app.tier_mode.value = "marginal"
    sc2 = app.scenario_frame.set_index("achievement")
    assert sc2.loc[1.0, "client_pays"] == pytest.approx(9000 + 21000 * 0.5 * 0.2)

    rec = app.recent_frame
    assert len(rec) == 6
    last = settle("C-1", rec["period"].iloc[-1], warehouse=app.warehouse)
    assert rec["saved_terms_fee"].iloc[-1] == pytest.approx(float(last.total))
    assert app.exit_state.get("periods") == 3

    app.cap.value = 20000
    assert app.scenario_frame["client_pays"].max() <= 20000
    assert app.save() is True
    c = {x.id: x for x in load_contracts()}["C-1"]
    assert c.fee.cap == Decimal(20000) and c.fee.performance.mode == "marginal"
    assert c.exit_clause.below == Decimal("0.7") and c.stores == ["A-US-01", "N-US-02"]


def test_contract_simulator_invalid_terms_leave_file(with_contract):
    from kpi_lib.widgets import ContractSimulator

    path = with_contract / "parameters" / "contracts.yaml"
    before = path.read_bytes()
    app = ContractSimulator(lang="en")
    app.tiers.value = "1.0 0.5\n0.8 1.0"  # not increasing
    assert app.issues and "Terms are invalid" in app.terms_check.value
    assert "increasing" in app.terms_details.children[0].children[0].value  # the model's words: in details
    assert app.save() is False and path.read_bytes() == before
    app.tiers.value = "0.8 0.5\nbad line"
    assert any("line 2" in i for i in app.issues)
    assert app.save() is False and path.read_bytes() == before
    app.tiers.value = "0.8 50%\n100% 1"
    assert app.issues == []
    app.floor.value, app.cap.value = 50000, 1000
    assert app.save() is False and "floor" in " ".join(app.status.issues) and path.read_bytes() == before
    app.floor.value, app.cap.value = 0, 0
    app.stores.value = ()
    assert app.save() is False and path.read_bytes() == before


def test_contract_simulator_new_contract_without_warehouse(wproject):
    from kpi_lib.settlement import load_contracts
    from kpi_lib.widgets import ContractSimulator

    (wproject / "parameters" / "contracts.yaml").unlink(missing_ok=True)
    app = ContractSimulator()
    assert "make demo" in app.summary() and app.contract.value == ""
    assert len(app.scenario_frame) == 9 and app.recent_frame.empty
    app.model.value = "commission"
    app.tiers.value = "0 0.05"
    assert app.scenario_frame.set_index("achievement").loc[1.0, "client_pays"] == pytest.approx(5000)
    app.contract_id.value = "C-NEW"
    app.stores.options = ["X-1"]
    app.stores.value = ("X-1",)
    assert app.save() is True
    assert [c.id for c in load_contracts()] == ["C-NEW"]


# ---------------------------------------------------------------------------------- data onboarding
ERP_ROWS = [
    "订单编号,平台订单号,店铺名称,平台,站点,付款时间,订单状态,商品SKU,商品名称,数量,单价,商品总额,优惠金额,运费,币种",
    "XS1,100001,Homeware Hub TH,Lazada,TH,2025/07/02 00:01:29,已完成,AP-1023,Linen Joggers,1,339.00,339.00,0.00,39.00,THB",
    "XS2,100002,Homeware Hub TH,Lazada,TH,2025/07/03 21:35:05,已完成,SP-1002,Dumbbell,2,1329.00,2658.00,103.60,39.00,THB",
    "XS3,100003,Homeware Hub TH,Lazada,TH,not a date,已完成,SP-1002,Dumbbell,1,1329.00,1329.00,0.00,39.00,THB",
]
STORES = (
    "store_id,store_name,platform,marketplace,currency,timezone,launch_date,team_id\n"
    "AMZ-US-01,Homeware Hub US,amazon,US,USD,America/Los_Angeles,2021-03-15,T-AMZ\n"
    "LZD-TH-01,Homeware Hub TH,lazada,TH,THB,Asia/Bangkok,2022-01-10,T-SEA\n"
)


@pytest.fixture
def isolated_readers(monkeypatch):
    """Only built-in readers: user mappings (the repo's or a test's) neither apply nor leak to later tests."""
    from kpi_lib.ingest.registry import REGISTRY

    monkeypatch.setattr(REGISTRY, "_readers", REGISTRY.builtin_readers())


@pytest.fixture
def raw_project(wproject, isolated_readers):
    for f in (wproject / "parameters" / "mappings").glob("*"):
        f.unlink()
    raw = wproject / "data" / "raw"
    (raw / "AMZ-US-01").mkdir(parents=True)
    (raw / "LZD-TH-01").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "fixtures" / "exports" / "amazon" / "all_orders_report.txt", raw / "AMZ-US-01")
    (raw / "LZD-TH-01" / "erp_orders.csv").write_bytes(("\r\n".join(ERP_ROWS) + "\r\n").encode("gb18030"))
    ref = wproject / "data" / "reference"
    ref.mkdir(parents=True)
    (ref / "stores.csv").write_text(STORES, encoding="utf-8")
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
    fx = "month,currency,rate\n" + "".join(f"{m},{c},{r}\n" for m in months for c, r in
                                           (("CNY", 1.0), ("USD", 7.1), ("THB", 0.2)))
    (ref / "fx_rates.csv").write_text(fx, encoding="utf-8")
    return wproject


def _choose(app, name):
    path = next(f for fs in app.by_store.values() for f in fs if f.name == name)
    app.choose(path)
    assert app.file.value == str(path)


def test_onboarding_recognises_reader_and_ingests(raw_project):
    from kpi_lib.warehouse import Warehouse
    from kpi_lib.widgets import DataOnboarding

    app = DataOnboarding(lang="en")
    assert "2 raw file(s) in 2 store folder(s)" in app.summary()
    assert [v for _l, v in app.store_folder.options] == ["", "AMZ-US-01", "LZD-TH-01"]
    app.store_folder.value = "AMZ-US-01"
    assert [lbl for lbl, _v in app.file.options] == ["—", "all_orders_report.txt"]  # only that store's files
    _choose(app, "all_orders_report.txt")
    assert app.recognised == ["amazon_orders"] and "Recognised" in app.recognition.value
    assert "amazon_orders" not in app.recognition.value  # the reader's name is technical: in the details
    assert "amazon_orders" in app.recognition_details.children[0].children[0].value
    _choose(app, "erp_orders.csv")
    assert app.recognised == [] and "No reader recognises" in app.recognition.value
    assert app.columns[:3] == ["订单编号", "平台订单号", "店铺名称"]
    assert app.store_id.value == "LZD-TH-01" and app.mapping_name.value == "erp_orders"
    guessed = {f: d.value for f, d in app.field_dropdowns.items() if d.value}
    assert guessed["order_id"] == "订单编号" and guessed["sku"] == "商品SKU" and guessed["quantity"] == "数量"

    summary = app.run_ingest()
    assert summary is not None
    by_store = {f.store_id: f for f in summary.files}
    assert by_store["AMZ-US-01"].rows_loaded > 0 and by_store["AMZ-US-01"].error is None
    assert by_store["LZD-TH-01"].error  # no reader and no mapping yet: one clear line, the rest is ingested
    assert app.status.kind == "error" and "could not be read" in app.status.text
    assert "AMZ-US-01" in app.summary_view.value
    assert Warehouse().exists()


def test_onboarding_path_text_and_missing_file(raw_project):
    from kpi_lib.widgets import DataOnboarding

    app = DataOnboarding(lang="en")
    app.path_text.value = "data/raw/AMZ-US-01/all_orders_report.txt"
    assert app.recognised == ["amazon_orders"]
    app.path_text.value = "data/raw/nope.csv"
    assert "not found" in app.recognition.value and app.recognised == []


def test_onboarding_without_raw_files(wproject):
    from kpi_lib.widgets import DataOnboarding

    app = DataOnboarding()
    assert "make demo" in app.summary()
    assert app.run_ingest() is None and app.status.kind == "error"


def test_onboarding_maps_columns_previews_saves_and_ingests(raw_project):
    from kpi_lib.ingest.readers.mapping import load_mapping
    from kpi_lib.warehouse import Warehouse
    from kpi_lib.widgets import DataOnboarding

    target = raw_project / "parameters" / "mappings" / "erp_orders.yaml"
    app = DataOnboarding(lang="en")
    _choose(app, "erp_orders.csv")
    assert app.recognised == []
    assert app.currency_column.value == "币种"
    assert "已完成 = delivered" in app.status_map.value
    frame = app.preview_mapping()
    assert list(frame["order_id"]) == ["XS1", "XS2"] and list(frame["status"]) == ["delivered", "delivered"]
    assert frame["gross_sales"].tolist() == [339.0, 2658.0]
    assert any("row 4" in i for i in app.preview_issues)  # the unparseable date, with its line
    assert "1 issue(s) in the preview" in app.preview_view.value  # the raw reason (a regex) is in the details
    assert "row 4" in app.preview_details.children[0].children[0].value and "row 4" not in app.preview_view.value

    # invalid mappings are refused and nothing is written
    app.set_field("quantity", "")
    assert app.save_mapping() is None and "“Quantity” is not mapped" in app.status.issues[0]
    app.set_field("quantity", "数量")
    app.mapping_name.value = "Bad Name"
    assert app.save_mapping() is None and app.status.kind == "error"
    assert not any(target.parent.glob("*.yaml"))

    app.mapping_name.value = "erp_orders"
    app.fees_text.value = "运费 = shipping_label"
    # the preview still has an open issue (row 4): the first click only asks for confirmation
    assert app.save_mapping() is None and app.awaiting_confirmation and not target.exists()
    assert app.confirm_box.layout.display == "flex" and "1 open issue" in app.confirm_box.children[0].value
    assert app.status.kind == "warn" and app.status.widget in app.mapping_bar.widget.children
    assert app.save_mapping(confirmed=True) == target and not app.awaiting_confirmation
    m = load_mapping(target)
    assert m.columns["order_id"] == "订单编号" and m.fees[0].fee_type == "shipping_label"
    assert app.recognised == ["erp_orders"]

    summary = app.run_ingest()
    erp = next(f for f in summary.files if f.store_id == "LZD-TH-01")
    assert erp.error is None and erp.reader == "erp_orders"
    assert (erp.rows_read, erp.rows_loaded, erp.rows_quarantined) == (3, 2, 1)
    orders = Warehouse().read("orders")
    assert set(orders.loc[orders["store_id"] == "LZD-TH-01", "order_id"]) == {"XS1", "XS2"}
