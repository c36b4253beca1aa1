"""Compute once per batch (issue 15.1): the costs, scorecards and actions a batch's reports show are
computed set-based by ``report_data.prepare_batch`` and each report answers from its slice; the frames the
templates format must be the same with and without the cache.

In process, no kernel: every cached ``report_data`` call of the cost diagnostic (company and a store)
and of a person's and a team's scorecard (with their actions sections), once reading the engine directly
and once from the batch cache, compared frame by frame (every report kind, rendered, is compared in
tests/test_figures.py). Money sums are exact (DECIMAL, summed in a fixed order), so floats are compared
to 1e-12 relative (the last bit of a ratio); everything else exactly.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

PERIOD = "2026-11"
SUBJECTS = [("cost_diagnostic", "company", ""), ("cost_diagnostic", "store", "AMZ-DE-01"),
            ("scorecard", "person", "P01"), ("scorecard", "team", "T-AMZ"),
            ("contract_settlement", "contract", "C-001")]


@pytest.fixture(scope="module")
def project(demo_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("batch-cache") / "project"
    shutil.copytree(demo_project, root, ignore=shutil.ignore_patterns("outputs"))
    return root


def _sections(tpl: str, ctx: Any) -> dict[str, Any]:
    """What the template's data calls return (the cached ones), by name."""
    from kpi_lib import report_data as rd
    from kpi_lib import review as rv

    out: dict[str, Any] = {}
    if tpl == "cost_diagnostic":
        out.update(waterfall=rd.waterfall(ctx), margin_moves=rd.margin_moves(ctx), bridge=rd.basis_bridge(ctx),
                   unit_economics=rd.unit_economics(ctx), loss_skus=rd.unit_economics(ctx, loss_only=True))
    if tpl in ("store_performance", "scorecard"):
        out["actions"] = rv.actions_frame(ctx)
    if tpl == "scorecard":
        card = rd.scorecard(ctx)
        out["card"] = card.lines
        out["card_totals"] = pd.DataFrame({"total": [card.total], "bonus": [card.bonus]})
    if tpl == "team_review":
        out.update({f"review_{k}": v for k, v in rv.review_data(ctx).items()})
    if tpl == "contract_settlement":  # the statement (every amount, to the cent) and the fee-model comparison
        out["statement"] = pd.DataFrame({"json": [json.dumps(rd.settlement(ctx), sort_keys=True, default=str)]})
        out["fee_models"] = rd.fee_models(ctx)
    return out


def _assert_same(a: pd.DataFrame, b: pd.DataFrame, what: str) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b), what
    for c in a.columns:
        for x, y in zip(a[c].tolist(), b[c].tolist()):
            if isinstance(x, float) and isinstance(y, float):
                # money sums are exact (DECIMAL, summed in a fixed order: tests/test_money_sums.py), so the
                # cached figure equals the engine's; only the last bit of a ratio may differ
                assert (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12, abs_tol=0), \
                    (what, c, x, y)
            else:
                assert x == y or (pd.isna(x) and pd.isna(y)), (what, c, x, y)
    assert a.attrs.keys() == b.attrs.keys(), what


@contextlib.contextmanager
def _stored_tables_stale(project: Path, stale: bool) -> Iterator[None]:
    """With ``stale``, kpis.yaml newer than the snapshot `kpi compute` published: the stored tables
    (kpi_values, cost rows) are not used and the batch asks the engine (restored afterwards)."""
    catalog = project / "parameters" / "kpis.yaml"
    before = catalog.stat()
    if stale:
        os.utime(catalog, (before.st_atime, time.time() + 3600))
    try:
        yield
    finally:
        os.utime(catalog, ns=(before.st_atime_ns, before.st_mtime_ns))


@pytest.mark.parametrize("stored", [True, False], ids=["stored-rows", "engine"])
def test_cached_costs_scorecards_and_actions_equal_the_engine(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                              stored: bool) -> None:
    """Both ways the batch prepares: from the rows `kpi compute` stored, and from its own set-based
    queries (the stored tables stale): every frame equals the direct engine call's."""
    from kpi_lib import report_data as rd

    monkeypatch.setenv("KPI_ROOT", str(project))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    monkeypatch.delenv(rd.BATCH_CACHE_ENV, raising=False)
    with _stored_tables_stale(project, not stored):
        _check_cached_equal_engine(project, monkeypatch, stored)


def _check_cached_equal_engine(project: Path, monkeypatch: pytest.MonkeyPatch, stored: bool) -> None:
    from kpi_lib import report_data as rd
    from kpi_lib.reports.run import TEMPLATE_NEEDS
    from kpi_lib.warehouse import Warehouse

    wh = Warehouse()
    subjects = [(k, e) for _, k, e in SUBJECTS]
    needs: dict[tuple[str, str], set[str]] = {}
    for tpl, k, e in SUBJECTS:
        needs.setdefault((k, e), set()).update(TEMPLATE_NEEDS.get(tpl, ()))
    cache = project / "outputs" / PERIOD / ".batch-cache"
    queried: list[Any] = []
    real = rd.compute_long
    monkeypatch.setattr(rd, "compute_long", lambda *a, **k: queried.append(a) or real(*a, **k))
    counts = rd.prepare_batch(subjects, PERIOD, cache, warehouse=wh, needs=needs)
    monkeypatch.setattr(rd, "compute_long", real)
    # fresh stored tables: every scorecard figure (this month's, last year's) is a kpi_values row
    assert bool(queried) != stored
    assert counts["costs_order"] > 0 and counts["costs_ue"] > 0 and counts["scorecard_rows"] > 0
    assert counts["costs_stored"] == int(stored)
    meta = rd._cache_meta(str(cache), rd._stamp(cache))
    assert sorted(map(tuple, meta["costs"])) == [("company", ""), ("store", "AMZ-DE-01")]
    assert sorted(map(tuple, meta["scorecards"])) == [("person", "P01"), ("team", "T-AMZ")]
    assert meta["contracts"] == [["contract", "C-001"]] and counts["contract_gmv"] > 0

    def render(cached: bool) -> dict[str, dict[str, Any]]:
        if cached:
            monkeypatch.setenv(rd.BATCH_CACHE_ENV, str(cache))
        else:
            monkeypatch.delenv(rd.BATCH_CACHE_ENV, raising=False)
        rd._waterfall.cache_clear()
        rd._contract_gmv_memo.cache_clear()
        return {f"{tpl}/{k}/{e}": _sections(tpl, rd.context(k, e or None, PERIOD, "en"))
                for tpl, k, e in SUBJECTS}

    plain, cached = render(False), render(True)
    calls = 0
    for label, secs in plain.items():
        assert secs.keys() == cached[label].keys(), label
        for name, frame in secs.items():
            _assert_same(frame, cached[label][name], f"{label} {name}")
            calls += 1
    assert calls >= 16
    # the cached run really read the cache: the engine is not asked for a precomputed subject
    import kpi_lib.costs as costs_mod
    import kpi_lib.metrics as metrics_mod

    def refuse(*a: Any, **k: Any) -> None:
        raise AssertionError("the engine was queried for a subject the batch precomputed")

    monkeypatch.setenv(rd.BATCH_CACHE_ENV, str(cache))
    rd._waterfall.cache_clear()
    rd._contract_gmv_memo.cache_clear()
    monkeypatch.setattr(costs_mod, "compute_long", refuse)
    monkeypatch.setattr(costs_mod, "compute", refuse)
    monkeypatch.setattr(metrics_mod, "_compute", refuse)
    for tpl, k, e in SUBJECTS:
        _sections(tpl, rd.context(k, e or None, PERIOD, "en"))


def test_prepare_without_needs_writes_only_the_kpi_tables(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    from kpi_lib import report_data as rd
    from kpi_lib.warehouse import Warehouse

    monkeypatch.setenv("KPI_ROOT", str(project))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    counts = rd.prepare_batch([("store", "AMZ-DE-01")], PERIOD, tmp_path / "c", warehouse=Warehouse())
    assert set(counts) == {"kpi_values", "kpi_status", "freshness"}
    assert not list((tmp_path / "c").glob("costs_*"))


def test_a_statement_from_one_window_query_equals_the_per_period_queries(project: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """settlement / fee_models read every period a statement needs (exit-clause history, last year's GMV
    for growth targets) from one query over the months up to the period: the same statement, to the cent."""
    from kpi_lib import report_data as rd
    from kpi_lib import settlement as st

    monkeypatch.setenv("KPI_ROOT", str(project))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    monkeypatch.delenv(rd.BATCH_CACHE_ENV, raising=False)
    ctx = rd.context("contract", "C-001", PERIOD, "en")
    assert rd.settlement(ctx) == st.settle("C-001", PERIOD, warehouse=ctx.warehouse).to_dict()
    plain = st.compare_models("C-001", period=PERIOD, warehouse=ctx.warehouse)
    assert st.compare_models("C-001", period=PERIOD, warehouse=ctx.warehouse, gmv=rd._contract_gmv(ctx)).equals(plain)
    calls: list[str] = []
    real = st.gmv_rows
    monkeypatch.setattr(st, "gmv_rows", lambda *a, **k: calls.append("q") or real(*a, **k))
    rd._contract_gmv_memo.cache_clear()
    rd.settlement(ctx)
    assert calls == ["q"]  # one query for every period of the statement


def test_stored_cost_rows_spare_the_order_and_unit_queries(project: Path, monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Path) -> None:
    """With fresh stored rows the cost stage asks the engine nothing; a month after the stored ones, or
    stored rows without a KPI or basis the sections need (an older `kpi compute`), are not taken."""
    import kpi_lib.costs as costs_mod
    from kpi_lib import compute as cm
    from kpi_lib import report_data as rd
    from kpi_lib.warehouse import Warehouse

    monkeypatch.setenv("KPI_ROOT", str(project))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    wh = Warehouse()
    asked: list[str] = []
    real = costs_mod.waterfall_grain_rows
    monkeypatch.setattr(costs_mod, "waterfall_grain_rows", lambda pk, basis, *a, **k: asked.append(basis) or real(
        pk, basis, *a, **k))
    monkeypatch.setattr(costs_mod, "unit_rows", lambda *a, **k: pytest.fail("unit rows were queried"))
    counts = rd.prepare_batch([("store", "AMZ-DE-01"), ("company", "")], PERIOD, tmp_path / "c", warehouse=wh,
                              needs={("store", "AMZ-DE-01"): {"costs"}, ("company", ""): {"costs"}})
    assert counts["costs_stored"] == 1 and asked == []
    assert cm.stored_cost_rows(wh, [PERIOD]) is not None
    last = wh.order_dates()[1]
    after = f"{last.year + (last.month == 12)}-{last.month % 12 + 1:02d}"
    assert cm.stored_cost_rows(wh, [PERIOD, after]) is None  # not stored: no month is taken in part
    stored = wh.read("cost_waterfall_rows")
    assert cm.stored_cost_rows(wh, [PERIOD]) is not None
    try:
        for older in (stored[stored["kpi"] != "discounts"], stored[stored["basis"] == "order"],
                      stored[stored["basis"] == "order"].drop(columns=["basis"])):  # as older `kpi compute`s did
            with wh.transaction("compute") as w:
                w.write("cost_waterfall_rows", older, partition_by=())
            assert cm.stored_cost_rows(wh, [PERIOD]) is None
    finally:
        with wh.transaction("compute") as w:
            w.write("cost_waterfall_rows", stored, partition_by=())


def test_action_values_from_stored_kpi_values_equal_the_engine(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The actions stage reads the before/after values from the stored kpi_values: for every entity kind
    (the company too), KPI and month asked, the value ``actions.values_by_kind`` computes (NaN where
    it gives NaN, nothing where it gives nothing); a month not stored goes to the engine."""
    import numpy as np

    from kpi_lib import actions as am
    from kpi_lib import report_data as rd
    from kpi_lib.compute import stored_values_through
    from kpi_lib.warehouse import Warehouse

    monkeypatch.setenv("KPI_ROOT", str(project))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    wh = Warehouse()
    wanted = {("company", None): {"gmv", "net_margin"}, ("store", "AMZ-DE-01"): {"gmv", "acos", "refunds"},
              ("team", "T-AMZ"): {"net_profit", "gmv"}, ("person", "P01"): {"gmv", "first_response_hours"}}
    months = ["2026-09", "2026-10", PERIOD]
    through = stored_values_through(wh)
    stored = rd._stored_action_values(wanted, months, wh, through)
    engine = {k: v for k, v in am.values_by_kind(wanted, months, warehouse=wh).items() if k[3] in months}
    assert stored is not None and stored.keys() == engine.keys() and len(stored) >= 20
    for k, v in engine.items():
        assert (np.isnan(v) and np.isnan(stored[k])) or stored[k] == pytest.approx(v, rel=1e-12), k
    last = wh.order_dates()[1]
    after = f"{last.year + (last.month == 12)}-{last.month % 12 + 1:02d}"
    assert rd._stored_action_values(wanted, [PERIOD, after], wh, through) is None
