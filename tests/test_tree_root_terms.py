"""Attribution read down a tree, in the root's terms (tree.in_root_terms): every row says what it did to the
root (net profit), so the children of a cost read as what they cost, and every level adds up to its parent."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kpi_lib.tree import KpiTree, attribute_values, in_root_terms

TREE = KpiTree.model_validate({"nodes": [
    {"kpi": "net_profit", "layer": "top"},
    {"kpi": "net_sales", "parent": "net_profit", "relation": "additive"},
    {"kpi": "ad_spend", "parent": "net_profit", "relation": "additive", "sign": -1},
    {"kpi": "tacos", "parent": "ad_spend", "relation": "multiplicative"},
    {"kpi": "gmv", "parent": "ad_spend", "relation": "multiplicative"},
]})


def _rows(a: dict, b: dict) -> dict[str, dict]:
    return {r["node"]: r for r in in_root_terms(TREE, attribute_values(TREE, a, b)).to_dict("records")}


def test_a_costs_parts_read_as_what_they_did_to_profit():
    """net profit 900 → 1,320 (+420): net sales +500, ad spend 100 → 180 costs −80. Ad spend = TACoS × GMV:
    LMDI weight L(180, 100) = 80 / ln 1.8 = 136.1038; TACoS 0.10 → 0.12: 136.1038 × ln 1.2 = 24.8147; GMV
    1,000 → 1,500: 136.1038 × ln 1.5 = 55.1853 (sum 80, ad spend's own change). To profit they are −24.8147
    and −55.1853 (sum −80); shares of the +420: 119.05 %, −19.05 %, −5.908 %, −13.139 %."""
    a = {"net_profit": 900.0, "net_sales": 1000.0, "ad_spend": 100.0, "tacos": 0.10, "gmv": 1000.0}
    b = {"net_profit": 1320.0, "net_sales": 1500.0, "ad_spend": 180.0, "tacos": 0.12, "gmv": 1500.0}
    raw = {r["node"]: r for r in attribute_values(TREE, a, b).to_dict("records")}
    assert raw["tacos"]["contribution"] == pytest.approx(24.8147, abs=1e-4)  # parts of ad spend's own change
    rows = _rows(a, b)
    weight = 80 / math.log(1.8)
    assert rows["net_profit"]["contribution"] == pytest.approx(420.0) and rows["net_profit"]["share"] == 1.0
    assert rows["net_sales"]["contribution"] == pytest.approx(500.0)
    assert rows["ad_spend"]["contribution"] == pytest.approx(-80.0)
    assert rows["tacos"]["contribution"] == pytest.approx(-weight * math.log(1.2), rel=1e-12)
    assert rows["gmv"]["contribution"] == pytest.approx(-weight * math.log(1.5), rel=1e-12)
    assert rows["tacos"]["contribution"] + rows["gmv"]["contribution"] == pytest.approx(rows["ad_spend"]["contribution"])
    assert [round(rows[k]["share"] * 100, 3) for k in ("net_sales", "ad_spend", "tacos", "gmv")] == \
        [119.048, -19.048, -5.908, -13.139]


def test_an_unchanged_cost_still_splits_into_what_its_parts_did_to_profit():
    """Ad spend 100 → 100 (no change) while TACoS 0.10 → 0.125 and GMV 1,000 → 800: its parts are
    L(100, 100) × ln 1.25 = +22.314 and 100 × ln 0.8 = −22.314 of ad spend; to profit −22.314 and +22.314."""
    a = {"net_profit": 900.0, "net_sales": 1000.0, "ad_spend": 100.0, "tacos": 0.10, "gmv": 1000.0}
    b = {"net_profit": 900.0, "net_sales": 1000.0, "ad_spend": 100.0, "tacos": 0.125, "gmv": 800.0}
    rows = _rows(a, b)
    assert rows["tacos"]["contribution"] == pytest.approx(-100 * math.log(1.25), rel=1e-9)
    assert rows["gmv"]["contribution"] == pytest.approx(100 * math.log(1.25), rel=1e-9)
    assert np.isnan(rows["tacos"]["share"])  # no change at the root: no share


def test_a_product_factor_unchanged_passes_its_weight_down():
    """GMV = sessions × AOV under profit (additive +): GMV unchanged 1,000 → 1,000 (sessions 100 → 125, AOV
    10 → 8) contributes 0, its parts ±1,000 × ln 1.25 = ±223.14; the factor of an unchanged product factor
    is L(P_a, P_b) / x (here P = x: 1), so profit reads the same ±223.14."""
    t = KpiTree.model_validate({"nodes": [
        {"kpi": "net_profit", "layer": "top"},
        {"kpi": "ad_spend", "parent": "net_profit", "relation": "additive", "sign": -1},
        {"kpi": "gmv", "parent": "ad_spend", "relation": "multiplicative"},
        {"kpi": "tacos", "parent": "ad_spend", "relation": "multiplicative"},
        {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
        {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"},
    ]})
    # ad spend 100 → 120 with GMV flat at 1,000 and TACoS 0.10 → 0.12: GMV's own change is 0
    a = {"net_profit": 500.0, "ad_spend": 100.0, "gmv": 1000.0, "tacos": 0.10, "sessions": 100.0, "aov": 10.0}
    b = {"net_profit": 480.0, "ad_spend": 120.0, "gmv": 1000.0, "tacos": 0.12, "sessions": 125.0, "aov": 8.0}
    rows = {r["node"]: r for r in in_root_terms(t, attribute_values(t, a, b)).to_dict("records")}
    # f(ad spend) = −1; f(gmv) = −1 × L(120, 100) / 1,000; sessions' part of GMV = L(1000, 1000) × ln 1.25
    f_gmv = -1 * ((120 - 100) / math.log(1.2)) / 1000.0
    assert rows["sessions"]["contribution"] == pytest.approx(f_gmv * 1000 * math.log(1.25), rel=1e-9)
    assert rows["sessions"]["contribution"] + rows["aov"]["contribution"] == pytest.approx(0.0, abs=1e-9)
    assert rows["gmv"]["contribution"] + rows["tacos"]["contribution"] == pytest.approx(-20.0)
