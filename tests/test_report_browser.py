"""Rendered reports opened in headless Chromium with the network off: no console errors, every chart
drawn (plotly's SVG present), escaped names shown as text, a screenshot saved per report.

Uses Debian's /usr/bin/chromium (never downloads a browser); skipped when it is absent (a failure under CI). Every URL
that is not a local file is aborted and recorded, and the context is offline as well.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import needs
from pypdf import PdfReader
from test_reports import EVIL_STORE, PERIOD, _result, rendered, report_project  # noqa: F401 (fixtures)

from kpi_lib import cli
from kpi_lib.pdf import A4_VIEWPORT, html_to_pdf

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
EXPECTED_CHARTS = {"store_performance": 4, "person_scorecard": 3}

pytestmark = [pytest.mark.browser, needs(CHROMIUM.exists(), "needs /usr/bin/chromium (make chromium)")]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield b
        finally:
            b.close()


def _open(browser, html: Path, shot: Path) -> dict:
    ctx = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
    page = ctx.new_page()
    errors: list[str] = []
    blocked: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    try:
        page.goto(html.as_uri(), wait_until="load", timeout=30_000)
        page.wait_for_function(
            "() => { const c = [...document.querySelectorAll('div.chart')];"
            " return c.length > 0 && c.every(d => d.querySelector('svg.main-svg')); }", timeout=20_000)
        info = {
            "charts": page.eval_on_selector_all("div.chart", "els => els.length"),
            "drawn": page.eval_on_selector_all("div.chart", "els => els.filter(e => e.querySelector('svg.main-svg')).length"),
            "title": page.inner_text("h1.report-title"),
            "toc": page.eval_on_selector_all("nav.toc a", "els => els.length"),
            "titled": page.eval_on_selector_all(
                "div.chart", "els => els.filter(e => (e.dataset.title || '').trim() && e.querySelector('.gtitle')).length"),
            "scripts_injected": page.evaluate("() => typeof window.pwned"),
        }
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    finally:
        ctx.close()
    info["errors"], info["blocked"] = errors, blocked
    return info


@pytest.mark.parametrize("report", sorted(EXPECTED_CHARTS))
def test_report_opens_offline_with_all_charts(browser, rendered, report_project, report):  # noqa: F811
    r = _result(rendered, report)
    html = report_project / "outputs" / r["html"]
    shot = report_project / "outputs" / "screenshots" / f"{report}.png"
    info = _open(browser, html, shot)
    assert info["errors"] == [], info["errors"]
    assert info["blocked"] == [], info["blocked"]
    assert info["charts"] == info["drawn"] == EXPECTED_CHARTS[report]
    assert info["titled"] == info["charts"], "every chart carries a drawn title"
    assert info["toc"] >= 4
    assert shot.is_file() and shot.stat().st_size > 10_000
    if report == "store_performance":
        assert EVIL_STORE in info["title"], "the hostile name shows as text"


def test_bundle_mode_references_one_shared_plotly(browser, report_project, tmp_path, monkeypatch):  # noqa: F811
    from kpi_lib.reports import run_batch

    monkeypatch.setenv("KPI_ROOT", str(report_project))
    # another month, so the self-contained files other tests read stay as they are
    res = run_batch("test", period="2026-02", jobs=1, only="store_performance/*", bundle=True)
    assert res["ok"] == 1, res["results"]
    r = _result(res, "store_performance")
    html = report_project / "outputs" / r["html"]
    text = html.read_text(encoding="utf-8")
    assert 'src="../plotly.min.js"' in text and "atob(" not in text
    assert r["html_bytes"] < 200_000
    assert (report_project / "outputs" / "2026-02" / "plotly.min.js").is_file()
    info = _open(browser, html, tmp_path / "bundle.png")
    assert info["errors"] == [] and info["charts"] == info["drawn"] == EXPECTED_CHARTS["store_performance"]


def test_pdf_of_a_long_report_is_a4_with_header_footer_and_tables_within_the_page(
        browser, rendered, report_project, tmp_path):  # noqa: F811
    """kpi report --pdf's printer: several A4 pages, the report/entity/period at the top of each, page n of N
    at the bottom, and at A4 width in print media no table is wider than the page."""
    r = _result(rendered, "store_performance")
    html = report_project / "outputs" / r["html"]
    pdf = html_to_pdf(html, tmp_path / "store.pdf")
    reader = PdfReader(str(pdf))
    n = len(reader.pages)
    assert 2 <= n <= 40, n
    box = reader.pages[0].mediabox
    assert abs(float(box.width) - 595.3) < 2 and abs(float(box.height) - 841.9) < 2, "A4 portrait"
    first, last = reader.pages[0].extract_text(), reader.pages[-1].extract_text()
    page_no = lambda k: (f"{k} / {n}", f"Page {k} of {n}")
    assert PERIOD in first and any(x in first.replace("  ", " ") for x in page_no(1)), first[:300]
    assert any(x in last.replace("  ", " ") for x in page_no(n)), last[-300:]
    assert EVIL_STORE in first.split("\n")[0], "the running header shows a hostile name as text"
    ctx = browser.new_context(offline=True, viewport=A4_VIEWPORT)
    page = ctx.new_page()
    try:
        page.goto(html.as_uri(), wait_until="load")
        page.emulate_media(media="print")
        wide = page.evaluate("() => { const w = document.querySelector('main').clientWidth;"
                             " return [...document.querySelectorAll('table')].filter(t => t.scrollWidth > w + 1)"
                             ".map(t => t.className + ':' + t.scrollWidth + '>' + w); }")
    finally:
        ctx.close()
    assert wide == [], wide


def test_report_pdf_flag_writes_a_pdf_beside_each_page(rendered, report_project, tmp_path, monkeypatch):  # noqa: F811
    """`kpi report --pdf`: after the run, every report with a page gets <entity>.pdf beside its HTML."""
    r = _result(rendered, "person_scorecard")
    root = tmp_path / "proj"
    page = root / "outputs" / r["html"]
    page.parent.mkdir(parents=True)
    shutil.copy(report_project / "outputs" / r["html"], page)
    monkeypatch.setenv("KPI_ROOT", str(root))
    out = cli._print_pdfs({"results": [{**r, "status": "skipped"}, {**r, "status": "failed", "html": ""}]}, None)
    assert out["failed"] == [] and out["written"] == [str(page.with_suffix(".pdf"))]
    assert len(PdfReader(str(page.with_suffix(".pdf"))).pages) >= 1
