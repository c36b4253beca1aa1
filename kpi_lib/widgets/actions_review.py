"""Actions review (复盘): a team's red/amber KPIs with their drivers; add, update and comment actions.

Pick a month and a team: the panel lists the team's, its stores' and members' off-target KPIs (from
the warehouse's ``kpi_status``) with the largest drivers of the selected one (KPI tree attribution).
"Add action" creates an action on the selected KPI row; an action of the team can be marked done or
dropped and commented. Every change is saved with :func:`kpi_lib.actions.save_actions`, which
validates the whole file (owners, KPIs, entities, dates) before writing it atomically; an invalid
change leaves the file as it was and the message next to the button says why.

Every word comes from the label catalog (``widget.act.*``), in Chinese by default and English with the
language toggle; KPI names come from the KPI catalog, money carries its currency, rates are percentages.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import ipywidgets as W
import pandas as pd
from pydantic import ValidationError

from .. import actions as A
from ..config import format_validation_error, workbench
from ..definitions import load_catalog
from ..errors import KpiError
from ..labels import label
from ..org import assignments
from .common import (
    ActionBar,
    Panel,
    StatusBox,
    details_accordion,
    esc,
    fmt_money,
    fmt_num,
    fmt_pct,
    language_toggle,
    message_html,
    no_warehouse_widget,
    open_warehouse,
    table_html,
)
from .data import period_status, reference_frame


def _fmt(v: Any, unit: str, currency: str) -> str:
    """A KPI value for people: money with currency and two decimals, rates as %, "–" when missing."""
    if v is None or pd.isna(v):
        return "–"
    if unit in ("pct", "ratio"):
        return fmt_pct(v)
    if unit == "money":
        return fmt_money(v, currency)
    return fmt_num(v, 2)


class ActionsReview(Panel):
    """Main methods: ``refresh``, ``add_action``, ``update_status``, ``add_comment``; controls are attributes."""

    title_text = "Actions review"

    def __init__(self, lang: str | None = None, today: dt.date | None = None) -> None:
        self.lang = lang or workbench().default_language
        self.today = today or dt.date.today()
        self.catalog = load_catalog()
        self.warehouse = open_warehouse()
        self.deviations = pd.DataFrame()
        self.driver_table = pd.DataFrame()
        self.actions: list[A.Action] = []
        self._quiet = False  # True while the panel sets its own controls (observers then do nothing)
        self._driver_cache: dict[tuple, pd.DataFrame] = {}

        self.currency = workbench().reporting_currency
        self.language = language_toggle(self.lang)
        self.header = W.HTML()
        self.details = W.VBox()
        self.period = W.Dropdown(options=[])
        self.team = W.Dropdown(options=[])
        self.refresh_button = W.Button(icon="refresh")
        self.deviation_html = W.HTML()
        self.row = W.Dropdown(options=[], layout=W.Layout(width="640px"))
        self.drivers_html = W.HTML()
        self.row_section = W.VBox()  # the KPI row, its drivers and the new-action form (hidden without rows)
        self.no_row_note = W.HTML(layout=W.Layout(display="none"))
        self.title = W.Text(layout=W.Layout(width="520px"))
        self.owner = W.Dropdown(options=[])
        self.created_by = W.Dropdown(options=[])
        self.due = W.DatePicker(value=self.today + dt.timedelta(days=14))
        self.set_expected = W.Checkbox(value=False)
        self.expected = W.FloatText(value=0.0)
        self.add_button = W.Button(button_style="primary", icon="plus")
        self.add_status = StatusBox()
        self.action = W.Dropdown(options=[], layout=W.Layout(width="640px"))
        self.action_html = W.HTML()
        self.new_status = W.Dropdown(options=[])
        self.status_by = W.Dropdown(options=[])
        self.status_at = W.DatePicker(value=self.today)
        self.update_button = W.Button(icon="check")
        self.update_status_box = StatusBox()
        self.comment = W.Textarea(layout=W.Layout(width="520px", height="60px"))
        self.comment_by = W.Dropdown(options=[])
        self.comment_at = W.DatePicker(value=self.today)
        self.comment_button = W.Button(icon="comment")
        self.comment_status = StatusBox()
        self.status = self.add_status  # the panel's main message line
        self.refresh_bar = ActionBar([self.refresh_button], self.lang, also=[self.period, self.team, self.row])
        self._headers = {k: W.HTML() for k in ("deviations", "drivers", "new_action", "actions")}
        for w in (self.team, self.row, self.owner, self.created_by, self.action, self.status_by, self.comment_by):
            w.data_values = True  # teams, people, KPI rows and actions are the user's records
        self._relabel()

        if self.warehouse is None:
            self.widget = W.VBox([self.header, no_warehouse_widget(self.lang)])
            self.add_status.warn(self._t("widget.act.no_warehouse"))
            return

        self._load_reference()
        self.language.observe(lambda _c: self._set_lang(), names="value")
        self.period.observe(lambda _c: self._quiet or self.refresh(), names="value")
        self.team.observe(lambda _c: self._quiet or self.refresh(), names="value")
        self.row.observe(lambda _c: self._quiet or self._show_drivers(), names="value")
        self.action.observe(lambda _c: self._quiet or self._show_action(), names="value")
        self.refresh_button.on_click(lambda _b: self.refresh())
        self.add_button.on_click(lambda _b: self.add_action())
        self.update_button.on_click(lambda _b: self.update_status())
        self.comment_button.on_click(lambda _b: self.add_comment())

        self.widget = W.VBox([
            W.HBox([self.header, self.language], layout=W.Layout(justify_content="space-between")),
            W.HBox([self.period, self.team, self.refresh_bar.widget]), self.details,
            self._headers["deviations"], self.deviation_html, self.no_row_note, self.row_section,
            self._headers["actions"], self.action, self.action_html,
            W.HBox([self.new_status, self.status_by, self.status_at]),
            W.HBox([self.update_button, self.update_status_box.widget]),
            self.comment, W.HBox([self.comment_by, self.comment_at]),
            W.HBox([self.comment_button, self.comment_status.widget]),
        ])
        self.row_section.children = (
            self.row, self._headers["drivers"], self.drivers_html,
            self._headers["new_action"], self.title, W.HBox([self.owner, self.due, self.created_by]),
            W.HBox([self.set_expected, self.expected]), W.HBox([self.add_button, self.add_status.widget]))
        self.refresh()

    # -- labels --------------------------------------------------------------------------------
    def _t(self, key: str, **kw: Any) -> str:
        """The catalog word ``widget.act.<key>`` (or a full ``widget.…`` key) in the panel's language."""
        full = key if key.startswith("widget.") else f"widget.act.{key}"
        text = label(full, self.lang)
        return text.format(**kw) if kw else text

    def _relabel(self) -> None:
        self.header.value = f"<h3>{esc(self._t('title'))}</h3>"
        self.language.description = self._t("widget.lang")
        for w, key in ((self.period, "period"), (self.team, "team"), (self.row, "row"), (self.title, "what"),
                       (self.owner, "owner"), (self.due, "due"), (self.created_by, "by"),
                       (self.set_expected, "expect"), (self.action, "action"), (self.new_status, "status"),
                       (self.status_by, "by"), (self.status_at, "on"), (self.comment, "comment"),
                       (self.comment_by, "by"), (self.comment_at, "on")):
            w.description = self._t(key)
        self.expected.description = self._t("expected_value")
        self.refresh_button.description = self._t("refresh")
        self.add_button.description = self._t("add")
        self.update_button.description = self._t("update")
        self.comment_button.description = self._t("add_comment")
        keep = self.new_status.value
        self.new_status.options = [(self._t(s), s) for s in A.STATUSES]
        self.new_status.value = keep if keep in A.STATUSES else "done"
        for k, w in self._headers.items():
            w.value = f"<h4 style='margin:10px 0 2px'>{esc(self._t(k))}</h4>"

    def set_language(self, lang: str) -> None:
        """Switch every label, header, option and message between zh and en."""
        if self.language.value != lang:
            self.language.value = lang  # the observer calls _set_lang
            return
        self._set_lang()

    def _set_lang(self) -> None:
        self.lang = self.refresh_bar.lang = self.language.value
        self._relabel()
        self._quiet = True
        try:
            self._load_reference()
        finally:
            self._quiet = False
        self.refresh()

    # -- reference data ---------------------------------------------------------------------------
    def _load_reference(self) -> None:
        wh = self.warehouse
        teams = reference_frame("teams", wh)
        self.people = reference_frame("people", wh)
        name_col = "team_name_zh" if self.lang == "zh" and "team_name_zh" in teams else "team_name"
        keep = self.team.value
        self.team.options = [(f"{r['team_id']} · {r.get(name_col, '')}", str(r["team_id"]))
                             for r in teams.to_dict("records")]
        ids = [v for _, v in self.team.options]
        self.team.value = keep if keep in ids else (ids[0] if ids else None)
        keep_p = self.period.value
        months = self._months()
        done = set(period_status(wh, "month")[0])
        to_date = self._t("widget.period.to_date")
        self.period.options = [(m if m in done else f"{m} · {to_date}", m) for m in months[::-1]]
        finished = [m for m in months if m in done]
        if keep_p in months:
            self.period.value = keep_p
        elif months:  # the latest finished month; an unfinished one is shown "to date", never the default
            self.period.value = finished[-1] if finished else months[-1]

    def _months(self) -> list[str]:
        wh = self.warehouse
        if wh is None or not wh.has("kpi_status"):
            return []
        st = wh.read("kpi_status")
        return sorted(p for p in set(st["period"].astype(str)) if re.match(r"^\d{4}-\d{2}$", p))

    def _person_options(self, team: str | None) -> list[tuple[str, str]]:
        if self.people.empty:
            return []
        members: set[str] = set()
        if team:
            asg = assignments(self.warehouse)
            members = set(asg.loc[asg["team_id"] == team, "person_id"].dropna().astype(str))
        col = "name_zh" if self.lang == "zh" and "name_zh" in self.people else "name"
        rows = self.people.to_dict("records")
        rows.sort(key=lambda r: (str(r["person_id"]) not in members, str(r["person_id"])))
        return [(f"{r['person_id']} · {r.get(col, '')}", str(r["person_id"])) for r in rows]

    # -- views ------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Reload actions, the team's deviations (with drivers of the selected row) and its actions."""
        if self.warehouse is None or not self.team.value or not self.period.value:
            return
        with self.refresh_bar.busy("widget.busy.loading"):
            self._refresh()

    def _refresh(self) -> None:
        self.details.children = ()
        try:
            self.actions = A.load_actions()
        except KpiError as exc:
            self.refresh_bar.status.error(self._t("load_failed"))
            self.details.children = (details_accordion("widget.details", [str(exc)], self.lang),)
            self.actions = []
        people = self._person_options(self.team.value)
        for w in (self.owner, self.created_by, self.status_by, self.comment_by):
            keep = w.value
            w.options = people
            ids = [v for _, v in people]
            w.value = keep if keep in ids else (ids[0] if ids else None)  # team members are listed first
        self.deviations = A.deviations("team", self.team.value, self.period.value, warehouse=self.warehouse,
                                       actions=self.actions)
        self.deviation_html.value = self._deviation_table()
        self._quiet = True
        try:
            self.row.options = [(self._row_label(r), i) for i, r in self.deviations.iterrows()]
            self.row.value = 0 if len(self.deviations) else None
        finally:
            self._quiet = False
        # nothing off target: a sentence instead of an empty KPI row, its drivers and a form that needs a row
        none = self.deviations.empty
        self.row_section.layout.display = "none" if none else ""
        self.no_row_note.layout.display = "" if none else "none"
        self.no_row_note.value = message_html(self._t("nothing_to_explain"), "info") if none else ""
        self._show_drivers()
        self._list_actions()

    def _unit(self, kpi: str) -> str:
        return self.catalog.get(kpi).unit if kpi in self.catalog.ids() else "count"

    def _row_label(self, r: pd.Series) -> str:
        u = self._unit(r["kpi"])
        return (f"{r['entity_id'] or r['entity_kind']} · {self.catalog.name(r['kpi'], self.lang)} · "
                f"{self._t(r['status'])} ({_fmt(r['actual'], u, self.currency)} / {_fmt(r['target'], u, self.currency)})")

    def _deviation_table(self) -> str:
        d = self.deviations
        if d.empty:
            return message_html(self._t("no_rows"), "ok")
        cur = self.currency
        view = pd.DataFrame({
            "entity": d["entity_id"].where(d["entity_id"] != "", d["entity_kind"].map(self._t)),
            "kpi": d["kpi"].map(lambda k: self.catalog.name(k, self.lang)),
            "period": d["period"],
            "actual": [_fmt(v, self._unit(k), cur) for v, k in zip(d["actual"], d["kpi"], strict=True)],
            "target": [_fmt(v, self._unit(k), cur) for v, k in zip(d["target"], d["kpi"], strict=True)],
            "achievement": d["achievement"].map(lambda v: "–" if pd.isna(v) else fmt_pct(v, 0)),
            "status": d["status"].map(self._t),
            "has_action": d["action_ids"].replace("", "–"),
        })
        cols = list(view.columns)
        return table_html(view, {c: "text" for c in cols}, {c: self._t(c) for c in cols}, cur, self.lang, 60)

    def selected_row(self) -> pd.Series | None:
        if self.row.value is None or self.deviations.empty:
            return None
        return self.deviations.loc[self.row.value]

    def _show_drivers(self) -> None:
        r = self.selected_row()
        if r is None:
            self.driver_table = pd.DataFrame()
            self.drivers_html.value = ""
            return
        key = (r["entity_kind"], r["entity_id"], self.period.value, r["kpi"])
        try:
            if key not in self._driver_cache:
                self._driver_cache[key] = A.drivers(r["entity_kind"], r["entity_id"] or None, self.period.value,
                                                    [r["kpi"]], warehouse=self.warehouse)
            self.driver_table = self._driver_cache[key]
        except KpiError as exc:
            self.driver_table = pd.DataFrame()
            self.drivers_html.value = message_html(self._t("cannot_split"), "warn")
            self.details.children = (details_accordion("widget.details", [str(exc)], self.lang),)
            return
        if self.driver_table.empty:
            self.drivers_html.value = message_html(self._t("no_drivers"), "info")
            return
        unit = self._unit(r["kpi"])
        if self.driver_table["contribution"].isna().all():  # a driver's data is missing: no split, not zeros
            gaps = [self.catalog.name(k.driver, self.lang) for k in self.driver_table.itertuples()
                    if pd.isna(k.value_a) or pd.isna(k.value_b)]
            self.drivers_html.value = message_html(self._t("split_incomplete", items=", ".join(gaps) or "–"), "warn")
            return
        items = []
        for k in self.driver_table.itertuples():
            du = self._unit(k.driver)
            c = (f"{k.contribution * 100:+.1f}pp" if unit in ("pct", "ratio")
                 else f"{k.contribution:+,.2f} {self.currency}" if unit == "money" else f"{k.contribution:+,.2f}")
            items.append(f"<li>{esc(self.catalog.name(k.driver, self.lang))}: {esc(c)} "
                         f"({esc(_fmt(k.value_a, du, self.currency))} → {esc(_fmt(k.value_b, du, self.currency))})</li>")
        self.drivers_html.value = "<ul style='margin:2px 0'>" + "".join(items) + "</ul>"

    def team_actions(self) -> list[A.Action]:
        """Actions concerning the team (its own, its stores', its members'), newest first."""
        if not self.team.value:
            return []
        start = dt.date(2000, 1, 1)
        cache: dict = {}
        sel = [a for a in self.actions if A.concerns(a, "team", self.team.value, start, max(self.today, a.created),
                                                       self.warehouse, cache)]
        return sorted(sel, key=lambda a: (a.created, a.id), reverse=True)

    def _list_actions(self, select: str | None = None) -> None:
        acts = self.team_actions()
        keep = select or self.action.value
        opts = []
        for a in acts:
            late = f" · {self._t('overdue')}" if a.status == "open" and a.due < self.today else ""
            text = (f"{a.id} · {a.entity_id or ''} · {self.catalog.name(a.kpi, self.lang)} · "
                    f"{self._t(a.status)}{late} · {a.title[:50]}")
            opts.append((text, a.id))
        self._quiet = True
        try:
            self.action.options = opts
            ids = [v for _, v in opts]
            self.action.value = keep if keep in ids else (ids[0] if ids else None)
        finally:
            self._quiet = False
        self._show_action()

    def _show_action(self) -> None:
        a = next((x for x in self.actions if x.id == self.action.value), None)
        if a is None:
            self.action_html.value = ""
            return
        who = {str(v): str(lbl) for lbl, v in self.owner.options}  # "P05 · name", not the bare id

        def person(pid: str | None) -> str:
            return who.get(str(pid or ""), str(pid or ""))

        lines = [f"<b>{esc(a.id)}</b> {esc(a.title)}",
                 f"{esc(self._t('owner'))}: {esc(person(a.owner))} · {esc(self._t('due'))}: {a.due} · "
                 f"{esc(self._t('status'))}: {esc(self._t(a.status))}"
                 + (f" ({esc(person(a.status_by))}, {a.status_at})" if a.status != "open" else "")]
        lines += [f"<i>{c.at} {esc(person(c.by))}</i>: {esc(c.text)}" for c in a.comments]
        self.action_html.value = "<div style='font-size:13px'>" + "<br>".join(lines) + "</div>"

    # -- changes (each saved validated) -------------------------------------------------------------
    def _invalid(self, box: StatusBox, exc: ValidationError) -> None:
        issues = format_validation_error("action", exc)
        box.error(self._t("not_saved") + (issues[0] if len(issues) == 1 else f"{len(issues)} problem(s)"),
                  issues if len(issues) > 1 else [])

    def _save(self, new: list[A.Action], box: StatusBox, ok: str) -> bool:
        try:
            A.save_actions(new, warehouse=self.warehouse)
        except KpiError as exc:
            box.from_exception(exc, self._t("not_saved"))
            return False
        self.actions = A.load_actions()
        box.ok(ok)
        return True

    def add_action(self) -> A.Action | None:
        """Create an action on the selected KPI row from the form, save it validated."""
        r = self.selected_row()
        if r is None:
            self.add_status.error(self._t("pick_row"))
            return None
        if not self.title.value.strip():
            self.add_status.error(self._t("need_title"))
            return None
        data = {
            "id": A.next_id(self.actions, self.today), "title": self.title.value.strip(), "kpi": r["kpi"],
            "entity_kind": r["entity_kind"], "entity_id": r["entity_id"] or None,
            "period": self.period.value,
            "owner": self.owner.value or "", "created": self.today, "created_by": self.created_by.value,
            "due": self.due.value or self.today,
        }
        if self.set_expected.value:
            data["expected"] = {"value": float(self.expected.value)}
        try:
            action = A.Action.model_validate(data)
        except ValidationError as exc:
            self._invalid(self.add_status, exc)
            return None
        if not self._save([*self.actions, action], self.add_status, self._t("added", id=action.id)):
            return None
        self.title.value = ""
        self.deviations = A.deviations("team", self.team.value, self.period.value, warehouse=self.warehouse,
                                       actions=self.actions)
        self.deviation_html.value = self._deviation_table()
        self._list_actions(select=action.id)
        return action

    def update_status(self) -> bool:
        """Set the selected action's status (who, when) and save."""
        if not self.action.value:
            self.update_status_box.error(self._t("pick_action"))
            return False
        st = self.new_status.value
        changes: dict[str, Any] = {"status": st, "status_by": self.status_by.value if st != "open" else None,
                                   "status_at": self.status_at.value if st != "open" else None}
        try:
            new = A.update_action(self.actions, self.action.value, **changes)
        except ValidationError as exc:
            self._invalid(self.update_status_box, exc)
            return False
        ok = self._save(new, self.update_status_box, self._t("updated", id=self.action.value, s=self._t(st)))
        if ok:
            self._list_actions(select=self.action.value)
        return ok

    def add_comment(self) -> bool:
        """Append a dated comment to the selected action and save."""
        if not self.action.value:
            self.comment_status.error(self._t("pick_action"))
            return False
        text = self.comment.value.strip()
        if not text:
            self.comment_status.error(self._t("need_text"))
            return False
        a = next(x for x in self.actions if x.id == self.action.value)
        comments = [c.model_dump() for c in a.comments] + [
            {"at": self.comment_at.value or self.today, "by": self.comment_by.value or "", "text": text}]
        try:
            new = A.update_action(self.actions, a.id, comments=comments)
        except ValidationError as exc:
            self._invalid(self.comment_status, exc)
            return False
        ok = self._save(new, self.comment_status, self._t("commented", id=a.id))
        if ok:
            self.comment.value = ""
            self._list_actions(select=a.id)
        return ok

    def summary(self) -> str:
        if self.warehouse is None:
            return self._t("no_warehouse")
        return self._t("summary", team=self.team.value, period=self.period.value, n=len(self.deviations),
                       m=len(self.team_actions()))
