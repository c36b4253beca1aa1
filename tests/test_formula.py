"""Safe formulas: allow-list parsing, dependency order with cycles, vectorised evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_lib.definitions import KpiSpec, build_catalog
from kpi_lib.errors import DefinitionError
from kpi_lib.formula import dependency_order, evaluate, names, parse, required_measures, split_ratio


@pytest.mark.parametrize("bad,token", [
    ("__import__('os')", "__import__"),
    ("a.b", "a.b"),
    ("x[0]", "x[0]"),
    ("lambda: 1", "lambda"),
    ("a < b", "a < b"),
    ("'text'", "'text'"),
    ("a if b else c", "a if b else c"),
    ("open('f')", "open"),
    ("min(a, key=b)", "min(a, key=b)"),
    ("gmv ** 2", "Pow"),
    ("(gmv).__class__", "__class__"),
    ("[gmv]", "[gmv]"),
    ("gmv; orders", "orders"),
])
def test_injection_and_non_arithmetic_rejected(bad, token):
    with pytest.raises(DefinitionError) as e:
        parse(bad, "evil")
    assert "'evil'" in str(e.value)
    assert token in str(e.value)


def test_allowed_syntax_and_names():
    assert names("max(gmv - refunds, 0) / abs(-orders) + 2.5", "k") == {"gmv", "refunds", "orders"}
    assert split_ratio("(a - b) / c", "k") == ("a - b", "c")
    assert split_ratio("a - b", "k") is None


def test_evaluate_vectorised_and_division_by_zero():
    env = {"a": pd.Series([1.0, 2.0, 3.0]), "b": pd.Series([0.0, 4.0, -1.0])}
    r = evaluate("a / b", env, "k")
    assert np.isnan(r[0]) and r[1] == 0.5 and r[2] == -3.0
    assert list(evaluate("max(a, b) - min(a, 1) + abs(b)", env, "k")) == [0.0, 7.0, 3.0]
    assert evaluate("a / 0", {"a": 2.0}, "k") != evaluate("a / 0", {"a": 2.0}, "k")  # NaN


def test_dependency_order_and_cycles():
    cat = build_catalog([])
    order = dependency_order(cat, ["net_margin"])
    assert order.index("net_sales") < order.index("net_profit") < order.index("net_margin")
    assert "gmv_rc" in required_measures(cat, ["aov"]) and "order_count" in required_measures(cat, ["aov"])
    spec = [KpiSpec(id="ka", zh="a", en="a", unit="count", direction="up", formula="kb + 1"),
            KpiSpec(id="kb", zh="b", en="b", unit="count", direction="up", formula="kc * 2"),
            KpiSpec(id="kc", zh="c", en="c", unit="count", direction="up", formula="ka - gmv")]
    with pytest.raises(DefinitionError, match=r"ka -> kb -> kc -> ka"):
        build_catalog(spec)


def test_unknown_name_is_an_error():
    spec = [KpiSpec(id="kx", zh="x", en="x", unit="count", direction="up", formula="gmv / nonexistent")]
    with pytest.raises(DefinitionError, match="nonexistent"):
        build_catalog(spec)
