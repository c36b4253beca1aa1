"""Charts: one plotly theme, the figure-to-HTML embedding, line, bar and waterfall charts."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from .fmt import FONT, PALETTE, STATUS_COLORS, _missing

__all__ = ['bar_chart', 'chart_html', 'line_chart', 'style_figure', 'waterfall_chart']








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

