"""Target setting without engine queries on a KPI change (issue 13.4): the panel reads the rows `kpi compute`
stored (``kpi_values``) once at open and hands the library its slices (``kpi_growth_target(rows=…)``,
``cascade(history=…)``), with the figures the library gives on its own.

A spy counts every engine query (``metrics._compute``, which ``compute`` and ``compute_long`` run) and
the statements of the panel's shared DuckDB connection: after open, KPI changes over money, counts,
ratios, a median, a calendar-day KPI and four entity kinds run none. Every figure is compared with the
library's direct call on another warehouse object (growth base and top target, every store × month of
the cascade, every actual of the chart). Timing is not asserted.
"""

from __future__ import annotations

import pandas as pd
import pytest

from kpi_lib import metrics
from kpi_lib.compute import stored_is_fresh
from kpi_lib.periods import last_year, period_bounds
from kpi_lib.targets import Target, cascade, kpi_growth_target
from kpi_lib.warehouse import Warehouse
from kpi_lib.widgets.target_setting import TargetSetting

# money, calendar days, counts, ratios: every way a stored row could differ from a direct one
KPIS = ["net_sales", "net_profit", "gmv", "orders", "acos", "net_margin", "inventory_days", "cvr", "tacos"]
# KPIs without coverage sources (a median of tickets, activities, refunds): the chart's store months are one
# query of that KPI on first use (a stored row of another KPI's data is 0 or NaN, not "no row")
UNCOVERED = ["first_response_hours", "new_listings", "refunds"]


@pytest.fixture(scope="module")
def env(demo_env_module):
    return demo_env_module


class Spy:
    """Counts engine queries while ``on``."""

    def __init__(self, mp: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self.on = True
        real = metrics._compute

        def counting(*a, **kw):
            if self.on:
                self.calls += 1
            return real(*a, **kw)

        mp.setattr(metrics, "_compute", counting)


def _direct(app: TargetSetting, plain: Warehouse) -> None:
    """The panel's figures equal the library's direct calls (their own engine queries)."""
    kpi, kind = app.kpi.value, app.entity_kind.value
    eid = app.entity_id.value if kind != "company" else None
    period = str(app.period.value)
    g = kpi_growth_target(kpi, kind, eid, period, float(app.growth.value), plain)
    assert app.status.kind != "error", (kpi, kind, eid, app.status.text)
    assert app.last_year_value == pytest.approx(g.base, rel=1e-9), (kpi, kind, eid)
    total = g.value
    t = Target.model_validate({"kpi": kpi, "entity_kind": kind, "entity_id": eid, "period": period,
                               "value": total, "cascade": True, "ramp_months": int(app.ramp_months.value)})
    want = cascade(t, warehouse=plain, ramp_months=int(app.ramp_months.value), value=total)
    keys = ["entity_id", "period"]
    got = app.result.sort_values(keys).reset_index(drop=True)
    want = want.sort_values(keys).reset_index(drop=True)
    assert got[keys].values.tolist() == want[keys].values.tolist()
    assert got["value"].tolist() == pytest.approx(want["value"].tolist(), rel=1e-9, abs=1e-9), (kpi, kind, eid)
    assert got["method"].tolist() == want["method"].tolist()
    # the chart's actuals: every store × month the direct history query gives
    months = sorted(app.result["period"].unique())
    start = (pd.Timestamp(period_bounds(months[0])[0]) - pd.DateOffset(months=12)).date()
    end = min(period_bounds(months[-1])[1], period_bounds(app._data_months[-1])[1])
    stores = sorted(app.result["entity_id"].unique())
    h = metrics.compute([kpi], by=["store_id"], period="month", start=start, end=end, filters={"store_id": stores},
                        warehouse=plain)
    h = h.assign(store_id=h["store_id"].astype(str), period=h["period"].astype(str)).sort_values(["store_id", "period"])
    mine = app.history.sort_values(["store_id", "period"])
    assert mine[["store_id", "period"]].values.tolist() == h[["store_id", "period"]].values.tolist()
    assert mine[kpi].tolist() == pytest.approx(h[kpi].tolist(), rel=1e-9, nan_ok=True), kpi


def test_kpi_changes_after_open_run_no_engine_query_and_give_the_library_figures(env):
    mp = pytest.MonkeyPatch()
    try:
        spy = Spy(mp)
        app = TargetSetting(lang="en")
        assert stored_is_fresh(app.warehouse)
        assert app.figures.stored  # the demo ran `kpi compute`: the panel reads kpi_values
        plain = Warehouse()
        # the default period is a future quarter whose cascade history reaches the unfinished month, which
        # `kpi compute` did not store: the open query of the months after the stored ones covers it
        assert app.figures.stored_last < app.figures.last
        opened = (spy.calls, app.warehouse.stats["executed"], app.figures.queries)
        for kind in ("company", "platform", "team", "store"):
            spy.on = True
            app.entity_kind.value = kind
            if kind == "team":  # teams are picked by name, not by bare id
                assert all(" · " in lbl for lbl, _v in app.entity_id.options)
            for i, kpi in enumerate(KPIS):
                app.kpi.value = kpi
                assert (spy.calls, app.warehouse.stats["executed"], app.figures.queries) == opened, (kind, kpi)
                if kind == "company" or i % 3 == ("platform", "team", "store").index(kind):
                    spy.on = False  # every KPI for the company, a third of them for each other kind
                    _direct(app, plain)
                    spy.on = True
        for kpi in UNCOVERED:
            spy.on = True
            app.entity_kind.value = "company"
            before = app.figures.queries
            app.kpi.value = kpi
            assert app.figures.queries == before + 1  # the KPI's own store months, once
            app.kpi.value = "gmv"
            app.kpi.value = kpi
            assert app.figures.queries == before + 1
            spy.on = False
            _direct(app, plain)
        spy.on = True
        opened = (spy.calls, app.warehouse.stats["executed"], app.figures.queries)
        # a month period: its growth base (last year's month) and cascade from the same rows
        app.entity_kind.value = "company"
        app.period.value = next(p for p in app.period.options if len(p) == 7 and "Q" not in p)
        app.kpi.value = "net_profit"
        assert (spy.calls, app.warehouse.stats["executed"], app.figures.queries) == opened
        spy.on = False
        _direct(app, plain)
    finally:
        mp.undo()


def test_stale_stored_values_are_not_used(env, tmp_path, monkeypatch):
    """After an edit of the KPI catalog (or an ingest) kpi_values may be stale: the panel asks the engine."""
    import shutil

    proj = tmp_path / "p"
    shutil.copytree(env / "parameters", proj / "parameters")
    (proj / "parameters" / "kpis.yaml").touch()  # newer than the compute snapshot
    monkeypatch.setenv("KPI_ROOT", str(proj))
    app = TargetSetting(lang="en")
    assert not stored_is_fresh(app.warehouse) and not app.figures.stored
    assert app.status.kind != "error"
    _direct(app, Warehouse())


def test_growth_rows_and_cascade_history_are_the_library_rules(env):
    """kpi_growth_target(rows=) picks last year's row (no row: no base); cascade(history=) slices."""
    wh = Warehouse()
    rows = pd.DataFrame({"period": ["2025-Q4", "2025-Q3"], "kpi": ["gmv", "gmv"], "value": [200.0, 100.0]})
    g = kpi_growth_target("gmv", "company", None, "2026-Q4", 0.1, wh, rows=rows)
    assert (g.base, g.value, g.last_year) == (200.0, pytest.approx(220.0), "2025-Q4")
    assert kpi_growth_target("gmv", "company", None, "2027-Q1", 0.1, wh, rows=rows).value is None
    assert last_year("2027-Q1") == "2026-Q1"


def test_a_stored_zero_that_is_no_data_is_no_growth_base(env):
    """`kpi compute` asks every KPI at once, so a platform month without refunds has a stored refunds row of
    0; the engine asked for refunds alone has no row (no base: missing is not zero). The panel says there is
    no last-year figure, as ``kpi_growth_target`` does, instead of a target of 0."""
    from kpi_lib.compute import stored_values
    from kpi_lib.periods import shift_period

    app = TargetSetting(lang="en")
    plain = Warehouse()
    kv = stored_values(plain)
    zeros = kv[(kv["kpi"] == "refunds") & (kv["entity_kind"] == "platform") & (kv["period_kind"] == "month")
               & (kv["value"] == 0)]
    case = None
    for r in zeros.itertuples():
        target = shift_period(r.period, 12)
        if target in app.period.options and kpi_growth_target("refunds", "platform", r.entity_id, target, 0.15,
                                                               plain).value is None:
            case = (r.entity_id, target)
            break
    assert case is not None, "the demo (seed 7) has a platform month without refunds in the panel's periods"
    app.kpi.value = "refunds"
    app.period.value = case[1]
    app.entity_kind.value = "platform"
    app.entity_id.value = case[0]
    assert app.status.kind == "error" and app.result.empty, app.status.text
