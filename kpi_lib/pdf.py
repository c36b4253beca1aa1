"""PDF copies of rendered reports, printed by the system's headless Chromium (``kpi report --pdf``).

The page's own print stylesheet (:data:`kpi_lib.present.PAGE_CSS`, ``@media print`` and ``@page``)
decides the layout: A4, a page break before each section, tables and charts never split, the report,
entity and period at the top of every page and "page n of N" at the bottom. Charts are drawn at the
printable width (the page is opened at A4 width and printed after every chart is drawn).

The browser is the one already installed (``/usr/bin/chromium``, or ``$KPI_CHROMIUM``), driven by
Playwright when it is importable, else by Chromium's own ``--print-to-pdf``; nothing is downloaded.
The PDF is written beside the HTML (``<entity>.pdf``) atomically.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import RenderError

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
A4_VIEWPORT = {"width": 720, "height": 1018}  # CSS px: ~ A4 printable width, so charts are drawn to fit
_DRAWN = ("() => Array.from(document.querySelectorAll('div.chart')).every("
          "d => d.querySelector('.main-svg') !== null)")


def find_chromium() -> str | None:
    """The Chromium executable to print with (``$KPI_CHROMIUM`` first), or None when there is none."""
    env = os.environ.get("KPI_CHROMIUM")
    for c in ([env] if env else []) + list(CANDIDATES) + [shutil.which("chromium") or ""]:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    return None


def pdf_path(html: Path) -> Path:
    """Where the PDF of ``html`` goes: beside it, same stem."""
    return Path(html).with_suffix(".pdf")


def html_to_pdf(html: str | Path, out: str | Path | None = None, timeout: float = 120.0) -> Path:
    """Print one report page to PDF (A4, the page's print stylesheet); returns the PDF's path.

    Raises :class:`RenderError` naming the file when no Chromium is installed or printing fails.
    """
    src = Path(html).resolve()
    if not src.is_file():
        raise RenderError(f"{src}: no such report page to print")
    dst = Path(out) if out is not None else pdf_path(src)
    exe = find_chromium()
    if exe is None:
        raise RenderError(f"{src}: cannot print a PDF: no Chromium found (looked for {', '.join(CANDIDATES)}; "
                          "set KPI_CHROMIUM to the browser's path)")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.stem}.", suffix=".pdf.tmp", dir=dst.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            # its own thread: Playwright's sync API refuses a thread that already runs an asyncio loop
            with ThreadPoolExecutor(max_workers=1) as pool:
                pool.submit(_print_playwright, exe, src, tmp, timeout).result()
        except ImportError:
            _print_cli(exe, src, tmp, timeout)
        if tmp.stat().st_size == 0:
            raise RenderError(f"{src}: Chromium wrote an empty PDF")
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def _print_playwright(exe: str, src: Path, out: Path, timeout: float) -> None:
    from playwright.sync_api import Error as PlaywrightError  # optional: the CLI path prints without it
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport=A4_VIEWPORT)
                page.goto(src.as_uri(), wait_until="load", timeout=timeout * 1000)
                page.wait_for_function(_DRAWN, timeout=timeout * 1000)
                page.emulate_media(media="print")
                page.pdf(path=str(out), prefer_css_page_size=True, print_background=True)
            finally:
                browser.close()
    except PlaywrightError as err:
        raise RenderError(f"{src}: printing to PDF failed: {str(err).splitlines()[0]}") from None


def _print_cli(exe: str, src: Path, out: Path, timeout: float) -> None:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", "--hide-scrollbars",
           f"--window-size={A4_VIEWPORT['width']},{A4_VIEWPORT['height']}", "--virtual-time-budget=15000",
           f"--print-to-pdf={out}", src.as_uri()]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise RenderError(f"{src}: Chromium did not finish printing within {timeout:.0f} s") from None
    if proc.returncode != 0 or not out.is_file():
        raise RenderError(f"{src}: Chromium could not print it (exit {proc.returncode}): "
                          f"{(proc.stderr or '').strip().splitlines()[-1:] or ''}")


def pdfs_for(pages: Iterable[str | Path], timeout: float = 120.0) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Print each page; returns (PDFs written, [(page, error)] for the ones that failed)."""
    done: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for pg in pages:
        try:
            done.append(html_to_pdf(pg, timeout=timeout))
        except RenderError as err:
            failed.append((Path(pg), str(err)))
    return done, failed


__all__ = ["find_chromium", "html_to_pdf", "pdf_path", "pdfs_for"]
