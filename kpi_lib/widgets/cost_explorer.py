"""Cost explorer: waterfall from GMV to net profit, unit economics, overhead allocation.

All figures come from ``kpi_lib.costs``. Filters choose the entity the way the costs API knows them:
a store, else a platform, else a category, else the company; a marketplace (optionally within a
platform) is the sum of its stores' waterfalls (amounts add up across stores; percentages are
recomputed on the summed net sales). The category filter also narrows the unit-economics table.
Overheads: by default the table shows ``costs.allocated_overheads`` (what `kpi compute` allocated, each
item by its own basis: the same figure as the waterfall's overheads step); another allocation basis is
a labelled what-if (``costs.allocate_overheads`` with every item on that basis) shown next to it.
Words come from the label catalog (``widget.*`` keys) in zh or en; money carries its currency.
"""

from __future__ import annotations

import contextlib
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go

from .. import costs
from ..config import workbench
from ..errors import KpiError
from ..labels import label
from ..periods import months_between, period_bounds
from ..present.charts import money_axis, waterfall_levels
from .common import (
    ActionBar,
    Panel,
    clear_output_widget,
    details_accordion,
    error_issues,
    fmt_money,
    message_html,
    open_warehouse,
    show_figure,
    table_html,
)
from .cost_figures import CostFigures
from .data import INCOMPLETE, TO_DATE, period_options, reference_frame, stores_frame

ALL = ""
CONFIGURED = ""  # allocation basis: each item by its own basis, as `kpi compute` allocated it
BASES = ["net_sales", "orders", "units", "headcount"]
UNIT_COLS = {"sku": "text", "category": "text", "units": "int", "net_sales": "money", "landed_cost_per_unit": "money",
             "fees_per_unit": "money", "ads_per_unit": "money", "return_loss_per_unit": "money",
             "contribution_per_unit": "money", "margin": "pct", "acos": "pct", "break_even_acos": "pct"}


class CostExplorer(Panel):
    """Main methods: ``entity``, ``refresh``, ``waterfall``, ``unit_economics``, ``overheads``.

    On an error the previous chart and tables are cleared (``figure_out`` empty, tables blank, frames
    empty) and the status line says what to do; technical details sit in a collapsed accordion.
    """

    title_text = "Cost explorer"

    def __init__(self, lang: str | None = None) -> None:
        self.lang = lang or workbench().default_language
        self.currency = workbench().reporting_currency
        self.warehouse = open_warehouse()
        self.waterfall_frame = pd.DataFrame()
        self.unit_frame = pd.DataFrame()
        self.overhead_frame = pd.DataFrame()
        self.configured_overheads = 0.0
        self.scope_note = ""
        self.error_text = ""
        self.language = W.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value=self.lang)
        self.reload_button = W.Button(icon="refresh")
        self.reload_button.on_click(lambda _b: self.reload())

        self.platform = W.Dropdown()
        self.marketplace = W.Dropdown()
        self.store = W.Dropdown()
        self.category = W.Dropdown()
        self.period = W.Dropdown()
        self.basis = W.ToggleButtons(value=None)
        self.alloc_basis = W.ToggleButtons(value=None)
        self.loss_only = W.Checkbox(value=False)
        self.scope = W.HTML()
        self.figure_out = W.Output()
        self.waterfall_table = W.HTML()
        self.unit_table = W.HTML()
        self.overhead_table = W.HTML()
        self.details = W.VBox()
        self.header = W.HTML()
        self.unit_header = W.HTML()
        self.overhead_header = W.HTML()
        for w in (self.platform, self.marketplace, self.store, self.category):
            w.data_values = True  # option labels are data (ids, names), not interface words
        self.store.add_class("kpi-cost-store")  # the browser test drives the store filter
        self.scope.add_class("kpi-cost-scope")
        self._busy = True
        self._set_words()
        self._busy = False
        self.bar = ActionBar([self.reload_button], self.lang,
                             also=[self.platform, self.marketplace, self.store, self.category, self.period,
                                   self.basis, self.alloc_basis, self.loss_only])
        self.status = self.bar.status

        if self.warehouse is None:
            self.widget = W.VBox([self.header, W.HTML(message_html(label("widget.no_warehouse", self.lang), "warn"))])
            return
        self.stores = stores_frame(self.warehouse)
        self.figures = CostFigures(self.warehouse, self.stores)
        self.item_names = _item_names()
        skus = reference_frame("skus", self.warehouse)
        self.categories = sorted(skus["category"].dropna().astype(str).unique()) if "category" in skus else []
        self._busy = True
        self._fill_options()
        self.platform.value = ALL
        self.category.value = ALL
        opts, default = period_options(self.warehouse, ("month", "quarter"))
        self.period.options = self._period_labels(opts)
        self.period.value = default if default is not None else (opts[0][1] if opts else None)
        self._update_store_options()
        self._busy = False

        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.platform.observe(lambda _c: self._filters_changed(), names="value")
        self.marketplace.observe(lambda _c: self._filters_changed(), names="value")
        for w in (self.store, self.category, self.period, self.basis, self.alloc_basis, self.loss_only):
            w.observe(lambda _c: self.refresh(), names="value")

        self.widget = W.VBox([
            W.HBox([self.header, self.language], layout=W.Layout(justify_content="space-between")),
            W.HBox([self.platform, self.marketplace, self.store]),
            W.HBox([self.category, self.period]),
            W.HBox([self.basis]), self.bar.widget, self.scope, self.details, self.figure_out, self.waterfall_table,
            self.unit_header, self.loss_only, self.unit_table,
            self.overhead_header, self.alloc_basis, self.overhead_table,
        ])
        self.refresh()

    def summary(self) -> str:
        if self.warehouse is None:
            return label("widget.no_warehouse", self.lang)
        return f"{label('widget.cost.title', self.lang)}: {self.scope_note}"

    # -- language ----------------------------------------------------------------------------
    def _t(self, key: str) -> str:
        return label(key, self.lang)

    def _set_words(self) -> None:
        """Every control's words in ``self.lang`` (values are kept)."""
        t = self._t
        self.header.value = f"<h3>{t('widget.cost.title')}</h3>"
        self.unit_header.value = f"<h4>{t('widget.cost.unit_title')}</h4>"
        self.overhead_header.value = f"<h4>{t('widget.cost.overheads_title')}</h4>"
        self.language.description = t("widget.lang")
        self.reload_button.description = t("widget.reload")
        for w, key in ((self.platform, "platform"), (self.marketplace, "marketplace"), (self.store, "store"),
                       (self.category, "category"), (self.period, "period")):
            w.description = t(f"widget.filter.{key}")
        keep = self.basis.value or "order"
        self.basis.options = [(t("widget.basis.order"), "order"), (t("widget.basis.posted"), "posted")]
        self.basis.value = keep
        self.basis.description = t("widget.basis.view")
        keep_a = self.alloc_basis.value or CONFIGURED
        self.alloc_basis.options = [(t("widget.cost.alloc.configured"), CONFIGURED)] + [
            (t(f"widget.cost.alloc.{b}"), b) for b in BASES]
        self.alloc_basis.value = keep_a
        self.alloc_basis.description = t("widget.cost.alloc_by")
        self.loss_only.description = t("widget.cost.loss_only")

    def _period_labels(self, opts: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(lbl.replace(TO_DATE, self._t("widget.period.to_date")).replace(INCOMPLETE,
                                                                               self._t("widget.period.incomplete")), v)
                for lbl, v in opts]

    def _fill_options(self) -> None:
        all_ = self._t("widget.all")
        self.platform.options = [(all_, ALL)] + [(p, p) for p in sorted(self.stores["platform"].astype(str).unique())]
        self.category.options = [(all_, ALL)] + [(c, c) for c in self.categories]

    def set_language(self, lang: str) -> None:
        """Switch every label, header and message between zh and en and redraw."""
        self.lang = self.bar.lang = lang
        if self.language.value != lang:
            self.language.value = lang
            return
        self._busy = True
        try:
            keep = (self.platform.value, self.category.value, self.period.value)
            self._set_words()
            if self.warehouse is not None:
                self._fill_options()
                self.platform.value, self.category.value = keep[0], keep[1]
                opts, _ = period_options(self.warehouse, ("month", "quarter"))
                self.period.options = self._period_labels(opts)
                self.period.value = keep[2]
                self._update_store_options()
        finally:
            self._busy = False
        self.refresh()

    # -- filters -----------------------------------------------------------------------------
    def _period_options(self) -> list[tuple[str, str]]:
        return period_options(self.warehouse, ("month", "quarter"))[0]

    def _update_store_options(self) -> None:
        st = self.stores
        all_ = self._t("widget.all")
        if self.platform.value:
            st = st[st["platform"].astype(str) == self.platform.value]
        mkts = sorted(st["marketplace"].astype(str).unique())
        keep_m = self.marketplace.value
        self.marketplace.options = [(all_, ALL)] + [(m, m) for m in mkts]
        self.marketplace.value = keep_m if keep_m in mkts else ALL
        if self.marketplace.value:
            st = st[st["marketplace"].astype(str) == self.marketplace.value]
        ids = sorted(st["store_id"].astype(str).unique())
        keep_s = self.store.value
        self.store.options = [(all_, ALL)] + [(s, s) for s in ids]
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
    def reload(self) -> None:
        """Forget cached figures (after `kpi compute` or a new ingest) and redraw."""
        if self.warehouse is not None:
            self.warehouse.refresh()
        self.warehouse = open_warehouse()
        if self.warehouse is not None:
            self.stores = stores_frame(self.warehouse)
            self.figures = CostFigures(self.warehouse, self.stores)
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

    def clear_results(self) -> None:
        """Remove the previous chart, tables and frames (an error must never leave stale figures on screen)."""
        self.waterfall_frame = pd.DataFrame()
        self.unit_frame = pd.DataFrame()
        self.overhead_frame = pd.DataFrame()
        self.configured_overheads = 0.0
        clear_output_widget(self.figure_out)
        self.waterfall_table.value = ""
        self.unit_table.value = ""
        self.overhead_table.value = ""
        self.details.children = ()

    def refresh(self) -> None:
        if self.warehouse is None or self._busy or not self.period.value:
            return
        kind, ids = self.entity()
        who = self._t("widget.cost.company") if kind == "company" else ", ".join(str(i) for i in ids)
        basis = self._t(f"widget.basis.{self.basis.value}")
        self.scope_note = f"{who} · {self.period.value} · {basis}"
        note = self._t("widget.cost.category_note") if self.category.value and kind != "category" else ""
        self.scope.value = message_html(f"{self._t('widget.cost.scope')}: {self.scope_note} {note}".strip(), "info")
        self.error_text = ""
        self.details.children = ()
        with self.bar.busy("widget.busy.computing") as status:
            try:
                self.waterfall_frame = self.waterfall()
                self.unit_frame = self.unit_economics()
                self.overhead_frame = self.overheads()
            except KpiError as exc:
                self.clear_results()
                issues = error_issues(exc)
                self.error_text = issues[0] if issues else type(exc).__name__
                status.error(f"{self._t('widget.cost.error')}: {self.error_text}", issues[1:])
                self.details.children = (details_accordion("widget.details", [type(exc).__name__, *issues],
                                                           self.lang),)
                return
            self._render()

    def waterfall(self) -> pd.DataFrame:
        """``costs.waterfall`` of the chosen entity (several stores of a marketplace: as one entity)."""
        kind, ids = self.entity()
        return self.figures.waterfall(kind, ids, str(self.period.value), str(self.basis.value))

    def unit_economics(self) -> pd.DataFrame:
        """``costs.unit_economics`` over the chosen stores (a category: the company's SKUs of it)."""
        kind, _ids = self.entity()
        stores = None if kind in ("company", "category") else self.selected_stores()
        df = self.figures.unit_economics(stores, str(self.period.value))
        if self.category.value and "category" in df:
            df = df[df["category"].astype(str) == self.category.value]
        if self.loss_only.value and "loss_making" in df:
            df = df[df["loss_making"].astype(bool)]
        if "margin" in df:
            df = df.sort_values("margin", na_position="last")
        return df.reset_index(drop=True)

    def months(self) -> list[str]:
        return months_between(*period_bounds(str(self.period.value)))

    def overheads(self) -> pd.DataFrame:
        """Overheads the selected stores carry, per store and item.

        "As set per item" (the default) reads ``costs.allocated_overheads``: the allocation `kpi compute`
        stored, which is what the waterfall's overheads step and net profit carry (one figure per store
        and month). Another basis is a what-if: ``costs.allocate_overheads`` with every item on that basis.
        """
        stores = self.selected_stores()
        configured = self.figures.allocated_overheads(tuple(self.months()))
        configured = configured[configured["store_id"].astype(str).isin(stores)]
        self.configured_overheads = float(configured["amount_rc"].sum()) if len(configured) else 0.0
        if self.alloc_basis.value == CONFIGURED:
            df = configured
        else:
            parts = [self.figures.allocate_overheads(m, self.alloc_basis.value) for m in self.months()]
            df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["store_id", "item", "amount_rc"])
            df = df[df["store_id"].astype(str).isin(stores)] if len(df) else df
        if df.empty:
            return pd.DataFrame(columns=["store_id", "item", "amount_rc"])
        return (df.groupby(["store_id", "item"], as_index=False)["amount_rc"].sum()
                .sort_values(["store_id", "amount_rc"], ascending=[True, False]).reset_index(drop=True))

    def figure(self) -> Any:
        df = self.waterfall_frame
        if df.empty:
            return None
        labels = df["label_zh" if self.lang == "zh" else "label_en"].astype(str).tolist()
        measure = ["absolute" if k == "total" and i == 0 else "total" if k in ("subtotal", "total") else "relative"
                   for i, k in enumerate(df["kind"])]
        fig = go.Figure(go.Waterfall(x=labels, y=df["amount_rc"].tolist(), measure=measure,
                                     text=[f"{v:,.2f}" for v in df["amount_rc"]], textposition="outside"))
        fig.update_layout(height=440, margin={"t": 40, "l": 10, "r": 10, "b": 10}, showlegend=False,
                          title=f"{self._t('widget.cost.waterfall_title')} · {self.scope_note}",
                          yaxis_title=f"{self._t('widget.col.amount')} ({self.currency})")
        money_axis(fig, waterfall_levels(df["amount_rc"].astype(float).tolist(), measure), self.currency, self.lang)
        return fig

    def _headers(self) -> dict[str, str]:
        return {c: self._t(f"widget.col.{c}") for c in
                [*UNIT_COLS, "step", "amount", "pct_net_sales", "store", "total"]}

    def _render(self) -> None:
        show_figure(self.figure_out, self.figure())
        h = self._headers()
        wf = self.waterfall_frame
        if not wf.empty:
            view = pd.DataFrame({"step": wf["label_zh" if self.lang == "zh" else "label_en"].astype(str),
                                 "amount": wf["amount_rc"], "pct_net_sales": wf["pct_of_net_sales"]})
            self.waterfall_table.value = table_html(
                view, {"step": "text", "amount": "money", "pct_net_sales": "pct"},
                {**h, "amount": f"{h['amount']} ({self.currency})"}, self.currency, self.lang, 40)
        else:
            self.waterfall_table.value = message_html(self._t("widget.no_rows"), "info")
        ue = self.unit_frame
        self.unit_table.value = (table_html(ue, UNIT_COLS, h, self.currency, self.lang, 25) if len(ue)
                                 else message_html(self._t("widget.cost.no_skus"), "info"))
        oh = self.overhead_frame
        if oh.empty:
            self.overhead_table.value = message_html(self._t("widget.cost.no_overheads"), "info")
            return
        carried = fmt_money(oh["amount_rc"].sum(), self.currency)
        if self.alloc_basis.value == CONFIGURED:
            head = self._t("widget.cost.overheads_configured").format(amount=carried)
        else:
            head = self._t("widget.cost.overheads_whatif").format(
                basis=self._t(f"widget.cost.alloc.{self.alloc_basis.value}"), amount=carried,
                configured=fmt_money(self.configured_overheads, self.currency))
        by_store = oh.pivot_table(index="store_id", columns="item", values="amount_rc", aggfunc="sum").fillna(0.0)
        by_store = by_store.rename(columns=lambda c: self.item_names.get(str(c), str(c)))
        items = [str(c) for c in by_store.columns]
        by_store["total"] = by_store.sum(axis=1)
        table = by_store.reset_index().rename(columns={"store_id": "store"})
        kinds = {"store": "text", **{i: "money" for i in items}, "total": "money"}
        self.overhead_table.value = message_html(head, "info") + table_html(table, kinds, h, self.currency,
                                                                             self.lang, 30)


def _item_names() -> dict[str, str]:
    """Overhead item id → the name people gave it in overheads.yaml (the id when it has none)."""
    try:
        cfg = costs.load_overheads()
    except KpiError:
        return {}
    names = {it.id: it.name for it in [*cfg.staff, *cfg.rent] if it.name}
    names.update({s.id: s.vendor for s in cfg.subscriptions if s.vendor})
    return names
