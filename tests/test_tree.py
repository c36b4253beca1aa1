"""KPI trees: validation with YAML paths, save refuses invalid trees, exact LMDI attribution."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from engine_fixtures import make_project, make_warehouse
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_lib.errors import DefinitionError
from kpi_lib.metrics import compute
from kpi_lib.tree import (
    KpiTree,
    attribute,
    attribute_values,
    default_tree,
    load_tree,
    save_tree,
    split_change,
    validate_tree,
)


def _tree(nodes, **kw):
    return KpiTree.model_validate({"nodes": nodes, **kw})


def test_default_tree_is_valid_and_shipped():
    assert validate_tree(default_tree()) == []
    assert [n.id for n in load_tree().nodes] == [n.id for n in default_tree().nodes]


def test_cycle_rejected_with_its_path(tmp_path):
    t = _tree([
        {"kpi": "net_profit", "parent": None, "layer": "top"},
        {"kpi": "gmv", "parent": "aov", "layer": "middle"},
        {"kpi": "cvr", "parent": "gmv", "layer": "middle"},
        {"kpi": "aov", "parent": "cvr", "layer": "middle"},
    ])
    issues = validate_tree(t)
    cyc = [i for i in issues if i.code == "cycle"]
    assert len(cyc) == 1
    msg = str(cyc[0])
    assert "kpi_tree.yaml: nodes[" in msg and ".parent" in msg
    assert any(p in msg for p in ("gmv -> aov -> cvr -> gmv", "aov -> cvr -> gmv -> aov", "cvr -> gmv -> aov -> cvr"))
    with pytest.raises(DefinitionError, match="cycle"):
        save_tree(t, tmp_path / "kpi_tree.yaml")
    assert not (tmp_path / "kpi_tree.yaml").exists()


def test_all_issues_collected_with_paths():
    t = _tree([
        {"kpi": "net_profit", "parent": None, "layer": "top"},
        {"kpi": "net_margin", "parent": None, "layer": "top"},
        {"kpi": "not_a_kpi", "parent": "net_profit", "relation": "additive"},
        {"kpi": "gmv", "parent": "nowhere"},
        {"kpi": "cogs", "parent": "net_profit", "relation": "multiplicative"},
    ])
    issues = validate_tree(t)
    codes = {i.code for i in issues}
    assert {"unknown_kpi", "unknown_parent", "roots", "relation"} <= codes
    assert any(i.path == "kpi_tree.yaml: nodes[2].kpi" for i in issues)
    assert any(i.path == "kpi_tree.yaml: nodes[3].parent" for i in issues)


def test_relation_checked_on_data():
    t = _tree([{"kpi": "gmv", "parent": None, "layer": "top"},
               {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
               {"kpi": "cvr", "parent": "gmv", "relation": "multiplicative"}])
    data = pd.DataFrame({"period": ["2026-01"], "gmv": [100.0], "sessions": [10.0], "cvr": [0.5]})
    issues = validate_tree(t, data)
    assert [i.code for i in issues] == ["data"] and "2026-01" in issues[0].message
    data["cvr"] = 10.0
    assert validate_tree(t, data) == []


def test_save_and_reload_roundtrip(tmp_path):
    p = save_tree(default_tree(), tmp_path / "kpi_tree.yaml")
    assert load_tree(p) == default_tree()


pos = st.floats(min_value=1e-3, max_value=1e6, allow_nan=False)
anyv = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(pos, pos), min_size=1, max_size=5))
def test_lmdi_multiplicative_sums_to_change(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    parts, method = split_change("multiplicative", a, b)
    assert method == "lmdi"
    ch = math.prod(b) - math.prod(a)
    assert sum(parts) == pytest.approx(ch, rel=1e-9, abs=1e-9 * max(1.0, math.prod(a), math.prod(b)))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(anyv, anyv), min_size=1, max_size=4))
def test_fallback_with_zeros_and_sign_changes_sums_to_change(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    parts, _ = split_change("multiplicative", a, b)
    ch = math.prod(b) - math.prod(a)
    scale = math.prod(max(1.0, abs(x), abs(y)) for x, y in pairs)
    assert math.fsum(parts) == pytest.approx(ch, rel=1e-9, abs=1e-12 * scale)


@settings(max_examples=60, deadline=None)
@given(pos, pos, pos, pos, pos, pos, anyv, anyv, anyv, anyv)
def test_attribution_over_a_tree_sums_exactly(s_a, s_b, c_a, c_b, o_a, o_b, r_a, r_b, k_a, k_b):
    """net = gmv − refunds − cogs; gmv = sessions × cvr × aov: children sum to each parent's change."""
    t = _tree([
        {"kpi": "net_profit", "parent": None, "layer": "top"},
        {"kpi": "gmv", "parent": "net_profit", "relation": "additive"},
        {"kpi": "refunds", "parent": "net_profit", "relation": "additive", "sign": -1},
        {"kpi": "cogs", "parent": "net_profit", "relation": "additive", "sign": -1},
        {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
        {"kpi": "cvr", "parent": "gmv", "relation": "multiplicative"},
        {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"},
        {"kpi": "acos", "parent": "gmv"},
    ])
    def vals(s, c, o, r, k):
        g = s * c * o
        return {"sessions": s, "cvr": c, "aov": o, "gmv": g, "refunds": r, "cogs": k, "net_profit": g - r - k, "acos": 0.2}
    a, b = vals(s_a, c_a, o_a, r_a, k_a), vals(s_b, c_b, o_b, r_b, k_b)
    df = attribute_values(t, a, b)
    assert "residual" not in set(df["method"])
    for parent in ("net_profit", "gmv"):
        kids = df[(df["parent"] == parent) & (df["relation"] != "informational")]
        gap = b[parent] - a[parent]
        assert kids["contribution"].sum() == pytest.approx(gap, rel=1e-7, abs=1e-6 * max(1.0, abs(a[parent]), abs(b[parent])))
    assert np.isnan(df.loc[df["kpi"] == "acos", "contribution"]).all()


def test_ratio_attribution_and_real_data(tmp_path, monkeypatch):
    parts, method = split_change("ratio", [50.0, 200.0], [60.0, 300.0], [1, -1])
    assert method == "lmdi" and sum(parts) == pytest.approx(60 / 300 - 50 / 200)
    root = make_project(tmp_path)
    monkeypatch.setenv("KPI_ROOT", str(root))
    wh, _ = make_warehouse(root / "wh")
    df = attribute(default_tree(), period_a="2025-10", period_b="2025-11", warehouse=wh)
    assert df.iloc[0]["node"] == "net_margin"
    for parent in df["node"]:
        kids = df[(df["parent"] == parent) & df["relation"].isin(
            ["additive", "multiplicative", "ratio_numerator", "ratio_denominator", "residual"])]
        if len(kids):
            row = df[df["node"] == parent].iloc[0]
            assert kids["contribution"].sum() == pytest.approx(row["value_b"] - row["value_a"], rel=1e-6, abs=1e-9)
    # the relations of the default tree hold on the data
    data = compute(sorted({n.kpi for n in default_tree().nodes}), by=["store_id"], period="month", warehouse=wh)
    assert validate_tree(default_tree(), data) == []
    # against targets: contributions still sum to the gap of the root
    tg = attribute(default_tree(), period_a="2025-11", targets={"gmv": 1e6}, warehouse=wh, root="gmv")
    assert tg.iloc[0]["value_a"] == 1e6
