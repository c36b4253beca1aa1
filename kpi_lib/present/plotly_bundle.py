"""The plotly.js a report page loads: a partial bundle covering the trace types reports draw.

Charts in reports use scatter, bar and waterfall traces only; the plotly.js "finance" partial bundle
(vendored in ``static/``, see its README) covers them at a quarter of the full bundle's size, so a
self-contained page stays well under 1 MB. A figure using a trace type outside :data:`TRACE_TYPES`
would not draw: :func:`kpi_lib.present.charts.chart_html` refuses it.
"""

from __future__ import annotations

import base64
import gzip
from functools import lru_cache
from pathlib import Path

BUNDLE = Path(__file__).parent / "static" / "plotly-finance.min.js"
TRACE_TYPES = frozenset({"bar", "candlestick", "funnel", "funnelarea", "histogram", "indicator", "ohlc", "pie",
                         "scatter", "waterfall"})

__all__ = ["BUNDLE", "TRACE_TYPES", "plotly_js", "plotly_js_gzip_b64"]


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The partial plotly.js bundle's source (1.2 MB)."""
    return BUNDLE.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def plotly_js_gzip_b64() -> str:
    """The bundle gzipped and base64-encoded for inlining in a self-contained page (≈0.5 MB)."""
    return base64.b64encode(gzip.compress(plotly_js().encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")
