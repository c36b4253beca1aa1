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
from ..spec import targets as targets_spec
from ..targets import Target, cascade, kpi_growth_target, reweight
from .common import (
    Panel,
    StatusBox,
    df_html,
    esc,
    no_warehouse_widget,
    open_warehouse,
    show_figure,
)
from .data import finished_months, reference_frame, stores_frame

KINDS = ["company", "platform", "team", "store"]
METHODS = [("historical share", "historical"), ("equal", "equal"), ("manual", "manual")]
DEFAULT_FILE = "target_setting.yaml"


class TargetSetting(Panel):
    """Main methods: ``top_value``, ``preview``, ``save``; controls are attributes."""

    title_text = "Target setting"

    def __init__(self, file_name: str = DEFAULT_FILE, lang: str | None = None) -> None:
        self.lang = lang or workbench().default_language
        self.catalog = load_catalog()
        self.warehouse = open_warehouse()
        self.status = StatusBox()
        self.result: pd.DataFrame = pd.DataFrame()
        self.history: pd.DataFrame = pd.DataFrame()
        self.last_year_value: float | None = None
        self.store_sliders: dict[str, W.FloatSlider] = {}
        self._busy = False

        self.kpi = W.Dropdown(options=[(f"{k} · {self.catalog.name(k, self.lang)}", k) for k in self.catalog.ids()],
                              value="gmv" if "gmv" in self.catalog.ids() else None, description="KPI")
        self.entity_kind = W.Dropdown(options=KINDS, value="company", description="Entity")
        self.entity_id = W.Dropdown(options=[], description="Id")
        self.period = W.Dropdown(options=[], description="Period")
        self.mode = W.ToggleButtons(options=[("absolute", "absolute"), ("growth vs last year", "growth")],
                                    value="growth", description="Top target")
        self.value = W.FloatText(value=0.0, description="Value")
        self.growth = W.FloatSlider(value=0.15, min=-0.5, max=1.0, step=0.01, readout_format=".0%",
                                    description="Growth", continuous_update=False)
        self.method = W.ToggleButtons(options=METHODS, value="historical", description="Cascade")
        self.ramp_months = W.IntSlider(value=6, min=1, max=12, description="Ramp (months)", continuous_update=False,
                                       style={"description_width": "initial"})
        self.file_name = W.Text(value=file_name, description="Save as")
        self.top_label = W.HTML()
        self.manual_box = W.VBox()
        self.preview_button = W.Button(description="Preview", icon="refresh")
        self.save_button = W.Button(description="Save targets", button_style="primary", icon="save")
        self.table = W.HTML()
        self.figure_out = W.Output()

        header = W.HTML("<h3>Target setting · parameters/targets/</h3>")
        if self.warehouse is None:
            self.widget = W.VBox([header, no_warehouse_widget()])
            self.status.warn("No warehouse: run `make demo` first; targets are cascaded from history.")
            return


        self.stores = stores_frame(self.warehouse)
        self._data_months = self._months_with_data()
        self.period.options = self._period_options()
        self.period.value = self._default_period()
        self._set_entity_ids()

        self.entity_kind.observe(lambda _c: (self._set_entity_ids(), self.preview()), names="value")
        for w in (self.kpi, self.entity_id, self.period, self.mode, self.value, self.growth, self.ramp_months):
            w.observe(lambda _c: self.preview(), names="value")
        self.method.observe(lambda _c: self._method_changed(), names="value")
        self.preview_button.on_click(lambda _b: self.preview())
        self.save_button.on_click(lambda _b: self.save())

        controls = W.VBox([
            W.HBox([self.kpi, self.entity_kind, self.entity_id, self.period]),
            self.mode, W.HBox([self.value, self.growth]), self.top_label,
            self.method, self.ramp_months, self.manual_box,
            W.HBox([self.preview_button, self.file_name, self.save_button]),
        ])
        self.widget = W.VBox([header, controls, self.status.widget, self.figure_out, self.table])
        self.preview()

    def summary(self) -> str:
        if self.warehouse is None:
            return "Target setting: no warehouse yet — run `make demo` first."
        return f"Target setting: {len(self.result)} store × month targets previewed"

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
        self._busy = True
        try:
            self.entity_id.options = opts
            self.entity_id.value = opts[0] if opts else None
        finally:
            self._busy = False
        self.entity_id.disabled = kind == "company"

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
                raise _UserInput("the top target must be a number")
            return v
        g = kpi_growth_target(self.kpi.value, self.entity_kind.value, self.entity_id.value or None,
                              str(self.period.value), float(self.growth.value), self.warehouse)
        if g.value is None:
            raise _UserInput(f"no data for {g.last_year} (last year): use an absolute target")
        self.last_year_value = g.base
        return g.value

    def _cascade(self, total: float) -> pd.DataFrame:
        spec = {k: v for k, v in self.target_spec().items() if k not in ("value", "growth")}
        t = Target.model_validate({**spec, "value": total, "cascade": True})
        return cascade(t, warehouse=self.warehouse, ramp_months=int(self.ramp_months.value), catalog=self.catalog,
                       value=total)

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
        self.manual_box.children = [W.HTML("<i>Store shares in % (normalised to 100%)</i>"),
                                    *self.store_sliders.values()]

    def preview(self) -> pd.DataFrame:
        """Recompute the store × month targets for the current inputs and draw them."""
        if self.warehouse is None or not self.period.value or self._busy:
            return self.result
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
            self.table.value = ""
            if isinstance(exc, KpiError):
                self.status.from_exception(exc, "Cannot cascade: ")
            else:
                self.status.error(f"Cannot cascade: {exc}")
            return self.result
        self.result = df.reset_index(drop=True)
        ly = f" (last year {self.last_year_value:,.2f})" if self.last_year_value is not None else ""
        self.top_label.value = f"Top target: <b>{total:,.2f}</b>{esc(ly)}"
        self.status.info(f"{len(df)} store × month targets; they sum to {df['value'].sum():,.2f}"
                         if self.catalog.is_additive(self.kpi.value)
                         else f"{len(df)} store × month targets (non-additive KPI: each equals the top target)")
        self.table.value = df_html(self.pivot(), max_rows=40)
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
                fig.add_trace(go.Scatter(x=h["period"], y=h[k], mode="lines", name=f"{s} actual"))
            t = self.result[self.result["entity_id"] == s]
            fig.add_trace(go.Bar(x=t["period"], y=t["value"], name=f"{s} target", opacity=0.75))
        fig.update_layout(barmode="stack" if self.catalog.is_additive(k) else "group", height=420,
                          margin={"t": 30, "l": 10, "r": 10, "b": 10}, title=f"{k}: store × month targets vs history")
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
            out.append(f"choose a {self.entity_kind.value} id")
        if not self.period.value:
            out.append("choose a period")
        if self.mode.value == "absolute" and not math.isfinite(float(self.value.value)):
            out.append("the top target must be a number")
        return out

    def save(self) -> bool:
        """Upsert this panel's targets into the file (validated first; nothing written if invalid)."""


        if self.warehouse is None:
            self.status.error("No warehouse: run `make demo` first.")
            return False
        issues = self.input_issues()
        if not issues and self.preview().empty:
            issues = [self.status.text or "the preview has no targets"] + self.status.issues
        if issues:
            self.status.error("Not saved: fix the inputs first", issues)
            return False
        new = self.entries()
        try:  # the file is written by its spec: validated (model and references), round-trip, atomic
            current = targets_spec.load(self.path) if self.path.is_file() else targets_spec.TargetsFile()
            tag = new[0]["note"]
            kept = [t for t in current.targets if not str(t.note).startswith(tag)]
            added = [targets_spec.Target.model_validate(e) for e in new]
            targets_spec.save(current.model_copy(update={"targets": kept + added}), self.path)
        except ValidationError as err:
            self.status.error(f"Not saved: {self.path.name} would be invalid",
                              format_validation_error(self.path.name, err))
            return False
        except ConfigError as exc:
            self.status.error(f"Not saved: {self.path.name} would be invalid", exc.issues or [str(exc)])
            return False
        except KpiError as exc:
            self.status.from_exception(exc, "Not saved: ")
            return False
        self.status.ok(f"Saved {len(new)} target(s) to {self.path} (run `kpi compute` to evaluate them).")
        return True


class _UserInput(Exception):
    """An input the user must change (shown in the status line, never raised to the notebook)."""


__all__ = ["TargetSetting"]
