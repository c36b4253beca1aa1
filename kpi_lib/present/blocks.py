"""HTML building blocks: tables, notes, sections, page header and footer, cards, the page stylesheet."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from .fmt import DASH, LABELS, badge, esc, fmt_number, is_missing, slug, t

__all__ = ['PAGE_CSS', 'TOC_SLOT', 'cards', 'css_string', 'footer', 'header', 'kv_table', 'note', 'print_header', 'section', 'show', 'source_table_name', 'status_counts_html', 'table', 'unavailable']


























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
            s = f(v) if f else (DASH if is_missing(v) else str(v))
            num = c not in raw and bool(_NUMERIC.match(s))
            out.append(f'<td class="{"num" if num else ""}">{s if c in raw else esc(s)}</td>')
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


# a number with its currency or unit, and the stores it covers when that is only part of them ("26.1% (10/11)")
_NUMERIC = re.compile(r"^[-+]?(?:[^\w\s]{1,3}|[A-Z]{2,3} |RM)?[-+]?\d[\d,.]*\s?(?:%|pp|×|万|亿|k|M|天|小时|d|h)?(?: \(\d+/\d+\))?$")


def kv_table(items: Sequence[tuple[str, str]]) -> str:
    """A two-column label/value table (both escaped)."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items)
    return f'<table class="kv-table"><tbody>{body}</tbody></table>'


def note(text: str) -> str:
    return f'<p class="note">{esc(text)}</p>'


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


def css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes, ``<`` and line breaks escaped)."""
    out = []
    for ch in str(text):
        if ch in '"\\<>&' or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def print_header(running: str, lang: str = "zh") -> str:
    """Printed page header and footer (Chromium's @page margin boxes): the report, entity and period at the
    top of every page, 'page n of N' at the bottom. The screen never shows them."""
    words = t("print.page", lang)
    pre, rest = words.split("{page}", 1)
    mid, post = rest.split("{pages}", 1)
    page_no = f'{css_string(pre)} counter(page) {css_string(mid)} counter(pages) {css_string(post)}'
    box = ";font-size:8pt;color:#4a5568;font-family:" + PRINT_FONTS  # margin boxes do not inherit the body's font
    return ("<style>@page{@top-left{content:" + css_string(running) + box + "}"
            "@bottom-right{content:" + page_no + box + "}}</style>")


PRINT_FONTS = "'Noto Sans CJK SC','Noto Sans',-apple-system,'Segoe UI','Microsoft YaHei',Helvetica,Arial,sans-serif"


def header(title: str, subtitle_items: Sequence[tuple[str, str]]) -> str:
    """The report title (<h1>) and a line of facts (period, currency…)."""
    facts = " · ".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in subtitle_items)
    return f'<h1 class="report-title">{esc(title)}</h1><p class="subtitle">{facts}</p>'


def source_table_name(name: Any, lang: str) -> str:
    """A warehouse table as the freshness table names it ('订单' / 'Orders'; the manifest: last import)."""
    key = "table." + str(name).split(" ")[0]
    return t(key, lang) if key in LABELS else str(name)


def footer(freshness: pd.DataFrame, snapshot: str, lang: str = "zh", generated: dt.datetime | None = None) -> str:
    """Data freshness per source (latest date, rows), the warehouse snapshot hash and generation time."""
    gen = (generated or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    fresh = freshness.copy() if freshness is not None else pd.DataFrame(columns=["source", "latest_date", "rows"])
    fresh["source"] = [source_table_name(x, lang) for x in fresh["source"]]
    tbl = table(fresh, [("source", t("source", lang)), ("latest_date", t("latest_date", lang)),
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
table.kpi-table th{background:#f7fafc;font-weight:600}table.kpi-table td.num{text-align:right;white-space:nowrap;
 font-variant-numeric:tabular-nums}
table.kv-table th{width:30%;color:#4a5568;font-weight:500}
.badge{display:inline-block;color:#fff;border-radius:10px;padding:1px 9px;font-size:12px;white-space:nowrap}
.chart{width:100%;min-height:300px}p.note,p.empty,p.unavailable{color:#718096;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0 16px}.card{flex:1 1 160px;border:1px solid #e2e8f0;
 border-radius:8px;padding:10px 14px}.card .label{color:#718096;font-size:12px}.card .value{font-size:20px;font-weight:600}
footer.report-footer{margin-top:40px;color:#4a5568;font-size:12px}
.jp-OutputArea-output pre{display:none}
figure.chart-box{margin:8px 0 16px}.chart-empty{border:1px dashed #cbd5e0;border-radius:6px;padding:10px 14px;margin:8px 0 16px}
.chart-empty-title{font-weight:600;font-size:14px}
section.summary{background:#f0f5fb;border-left:4px solid #2b6cb0;padding:8px 16px;margin:12px 0 20px;border-radius:4px}
section.summary ul{margin:6px 0;padding-left:20px}section.summary li{margin:4px 0;line-height:1.55}
.statement-title{font-size:20px;font-weight:700;text-align:center;letter-spacing:.08em;margin:12px 0 8px}
.parties{display:flex;gap:20px;margin:8px 0 16px}.party{flex:1;border:1px solid #cbd5e0;border-radius:6px;padding:8px 12px;
 font-size:13px}.party p,.sign-party p{margin:2px 0}.party-role{color:#718096;font-size:12px}
.party-name{font-weight:600;font-size:14px}
table.fee-lines tfoot th,table.fee-lines tfoot td{border-bottom:1px solid #e2e8f0;padding:5px 8px;text-align:left;
 font-weight:500}table.fee-lines tfoot td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.fee-lines tfoot tr.subtotal>*{border-top:2px solid #a0aec0}
table.fee-lines tfoot tr.total-due>*{font-weight:700;font-size:14px;border-top:2px solid #2d3748;border-bottom:3px double #2d3748}
p.command code{background:#edf2f7;padding:2px 6px;border-radius:4px;font-size:12px}
table.fee-lines th.num{text-align:right}
.sign-off{display:flex;gap:40px;margin:12px 0 8px}.sign-party{flex:1}
.sign-row{display:flex;align-items:flex-end;gap:8px;margin:16px 0 0}.sign-label{width:42%;color:#4a5568;font-size:12px}
.sign-line{flex:1;border-bottom:1px solid #4a5568;min-height:24px;font-size:13px}
/* print (and PDF): A4, sections start on a new page, tables and charts never split, no screen chrome */
@page{size:A4;margin:16mm 14mm 16mm 14mm}
@media print{
 body{background:#fff;font-size:11px}main.report{max-width:none;padding:0;margin:0}
 nav.toc{display:none}h2.section{break-before:page;page-break-before:always;margin-top:0}
 h1.report-title+p.subtitle~h2.section:first-of-type,section.summary+h2.section,section.summary h2.section,
 div.cell:has(section.summary)+div.cell h2.section:first-of-type{break-before:auto;page-break-before:auto}
 h2,h3{break-after:avoid;page-break-after:avoid}
 table,figure.chart-box,.chart-empty,.cards,section.summary,.sign-off,.sign-off-block,.parties,.statement-head{
  break-inside:avoid;page-break-inside:avoid}
 thead{display:table-header-group}tr{break-inside:avoid}
 table.kpi-table,table.kv-table{font-size:10px;table-layout:auto}table.kpi-table th,table.kpi-table td{padding:3px 5px}
 .chart{min-height:0}a{color:inherit;text-decoration:none}
 .badge{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 footer.report-footer{break-before:page}
 .party{font-size:10.5px}.party-name{font-size:12px}p.note,p.empty,p.unavailable{font-size:10.5px}
 .sign-line{font-size:11px}table.fee-lines tfoot tr.total-due>*{font-size:12px}
}
"""


def cards(items: Sequence[tuple[str, str, str | None]], lang: str = "zh") -> str:
    """Headline figures as cards: (label, formatted value, optional status)."""
    out = ['<div class="cards">']
    for label, value, status in items:
        b = f" {badge(status, lang)}" if status and status != "none" else ""
        out.append(f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{esc(value)}{b}</div></div>')
    out.append("</div>")
    return "".join(out)


TOC_SLOT = '<div class="toc-slot"></div>'  # replaced by the runner with the table of contents


def status_counts_html(counts: Mapping[str, Any], lang: str = "zh") -> str:
    """Status badges with counts, only for statuses that happened ('未达标 2'; nothing for zero misses)."""
    parts = []
    for s in ("red", "amber", "green", "incomplete"):
        n = int(counts.get(s, 0) or 0)
        if n > 0:
            parts.append(f"{badge(s, lang)} {n}")
    return " ".join(parts) if parts else esc(DASH)


