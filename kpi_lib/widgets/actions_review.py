"""Actions review (复盘): a team's red/amber KPIs with their drivers; add, update and comment actions.

Pick a month and a team: the panel lists the team's, its stores' and members' off-target KPIs (from
the warehouse's ``kpi_status``) with the largest drivers of the selected one (KPI tree attribution).
"Add action" creates an action on the selected KPI row; an action of the team can be marked done or
dropped and commented. Every change is saved with :func:`kpi_lib.actions.save_actions`, which
validates the whole file (owners, KPIs, entities, dates) before writing it atomically; an invalid
change leaves the file as it was and the message next to the button says why.

Labels are in Chinese by default, English with the language toggle.
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
from ..org import assignments
from .common import Panel, StatusBox, df_html, esc, message_html, no_warehouse_widget, open_warehouse
from .data import reference_frame

TEXT: dict[str, tuple[str, str]] = {
    "title": ("行动复盘", "Actions review"),
    "period": ("期间", "Period"),
    "team": ("团队", "Team"),
    "refresh": ("刷新", "Refresh"),
    "deviations": ("未达标指标（红/黄）", "KPIs off target (red/amber)"),
    "row": ("指标行", "KPI row"),
    "drivers": ("主要驱动因素（与上月相比）", "Main drivers (vs the prior month)"),
    "new_action": ("新增行动", "New action"),
    "what": ("行动内容", "Action"),
    "owner": ("负责人", "Owner"),
    "due": ("截止日期", "Due"),
    "by": ("记录人", "By"),
    "on": ("日期", "Date"),
    "expect": ("设定预期值", "Expected value"),
    "add": ("添加行动", "Add action"),
    "actions": ("团队的行动", "The team's actions"),
    "action": ("行动", "Action"),
    "status": ("状态", "Status"),
    "update": ("更新状态", "Update status"),
    "comment": ("备注", "Comment"),
    "add_comment": ("添加备注", "Add comment"),
    "open": ("进行中", "Open"), "done": ("已完成", "Done"), "dropped": ("已放弃", "Dropped"),
    "red": ("未达标", "Off track"), "amber": ("预警", "At risk"),
    "no_rows": ("本期没有红色或黄色指标。", "No KPI is red or amber this period."),
    "no_drivers": ("指标树中无分解。", "No breakdown in the KPI tree."),
    "split_incomplete": ("无法分解：缺少数据（{items}）。", "Cannot be split: data missing for {items}."),
    "pick_row": ("先选择一个指标行。", "Pick a KPI row first."),
    "pick_action": ("先选择一个行动。", "Pick an action first."),
    "need_title": ("请填写行动内容。", "Describe the action first."),
    "need_text": ("请填写备注内容。", "Write the comment first."),
    "added": ("已添加并保存行动 {id}。", "Action {id} added and saved."),
    "updated": ("行动 {id} 状态已更新为“{s}”并保存。", "Action {id} set to {s} and saved."),
    "commented": ("已为行动 {id} 添加备注并保存。", "Comment added to {id} and saved."),
    "not_saved": ("未保存：", "Not saved: "),
    "entity": ("对象", "Entity"), "kpi": ("指标", "KPI"), "actual": ("实际", "Actual"), "target": ("目标", "Target"),
    "achievement": ("达成率", "Achievement"), "has_action": ("已有行动", "Actions"),
    "overdue": ("逾期", "overdue"),
}


def _fmt(v: Any, unit: str) -> str:
    if v is None or pd.isna(v):
        return "–"
    if unit == "pct":
        return f"{float(v):.1%}"
    if unit == "money":
        return f"{float(v):,.0f}"
    return f"{float(v):,.2f}"


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

        self.language = W.ToggleButtons(options=[("中文", "zh"), ("English", "en")], value=self.lang)
        self.period = W.Dropdown(options=[])
        self.team = W.Dropdown(options=[])
        self.refresh_button = W.Button(icon="refresh")
        self.deviation_html = W.HTML()
        self.row = W.Dropdown(options=[], layout=W.Layout(width="640px"))
        self.drivers_html = W.HTML()
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
        self._headers = {k: W.HTML() for k in ("deviations", "drivers", "new_action", "actions")}
        self._relabel()

        if self.warehouse is None:
            self.widget = W.VBox([W.HTML(f"<h3>{esc(self._t('title'))}</h3>"), no_warehouse_widget()])
            self.add_status.warn("No warehouse: run `make demo` first; the review reads KPI status from it.")
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
            W.HBox([self.language]),
            W.HBox([self.period, self.team, self.refresh_button]),
            self._headers["deviations"], self.deviation_html,
            self.row, self._headers["drivers"], self.drivers_html,
            self._headers["new_action"], self.title, W.HBox([self.owner, self.due, self.created_by]),
            W.HBox([self.set_expected, self.expected]), W.HBox([self.add_button, self.add_status.widget]),
            self._headers["actions"], self.action, self.action_html,
            W.HBox([self.new_status, self.status_by, self.status_at]),
            W.HBox([self.update_button, self.update_status_box.widget]),
            self.comment, W.HBox([self.comment_by, self.comment_at]),
            W.HBox([self.comment_button, self.comment_status.widget]),
        ])
        self.refresh()

    # -- labels --------------------------------------------------------------------------------
    def _t(self, key: str, **kw: Any) -> str:
        zh, en = TEXT.get(key, (key, key))
        text = en if self.lang == "en" else zh
        return text.format(**kw) if kw else text

    def _relabel(self) -> None:
        for w, key in ((self.period, "period"), (self.team, "team"), (self.row, "row"), (self.title, "what"),
                       (self.owner, "owner"), (self.due, "due"), (self.created_by, "by"),
                       (self.set_expected, "expect"), (self.action, "action"), (self.new_status, "status"),
                       (self.status_by, "by"), (self.status_at, "on"), (self.comment, "comment"),
                       (self.comment_by, "by"), (self.comment_at, "on")):
            w.description = self._t(key)
        self.expected.description = ""
        self.refresh_button.description = self._t("refresh")
        self.add_button.description = self._t("add")
        self.update_button.description = self._t("update")
        self.comment_button.description = self._t("add_comment")
        keep = self.new_status.value
        self.new_status.options = [(self._t(s), s) for s in A.STATUSES]
        self.new_status.value = keep if keep in A.STATUSES else "done"
        for k, w in self._headers.items():
            w.value = f"<h4 style='margin:10px 0 2px'>{esc(self._t(k))}</h4>"

    def _set_lang(self) -> None:
        self.lang = self.language.value
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
        self.period.options = months[::-1]
        if keep_p in months:
            self.period.value = keep_p
        elif months:
            self.period.value = months[-1]

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
        try:
            self.actions = A.load_actions()
        except KpiError as exc:
            self.add_status.from_exception(exc, self._t("not_saved"))
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
        self._show_drivers()
        self._list_actions()

    def _unit(self, kpi: str) -> str:
        return self.catalog.get(kpi).unit if kpi in self.catalog.ids() else "count"

    def _row_label(self, r: pd.Series) -> str:
        u = self._unit(r["kpi"])
        return (f"{r['entity_id'] or r['entity_kind']} · {self.catalog.name(r['kpi'], self.lang)} · "
                f"{self._t(r['status'])} ({_fmt(r['actual'], u)} / {_fmt(r['target'], u)})")

    def _deviation_table(self) -> str:
        d = self.deviations
        if d.empty:
            return message_html(self._t("no_rows"), "ok")
        view = pd.DataFrame({
            self._t("entity"): d["entity_id"].where(d["entity_id"] != "", d["entity_kind"]),
            self._t("kpi"): d["kpi"].map(lambda k: self.catalog.name(k, self.lang)),
            self._t("period"): d["period"],
            self._t("actual"): [_fmt(v, self._unit(k)) for v, k in zip(d["actual"], d["kpi"])],
            self._t("target"): [_fmt(v, self._unit(k)) for v, k in zip(d["target"], d["kpi"])],
            self._t("achievement"): d["achievement"].map(lambda v: "–" if pd.isna(v) else f"{v:.0%}"),
            self._t("status"): d["status"].map(self._t),
            self._t("has_action"): d["action_ids"].replace("", "–"),
        })
        return df_html(view, max_rows=60)

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
            self.drivers_html.value = message_html(str(exc).splitlines()[0], "warn")
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
            c = f"{k.contribution * 100:+.1f}pp" if unit == "pct" else f"{k.contribution:+,.0f}"
            items.append(f"<li>{esc(self.catalog.name(k.driver, self.lang))}: {esc(c)} "
                         f"({esc(_fmt(k.value_a, du))} → {esc(_fmt(k.value_b, du))})</li>")
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
            opts.append((f"{a.id} · {a.entity_id or ''} · {self.catalog.name(a.kpi, self.lang)} · "
                         f"{self._t(a.status)}{late} · {a.title[:50]}", a.id))
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
        lines = [f"<b>{esc(a.id)}</b> {esc(a.title)}",
                 f"{esc(self._t('owner'))}: {esc(a.owner)} · {esc(self._t('due'))}: {a.due} · "
                 f"{esc(self._t('status'))}: {esc(self._t(a.status))}"
                 + (f" ({esc(a.status_by or '')}, {a.status_at})" if a.status != "open" else "")]
        lines += [f"<i>{c.at} {esc(c.by)}</i>: {esc(c.text)}" for c in a.comments]
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
            return "Actions review: no warehouse yet — run `make demo` first."
        return (f"Actions review: {self.team.value} {self.period.value}: {len(self.deviations)} KPI(s) off target, "
                f"{len(self.team_actions())} action(s)")
