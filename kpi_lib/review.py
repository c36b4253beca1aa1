"""Report sections for actions and the monthly review pack (复盘), built with :mod:`kpi_lib.present`.

Every function takes a :class:`kpi_lib.report_data.ReportContext` (``ctx``) and returns HTML, so any
template can show them with ``present.show(...)``:

- :func:`actions_section` — for store, team and person reports: the open actions on the entity's
  KPIs (overdue ones highlighted) and the actions closed in the period with the KPI's value before
  and after and the expected effect. In a person's report only the actions they own or that
  concern their stores appear, and other people are never named.
- the team review (``templates/team_review.ipynb``): :func:`review_header`, :func:`deviations_section`,
  :func:`drivers_section`, :func:`last_review_section`, :func:`open_actions_section`,
  :func:`agenda_section`, :func:`review_footer`; :func:`review_data` gathers what they show.

Figures come from :mod:`kpi_lib.actions` (values from ``metrics.compute``, deviations from the
warehouse's ``kpi_status``, drivers from the KPI tree attribution); money is converted to the
report currency here, once, with the context's FX factor.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from . import present as p
from . import report_data as rd
from .actions import actions_for, deviations, drivers, load_actions
from .errors import KpiError
from .labels import catalog
from .metrics import period_bounds

# every word of this module lives in the one catalog: kpi_lib/labels/review.yaml (keys "review.<name>")
LABELS: dict[str, tuple[str, str]] = {k.split(".", 1)[1]: (v["zh"], v["en"]) for k, v in catalog().items()
                                      if k.startswith("review.")}
RESULT_COLOR = {"met": "green", "improved": "green", "not_met": "red", "no_improvement": "red", "incomplete": "none",
                "dropped": "none", "pending": "amber"}


def t(key: str, lang: str = "zh", **kw: Any) -> str:
    """A label of this module in ``lang`` (falls back to present's labels, then the key)."""
    if key in LABELS:
        zh, en = LABELS[key]
        text = en if lang == "en" else zh
    else:
        text = p.t(key, lang)
    return text.format(**kw) if kw else text


def section(key: str, lang: str, body: str) -> str:
    """An <h2> section like present.section, with this module's labels (ids stay ASCII and unique)."""
    return f'<h2 id="{p.slug(key)}" class="section">{p.esc(t(key, lang))}</h2>{body}'


def pill(text: str, color: str) -> str:
    """A coloured pill like present.badge, for states this module names (results, overdue)."""
    c = p.STATUS_COLORS.get(color, p.STATUS_COLORS["none"])
    return f'<span class="badge badge-{color}" style="background:{c}">{p.esc(text)}</span>'


# ---- names, scope ------------------------------------------------------------------------------------
def person_names(ctx: Any) -> dict[str, str]:
    """person_id → display name in the report language."""
    ppl = rd.table(ctx, "people")
    if ppl.empty:
        return {}
    col = "name_zh" if ctx.lang == "zh" and "name_zh" in ppl else "name"
    return {str(i): (str(n) if pd.notna(n) and str(n) else str(i)) for i, n in zip(ppl["person_id"], ppl[col])}


def _person(ctx: Any, pid: Any, names: dict[str, str]) -> str:
    """A person's name; in a person's report anyone else is 'another team member'."""
    if pid is None or (isinstance(pid, float) and np.isnan(pid)) or pid == "":
        return p.DASH
    if ctx.kind == "person" and str(pid) != ctx.entity_id:
        return t("colleague", ctx.lang)
    return names.get(str(pid), str(pid))


def _entity(ctx: Any, kind: str, eid: str, names: dict[str, str]) -> str:
    if kind == "company":
        return t("company", ctx.lang)
    if kind == "person":
        return _person(ctx, eid, names)
    if kind == "team":
        teams = rd.table(ctx, "teams")
        if not teams.empty:
            row = teams[teams["team_id"].astype(str) == eid]
            col = "team_name_zh" if ctx.lang == "zh" and "team_name_zh" in teams else "team_name"
            if len(row) and col in row and pd.notna(row[col].iloc[0]):
                return str(row[col].iloc[0])
    return p.entity_label(ctx, kind, eid)  # a store: its name beside its id


# ---- figures ------------------------------------------------------------------------------------------
def actions_frame(ctx: Any, person_id: str | None = None) -> pd.DataFrame:
    """actions_for the context's entity and period, money columns in the report currency."""
    df = actions_for(ctx.kind, ctx.engine_id, ctx.period, person_id=person_id, warehouse=ctx.warehouse,
                     values=rd.action_values(ctx))
    if df.empty:
        return df
    units = df["expected_kpi"].fillna(df["kpi"]).map(rd.kpi_unit)
    money = units == "money"
    for c in ("before", "after", "expected_value"):
        df[c] = df[c].astype(float)
        df.loc[money, c] = df.loc[money, c] / ctx.fx
    df["unit"] = units
    return df


def _fmt(ctx: Any, v: Any, unit: str) -> str:
    return p.fmt_value(v, unit, ctx.currency, ctx.lang)


def _expected(ctx: Any, r: Any) -> str:
    if pd.isna(r["expected_value"]):
        return p.DASH
    k = r["expected_kpi"] or r["kpi"]
    cat = rd.catalog()
    sign = "≤ " if k in cat.kpis and cat.get(k).direction == "down" else "≥ "
    name = "" if k == r["kpi"] else rd.kpi_name(k, ctx.lang) + " "
    return f"{name}{sign}{_fmt(ctx, r['expected_value'], r['unit'])}"


def _state(ctx: Any, r: Any) -> str:
    if r["status"] == "open" and r["overdue"]:
        return pill(t("overdue_days", ctx.lang, n=int(r["days_overdue"])), "red")
    return pill(t(str(r["status"]), ctx.lang), {"open": "amber", "done": "green", "dropped": "none"}[r["status"]])


def _nowrap(text: Any) -> str:
    return f'<span style="white-space:nowrap">{p.esc(text)}</span>'


def _open_table(ctx: Any, df: pd.DataFrame, names: dict[str, str]) -> str:
    lang = ctx.lang
    if df.empty:
        return f'<p class="empty">{p.esc(t("none", lang))}</p>'
    d = df.copy()
    d["aid"] = d["id"].map(_nowrap)
    d["due"] = d["due"].map(_nowrap)
    d["entity"] = [_entity(ctx, k, i, names) for k, i in zip(d["entity_kind"], d["entity_id"])]
    d["kpi_name"] = d["kpi"].map(lambda k: rd.kpi_name(k, lang))
    d["who"] = d["owner"].map(lambda x: _person(ctx, x, names))
    d["state"] = [_state(ctx, r) for _, r in d.iterrows()]
    d["exp"] = [_expected(ctx, r) for _, r in d.iterrows()]
    d["note"] = d["last_comment"].fillna("")
    cols = [("aid", "ID"), ("entity", t("entity", lang)), ("kpi_name", t("kpi", lang)), ("title", t("action", lang)),
            ("who", t("owner", lang)), ("due", t("due", lang)), ("state", t("state", lang)),
            ("exp", t("expected", lang)), ("note", t("comment", lang))]
    return p.table(d, cols, raw=["aid", "due", "state"], lang=lang)


def _closed_table(ctx: Any, df: pd.DataFrame, names: dict[str, str]) -> str:
    lang = ctx.lang
    if df.empty:
        return f'<p class="empty">{p.esc(t("none", lang))}</p>'
    d = df.copy()
    d["entity"] = [_entity(ctx, k, i, names) for k, i in zip(d["entity_kind"], d["entity_id"])]
    d["kpi_name"] = [rd.kpi_name(k, lang) for k in d["expected_kpi"].fillna(d["kpi"])]
    d["who"] = d["owner"].map(lambda x: _person(ctx, x, names))
    d["state"] = [_state(ctx, r) for _, r in d.iterrows()]
    d["b"] = [_fmt(ctx, v, u) + f" ({per})" for v, u, per in zip(d["before"], d["unit"], d["period"])]
    d["a"] = [_fmt(ctx, v, u) for v, u in zip(d["after"], d["unit"])]
    d["exp"] = [_expected(ctx, r) for _, r in d.iterrows()]
    d["res"] = [pill(t(str(x), lang), RESULT_COLOR.get(str(x), "none")) for x in d["result"]]
    d["closed"] = d["status_at"].map(lambda x: _nowrap(p.DASH if x is None or pd.isna(x) else str(x)))
    d["aid"] = d["id"].map(_nowrap)
    cols = [("aid", "ID"), ("entity", t("entity", lang)), ("kpi_name", t("kpi", lang)), ("title", t("action", lang)),
            ("who", t("owner", lang)), ("state", t("state", lang)), ("closed", t("closed_on", lang)),
            ("b", t("before", lang)), ("a", t("after", lang)), ("exp", t("expected", lang)),
            ("res", t("result", lang))]
    return p.table(d, cols, raw=["aid", "closed", "state", "res"], lang=lang)


def actions_section(ctx: Any, df: pd.DataFrame | None = None) -> str:
    """Open actions (overdue first) and the actions closed in the period with before/after and result.

    Scope follows the report: a store's actions; a team's, its stores' and members'; in a person's
    report only the actions they own or that concern their stores, and nobody else is named.
    """
    lang = ctx.lang
    if df is None:
        try:
            df = actions_frame(ctx)
        except KpiError as exc:  # a broken actions.yaml must not take the whole report down
            return section("actions", lang, p.unavailable(lang, str(exc).splitlines()[0]))
    names = person_names(ctx)
    if df.empty:
        return section("actions", lang, f'<p class="empty">{p.esc(t("none", lang))}</p>')
    body = (f"<h3>{p.esc(t('open_actions', lang))}</h3>" + _open_table(ctx, df[df["group"] == "open"], names)
            + f"<h3>{p.esc(t('closed_actions', lang))}</h3>" + _closed_table(ctx, df[df["group"] == "closed"], names))
    return section("actions", lang, body)


# ---- the team review pack ---------------------------------------------------------------------------
def review_data(ctx: Any) -> dict[str, pd.DataFrame]:
    """What the review pack shows: deviations, drivers of them, the actions (report currency)."""
    acts = load_actions()
    dev = deviations(ctx.kind, ctx.engine_id, ctx.period, warehouse=ctx.warehouse, actions=acts,
                     as_of=period_bounds(ctx.period)[1])
    drv = []
    for (kind, eid), g in dev.groupby(["entity_kind", "entity_id"], sort=False):
        d = drivers(kind, eid or None, ctx.period, kpis=sorted(set(g["kpi"])), warehouse=ctx.warehouse)
        drv.append(d.assign(entity_kind=kind, entity_id=eid))
    drv_df = pd.concat(drv, ignore_index=True) if drv else pd.DataFrame(
        columns=["kpi", "driver", "value_a", "value_b", "contribution", "share", "rank", "kpi_value_a", "kpi_value_b",
                 "entity_kind", "entity_id"])
    dev = dev.copy()
    money = dev["kpi"].map(rd.kpi_unit) == "money"
    for c in ("target", "actual"):
        dev[c] = dev[c].astype(float)
        dev.loc[money, c] = dev.loc[money, c] / ctx.fx
    if len(drv_df):
        m_kpi = drv_df["kpi"].map(rd.kpi_unit) == "money"
        m_drv = drv_df["driver"].map(rd.kpi_unit) == "money"
        for c in ("contribution", "kpi_value_a", "kpi_value_b"):
            drv_df[c] = drv_df[c].astype(float)
            drv_df.loc[m_kpi, c] = drv_df.loc[m_kpi, c] / ctx.fx
        for c in ("value_a", "value_b"):
            drv_df[c] = drv_df[c].astype(float)
            drv_df.loc[m_drv, c] = drv_df.loc[m_drv, c] / ctx.fx
    return {"deviations": dev, "drivers": drv_df, "actions": actions_frame(ctx)}


def review_header(ctx: Any, data: dict[str, pd.DataFrame] | None = None) -> str:
    """Title, team (name and id), period and currency, the table-of-contents slot the runner fills, and the
    opening summary (the team's KPIs against target, incomplete figures, open alerts, actions due)."""
    lang = ctx.lang
    team = f"{ctx.name}（{ctx.entity_id}）" if lang == "zh" else f"{ctx.name} ({ctx.entity_id})"
    facts = [(t("team", lang), team), (t("period_label", lang), ctx.period), (t("currency", lang), ctx.currency)]
    title = f"{t('team_review', lang)} · {ctx.name}"
    sentences = p.summary_sentences(ctx, rd.kpi_status(ctx), None, rd.alerts(ctx))
    dev = (data or {}).get("deviations")
    if dev is not None and len(dev):
        sentences.insert(min(1, len(sentences)), _deviation_sentence(ctx, dev))
    acts = (data or {}).get("actions")
    if acts is not None and len(acts) and "status" in acts:
        open_ = acts[acts["status"] == "open"]
        n_open = len(open_)
        n_late = int(open_["overdue"].fillna(False).astype(bool).sum()) if "overdue" in open_ else 0
        if n_open and len(sentences) < 5:
            sentences.append(t("summary_actions", lang, n=n_open, late=n_late))
    return (p.print_header(f"{title} · {ctx.period}", lang) + p.header(title, facts) + p.TOC_SLOT
            + p.summary_block(sentences, ctx))


def _deviation_sentence(ctx: Any, dev: pd.DataFrame, top: int = 3) -> str:
    """'团队、所属店铺和成员中有 2 项指标红色或黄色：ActiveLife MY（SHP-MY-02）净利润（达成率 58%）…' (achievements
    recorded as figures)."""
    lang = ctx.lang
    names = person_names(ctx)
    d = dev.assign(_red=dev["status"] != "red").sort_values(["_red", "achievement"])
    items = []
    for r in d.head(top).itertuples():
        if pd.notna(r.achievement):
            ctx.record(f"{r.kpi}:achievement", float(r.achievement), unit="pct", period=str(r.period),
                       entity_kind=str(r.entity_kind), entity_id=str(r.entity_id), basis=None, source="kpi_status")
        items.append(t("summary_deviation_item", lang, entity=_entity(ctx, r.entity_kind, r.entity_id, names),
                       kpi=rd.kpi_name(r.kpi, lang), ach=p.fmt_pct(r.achievement, 0)))
    sep = "；" if lang == "zh" else "; "
    return t("summary_deviations", lang, n=len(dev), items=sep.join(items))


def deviations_section(ctx: Any, dev: pd.DataFrame) -> str:
    """Red/amber KPIs with actual, target, achievement and the actions already on them."""
    lang = ctx.lang
    if dev.empty:
        return section("deviations", lang, p.note(t("all_on_target", lang)))
    names = person_names(ctx)
    d = dev.copy()
    d["entity"] = [_entity(ctx, k, i, names) for k, i in zip(d["entity_kind"], d["entity_id"])]
    d["kpi_name"] = d["kpi"].map(lambda k: rd.kpi_name(k, lang))
    units = d["kpi"].map(rd.kpi_unit)
    d["act"] = [_fmt(ctx, v, u) for v, u in zip(d["actual"], units)]
    d["tgt"] = [_fmt(ctx, v, u) for v, u in zip(d["target"], units)]
    d["ach"] = d["achievement"].map(lambda v: p.fmt_pct(v, 0))
    d["badge"] = d["status"].map(lambda s: p.badge(s, lang))
    d["acts"] = [ids if ids else pill(t("needs_action", lang), "amber") for ids in d["action_ids"]]
    cols = [("entity", t("entity", lang)), ("kpi_name", t("kpi", lang)), ("period", t("period", lang)),
            ("act", t("actual", lang)), ("tgt", t("target", lang)), ("ach", t("achievement", lang)),
            ("badge", t("status", lang)), ("acts", t("has_action", lang))]
    body = p.note(t("deviations_note", lang)) + p.table(d, cols, raw=["badge", "acts"], lang=lang)
    return section("deviations", lang, body)


def _signed(ctx: Any, v: float, unit: str) -> str:
    if v is None or pd.isna(v):
        return p.DASH
    if unit == "pct":
        return f"{v * 100:+.1f}pp"
    s = _fmt(ctx, abs(v), unit)
    return ("+" if v >= 0 else "-") + s


def drivers_section(ctx: Any, dev: pd.DataFrame, drv: pd.DataFrame) -> str:
    """Per off-target KPI: prior month → this month and its largest drivers (contributions add up)."""
    lang = ctx.lang
    if dev.empty:
        return section("drivers", lang, p.note(t("all_on_target", lang)))
    names = person_names(ctx)
    rows = []
    for r in dev.drop_duplicates(["entity_kind", "entity_id", "kpi"]).itertuples():
        g = drv[(drv["entity_kind"] == r.entity_kind) & (drv["entity_id"] == r.entity_id) & (drv["kpi"] == r.kpi)]
        unit = rd.kpi_unit(r.kpi)
        if g.empty:
            text, a, b = t("no_breakdown", lang), np.nan, np.nan
        elif g["contribution"].isna().all():
            a, b = g["kpi_value_a"].iloc[0], g["kpi_value_b"].iloc[0]
            sep = "、" if lang == "zh" else ", "
            gaps = [rd.kpi_name(k.driver, lang) for k in g.itertuples() if pd.isna(k.value_a) or pd.isna(k.value_b)]
            text = t("split_incomplete", lang, items=sep.join(gaps) if gaps else p.DASH)
        else:
            a, b = g["kpi_value_a"].iloc[0], g["kpi_value_b"].iloc[0]
            parts = []
            for k in g.sort_values("rank").itertuples():
                du = rd.kpi_unit(k.driver)
                parts.append(f"{rd.kpi_name(k.driver, lang)} {_signed(ctx, k.contribution, unit)} "
                             f"({_fmt(ctx, k.value_a, du)} → {_fmt(ctx, k.value_b, du)})")
            text = "; ".join(parts)
        rows.append({"entity": _entity(ctx, r.entity_kind, r.entity_id, names), "kpi": rd.kpi_name(r.kpi, lang),
                     "a": _fmt(ctx, a, unit), "b": _fmt(ctx, b, unit), "drivers": text})
    cols = [("entity", t("entity", lang)), ("kpi", t("kpi", lang)), ("a", t("prior", lang)),
            ("b", t("this_month", lang)), ("drivers", t("top_drivers", lang))]
    return section("drivers", lang, p.note(t("drivers_note", lang)) + p.table(pd.DataFrame(rows), cols, lang=lang))


def last_review_section(ctx: Any, acts: pd.DataFrame) -> str:
    """The actions agreed in the last review: status, before → after, expected, result."""
    lang = ctx.lang
    names = person_names(ctx)
    d = acts[acts["last_review"]] if len(acts) else acts
    body = p.note(t("last_review_note", lang))
    if d.empty:
        return section("last_review", lang, body + f'<p class="empty">{p.esc(t("none", lang))}</p>')
    closed = d[d["group"] == "closed"]
    still = d[d["group"] == "open"]
    body += _closed_table(ctx, closed, names) if len(closed) else ""
    if len(still):
        body += f"<h3>{p.esc(t('open_actions', lang))}</h3>" + _open_table(ctx, still, names)
    return section("last_review", lang, body)


def open_actions_section(ctx: Any, acts: pd.DataFrame) -> str:
    """Actions open at the period's end that the last review did not agree (older or added since), overdue
    first, and the other actions closed in the period; the last review's own are in :func:`last_review_section`."""
    lang = ctx.lang
    names = person_names(ctx)
    mine = acts[~acts["last_review"]] if len(acts) else acts
    if mine.empty:  # "none" here would contradict the last review's open actions listed just above
        return section("new_open", lang, f'<p class="empty">{p.esc(t("none_other", lang))}</p>')
    body = _open_table(ctx, acts[(acts["group"] == "open") & ~acts["last_review"]], names)
    other = acts[(acts["group"] == "closed") & ~acts["last_review"]]
    if len(other):
        body += f"<h3>{p.esc(t('closed_actions', lang))}</h3>" + _closed_table(ctx, other, names)
    return section("new_open", lang, body)


def agenda_section(ctx: Any, dev: pd.DataFrame, acts: pd.DataFrame) -> str:
    """A short agenda: results of the last review's actions, overdue actions, KPIs still without an action."""
    lang = ctx.lang
    names = person_names(ctx)
    items = []
    last = acts[acts["last_review"]] if len(acts) else acts
    if len(last):
        done = last[last["status"] == "done"]
        items.append(t("agenda_results", lang, n=len(last), done=len(done),
                       good=int(done["result"].isin(["met", "improved"]).sum()),
                       bad=int(done["result"].isin(["not_met", "no_improvement"]).sum()),
                       dropped=int((last["status"] == "dropped").sum()), open=int((last["status"] == "open").sum())))
    late = acts[(acts["group"] == "open") & acts["overdue"]] if len(acts) else acts
    if len(late):
        sep = "、" if lang == "zh" else ", "
        items.append(t("agenda_overdue", lang, n=len(late), items=sep.join(
            f"{r.id} ({_person(ctx, r.owner, names)})" for r in late.itertuples())))
    else:
        items.append(t("agenda_no_overdue", lang))
    unc = dev[~dev["has_action"]] if len(dev) else dev
    if len(unc):
        sep = "、" if lang == "zh" else ", "
        items.append(t("agenda_uncovered", lang, items=sep.join(
            f"{_entity(ctx, r.entity_kind, r.entity_id, names)} {rd.kpi_name(r.kpi, lang)}" for r in unc.itertuples())))
    elif len(dev):
        items.append(t("agenda_all_covered", lang))
    items.append(t("agenda_next", lang))
    body = "<ol class=\"agenda\">" + "".join(f"<li>{p.esc(i)}</li>" for i in items) + "</ol>"
    return section("agenda", lang, body)


def review_footer(ctx: Any) -> str:
    """Data freshness (source names in the report language), snapshot hash and generation time."""
    return p.report_footer(ctx, rd.freshness(ctx))


__all__ = [
    "LABELS", "actions_frame", "actions_section", "agenda_section", "deviations_section", "drivers_section",
    "last_review_section", "open_actions_section", "review_data", "review_footer", "review_header",
]
