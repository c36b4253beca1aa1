"""Target setting: a top target for a KPI × entity × period, cascaded to store × month targets.

The top target is absolute or a growth over the same period last year. Cascade methods:

- ``historical``: the engine's ``targets.cascade`` (store shares of the trailing 12 months, months
  by last year's seasonality, cold-start ramps for stores younger than ``ramp_months``); saved as one
  ``cascade: true`` target so the engine re-derives the split from the data every time.
- ``equal`` / ``manual``: store weights equal or set with sliders (months keep the engine's
  seasonal weights, young stores keep the ramp factor); saved as the top target plus explicit
  store × month targets.

Saving validates the whole targets file with ``targets.TargetsFile`` (the model the loader uses)
before writing it atomically; an invalid entry leaves the file as it was.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go
from pydantic import ValidationError

from .. import paths
from ..config import format_validation_error, workbench
from ..definitions import load_catalog
from ..errors import ConfigError, KpiError
from ..metrics import compute, period_bounds, period_label, shift_period
from ..org import ENTITY_DIMENSION, store_launch_dates
from ..periods import last_year
from ..present.charts import money_axis
from ..spec import targets as targets_spec
from ..targets import Target, cascade, kpi_growth_target, reweight
from .common import (
    ActionBar,
    Panel,
    details_accordion,
    esc,
    fmt_money,
    language_toggle,
    no_warehouse_widget,
    open_warehouse,
    show_figure,
    table_html,
)
from .data import finished_months, reference_frame, stores_frame
from .target_figures import TargetFigures

KINDS = ["company", "platform", "team", "store"]
METHODS = ["historical", "equal", "manual"]
MODES = ["absolute", "growth"]
DEFAULT_FILE = "target_setting.yaml"


class TargetSetting(Panel):
    """Main methods: ``top_value``, ``preview``, ``save``; controls are attributes."""

    title_text = "Target setting"

    def __init__(self, file_name: str = DEFAULT_FILE, lang: str | None = None) -> None:
        self.lang = lang or workbench().default_language
        self.currency = workbench().reporting_currency
        self.catalog = load_catalog()
        self.warehouse = open_warehouse()
        self.result: pd.DataFrame = pd.DataFrame()
        self.history: pd.DataFrame = pd.DataFrame()
        self.last_year_value: float | None = None
        self.store_sliders: dict[str, W.FloatSlider] = {}
        self._busy = False

        self.kpi = W.Dropdown(options=self._kpi_options(), value="gmv" if "gmv" in self.catalog.ids() else None)
        self.entity_kind = W.Dropdown(options=KINDS, value="company")
        self.entity_id = W.Dropdown(options=[])
        self.entity_id.data_values = True  # platforms, teams, stores: the user's own names
        self.period = W.Dropdown(options=[])
        self.mode = W.ToggleButtons(options=MODES, value="growth")
        self.value = W.FloatText(value=0.0)
        self.growth = W.FloatSlider(value=0.15, min=-0.5, max=1.0, step=0.01, readout_format=".0%",
                                    continuous_update=False)
        self.method = W.ToggleButtons(options=METHODS, value="historical")
        self.ramp_months = W.IntSlider(value=6, min=1, max=12, continuous_update=False,
                                       style={"description_width": "initial"})
        self.file_name = W.Text(value=file_name)
        self.top_label = W.HTML()
        self.manual_hint = W.HTML()
        self.manual_box = W.VBox()
        self.preview_button = W.Button(icon="refresh")
        self.save_button = W.Button(button_style="primary", icon="save")
        self.language = language_toggle(self.lang)
        self.header = W.HTML()
        self.details = W.VBox()
        self.table = W.HTML()
        self.figure_out = W.Output()
        self.bar = ActionBar([self.preview_button, self.save_button], self.lang,
                             also=[self.kpi, self.entity_kind, self.entity_id, self.period, self.mode, self.method])
        self.status = self.bar.status  # outcome beside Preview / Save
        self._busy = True
        self._set_words()
        self._busy = False

        if self.warehouse is None:
            self.widget = W.VBox([self.header, no_warehouse_widget(self.lang)])
            self.status.warn(self._t("widget.tgt.no_warehouse"))
            return


        self.stores = stores_frame(self.warehouse)
        self.figures = TargetFigures(self.warehouse, self.catalog)  # every KPI's rows, read once
        self._data_months = self._months_with_data()
        self.period.options = self._period_options()
        self.period.value = self._default_period()
        self._set_entity_ids()

        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.entity_kind.observe(lambda _c: self._busy or (self._set_entity_ids(), self.preview()), names="value")
        self.mode.observe(lambda _c: self._mode_changed(), names="value")
        self._mode_changed()
        for w in (self.kpi, self.entity_id, self.period, self.mode, self.value, self.growth, self.ramp_months):
            w.observe(lambda _c: self.preview(), names="value")
        self.method.observe(lambda _c: self._method_changed(), names="value")
        self.preview_button.on_click(lambda _b: self.preview())
        self.save_button.on_click(lambda _b: self.save())

        controls = W.VBox([
            W.HBox([self.kpi, self.entity_kind, self.entity_id, self.period]),
            self.mode, W.HBox([self.value, self.growth]), self.top_label,
            self.method, self.ramp_months, self.manual_box,
            W.HBox([self.file_name, self.bar.widget], layout=W.Layout(align_items="center")),
        ])
        self.widget = W.VBox([
            W.HBox([self.header, self.language], layout=W.Layout(justify_content="space-between")),
            controls, self.details, self.figure_out, self.table])
        self.preview()

    def summary(self) -> str:
        if self.warehouse is None:
            return self._t("widget.tgt.no_warehouse")
        return self._t("widget.tgt.summary", n=len(self.result))

    # -- language ----------------------------------------------------------------------------
    def _kpi_options(self) -> list[tuple[str, str]]:
        return [(self.catalog.name(k, self.lang), k) for k in self.catalog.ids()]

    def _set_words(self) -> None:
        """Every control's words in ``self.lang`` (values kept)."""
        t = self._t
        self.header.value = f"<h3>{esc(t('widget.tgt.title'))}</h3>"
        self.language.description = t("widget.lang")
        for w, key in ((self.kpi, "kpi"), (self.entity_kind, "entity"), (self.entity_id, "which"),
                       (self.period, "period"), (self.mode, "mode"), (self.value, "value"), (self.growth, "growth"),
                       (self.method, "method"), (self.ramp_months, "ramp"), (self.file_name, "save_as")):
            w.description = t(f"widget.tgt.{key}")
        self.preview_button.description = t("widget.tgt.preview")
        self.save_button.description = t("widget.tgt.save")
        self.manual_hint.value = f"<i>{esc(t('widget.tgt.manual_hint'))}</i>"
        for w, keys, prefix in ((self.entity_kind, KINDS, "entity"), (self.mode, MODES, "mode"),
                                (self.method, METHODS, "method")):
            keep = w.value
            w.options = [(t(f"widget.tgt.{prefix}.{k}"), k) for k in keys]
            w.value = keep
        keep = self.kpi.value
        self.kpi.options = self._kpi_options()
        self.kpi.value = keep
        if self.entity_kind.value == "team" and self.entity_id.options:
            keep = self.entity_id.value
            self.entity_id.options = self._team_labels([v for _l, v in self.entity_id.options])
            self.entity_id.value = keep

    def set_language(self, lang: str) -> None:
        """Switch every label, option, header and message between zh and en and redraw."""
        self.lang = self.bar.lang = lang
        if self.language.value != lang:
            self.language.value = lang
            return
        self._busy = True
        try:
            self._set_words()
        finally:
            self._busy = False
        if self.warehouse is not None:
            self.preview()

    # -- options -----------------------------------------------------------------------------
    def _months_with_data(self) -> list[str]:
        try:
            return finished_months(self.warehouse)
        except KpiError:
            return []

    def _period_options(self) -> list[str]:
        if not self._data_months:
            return []
        last = self._data_months[-1]
        q_last = period_label(f"{last}-01", "quarter")
        quarters = [shift_period(q_last, k) for k in range(-3, 3)]
        months = [shift_period(last, k) for k in range(-2, 4)]
        years = [shift_period(period_label(f"{last}-01", "year"), k) for k in (0, 1)]
        return quarters + months + years

    def _default_period(self) -> str | None:
        if not self._data_months:
            return None
        return shift_period(period_label(f"{self._data_months[-1]}-01", "quarter"), 1)

    def _set_entity_ids(self) -> None:
        kind = self.entity_kind.value
        if kind == "company":
            opts: list[str] = []
        elif kind == "platform":
            opts = sorted(self.stores["platform"].astype(str).unique()) if "platform" in self.stores else []
        elif kind == "store":
            opts = sorted(self.stores["store_id"].astype(str).unique())
        else:
            teams = reference_frame("teams", self.warehouse)
            opts = sorted(teams["team_id"].astype(str).unique()) if "team_id" in teams else (
                sorted(self.stores["team_id"].astype(str).unique()) if "team_id" in self.stores else [])
        labelled = self._team_labels(opts) if kind == "team" else [(o, o) for o in opts]
        self._busy = True
        try:
            keep = self.entity_id.value
            self.entity_id.options = labelled
            self.entity_id.value = keep if keep in opts else (opts[0] if opts else None)
        finally:
            self._busy = False
        self.entity_id.disabled = kind == "company"

    def _team_labels(self, ids: list[str]) -> list[tuple[str, str]]:
        """(``T-AMZ · 亚马逊组``, id): the team's name in the panel's language beside its id."""
        teams = reference_frame("teams", self.warehouse)
        col = "team_name_zh" if self.lang == "zh" and "team_name_zh" in teams else "team_name"
        names = dict(zip(teams["team_id"].astype(str), teams[col].astype(str))) if col in teams else {}
        return [(f"{t} · {names[t]}" if names.get(t) else t, t) for t in ids]

    def _mode_changed(self) -> None:
        """Only the input of the chosen mode is editable (the value for absolute, the growth rate for growth)."""
        self.value.disabled = self.mode.value != "absolute"
        self.growth.disabled = self.mode.value != "growth"

    def _method_changed(self) -> None:
        self._build_manual_sliders()
        self.preview()

    # -- computation -------------------------------------------------------------------------
    def target_spec(self) -> dict[str, Any]:
        """The top target as a dict for ``targets.Target``."""
        spec: dict[str, Any] = {
            "kpi": self.kpi.value, "entity_kind": self.entity_kind.value,
            "entity_id": None if self.entity_kind.value == "company" else self.entity_id.value,
            "period": self.period.value, "ramp_months": int(self.ramp_months.value),
        }
        if self.mode.value == "absolute":
            spec["value"] = float(self.value.value)
        else:
            spec["growth"] = round(float(self.growth.value), 4)
        return spec

    def _filters(self) -> dict[str, str] | None:
        dim = ENTITY_DIMENSION.get(self.entity_kind.value)
        return {dim: self.entity_id.value} if dim and self.entity_id.value else None

    def top_value(self) -> float:
        """The top target: the absolute value, or last year's same period × (1 + growth)."""

        if self.mode.value == "absolute":
            self.last_year_value = None
            v = float(self.value.value)
            if not math.isfinite(v):
                raise _UserInput(self._t("widget.tgt.not_number"))
            return v
        kpi, kind, eid, period = self.kpi.value, self.entity_kind.value, self.entity_id.value or None, str(self.period.value)
        g = kpi_growth_target(kpi, kind, eid, period, float(self.growth.value), self.warehouse,
                              rows=self.figures.entity_rows(kpi, kind, eid, last_year(period)))
        if g.value is None:
            raise _UserInput(self._t("widget.tgt.no_last_year", period=g.last_year))
        self.last_year_value = g.base
        return g.value

    def _cascade(self, total: float) -> pd.DataFrame:
        spec = {k: v for k, v in self.target_spec().items() if k not in ("value", "growth")}
        t = Target.model_validate({**spec, "value": total, "cascade": True})
        history = None
        if self.catalog.is_additive(t.kpi):  # the 24 months before the period, every store (sliced by the cascade)
            first = shift_period(period_label(period_bounds(t.period)[0], "month"), -24)
            history = self.figures.store_months(t.kpi, first, shift_period(first, 23))
        return cascade(t, warehouse=self.warehouse, ramp_months=int(self.ramp_months.value), catalog=self.catalog,
                       value=total, history=history)

    def _build_manual_sliders(self) -> None:
        if self.method.value != "manual":
            self.manual_box.children = ()
            self.store_sliders = {}
            return
        try:
            hist = self._cascade(1.0)
        except (KpiError, _UserInput, ValueError):
            hist = pd.DataFrame(columns=["entity_id", "value"])
        shares = hist.groupby("entity_id")["value"].sum() if len(hist) else pd.Series(dtype=float)
        self.store_sliders = {
            str(s): W.FloatSlider(value=round(float(v) * 100, 1), min=0, max=100, step=0.5, description=str(s),
                                  readout_format=".1f", continuous_update=False)
            for s, v in shares.items()
        }
        for sl in self.store_sliders.values():
            sl.observe(lambda _c: self.preview(), names="value")
        self.manual_box.children = [self.manual_hint, *self.store_sliders.values()]

    def preview(self) -> pd.DataFrame:
        """Recompute the store × month targets for the current inputs and draw them (busy state on the bar)."""
        if self.warehouse is None or not self.period.value or self._busy:
            return self.result
        with self.bar.busy("widget.busy.computing"):
            return self._preview()

    def _fmt(self, v: Any) -> str:
        """A value of the selected KPI: money with currency and two decimals, rates as %."""
        unit = self.catalog.get(self.kpi.value).unit
        if unit == "money":
            return fmt_money(v, self.currency)
        return f"{float(v):.1%}" if unit in ("pct", "ratio") else f"{float(v):,.2f}"

    def _preview(self) -> pd.DataFrame:
        self.details.children = ()
        try:
            total = self.top_value()
            base = self._cascade(total)
            method = self.method.value
            if method == "historical":
                df = base
            else:
                df = self._reweight(base, total, method)
        except (KpiError, _UserInput, ValueError) as exc:
            self.result = pd.DataFrame()
            self.history = pd.DataFrame()
            self.table.value = ""
            self.top_label.value = ""
            show_figure(self.figure_out, None)  # an error never leaves the previous chart on screen
            if isinstance(exc, _UserInput):
                self.status.error(f"{self._t('widget.tgt.cannot_cascade')}: {exc}")
            else:
                self.status.error(self._t("widget.tgt.cannot_cascade"))
                self.details.children = (details_accordion("widget.details", [type(exc).__name__, str(exc)],
                                                           self.lang),)
            return self.result
        self.result = df.reset_index(drop=True)
        ly = (self._t("widget.tgt.last_year", value=self._fmt(self.last_year_value))
              if self.last_year_value is not None else "")
        self.top_label.value = self._t("widget.tgt.top", value=esc(self._fmt(total)), last_year=esc(ly))
        self.status.info(self._t("widget.tgt.sum_info", n=len(df), total=self._fmt(df["value"].sum()))
                         if self.catalog.is_additive(self.kpi.value) else self._t("widget.tgt.copy_info", n=len(df)))
        p = self.pivot()
        unit = self.catalog.get(self.kpi.value).unit
        kind = "money" if unit == "money" else "pct" if unit in ("pct", "ratio") else "num"
        cols = [c for c in p.columns if c != "store"]
        heads = {"store": self._t("widget.col.store"), "total": self._t("widget.col.total"),
                 **{c: str(c) for c in cols if c != "total"}}
        self.table.value = table_html(p, {"store": "text", **{c: kind for c in cols}}, heads, self.currency,
                                      self.lang, 40)
        self._load_history()
        show_figure(self.figure_out, self.figure())
        return self.result

    def _reweight(self, base: pd.DataFrame, total: float, method: str) -> pd.DataFrame:
        """Equal or manual store weights (kpi_lib.targets.reweight: months keep the engine's seasonal
        split, young stores their ramp)."""

        if not self.catalog.is_additive(self.kpi.value):
            return base.assign(method=f"{method} (non-additive KPI: copied)")
        weights = {s: float(sl.value) for s, sl in self.store_sliders.items()}
        return reweight(base, total, method, store_launch_dates(self.warehouse), int(self.ramp_months.value), weights)

    def pivot(self) -> pd.DataFrame:
        if self.result.empty:
            return self.result
        p = self.result.pivot_table(index="entity_id", columns="period", values="value", aggfunc="sum")
        if self.catalog.is_additive(self.kpi.value):
            p["total"] = p.sum(axis=1)
        return p.reset_index().rename(columns={"entity_id": "store"})

    def _load_history(self) -> None:
        if self.result.empty:
            self.history = pd.DataFrame()
            return
        months = sorted(self.result["period"].unique())
        start = (pd.Timestamp(period_bounds(months[0])[0]) - pd.DateOffset(months=12)).date()
        end = min(period_bounds(months[-1])[1], dt.date.today())
        if self._data_months:  # trends end with the last finished month (an unfinished one would drop to ~0)
            end = min(end, period_bounds(self._data_months[-1])[1])
        stores = sorted(self.result["entity_id"].unique())
        if end == period_bounds(period_label(end, "month"))[1]:  # whole months: the stored store × month rows
            self.history = self.figures.chart_months(self.kpi.value, stores, period_label(start, "month"),
                                                     period_label(end, "month"))
            return
        self.history = compute([self.kpi.value], by=["store_id"], period="month", start=start, end=end,
                               filters={"store_id": stores}, warehouse=self.warehouse)

    def figure(self) -> Any:
        if self.result.empty:
            return None
        fig = go.Figure()
        k = self.kpi.value
        for s in sorted(self.result["entity_id"].unique()):
            h = self.history[self.history["store_id"] == s] if len(self.history) else pd.DataFrame()
            if len(h):
                fig.add_trace(go.Scatter(x=h["period"], y=h[k], mode="lines", name=self._t("widget.tgt.actual", store=s)))
            t = self.result[self.result["entity_id"] == s]
            fig.add_trace(go.Bar(x=t["period"], y=t["value"], name=self._t("widget.tgt.target", store=s), opacity=0.75))
        unit = self.catalog.get(k).unit
        name = self.catalog.name(k, self.lang)
        fig.update_layout(barmode="stack" if self.catalog.is_additive(k) else "group", height=420,
                          margin={"t": 40, "l": 10, "r": 10, "b": 10},
                          title=self._t("widget.tgt.figure_title", kpi=name),
                          yaxis_title=f"{name} ({self.currency})" if unit == "money" else name,
                          yaxis_tickformat=".0%" if unit in ("pct", "ratio") else ",.0f")
        if unit == "money":
            money_axis(fig, [v for tr in fig.data for v in (tr.y if tr.y is not None else ())], self.currency,
                       self.lang)
        return fig

    # -- saving ------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        name = self.file_name.value.strip() or DEFAULT_FILE
        if not name.endswith((".yaml", ".yml")):
            name += ".yaml"
        return paths.parameters_dir() / "targets" / Path(name).name

    def entries(self) -> list[dict[str, Any]]:
        """The targets this panel would save (top target, plus store × month rows unless historical)."""
        spec = self.target_spec()
        tag = f"target setting: {spec['kpi']} {spec['entity_kind']}:{spec['entity_id'] or ''}:{spec['period']}"
        if self.method.value == "historical":
            return [{**spec, "cascade": True, "note": tag}]
        out = [{**{k: v for k, v in spec.items() if k != "ramp_months"}, "cascade": False, "note": tag}]
        for r in self.result.itertuples():
            out.append({"kpi": r.kpi, "entity_kind": "store", "entity_id": r.entity_id, "period": r.period,
                        "value": round(float(r.value), 2), "note": f"{tag} ({self.method.value})"})
        return out

    def input_issues(self) -> list[str]:
        """Problems with the inputs that no cascade can fix (shown instead of saving)."""
        out = []
        if self.entity_kind.value != "company" and not self.entity_id.value:
            out.append(self._t("widget.tgt.choose_id", kind=self._t(f"widget.tgt.entity.{self.entity_kind.value}")))
        if not self.period.value:
            out.append(self._t("widget.tgt.choose_period"))
        if self.mode.value == "absolute" and not math.isfinite(float(self.value.value)):
            out.append(self._t("widget.tgt.not_number"))
        return out

    def save(self) -> bool:
        """Upsert this panel's targets into the file (validated first; nothing written if invalid)."""
        if self.warehouse is None:
            self.status.error(self._t("widget.tgt.no_warehouse"))
            return False
        issues = self.input_issues()
        if not issues and self.preview().empty:
            issues = [self.status.text or self._t("widget.tgt.no_preview")] + self.status.issues
        with self.bar.busy("widget.busy.saving"):
            return self._save(issues)

    def _save(self, issues: list[str]) -> bool:
        self.details.children = ()
        if issues:
            self.status.error(self._t("widget.tgt.fix_inputs"), issues)
            return False
        new = self.entries()
        try:  # the file is written by its spec: validated (model and references), round-trip, atomic
            current = targets_spec.load(self.path) if self.path.is_file() else targets_spec.TargetsFile()
            tag = new[0]["note"]
            kept = [t for t in current.targets if not str(t.note).startswith(tag)]
            added = [targets_spec.Target.model_validate(e) for e in new]
            targets_spec.save(current.model_copy(update={"targets": kept + added}), self.path)
        except (ValidationError, KpiError) as exc:
            if isinstance(exc, ValidationError):
                lines = format_validation_error(self.path.name, exc)
            else:
                lines = list(getattr(exc, "issues", None) or []) or [str(exc)]
            head = "widget.tgt.invalid_file" if isinstance(exc, (ValidationError, ConfigError)) else "widget.tgt.not_saved"
            self.status.error(self._t(head))
            self.details.children = (details_accordion("widget.details", [str(self.path), *lines], self.lang),)
            return False
        self.status.ok(self._t("widget.tgt.saved", n=len(new), name=self.path.stem))
        self.details.children = (details_accordion("widget.details", [str(self.path), "kpi compute"], self.lang),)
        return True


class _UserInput(Exception):
    """An input the user must change (shown in the status line, never raised to the notebook)."""


__all__ = ["TargetSetting"]
