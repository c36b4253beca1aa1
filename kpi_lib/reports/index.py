"""The reader's index: outputs/index.html (placeholder, replaced below)."""

from __future__ import annotations

import json
from pathlib import Path

from .. import paths
from ..present import PAGE_CSS, badge, esc
from .plan import _write_atomic


def write_index() -> Path:
    """outputs/index.html: every period (newest first), every report with its status and a link."""

    out = paths.outputs_dir()
    parts = ['<h1 class="report-title">KPI Workbench reports</h1>']
    for man_path in sorted(out.glob("*/manifest.json"), reverse=True):
        try:
            man = json.loads(man_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            continue
        runs = sorted(man.get("runs", {}).values(), key=lambda r: (r["report"], r["entity"]))
        nfail = sum(r["status"] == "failed" for r in runs)
        parts.append(f'<h2 class="section" id="p-{esc(man.get("period"))}">{esc(man.get("period"))} '
                     f'<small>({len(runs)} reports, {nfail} failed; snapshot {esc(man.get("snapshot"))}; '
                     f'{esc(man.get("generated_at"))})</small></h2>')
        parts.append('<table class="kpi-table"><thead><tr><th>report</th><th>entity</th><th>status</th>'
                     "<th>seconds</th><th>size</th><th>notebook</th><th>error</th></tr></thead><tbody>")
        for r in runs:
            ok = r["status"] in ("ok", "skipped")
            link = f'<a href="{esc(r["html"])}">{esc(r["entity"])}</a>' if ok else esc(r["entity"])
            st = badge("green" if ok else "red", "en").replace("On track", "ok" if r["status"] == "ok" else r["status"])
            st = st.replace("Off track", "failed")
            parts.append(f"<tr><td>{esc(r['report'])}</td><td>{link}</td><td>{st}</td><td class='num'>"
                         f"{r.get('seconds', 0):.2f}</td><td class='num'>{r.get('html_bytes', 0) / 1e6:.2f} MB</td>"
                         f"<td><a href=\"{esc(r['ipynb'])}\">ipynb</a></td><td>{esc(r.get('error', ''))}</td></tr>")
        parts.append("</tbody></table>")
    html = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>KPI Workbench reports</title>'
            f'<style>{PAGE_CSS}</style></head><body><main class="report">{"".join(parts)}</main></body></html>\n')
    p = out / "index.html"
    _write_atomic(p, html)
    return p
