"""The reader's index: ``outputs/index.html`` (the workbench's default language) and
``outputs/index.en.html`` / ``index.zh.html`` (the other).

Written for a manager, not as an operations log: per period (newest first), the reports grouped by
entity kind (company, stores, teams, people, contracts), each subject's name beside its id, what each
report is, the headline figures the report shows (from its ``<entity>.figures.json``) and the count
of KPI statuses (red / amber / green / incomplete, stored in the manifest at render time), a filter
box, and a link. Seconds, sizes, notebooks and errors sit in a collapsed "run details" section.
Every word comes from :mod:`kpi_lib.labels` (``index.*``, ``status.*``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import paths
from ..config import workbench
from ..labels import has_label, label
from ..present import PAGE_CSS, badge, esc, fmt_value
from ..report_data import kpi_name, kpi_unit
from .plan import write_atomic

KIND_ORDER = ("company", "store", "team", "person", "contract")
HEADLINE_KPIS = ("gmv", "net_profit", "net_margin")
STATUSES = ("red", "amber", "green", "incomplete")
_FILTER_JS = ("<script>function kpiFilter(q){q=q.toLowerCase();document.querySelectorAll('tr.ix-row')"
              ".forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none';});}"
              "</script>")
_INDEX_CSS = (".ix-filter{width:100%;max-width:420px;padding:6px 10px;margin:8px 0 14px;font-size:14px}"
              ".ix-id{color:#666;font-size:12px;margin-left:6px}.ix-lang{float:right;font-size:13px}"
              "details.ix-run{margin-top:18px}details.ix-run summary{cursor:pointer;color:#555}"
              ".ix-head span{margin-right:12px;white-space:nowrap}")


def index_files() -> dict[str, str]:
    """{language: file name}: index.html in the workbench's default language, index.<other>.html."""
    primary = workbench().default_language if workbench().default_language in ("zh", "en") else "zh"
    other = "en" if primary == "zh" else "zh"
    return {primary: "index.html", other: f"index.{other}.html"}


def report_title(report: str, template: str, lang: str) -> str:
    """What a report is, in the reader's language (``index.report.<name>``, else the template's)."""
    for key in (f"index.report.{report}", f"index.report.{template}"):
        if has_label(key):
            return label(key, lang)
    return report.replace("_", " ")


def subject_name(run: dict[str, Any], lang: str) -> str:
    """The subject's display name in ``lang`` (stored in the manifest), else its id."""
    names = run.get("names") or {}
    return str(names.get(lang) or names.get("zh") or run.get("entity") or "")


def headline(run: dict[str, Any], lang: str, root: Path) -> str:
    """The report's headline figures (GMV, net profit, net margin) for its subject and period."""
    rel = run.get("figures")
    if not rel or run.get("status") not in ("ok", "skipped"):
        return ""
    try:
        figs = json.loads((root / rel).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return ""
    period = run.get("params", {}).get("period")
    kind, eid = run.get("entity_kind"), ("" if run.get("entity_kind") == "company" else run.get("entity"))
    found: dict[str, Any] = {}
    for f in figs:
        if (f.get("entity_kind") == kind and str(f.get("entity_id") or "") == eid and f.get("period") == period
                and f.get("kpi") in HEADLINE_KPIS and f.get("basis") in ("order", None) and f["kpi"] not in found):
            found[f["kpi"]] = f
    parts = []
    rc = workbench().reporting_currency  # figures files hold money in the reporting currency
    for k in HEADLINE_KPIS:
        if k in found:
            f = found[k]
            value = fmt_value(f.get("value"), f.get("unit") or kpi_unit(k), rc, lang) if f.get("complete") \
                else label("status.incomplete", lang)
            parts.append(f"<span>{esc(kpi_name(k, lang))} {esc(value)}</span>")
    return f'<div class="ix-head">{"".join(parts)}</div>' if parts else ""


def status_summary(run: dict[str, Any], lang: str) -> str:
    """'3 未达标 · 2 有风险 · 8 达标' from the statuses stored with the run."""
    counts = run.get("status_counts") or {}
    parts = [f"{badge(s, lang)} {int(counts[s])}" for s in STATUSES if counts.get(s)]
    return " ".join(parts)


def _period_section(man: dict[str, Any], lang: str, root: Path) -> str:
    runs = sorted(man.get("runs", {}).values(), key=lambda r: (r.get("report", ""), r.get("entity", "")))
    period = str(man.get("period", ""))
    nfail = sum(r.get("status") == "failed" for r in runs)
    summary = label("index.summary", lang).format(n=len(runs), failed=nfail)
    parts = [(f'<h2 class="section" id="p-{esc(period)}">{esc(label("index.period", lang))} {esc(period)} '
              f"<small>({esc(summary)})</small></h2>")]
    by_kind: dict[str, list[dict]] = {}
    for r in runs:
        by_kind.setdefault(str(r.get("entity_kind", "")), []).append(r)
    kinds = [k for k in KIND_ORDER if k in by_kind] + sorted(k for k in by_kind if k not in KIND_ORDER)
    for kind in kinds:
        parts.append(f"<h3>{esc(label(f'index.kind.{kind}', lang))}</h3>")
        parts.append(f'<table class="kpi-table"><thead><tr><th>{esc(label("index.col.subject", lang))}</th>'
                     f'<th>{esc(label("index.col.report", lang))}</th><th>{esc(label("index.col.headline", lang))}'
                     f'</th><th>{esc(label("index.col.status", lang))}</th></tr></thead><tbody>')
        for r in sorted(by_kind[kind], key=lambda r: (r.get("entity", ""), r.get("report", ""))):
            ok = r.get("status") in ("ok", "skipped")
            title = esc(report_title(str(r.get("report")), str(r.get("template")), lang))
            link = f'<a href="{esc(r.get("html"))}">{title}</a>' if ok else \
                f'{title} <small>({esc(label("index.not_available", lang))})</small>'
            name = subject_name(r, lang)
            ident = "" if kind == "company" or name == r.get("entity") else \
                f'<span class="ix-id">{esc(r.get("entity"))}</span>'
            parts.append(f'<tr class="ix-row"><td>{esc(name)}{ident}</td><td>{link}</td>'
                         f"<td>{headline(r, lang, root)}</td><td>{status_summary(r, lang)}</td></tr>")
        parts.append("</tbody></table>")
    # run details: for whoever operates the batch, collapsed
    rows = []
    for r in runs:
        nb = f'<a href="{esc(r.get("ipynb"))}">ipynb</a>' if r.get("ipynb") else ""
        what = f"{report_title(str(r.get('report')), str(r.get('template')), lang)} · {subject_name(r, lang)}"
        rows.append(f"<tr><td title=\"{esc(r.get('report'))}/{esc(r.get('entity'))}\">{esc(what)}</td>"
                    f"<td>{esc(label('index.run.' + str(r.get('status')), lang))}</td>"
                    f"<td class='num'>{float(r.get('seconds') or 0):.2f}</td>"
                    f"<td class='num'>{float(r.get('html_bytes') or 0) / 1e6:.2f} MB</td><td>{nb}</td>"
                    f"<td>{esc(r.get('error', ''))}</td></tr>")
    meta = (f"{esc(label('index.generated', lang))} {esc(man.get('generated_at'))} · "
            f"{esc(label('index.snapshot', lang))} {esc(man.get('snapshot'))}")
    parts.append(f'<details class="ix-run"><summary>{esc(label("index.run_details", lang))}</summary><p>{meta}</p>'
                 f'<table class="kpi-table"><thead><tr><th>{esc(label("index.col.report", lang))}</th>'
                 f'<th>{esc(label("index.col.run", lang))}</th><th>{esc(label("index.col.seconds", lang))}</th>'
                 f'<th>{esc(label("index.col.size", lang))}</th><th>{esc(label("index.col.notebook", lang))}</th>'
                 f'<th>{esc(label("index.col.error", lang))}</th></tr></thead><tbody>{"".join(rows)}</tbody>'
                 "</table></details>")
    return "".join(parts)


def index_html(lang: str, root: Path | None = None) -> str:
    """The index page in ``lang`` over every ``outputs/<period>/manifest.json``."""
    root = root or paths.outputs_dir()
    other = "en" if lang == "zh" else "zh"
    parts = [f'<a class="ix-lang" href="{index_files()[other]}">{esc(label("index.other_language", lang))}</a>',
             f'<h1 class="report-title">{esc(label("index.title", lang))}</h1>',
             f"<p>{esc(label('index.intro', lang))}</p>",
             (f'<input class="ix-filter" type="search" oninput="kpiFilter(this.value)" '
              f'placeholder="{esc(label("index.filter", lang))}">')]
    manifests = []
    for man_path in sorted(root.glob("*/manifest.json"), reverse=True):
        try:
            manifests.append(json.loads(man_path.read_text(encoding="utf-8")))
        except json.JSONDecodeError:
            continue
    if not manifests:
        parts.append(f"<p>{esc(label('index.no_reports', lang))}</p>")
    parts += [_period_section(m, lang, root) for m in manifests]
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(label('index.title', lang))}</title><style>{PAGE_CSS}{_INDEX_CSS}</style>{_FILTER_JS}"
            f'</head><body><main class="report">{"".join(parts)}</main></body></html>\n')


def write_index() -> Path:
    """Write outputs/index.html (default language) and outputs/index.<other>.html; returns index.html."""
    out = paths.outputs_dir()
    for lang, name in index_files().items():
        write_atomic(out / name, index_html(lang, out))
    return out / "index.html"
