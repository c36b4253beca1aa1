"""Formula evaluation against hand-worked numbers, operator by operator (from mutation survivors:
multiplication, unary minus and scalar division were never evaluated by test_formula.py)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kpi_lib.definitions import KpiSpec, build_catalog
from kpi_lib.errors import DefinitionError
from kpi_lib.formula import dependency_order, evaluate, required_measures


@pytest.mark.parametrize("formula,want", [
    ("a * b", 12.0),            # 3 × 4
    ("a - b", -1.0),
    ("a + b", 7.0),
    ("b / a", 4 / 3),
    ("-a + b", 1.0),            # unary minus
    ("+a", 3.0),
    ("-(a - b) * 2", 2.0),
    ("a * b / (a + b)", 12 / 7),
    ("max(a, b, 10) - min(a, b)", 7.0),
    ("abs(a - b) * 1.5", 1.5),
    ("a / 2", 1.5),
])
def test_scalar_arithmetic(formula: str, want: float) -> None:
    assert evaluate(formula, {"a": 3.0, "b": 4.0}, "k") == pytest.approx(want, rel=1e-15)


def test_series_arithmetic_and_division_by_zero() -> None:
    env = {"a": pd.Series([2, 3, 4]), "b": pd.Series([5.0, 0.0, 0.5])}  # ints become float64
    r = evaluate("a * b", env, "k")
    assert r.dtype == "float64" and list(r) == [10.0, 0.0, 2.0]
    assert list(evaluate("-a", env, "k")) == [-2.0, -3.0, -4.0]
    q = evaluate("a / b", env, "k")
    assert q[0] == 0.4 and math.isnan(q[1]) and q[2] == 8.0
    z = evaluate("a / 0", env, "k")  # a Series over a scalar zero: a Series of NaN, not inf
    assert isinstance(z, pd.Series) and z.isna().all() and len(z) == 3
    assert math.isnan(evaluate("1 / b", {"b": float("nan")}, "k"))
    assert evaluate("1 / b", {"b": 4.0}, "k") == 0.25


def test_runtime_unknown_name_names_the_kpi() -> None:
    with pytest.raises(DefinitionError, match=r"KPI 'margin_x': unknown name 'b'"):
        evaluate("a * -b", {"a": 1.0}, "margin_x")
    with pytest.raises(DefinitionError, match=r"KPI 'margin_z': unknown name 'c'"):
        evaluate("c * a", {"a": 1.0}, "margin_z")
    with pytest.raises(DefinitionError, match=r"KPI 'margin_y': unknown name 'c'"):
        evaluate("max(a, c)", {"a": 1.0}, "margin_y")


def test_dependency_order_visits_a_shared_kpi_once_and_needs_only_measures() -> None:
    cat = build_catalog([])
    # net_margin uses net_profit and net_sales; net_profit uses net_sales too: listed once, before both
    order = dependency_order(cat, ["net_margin", "net_sales"])
    assert order.count("net_sales") == 1 and len(order) == len(set(order))
    assert order[-1] == "net_margin"
    req = required_measures(cat, ["net_margin"])
    assert req and all(m in cat.measures and m not in cat.kpis for m in req)
    assert "gmv" not in req and "gmv_rc" in req  # a KPI is never a required measure
    spec = [KpiSpec(id="kz", zh="z", en="z", unit="count", direction="up", formula="gmv / nothing_here")]
    with pytest.raises(DefinitionError, match=r"KPI 'kz': formula .* refers to unknown name 'nothing_here' "
                                              r"\(not a measure or KPI"):
        build_catalog(spec)


def test_min_max_are_elementwise() -> None:
    env = {"a": pd.Series([1.0, 5.0]), "b": pd.Series([3.0, 2.0])}
    assert list(evaluate("min(a, b)", env, "k")) == [1.0, 2.0]
    assert list(evaluate("max(a, b)", env, "k")) == [3.0, 5.0]
    assert np.isnan(evaluate("max(a, b) / 0", {"a": 1.0, "b": 2.0}, "k"))
