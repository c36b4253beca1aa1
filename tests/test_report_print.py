"""The print stylesheet on a page shaped like a rendered report (one ``div.cell`` per template cell, as the
runner writes them): page 1 holds the title, the summary and the first section, each later section starts
a page. (Before: the summary's own heading and the first section each forced a page break, so page 1 of a
settlement statement was a title alone and page 2 the summary alone.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import needs
from pypdf import PdfReader

from kpi_lib.pdf import html_to_pdf
from kpi_lib.present import PAGE_CSS

pytestmark = [pytest.mark.browser, needs(Path("/usr/bin/chromium").exists(), "needs /usr/bin/chromium (make chromium)")]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><style>{css}</style></head><body><main class="report">
<div class="cell"><div class="output_html"><h1 class="report-title">Statement TITLE1</h1><p class="subtitle">facts</p>
<section class="summary"><h2 class="section" id="summary">Summary SUMMARY1</h2><ul><li>one</li></ul></section></div></div>
<div class="cell"><div class="output_html"><h2 class="section" id="settlement">Settlement FIRST1</h2>
<table class="kpi-table"><tbody><tr><td>fee</td><td>1.00</td></tr></tbody></table></div></div>
<div class="cell"><div class="output_html"><h2 class="section" id="other">Other SECOND1</h2><p>text</p></div></div>
<div class="cell"><div class="output_html"><h2 class="section" id="more">More THIRD1</h2><p>text</p></div></div>
</main></body></html>"""


def test_page_one_holds_title_summary_and_first_section(tmp_path: Path) -> None:
    html = tmp_path / "page.html"
    html.write_text(PAGE.format(css=PAGE_CSS), encoding="utf-8")
    reader = PdfReader(str(html_to_pdf(html, tmp_path / "page.pdf")))
    pages = [pg.extract_text() for pg in reader.pages]
    assert len(pages) == 3, pages
    assert all(w in pages[0] for w in ("TITLE1", "SUMMARY1", "FIRST1")) and "SECOND1" not in pages[0]
    assert "SECOND1" in pages[1] and "THIRD1" in pages[2]
