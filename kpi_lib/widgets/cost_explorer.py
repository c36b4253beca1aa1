"""Cost explorer: waterfall from GMV to net profit, unit economics, overhead allocation.

All figures come from ``kpi_lib.costs``. Filters choose the entity the way the costs API knows them:
a store, else a platform, else a category, else the company; a marketplace (optionally within a
platform) is the sum of its stores' waterfalls (amounts add up across stores; percentages are
recomputed on the summed net sales). The category filter also narrows the unit-economics table.
The allocation-basis switch re-allocates the month's overheads with ``costs.allocate_overheads`` and
shows what the selected stores would carry under that basis next to the waterfall's overheads.
"""

from __future__ import annotations

import contextlib
from typing import Any

import ipywidgets as W
import pandas as pd

from ..errors import KpiError
from .common import (
    Panel,
    StatusBox,
    df_html,
    message_html,
    no_warehouse_widget,
    open_warehouse,
    show_figure,
)

ALL = ""
BASES = [("net sales", "net_sales"), ("orders", "orders"), ("units", "units"), ("headcount", "headcount")]


class CostExplorer(Panel):
    """Main methods: ``entity``, ``refresh``, ``waterfall``, ``unit_economics``, ``overheads``."""

    title_text = "Cost explorer"

    def __init__(self, lang: str | None = None) -> None:
        from ..config import workbench

        self.lang = lang or workbench().default_language
        self.warehouse = open_warehouse()
        self.status = StatusBox()
        self.waterfall_frame = pd.DataFrame()
        self.unit_frame = pd.DataFrame()
        self.overhead_frame = pd.DataFrame()
        self.scope_note = ""
        self._cache: dict[tuple, pd.DataFrame] = {}
        self.reload_button = W.Button(description="Reload data", icon="refresh")
        self.reload_button.on_click(lambda _b: self.reload())

        self.platform = W.Dropdown(description="Platform")
        self.marketplace = W.Dropdown(description="Marketplace")
        self.store = W.Dropdown(description="Store")
        self.category = W.Dropdown(description="Category")
        self.period = W.Dropdown(description="Period")
        self.basis = W.ToggleButtons(options=[("by order date", "order"), ("by settlement date", "posted")],
                                     value="order", description="View")
        self.alloc_basis = W.ToggleButtons(options=BASES, value="net_sales", description="Allocate by")
        self.loss_only = W.Checkbox(value=False, description="loss-making SKUs only")
        self.scope = W.HTML()
        self.figure_out = W.Output()
        self.waterfall_table = W.HTML()
        self.unit_table = W.HTML()
        self.overhead_table = W.HTML()

        header = W.HTML("<h3>Cost explorer</h3>")
        if self.warehouse is None:
            self.widget = W.VBox([header, no_warehouse_widget()])
            return
        from .data import reference_frame, stores_frame

        self.stores = stores_frame(self.warehouse)
        skus = reference_frame("skus", self.warehouse)
        self.categories = sorted(skus["category"].dropna().astype(str).unique()) if "category" in skus else []
        self._busy = True
        self.platform.options = [("all", ALL)] + [(p, p) for p in sorted(self.stores["platform"].astype(str).unique())]
        self.category.options = [("all", ALL)] + [(c, c) for c in self.categories]
        self.platform.value = ALL
        self.category.value = ALL
        self.period.options, default = self._period_choices()
        self.period.value = default if default is not None else (self.period.options[0][1] if self.period.options else None)
        self._update_store_options()
        self._busy = False

        self.platform.observe(lambda _c: self._filters_changed(), names="value")
        self.marketplace.observe(lambda _c: self._filters_changed(), names="value")
        for w in (self.store, self.category, self.period, self.basis, self.alloc_basis, self.loss_only):
            w.observe(lambda _c: self.refresh(), names="value")

        self.widget = W.VBox([
            header,
            W.HBox([self.platform, self.marketplace, self.store]),
            W.HBox([self.category, self.period]),
            W.HBox([self.basis, self.reload_button]), self.scope, self.status.widget, self.figure_out, self.waterfall_table,
            W.HTML("<h4>Unit economics (per SKU, sorted by margin, worst first)</h4>"), self.loss_only,
            self.unit_table,
            W.HTML("<h4>Overheads</h4>"), self.alloc_basis, self.overhead_table,
        ])
        self.refresh()

    def summary(self) -> str:
        if self.warehouse is None:
            return "Cost explorer: no warehouse yet — run `make demo` first."
        return f"Cost explorer: {self.scope_note}"

    # -- filters -----------------------------------------------------------------------------
    def _period_choices(self) -> tuple[list[tuple[str, str]], str | None]:
        """Finished months and quarters (newest first); an unfinished one only as "… · to date", never default."""
        from .data import period_options

        return period_options(self.warehouse, ("month", "quarter"))

    def _period_options(self) -> list[tuple[str, str]]:
        return self._period_choices()[0]

    def _update_store_options(self) -> None:
        st = self.stores
        if self.platform.value:
            st = st[st["platform"].astype(str) == self.platform.value]
        mkts = sorted(st["marketplace"].astype(str).unique())
        keep_m = self.marketplace.value
        self.marketplace.options = [("all", ALL)] + [(m, m) for m in mkts]
        self.marketplace.value = keep_m if keep_m in mkts else ALL
        if self.marketplace.value:
            st = st[st["marketplace"].astype(str) == self.marketplace.value]
        ids = sorted(st["store_id"].astype(str).unique())
        keep_s = self.store.value
        self.store.options = [("all", ALL)] + [(s, s) for s in ids]
        self.store.value = keep_s if keep_s in ids else ALL

    def _filters_changed(self) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self._update_store_options()
        finally:
            self._busy = False
        self.refresh()

    def entity(self) -> tuple[str, list[str | None]]:
        """(entity_kind, ids) the waterfall covers; several ids are summed (a marketplace's stores)."""
        if self.store.value:
            return "store", [self.store.value]
        if self.marketplace.value:
            st = self.stores[self.stores["marketplace"].astype(str) == self.marketplace.value]
            if self.platform.value:
                st = st[st["platform"].astype(str) == self.platform.value]
            return "store", sorted(st["store_id"].astype(str))
        if self.platform.value:
            return "platform", [self.platform.value]
        if self.category.value:
            return "category", [self.category.value]
        return "company", [None]

    def selected_stores(self) -> list[str]:
        kind, ids = self.entity()
        st = self.stores
        if kind == "store":
            return [str(i) for i in ids]
        if kind == "platform":
            return sorted(st.loc[st["platform"].astype(str) == ids[0], "store_id"].astype(str))
        return sorted(st["store_id"].astype(str))

    # -- figures -----------------------------------------------------------------------------
    def _cached(self, fn: Any, *args: Any, **kw: Any) -> pd.DataFrame:
        """costs.* results per arguments (figures of one snapshot do not change; ``reload`` clears)."""
        key = (fn.__name__, args, tuple(sorted(kw.items())))
        if key not in self._cache:
            self._cache[key] = fn(*args, warehouse=self.warehouse, **kw)
        return self._cache[key]

    def reload(self) -> None:
        """Forget cached figures (after `kpi compute` or a new ingest) and redraw."""
        self._cache.clear()
        self.warehouse = open_warehouse()
        self.refresh()

    @contextlib.contextmanager
    def batch(self) -> Any:
        """Change several filters at once and redraw once at the end."""
        self._busy = True
        try:
            yield self
        finally:
            self._busy = False
            self._update_store_options()
            self.refresh()

    def refresh(self) -> None:
        if self.warehouse is None or self._busy or not self.period.value:
            return
        kind, ids = self.entity()
        label = "company" if kind == "company" else f"{kind} {', '.join(str(i) for i in ids)}"
        self.scope_note = f"{label}, {self.period.value}, {'order date' if self.basis.value == 'order' else 'settlement date'}"
        note = ""
        if self.category.value and kind != "category":
            note = " (category filter applies to the unit-economics table)"
        self.scope.value = message_html(f"Waterfall for {self.scope_note}{note}", "info")
        self.status.clear()
        try:
            self.waterfall_frame = self.waterfall()
            self.unit_frame = self.unit_economics()
            self.overhead_frame = self.overheads()
        except (KpiError, ImportError) as exc:
            if isinstance(exc, KpiError):
                self.status.from_exception(exc, "Cannot compute costs: ")
            else:
                self.status.error(f"Cannot compute costs: {exc}")
            return
        self._render()

    def waterfall(self) -> pd.DataFrame:
        from .. import costs

        kind, ids = self.entity()
        if len(ids) == 1:
            return self._cached(costs.waterfall, kind, ids[0], period=self.period.value, basis=self.basis.value)
        # several stores (a marketplace): one waterfall over their rows, computed by kpi_lib.costs
        return self._cached(costs.waterfall, kind, None, period=self.period.value, basis=self.basis.value,
                            stores=tuple(str(i) for i in ids))

    def unit_economics(self) -> pd.DataFrame:
        from .. import costs

        kind, ids = self.entity()
        if kind == "category" or len(ids) != 1:
            kind_u, id_u = ("category", self.category.value) if self.category.value else ("company", None)
            if len(ids) > 1:
                parts = [self._cached(costs.unit_economics, "store", i, period=self.period.value) for i in ids]
                df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            else:
                df = self._cached(costs.unit_economics, kind_u, id_u, period=self.period.value)
        else:
            df = self._cached(costs.unit_economics, kind, ids[0], period=self.period.value)
        if self.category.value and "category" in df:
            df = df[df["category"].astype(str) == self.category.value]
        if self.loss_only.value and "loss_making" in df:
            df = df[df["loss_making"].astype(bool)]
        if "margin" in df:
            df = df.sort_values("margin", na_position="last")
        return df.reset_index(drop=True)

    def months(self) -> list[str]:
        from ..periods import months_between, period_bounds

        return months_between(*period_bounds(str(self.period.value)))

    def overheads(self) -> pd.DataFrame:
        """Overheads the selected stores carry under the chosen basis, per store and item."""
        from .. import costs

        parts = [self._cached(costs.allocate_overheads, m, basis=self.alloc_basis.value) for m in self.months()]
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["store_id", "item", "amount_rc"])
        if df.empty:
            return df
        df = df[df["store_id"].astype(str).isin(self.selected_stores())]
        return (df.groupby(["store_id", "item"], as_index=False)["amount_rc"].sum()
                .sort_values(["store_id", "amount_rc"], ascending=[True, False]))

    def figure(self) -> Any:
        import plotly.graph_objects as go

        df = self.waterfall_frame
        if df.empty:
            return None
        labels = df["label_zh" if self.lang == "zh" else "label_en"].astype(str).tolist()
        measure = ["absolute" if k == "total" and i == 0 else "total" if k in ("subtotal", "total") else "relative"
                   for i, k in enumerate(df["kind"])]
        fig = go.Figure(go.Waterfall(x=labels, y=df["amount_rc"].tolist(), measure=measure,
                                     text=[f"{v:,.0f}" for v in df["amount_rc"]], textposition="outside"))
        fig.update_layout(height=440, margin={"t": 30, "l": 10, "r": 10, "b": 10}, showlegend=False,
                          title=f"GMV → net profit · {self.scope_note}")
        return fig

    def _render(self) -> None:
        show_figure(self.figure_out, self.figure())
        wf = self.waterfall_frame
        if not wf.empty:
            view = wf[["label_zh" if self.lang == "zh" else "label_en", "amount_rc", "pct_of_net_sales"]].copy()
            view["pct_of_net_sales"] = (view["pct_of_net_sales"] * 100).round(1)
            self.waterfall_table.value = df_html(view.rename(columns={"pct_of_net_sales": "% of net sales"}), 40)
        ue = self.unit_frame
        cols = [c for c in ("sku", "category", "units", "net_sales", "landed_cost_per_unit", "fees_per_unit",
                            "ads_per_unit", "return_loss_per_unit", "contribution_per_unit", "margin", "acos",
                            "break_even_acos") if c in ue]
        self.unit_table.value = df_html(ue[cols], max_rows=25) if len(ue) else message_html("(no SKUs)", "info")
        oh = self.overhead_frame
        if oh.empty:
            self.overhead_table.value = message_html("No overheads for this period (parameters/overheads.yaml).", "info")
            return
        carried = float(oh["amount_rc"].sum())
        in_wf = 0.0
        if not wf.empty and (wf["step"] == "overheads").any():
            in_wf = -float(wf.loc[wf["step"] == "overheads", "amount_rc"].iloc[0])
        by_store = oh.pivot_table(index="store_id", columns="item", values="amount_rc", aggfunc="sum").fillna(0.0)
        by_store["total"] = by_store.sum(axis=1)
        self.overhead_table.value = (
            message_html(f"Under allocation by {self.alloc_basis.value}: {carried:,.2f} "
                         f"(the waterfall's overheads: {in_wf:,.2f}, as computed by `kpi compute`)", "info")
            + df_html(by_store.reset_index(), max_rows=30)
        )


