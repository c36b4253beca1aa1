"""The target panel's engine rows for every KPI, read once at open from what `kpi compute` stored.

A KPI change in the target panel needs three figures from the engine: last year's value of the
entity (the growth base, ``targets.kpi_growth_target``), the stores' months before the period (the
historical cascade, ``targets.cascade``) and the stores' months shown as actuals in the chart. Asked
one by one, that was three engine queries per change (seconds on a large warehouse).

``kpi compute`` already stores every KPI for company, platform, store and team × month and quarter
(``kpi_values``, the figures every report shows). :class:`TargetFigures` reads that table once and
hands the library its slices (``kpi_growth_target(rows=…)``, ``cascade(history=…)``), so the library
still applies its own rules to the same engine rows (one figure, one definition). A stored row is used
only where it is exactly the row a direct engine call gives:

- the stored table is of the live data (``compute.stored_is_fresh``: no ingest and no catalog edit
  since `kpi compute`);
- the period lies inside the range `kpi compute` covered (first order date to its last stored month);
  a period that starts before the data or ends after it only when the KPI does not count calendar days
  (``calendar_days`` is clipped to the computed range, the one measure that depends on it).

`kpi compute` may stop before the data does (``kpi demo`` computes to the end of the last finished
month; the data has a day of the next one). The cascade's trailing months include those days, so at
open one set-based query computes the months after the stored ones for every additive KPI (the
cascade's only KPIs), store × month, whole months (on the plain Parquet views: a few days of data do
not need the panel's in-memory copy of every table).

Rows that exist only in the stored table: `kpi compute` asks every KPI in one statement, so a store ×
month with any data has a row for every KPI, where a direct call for one KPI has a row only where that
KPI's own tables (and the orders, for a KPI with coverage sources) have rows. Such a row has no data of
the KPI: its value is 0 or NaN. Hence a stored growth base that is 0 or not finite is asked of the
engine (missing is not zero), the cascade is unaffected (it counts a month without a row as 0), and the
chart keeps a stored 0/NaN store month only where the store had orders; a KPI without coverage sources
(refunds, tickets, activities, overheads: no orders in its rows) draws its chart from the engine: one
query of that KPI alone on its first use, store × month over the data's whole months (small tables; a
query of several KPIs would again give the union of their rows).

Anything else (a year period, stale tables, a KPI the table lacks) is asked of the engine: the growth
base by the library itself (``rows=None``), store months by one query over the whole data range per
KPI, kept. ``queries`` counts those engine calls; a test checks that a KPI change after open makes none.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd

from .. import metrics
from ..compute import stored_values
from ..coverage import coverage_frame
from ..definitions import Catalog
from ..formula import required_measures
from ..org import ENTITY_DIMENSION
from ..periods import month_of, months_between, period_bounds, period_kind
from ..warehouse import Warehouse

#: entity kinds of the panel (rows of other kinds are not kept)
ENTITY_KINDS = ("company", "platform", "store", "team")
#: measures whose value depends on the computed date range, not only on the rows of the period
RANGE_MEASURES = frozenset({"calendar_days"})


class TargetFigures:
    """Growth bases, store × month history and chart actuals of one warehouse snapshot (see module docstring)."""

    def __init__(self, warehouse: Any, catalog: Catalog) -> None:
        self.warehouse = warehouse
        self.catalog = catalog
        self.queries = 0
        self._live_months: dict[str, pd.DataFrame] = {}
        self._groups: dict[tuple[str, str, str], pd.DataFrame] = {}
        self._tail = pd.DataFrame()  # store × month rows of the additive KPIs after the stored months
        self._tail_months: set[str] = set()
        self.first: dt.date | None = None
        self.last: dt.date | None = None
        self.stored_last: dt.date | None = None
        self.load()

    def load(self) -> None:
        """(Re)read the stored values of the live snapshot (after ``kpi compute`` or a new ingest)."""
        self._live_months.clear()
        self._groups.clear()
        self._tail, self._tail_months = pd.DataFrame(), set()
        self._ordered: set[tuple[str, str]] = set()  # (store, month) with orders
        self.first, self.last = self._plain().order_dates()  # Parquet statistics: no copy of the orders
        stored = stored_values(self.warehouse)
        if stored is None or stored.empty or self.first is None:
            self.stored_last = None
            return
        con = self.warehouse.connect()
        try:
            cov = coverage_frame(con)
        finally:
            con.close()
        o = cov[(cov["source"] == "orders") & (cov["rows"].fillna(0) > 0)]
        self._ordered = set(zip(o["store_id"].astype(str), o["month"].astype(str).str[:7]))
        stored = stored[stored["entity_kind"].isin(ENTITY_KINDS)]
        stored = stored.assign(entity_id=stored["entity_id"].astype(str), period=stored["period"].astype(str))
        self._groups = {(str(ek), str(pk), str(k)): g
                        for (ek, pk, k), g in stored.groupby(["entity_kind", "period_kind", "kpi"], sort=False)}
        months = stored.loc[stored["period_kind"] == "month", "period"]
        if months.empty:
            self.stored_last = None
            return
        last_month = str(months.max())
        # the last stored month is computed to the last order date when it is that date's month
        self.stored_last = self.last if last_month == month_of(self.last) else period_bounds(last_month)[1]
        if self.stored_last < self.last:
            self._load_tail()

    def _load_tail(self) -> None:
        """The months after the stored ones, for every additive KPI, store × month (one query)."""
        assert self.stored_last is not None and self.last is not None
        start = self.stored_last + dt.timedelta(days=1)
        end = period_bounds(month_of(self.last))[1]
        additive = [k for k in self.catalog.ids() if self.catalog.is_additive(k)]
        self.queries += 1
        df = metrics.compute(additive, by=["store_id"], period="month", start=start, end=end,
                             warehouse=self._plain())
        self._tail = df.assign(store_id=df["store_id"].astype(str), period=df["period"].astype(str))
        self._tail_months = set(months_between(start, end))

    def _plain(self) -> Warehouse:
        """The same warehouse on plain Parquet views (no in-memory copy of the tables)."""
        return Warehouse(self.warehouse.path)

    @property
    def stored(self) -> bool:
        """Whether fresh stored values are in use."""
        return self.stored_last is not None

    def exact(self, kpi: str, label: str) -> bool:
        """A stored row of ``label`` is the row a direct engine call for ``label`` gives (see module docstring)."""
        if self.stored_last is None or self.first is None or self.last is None:
            return False
        s, e = period_bounds(label)
        if e < self.first or s > self.last:
            return True  # no data in the period: no row either way
        if self.first <= s and e <= self.stored_last:
            return True
        if min(e, self.last) > self.stored_last:
            return False  # data after what was stored
        return not (required_measures(self.catalog, [kpi]) & RANGE_MEASURES)

    def _stored_rows(self, kpi: str, entity_kind: str, kind: str) -> pd.DataFrame | None:
        g = self._groups.get((entity_kind, kind, kpi))
        if g is None and any(k[2] == kpi for k in self._groups):
            return pd.DataFrame(columns=["entity_id", "period", "kpi", "value"])  # the KPI has no rows here
        return g

    # -- what the panel asks -----------------------------------------------------------------
    def entity_rows(self, kpi: str, entity_kind: str, entity_id: str | None, label: str) -> pd.DataFrame | None:
        """The entity's stored rows of ``kpi`` at ``label``'s period kind (``period``, ``kpi``, ``value``) when
        they answer ``label`` exactly; None otherwise (the library then asks the engine itself)."""
        kind = period_kind(label)
        if entity_kind not in ENTITY_KINDS or not self.exact(kpi, label):
            return None
        rows = self._stored_rows(kpi, entity_kind, kind)
        if rows is None:
            return None
        eid = "" if ENTITY_DIMENSION.get(entity_kind) is None else str(entity_id or "")
        mine = rows[(rows["entity_id"] == eid) & (rows["period"] == str(label))]
        if len(mine) and not _informative(mine["value"].iloc[0]):
            return None  # 0 or NaN may be a row the KPI's own data does not have: the engine says
        return mine

    def chart_months(self, kpi: str, stores: list[str], first: str, last: str) -> pd.DataFrame:
        """The stores' engine rows of ``kpi`` for the months ``first``..``last`` (``store_id``, ``period``,
        ``<kpi>``), as ``metrics.compute([kpi], by=["store_id"], filters={"store_id": stores})`` gives them."""
        wanted = {str(s) for s in stores}
        if not self.catalog.sources(kpi):
            rows = self._live(kpi)
            months = months_between(period_bounds(first)[0], period_bounds(last)[1])
            rows = rows[rows["period"].isin(months)]
        else:
            rows = self.store_months(kpi, first, last)
            keep = [(s, m) in self._ordered or _informative(v)
                    for s, m, v in zip(rows["store_id"], rows["period"], rows[kpi])]
            rows = rows[keep]
        return rows[rows["store_id"].isin(wanted)].sort_values(["store_id", "period"]).reset_index(drop=True)

    def store_months(self, kpi: str, first: str, last: str) -> pd.DataFrame:
        """Every store's engine rows of ``kpi`` for the months ``first``..``last`` (``store_id``, ``period``,
        ``<kpi>``, as ``metrics.compute(by=["store_id"], period="month")`` gives them)."""
        months = months_between(period_bounds(first)[0], period_bounds(last)[1])
        rows = self._stored_rows(kpi, "store", "month")
        tail = [m for m in months if m in self._tail_months]
        if tail and kpi not in self._tail.columns:
            rows = None
        if rows is not None and all(self.exact(kpi, m) for m in months if m not in self._tail_months):
            out = rows[rows["period"].isin([m for m in months if m not in self._tail_months])]
            parts = [pd.DataFrame({"store_id": out["entity_id"].values, "period": out["period"].values,
                                   kpi: out["value"].astype("float64").values})]
            if tail:
                t = self._tail[self._tail["period"].isin(tail)]
                parts.append(t[["store_id", "period", kpi]])
            return pd.concat(parts, ignore_index=True)
        whole = self._live(kpi)
        return whole[whole["period"].isin(months)]

    def _live(self, kpi: str) -> pd.DataFrame:
        """One engine query per KPI: every store × month of the data, whole months (kept)."""
        if kpi not in self._live_months:
            self._live_months[kpi] = self._query([kpi])
        return self._live_months[kpi]

    def _query(self, kpis: list[str]) -> pd.DataFrame:
        self.queries += 1
        if self.first is None or self.last is None:
            return pd.DataFrame(columns=["store_id", "period", *kpis])
        df = metrics.compute(kpis, by=["store_id"], period="month", start=period_bounds(month_of(self.first))[0],
                             end=period_bounds(month_of(self.last))[1], warehouse=self._plain())
        return df.assign(store_id=df["store_id"].astype(str), period=df["period"].astype(str))


def _informative(v: object) -> bool:
    """A value only the KPI's own data can give (not 0, not NaN or infinite)."""
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(f) and f != 0.0


__all__ = ["ENTITY_KINDS", "RANGE_MEASURES", "TargetFigures"]
