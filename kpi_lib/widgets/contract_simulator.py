"""Contract simulator: edit a service contract's fee terms and see who pays and earns what.

The edited terms are a ``settlement.FeeModel`` (validated on every change); the fee of each scenario
and of each recent period comes from the settlement module's pure ``fee_lines`` (Decimal, rounding
as documented there), the recent periods' net GMV and achievement from ``settlement.settle`` with
the saved contract, the exit-clause state from ``settlement.exit_clause_state`` over *finished*
periods only (``kpi_lib.coverage.is_finished``; an unfinished last month is shown "to date" and never
counted).

Round-trip or refuse: after loading a saved contract the editor rebuilds the contract from its
controls; when that is not exactly the saved contract (a fee the controls cannot show, e.g. a
performance cap next to a total cap), the contract is shown **read-only** with the reason, the
scenarios use the saved terms and Save is disabled. Saving validates the whole contracts file with
the contract models, then writes it through ``kpi_lib.spec.contracts`` (round-trip: only that
contract's lines change, comments and key order kept; no edit = no write, the file stays byte-identical).

Size (≈750 lines): one panel — the fee editor, its round-trip/read-only check, scenarios, recent
periods and exit clause share the edited contract; every rule it shows is a call into settlement.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import ipywidgets as W
import pandas as pd
import plotly.graph_objects as go
from pydantic import ValidationError

from .. import paths, settlement, yaml_roundtrip
from ..config import format_validation_error, workbench
from ..coverage import coverage_frame, finished_periods, open_period
from ..errors import ConfigError, KpiError
from ..labels import label
from ..periods import months_of, shift_period
from ..present import esc
from ..present.charts import money_axis
from ..settlement import (
    Contract,
    ExitClause,
    FeeModel,
    achievement,
    compare_scenarios,
    contract_period,
    contract_target,
    exit_clause_state,
    fee_lines,
    gmv_figures,
    gmv_window,
    is_active,
    load_contracts,
)
from ..spec import contracts as contracts_spec
from .common import (
    ActionBar,
    Panel,
    details_accordion,
    issues_html,
    language_toggle,
    message_html,
    open_warehouse,
    show_figure,
    table_html,
)
from .data import stores_frame

SCENARIOS = [round(0.6 + 0.1 * i, 2) for i in range(9)]  # 60 % … 140 %
MODELS = [("base + performance", "base_plus_performance"), ("fixed fee", "fixed"), ("commission on sales", "commission")]
PERF_KINDS = [("achievement tiers", "achievement_tiers"), ("linear", "linear"),
              ("commission on net GMV (tiers: from GMV, rate)", "commission")]


def _dec(x: float | str | None) -> Decimal | None:
    if x is None or x == "":
        return None
    try:
        return Decimal(str(x))
    except InvalidOperation:
        return None


def parse_tiers(text: str, lang: str = "en") -> tuple[list[dict[str, str]], list[str]]:
    """Lines ``from rate`` (``0.8 0.5`` or ``80% 50%``) → [{'from': '0.8', 'rate': '0.5'}], issues (in ``lang``)."""
    tiers, issues = [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        parts = [p for p in re.split(r"[\s,:;→>-]+", line) if p]
        vals = []
        for p in parts[:2]:
            pct = p.endswith("%")
            d = _dec(p.rstrip("%").replace("_", ""))
            vals.append(None if d is None else (d / 100 if pct else d))
        if len(parts) != 2 or None in vals:
            issues.append(label("widget.sim.tiers_line", lang).format(n=n, line=line))
            continue
        tiers.append({"from": str(vals[0]), "rate": str(vals[1])})
    return tiers, issues


class ContractSimulator(Panel):
    """Main methods: ``load_contract``, ``fee_model``, ``scenarios``, ``recent``, ``save``."""

    title_text = "Contract simulator"

    def __init__(self, lang: str | None = None) -> None:
        self.lang = lang or workbench().default_language
        self.currency = workbench().reporting_currency
        self.warehouse = open_warehouse()
        self.contracts: list[Any] = []
        self.load_issues: list[str] = []
        try:

            self.contracts = list(load_contracts())
        except KpiError as exc:
            self.load_issues = list(getattr(exc, "issues", None) or [str(exc)])
        self.scenario_frame = pd.DataFrame()
        self.recent_frame = pd.DataFrame()
        self.exit_state: dict[str, Any] = {}
        self.issues: list[str] = []
        self._settled: dict[tuple[Any, ...], Any] = {}  # cached period figures of saved terms (see _figures)
        self.read_only = False
        self.read_only_reasons: list[str] = []
        self.read_only_details: list[str] = []  # technical: shown in the collapsed details section
        self.technical_issues: list[str] = []  # the fee model's own messages (details section)
        self._loaded_target: float | None = None
        self._coverage: pd.DataFrame | None = None


        sf = stores_frame(self.warehouse)
        store_ids = sorted(sf["store_id"].astype(str)) if "store_id" in sf else []
        self.contract = W.Dropdown(options=[(f"{c.id} · {c.display_name(self.lang)}", c.id) for c in self.contracts] + [("new contract", "")],
                                   description="Contract", layout=W.Layout(width="420px"))
        self.contract_id = W.Text(description="Id")
        self.name = W.Text(description="Name")
        self.name_zh = W.Text()  # the contract's name on zh pages (name_zh)
        self.fee_name = W.Text(description="Fee name", layout=W.Layout(width="420px"))
        self.fee_label_zh = W.Text(layout=W.Layout(width="300px"))  # the fee model's name on zh / en pages
        self.fee_label_en = W.Text(layout=W.Layout(width="300px"))
        self.client = W.Text(description="Client")
        self.provider = W.Text(description="Provider")
        self.stores = W.SelectMultiple(options=store_ids, description="Stores", rows=6)
        self.period_kind = W.ToggleButtons(options=["month", "quarter"], value="month", description="Period")
        self.target = W.FloatText(value=100000.0, description="Target / period", style={"description_width": "initial"})
        self.model = W.Dropdown(options=MODELS, value="base_plus_performance", description="Fee model")
        self.fee_at_target = W.FloatText(value=30000.0, description="Fee at 100%", style={"description_width": "initial"})
        self.base_share = W.FloatSlider(value=0.3, min=0.0, max=1.0, step=0.05, readout_format=".0%",
                                        description="Base share", continuous_update=False)
        self.perf_kind = W.Dropdown(options=PERF_KINDS, value="achievement_tiers", description="Performance")
        self.tiers = W.Textarea(value="0.8 0.5\n1.0 1.0\n1.2 1.3", description="Tiers",
                                placeholder="from rate, one per line", layout=W.Layout(width="300px", height="90px"))
        self.tier_mode = W.ToggleButtons(options=["marginal", "retroactive"], value="retroactive", description="Tiers are")
        self.min_achievement = W.FloatText(value=0.0, description="Min achiev.")
        self.max_achievement = W.FloatText(value=1.5, description="Max achiev.")
        self.cap = W.FloatText(value=0.0, description="Cap (0 = none)", style={"description_width": "initial"})
        self.floor = W.FloatText(value=0.0, description="Floor (0 = none)", style={"description_width": "initial"})
        self.exit_below = W.FloatSlider(value=0.7, min=0.0, max=1.0, step=0.05, readout_format=".0%",
                                        description="Exit below", continuous_update=False)
        self.exit_periods = W.IntSlider(value=3, min=0, max=12, description="for N periods",
                                        style={"description_width": "initial"}, continuous_update=False)
        self.provider_cost = W.FloatText(value=0.0, description="Provider cost", style={"description_width": "initial"})
        # the target the scenarios are priced at when the contract's target grows from last year (or is set per
        # period): the one `kpi settle` used in the latest period, not the fallback field above
        self.settled_target = W.HTML()
        self._scenario_target: tuple[str, float] | None = None
        self.recent_n = W.IntSlider(value=6, min=1, max=18, description="Recent periods",
                                    style={"description_width": "initial"}, continuous_update=False)
        self.save_button = W.Button(description="Save contract", button_style="primary", icon="save")
        self.bar = ActionBar([self.save_button], self.lang, also=[self.contract])
        self.status = self.bar.status  # the save outcome shows right beside the Save button
        self.load_bar = ActionBar([], self.lang, also=[self.contract])  # busy state while a contract loads
        self.language = language_toggle(self.lang)
        self.terms_details = W.VBox()
        self.save_details = W.VBox()
        self.header = W.HTML()
        self.scenarios_header = W.HTML()
        self.recent_header = W.HTML()
        self.stores.data_values = True  # store ids are the user's data
        self.contract.data_values = True  # contract ids and names are the user's data
        self.read_only_note = W.HTML()
        self.terms_check = W.HTML()
        self.scenario_table = W.HTML()
        self.recent_table = W.HTML()
        self.exit_view = W.HTML()
        self.figure_out = W.Output()

        self._busy = False
        self._set_words()
        self.language.observe(lambda ch: self.set_language(ch["new"]), names="value")
        self.contract.observe(lambda ch: self._switch(ch["new"]), names="value")
        self.model.observe(self._model_changed, names="value")
        self.perf_kind.observe(lambda _c: self._amount_label(), names="value")
        for w in (self.model, self.fee_at_target, self.base_share, self.perf_kind, self.tiers, self.tier_mode,
                  self.min_achievement, self.max_achievement, self.cap, self.floor, self.exit_below,
                  self.exit_periods, self.provider_cost, self.target, self.recent_n):
            w.observe(lambda _c: self.update(), names="value")
        self.save_button.on_click(lambda _b: self.save())

        notes: list[W.Widget] = []
        if self.load_issues:
            notes += [W.HTML(message_html(self._t("widget.sim.file_invalid"), "error")),
                      details_accordion("widget.details", [str(self.path), *self.load_issues], self.lang)]
        if self.warehouse is None:
            notes.append(W.HTML(message_html(self._t("widget.sim.no_warehouse"), "warn")))
        terms = W.VBox([
            W.HBox([self.contract, self.load_bar.widget]), W.HBox([self.contract_id, self.name, self.name_zh]),
            W.HBox([self.client, self.provider]),
            W.HBox([self.stores, W.VBox([self.period_kind, self.target, self.settled_target, self.provider_cost])]),
            W.HBox([self.model, self.fee_at_target, self.base_share]),
            W.HBox([self.fee_name, self.fee_label_zh, self.fee_label_en]),
            W.HBox([self.perf_kind, self.tier_mode]), W.HBox([self.tiers, W.VBox([self.min_achievement,
                                                                                   self.max_achievement])]),
            W.HBox([self.cap, self.floor]), W.HBox([self.exit_below, self.exit_periods]),
            self.read_only_note, self.terms_check, self.terms_details,
        ])
        self.widget = W.VBox([
            W.HBox([self.header, self.language], layout=W.Layout(justify_content="space-between")), *notes, terms,
            self.scenarios_header, self.figure_out, self.scenario_table,
            self.recent_header, self.recent_n, self.recent_table,
            self.exit_view, self.bar.widget, self.save_details,
        ])
        if self.contracts:
            self.load_contract(self.contracts[0].id)
        else:
            self.contract.value = ""
            self.update()

    # -- language ----------------------------------------------------------------------------
    def _set_words(self) -> None:
        """Every control's words in ``self.lang`` (values kept)."""
        t = self._t
        self.header.value = f"<h3>{t('widget.sim.title')}</h3>"
        self.scenarios_header.value = f"<h4>{t('widget.sim.scenarios_title')}</h4>"
        self.recent_header.value = f"<h4>{t('widget.sim.recent_title')}</h4>"
        self.language.description = t("widget.lang")
        for w, key in ((self.contract, "contract"), (self.contract_id, "id"), (self.name, "name"), (self.name_zh, "name_zh"),
                       (self.fee_name, "fee_name"), (self.fee_label_zh, "fee_label_zh"),
                       (self.fee_label_en, "fee_label_en"), (self.client, "client"), (self.provider, "provider"),
                       (self.stores, "stores"), (self.period_kind, "period"), (self.target, "target"),
                       (self.model, "model"), (self.base_share, "base_share"), (self.perf_kind, "perf"),
                       (self.tiers, "tiers"), (self.tier_mode, "tier_mode"), (self.min_achievement, "min_ach"),
                       (self.max_achievement, "max_ach"), (self.cap, "cap"), (self.floor, "floor"),
                       (self.exit_below, "exit_below"), (self.exit_periods, "exit_periods"),
                       (self.provider_cost, "provider_cost"), (self.recent_n, "recent_n")):
            w.description = t(f"widget.sim.{key}")
        self._target_note(self._get(self.contract.value) if self.contract.value else None)
        self._amount_label()
        self.tiers.placeholder = t("widget.sim.tiers_placeholder")
        self.save_button.description = t("widget.sim.save")
        was = self._busy
        self._busy = True
        try:
            for w, keys, prefix in ((self.model, [v for _l, v in MODELS], "model"),
                                    (self.perf_kind, [v for _l, v in PERF_KINDS], "perf"),
                                    (self.period_kind, ["month", "quarter"], "period"),
                                    (self.tier_mode, ["marginal", "retroactive"], "tier_mode")):
                keep = w.value
                w.options = [(t(f"widget.sim.{prefix}.{k}"), k) for k in keys]
                w.value = keep
            keep = self.contract.value
            self.contract.options = [(f"{c.id} · {c.display_name(self.lang)}", c.id) for c in self.contracts] + [
                (t("widget.sim.new_contract"), "")]
            self.contract.value = keep if keep is not None else ""
        finally:
            self._busy = was

    def set_language(self, lang: str) -> None:
        """Switch every label, header and message between zh and en and redraw."""
        self.lang = self.bar.lang = self.load_bar.lang = lang
        if self.language.value != lang:
            self.language.value = lang
            return
        self._set_words()
        self.update()

    def summary(self) -> str:
        if self.warehouse is None:
            return self._t("widget.sim.no_warehouse")
        return self._t("widget.sim.summary", n=len(self.contracts))

    # -- loading -----------------------------------------------------------------------------
    def _get(self, contract_id: str) -> Any | None:
        return next((c for c in self.contracts if c.id == contract_id), None)

    def _switch(self, contract_id: str) -> None:
        """The contract dropdown changed: load it with the busy state shown next to the dropdown."""
        if self._busy:
            return
        with self.load_bar.busy("widget.busy.loading"):
            self.load_contract(contract_id)

    def load_contract(self, contract_id: str) -> None:
        """Fill the editor with a saved contract's terms."""
        c = self._get(contract_id) if contract_id else None
        self._busy = True
        try:
            if self.contract.value != (contract_id or ""):
                self.contract.value = contract_id or ""
            if c is None:
                self.contract_id.value = self.contract_id.value or "C-NEW"
                self._loaded_target = None
                self._scenario_target = None
                self._target_note(None)
                for w in self._editor_controls():
                    w.disabled = False
                self.read_only, self.read_only_reasons, self.read_only_details = False, [], []
                self.save_button.disabled = False
                self.read_only_note.value = ""
                return
            self.contract_id.value, self.name.value, self.name_zh.value = c.id, c.name or "", c.name_zh or ""
            self.client.value, self.provider.value = c.client or "", c.provider or ""
            # the contract's stores first, so its selection is visible without scrolling the list
            others = sorted(s for s in {*self.stores.options} if s not in c.stores)
            self.stores.options = [*sorted(c.stores), *others]
            self.stores.value = tuple(c.stores)
            self.period_kind.value = c.period
            self._scenario_target = self._settled_target(c.id) if (c.target_growth is not None or c.targets) else None
            self.target.value = (float(c.target or 0) or (self._scenario_target or ("", 0.0))[1]
                                 or self.target.value)
            self._loaded_target = float(self.target.value)
            self._target_note(c)
            self.provider_cost.value = float(c.provider_cost or 0)
            fee = c.fee
            self.fee_name.value = fee.name or ""
            self.fee_label_zh.value = fee.label_zh or ""
            self.fee_label_en.value = fee.label_en or ""
            self.model.value = fee.model
            self.cap.value = float(fee.cap or 0)
            self.floor.value = float(fee.floor or 0)
            perf = fee.performance
            pool = float(perf.pool or 0) if perf is not None else 0.0
            base = float(fee.base or 0)
            self.fee_at_target.value = base + pool if fee.model != "commission" else base
            self.base_share.value = base / (base + pool) if base + pool > 0 else 1.0
            if perf is not None:
                if perf.kind in ("achievement_tiers", "linear", "commission") and fee.model != "commission":
                    self.perf_kind.value = perf.kind
                self.tier_mode.value = perf.mode
                self.tiers.value = "\n".join(f"{t.from_} {t.rate}" for t in perf.tiers)
                self.min_achievement.value = float(perf.min_achievement or 0)
                self.max_achievement.value = float(perf.max_achievement or 0)
                if perf.cap is not None and not fee.cap:
                    self.cap.value = float(perf.cap)
            ec = c.exit_clause
            self.exit_below.value = float(ec.below) if ec else 0.0
            self.exit_periods.value = int(ec.periods) if ec else 0
        finally:
            self._busy = False
        self._check_round_trip(c)
        self.update()

    def _amount_label(self) -> None:
        """The amount field is the base fee whenever the fee is a commission (pure, or base + commission on net
        GMV, where ``fee_dict`` reads it as the base); otherwise it is the fee at 100 % achievement."""
        base = self.model.value == "commission" or (self.model.value == "base_plus_performance"
                                                    and self.perf_kind.value == "commission")
        self.fee_at_target.description = self._t("widget.sim.base_fee" if base else "widget.sim.fee_at_target")

    def _model_changed(self, change: dict[str, Any]) -> None:
        """Pure commission: the amount field is the base fee added to the commission (0 = none)."""
        self._amount_label()
        if change["new"] == "commission" and not self._busy:
            self.fee_at_target.value = 0.0

    def _check_round_trip(self, saved: Any | None) -> None:
        """Read-only when the controls cannot rebuild the saved contract exactly (Save disabled)."""


        self.read_only, self.read_only_reasons = False, []
        if saved is not None:
            try:
                rebuilt = Contract.model_validate(self.contract_dict())
                diffs = _diff_paths(saved.model_dump(mode="python"), rebuilt.model_dump(mode="python"))
            except (ValidationError, KpiError) as exc:
                diffs = [f"the editor cannot rebuild it ({str(exc).splitlines()[0]})"]
            if diffs:
                self.read_only, self.read_only_reasons = True, diffs
        for w in self._editor_controls():
            w.disabled = self.read_only
        self.save_button.disabled = self.read_only
        self.read_only_note.value = message_html(self._t("widget.sim.read_only", id=saved.id if saved else ""),
                                                 "warn") if self.read_only else ""
        self.read_only_details = [str(self.path), *self.read_only_reasons] if self.read_only else []

    def _editor_controls(self) -> list[Any]:
        return [self.contract_id, self.name, self.name_zh, self.fee_name, self.fee_label_zh, self.fee_label_en, self.client,
                self.provider, self.stores, self.period_kind,
                self.target, self.model, self.fee_at_target, self.base_share, self.perf_kind, self.tiers,
                self.tier_mode, self.min_achievement, self.max_achievement, self.cap, self.floor, self.exit_below,
                self.exit_periods, self.provider_cost]

    # -- terms -------------------------------------------------------------------------------
    def fee_dict(self) -> tuple[dict[str, Any], list[str]]:
        """The edited fee terms as FeeModel data, plus input issues."""
        issues: list[str] = []
        total = _dec(self.fee_at_target.value) or Decimal(0)
        model = self.model.value
        fee: dict[str, Any] = {"model": model}
        if self.fee_name.value.strip():
            fee["name"] = self.fee_name.value.strip()
        for key, w in (("label_zh", self.fee_label_zh), ("label_en", self.fee_label_en)):
            if w.value.strip():
                fee[key] = w.value.strip()
        saved_labels = self._saved_fee_data().get("labels")
        if saved_labels:  # the fee lines' zh/en names are not edited here: kept as saved
            fee["labels"] = saved_labels
        tiers, tier_issues = parse_tiers(self.tiers.value, self.lang)
        if model == "fixed":
            fee["base"] = str(total)
        elif model == "base_plus_performance":
            share = _dec(round(self.base_share.value, 4)) or Decimal(0)
            base = (total * share).quantize(Decimal("0.01"))
            perf: dict[str, Any] = {"kind": self.perf_kind.value}
            if self.perf_kind.value == "commission":  # base + commission on net GMV: no pool
                base = total.quantize(Decimal("0.01"))
                issues += tier_issues
                if not tiers and not tier_issues:
                    issues.append(self._t("widget.sim.need_commission_tier"))
                perf.update(mode=self.tier_mode.value, tiers=tiers)
            else:
                perf["pool"] = str(total - base)
            if self.perf_kind.value == "achievement_tiers":
                issues += tier_issues
                if not tiers and not tier_issues:
                    issues.append(self._t("widget.sim.need_tier"))
                perf.update(tiers=tiers, mode=self.tier_mode.value)
            elif self.perf_kind.value == "linear":
                perf["min_achievement"] = str(_dec(self.min_achievement.value) or 0)
                if self.max_achievement.value:
                    perf["max_achievement"] = str(_dec(self.max_achievement.value))
            fee.update(base=str(base), performance=perf)
        else:  # commission: tiers are net-GMV thresholds with a rate each
            issues += tier_issues
            if not tiers and not tier_issues:
                issues.append(self._t("widget.sim.need_commission_tier"))
            if total:
                fee["base"] = str(total)
            fee["performance"] = {"kind": "commission", "tiers": tiers, "mode": self.tier_mode.value}
        if self.cap.value:
            fee["cap"] = str(_dec(self.cap.value))
        if self.floor.value:
            fee["floor"] = str(_dec(self.floor.value))
        return _drop_unsaved_defaults(fee, self._saved_fee_data()), issues

    def _saved_fee_data(self) -> dict[str, Any]:
        saved = self._get(self.contract.value)
        return saved.fee.model_dump(mode="json", by_alias=True, exclude_unset=True) if saved is not None else {}

    def fee_model(self) -> Any | None:
        """The validated FeeModel, or None with ``self.issues`` set."""


        self.technical_issues = []
        if self.read_only:
            saved = self._get(self.contract.value)
            self.issues = []
            return saved.fee if saved is not None else None
        fee, issues = self.fee_dict()
        self.issues = issues
        if issues:
            return None
        try:
            return FeeModel.model_validate(fee)
        except ValidationError as err:  # the model's own words: technical, shown in the details section
            self.issues = [line.split(": ", 1)[1] for line in format_validation_error("fee", err)]
            self.technical_issues = list(self.issues)
            return None

    def exit_clause(self) -> dict[str, Any] | None:
        if not self.exit_below.value or not self.exit_periods.value:
            return None
        return {"below": str(_dec(round(self.exit_below.value, 4))), "periods": int(self.exit_periods.value)}

    def contract_dict(self) -> dict[str, Any]:
        """The edited contract, starting from the saved one so unedited fields are kept."""
        base = self._get(self.contract.value)
        data = base.model_dump(mode="json", by_alias=True, exclude_unset=True) if base is not None else {}
        fee, _ = self.fee_dict()
        data.update(id=self.contract_id.value.strip(), name=self.name.value.strip() or self.contract_id.value.strip(),
                    stores=list(self.stores.value), fee=fee)
        # optional keys: written when the saved contract has them or the value is not the default
        for key, value, default in (("name_zh", self.name_zh.value.strip(), ""),
                                    ("client", self.client.value.strip(), ""),
                                    ("provider", self.provider.value.strip(), ""),
                                    ("period", self.period_kind.value, "month"),
                                    ("provider_cost", str(_dec(self.provider_cost.value) or 0), "0")):
            if key in data or not yaml_roundtrip.same(value, default):
                data[key] = value
        target_edited = self._loaded_target is None or float(self.target.value) != self._loaded_target
        if self.target.value and (base is None or "target" in data or target_edited):
            data["target"] = str(_dec(self.target.value))
        ec = self.exit_clause()
        if ec:
            data["exit_clause"] = ec
        else:
            data.pop("exit_clause", None)
        return data

    # -- simulation --------------------------------------------------------------------------
    def _fee_total(self, fee: Any, net_gmv: Decimal, achievement: Decimal | None) -> Decimal:
        return sum((ln.amount for ln in fee_lines(fee, net_gmv, achievement)), Decimal(0))

    def scenarios(self) -> pd.DataFrame:
        """Client cost and provider income at 60 %…140 % of the target, under the edited terms: the target
        ``kpi settle`` used in the latest period when the contract's target grows from last year or is set per
        period, else the target field."""
        fee = self.fee_model()
        target = (_dec(self._scenario_target[1]) if self._scenario_target else None) or _dec(self.target.value) or Decimal(0)
        if fee is None:
            return pd.DataFrame()
        cost = _dec(self.provider_cost.value) or Decimal(0)
        df = compare_scenarios(fee, target, cost, SCENARIOS)  # half-up to the cent, as `kpi settle`
        return df.drop(columns="model").assign(achievement=list(SCENARIOS))

    def _settled_target(self, contract_id: str) -> tuple[str, float] | None:
        """(period, target) the settlement used in the latest period with one (contracts with targets per period
        or growth)."""
        saved = self._get(contract_id)
        if self.warehouse is None or saved is None:
            return None
        for p in reversed(self.periods()):
            try:
                t = self._figures(saved, p)[2]
            except KpiError:
                return None
            if t:
                return p, float(t)
        return None

    def _target_note(self, c: Any | None) -> None:
        """Name the target field for what it is, and say which target the scenarios are priced at."""
        fallback = c is not None and (c.target_growth is not None or bool(c.targets))
        self.target.description = self._t("widget.sim.target_fallback" if fallback else "widget.sim.target")
        if self._scenario_target is None:
            self.settled_target.value = ""
            return
        period, value = self._scenario_target
        how = (self._t("widget.sim.target_how_growth", growth=f"{float(c.target_growth):.0%}")
               if c is not None and c.target_growth is not None else self._t("widget.sim.target_how_set"))
        text = self._t("widget.sim.settled_target", period=period, value=f"{value:,.2f} {self.currency}", how=how)
        self.settled_target.value = f'<span class="kpi-note">{esc(text)}</span>'

    def _figures(self, contract: Any, period: str) -> tuple[Decimal, Decimal | None, Decimal | None]:
        """(net GMV, achievement, target) of a saved contract's period: ``settlement.gmv_figures``,
        ``contract_target`` and ``achievement``, the inputs of ``settle``'s fee lines (``settle(...).total`` is
        ``fee_lines(contract.fee, net GMV, achievement)``). Cached per panel: GMV by the terms it reads (stores,
        excluded SKUs, refunds rule), the target by every term but the fee, so editing or saving fee terms, or
        switching back to a contract, never queries the warehouse again."""
        per = contract_period(contract, period)
        gmv = self._gmv(contract)
        gkey = ("gmv", tuple(contract.stores), tuple(contract.excluded_skus), contract.net_of_refunds, per)
        if gkey not in self._settled:
            self._settled[gkey] = gmv(contract, per)["net_gmv"]
        tkey = ("target", contract.model_dump_json(exclude={"fee", "alternatives", "exit_clause", "name", "name_zh",
                                                            "client", "provider", "provider_cost"}), per)
        if tkey not in self._settled:
            self._settled[tkey] = contract_target(contract, per, self.warehouse, gmv=gmv)[0]
        net, target = self._settled[gkey], self._settled[tkey]
        return net, achievement(net, target), target

    def _gmv(self, contract: Any) -> Any:
        """``settlement.gmv_window`` over every period this panel can show and the year before them (growth
        targets): one query per set of stores, as in the report batch, instead of one per period."""
        fkey = ("gmv-fn", tuple(contract.stores), self.period_kind.value, contract.period)
        if fkey in self._settled:
            return self._settled[fkey]
        done = finished_periods(self.coverage(), self.period_kind.value, self._contract_stores()) \
            if self.warehouse is not None else []  # every period the slider can show, not only the recent ones
        months = [m for p in done for m in months_of(contract_period(contract, p))]
        if not months:
            return lambda c, p: gmv_figures(c, p, self.warehouse)
        gmv = gmv_window(contract, shift_period(min(months), -12), max(months), self.warehouse)
        self._settled[fkey] = gmv
        return gmv

    def coverage(self) -> pd.DataFrame:
        """The warehouse's coverage table (read once per panel)."""
        if self._coverage is None:
            con = self.warehouse.connect()
            try:
                self._coverage = coverage_frame(con)
            finally:
                con.close()
        return self._coverage

    def _contract_stores(self) -> list[str] | None:
        saved = self._get(self.contract.value)
        return list(saved.stores) if saved is not None else (list(self.stores.value) or None)

    def periods(self) -> list[str]:
        """The last ``recent_n`` *finished* periods of the contract's stores (kpi_lib.coverage rule)."""
        if self.warehouse is None:
            return []
        done = finished_periods(self.coverage(), self.period_kind.value, self._contract_stores())
        return done[-int(self.recent_n.value):]

    def open_period(self) -> str | None:
        """The latest period with data that is not finished (shown "to date", never counted)."""
        if self.warehouse is None:
            return None
        return open_period(self.coverage(), self.period_kind.value, self._contract_stores())

    def recent(self) -> pd.DataFrame:
        """Recent periods: the saved contract's settlement vs the edited terms on the same figures."""

        saved = self._get(self.contract.value)
        fee = self.fee_model()
        if self.warehouse is None or saved is None or fee is None:
            self.exit_state = {}
            return pd.DataFrame()
        rows, history = [], []
        for p in self.periods():
            if not is_active(saved, p):
                continue  # before the contract's start or after its end: nothing to settle
            net, ach_d, _target = self._figures(saved, p)
            saved_total = self._fee_total(saved.fee, net, ach_d)  # = settle(saved, p).total
            edited = self._fee_total(fee, net, ach_d)
            history.append((p, ach_d))
            rows.append({"period": p, "net_gmv": float(net), "achievement": None if ach_d is None else float(ach_d),
                         "saved_terms_fee": float(saved_total), "edited_terms_fee": float(edited),
                         "difference": float(edited - saved_total)})

        ec = self.exit_clause()
        self.exit_state = exit_clause_state(ExitClause.model_validate(ec) if ec else None, history)
        return pd.DataFrame(rows)

    def update(self) -> None:
        if self._busy:
            return
        try:
            self.scenario_frame = self.scenarios()
            self.recent_frame = self.recent()
        except KpiError as exc:
            self.scenario_frame, self.recent_frame = pd.DataFrame(), pd.DataFrame()
            self.scenario_table.value = self.recent_table.value = self.exit_view.value = ""
            show_figure(self.figure_out, None)  # an error never leaves the previous figures on screen
            self.status.error(self._t("widget.sim.cannot_simulate"))
            self.terms_details.children = (details_accordion("widget.details", [str(exc)], self.lang),)
            return
        tech = self.technical_issues
        said = [i for i in self.issues if i not in tech]
        if self.issues:
            self.terms_check.value = (issues_html(said, self._t("widget.sim.terms_invalid")) if said
                                      else message_html(self._t("widget.sim.terms_invalid_details"), "error"))
        else:
            self.terms_check.value = message_html(self._t("widget.sim.terms_valid"), "ok")
        lines = [*tech, *self.read_only_details]
        self.terms_details.children = (details_accordion("widget.details", lines, self.lang),) if lines else ()
        heads = {c: self._t(f"widget.col.{c}") for c in ("achievement", "net_gmv", "client_pays", "provider_earns",
                                                         "fee_pct_of_gmv", "period", "saved_terms_fee",
                                                         "edited_terms_fee", "difference")}
        self.scenario_table.value = table_html(
            self.scenario_frame, {"achievement": "pct", "net_gmv": "money", "client_pays": "money",
                                  "provider_earns": "money", "fee_pct_of_gmv": "pct"}, heads, self.currency,
            self.lang, 20)
        self.recent_table.value = table_html(
            self.recent_frame, {"period": "text", "net_gmv": "money", "achievement": "pct",
                                "saved_terms_fee": "money", "edited_terms_fee": "money", "difference": "money"},
            heads, self.currency, self.lang, 24) if len(self.recent_frame) else message_html(
            self._t("widget.sim.no_recent"), "info")
        st = self.exit_state
        if st:
            text = self._t("widget.sim.exit_state", n=st.get("consecutive_below", 0),
                           below=f"{float(st.get('below') or 0):.0%}", periods=st.get("periods"),
                           verdict=self._t("widget.sim.exit_triggered" if st.get("triggered")
                                           else "widget.sim.exit_not_triggered"))
            op = self.open_period()
            if op:
                text += "\n" + self._t("widget.sim.exit_open", period=op)
            self.exit_view.value = message_html(text, "error" if st.get("triggered") else "info")
        else:
            self.exit_view.value = ""
        show_figure(self.figure_out, self.figure())

    def figure(self) -> Any:
        df = self.scenario_frame
        if df.empty:
            return None
        fig = go.Figure()
        x = [f"{a:.0%}" for a in df["achievement"]]
        fig.add_trace(go.Bar(x=x, y=df["client_pays"], name=self._t("widget.sim.client_pays")))
        fig.add_trace(go.Scatter(x=x, y=df["provider_earns"], name=self._t("widget.sim.provider_earns"),
                                 mode="lines+markers"))
        fig.update_layout(height=360, margin={"t": 40, "l": 10, "r": 10, "b": 10},
                          xaxis_title=self._t("widget.col.achievement"),
                          yaxis_title=f"{self._t('widget.col.client_pays')} ({self.currency})",
                          title=self._t("widget.sim.figure_title"))
        money_axis(fig, [*df["client_pays"], *df["provider_earns"]], self.currency, self.lang)
        return fig

    # -- saving ------------------------------------------------------------------------------
    @property
    def path(self) -> Path:
        return paths.parameters_dir() / "contracts.yaml"

    def save(self) -> bool:
        """Insert/replace the edited contract in parameters/contracts.yaml; validated before writing.

        The Save button and the contract switch are disabled while it runs; the outcome shows beside Save."""
        with self.bar.busy("widget.busy.saving"):
            return self._save()

    def _save(self) -> bool:
        self.save_details.children = ()
        if self.read_only:
            self.status.error(self._t("widget.sim.not_saved_read_only"), self.read_only_reasons, show_issues=False)
            self.save_details.children = (details_accordion("widget.details", self.read_only_reasons, self.lang),)
            return False
        self.fee_model()
        issues = list(self.issues)
        if not self.contract_id.value.strip():
            issues.insert(0, self._t("widget.sim.need_id"))
        if not self.stores.value:
            issues.append(self._t("widget.sim.need_store"))
        if issues:
            tech = self.technical_issues
            self.status.error(self._t("widget.sim.fix_terms"), [i for i in issues if i not in tech])
            self.status.issues = issues
            if tech:
                self.save_details.children = (details_accordion("widget.details", tech, self.lang),)
            return False
        data = self.contract_dict()
        try:
            written = _save_contract(data, self.path, replace=self.contract.value or data["id"])
            if not written:
                self.status.info(self._t("widget.sim.no_changes"))
                return True
            self.contracts = list(settlement.load_contracts(self.path))
        except KpiError as exc:
            lines = [str(i) for i in (getattr(exc, "issues", None) or [])] or [str(exc)]
            self.status.error(self._t("widget.sim.not_saved"), lines, show_issues=False)
            self.save_details.children = (details_accordion("widget.details", [str(self.path), *lines], self.lang),)
            return False
        self._busy = True
        try:
            self.contract.options = [(f"{c.id} · {c.display_name(self.lang)}", c.id) for c in self.contracts] + [(self._t("widget.sim.new_contract"), "")]
            self.contract.value = data["id"]
        finally:
            self._busy = False
        self.status.ok(self._t("widget.sim.saved", id=data["id"]))
        self.update()
        return True


_NUM = re.compile(r"^-?\d+(\.\d+)?$")
_TEXT_KEYS = {"id", "name", "client", "provider", "stores", "excluded_skus", "start", "end", "currency", "model",
              "kind", "mode", "period"}
_DEFAULTS = {"base": "0", "mode": "marginal", "min_achievement": "0"}


def _plain_numbers(x: Any, key: str = "") -> Any:
    """Decimal strings ('150000.0') → YAML numbers, so the saved file reads like the hand-written one."""
    if isinstance(x, dict):
        return {k: (v if k in _TEXT_KEYS else _plain_numbers(v, k)) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain_numbers(v, key) for v in x]
    if isinstance(x, str) and _NUM.match(x):
        d = Decimal(x)
        return int(d) if d == d.to_integral_value() else float(d)
    return x


def _drop_unsaved_defaults(new: dict[str, Any], saved: dict[str, Any]) -> dict[str, Any]:
    """Leave out keys at their default value that the saved data does not spell out (no added lines)."""
    out: dict[str, Any] = {}
    for k, v in new.items():
        if isinstance(v, dict):
            v = _drop_unsaved_defaults(v, saved.get(k) or {} if isinstance(saved.get(k), dict) else {})
        if k in _DEFAULTS and k not in saved and yaml_roundtrip.same(v, _DEFAULTS[k]):
            continue
        out[k] = v
    return out


def _diff_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Where two plain data trees differ ('fee.performance.cap: 5000 → (not shown)')."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for k in list(old) + [k for k in new if k not in old]:
            out += _diff_paths(old.get(k), new.get(k), f"{path}.{k}" if path else str(k))
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new, strict=True)) for d in _diff_paths(a, b, f"{path}[{i}]")]
    if yaml_roundtrip.same(old, new) or old == new:
        return []
    return [f"{path}: saved {old!r}, the editor would show {new!r}"]


def _save_contract(data: dict[str, Any], path: Path, replace: str) -> bool:
    """Validate the whole contracts file with the edited contract in it, then write it through
    :mod:`kpi_lib.spec.contracts` (only that contract's lines change; round-trip, atomic). False when
    nothing changed (the file is not touched)."""


    current = contracts_spec.load(path) if path.is_file() else contracts_spec.ContractsFile()
    items = list(current.contracts)
    idx = next((i for i, c in enumerate(items) if c.id == replace), None)
    try:
        edited = contracts_spec.Contract.model_validate(_plain_numbers(data))
    except ValidationError as err:
        raise ConfigError(f"{path.name} would be invalid",
                          [f"contracts[{data.get('id')}].{line.split(': ', 1)[1]}"
                           for line in format_validation_error(path.name, err)]) from None
    if idx is not None and items[idx].model_dump() == edited.model_dump():
        return False  # no edit: the file stays byte-identical
    others = [c.id for i, c in enumerate(items) if i != idx]
    if data["id"] in others:
        raise ConfigError(f"{path.name} would be invalid", [f"contracts: duplicate id {data['id']!r}"])
    if idx is not None:
        items[idx] = edited
    else:
        items.append(edited)
    return contracts_spec.save(current.model_copy(update={"contracts": items}), path)
