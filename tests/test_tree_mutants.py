"""KPI-tree details written for mutation survivors (issue 11): when ``attribute_values`` shows a
``(residual)`` row (the 1e-9 relative tolerance and what it is relative to) and the data check of
``validate_tree`` (tolerance floor, which node and which row the message names, rows it cannot judge).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kpi_lib.tree import KpiTree, attribute_values, validate_tree


def _t(nodes, **kw) -> KpiTree:
    return KpiTree.model_validate({"nodes": nodes, **kw})


ADDITIVE = _t([{"kpi": "net_profit", "layer": "top"},
               {"kpi": "gmv", "parent": "net_profit", "relation": "additive"},
               {"kpi": "cogs", "parent": "net_profit", "relation": "additive", "sign": -1}])


def _residual(a: dict, b: dict) -> float | None:
    df = attribute_values(ADDITIVE, a, b)
    r = df[df["relation"] == "residual"]
    return None if r.empty else float(r["contribution"].iloc[0])


def test_residual_row_tolerance_small_values() -> None:
    # values below 1: the tolerance is 1e-9 absolute (scale floored at 1.0)
    # gmv 0.5 → 0.75 (+0.25), cogs 0.25 → 0.25 (0): the children say +0.25
    a = {"net_profit": 0.25, "gmv": 0.5, "cogs": 0.25}
    assert _residual(a, {"net_profit": 0.5, "gmv": 0.75, "cogs": 0.25}) is None
    # parent off by 3e-9 (> 1e-9): a residual row of −3e-9
    r = _residual(a, {"net_profit": 0.5 + 3e-9, "gmv": 0.75, "cogs": 0.25})
    assert r == pytest.approx(3e-9, rel=1e-6)
    # off by 1.5e-9: still above 1e-9 × 1.0 (a floor of 2.0 would hide it)
    assert _residual(a, {"net_profit": 0.5 + 1.5e-9, "gmv": 0.75, "cogs": 0.25}) == pytest.approx(1.5e-9, rel=1e-6)
    # off by 0.5e-9: float noise, no row
    assert _residual(a, {"net_profit": 0.5 + 5e-10, "gmv": 0.75, "cogs": 0.25}) is None
    # off by 0.5: a real residual, whatever the tolerance
    assert _residual(a, {"net_profit": 1.0, "gmv": 0.75, "cogs": 0.25}) == pytest.approx(0.5)


def test_residual_row_tolerance_is_relative_to_values_and_parts() -> None:
    # large values: 1e6 → 1e6 + 1000; a gap of 1e-4 is below 1e-9 × 1e6 = 1e-3 (no row), 5e-3 is above
    a = {"net_profit": 1e6, "gmv": 2e6, "cogs": 1e6}
    assert _residual(a, {"net_profit": 1e6 + 1000 + 1e-4, "gmv": 2e6 + 1000, "cogs": 1e6}) is None
    assert _residual(a, {"net_profit": 1e6 + 1000 + 5e-3, "gmv": 2e6 + 1000, "cogs": 1e6}) == pytest.approx(5e-3,
                                                                                                           rel=1e-3)
    # only b is large (a = 0): the scale takes |b|
    z = {"net_profit": 0.0, "gmv": 0.0, "cogs": 0.0}
    assert _residual(z, {"net_profit": 1e6 + 1e-4, "gmv": 1e6, "cogs": 0.0}) is None
    # only a is large (b = 0)
    assert _residual({"net_profit": 1e6 + 1e-4, "gmv": 1e6, "cogs": 0.0}, z) is None
    # small parent, large parts that cancel: gmv +1e6, cogs +1e6 (−1e6 to profit); a gap of 1e-4 in the
    # parent is below 1e-9 × 1e6 (the parts' size), so it is noise
    assert _residual(z, {"net_profit": 1e-4, "gmv": 1e6, "cogs": 1e6}) is None
    # … but 0.5 is not
    assert _residual(z, {"net_profit": 0.5, "gmv": 1e6, "cogs": 1e6}) == pytest.approx(0.5)


def test_residual_share_and_missing_change() -> None:
    a = {"net_profit": 10.0, "gmv": 30.0, "cogs": 20.0}
    df = attribute_values(ADDITIVE, a, {"net_profit": 14.0, "gmv": 33.0, "cogs": 20.0}).set_index("node")
    # change +4, parts +3 and 0: residual +1 = 25 % of the change
    assert df.loc["net_profit:(residual)", "share"] == pytest.approx(0.25)
    assert df.loc["gmv", "share"] == pytest.approx(0.75)
    # the parent has no value at b: its change is missing, so no residual is made up
    nb = attribute_values(ADDITIVE, a, {"gmv": 33.0, "cogs": 20.0})
    assert not (nb["relation"] == "residual").any()
    assert math.isnan(nb.set_index("node").loc["net_profit", "contribution"])


def test_data_check_tolerance_floor_and_message() -> None:
    t = _t([{"kpi": "net_profit", "layer": "top"},
            {"kpi": "gmv", "parent": "net_profit", "relation": "additive"},
            {"kpi": "refunds", "parent": "net_profit", "relation": "additive", "sign": -1},
            {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
            {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"}])
    # gmv = sessions × aov; net_profit = gmv − refunds. Small values: tolerance 1e-6 × max(1, |actual|)
    data = pd.DataFrame({"period": ["p1", "p2", "p3", "p4"],
                         "net_profit": [0.3, 0.3, 0.3, float("nan")],
                         "gmv": [0.5, 0.5 + 2e-6, 0.5 + 3e-6, 9.0],
                         "refunds": [0.2, 0.2, 0.2, 0.0],
                         "sessions": [1.0, 1.0, 1.0, 3.0],
                         "aov": [0.5, 0.5, 0.5, 3.0]})
    issues = validate_tree(t, data, source="x.yaml")
    # gmv (nodes[1]) is off by 2e-6 and 3e-6 on p2, p3 (> 1e-6 × 1.0): 2 rows, the first one named;
    # net_profit (nodes[0]) is 0.3 vs 0.3 + 2e-6 and 0.3 + 3e-6 on p2, p3; p4 has no net_profit (not judged)
    assert [(i.path, i.code) for i in issues] == [("x.yaml: nodes[0]", "data"), ("x.yaml: nodes[1]", "data")]
    assert issues[1].message == ("relation of 'gmv' to its children does not hold on 2 row(s) of data "
                                 "(e.g. period p2: 0.500002 vs 0.5)")
    assert issues[0].message == ("relation of 'net_profit' to its children does not hold on 2 row(s) of data "
                                 "(e.g. period p2: 0.3 vs 0.300002)")
    # a looser tolerance passes them all
    assert validate_tree(t, data, tolerance=1e-5) == []


def test_data_check_skips_what_it_cannot_judge_and_goes_on() -> None:
    t = _t([{"kpi": "net_profit", "layer": "top"},
            {"kpi": "gmv", "parent": "net_profit", "relation": "additive"},
            {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
            {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"}])
    # no net_profit column: the root is not checked, but gmv (a later node) still is; the first row
    # has no sessions (not judged), the rows after it are
    data = pd.DataFrame({"period": ["p1", "p2", "p3"], "gmv": [5.0, 10.0, 12.0],
                         "sessions": [float("nan"), 5.0, 5.0], "aov": [1.0, 2.0, 2.0]})
    issues = validate_tree(t, data)
    assert [(i.path, i.code) for i in issues] == [("kpi_tree.yaml: nodes[1]", "data")]
    assert "on 1 row(s)" in issues[0].message and "period p3: 12 vs 10" in issues[0].message


def test_data_check_gap_exactly_at_the_tolerance_passes() -> None:
    t = _t([{"kpi": "gmv", "layer": "top"},
            {"kpi": "sessions", "parent": "gmv", "relation": "multiplicative"},
            {"kpi": "aov", "parent": "gmv", "relation": "multiplicative"}])
    # expected 1 × 2.5 = 2.5, actual 2.0: gap 0.5 = 0.25 × max(1, 2.0) exactly (binary-exact floats)
    data = pd.DataFrame({"period": ["p1"], "gmv": [2.0], "sessions": [1.0], "aov": [2.5]})
    assert validate_tree(t, data, tolerance=0.25) == []
    assert len(validate_tree(t, data, tolerance=0.2499)) == 1
