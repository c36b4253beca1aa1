"""KPI-tree attribution against hand-worked numbers and closed forms, before any leftover handling.

Every part is checked against its own formula (LMDI: part_i = L(P_b, P_a) · ln(x_i,b / x_i,a) with
L(x, y) = (x − y) / ln(x / y); two-factor Shapley: part_x = Δx · (y_a + y_b) / 2) on the *raw* parts
(``tree.split_raw``), so the closure that adds the float leftover to the largest part cannot make a
wrong formula pass. The leftover itself is asserted to be float noise.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_lib.tree import KpiTree, attribute_values, split_change, split_detail, split_raw


def _lmdi_closed_form(a: list[float], b: list[float], exps: list[int]) -> list[float]:
    """Independent LMDI: products by math.prod, L by the textbook ln of the ratio."""
    pa = math.prod(x ** e for x, e in zip(a, exps))
    pb = math.prod(x ** e for x, e in zip(b, exps))
    L = (pb - pa) / math.log(pb / pa) if pb != pa else pa
    return [L * e * math.log(xb / xa) for xa, xb, e in zip(a, b, exps)]


def _tiny(leftover: float, *scale: float) -> bool:
    return abs(leftover) <= 1e-12 * max(1.0, *(abs(s) for s in scale))


# ----------------------------------------------------------------------------------- multiplicative


def test_two_factor_lmdi_hand_worked():
    # gmv = sessions × aov: 100 × 2.00 = 200 → 120 × 2.50 = 300, change +100
    # L(300, 200) = 100 / ln 1.5 = 246.6303
    # sessions: 246.6303 × ln 1.2 = 44.9660;  aov: 246.6303 × ln 1.25 = 55.0340  (sum 100)
    raw, method = split_raw([100.0, 2.0], [120.0, 2.5])
    assert method == "lmdi"
    assert raw == pytest.approx([44.966028678679, 55.033971321321], abs=1e-9)
    assert raw == pytest.approx(_lmdi_closed_form([100.0, 2.0], [120.0, 2.5], [1, 1]), rel=1e-12)
    d = split_detail("multiplicative", [100.0, 2.0], [120.0, 2.5])
    assert d.change == pytest.approx(100.0) and _tiny(d.leftover, 300.0)
    assert sum(d.parts) == pytest.approx(100.0, abs=1e-12)


def test_three_factor_lmdi_hand_worked():
    # gmv = sessions × cvr × aov: 1000 × 0.05 × 20 = 1000 → 1100 × 0.04 × 25 = 1100, change +100
    # L(1100, 1000) = 100 / ln 1.1 = 1049.2059
    # sessions: L × ln 1.1 = 100 exactly; cvr: L × ln 0.8 = −234.1235; aov: L × ln 1.25 = +234.1235
    # (ln 0.8 = −ln 1.25: the conversion drop and the basket rise cancel, the traffic explains it all)
    a, b = [1000.0, 0.05, 20.0], [1100.0, 0.04, 25.0]
    raw, method = split_raw(a, b)
    assert method == "lmdi"
    assert raw == pytest.approx([100.0, -234.123523607, 234.123523607], abs=1e-6)
    assert raw == pytest.approx(_lmdi_closed_form(a, b, [1, 1, 1]), rel=1e-12)
    d = split_detail("multiplicative", a, b)
    assert _tiny(d.leftover, 1100.0)


def test_ratio_lmdi_hand_worked():
    # net margin = profit / sales: 50 / 200 = 0.25 → 60 / 300 = 0.20, change −0.05
    # L(0.20, 0.25) = −0.05 / ln 0.8 = 0.224071
    # profit (numerator): +L × ln 1.2 = +0.040853; sales (denominator): −L × ln 1.5 = −0.090853
    raw, method = split_raw([50.0, 200.0], [60.0, 300.0], [1, -1])
    assert method == "lmdi"
    assert raw == pytest.approx([0.0408529746, -0.0908529746], abs=1e-9)
    assert raw == pytest.approx(_lmdi_closed_form([50.0, 200.0], [60.0, 300.0], [1, -1]), rel=1e-12)
    parts, _ = split_change("ratio", [50.0, 200.0], [60.0, 300.0], [1, -1])
    assert sum(parts) == pytest.approx(-0.05, abs=1e-15)


# -------------------------------------------------------------------------------- Shapley fallback


def test_zero_falls_back_to_two_factor_shapley():
    # x: 0 → 3, y: 4 → 5; P: 0 → 15 (the log of 0 is undefined: Shapley)
    # x: Δx (y_a + y_b) / 2 = 3 × 4.5 = 13.5;  y: Δy (x_a + x_b) / 2 = 1 × 1.5 = 1.5
    raw, method = split_raw([0.0, 4.0], [3.0, 5.0])
    assert method == "shapley"
    assert raw == pytest.approx([13.5, 1.5], abs=1e-12)


def test_sign_change_falls_back_to_two_factor_shapley():
    # x: 2 → 3, y: −1 → 4; P: −2 → 12, change 14
    # x: 1 × (−1 + 4) / 2 = 1.5;  y: 5 × (2 + 3) / 2 = 12.5
    raw, method = split_raw([2.0, -1.0], [3.0, 4.0])
    assert method == "shapley"
    assert raw == pytest.approx([1.5, 12.5], abs=1e-12)


def test_three_factor_shapley_with_a_zero():
    # x: 0 → 2, y: 1 → 3, z: 4 → 5; P: 0 → 30. Three-factor Shapley:
    # φx = Δx [ (y_a z_a + y_b z_b)/3 + (y_a z_b + y_b z_a)/6 ] = 2 [ 19/3 + 17/6 ] = 18.3333
    # φy = Δy [ (x_a z_a + x_b z_b)/3 + (x_a z_b + x_b z_a)/6 ] = 2 [ 10/3 + 8/6 ]  =  9.3333
    # φz = Δz [ (x_a y_a + x_b y_b)/3 + (x_a y_b + x_b y_a)/6 ] = 1 [ 6/3 + 2/6 ]   =  2.3333
    raw, method = split_raw([0.0, 1.0, 4.0], [2.0, 3.0, 5.0])
    assert method == "shapley"
    assert raw == pytest.approx([55 / 3, 28 / 3, 7 / 3], abs=1e-12)


def test_ratio_with_zero_numerator_uses_shapley_of_the_quotient():
    # profit 0 → 60 over sales 200 → 300: f = x / y
    # φx = ½[(60/200 − 0/200) + (60/300 − 0/300)] = ½[0.3 + 0.2] = 0.25
    # φy = ½[(0/300 − 0/200) + (60/300 − 60/200)] = ½[0 − 0.1] = −0.05      (sum 0.2 = change)
    raw, method = split_raw([0.0, 200.0], [60.0, 300.0], [1, -1])
    assert method == "shapley"
    assert raw == pytest.approx([0.25, -0.05], abs=1e-15)


# ---------------------------------------------------------------------------- additive, over a tree


def test_additive_and_nested_attribution_over_a_tree():
    t = KpiTree.model_validate({"nodes": [
        {"kpi": "net_profit", "parent": None, "layer": "top"},
        {"kpi": "gmv", "parent": "net_profit", "relation": "additive"},
        {"kpi": "refunds", "parent": "net_profit", "relation": "additive", "sign": -1},
        {"kpi": "cogs", "parent": "net_profit", "relation": "additive", "sign": -1},
        {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
        {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"},
    ]})
    # net = gmv − refunds − cogs: 200 − 20 − 80 = 100 → 300 − 50 − 90 = 160 (change +60)
    # gmv +100, refunds −30 (a cost that grew lowers profit), cogs −10
    a = {"net_profit": 100.0, "gmv": 200.0, "refunds": 20.0, "cogs": 80.0, "sessions": 100.0, "aov": 2.0}
    b = {"net_profit": 160.0, "gmv": 300.0, "refunds": 50.0, "cogs": 90.0, "sessions": 120.0, "aov": 2.5}
    df = attribute_values(t, a, b).set_index("node")
    assert df.loc["net_profit", "contribution"] == pytest.approx(60.0)
    assert df.loc["gmv", "contribution"] == pytest.approx(100.0)
    assert df.loc["refunds", "contribution"] == pytest.approx(-30.0)
    assert df.loc["cogs", "contribution"] == pytest.approx(-10.0)
    assert df.loc["gmv", "share"] == pytest.approx(100 / 60)
    assert set(df.loc[["gmv", "refunds", "cogs"], "method"]) == {"difference"}
    # the gmv children: the two-factor LMDI worked above
    assert df.loc["sessions", "contribution"] == pytest.approx(44.966028678679, abs=1e-9)
    assert df.loc["aov", "contribution"] == pytest.approx(55.033971321321, abs=1e-9)
    assert set(df.loc[["sessions", "aov"], "method"]) == {"lmdi"}
    assert not any(str(n).endswith("(residual)") for n in df.index)


def test_relation_that_does_not_hold_shows_a_residual_row():
    t = KpiTree.model_validate({"nodes": [
        {"kpi": "gmv", "parent": None, "layer": "top"},
        {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
        {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"},
    ]})
    # sessions × aov = 200 → 300 (+100) but gmv says 210 → 300 (+90): residual −10
    df = attribute_values(t, {"gmv": 210.0, "sessions": 100.0, "aov": 2.0}, {"gmv": 300.0, "sessions": 120.0, "aov": 2.5})
    res = df[df["relation"] == "residual"]
    assert len(res) == 1 and res["contribution"].iloc[0] == pytest.approx(-10.0)


# ---------------------------------------------------------------------------------- extreme ratios


def test_underflowing_ratio_does_not_crash():
    # found once by hypothesis: x_b / x_a = 5e-324 / 2 underflows to 0 and ln(0) raised
    # "math domain error". With log differences: ln(5e-324) − ln 2 = −744.44 − 0.69, and the single
    # factor's part is the whole change, 5e-324 − 2 = −2.
    parts, method = split_change("multiplicative", [2.0], [5e-324])
    assert method == "lmdi" and parts == pytest.approx([-2.0], rel=1e-12)
    raw, _ = split_raw([2.0], [5e-324])
    assert raw == pytest.approx([-2.0], rel=1e-12)
    parts, _ = split_change("multiplicative", [2.0, 3.0], [5e-324, 3.0])
    assert math.fsum(parts) == pytest.approx(-6.0, rel=1e-12) and parts[1] == pytest.approx(0.0, abs=1e-12)
    parts, _ = split_change("ratio", [5e-324, 2.0], [3.0, 2.0], [1, -1])
    assert math.fsum(parts) == pytest.approx(1.5, rel=1e-12)


def test_subnormal_product_still_closes():
    # found by the property below: 1.5 × 5e-324 rounds to a subnormal (the true 7.5e-324 is not a
    # float), so ln(P_a) taken from the rounded product is off by ln 1.5 and LMDI missed 0.04 % of the
    # change; the product's log is the sum of the factors' logs instead.
    d = split_detail("multiplicative", [1.5, 5e-324], [1.0, 1.0])
    assert d.method == "lmdi" and abs(d.leftover) <= 1e-12 and math.fsum(d.raw) == pytest.approx(1.0, abs=1e-12)


def test_overflowing_product_does_not_crash():
    # 1e200 × 1e200 overflows: no LMDI (the product is not finite); the change is not a number
    d = split_detail("multiplicative", [1e200, 1e200], [1e200, 2e200])
    assert d.method == "shapley" and not math.isfinite(d.change)


extreme = st.floats(min_value=5e-324, max_value=1e100, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(extreme, extreme), min_size=1, max_size=3))
def test_extreme_positive_ratios_never_raise_and_close(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    d = split_detail("multiplicative", a, b)
    assert len(d.parts) == len(a)
    if math.isfinite(d.change) and all(math.isfinite(p) for p in d.raw):
        scale = max(1.0, math.prod(a), math.prod(b), *(abs(p) for p in d.raw))
        assert abs(d.leftover) <= 1e-9 * scale
        assert math.fsum(d.parts) == pytest.approx(d.change, rel=1e-9, abs=1e-12 * scale)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-3, 1e6), st.floats(1e-3, 1e6)), min_size=1, max_size=4))
def test_lmdi_raw_parts_match_closed_form(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    raw, method = split_raw(a, b)
    assert method == "lmdi"
    exp = _lmdi_closed_form(a, b, [1] * len(a))
    scale = max(1.0, math.prod(a), math.prod(b))
    assert raw == pytest.approx(exp, rel=1e-9, abs=1e-9 * scale)


# --------------------------------------------------------- tree checks and the warehouse-level attribute


def _t(nodes, **kw):
    return KpiTree.model_validate({"nodes": nodes, **kw})


def test_expected_value_per_relation():
    from kpi_lib.tree import expected_value

    add = _t([{"kpi": "net_profit"}, {"kpi": "gmv", "parent": "net_profit", "relation": "additive"},
              {"kpi": "cogs", "parent": "net_profit", "relation": "additive", "sign": -1},
              {"kpi": "acos", "parent": "net_profit"}])
    assert expected_value(add, "net_profit", {"gmv": 100.0, "cogs": 30.0, "acos": 9.0}) == 70.0
    assert math.isnan(expected_value(add, "net_profit", {"gmv": 100.0}))  # missing is not zero
    assert expected_value(add, "gmv", {"gmv": 1.0}) is None  # no arithmetic children
    mul = _t([{"kpi": "gmv"}, {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
              {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"}])
    assert expected_value(mul, "gmv", {"sessions": 20.0, "aov": 2.5}) == 50.0
    rat = _t([{"kpi": "net_margin"}, {"kpi": "net_profit", "parent": "net_margin", "relation": "ratio_numerator"},
              {"kpi": "net_sales", "parent": "net_margin", "relation": "ratio_denominator"}])
    assert expected_value(rat, "net_margin", {"net_profit": 30.0, "net_sales": 120.0}) == 0.25
    assert math.isnan(expected_value(rat, "net_margin", {"net_profit": 30.0, "net_sales": 0.0}))
    assert expected_value(rat, "net_margin", {"net_profit": 30.0, "net_sales": 1.0}) == 30.0


def test_data_check_counts_rows_and_names_the_worst():
    import pandas as pd

    from kpi_lib.tree import validate_tree

    t = _t([{"kpi": "gmv"}, {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
            {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"}])
    data = pd.DataFrame({"period": ["2026-01", "2026-02", "2026-03", "2026-04"],
                         "gmv": [100.0, 50.0, 40.0, float("nan")], "sessions": [10.0, 10.0, 10.0, 10.0],
                         "aov": [10.0, 6.0, 5.0, 1.0]})
    issues = validate_tree(t, data)
    # 2026-02: 10 × 6 = 60 vs 50; 2026-03: 50 vs 40; 2026-04 has no gmv (skipped, not a zero)
    assert [(i.path, i.code) for i in issues] == [("kpi_tree.yaml: nodes[0]", "data")]
    assert "does not hold on 2 row(s)" in issues[0].message
    assert "period 2026-02: 50 vs 60" in issues[0].message
    # within the tolerance (relative 1e-6, at least 1e-6 absolute): no issue
    ok = data.assign(gmv=[100.0, 60.0 + 5e-5, 50.0 - 4e-5, 10.0])
    assert validate_tree(t, ok) == []
    assert validate_tree(t, ok.assign(gmv=[100.0, 60.0 + 7e-5, 50.0, 10.0]))[0].message.count("1 row(s)") == 1
    # a missing column: nothing to check
    assert validate_tree(t, data.drop(columns="aov")) == []


def test_tree_issues_name_their_node():
    from kpi_lib.tree import validate_tree

    dup = validate_tree(_t([{"kpi": "gmv"}, {"kpi": "aov", "parent": "gmv"}, {"kpi": "aov", "parent": "gmv"}]))
    assert [(i.path, i.code) for i in dup] == [("kpi_tree.yaml: nodes[2].id", "duplicate")]
    assert "also nodes[1]" in dup[0].message
    own = validate_tree(_t([{"kpi": "gmv"}, {"kpi": "aov", "parent": "aov"}]), source="x.yaml")
    assert ("x.yaml: nodes[1].parent", "cycle") in [(i.path, i.code) for i in own]
    none = validate_tree(_t([{"kpi": "gmv", "parent": "aov"}, {"kpi": "aov", "parent": "gmv"}]))
    assert "roots" in {i.code for i in none} and any("no root" in i.message for i in none)
    two = validate_tree(_t([{"kpi": "gmv"}, {"kpi": "aov"}]))
    assert [i.code for i in two] == ["roots"] and "2 roots (gmv, aov) where 1 expected" in two[0].message
    assert validate_tree(_t([{"kpi": "gmv"}, {"kpi": "aov"}], max_roots=2)) == []
    ratio = validate_tree(_t([{"kpi": "net_margin"},
                              {"kpi": "net_profit", "parent": "net_margin", "relation": "ratio_numerator"},
                              {"kpi": "gmv", "parent": "net_margin", "relation": "ratio_numerator"}]))
    assert [(i.path, i.code) for i in ratio] == [("kpi_tree.yaml: nodes[1].relation", "relation")]
    assert "exactly one ratio_numerator and one ratio_denominator" in ratio[0].message


def test_tree_yaml_roundtrip_keeps_non_defaults(tmp_path):
    from kpi_lib.errors import ConfigError
    from kpi_lib.tree import load_tree, save_tree, tree_to_dict

    t = _t([{"kpi": "net_profit", "layer": "top", "owner": "T-AMZ"},
            {"id": "gmv2", "kpi": "gmv", "parent": "net_profit", "relation": "additive", "weight": 2.5},
            {"kpi": "cogs", "parent": "net_profit", "relation": "additive", "sign": -1}], name="mine")
    d = tree_to_dict(t)
    assert d["name"] == "mine" and d["max_roots"] == 1
    assert d["nodes"][0] == {"kpi": "net_profit", "parent": None, "layer": "top", "relation": "informational",
                             "owner": "T-AMZ"}
    assert d["nodes"][1] == {"id": "gmv2", "kpi": "gmv", "parent": "net_profit", "layer": "middle",
                             "relation": "additive", "weight": 2.5}
    assert d["nodes"][2]["sign"] == -1 and "id" not in d["nodes"][2] and "weight" not in d["nodes"][2]
    p = save_tree(t, tmp_path / "kpi_tree.yaml")
    assert p == tmp_path / "kpi_tree.yaml" and load_tree(p) == t
    assert t.node("gmv2").weight == 2.5
    (tmp_path / "bad.yaml").write_text("nodes:\n  - {kpi: gmv, colour: red}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml: 1 problem"):
        load_tree(tmp_path / "bad.yaml")


def test_tree_path_and_default(tmp_path, monkeypatch):
    from kpi_lib.tree import default_tree, load_tree, tree_path

    monkeypatch.setenv("KPI_ROOT", str(tmp_path))
    assert tree_path() == tmp_path / "parameters" / "kpi_tree.yaml"
    assert load_tree() == default_tree()  # no file: the default tree


@pytest.fixture(scope="module")
def engine_wh(tmp_path_factory):
    from engine_fixtures import make_project, make_warehouse

    root = make_project(tmp_path_factory.mktemp("tree"))
    mp = pytest.MonkeyPatch()
    mp.setenv("KPI_ROOT", str(root))
    wh, _ = make_warehouse(root / "wh")
    yield wh
    mp.undo()


def test_attribute_for_one_store_uses_that_stores_values(engine_wh):
    from kpi_lib.errors import DefinitionError
    from kpi_lib.metrics import compute
    from kpi_lib.tree import attribute, default_tree

    kpis = ["net_margin", "gmv", "sessions"]
    by = compute(kpis, by=["store_id"], period="month", start="2025-10", end="2025-11", warehouse=engine_wh)
    by = by.set_index(["store_id", "period"])
    co = compute(kpis, by=[], period="month", start="2025-10", end="2025-11", warehouse=engine_wh).set_index("period")
    df = attribute(default_tree(), "store", "S-MY-01", "2025-10", "2025-11", warehouse=engine_wh).set_index("node")
    for kpi in kpis:
        node = kpi if kpi != "gmv" else "gmv"
        assert df.loc[node, "value_a"] == pytest.approx(by.loc[("S-MY-01", "2025-10"), kpi]), kpi
        assert df.loc[node, "value_b"] == pytest.approx(by.loc[("S-MY-01", "2025-11"), kpi]), kpi
        assert df.loc[node, "value_b"] != pytest.approx(co.loc["2025-11", kpi]), kpi  # not the company's
    # against targets: a = target where given, else the actual (no gap); b = the period's actual
    tg = attribute(default_tree(), "store", "S-MY-01", "2025-11", targets={"gmv": 1000.0}, warehouse=engine_wh,
                   root="gmv").set_index("node")
    assert tg.loc["gmv", "value_a"] == 1000.0
    assert tg.loc["gmv", "value_b"] == pytest.approx(by.loc[("S-MY-01", "2025-11"), "gmv"])
    assert tg.loc["sessions", "value_a"] == tg.loc["sessions", "value_b"]
    with pytest.raises(DefinitionError, match="needs period_a"):
        attribute(default_tree(), warehouse=engine_wh)
    with pytest.raises(DefinitionError, match="needs period_b or targets"):
        attribute(default_tree(), period_a="2025-10", warehouse=engine_wh)
    with pytest.raises(DefinitionError, match="unknown entity kind 'planet'"):
        attribute(default_tree(), "planet", "X", "2025-10", "2025-11", warehouse=engine_wh)
    empty = attribute(default_tree(), "store", "S-MY-01", "2024-01", "2024-02", warehouse=engine_wh)
    assert empty["value_a"].isna().all()  # no data: missing, not zero


def test_attribute_values_rows_exactly():
    """Every column of the result for a small tree: informational child, missing input, residual, zero change."""
    import numpy as np

    t = _t([{"kpi": "net_profit", "layer": "top"},
            {"kpi": "gmv", "parent": "net_profit", "relation": "additive"},
            {"kpi": "cogs", "parent": "net_profit", "relation": "additive", "sign": -1},
            {"kpi": "acos", "parent": "net_profit", "layer": "execution"},
            {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
            {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"},
            {"kpi": "cvr", "parent": "cogs", "relation": "multiplicative"}])
    # net 100 → 100 (no change) though gmv +10 and cogs +4: the relation fails by 6 → residual −6
    a = {"net_profit": 100.0, "gmv": 200.0, "cogs": 100.0, "acos": 0.2, "sessions": 100.0, "aov": 2.0, "cvr": 100.0}
    b = {"net_profit": 100.0, "gmv": 210.0, "cogs": 104.0, "acos": 0.3, "sessions": 105.0, "aov": 2.0}  # no cvr
    df = attribute_values(t, a, b)
    assert list(df.columns) == ["node", "kpi", "parent", "relation", "layer", "value_a", "value_b", "contribution",
                                "share", "method"]
    rows = {r["node"]: r for r in df.to_dict("records")}
    assert list(rows) == ["net_profit", "gmv", "sessions", "aov", "cogs", "cvr", "acos", "net_profit:(residual)"]
    root = rows["net_profit"]
    assert (root["kpi"], root["parent"], root["relation"], root["layer"], root["method"]) == \
        ("net_profit", None, "informational", "top", "change")
    assert root["contribution"] == 0.0 and np.isnan(root["share"])  # no change: share undefined
    assert (rows["gmv"]["contribution"], rows["gmv"]["method"], rows["gmv"]["relation"]) == (10.0, "difference", "additive")
    assert np.isnan(rows["gmv"]["share"])  # parent change 0
    assert rows["cogs"]["contribution"] == -4.0 and rows["cogs"]["layer"] == "middle"
    # gmv +10 from sessions alone (aov unchanged): LMDI gives it all to sessions, exactly 0 to aov
    assert rows["sessions"]["contribution"] == pytest.approx(10.0) and rows["aov"]["contribution"] == 0.0
    assert rows["sessions"]["share"] == pytest.approx(1.0) and rows["sessions"]["method"] == "lmdi"
    # cvr has no value in b: its contribution is missing, not zero, and no residual is invented for cogs
    assert np.isnan(rows["cvr"]["value_b"]) and np.isnan(rows["cvr"]["contribution"]) and rows["cvr"]["method"] == "missing"
    acos = rows["acos"]
    assert acos["method"] == "informational" and np.isnan(acos["contribution"]) and np.isnan(acos["share"])
    assert (acos["value_a"], acos["value_b"], acos["layer"]) == (0.2, 0.3, "execution")
    res = rows["net_profit:(residual)"]
    assert (res["kpi"], res["parent"], res["relation"], res["layer"], res["method"]) == \
        (None, "net_profit", "residual", "top", "residual")
    assert res["contribution"] == pytest.approx(-6.0) and np.isnan(res["value_a"]) and np.isnan(res["share"])
    # a residual's share of a non-zero change
    b2 = {**b, "net_profit": 112.0, "cvr": 104.0}
    rows2 = {r["node"]: r for r in attribute_values(t, a, b2).to_dict("records")}
    assert rows2["net_profit:(residual)"]["contribution"] == pytest.approx(6.0)
    assert rows2["net_profit:(residual)"]["share"] == pytest.approx(0.5)
    assert rows2["net_profit"]["share"] == 1.0 and rows2["gmv"]["share"] == pytest.approx(10 / 12)
    # only the named root
    sub = attribute_values(t, a, b2, root="gmv")
    assert list(sub["node"]) == ["gmv", "sessions", "aov"]


def test_logmean_combine_and_closure_details():
    from kpi_lib.tree import _combine, _logmean

    assert _logmean(math.e, 1.0) == pytest.approx(math.e - 1.0, rel=1e-15)  # (e − 1) / (1 − 0)
    assert _logmean(3.0, 3.0) == 3.0
    assert _logmean(1.0 + 1e-13, 1.0) == pytest.approx(1.0, rel=1e-12)  # the limit, not 0/0
    assert _logmean(8.0, 2.0, math.log(8.0), math.log(2.0)) == pytest.approx(6 / math.log(4.0), rel=1e-15)
    f = _combine([1, -1, 1])
    assert f([6.0, 3.0, 5.0]) == 10.0 and math.isnan(f([6.0, 0.0, 5.0]))
    # the closure puts the leftover on the largest part only
    d = split_detail("multiplicative", [100.0, 2.0], [120.0, 2.5])
    big = max(range(2), key=lambda i: abs(d.raw[i]))
    assert d.parts[1 - big] == d.raw[1 - big] and d.parts[big] == d.raw[big] + d.leftover
    assert d.change == pytest.approx(100.0)
    # a ratio whose denominator is zero at b: the change is not a number, nothing is closed
    n = split_detail("ratio", [1.0, 2.0], [1.0, 0.0], [1, -1])
    assert n.method == "shapley" and math.isnan(n.change) and math.isnan(n.leftover)
