"""Formula checks written for mutation survivors (docs/testing.md): which KPI an error names, and
NumPy's floating-point flags during division."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_lib.definitions import Catalog, KpiDef, build_catalog
from kpi_lib.errors import DefinitionError
from kpi_lib.formula import dependency_order, evaluate, names, parse, required_measures, split_ratio


@pytest.mark.parametrize("call", [
    lambda: parse("gmv +", "net_margin"), lambda: names("gmv +", "net_margin"),
    lambda: split_ratio("gmv / ", "net_margin"), lambda: evaluate("gmv * (", {"gmv": 1.0}, "net_margin"),
    lambda: evaluate("gmv / other", {"gmv": 1.0}, "net_margin"),  # unknown name at evaluation
])
def test_an_error_names_the_kpi(call):
    with pytest.raises(DefinitionError, match=r"^KPI 'net_margin': "):
        call()


@pytest.mark.parametrize("call", [lambda: parse("gmv +"), lambda: names("gmv +"), lambda: split_ratio("a /"),
                                  lambda: evaluate("a ** 2", {"a": 1.0})])
def test_without_a_kpi_the_error_names_the_formula(call):
    with pytest.raises(DefinitionError, match=r"^formula: "):
        call()


def _catalog_with(formula: str) -> Catalog:
    base = build_catalog([])
    kpis = dict(base.kpis)
    kpis["broken"] = KpiDef.model_validate({**base.kpis["gmv"].model_dump(), "id": "broken", "formula": formula})
    return Catalog(kpis)  # built directly: build_catalog would refuse the formula before we get here


def test_dependency_order_and_required_measures_name_the_kpi_of_a_bad_formula():
    cat = _catalog_with("gmv_rc +")
    for fn in (dependency_order, required_measures):
        with pytest.raises(DefinitionError, match=r"^KPI 'broken': formula 'gmv_rc \+' is not valid"):
            fn(cat, ["broken"])


def test_division_raises_no_floating_point_error_even_when_numpy_would():
    """inf / inf is 'invalid' and x / 0 'divide' in NumPy; with errors set to raise (a notebook may do
    that) a KPI must still come out NaN, not raise."""
    a = pd.Series([np.inf, 1.0, 0.0, 2.0])
    b = pd.Series([np.inf, 0.0, 0.0, 4.0])
    with np.errstate(all="raise"):
        got = evaluate("a / b", {"a": a, "b": b})
        scalar = evaluate("a / b", {"a": np.float64(np.inf), "b": np.float64(np.inf)})
    assert got.isna().tolist() == [True, True, True, False] and got.iloc[3] == 0.5
    assert np.isnan(scalar)
