"""Report sections shared by the store, company, team and person reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .. import changes
from .. import report_data as rd
from ..errors import KpiError
from .blocks import TOC_SLOT, cards, footer, header, note, print_header, section, status_counts_html, table
from .charts import bar_chart, chart_or_note, has_values, line_chart, unit_title
from .fmt import (
    DASH,
    LABELS,
    badge,
    change_html,
    esc,
    fmt_change,
    fmt_incomplete,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_value,
    is_missing,
    missing_reason,
    pill,
    t,
)
from .words import (
    activity_name,
    adjustment_text,
    alert_kind_name,
    alert_sentence,
    alert_state_name,
    is_per_unit,
    kpi_name,
    kpi_unit,
    severity_name,
)

__all__ = ['activities_section', 'adjustments_section', 'alerts_section', 'coverage_notes', 'entity_label', 'headline_cards', 'kpi_block_section', 'kpi_status_section', 'lang_zh', 'ranking_section', 'red_flags_section', 'report_footer', 'report_header', 'sku_table', 'trend_section']














# ---- report sections (templates: ``show(section_fn(data, ctx))``) ------------------------------------
# ``ctx`` is a kpi_lib.report_data.ReportContext (lang, currency, period, name, kind, entity_id, snapshot).
def unit_formatter(ctx: Any, unit: str) -> Any:
    return lambda v: fmt_value(v, unit, ctx.currency, ctx.lang)


def money_formatter(ctx: Any) -> Any:
    return lambda v: fmt_money(v, ctx.currency, ctx.lang)


def record_figure(ctx: Any, kpi: str, value: Any, **kw: Any) -> None:
    """Record a shown figure on the report context (kpi_lib.report_data.ReportContext.record)."""
    rec = getattr(ctx, "record", None)
    if rec is not None:
        rec(kpi, value, **kw)


def cell_value(r: Mapping[str, Any], col: str, ctx: Any) -> str:
    """A status row's value formatted, or '— reason' when the figure is incomplete."""
    if col == "actual" and not bool(r.get("complete", True)) and is_missing(r.get("actual")):
        return fmt_incomplete(r.get("missing", ""), ctx.lang)
    txt = fmt_value(r.get(col), r.get("unit", "count"), ctx.currency, ctx.lang, per_unit=is_per_unit(r.get("kpi")))
    if col != "actual":
        return txt
    return with_coverage(txt, r.get("complete", True), r.get("stores_covered"), r.get("stores_total"))


def with_coverage(text: str, complete: Any, covered: Any, total: Any) -> str:
    """``text`` followed by the stores it covers when it is a roll-up over part of them ('¥1,093,032 (10/11)');
    the coverage note says which."""
    if not bool(complete) and not is_missing(covered) and not is_missing(total):
        return f"{text} ({int(covered)}/{int(total)})"
    return text


def _record_status(df: pd.DataFrame, ctx: Any, targets: bool = True) -> None:
    """Record the actual, prior-month, last-year and target figures of kpi_status rows."""
    for r in df.to_dict("records"):
        k, u, src = r["kpi"], r["unit"], r.get("source", "kpi_values")
        basis = r.get("basis", "order")
        record_figure(ctx, k, r["actual"], unit=u, basis=basis, complete=r.get("complete", True), source=src,
             stores_covered=r.get("stores_covered"), stores_total=r.get("stores_total"))
        if "prior_period" in r:
            record_figure(ctx, k, r["prior"], unit=u, basis=basis, period=r["prior_period"], source=src,
                 complete=r.get("prior_complete", True), stores_covered=r.get("prior_stores_covered"))
        if "yoy_period" in r and not is_missing(r.get("yoy_prior")):
            record_figure(ctx, k, r["yoy_prior"], unit=u, basis=basis, period=r["yoy_period"], source=src,
                 complete=r.get("yoy_complete", True), stores_covered=r.get("yoy_stores_covered"))
        if targets and not is_missing(r.get("target")):
            record_figure(ctx, f"{k}:target", r["target"], unit=u, basis=None, period=r.get("target_period") or ctx.period,
                 source="kpi_status")


def coverage_notes(df: pd.DataFrame, ctx: Any) -> str:
    """One line per roll-up KPI computed over only some stores (stores_covered < stores_total)."""
    if df is None or df.empty or "stores_covered" not in df:
        return ""
    out = []
    for r in df.to_dict("records"):
        c, n = r.get("stores_covered"), r.get("stores_total")
        if not is_missing(c) and not is_missing(n) and int(n) > 1 and int(c) < int(n):
            txt = (changes.coverage_text(str(r["kpi"]), int(c), int(n), str(r.get("missing") or ""), ctx.lang)
                   if "kpi" in r else "")
            out.append(txt or f'{r["name"]}: {int(c)}/{int(n)}')
    return "".join(f'<p class="note coverage">{esc(x)}</p>' for x in out)




def report_header(ctx: Any, report_key: str) -> str:
    """Title (report kind + entity name), period/currency line, and the table-of-contents placeholder."""
    kind_label = t(ctx.kind, ctx.lang)
    title = f"{t(report_key, ctx.lang)} · {ctx.name}"
    facts = [(t("period", ctx.lang), ctx.period), (t("currency", ctx.lang), ctx.currency)]
    if ctx.kind not in ("company",):
        ident = t("punct.paren", ctx.lang).format(text=ctx.name, note=ctx.entity_id)
        facts.insert(0, (kind_label, ident if ctx.name and ctx.name != ctx.entity_id else ctx.entity_id))
    running = f"{title} · {ctx.period}"
    return print_header(running, ctx.lang) + header(title, facts) + TOC_SLOT


def entity_label(ctx: Any, kind: str, entity_id: str) -> str:
    """'Amazon 美国 1 店（AMZ-US-01）': an entity's name beside its id (the company: its name)."""
    wh = getattr(ctx, "warehouse", None)
    try:
        name = rd.entity_name(wh, kind, entity_id, ctx.lang) if wh is not None else None
    except (KpiError, KeyError, OSError):
        name = None
    if kind == "company" or not entity_id:
        return name or t(kind, ctx.lang)
    if not name or name == entity_id:
        return f"{t(kind, ctx.lang)} {entity_id}"
    return t("punct.paren", ctx.lang).format(text=name, note=entity_id)


def lang_zh(ctx: Any) -> bool:
    return getattr(ctx, "lang", "zh") != "en"


def figure_text(v: Any, unit: str, ctx: Any, kpi: Any = None) -> str:
    """A KPI value in the report's language and currency; money per unit (CPC, AOV) with two decimals."""
    return fmt_value(v, unit, ctx.currency, ctx.lang, per_unit=is_per_unit(kpi))


def report_footer(ctx: Any, freshness: pd.DataFrame) -> str:
    return footer(freshness, ctx.snapshot, ctx.lang, ctx.generated)


def headline_cards(status: pd.DataFrame, ctx: Any, kpis: Sequence[str]) -> str:
    """Headline KPI cards; an incomplete KPI shows '— reason' and a grey badge, never a number."""
    rows = status.set_index("kpi")
    items = []
    for k in kpis:
        if k in rows.index:
            r = rows.loc[k].to_dict()
            r["kpi"] = k
            items.append((str(r["name"]), cell_value(r, "actual", ctx), r["status"]))
            record_figure(ctx, k, r["actual"], unit=r["unit"], basis=r.get("basis", "order"), complete=r.get("complete", True),
                 source=r.get("source", "kpi_values"), stores_covered=r.get("stores_covered"),
                 stores_total=r.get("stores_total"))
    return cards(items, ctx.lang)


def kpi_status_section(status: pd.DataFrame, ctx: Any, key: str = "kpi_status") -> str:
    """KPIs vs targets with pacing: actual, prior month and change, same month last year and change (when
    last year exists), target, expected-to-date, projection, status; coverage notes for partial roll-ups."""
    df = status.copy()
    lang = ctx.lang
    _record_status(df, ctx)
    recs = df.to_dict("records")
    df["actual"] = [cell_value(r, "actual", ctx) for r in recs]
    for c in ("prior", "yoy_prior", "target", "expected_to_date", "projection"):
        if c in df:
            df[c] = [figure_text(v, u, ctx, k) for v, u, k in zip(df[c], df["unit"], df["kpi"])]
    if "target_period" in df:  # a quarter's target: say so next to the figures that are the quarter's
        for c in ("target", "expected_to_date", "projection"):
            df[c] = [f"{v} ({tp})" if tp != ctx.period and v != DASH else v
                     for v, tp in zip(df[c], df["target_period"])]
    adjusted = df["adjusted"] if "adjusted" in df else [False] * len(df)
    df["badge"] = [badge(s, lang) + (" *" if a else "") for s, a in zip(df["status"], adjusted)]
    adj_note = note(t("adjusted_note", lang)) if any(bool(a) for a in adjusted) else ""
    df["ach"] = [fmt_pct(p if not is_missing(p) else a, 0) for p, a in zip(df["pace_achievement"], df["achievement"])]
    df["chg"] = [change_html(r.get("change"), r.get("change_unit", "%"), r.get("change_good")) for r in recs]
    cols = [("name", t("kpi", lang)), ("actual", t("actual", lang)), ("prior", t("prior", lang)),
            ("chg", t("change", lang))]
    raw = ["badge", "chg"]
    if "yoy_prior" in df and status["yoy_prior"].notna().any():
        df["yoy_chg"] = [change_html(r.get("yoy_change"), r.get("yoy_change_unit", "%"), r.get("yoy_change_good"))
                         for r in recs]
        cols += [("yoy_prior", t("yoy", lang)), ("yoy_chg", t("yoy_change", lang))]
        raw.append("yoy_chg")
    cols += [("target", t("target", lang)), ("expected_to_date", t("expected", lang)),
             ("projection", t("projection", lang)), ("ach", t("pace", lang)), ("badge", t("status", lang))]
    body = table(df, cols, raw=raw, lang=lang) + adj_note + coverage_notes(status, ctx)
    bases = sorted(set(status["basis"].dropna())) if "basis" in status else []
    basis_note = note(" · ".join(t(f"basis_{b}", lang) for b in bases)) if bases else ""
    return section(key, lang, basis_note + body)


def _record_trend(trend: pd.DataFrame, ctx: Any, kpis: Sequence[str]) -> None:
    units, meta = trend.attrs.get("units", {}), trend.attrs.get("meta", {})
    for rec in trend.to_dict("records"):
        for k in kpis:
            if k in rec:
                m = meta.get(f'{rec["period"]}|{k}', {})
                record_figure(ctx, k, rec[k], unit=units.get(k), period=str(rec["period"]), complete=m.get("complete", True),
                     stores_covered=m.get("stores_covered"), stores_total=m.get("stores_total"), source="kpi_values")


def trend_section(trend: pd.DataFrame, ctx: Any, key: str = "trends") -> str:
    """One line chart for money/count KPIs and one for percentages (12 months); incomplete months are gaps.

    ``trend`` = report_data.trend(): period + one column per KPI, names/units in ``trend.attrs``.
    """
    lang = ctx.lang
    names, units = trend.attrs.get("names", {}), trend.attrs.get("units", {})
    kpis = list(names)
    if trend.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    shown, yoy = _last_year_columns(trend, [k for k in kpis if k in trend])
    _record_trend(trend, ctx, kpis)  # every month drawn, the last-year line's months included
    amounts = {k: names[k] for k in kpis if units.get(k) in ("money", "count") and k in trend}
    ratios = {k: names[k] for k in kpis if units.get(k) in ("pct",) and k in trend}
    body = ""
    for ys, pct, tkey in ((amounts, False, "chart.trend_amounts"), (ratios, True, "chart.trend_rates")):
        if not ys:
            continue
        unit = "pct" if pct else ("money" if any(units.get(k) == "money" for k in ys) else "count")
        first = next(iter(ys))  # the first KPI's last-year line (one dotted line keeps the chart readable)
        ly = {f"{first}__ly": t("chart.last_year", lang).format(name=ys[first])} if yoy else {}
        vals = [v for k in ys for v in shown[k]]
        title = t(tkey, lang)
        fig = line_chart(shown, "period", ys, title=title, percent=pct, y_title=unit_title(unit, ctx.currency, lang),
                         yoy=ly, currency=ctx.currency if unit == "money" else None, lang=lang)
        body += chart_or_note(fig, vals, title, lang)
    return section(key, lang, body)


def _last_year_columns(trend: pd.DataFrame, kpis: Sequence[str], months: int = 12) -> tuple[pd.DataFrame, bool]:
    """The last ``months`` rows of a trend, with ``<kpi>__ly`` = the value 12 months earlier where the frame
    reaches back that far (templates ask report_data.trend for 24 months); whether any last-year value exists."""
    d = trend.reset_index(drop=True)
    shown = d.tail(months).reset_index(drop=True).copy()
    shown.attrs = dict(trend.attrs)
    by_period = {str(p): i for i, p in enumerate(d["period"].astype(str))}
    any_ly = False
    for k in kpis:
        ly = []
        for p in shown["period"].astype(str):
            y, mth = p.split("-")[0], p.split("-")[1]
            i = by_period.get(f"{int(y) - 1}-{mth}")
            ly.append(None if i is None else d.loc[i, k])
        shown[f"{k}__ly"] = ly
        any_ly = any_ly or has_values(ly)
    return shown, any_ly


def kpi_block_section(status: pd.DataFrame, ctx: Any, key: str, chart_trend: pd.DataFrame | None = None,
                      extra: str = "") -> str:
    """A small section: the KPIs' values this month vs prior (+ optional trend chart and extra HTML)."""
    lang = ctx.lang
    df = status.copy()
    _record_status(df, ctx)
    recs = df.to_dict("records")
    df["actual"] = [cell_value(r, "actual", ctx) for r in recs]
    for c in ("prior", "target"):
        df[c] = [figure_text(v, u, ctx, k) for v, u, k in zip(df[c], df["unit"], df["kpi"])]
    df["badge"] = [badge(s, lang) for s in df["status"]]
    df["chg"] = [change_html(r.get("change"), r.get("change_unit", "%"), r.get("change_good")) for r in recs]
    body = table(df, [("name", t("kpi", lang)), ("actual", t("actual", lang)), ("prior", t("prior", lang)),
                      ("chg", t("change", lang)), ("target", t("target", lang)), ("badge", t("status", lang))],
                 raw=["badge", "chg"], lang=lang) + coverage_notes(status, ctx)
    if chart_trend is not None:
        names, units = chart_trend.attrs.get("names", {}), chart_trend.attrs.get("units", {})
        ys = {k: names[k] for k in names if units.get(k) == "money" and k in chart_trend}
        _record_trend(chart_trend, ctx, list(ys))
        if ys:
            shown = chart_trend.tail(12).reset_index(drop=True)
            title = t("chart.ads_trend" if key == "ads" else "chart.trend_amounts", lang)
            fig = line_chart(shown, "period", ys, title=title, y_title=unit_title("money", ctx.currency, lang),
                             currency=ctx.currency, lang=lang)
            body += chart_or_note(fig, [v for k in ys for v in shown[k]], title, lang)
    return section(key, lang, body + extra)


def sku_table(df: pd.DataFrame, ctx: Any, columns: Sequence[tuple[str, str, str]]) -> str:
    """Per-SKU table: columns = [(column, label key or text, unit)]."""
    lang = ctx.lang
    fm = {c: unit_formatter(ctx, u) for c, _, u in columns if u}
    return table(df, [(c, t(h, lang) if h in LABELS else h) for c, h, _ in columns], fm, lang=lang)


def alerts_section(df: pd.DataFrame, ctx: Any, key: str = "alerts") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_alerts", lang))}</p>')
    d = df.copy()
    sev = {"high": "red", "medium": "amber", "low": "none"}
    d["sev"] = [pill(sev.get(str(s), "none"), severity_name(s, lang)) for s in d["severity"]]
    d["kind_name"] = [alert_kind_name(k, lang) for k in d.get("kind", [""] * len(d))]
    d["kpi_name"] = [kpi_name(k, lang) for k in d["kpi"]]
    d["sentence"] = [alert_sentence(r, lang, ctx.currency, ctx.fx) for r in d.to_dict("records")]
    d["state_name"] = [alert_state_name(s, lang) for s in d["state"]]
    for r in d.to_dict("records"):
        record_figure(ctx, f'alert:{r.get("kpi")}', r.get("value"), unit=kpi_unit(r.get("kpi")), period=str(r["period"]),
             entity_kind=str(r.get("entity_kind") or ctx.kind), entity_id=str(r.get("entity_id") or ""),
             basis=None, source="alerts")
    body = table(d, [("period", t("period", lang)), ("sev", t("severity", lang)), ("kind_name", t("kind", lang)),
                     ("kpi_name", t("kpi", lang)), ("sentence", t("message", lang)),
                     ("state_name", t("status", lang))], raw=["sev"], lang=lang)
    return section(key, lang, body)


def adjustments_section(df: pd.DataFrame, ctx: Any, key: str = "adjustments") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("none", lang))}</p>')
    d = df.copy()
    words = [adjustment_text(r, lang) for r in d.to_dict("records")]
    d["kind"] = [w[0] for w in words]
    d["kpi"] = [w[1] for w in words]
    d["span"] = [_adj_span(r) for r in d.to_dict("records")]
    if "who" in d:
        d["who"] = [entity_label(ctx, "person", str(w)) if w and not is_missing(w) else DASH for w in d["who"]]
    cols = [(c, t(c, lang)) for c in ("when", "who", "kind", "kpi") if c in d] + [("span", t("period", lang))]
    cols += [(c, t(c, lang)) for c in ("why",) if c in d]
    return section(key, lang, table(d, cols, lang=lang))


def _adj_span(r: Mapping[str, Any]) -> str:
    """The days or period an adjustment covers ('2026-03-01 – 2026-03-10', or the period)."""
    a, b = r.get("start"), r.get("end")
    if not is_missing(a) and not is_missing(b) and a and b:
        return f"{a} – {b}"
    per = r.get("period")
    return str(per) if per and not is_missing(per) else DASH


def activities_section(df: pd.DataFrame, ctx: Any, key: str = "activities") -> str:
    lang = ctx.lang
    d = df.copy() if df is not None else pd.DataFrame(columns=["kind", "count"])
    if len(d):
        d["kind_name"] = [activity_name(k, lang) for k in d["kind"]]
        for r in d.to_dict("records"):
            record_figure(ctx, f'activity:{r["kind"]}', r["count"], unit="count", basis=None, source="activities")
    body = table(d, [("kind_name", t("kind", lang)), ("count", t("count", lang))], {"count": fmt_number}, lang=lang)
    if len(d):
        title = t("chart.activities", lang)
        body += chart_or_note(bar_chart(list(d["kind_name"]), list(d["count"]), title=title,
                                        y_title=unit_title("count", ctx.currency, lang)), list(d["count"]), title, lang)
    return section(key, lang, body)



def ranking_section(df: pd.DataFrame, ctx: Any, key: str = "ranking") -> str:
    """Stores by GMV with net profit, margin and ACoS; a figure a store lacks data for is '— reason' and
    the store carries a grey 'incomplete' badge; status badges show only counts above zero."""
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    d = df.copy()
    for c in ("incomplete", "missing"):
        if c not in d:
            d[c] = ""
    for r in d.to_dict("records"):
        inc = set(filter(None, str(r["incomplete"]).split(",")))
        for k in ("gmv", "net_profit", "net_margin", "acos"):
            record_figure(ctx, k, r[k], entity_kind="store", entity_id=str(r["store_id"]), complete=k not in inc,
                 source="kpi_values", stores_covered=0 if is_missing(r[k]) else 1, stores_total=1)
    d["flags"] = [status_counts_html({s: r.get(s, 0) for s in ("red", "amber", "green", "incomplete")}, lang)
                  for r in d.to_dict("records")]
    name = [f"{n} ({s})" if isinstance(n, str) else s for n, s in zip(d.get("store_name", d["store_id"]), d["store_id"])]
    d["store"] = name
    fm = {"gmv": money_formatter(ctx), "net_profit": money_formatter(ctx), "net_margin": fmt_pct, "acos": fmt_pct}
    for c, f in fm.items():
        d[c] = [fmt_incomplete(m, lang) if c in str(i).split(",") and is_missing(v) else f(v)
                for v, i, m in zip(d[c], d["incomplete"], d["missing"])]
    d["store"] = [f"{esc(s)} {badge('incomplete', lang)}" if i else esc(s) for s, i in zip(d["store"], d["incomplete"])]
    d["gmv_chg"] = [fmt_change(v, "%") for v in d["gmv_change"]]
    tbl = table(d, [("store", t("store", lang)), ("gmv", "GMV"), ("gmv_chg", t("change", lang)),
                    ("net_profit", kpi_name("net_profit", lang)), ("net_margin", kpi_name("net_margin", lang)),
                    ("acos", "ACoS"),
                    ("flags", t("status", lang))], raw=["flags", "store"], lang=lang)
    title = t("chart.ranking", lang)
    labels = [str(n) if isinstance(n, str) and n else str(i) for n, i in zip(df.get("store_name", df["store_id"]),
                                                                           df["store_id"])]
    fig = bar_chart(labels, list(df["gmv"]), title=title, horizontal=True,
                    fmt=lambda v: fmt_money(v, ctx.currency, lang, compact=True),
                    y_title=unit_title("money", ctx.currency, lang), currency=ctx.currency, lang=lang)
    return section(key, lang, chart_or_note(fig, list(df["gmv"]), title, lang) + tbl)


def red_flags_section(df: pd.DataFrame, ctx: Any, key: str = "red_flags") -> str:
    """Red KPIs (worst first), then, per entity, the KPIs that could not be judged for lack of data (grey,
    with the missing sources) — a store missing from the red list for lack of data is named, not hidden."""
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("none", lang))}</p>')
    d = df.copy()
    if "status" not in d:
        d["status"] = "red"
    if "missing" not in d:
        d["missing"] = ""
    d["entity_id"] = d["entity_id"].fillna("").astype(str)
    for r in d.to_dict("records"):
        ek, eid = str(r["entity_kind"]), r["entity_id"]
        record_figure(ctx, str(r["kpi"]), r["actual"], entity_kind=ek, entity_id=eid, complete=r["status"] != "incomplete",
             source="kpi_status", stores_covered=r.get("stores_covered"), stores_total=r.get("stores_total"))
        if not is_missing(r["target"]):
            record_figure(ctx, f'{r["kpi"]}:target', r["target"], unit=r["unit"], entity_kind=ek, entity_id=eid, basis=None,
                 source="kpi_status")
    d["entity"] = [entity_label(ctx, str(k), i) for k, i in zip(d["entity_kind"], d["entity_id"])]
    red = d[d["status"] != "incomplete"].copy()
    body = ""
    if len(red):
        red["a"] = [figure_text(v, u, ctx, k) for v, u, k in zip(red["actual"], red["unit"], red["kpi"])]
        red["tg"] = [figure_text(v, u, ctx, k) for v, u, k in zip(red["target"], red["unit"], red["kpi"])]
        red["badge"] = [badge(s, lang) for s in red["status"]]
        body += table(red, [("entity", t("store", lang)), ("name", t("kpi", lang)), ("a", t("actual", lang)),
                            ("tg", t("target", lang)), ("achievement", t("achievement", lang)),
                            ("badge", t("status", lang))],
                      {"achievement": lambda v: fmt_pct(v, 0)}, raw=["badge"], lang=lang)
    else:
        body += f'<p class="empty">{esc(t("none", lang))}</p>'
    inc = d[d["status"] == "incomplete"]
    if len(inc):
        rows = []
        for ent, g in inc.groupby("entity", sort=False):
            sources = sorted({m.strip() for x in g["missing"] for m in str(x).split(",") if m.strip()})
            sep = t("punct.list", lang)
            rows.append({"entity": ent, "kpis": sep.join(dict.fromkeys(g["name"])),
                         "why": missing_reason(",".join(sources), lang) or t("incomplete_kpis", lang),
                         "badge": badge("incomplete", lang)})
        body += f'<h3>{esc(t("incomplete_kpis", lang))}</h3>' + table(
            pd.DataFrame(rows), [("entity", t("store", lang)), ("kpis", t("kpi", lang)), ("why", t("why", lang)),
                                 ("badge", t("status", lang))], raw=["badge"], lang=lang)
    return section(key, lang, body)

