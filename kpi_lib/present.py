"""Presentation helpers shared by every report template: formatting, badges, tables, charts, sections.

Templates never format a number or build HTML themselves; they call these functions, so zh/en labels,
money and percent formats, status colours and the chart theme are the same in every report. Every
text that comes from data (store, person, SKU names) goes through :func:`esc`, so a name like
``<script>`` is shown as text. Charts are emitted as a ``<div>`` plus a small inline script calling
``Plotly.newPlot``; plotly.js itself is added once per page by :mod:`kpi_lib.reports` (or once per
output folder with ``--bundle``), never from a CDN.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from . import changes
from .labels import catalog

LANGS = ("zh", "en")

# UI labels come from the one zh/en catalog (kpi_lib/labels/*.yaml); KPI names from the KPI catalog.
LABELS: dict[str, tuple[str, str]] = {k: (v["zh"], v["en"]) for k, v in catalog().items()
                                      if not k.startswith(("status.", "source."))}
STATUS_LABELS = {k.split(".", 1)[1]: (v["zh"], v["en"]) for k, v in catalog().items() if k.startswith("status.")}
STATUS_COLORS = {"green": "#1a7f37", "amber": "#b7791f", "red": "#c53030", "none": "#718096",
                 "incomplete": "#a0aec0"}
# what a missing source is called on the page ("缺少广告数据" / "no ads data")
SOURCE_LABELS: dict[str, tuple[str, str]] = {k.split(".", 1)[1]: (v["zh"], v["en"]) for k, v in catalog().items()
                                             if k.startswith("source.")}
GOOD_COLOR, BAD_COLOR = "#1a7f37", "#c53030"
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "SGD": "S$", "MYR": "RM",
                    "THB": "฿"}

# chart theme: one palette and layout for every plotly figure
PALETTE = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096", "#d69e2e"]
FONT = "-apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', Helvetica, Arial, sans-serif"


def t(key: str, lang: str = "zh") -> str:
    """The UI label ``key`` in ``lang`` (falls back to the key itself)."""
    zh, en = LABELS.get(key, (key, key))
    return en if lang == "en" else zh


def esc(value: Any) -> str:
    """HTML-escape any value shown in a report (names come from data and are never trusted)."""
    return html.escape("" if value is None else str(value), quote=True)


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v)) or (isinstance(v, float) and math.isinf(v))
    except (TypeError, ValueError):
        return False


DASH = "–"
DASH_INCOMPLETE = "—"


def fmt_number(v: Any, digits: int = 0, lang: str = "zh") -> str:
    """Thousands-separated number; large values abbreviated (万/亿 in zh, k/M in en) only on request."""
    if _missing(v):
        return DASH
    return f"{float(v):,.{digits}f}"


def fmt_money(v: Any, currency: str = "CNY", lang: str = "zh", digits: int = 0, compact: bool = False) -> str:
    """Money with the currency symbol (or code); ``compact`` gives 12.3万 / 123.4k."""
    if _missing(v):
        return DASH
    x = float(v)
    sym = CURRENCY_SYMBOLS.get(currency, currency + " ")
    sign = "-" if x < 0 else ""
    x = abs(x)
    if compact:
        if lang == "zh":
            if x >= 1e8:
                return f"{sign}{sym}{x / 1e8:.2f}亿"
            if x >= 1e4:
                return f"{sign}{sym}{x / 1e4:.1f}万"
        else:
            if x >= 1e6:
                return f"{sign}{sym}{x / 1e6:.2f}M"
            if x >= 1e3:
                return f"{sign}{sym}{x / 1e3:.1f}k"
    return f"{sign}{sym}{x:,.{digits}f}"


def fmt_pct(v: Any, digits: int = 1, signed: bool = False) -> str:
    if _missing(v):
        return DASH
    return f"{float(v):+.{digits}%}" if signed else f"{float(v):.{digits}%}"


def fmt_value(v: Any, unit: str, currency: str = "CNY", lang: str = "zh") -> str:
    """Format a KPI value by its catalog unit (money, count, pct, ratio, days, hours)."""
    if _missing(v):
        return DASH
    if unit == "money":
        return fmt_money(v, currency, lang)
    if unit == "pct":
        return fmt_pct(v)
    if unit == "count":
        return fmt_number(v)
    if unit == "ratio":
        return f"{float(v):,.2f}×"
    if unit == "days":
        return f"{float(v):,.1f}" + (" 天" if lang == "zh" else " d")
    if unit == "hours":
        return f"{float(v):,.1f}" + (" 小时" if lang == "zh" else " h")
    return fmt_number(v, 2)


def missing_reason(missing: Any, lang: str = "zh") -> str:
    """'缺少广告、流量数据' / 'no ads, traffic data' for the engine's missing sources ('' when none named)."""
    if missing is None or (isinstance(missing, float) and math.isnan(missing)):
        return ""
    items = missing if isinstance(missing, (list, tuple, set)) else str(missing).replace(";", ",").split(",")
    names = [SOURCE_LABELS.get(str(m).strip(), (str(m).strip(), str(m).strip()))[1 if lang == "en" else 0]
             for m in items if str(m).strip()]
    names = list(dict.fromkeys(names))
    if not names:
        return ""
    return ("缺少" + "、".join(names) + "数据") if lang == "zh" else ("no " + ", ".join(names) + " data")


def fmt_incomplete(missing: Any = "", lang: str = "zh") -> str:
    """An incomplete figure: a dash and the reason ("— 缺少广告数据"), never a number computed with zeros."""
    r = missing_reason(missing, lang)
    return f"{DASH_INCOMPLETE} {r}" if r else DASH_INCOMPLETE + (" 数据不全" if lang == "zh" else " incomplete")


def fmt_change(delta: Any, unit: str = "%", digits: int = 1) -> str:
    """A change as kpi_lib.changes gives it: '+2.1 pp' (delta in points) for rates, '+0.42 x' for ratios,
    '+17.0%' (delta a fraction) for money and counts; never '-0.0'."""
    if _missing(delta):
        return DASH
    d = float(delta)
    if unit == "pp":
        return f"{0.0 if round(d, digits) == 0 else d:+.{digits}f} pp"
    if unit == "x":
        return f"{0.0 if round(d, 2) == 0 else d:+.2f} x"
    return fmt_pct(0.0 if round(d * 100, digits) == 0 else d, digits, signed=True)


def change_html(delta: Any, unit: str, good: Any) -> str:
    """fmt_change coloured by the KPI's direction (green good, red bad, plain when unchanged/unknown)."""
    txt = esc(fmt_change(delta, unit))
    if good is None or _missing(delta) or (isinstance(good, float) and math.isnan(good)):
        return txt
    return f'<span class="chg {"good" if good else "bad"}" style="color:{GOOD_COLOR if good else BAD_COLOR}">{txt}</span>'


def badge(status: Any, lang: str = "zh") -> str:
    """A red/amber/green pill for a status (unknown → grey 'no target')."""
    s = str(status) if str(status) in STATUS_COLORS else "none"
    zh, en = STATUS_LABELS[s]
    return (f'<span class="badge badge-{s}" style="background:{STATUS_COLORS[s]}">'
            f"{esc(en if lang == 'en' else zh)}</span>")


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "section"


# ---- HTML building -------------------------------------------------------------------------------
def table(df: pd.DataFrame, columns: Sequence[tuple[str, str]] | None = None,
          formats: Mapping[str, Any] | None = None, raw: Iterable[str] = (), cls: str = "kpi-table",
          lang: str = "zh", max_rows: int | None = None) -> str:
    """An HTML table; ``columns`` = [(column, header)], ``formats`` = {column: callable(value) -> str}.

    Values are escaped unless their column is listed in ``raw`` (used for badges built by this
    module). An empty frame shows 'no data'.
    """
    if df is None or len(df) == 0:
        return f'<p class="empty">{esc(t("no_data", lang))}</p>'
    columns = list(columns or [(c, c) for c in df.columns])
    formats = dict(formats or {})
    raw = set(raw)
    rows = df if max_rows is None else df.head(max_rows)
    out = [f'<table class="{cls}"><thead><tr>']
    for c, h in columns:
        out.append(f"<th>{esc(h)}</th>")
    out.append("</tr></thead><tbody>")
    for rec in rows.to_dict("records"):
        out.append("<tr>")
        for c, _ in columns:
            v = rec.get(c)
            f = formats.get(c)
            s = f(v) if f else (DASH if _missing(v) else str(v))
            num = c not in raw and bool(_NUMERIC.match(s))
            out.append(f'<td class="{"num" if num else ""}">{s if c in raw else esc(s)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


_NUMERIC = re.compile(r"^[-+]?(?:[^\w\s]{1,3}|[A-Z]{2,3} |RM)?[-+]?\d[\d,.]*\s?(?:%|pp|×|万|亿|k|M|天|小时|d|h)?$")


def kv_table(items: Sequence[tuple[str, str]]) -> str:
    """A two-column label/value table (both escaped)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    return f'<table class="kv-table"><tbody>{body}</tbody></table>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


# ---- charts ------------------------------------------------------------------------------------
def style_figure(fig: Any, title: str | None = None, height: int = 320) -> Any:
    """Apply the shared chart theme to a plotly figure (in place) and return it."""
    fig.update_layout(
        template="plotly_white", colorway=PALETTE, height=height, margin={"l": 50, "r": 20, "t": 40 if title else 20, "b": 40},
        font={"family": FONT, "size": 12}, legend={"orientation": "h", "y": -0.2}, title={"text": title} if title else None,
    )
    return fig


_chart_seq = 0


def chart_html(fig: Any, div_id: str | None = None) -> str:
    """A figure as a div plus an inline script calling Plotly.newPlot (plotly.js is added by the page).

    The figure JSON is made safe for embedding in a <script> element (``<``, ``>``, ``&`` escaped as
    unicode), so a name such as ``</script><script>`` inside chart data cannot break out.
    """
    global _chart_seq
    _chart_seq += 1
    div_id = div_id or f"chart-{_chart_seq}"
    spec = fig.to_plotly_json()
    payload = json.dumps({"data": spec.get("data", []), "layout": spec.get("layout", {})},
                         cls=_PlotlyEncoder, ensure_ascii=False)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    # kpiPlot (defined by the page) defers drawing until plotly.js is loaded
    return (f'<div class="chart" id="{div_id}"></div><script type="text/javascript">'
            f'(window.kpiPlot||function(f){{f();}})(function(){{var s={payload};Plotly.newPlot("{div_id}",s.data,'
            f's.layout,{{displaylogo:false,responsive:true}});}});</script>')


class _PlotlyEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        try:
            from plotly.utils import PlotlyJSONEncoder

            return PlotlyJSONEncoder().default(o)
        except TypeError:
            return str(o)


def line_chart(df: pd.DataFrame, x: str, ys: Mapping[str, str], title: str | None = None,
               percent: bool = False) -> Any:
    """A styled line chart; ``ys`` = {column: legend label}."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for col, label in ys.items():
        if col in df:
            fig.add_trace(go.Scatter(x=list(df[x].astype(str)), y=[None if _missing(v) else float(v) for v in df[col]],
                                     mode="lines+markers", name=label))
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return style_figure(fig, title)


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str | None = None, horizontal: bool = False,
              percent: bool = False) -> Any:
    import plotly.graph_objects as go

    vals = [None if _missing(v) else float(v) for v in values]
    colors = [PALETTE[0] if (v or 0) >= 0 else STATUS_COLORS["red"] for v in vals]
    if horizontal:
        fig = go.Figure(go.Bar(y=list(labels), x=vals, orientation="h", marker_color=colors))
        fig.update_yaxes(autorange="reversed")
    else:
        fig = go.Figure(go.Bar(x=list(labels), y=vals, marker_color=colors))
    if percent:
        (fig.update_xaxes if horizontal else fig.update_yaxes)(tickformat=".0%")
    return style_figure(fig, title, height=max(320, 26 * len(vals) + 80) if horizontal else 320)


def waterfall_chart(labels: Sequence[str], values: Sequence[float], measures: Sequence[str] | None = None,
                    title: str | None = None) -> Any:
    """A waterfall; ``measures`` per bar: 'absolute', 'relative' or 'total'."""
    import plotly.graph_objects as go

    vals = [0.0 if _missing(v) else float(v) for v in values]
    fig = go.Figure(go.Waterfall(
        x=list(labels), y=vals, measure=list(measures or ["relative"] * len(vals)),
        increasing={"marker": {"color": STATUS_COLORS["green"]}},
        decreasing={"marker": {"color": STATUS_COLORS["red"]}},
        totals={"marker": {"color": PALETTE[0]}}, connector={"line": {"color": "#a0aec0"}},
    ))
    return style_figure(fig, title, height=360)


# ---- page parts (displayed from templates) -------------------------------------------------------
def show(html_text: str) -> None:
    """Display raw HTML as the cell's output (templates only call this through the helpers below)."""
    from IPython.display import HTML, display

    display(HTML(html_text))


def section(key_or_title: str, lang: str = "zh", body: str = "") -> str:
    """An <h2> section (the runner builds the table of contents from these) followed by ``body``."""
    title = t(key_or_title, lang) if key_or_title in LABELS else key_or_title
    return f'<h2 id="{slug(key_or_title)}" class="section">{esc(title)}</h2>{body}'


def unavailable(lang: str, reason: str = "") -> str:
    """Shown in place of a section whose engine function is missing or has no data."""
    return f'<p class="unavailable">{esc(t("unavailable", lang))}{(": " + esc(reason)) if reason else ""}</p>'


def header(title: str, subtitle_items: Sequence[tuple[str, str]]) -> str:
    """The report title (<h1>) and a line of facts (period, currency…)."""
    facts = " · ".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in subtitle_items)
    return f'<h1 class="report-title">{esc(title)}</h1><p class="subtitle">{facts}</p>'


def footer(freshness: pd.DataFrame, snapshot: str, lang: str = "zh", generated: dt.datetime | None = None) -> str:
    """Data freshness per source (latest date, rows), the warehouse snapshot hash and generation time."""
    gen = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    tbl = table(freshness, [("source", t("source", lang)), ("latest_date", t("latest_date", lang)),
                            ("rows", t("rows", lang))], {"rows": fmt_number}, lang=lang, cls="kpi-table small")
    facts = kv_table([(t("snapshot", lang), snapshot or DASH), (t("generated", lang), gen)])
    return (f'<footer class="report-footer"><h2 id="footer" class="section">{esc(t("footer", lang))}</h2>'
            f'<h3>{esc(t("freshness", lang))}</h3>{tbl}{facts}</footer>')


PAGE_CSS = """
body{font-family:-apple-system,'Segoe UI','Noto Sans CJK SC','Microsoft YaHei',Helvetica,Arial,sans-serif;
 color:#1a202c;margin:0;background:#f7fafc}
main.report{max-width:1100px;margin:0 auto;padding:24px 32px 48px;background:#fff}
h1.report-title{font-size:26px;margin:8px 0 4px}p.subtitle{color:#4a5568;margin:0 0 16px}
h2.section{font-size:19px;border-bottom:2px solid #e2e8f0;padding-bottom:4px;margin-top:32px}
nav.toc{background:#edf2f7;padding:10px 16px;border-radius:6px;margin:12px 0 20px}
nav.toc ol{margin:4px 0;padding-left:20px}nav.toc a{color:#2b6cb0;text-decoration:none}
table.kpi-table,table.kv-table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13px}
table.kpi-table th,table.kpi-table td,table.kv-table th,table.kv-table td{padding:5px 8px;border-bottom:1px solid #e2e8f0;
 text-align:left}
table.kpi-table th{background:#f7fafc;font-weight:600}table.kpi-table td.num{text-align:right;
 font-variant-numeric:tabular-nums}
table.kv-table th{width:30%;color:#4a5568;font-weight:500}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:1px 9px;font-size:12px;white-space:nowrap}
.chart{width:100%;min-height:300px}p.note,p.empty,p.unavailable{color:#718096;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px}.card{flex:1 1 160px;border:1px solid #e2e8f0;
 border-radius:8px;padding:10px 14px}.card .label{color:#718096;font-size:12px}.card .value{font-size:20px;font-weight:600}
footer.report-footer{margin-top:40px;color:#4a5568;font-size:12px}
.jp-OutputArea-output pre{display:none}
"""


def cards(items: Sequence[tuple[str, str, str | None]], lang: str = "zh") -> str:
    """Headline figures as cards: (label, formatted value, optional status)."""
    out = ['<div class="cards">']
    for label, value, status in items:
        b = f" {badge(status, lang)}" if status and status != "none" else ""
        out.append(f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}{b}</div></div>')
    out.append("</div>")
    return "".join(out)


# ---- report sections (templates: ``show(section_fn(data, ctx))``) ------------------------------------
# ``ctx`` is a kpi_lib.report_data.ReportContext (lang, currency, period, name, kind, entity_id, snapshot).
def _fmt(ctx: Any, unit: str) -> Any:
    return lambda v: fmt_value(v, unit, ctx.currency, ctx.lang)


def _money(ctx: Any) -> Any:
    return lambda v: fmt_money(v, ctx.currency, ctx.lang)


def _rec(ctx: Any, kpi: str, value: Any, **kw: Any) -> None:
    """Record a shown figure on the report context (kpi_lib.report_data.ReportContext.record)."""
    rec = getattr(ctx, "record", None)
    if rec is not None:
        rec(kpi, value, **kw)


def _val(r: Mapping[str, Any], col: str, ctx: Any) -> str:
    """A status row's value formatted, or '— reason' when the figure is incomplete."""
    if col == "actual" and not bool(r.get("complete", True)) and _missing(r.get("actual")):
        return fmt_incomplete(r.get("missing", ""), ctx.lang)
    txt = fmt_value(r.get(col), r.get("unit", "count"), ctx.currency, ctx.lang)
    c, n = r.get("stores_covered"), r.get("stores_total")
    if col == "actual" and not bool(r.get("complete", True)) and not _missing(c) and not _missing(n):
        txt += f" ({int(c)}/{int(n)})"  # a roll-up over part of the stores: the coverage note says which
    return txt


def _record_status(df: pd.DataFrame, ctx: Any, targets: bool = True) -> None:
    """Record the actual, prior-month, last-year and target figures of kpi_status rows."""
    for r in df.to_dict("records"):
        k, u, src = r["kpi"], r["unit"], r.get("source", "kpi_values")
        basis = r.get("basis", "order")
        _rec(ctx, k, r["actual"], unit=u, basis=basis, complete=r.get("complete", True), source=src,
             stores_covered=r.get("stores_covered"), stores_total=r.get("stores_total"))
        if "prior_period" in r:
            _rec(ctx, k, r["prior"], unit=u, basis=basis, period=r["prior_period"], source=src,
                 complete=r.get("prior_complete", True), stores_covered=r.get("prior_stores_covered"))
        if "yoy_period" in r and not _missing(r.get("yoy_prior")):
            _rec(ctx, k, r["yoy_prior"], unit=u, basis=basis, period=r["yoy_period"], source=src,
                 complete=r.get("yoy_complete", True), stores_covered=r.get("yoy_stores_covered"))
        if targets and not _missing(r.get("target")):
            _rec(ctx, f"{k}:target", r["target"], unit=u, basis=None, period=r.get("target_period") or ctx.period,
                 source="kpi_status")


def coverage_notes(df: pd.DataFrame, ctx: Any) -> str:
    """One line per roll-up KPI computed over only some stores (stores_covered < stores_total)."""
    if df is None or df.empty or "stores_covered" not in df:
        return ""
    out = []
    for r in df.to_dict("records"):
        c, n = r.get("stores_covered"), r.get("stores_total")
        if not _missing(c) and not _missing(n) and int(n) > 1 and int(c) < int(n):
            txt = (changes.coverage_text(str(r["kpi"]), int(c), int(n), str(r.get("missing") or ""), ctx.lang)
                   if "kpi" in r else "")
            out.append(txt or f'{r["name"]}: {int(c)}/{int(n)}')
    return "".join(f'<p class="note coverage">{esc(x)}</p>' for x in out)


TOC_SLOT = '<div class="toc-slot"></div>'  # replaced by the runner with the table of contents


def report_header(ctx: Any, report_key: str) -> str:
    """Title (report kind + entity name), period/currency line, and the table-of-contents placeholder."""
    kind_label = t(ctx.kind, ctx.lang)
    title = f"{t(report_key, ctx.lang)} · {ctx.name}"
    facts = [(t("period", ctx.lang), ctx.period), (t("currency", ctx.lang), ctx.currency)]
    if ctx.kind not in ("company",):
        facts.insert(0, (kind_label, ctx.entity_id))
    return header(title, facts) + TOC_SLOT


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
            items.append((str(r["name"]), _val(r, "actual", ctx), r["status"]))
            _rec(ctx, k, r["actual"], unit=r["unit"], basis=r.get("basis", "order"), complete=r.get("complete", True),
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
    df["actual"] = [_val(r, "actual", ctx) for r in recs]
    for c in ("prior", "yoy_prior", "target", "expected_to_date", "projection"):
        if c in df:
            df[c] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(df[c], df["unit"])]
    if "target_period" in df:  # a quarter's target: say so next to the figures that are the quarter's
        for c in ("target", "expected_to_date", "projection"):
            df[c] = [f"{v} ({tp})" if tp != ctx.period and v != DASH else v
                     for v, tp in zip(df[c], df["target_period"])]
    adjusted = df["adjusted"] if "adjusted" in df else [False] * len(df)
    df["badge"] = [badge(s, lang) + (" *" if a else "") for s, a in zip(df["status"], adjusted)]
    df["ach"] = [fmt_pct(p if not _missing(p) else a, 0) for p, a in zip(df["pace_achievement"], df["achievement"])]
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
    body = table(df, cols, raw=raw, lang=lang) + coverage_notes(status, ctx)
    bases = sorted(set(status["basis"].dropna())) if "basis" in status else []
    basis_note = note(" · ".join(t(f"basis_{b}", lang) for b in bases)) if bases else ""
    return section(key, lang, basis_note + body)


def _record_trend(trend: pd.DataFrame, ctx: Any, kpis: Sequence[str]) -> None:
    units, meta = trend.attrs.get("units", {}), trend.attrs.get("meta", {})
    for rec in trend.to_dict("records"):
        for k in kpis:
            if k in rec:
                m = meta.get(f'{rec["period"]}|{k}', {})
                _rec(ctx, k, rec[k], unit=units.get(k), period=str(rec["period"]), complete=m.get("complete", True),
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
    _record_trend(trend, ctx, kpis)
    amounts = {k: names[k] for k in kpis if units.get(k) in ("money", "count") and k in trend}
    ratios = {k: names[k] for k in kpis if units.get(k) in ("pct",) and k in trend}
    body = ""
    if amounts:
        body += chart_html(line_chart(trend, "period", amounts))
    if ratios:
        body += chart_html(line_chart(trend, "period", ratios, percent=True))
    return section(key, lang, body)


def attribution_section(attr: pd.DataFrame, ctx: Any, key: str = "attribution") -> str:
    """Waterfall from the prior month's value to this month's, one bar per driver, plus the node table."""
    lang = ctx.lang
    if attr is None or attr.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    root = attr.iloc[0]
    kids = attr[(attr["parent"] == root["node"]) & attr["contribution"].notna()]
    labels = [f'{root["name"]} {ctx.prior()}', *kids["name"], f'{root["name"]} {ctx.period}']
    vals = [root["value_a"], *kids["contribution"], root["value_b"]]
    fig = waterfall_chart(labels, vals, ["absolute", *(["relative"] * len(kids)), "total"])
    if root.get("unit") == "pct":
        fig.update_yaxes(tickformat=".1%")
    df = attr[attr["contribution"].notna()].copy()
    for r in df.to_dict("records"):
        for side, per in (("a", ctx.prior()), ("b", ctx.period)):
            _rec(ctx, str(r["kpi"]), r[f"value_{side}"], unit=r["unit"], period=per, source="tree.attribute",
                 complete=r.get(f"complete_{side}", True), stores_covered=r.get(f"stores_covered_{side}"),
                 stores_total=r.get(f"stores_total_{side}"))
    tbl = _attr_table(df, ctx, str(root.get("root_unit", "money")))
    return section(key, lang, note(t("attribution_note", lang)) + chart_html(fig) + tbl)


def _attr_table(df: pd.DataFrame, ctx: Any, root_unit: str) -> str:
    lang = ctx.lang
    d = df.copy()
    d["a"] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(d["value_a"], d["unit"])]
    d["b"] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(d["value_b"], d["unit"])]
    return table(d, [("name", t("node", lang)), ("a", t("prior", lang)), ("b", t("actual", lang)),
                     ("contribution", t("contribution", lang)), ("share", t("share", lang))],
                 {"contribution": _fmt(ctx, root_unit), "share": lambda v: fmt_pct(v, 0)}, lang=lang)


def kpi_block_section(status: pd.DataFrame, ctx: Any, key: str, chart_trend: pd.DataFrame | None = None,
                      extra: str = "") -> str:
    """A small section: the KPIs' values this month vs prior (+ optional trend chart and extra HTML)."""
    lang = ctx.lang
    df = status.copy()
    _record_status(df, ctx)
    recs = df.to_dict("records")
    df["actual"] = [_val(r, "actual", ctx) for r in recs]
    for c in ("prior", "target"):
        df[c] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(df[c], df["unit"])]
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
            body += chart_html(line_chart(chart_trend, "period", ys))
    return section(key, lang, body + extra)


def sku_table(df: pd.DataFrame, ctx: Any, columns: Sequence[tuple[str, str, str]]) -> str:
    """Per-SKU table: columns = [(column, label key or text, unit)]."""
    lang = ctx.lang
    fm = {c: _fmt(ctx, u) for c, _, u in columns if u}
    return table(df, [(c, t(h, lang) if h in LABELS else h) for c, h, _ in columns], fm, lang=lang)


def alerts_section(df: pd.DataFrame, ctx: Any, key: str = "alerts") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_alerts", lang))}</p>')
    d = df.copy()
    sev = {"high": "red", "medium": "amber", "low": "none"}
    d["sev"] = [badge(sev.get(str(s), "none"), lang).replace(">" + esc(STATUS_LABELS[sev.get(str(s), "none")][
        1 if lang == "en" else 0]) + "<", ">" + esc(str(s)) + "<") for s in d["severity"]]
    d["kpi_name"] = d["kpi"].astype(str)
    body = table(d, [("period", t("period", lang)), ("sev", t("severity", lang)), ("kpi_name", t("kpi", lang)),
                     ("message", t("message", lang)), ("state", t("status", lang))], raw=["sev"], lang=lang)
    return section(key, lang, body)


def adjustments_section(df: pd.DataFrame, ctx: Any, key: str = "adjustments") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("none", lang))}</p>')
    cols = [(c, t(c, lang)) for c in ("id", "when", "who", "kind", "kpi", "why") if c in df]
    return section(key, lang, table(df, cols, lang=lang))


def activities_section(df: pd.DataFrame, ctx: Any, key: str = "activities") -> str:
    lang = ctx.lang
    body = table(df, [("kind", t("kind", lang)), ("count", t("count", lang))], {"count": fmt_number}, lang=lang)
    if df is not None and len(df):
        body += chart_html(bar_chart(list(df["kind"]), list(df["count"])))
    return section(key, lang, body)


def waterfall_section(df: pd.DataFrame, ctx: Any, key: str = "waterfall") -> str:
    """GMV → net profit waterfall chart (subtotals as totals) and the step table with % of net sales.

    The basis (order or posted date) is named; an incomplete line shows '— reason' in the table.
    """
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    basis = str(df["basis"].iloc[0]) if "basis" in df else "order"
    d = df.copy()
    if "complete" not in d:
        d["complete"], d["missing"] = True, ""
    for r in d.to_dict("records"):  # costs are drawn negative; the figure is the cost itself (positive)
        _rec(ctx, str(r.get("kpi") or r["step"]), -r["amount"] if r["kind"] == "cost" else r["amount"], unit="money",
             basis=basis, complete=r["complete"], source="costs.waterfall", stores_covered=r.get("stores_covered"),
             stores_total=r.get("stores_total"))
    measures = ["absolute" if i == 0 else ("total" if k in ("subtotal", "total") else "relative")
                for i, k in enumerate(d["kind"])]
    fig = waterfall_chart(list(d["name"]), list(d["amount"]), measures)
    d["amt"] = [fmt_incomplete(m, lang) if _missing(a) else fmt_money(a, ctx.currency, lang)
                for a, m in zip(d["amount"], d["missing"])]
    d["pct"] = [fmt_pct(v) for v in d["pct_of_net_sales"]]
    tbl = table(d, [("name", t("kpi", lang)), ("amt", t("value", lang)), ("pct", "% " + (
        "净销售额" if lang == "zh" else "of net sales"))], lang=lang)
    cov = ""
    c, n = (d["stores_covered"].iloc[0], d["stores_total"].iloc[0]) if "stores_covered" in d else (None, None)
    if not _missing(c) and not _missing(n) and int(n) > 1 and int(c) < int(n):
        reason = missing_reason(d["missing"].iloc[0], lang)
        cov = note(f"成本瀑布只计入数据完整的店铺：{int(n)} 家店铺中 {int(c)} 家（其余{reason}）" if lang == "zh" else
                   f"The waterfall covers the stores with complete data: {int(c)} of {int(n)} ({reason} for the others)")
        every = df.attrs.get("all_stores", {})
        meta = df.attrs.get("all_stores_meta", {})
        if "net_sales" in every and not _missing(every["net_sales"]):
            m = meta.get("net_sales", {})
            _rec(ctx, "net_sales", every["net_sales"], unit="money", basis=basis, complete=m.get("complete", True),
                 stores_covered=m.get("stores_covered"), stores_total=m.get("stores_total"), source="kpi_values")
            ns = fmt_money(every["net_sales"], ctx.currency, lang)
            cov += note(f"全部 {int(n)} 家店铺的净销售额为 {ns}（与其他报告一致）；其中未计入瀑布的店铺净销售额为 "
                        f"{fmt_money(every['net_sales'] - float(d.loc[d['step'] == 'net_sales', 'amount'].iloc[0]), ctx.currency, lang)}。"
                        if lang == "zh" else
                        f"Net sales of all {int(n)} stores: {ns} (as in the other reports); the stores left out of the "
                        f"waterfall account for {fmt_money(every['net_sales'] - float(d.loc[d['step'] == 'net_sales', 'amount'].iloc[0]), ctx.currency, lang)}.")
    return section(key, lang, note(t(f"basis_{basis}", lang)) + cov + chart_html(fig) + tbl)


def bridge_section(df: pd.DataFrame, ctx: Any, key: str = "basis_bridge") -> str:
    """Order-basis net profit → timing differences → posted-basis net profit (rows add up)."""
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    for r in df.to_dict("records"):
        if r["kind"] in ("start", "end"):
            _rec(ctx, "net_profit", r["amount"], unit="money", basis="order" if r["kind"] == "start" else "posted",
                 complete=r.get("complete", True), stores_covered=r.get("stores_covered"),
                 stores_total=r.get("stores_total"), source="costs.basis_bridge")
        else:
            _rec(ctx, f'bridge:{r["item"]}', r["amount"], unit="money", basis=None, source="costs.basis_bridge")
    measures = ["absolute" if k == "start" else ("total" if k == "end" else "relative") for k in df["kind"]]
    fig = waterfall_chart(list(df["name"]), list(df["amount"]), measures)
    tbl = table(df, [("name", t("kpi", lang)), ("amount", t("value", lang))], {"amount": _money(ctx)}, lang=lang)
    return section(key, lang, note(t("bridge_note", lang)) + chart_html(fig) + tbl)


def unit_economics_section(df: pd.DataFrame, ctx: Any, key: str = "unit_economics") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("none" if key == "loss_skus" else "no_data", lang))}</p>')
    ek = "sku" if ctx.kind == "company" else f"{ctx.kind}/sku"
    for r in df.to_dict("records"):
        eid = str(r["sku"]) if ctx.kind == "company" else f'{ctx.entity_id}/{r["sku"]}'
        for k in ("net_sales", "contribution"):
            if k in r:
                _rec(ctx, k, r[k], unit="money", entity_kind=ek, entity_id=eid, source="costs.unit_economics")
    cols = [("sku", "SKU", ""), ("name", "名称" if lang == "zh" else "Name", ""), ("units", "销量" if lang == "zh" else "Units", "count"),
            ("net_sales", "净销售额" if lang == "zh" else "Net sales", "money"),
            ("landed_cost_per_unit", "单位到岸成本" if lang == "zh" else "Landed cost/unit", "money"),
            ("fees_per_unit", "单位费用" if lang == "zh" else "Fees/unit", "money"),
            ("ads_per_unit", "单位广告" if lang == "zh" else "Ads/unit", "money"),
            ("contribution_per_unit", "单位贡献" if lang == "zh" else "Contribution/unit", "money"),
            ("margin", "贡献率" if lang == "zh" else "Margin", "pct"), ("acos", "ACoS", "pct"),
            ("break_even_acos", "盈亏平衡ACoS" if lang == "zh" else "Break-even ACoS", "pct")]
    cols = [c for c in cols if c[0] in df]
    d = df.copy()
    if "cost_missing" in d:  # COGS unknown for the SKU: its contribution is not a number computed with a 0 cost
        for c in ("landed_cost_per_unit", "contribution_per_unit", "margin", "break_even_acos"):
            if c in d:
                d[c] = d[c].astype(object).where(~d["cost_missing"].fillna(False).astype(bool), None)
    body = sku_table(d, ctx, cols)
    share = df.attrs.get("cost_missing_share")
    if share is not None and not _missing(share) and share > 0:
        _rec(ctx, "cogs:uncosted_sales_share", share, unit="pct", source="costs.unit_economics")
        body = note(f"商品成本不完整：{fmt_pct(share)} 的净销售额来自没有单位成本的SKU（其成本按缺失处理，不按 0 计）" if lang == "zh"
                    else f"COGS incomplete: {fmt_pct(share)} of net sales come from SKUs without a unit cost "
                         "(their cost is missing, not 0)") + body
    if key == "loss_skus":
        body = chart_html(bar_chart(list(df["sku"].astype(str)), list(df["contribution"]), horizontal=True)) + body
    return section(key, lang, body)


def overheads_section(df: pd.DataFrame, ctx: Any, key: str = "overheads") -> str:
    lang = ctx.lang
    for r in (df.to_dict("records") if df is not None else []):
        _rec(ctx, f'overhead:{r["item"]}', r["amount"], unit="money", basis=None, source="overhead_allocations")
    return section(key, lang, table(df, [("item", t("kind", lang)), ("amount", t("value", lang))],
                                    {"amount": _money(ctx)}, lang=lang))


def margin_moves_section(df: pd.DataFrame, ctx: Any, key: str = "margin_moves") -> str:
    lang = ctx.lang
    if df is None or df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    basis = str(df["basis"].iloc[0]) if "basis" in df else "order"
    for r in df.to_dict("records"):
        k = "net_margin" if r["step"] == "net_margin" else f'{r["step"]}:share_of_net_sales'
        for side, per in (("prior", ctx.prior()), ("current", ctx.period)):
            meta = {"complete": r.get(f"complete_{side}", True), "stores_covered": r.get(f"stores_covered_{side}"),
                    "stores_total": r.get(f"stores_total_{side}")} if k == "net_margin" else {}
            _rec(ctx, k, r[f"share_{side}"], unit="pct", basis=basis, period=per,
                 source="costs.explain_margin_change", **meta)
    steps = df[df["step"] != "net_margin"]
    fig = bar_chart(list(steps["name"]), list(steps["margin_points"]), horizontal=True)
    pts = lambda v: fmt_change(v, "pp", 2)
    tbl = table(df, [("name", t("kpi", lang)), ("share_prior", t("prior", lang)), ("share_current", t("actual", lang)),
                     ("margin_points", t("change", lang))],
                {"share_prior": fmt_pct, "share_current": fmt_pct, "margin_points": pts}, lang=lang)
    return section(key, lang, note(t(f"basis_{basis}", lang)) + chart_html(fig) + tbl)


def _curve_text(card: Any, lang: str) -> str:
    pts = {c.at: c.payout for c in getattr(card, "curve", [])} or {"threshold": 50, "target": 100, "maximum": 150}
    thr, tg, mx = pts.get("threshold", 50), pts.get("target", 100), pts.get("maximum", 150)
    if lang == "zh":
        return (f"得分规则：100 分 = 每项指标恰好达到目标。每项指标的得分率：低于门槛值为 0%，门槛值 {thr:g}%，"
                f"目标 {tg:g}%，挑战值 {mx:g}%，其间按直线计算；超过挑战值不再增加（封顶 {mx:g}%，个别指标另设封顶见表）。")
    return (f"How the score works: 100 points = every KPI exactly on target. Each KPI pays 0% below its threshold, "
            f"{thr:g}% at the threshold, {tg:g}% at the target and {mx:g}% at the maximum, linear in between; nothing "
            f"more above the maximum (capped at {mx:g}%, or the line's own cap shown in the table).")


def _score_explanation(card: Any, lines: pd.DataFrame, lang: str) -> str:
    """Why the total is what it is: above 100 (stretch), capped lines, a gate that capped the total."""
    out = []
    total = float(card.total)
    over = lines[(lines["payout_pct"] > 100) & (lines["weight"] > 0)]
    if total > 100 and len(over):
        names = "、".join(over["name"]) if lang == "zh" else ", ".join(over["name"])
        out.append(f"总分 {total:.1f} 超过 100：{names} 超过目标，进入挑战区间（得分率高于 100%）。" if lang == "zh" else
                   f"The total {total:.1f} is above 100 because {names} beat their target (stretch zone, payout above 100%).")
    capped = lines[(lines["weight"] > 0) & (lines["payout_pct"] >= lines["cap"]) & (lines["payout_pct"] > 100)]
    if len(capped):
        names = "、".join(capped["name"]) if lang == "zh" else ", ".join(capped["name"])
        out.append(f"{names} 已达封顶得分率，超出部分不再计分。" if lang == "zh" else
                   f"{names} reached the payout cap: performance beyond it earns nothing more.")
    if getattr(card, "gated", False):
        red = lines[lines["gate_red"]]
        names = "、".join(red["name"]) if lang == "zh" else ", ".join(red["name"])
        cap = getattr(card, "gate_cap", None)
        un = getattr(card, "uncapped_total", None)
        out.append((f"门槛指标 {names} 未达门槛值，总分由 {un:.1f} 封顶为 {cap:g} 分。" if lang == "zh" else
                    f"Gate KPI {names} is worse than its threshold: the total is capped from {un:.1f} to {cap:g} points.")
                   if cap is not None and un is not None else (f"门槛指标 {names} 未达门槛值，总分封顶。" if lang == "zh"
                                                               else f"Gate KPI {names} is red: the total is capped."))
    return "".join(f'<p class="note score-why">{esc(x)}</p>' for x in out)


def _bonus_table(card: Any, ctx: Any) -> str:
    """weight × payout × pool = amount per KPI, the total equal to the bonus shown."""
    lang = ctx.lang
    bl = card.bonus_lines() if hasattr(card, "bonus_lines") else pd.DataFrame()
    if bl is None or bl.empty:
        return ""
    d = bl.copy()
    d["name"] = d["label_zh" if lang == "zh" else "label_en"]
    m = lambda v: fmt_money(None if _missing(v) else float(v) / ctx.fx, ctx.currency, lang, 2)
    d["formula"] = [(f"{fmt_number(w, 0)}% × {fmt_number(p, 2)}% × {m(pool)} = {m(a)}" if not _missing(w)
                     else f"{m(a)}") for w, p, pool, a in zip(d["weight"], d["payout_pct"], d["pool"], d["amount"])]
    d["amt"] = [m(a) for a in d["amount"]]
    for r in d.to_dict("records"):
        _rec(ctx, f'bonus:{r["kpi"]}', r["amount"], unit="money", basis=None, source="scorecard.bonus_lines",
             converted=False)
    total = pd.DataFrame([{"name": "奖金合计" if lang == "zh" else "Bonus total", "formula": "",
                           "amt": m(float(card.bonus))}])
    title = "奖金计算（权重 × 得分率 × 奖金基数 = 金额）" if lang == "zh" else "Bonus (weight × payout × pool = amount)"
    return f"<h3>{esc(title)}</h3>" + table(pd.concat([d, total], ignore_index=True),
                                           [("name", t("kpi", lang)), ("formula", "计算" if lang == "zh" else "Formula"),
                                            ("amt", t("value", lang))], lang=lang, cls="kpi-table bonus-table")


def scorecard_section(card: Any, lines: pd.DataFrame | None, ctx: Any, key: str = "score") -> str:
    """Total score with its explanation (curve and cap, stretch above 100, gate), one row per KPI (weight,
    threshold/target/maximum, cap, actual, payout, points) and the bonus line by line."""
    lang = ctx.lang
    if isinstance(card, str) or card is None:
        return section(key, lang, unavailable(lang, str(card or "")))
    d = lines.copy()
    for c, dflt in (("cap", 150.0), ("floor", 0.0)):
        if c not in d:
            d[c] = dflt
    for c, dflt in (("complete", True), ("missing", ""), ("stores_covered", None), ("stores_total", None)):
        if c not in d:
            d[c] = dflt
    for r in d.to_dict("records"):
        _rec(ctx, str(r["kpi"]), r["actual"], unit=r["unit"], source="scorecard", complete=r["complete"],
             stores_covered=r["stores_covered"], stores_total=r["stores_total"])
        if not _missing(r["target"]):
            _rec(ctx, f'{r["kpi"]}:target', r["target"], unit=r["unit"], basis=None, source="scorecard")
    _rec(ctx, "score", card.total, unit="points", basis=None, source="scorecard")
    if getattr(card, "bonus", None) is not None:
        _rec(ctx, "bonus", card.bonus, unit="money", basis=None, source="scorecard", converted=False)
    # achievement-based lines (basis: achievement) carry threshold/maximum as ratios of the target
    ratio = [u in ("money", "count") and not _missing(a) and not _missing(b) and abs(a) <= 5 and abs(b) <= 5
             for u, a, b in zip(d["unit"], d["threshold"], d["maximum"])]
    for c in ("threshold", "maximum"):
        d[c] = [fmt_pct(v, 0) if r else fmt_value(v, u, ctx.currency, lang) for v, u, r in zip(d[c], d["unit"], ratio)]
    d["actual"] = [_val(r, "actual", ctx) for r in d.to_dict("records")]
    d["target"] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(d["target"], d["unit"])]
    d["gate_txt"] = [(badge("red", lang).replace(esc(STATUS_LABELS["red"][1 if lang == "en" else 0]),
                                                 "未达门槛" if lang == "zh" else "gate breached") if red else
                      ("门槛指标" if lang == "zh" else "gate KPI")) if g else ""
                     for g, red in zip(d["gate"], d["gate_red"])]
    d["cap_txt"] = [fmt_number(c, 0) + "%" for c in d["cap"]]
    head = cards([(t("score", lang), f"{card.total:.1f} / 100", "red" if card.gated else None)] + (
        [("奖金" if lang == "zh" else "Bonus", fmt_money(card.bonus / ctx.fx, ctx.currency, lang, 2), None)]
        if getattr(card, "bonus", None) is not None else []), lang)
    tbl = table(d, [("name", t("kpi", lang)), ("weight", t("weight", lang)), ("threshold", "门槛值" if lang == "zh" else "Threshold"),
                    ("target", t("target", lang)), ("maximum", "挑战值" if lang == "zh" else "Maximum"),
                    ("cap_txt", "封顶得分率" if lang == "zh" else "Payout cap"),
                    ("actual", t("actual", lang)), ("achievement", t("achievement", lang)),
                    ("payout_pct", "得分率" if lang == "zh" else "Payout"), ("weighted_points", t("weighted", lang)),
                    ("gate_txt", t("gate", lang))],
                {"weight": lambda v: fmt_number(v, 0) + "%", "achievement": lambda v: fmt_pct(v, 0),
                 "payout_pct": lambda v: fmt_number(v, 1) + "%", "weighted_points": lambda v: fmt_number(v, 1)},
                raw=["gate_txt"], lang=lang)
    fig = bar_chart(list(lines["name"]), list(lines["weighted_points"]), horizontal=True)
    return section(key, lang, head + note(_curve_text(card, lang)) + _score_explanation(card, lines, lang) + tbl
                   + _target_sources(lines, lang) + _bonus_table(card, ctx) + chart_html(fig))


def _target_sources(lines: pd.DataFrame, lang: str) -> str:
    """Where each line's target comes from when it is not the entity's target in the target plan."""
    if "target_source" not in lines:
        return ""
    sep = "、" if lang == "zh" else ", "
    own = lines[(lines["target_source"] == "scorecards.yaml") & (lines["weight"] > 0)]
    ly = lines[lines["target_source"].astype(str).str.startswith("last_year")]
    out = []
    if len(own):
        out.append(f"{sep.join(own['name'])} 的目标取自考核表（目标体系中没有该团队/人员此指标本期的目标）"
                   if lang == "zh" else f"{sep.join(own['name'])}: target from the scorecard (the target plan has none "
                                        "for this entity and month)")
    for r in ly.itertuples():
        g = str(r.target_source).split("+", 1)[1]
        out.append(f"{r.name} 的目标 = 去年同期 × (1 + {float(g):.0%})（目标体系中没有本期目标）" if lang == "zh" else
                   f"{r.name}: target = same month last year × (1 + {float(g):.0%}) (no target in the plan)")
    return "".join(f'<p class="note target-source">{esc(x)}</p>' for x in out)


def settlement_section(stmt: Any, ctx: Any, key: str = "settlement") -> str:
    """The statement: contract terms, KPI basis (GMV, refunds, net GMV, target, achievement), fee lines, total."""
    lang = ctx.lang
    if isinstance(stmt, str) or stmt is None:
        return section(key, lang, unavailable(lang, str(stmt or "")))
    k = stmt.get("kpis", {})
    num = lambda v: None if v in (None, "None", "") else float(v)
    # statement amounts are in the reporting currency: shown in the report's
    m = lambda v: fmt_money(None if num(v) is None else num(v) / ctx.fx, ctx.currency, lang, 2)
    src, basis = "settlement.settle", str(k.get("basis") or "order")
    for kk, kpi in (("gmv", "gmv"), ("refunds", "refunds"), ("excluded_gmv", "excluded_gmv"), ("net_gmv", "net_gmv")):
        _rec(ctx, kpi, num(k.get(kk)), unit="money", basis=basis, source=src, converted=False)
    _rec(ctx, "net_gmv:target", num(k.get("target")), unit="money", basis=None, source=src, converted=False)
    _rec(ctx, "net_gmv:achievement", num(k.get("achievement")), unit="pct", basis=basis, source=src)
    for ln in stmt.get("fee_lines", []):
        _rec(ctx, f'fee:{ln.get("name")}', num(ln.get("amount")), unit="money", basis=None, source=src, converted=False)
    _rec(ctx, "fee_total", num(stmt.get("total")), unit="money", basis=None, source=src, converted=False)
    items = [("GMV", m(k.get("gmv"))), ("退款额" if lang == "zh" else "Refunds", m(k.get("refunds"))),
             ("排除SKU销售额" if lang == "zh" else "Excluded GMV", m(k.get("excluded_gmv"))),
             ("净GMV" if lang == "zh" else "Net GMV", m(k.get("net_gmv"))), (t("target", lang), m(k.get("target"))),
             (t("achievement", lang), fmt_pct(None if k.get("achievement") in (None, "None") else
                                               float(k["achievement"]), 1))]
    lines = pd.DataFrame(stmt.get("fee_lines", []))
    if len(lines):
        lines["rate"] = [DASH if r in (None, "None") else fmt_pct(float(r), 2) for r in lines["rate"]]
        lines["amount"] = [m(a) for a in lines["amount"]]
    tbl = table(lines, [("name", "费用项" if lang == "zh" else "Fee line"), ("basis", "计算基础" if lang == "zh" else "Basis"),
                        ("rate", "费率" if lang == "zh" else "Rate"), ("amount", t("value", lang))], lang=lang)
    total = cards([("应付合计" if lang == "zh" else "Total due", m(stmt.get("total")), None)], lang)
    ex = stmt.get("exit_clause") or {}
    ex_html = ""
    if ex:
        ex_html = f'<h3>{esc(t("exit_clause", lang))}</h3>' + kv_table([
            (k2, str(v)) for k2, v in ex.items() if k2 != "history"])
    snap = note(f'{t("snapshot", lang)}: {stmt.get("snapshot_hash", "")}')
    return section(key, lang, note(t(f"basis_{basis}", lang)) + kv_table(items) + tbl + total + ex_html + snap)


def fee_models_section(df: Any, ctx: Any, key: str = "fee_models") -> str:
    lang = ctx.lang
    if isinstance(df, str) or df is None:
        return section(key, lang, unavailable(lang, str(df or "")))
    if df.empty:
        return section(key, lang, f'<p class="empty">{esc(t("no_data", lang))}</p>')
    import plotly.graph_objects as go

    fig = go.Figure()
    for i, (name, g) in enumerate(df.groupby("model", sort=False)):
        fig.add_trace(go.Scatter(x=[float(a) for a in g["achievement"]], y=[float(v) for v in g["client_pays"]],
                                 mode="lines+markers", name=str(name)))
    fig.update_xaxes(tickformat=".0%", title=t("achievement", lang))
    style_figure(fig)
    piv = df.pivot_table(index="achievement", columns="model", values="client_pays", aggfunc="first").reset_index()
    cols = [("achievement", t("achievement", lang))] + [(c, str(c)) for c in piv.columns if c != "achievement"]
    fm = {c: _money(ctx) for c, _ in cols[1:]}
    fm["achievement"] = lambda v: fmt_pct(v, 0)
    return section(key, lang, chart_html(fig) + table(piv, cols, fm, lang=lang))


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
            _rec(ctx, k, r[k], entity_kind="store", entity_id=str(r["store_id"]), complete=k not in inc,
                 source="kpi_values", stores_covered=0 if _missing(r[k]) else 1, stores_total=1)
    d["flags"] = [status_counts_html({s: r.get(s, 0) for s in ("red", "amber", "green", "incomplete")}, lang)
                  for r in d.to_dict("records")]
    name = [f"{n} ({s})" if isinstance(n, str) else s for n, s in zip(d.get("store_name", d["store_id"]), d["store_id"])]
    d["store"] = name
    fm = {"gmv": _money(ctx), "net_profit": _money(ctx), "net_margin": fmt_pct, "acos": fmt_pct}
    for c in fm:
        d[c] = [fmt_incomplete(m, lang) if c in str(i).split(",") and _missing(v) else fm[c](v)
                for v, i, m in zip(d[c], d["incomplete"], d["missing"])]
    d["store"] = [f"{esc(s)} {badge('incomplete', lang)}" if i else esc(s) for s, i in zip(d["store"], d["incomplete"])]
    d["gmv_chg"] = [fmt_change(v, "%") for v in d["gmv_change"]]
    tbl = table(d, [("store", t("store", lang)), ("gmv", "GMV"), ("gmv_chg", t("change", lang)),
                    ("net_profit", "净利润" if lang == "zh" else "Net profit"),
                    ("net_margin", "净利润率" if lang == "zh" else "Net margin"), ("acos", "ACoS"),
                    ("flags", t("status", lang))], raw=["flags", "store"], lang=lang)
    fig = bar_chart(list(d["store_id"]), list(df["gmv"]))
    return section(key, lang, chart_html(fig) + tbl)


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
        _rec(ctx, str(r["kpi"]), r["actual"], entity_kind=ek, entity_id=eid, complete=r["status"] != "incomplete",
             source="kpi_status", stores_covered=r.get("stores_covered"), stores_total=r.get("stores_total"))
        if not _missing(r["target"]):
            _rec(ctx, f'{r["kpi"]}:target', r["target"], unit=r["unit"], entity_kind=ek, entity_id=eid, basis=None,
                 source="kpi_status")
    d["entity"] = [f"{t(str(k), lang)} {i}".strip() for k, i in zip(d["entity_kind"], d["entity_id"])]
    red = d[d["status"] != "incomplete"].copy()
    body = ""
    if len(red):
        red["a"] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(red["actual"], red["unit"])]
        red["tg"] = [fmt_value(v, u, ctx.currency, lang) for v, u in zip(red["target"], red["unit"])]
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
            sep = "、" if lang == "zh" else ", "
            rows.append({"entity": ent, "kpis": sep.join(dict.fromkeys(g["name"])),
                         "why": missing_reason(",".join(sources), lang) or t("incomplete_kpis", lang),
                         "badge": badge("incomplete", lang)})
        body += f'<h3>{esc(t("incomplete_kpis", lang))}</h3>' + table(
            pd.DataFrame(rows), [("entity", t("store", lang)), ("kpis", t("kpi", lang)), ("why", t("why", lang)),
                                 ("badge", t("status", lang))], raw=["badge"], lang=lang)
    return section(key, lang, body)


def status_counts_html(counts: Mapping[str, Any], lang: str = "zh") -> str:
    """Status badges with counts, only for statuses that happened ('未达标 2'; nothing for zero misses)."""
    parts = []
    for s in ("red", "amber", "green", "incomplete"):
        n = int(counts.get(s, 0) or 0)
        if n > 0:
            parts.append(f"{badge(s, lang)} {n}")
    return " ".join(parts) if parts else esc(DASH)


