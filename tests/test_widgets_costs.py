"""Cost explorer: one overhead figure per store and month; an error replaces the results (issue 13.3).

Driven without a browser on the shared demo project (read-only). The overhead figure is checked
against a hand-written DuckDB query over the stored allocation.
"""

from __future__ import annotations

import duckdb
import pytest

from kpi_lib import costs
from kpi_lib.errors import ConfigError
from kpi_lib.warehouse import Warehouse
from kpi_lib.widgets.cost_explorer import CostExplorer

STORE = "AMZ-US-01"


@pytest.fixture
def explorer(demo_env, monkeypatch):
    monkeypatch.setenv("KPI_HEADLESS", "1")
    return CostExplorer(lang="en")


def test_one_overhead_figure_per_store_and_month(explorer):
    app = explorer
    month = app.period.value
    assert len(month) == 7  # the default is a finished month
    app.store.value = STORE
    wf = app.waterfall_frame
    in_waterfall = -float(wf.loc[wf["step"] == "overheads", "amount_rc"].iloc[0])
    table = float(app.overhead_frame["amount_rc"].sum())
    wh = Warehouse()
    con = duckdb.connect()
    hand = con.execute(
        f"SELECT sum(amount_rc) FROM {wh.scan_sql('overhead_allocations')} "
        "WHERE CAST(store_id AS VARCHAR) = ? AND substr(CAST(month AS VARCHAR), 1, 7) = ?", [STORE, month]
    ).fetchone()[0]
    assert hand and hand > 0
    assert in_waterfall == pytest.approx(hand, abs=0.01)
    assert table == pytest.approx(hand, abs=0.01)
    assert app.configured_overheads == pytest.approx(hand, abs=0.01)
    assert "the same figure as in the waterfall" in app.overhead_table.value

    # another basis is a labelled what-if next to the one figure, never a second "overheads" figure
    app.alloc_basis.value = "net_sales"
    whatif = float(app.overhead_frame["amount_rc"].sum())
    assert app.configured_overheads == pytest.approx(hand, abs=0.01)
    assert "If every item were allocated by net sales" in app.overhead_table.value
    assert f"{hand:,.2f} CNY" in app.overhead_table.value
    alloc = costs.allocate_overheads(month, basis="net_sales", warehouse=wh)
    assert whatif == pytest.approx(float(alloc.loc[alloc["store_id"] == STORE, "amount_rc"].sum()), abs=0.01)


def test_error_clears_previous_results_and_says_what_to_do(explorer, monkeypatch):
    app = explorer
    app.store.value = STORE
    assert not app.waterfall_frame.empty and app.waterfall_table.value and app.unit_table.value
    app.figure_out.outputs = ({"output_type": "display_data", "data": {"text/plain": "old chart"}, "metadata": {}},)
    real = costs.waterfall

    def failing(kind, entity, period=None, **kw):
        if period and period.endswith("Q2"):
            raise ConfigError("no FX rate for USD in 2025-04; add it to data/reference/fx_rates.csv")
        return real(kind, entity, period=period, **kw)

    monkeypatch.setattr(costs, "waterfall", failing)
    quarter = next(v for _l, v in app.period.options if v.endswith("Q2"))
    app.period.value = quarter
    assert app.status.kind == "error"
    assert "USD" in app.status.text and "2025-04" in app.status.text and "fx_rates.csv" in app.status.text
    assert app.figure_out.outputs == ()
    assert app.waterfall_frame.empty and app.unit_frame.empty and app.overhead_frame.empty
    assert app.waterfall_table.value == "" and app.unit_table.value == "" and app.overhead_table.value == ""
    assert app.details.children  # the technical part sits in the collapsed details accordion
    assert not app.bar.is_busy and not app.period.disabled  # the busy state is released after an error

    # a good selection afterwards draws again
    app.period.value = next(v for _l, v in app.period.options if len(v) == 7)
    assert app.status.kind != "error" and not app.waterfall_frame.empty and not app.details.children


def test_language_switch_and_money_format(explorer):
    app = explorer
    app.store.value = STORE
    assert "Amount (CNY)" in app.waterfall_table.value
    app.set_language("zh")
    assert app.language.value == "zh" and app.store.value == STORE
    assert "金额 (CNY)" in app.waterfall_table.value and "店铺" == app.store.description
    assert "%" in app.waterfall_table.value  # rates as percentages
    fig = app.figure()
    assert fig.layout.title.text.startswith("从 GMV 到净利润")
    ticks = list(fig.layout.yaxis.ticktext)  # money ticks in the report's words (¥50万), not 500,000.00
    assert ticks and all(t.startswith(("¥", "-¥")) and not t.endswith(".00") for t in ticks), ticks
