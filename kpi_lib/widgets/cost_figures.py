"""The cost explorer's figures for every choice, from a few set-based engine queries.

The explorer shows ``costs.waterfall`` and ``costs.unit_economics`` for one entity and period. Asking
the engine once per choice made the first open and every first platform / store / period change a
fresh scan of the warehouse (seconds each). Here the engine is asked once per *period kind and
basis* for every entity and period the filters can reach:

- waterfall rows: ``metrics.compute_long_grains(WATERFALL_KPIS, {company, store_id, platform,
  marketplace}, complete_for="net_profit")`` — one store-level query over the whole data range; the
  company, platform and marketplace rows are the engine's own sums of store rows;
- unit-economics rows: ``metrics.compute(UE_KPIS, by=["store_id", "sku"], complete_for="contribution")``
  for the chosen period (one query per period, on first use: SKU rows of every period would make the
  open slower than the choices it saves); an entity's rows are its stores' rows.

When `kpi compute` stored these rows for the live data (``cost_waterfall_rows`` on both bases and
``cost_unit_rows``, month and quarter; used only while ``compute.stored_is_fresh``), they are read at
open instead: the panel then opens without querying the facts. A period after what was stored (the
unfinished month `kpi demo` leaves out) is asked of the engine as above. The
stored rows come from the same calls (``costs.waterfall_grain_rows``, ``costs.unit_rows``) over the data
from its first day, so a period inside them has exactly the rows of the live query.

The frames shown are still built by ``kpi_lib.costs`` (``waterfall(..., rows=…)``,
``unit_economics(..., rows=…)``, the documented way to hand it precomputed engine rows), so every
figure is the one the reports show (one figure, one definition). A choice the grains do not cover (a
category waterfall, some stores of a marketplace on one platform) is computed by ``kpi_lib.costs`` on
first use and kept. Everything is kept per warehouse snapshot; :meth:`CostFigures.clear` forgets it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from .. import costs, metrics
from ..compute import grain_frames, stored_covers, stored_is_fresh, stored_through
from ..errors import KpiError
from ..warehouse import Warehouse


def _kind(period: str) -> str:
    return metrics.period_kind(str(period))


class CostFigures:
    """Waterfalls, unit economics and overheads of one warehouse snapshot for any filter choice.

    ``queries`` counts the engine calls made (set-based or per choice): a test checks an interaction
    that only moves within what is loaded makes none.
    """

    def __init__(self, warehouse: Any, stores: pd.DataFrame) -> None:
        self.warehouse = warehouse
        self.stores = stores.assign(store_id=stores["store_id"].astype(str),
                                    platform=stores["platform"].astype(str),
                                    marketplace=stores["marketplace"].astype(str))
        self.queries = 0
        self._grains: dict[tuple, dict[str, pd.DataFrame]] = {}
        self._ue: dict[str, pd.DataFrame] = {}  # period -> store x SKU rows
        self._kept: dict[tuple, pd.DataFrame] = {}
        self._failed: set[tuple] = set()  # set-based calls that raised: those choices go one by one
        self._stored_wf: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}  # (period kind, basis) -> grain -> rows
        self._stored_ue: dict[str, pd.DataFrame] = {}  # period kind -> stored store × SKU rows
        self.stored_last: dt.date | None = None  # stored rows hold every period whose data ends by this day
        self.last: dt.date | None = None
        self._load_stored()

    def clear(self) -> None:
        """Forget every figure (after ``kpi compute`` or a new ingest)."""
        self._grains.clear()
        self._ue.clear()
        self._kept.clear()
        self._failed.clear()
        self._load_stored()

    def _load_stored(self) -> None:
        """The rows `kpi compute` stored, when they are of the live data (see module docstring)."""
        self._stored_wf, self._stored_ue, self.stored_last = {}, {}, None
        wh = self.warehouse
        if not (stored_is_fresh(wh) and wh.has("cost_waterfall_rows") and wh.has("cost_unit_rows")):
            return
        wf, ue = wh.read("cost_waterfall_rows"), wh.read("cost_unit_rows")
        self.last, self.stored_last = stored_through(wh, wf.loc[wf["period_kind"] == "month", "period"].unique())
        if self.stored_last is None:
            return
        wf = wf.assign(period=wf["period"].astype(str), entity_id=wf["entity_id"].astype(str),
                       basis=wf["basis"].astype(str) if "basis" in wf else "order")  # older: order basis only
        for (pk, basis), g in wf.groupby(["period_kind", "basis"], sort=False):
            self._stored_wf[(str(pk), str(basis))] = grain_frames(g)
        for pk, g in ue.groupby("period_kind", sort=False):
            self._stored_ue[str(pk)] = g.drop(columns=["period_kind"]).assign(
                store_id=g["store_id"].astype(str), period=g["period"].astype(str)).reset_index(drop=True)

    def stored_covers(self, period: str) -> bool:
        """The stored rows hold ``period`` exactly as the live query gives it (all its data is stored)."""
        if _kind(period) not in self._stored_ue:
            return False
        return stored_covers(str(period), (self.last, self.stored_last))

    # -- engine rows -------------------------------------------------------------------------
    def waterfall_rows(self, period_kind: str, basis: str, period: str | None = None) -> dict[str, pd.DataFrame]:
        """Engine rows of the waterfall KPIs per grain (company, store, platform, marketplace), every period
        (the stored ones when they hold ``period``)."""
        stored = period is not None and (period_kind, basis) in self._stored_wf
        if stored and self.stored_covers(str(period)):
            return self._stored_wf[(period_kind, basis)]
        # a period after the stored ones (the month to date): that period only; else every period at once
        key: tuple = (period_kind, basis, period) if stored else (period_kind, basis)
        if key not in self._grains:
            self.queries += 1
            # one large query: the plain Parquet views (copying every table into memory first costs more)
            self._grains[key] = costs.waterfall_grain_rows(period_kind, basis, Warehouse(self.warehouse.path),  # type: ignore[arg-type]
                                                           start=period if stored else None,
                                                           end=period if stored else None)
        return self._grains[key]

    def unit_rows(self, period: str) -> pd.DataFrame:
        """Engine rows of the unit-economics KPIs per store × SKU for ``period`` (every store)."""
        if period not in self._ue:
            if self.stored_covers(period):
                g = self._stored_ue[_kind(period)]
                self._ue[period] = g[g["period"] == str(period)]
            else:
                self.queries += 1
                self._ue[period] = costs.unit_rows(_kind(period), period, period, Warehouse(self.warehouse.path))
        return self._ue[period]

    def _once(self, key: tuple, fn: Any) -> pd.DataFrame:
        if key not in self._kept:
            self.queries += 1
            self._kept[key] = fn()
        return self._kept[key]

    # -- what the panel shows ----------------------------------------------------------------
    def _grain_slice(self, kind: str, ids: list[str | None], period_kind: str, basis: str, period: str
                     ) -> tuple[str, str | None, pd.DataFrame] | None:
        """(entity kind, id, engine rows) when a grain answers the entity, else None (also when the
        set-based query failed: the choice is then asked on its own, so its own error shows)."""
        if ("wf", period_kind, basis) in self._failed:
            return None
        try:
            return self._grain_hit(kind, ids, period_kind, basis, period)
        except KpiError:
            self._failed.add(("wf", period_kind, basis))
            return None

    def _grain_hit(self, kind: str, ids: list[str | None], period_kind: str, basis: str, period: str
                   ) -> tuple[str, str | None, pd.DataFrame] | None:
        if kind == "company":
            return "company", None, self.waterfall_rows(period_kind, basis, period)["company"]
        if kind == "platform":
            g = self.waterfall_rows(period_kind, basis, period)["platform"]
            return "platform", str(ids[0]), g[g["platform"] == str(ids[0])]
        if kind == "store" and len(ids) == 1:
            g = self.waterfall_rows(period_kind, basis, period)["store"]
            return "store", str(ids[0]), g[g["store_id"] == str(ids[0])]
        if kind == "store" and ids:
            chosen = sorted(str(i) for i in ids)
            markets = self.stores.loc[self.stores["store_id"].isin(chosen), "marketplace"].unique()
            if len(markets) == 1:
                whole = sorted(self.stores.loc[self.stores["marketplace"] == markets[0], "store_id"])
                if whole == chosen:  # exactly one marketplace's stores: the engine's marketplace row
                    g = self.waterfall_rows(period_kind, basis, period)["marketplace"]
                    return "marketplace", str(markets[0]), g[g["marketplace"] == str(markets[0])]
        return None

    def waterfall(self, kind: str, ids: list[str | None], period: str, basis: str) -> pd.DataFrame:
        """``costs.waterfall`` of the entity (several store ids: those stores as one entity)."""
        hit = self._grain_slice(kind, ids, _kind(period), basis, str(period))
        if hit is not None:
            ek, eid, rows = hit
            return costs.waterfall(ek, eid, period=period, basis=basis, warehouse=self.warehouse, rows=rows)
        if len(ids) == 1:
            return self._once(("wf", kind, ids[0], period, basis),
                              lambda: costs.waterfall(kind, ids[0], period=period, basis=basis,
                                                      warehouse=self.warehouse))
        stores = tuple(sorted(str(i) for i in ids))
        return self._once(("wf", "stores", stores, period, basis),
                          lambda: costs.waterfall(kind, None, period=period, basis=basis, warehouse=self.warehouse,
                                                  stores=stores))

    def unit_economics(self, stores: list[str] | None, period: str) -> pd.DataFrame:
        """``costs.unit_economics`` over ``stores`` (None: every store, i.e. the company) for ``period``."""
        pk = _kind(period)
        try:
            if ("ue", period) in self._failed:
                raise KpiError("set-based unit economics failed before")
            rows = self.unit_rows(period)
        except KpiError:
            self._failed.add(("ue", period))
            key = ("ue", tuple(sorted(stores)) if stores is not None else None, period)
            return self._once(key, lambda: costs.unit_economics("company", None, period=period,
                                                                warehouse=self.warehouse) if stores is None else
                              costs.unit_economics("company", None, period=period, warehouse=self.warehouse,
                                                   rows=metrics.compute(costs.UE_KPIS, by=["sku"], period=pk,
                                                                        start=period, end=period,
                                                                        filters={"store_id": list(stores)},
                                                                        warehouse=self.warehouse,
                                                                        complete_for="contribution")))
        rows = rows[rows["period"] == str(period)]
        if stores is not None:
            rows = rows[rows["store_id"].isin([str(s) for s in stores])]
        return costs.unit_economics("company", None, period=period, warehouse=self.warehouse,
                                    rows=rows.drop(columns=["store_id"]))

    def allocated_overheads(self, months: tuple[str, ...]) -> pd.DataFrame:
        """``costs.allocated_overheads`` (what `kpi compute` allocated) for ``months``."""
        return self._once(("oh", months), lambda: costs.allocated_overheads(list(months), warehouse=self.warehouse))

    def allocate_overheads(self, month: str, basis: str) -> pd.DataFrame:
        """``costs.allocate_overheads`` with every item on ``basis`` (the what-if)."""
        return self._once(("oh_whatif", month, basis),
                          lambda: costs.allocate_overheads(month, basis=basis, warehouse=self.warehouse))
