"""Attribution down paths the other tree tests never took (tree.attribute_values, tree.in_root_terms): a
ratio's denominator, a changed product factor with parts of its own, an unchanged factor under a product that
changes sign, unknown values, an empty tree. Every number is worked by hand in the test's docstring."""

from __future__ import annotations

import math

import pytest

from kpi_lib.tree import KpiTree, attribute_values, in_root_terms

ACOS = KpiTree.model_validate({"nodes": [
    {"kpi": "acos", "layer": "top"},
    {"kpi": "ad_spend", "parent": "acos", "relation": "ratio_numerator"},
    {"kpi": "net_sales", "parent": "acos", "relation": "ratio_denominator"},
    {"kpi": "sessions", "parent": "net_sales", "relation": "multiplicative"},
    {"kpi": "aov", "parent": "net_sales", "relation": "multiplicative"},
]})

PROFIT = KpiTree.model_validate({"nodes": [
    {"kpi": "net_profit", "layer": "top"},
    {"kpi": "net_sales", "parent": "net_profit", "relation": "additive"},
    {"kpi": "ad_spend", "parent": "net_profit", "relation": "additive", "sign": -1},
    {"kpi": "tacos", "parent": "ad_spend", "relation": "multiplicative"},
    {"kpi": "gmv", "parent": "ad_spend", "relation": "multiplicative"},
    {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
    {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"},
]})

A = {"net_profit": 900.0, "net_sales": 1000.0, "ad_spend": 100.0, "tacos": 0.10, "gmv": 1000.0,
     "sessions": 100.0, "aov": 10.0}
B = {"net_profit": 1320.0, "net_sales": 1500.0, "ad_spend": 180.0, "tacos": 0.12, "gmv": 1500.0,
     "sessions": 120.0, "aov": 12.5}


def _by_node(frame) -> dict[str, dict]:
    return {r["node"]: r for r in frame.to_dict("records")}


def test_a_ratio_splits_with_the_denominator_counted_against_it():
    """ACoS = ad spend / net sales, 100 / 1,000 = 0.10 → 150 / 1,200 = 0.125 (+0.025). LMDI weight
    L(0.125, 0.10) = 0.025 / ln 1.25; ad spend's part L × ln 1.5 = +0.045426, net sales' part
    L × (−1) × ln 1.2 = −0.020426 (more sales lower the ratio); together 0.025 × ln 1.25 / ln 1.25 = 0.025."""
    a = {"acos": 0.10, "ad_spend": 100.0, "net_sales": 1000.0, "sessions": 100.0, "aov": 10.0}
    b = {"acos": 0.125, "ad_spend": 150.0, "net_sales": 1200.0, "sessions": 120.0, "aov": 10.0}
    rows = _by_node(attribute_values(ACOS, a, b))
    weight = 0.025 / math.log(1.25)
    assert rows["ad_spend"]["contribution"] == pytest.approx(weight * math.log(1.5), rel=1e-12)
    assert rows["net_sales"]["contribution"] == pytest.approx(-weight * math.log(1.2), rel=1e-12)
    assert rows["net_sales"]["share"] == pytest.approx(-math.log(1.2) / math.log(1.25), rel=1e-12)
    assert rows["net_sales"]["method"] == "lmdi" and "acos:(residual)" not in rows


def test_an_unchanged_denominators_parts_read_against_the_ratio():
    """ACoS 100 / 1,000 = 0.10 → 120 / 1,000 = 0.12 with net sales flat (sessions 100 → 125, AOV 10 → 8):
    net sales' part of the ratio is 0, its own parts are ±L(1000, 1000) × ln 1.25 = ±223.14. Its factor
    is the limit −L(0.12, 0.10) / 1,000 (a denominator: −1), so in ACoS points sessions read
    −(0.02 / ln 1.2) × ln 1.25 = −0.024478 (more sessions at the same ad spend lower the ratio) and AOV
    +0.024478; ad spend reads the whole +0.02."""
    a = {"acos": 0.10, "ad_spend": 100.0, "net_sales": 1000.0, "sessions": 100.0, "aov": 10.0}
    b = {"acos": 0.12, "ad_spend": 120.0, "net_sales": 1000.0, "sessions": 125.0, "aov": 8.0}
    rows = _by_node(in_root_terms(ACOS, attribute_values(ACOS, a, b)))
    part = 0.02 * math.log(1.25) / math.log(1.2)
    assert rows["ad_spend"]["contribution"] == pytest.approx(0.02, rel=1e-12)
    assert rows["sessions"]["contribution"] == pytest.approx(-part, rel=1e-9)
    assert rows["aov"]["contribution"] == pytest.approx(part, rel=1e-9)
    assert rows["sessions"]["share"] == pytest.approx(-part / 0.02, rel=1e-9)


def test_a_changed_product_factors_parts_carry_its_root_factor():
    """Net profit 900 → 1,320; ad spend (−) = TACoS × GMV 100 → 180, GMV = sessions × AOV 1,000 → 1,500
    (sessions 100 → 120, AOV 10 → 12.5). With w = L(180, 100) = 80 / ln 1.8, GMV reads −w × ln 1.5 of
    profit; its factor is that over its own change (−w × ln 1.5 / 500), and its parts of GMV are
    L(1500, 1000) × ln 1.2 and × ln 1.25 with L(1500, 1000) = 500 / ln 1.5, so in profit sessions read
    −w × ln 1.2 = −24.8147 and AOV −w × ln 1.25 = −30.3707 (sum −w × ln 1.5 = −55.1853, GMV's)."""
    rows = _by_node(in_root_terms(PROFIT, attribute_values(PROFIT, A, B)))
    w = 80 / math.log(1.8)
    assert rows["gmv"]["contribution"] == pytest.approx(-w * math.log(1.5), rel=1e-12)
    assert rows["sessions"]["contribution"] == pytest.approx(-w * math.log(1.2), rel=1e-9)
    assert rows["aov"]["contribution"] == pytest.approx(-w * math.log(1.25), rel=1e-9)
    assert rows["aov"]["share"] == pytest.approx(-w * math.log(1.25) / 420, rel=1e-9)


MARGIN = KpiTree.model_validate({"nodes": [
    {"kpi": "profit", "layer": "top"},
    {"kpi": "margin", "parent": "profit", "relation": "multiplicative"},
    {"kpi": "net_sales", "parent": "profit", "relation": "multiplicative"},
    {"kpi": "sessions", "parent": "net_sales", "relation": "multiplicative"},
    {"kpi": "aov", "parent": "net_sales", "relation": "multiplicative"},
]})


@pytest.mark.parametrize(("m_a", "m_b"), [(-0.01, 0.02), (0.02, -0.01), (0.0, 0.02)])
def test_an_unchanged_factor_under_a_sign_change_has_no_root_factor(m_a, m_b):
    """Profit = margin × net sales with net sales flat at 1,000 (sessions 100 → 125, AOV 10 → 8) and the
    margin crossing or leaving zero: the split is Shapley, the margin takes the whole change 1,000 × Δm
    and net sales 0. No log-mean weight exists across zero, so net sales' parts read NaN in profit's
    terms (unknown, not 0 and not an error)."""
    a = {"profit": m_a * 1000, "margin": m_a, "net_sales": 1000.0, "sessions": 100.0, "aov": 10.0}
    b = {"profit": m_b * 1000, "margin": m_b, "net_sales": 1000.0, "sessions": 125.0, "aov": 8.0}
    rows = _by_node(in_root_terms(MARGIN, attribute_values(MARGIN, a, b)))
    assert rows["margin"]["contribution"] == pytest.approx(1000 * (m_b - m_a), rel=1e-12)
    assert rows["net_sales"]["contribution"] == 0.0
    for k in ("sessions", "aov"):
        assert math.isnan(rows[k]["contribution"]) and math.isnan(rows[k]["share"])


def test_an_unknown_value_leaves_its_branch_unknown():
    """Next month's GMV unknown (None in the data): ad spend's own change is still known (−80 of profit), but
    its split into TACoS and GMV is "missing" (NaN), and so are GMV's parts in profit's terms: without GMV's
    change there is no factor to carry sessions and AOV up (they must not read as if GMV were unchanged)."""
    b = dict(B, gmv=None)
    raw = _by_node(attribute_values(PROFIT, A, b))
    assert math.isnan(raw["gmv"]["value_b"]) and raw["gmv"]["value_a"] == 1000.0
    assert raw["tacos"]["method"] == raw["gmv"]["method"] == "missing"
    assert math.isnan(raw["tacos"]["contribution"])
    rows = _by_node(in_root_terms(PROFIT, attribute_values(PROFIT, A, b)))
    assert rows["ad_spend"]["contribution"] == -80.0 and rows["net_sales"]["contribution"] == 500.0
    for k in ("tacos", "gmv", "sessions", "aov"):
        assert math.isnan(rows[k]["contribution"]), k


def test_an_empty_tree_gives_the_frame_with_its_columns():
    frame = attribute_values(KpiTree.model_validate({"nodes": []}), {}, {})
    assert frame.empty and list(frame.columns) == ["node", "kpi", "parent", "relation", "layer", "value_a",
                                                   "value_b", "contribution", "share", "method"]
    assert in_root_terms(KpiTree.model_validate({"nodes": []}), frame).empty
