"""The report page: nbconvert's body (outputs only) wrapped in our page with plotly.js once, no CDN.

HTML conversion is in-process: the report cells' HTML outputs in nbconvert's ``basic`` layout
(:func:`direct_body`; nbconvert itself for any other notebook), inputs, prompts and parameters cells
left out; :func:`page` adds the title, table of contents, CSS and plotly.js
(inlined gzip+base64, or referenced once per period folder with ``bundle``).
"""

from __future__ import annotations

import re
from typing import Any

import nbformat

from ..labels import tidy_zh
from ..present import PAGE_CSS, TOC_SLOT, esc, t
from ..present.plotly_bundle import plotly_js as bundle_js
from ..present.plotly_bundle import plotly_js_gzip_b64 as bundle_gzip_b64


def plotly_js() -> str:
    """The partial plotly.js bundle the report charts need (kpi_lib.present.plotly_bundle, 1.2 MB)."""
    return bundle_js()


def plotly_js_gzip_b64() -> str:
    """plotly.js gzipped and base64-encoded (≈0.54 MB) for self-contained pages."""
    return bundle_gzip_b64()


# Charts call kpiPlot(fn): run now when Plotly is loaded, else queue until it is.
_PLOTLY_QUEUE = ('<script type="text/javascript">window.__kpiQ=[];window.kpiPlot=function(f){'
                 'if(window.Plotly){f();}else{window.__kpiQ.push(f);}};window.__kpiFlush=function(){'
                 'var q=window.__kpiQ;window.__kpiQ=[];q.forEach(function(f){f();});};</script>')


# Self-contained: plotly.js inlined once, gzip+base64, unpacked by the browser (DecompressionStream),
# so a report stays well under 5 MB with no network access at all.
_PLOTLY_INLINE = ('<script type="text/javascript">(function(){var b=atob("@B64@");var u=new Uint8Array(b.length);'
                  'for(var i=0;i<b.length;i++){u[i]=b.charCodeAt(i);}'
                  'new Response(new Blob([u]).stream().pipeThrough(new DecompressionStream("gzip"))).text()'
                  '.then(function(js){var s=document.createElement("script");s.text=js;document.head.appendChild(s);'
                  'window.__kpiFlush();});})();</script>')

_H2 = re.compile(r'<h2 (?=[^>]*class="section")[^>]*id="([^"]+)"[^>]*>(.*?)</h2>', re.DOTALL)
_H1 = re.compile(r'<h1 class="report-title">(.*?)</h1>', re.DOTALL)


def page(body: str, lang: str, plotly_src: str | None = None) -> str:
    """Wrap nbconvert's body in our page: title, table of contents, CSS, plotly.js once, no CDN."""

    if lang == "zh":
        body = tidy_zh(body)
    m = _H1.search(body)
    title = m.group(1) if m else "Report"
    items = "".join(f'<li><a href="#{i}">{h}</a></li>' for i, h in _H2.findall(body))
    toc = f'<nav class="toc"><b>{esc(t("contents", lang))}</b><ol>{items}</ol></nav>' if items else ""
    body = body.replace(TOC_SLOT, toc, 1)
    script = _PLOTLY_QUEUE + (f'<script type="text/javascript" src="{plotly_src}" onload="window.__kpiFlush()"></script>' if plotly_src
                              else _PLOTLY_INLINE.replace("@B64@", plotly_js_gzip_b64()))
    return (f'<!DOCTYPE html>\n<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>'
            f"<style>{PAGE_CSS}</style>{script}</head><body><main class=\"report\">{body}</main></body></html>\n")


class HtmlConverter:
    """Outputs only, no prompts, no parameters cells: :func:`direct_body`, else in-process nbconvert (one
    exporter per worker, made on first use)."""

    def __init__(self) -> None:
        self._exporter: Any = None

    @property
    def exporter(self) -> Any:
        """nbconvert's ``basic`` HTMLExporter with inputs, prompts and parameters cells excluded."""
        if self._exporter is None:
            from nbconvert import HTMLExporter  # 0.2 s to import, 0.3 s to a first page: only when needed
            from traitlets.config import Config

            c = Config()
            c.HTMLExporter.exclude_input = True
            c.HTMLExporter.exclude_input_prompt = True
            c.HTMLExporter.exclude_output_prompt = True
            c.TagRemovePreprocessor.enabled = True
            c.TagRemovePreprocessor.remove_cell_tags = set(_REMOVED_TAGS)
            self._exporter = HTMLExporter(config=c, template_name="basic")
        return self._exporter

    def body(self, nb: nbformat.NotebookNode) -> str:
        """The notebook's outputs as nbconvert's ``basic`` body (:func:`direct_body` when it can say)."""
        fast = direct_body(nb)
        if fast is not None:
            return fast
        nb = nbformat.from_dict(nb)
        for cell in nb.cells:
            if cell.get("cell_type") == "code":  # warnings and prints are not for readers
                cell["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]
            elif cell.get("cell_type") == "markdown":
                cell["source"] = ""
        body, _ = self.exporter.from_notebook_node(nb)
        return body


_REMOVED_TAGS = frozenset({"parameters", "injected-parameters"})


def direct_body(nb: Any) -> str | None:
    """nbconvert's ``basic`` body, written directly, for a notebook whose cells are code cells with ids
    showing only HTML (``display_data`` with ``text/html``; stream outputs are dropped as
    :class:`HtmlConverter` drops them): what every report template makes.

    The same page as the exporter's: the exporter's last step re-serializes its whole output with
    BeautifulSoup (attributes sorted, entities normalised), and this body, put through that step, is
    byte for byte the exporter's (tests/test_report_html.py). It takes well under a millisecond,
    against 30–50 ms a page (300 ms for an exporter's first). None for anything else (a markdown cell,
    an error, an image…): the exporter then writes it."""
    out: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or not cell.get("id"):
            return None
        if _REMOVED_TAGS & set(cell.get("metadata", {}).get("tags", ())):
            continue
        parts = []
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            if kind == "stream":
                continue
            html = o.get("data", {}).get("text/html") if kind == "display_data" else None
            if html is None or o.get("metadata"):
                return None
            html = "".join(html) if isinstance(html, list) else html
            parts.append(f'<div class="output_area">\n<div class="output_html rendered_html output_subarea">{html}'
                         "</div>\n</div>\n")
        out.append(f'<div class="cell border-box-sizing code_cell rendered" id="cell-id={cell["id"]}">\n')
        if parts:
            out.append('<div class="output_wrapper">\n<div class="output">\n' + "".join(parts) + "</div>\n</div>\n")
        out.append("</div>\n")
    return "".join(out)
