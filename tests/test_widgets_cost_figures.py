"""Cost explorer first-time paths (issue 13.4): every filter choice is answered from the set-based
queries made at open, with the figures ``kpi_lib.costs`` gives for that entity on its own.

A spy counts the engine calls of the panel (``CostFigures.queries``) and the statements its shared
DuckDB connection runs (``CachedWarehouse.stats``): after open, changing platform, marketplace, store,
category or month runs none. The figures are compared with ``costs.waterfall`` /
``costs.unit_economics`` on another warehouse object, one entity at a time (an independent path: one
engine query per entity filtered to it, no ``rows=``). Timing is not asserted.
"""

from __future__ import annotations

import pandas as pd
import pytest

from kpi_lib import costs, metrics
from kpi_lib.warehouse import Warehouse
from kpi_lib.widgets.cache import CachedWarehouse
from kpi_lib.widgets.cost_explorer import CostExplorer


@pytest.fixture(scope="module")
def app(demo_env_module):
    return CostExplorer(lang="en")




def _same_waterfall(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got["step"]) == list(want["step"])
    assert got["amount_rc"].tolist() == pytest.approx(want["amount_rc"].tolist(), abs=0.005, nan_ok=True)
    for col in ("complete", "stores_covered", "stores_total"):
        assert got[col].tolist() == want[col].tolist(), col


def _same_units(got: pd.DataFrame, want: pd.DataFrame) -> None:
    g = got.sort_values("sku").reset_index(drop=True)
    w = want.sort_values("sku").reset_index(drop=True)
    assert g["sku"].tolist() == w["sku"].tolist()
    for col in ("units", "net_sales", "contribution_per_unit", "margin"):
        assert g[col].tolist() == pytest.approx(w[col].tolist(), abs=0.005, nan_ok=True), col
    assert g["cost_missing"].tolist() == w["cost_missing"].tolist()


def _counts(app) -> tuple[int, int]:
    return app.figures.queries, app.warehouse.stats["executed"]


def test_every_filter_choice_answers_from_the_open_queries(app):
    plain = CachedWarehouse()  # its own connection: per-entity queries, nothing shared with the panel
    month = str(app.period.value)
    opened = _counts(app)
    # the demo ran `kpi compute`: waterfall rows (every entity, month and quarter) and SKU rows come from the
    # stored tables; the one query at open is the month's overheads
    assert app.figures.stored_last is not None
    assert app.figures.queries == 1
    _same_waterfall(app.waterfall_frame, costs.waterfall("company", None, month, warehouse=plain))
    _same_units(app.unit_frame, costs.unit_economics("company", None, month, warehouse=plain))

    platforms = [v for _l, v in app.platform.options if v]
    assert len(platforms) >= 2
    for i, p in enumerate(platforms):
        app.platform.value = p
        assert app.status.kind != "error"
        _same_waterfall(app.waterfall_frame, costs.waterfall("platform", p, month, warehouse=plain))
        if i == 0:
            _same_units(app.unit_frame, costs.unit_economics("platform", p, month, warehouse=plain))
    app.platform.value = ""
    for i, s in enumerate([v for _l, v in app.store.options if v][:3]):
        app.store.value = s
        _same_waterfall(app.waterfall_frame, costs.waterfall("store", s, month, warehouse=plain))
        if i == 0:
            _same_units(app.unit_frame, costs.unit_economics("store", s, month, warehouse=plain))
    app.store.value = ""
    market = next(v for _l, v in app.marketplace.options if v)
    app.marketplace.value = market
    _kind, ids = app.entity()
    _same_waterfall(app.waterfall_frame, costs.waterfall("store", None, month, warehouse=plain, stores=ids))
    app.marketplace.value = ""
    # no engine call and no DuckDB statement for any of these choices
    assert _counts(app) == opened

    # another finished month: its waterfall and SKU rows are stored; its overheads are one query
    other = [v for lbl, v in app.period.options if len(v) == 7 and v != month and "·" not in lbl][1]
    app.period.value = other
    figures_after = app.figures.queries
    _same_waterfall(app.waterfall_frame, costs.waterfall("company", None, other, warehouse=plain))
    _same_units(app.unit_frame, costs.unit_economics("company", None, other, warehouse=plain))
    assert figures_after == opened[0] + 1
    app.platform.value = platforms[0]
    assert app.figures.queries == figures_after
    app.platform.value = ""
    app.period.value = month
    assert app.figures.queries == figures_after


def test_a_quarter_is_one_more_set_based_query_then_free(app):
    plain = CachedWarehouse()
    q = next(v for lbl, v in app.period.options if "Q" in v and "·" not in lbl)
    before = app.figures.queries
    app.period.value = q
    after = app.figures.queries
    assert after - before == 1  # the quarter's overheads (waterfall and SKU rows are stored)
    _same_waterfall(app.waterfall_frame, costs.waterfall("company", None, q, warehouse=plain))
    p = next(v for _l, v in app.platform.options if v)
    app.platform.value = p
    _same_waterfall(app.waterfall_frame, costs.waterfall("platform", p, q, warehouse=plain))
    assert app.figures.queries == after
    app.platform.value = ""


def test_grains_with_complete_for_equal_single_queries(demo_env_module):
    """metrics.compute_long_grains(complete_for=…) gives each grain's compute_long rows."""
    wh = Warehouse()
    month = wh.data_months()[-2]
    got = metrics.compute_long_grains(["gmv", "net_profit"], {"c": None, "p": "platform"}, period="month",
                                      start=month, end=month, warehouse=wh, complete_for="net_profit")
    for name, by in (("c", []), ("p", ["platform"])):
        want = metrics.compute_long(["gmv", "net_profit"], by=by, period="month", start=month, end=month,
                                    warehouse=wh, complete_for="net_profit")
        keys = [*by, "period", "kpi"]
        g = got[name].sort_values(keys).reset_index(drop=True)
        w = want.sort_values(keys).reset_index(drop=True)
        assert g["value"].tolist() == pytest.approx(w["value"].tolist(), nan_ok=True)
        assert g["stores_covered"].tolist() == w["stores_covered"].tolist()


def test_an_unstored_month_asks_the_engine_and_the_posted_basis_is_stored(app):
    """`kpi demo` stores up to the last finished month: the month "to date" is a live set-based query, a
    finished month's posted basis is stored; both with the figures ``kpi_lib.costs`` gives on its own."""
    plain = CachedWarehouse()
    open_month = next((v for lbl, v in app.period.options if "·" in lbl and len(v) == 7), None)
    assert open_month is not None and not app.figures.stored_covers(open_month)
    before = app.figures.queries
    app.period.value = open_month
    assert app.figures.queries == before + 3  # waterfall rows (every month), its SKU rows, its overheads
    _same_waterfall(app.waterfall_frame, costs.waterfall("company", None, open_month, warehouse=plain))
    _same_units(app.unit_frame, costs.unit_economics("company", None, open_month, warehouse=plain))
    month = next(v for lbl, v in app.period.options if len(v) == 7 and "·" not in lbl)
    app.period.value = month
    before = app.figures.queries
    app.basis.value = "posted"
    assert app.figures.queries == before  # stored by `kpi compute`
    _same_waterfall(app.waterfall_frame, costs.waterfall("company", None, month, basis="posted", warehouse=plain))
    app.basis.value = "order"
