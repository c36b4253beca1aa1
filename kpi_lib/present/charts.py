"""Charts a printout keeps: one plotly theme, a title and unit on every chart, values printed on bars and
waterfalls, a "no data for this period" note instead of an empty chart, an optional same-month-last-year
line, sized for an A4 page; and the figure-to-HTML embedding.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.utils import PlotlyJSONEncoder

from ..errors import RenderError
from ..labels import label
from .fmt import (
    CURRENCY_SYMBOLS,
    FONT,
    PALETTE,
    STATUS_COLORS,
    esc,
    fmt_money,
    fmt_pct,
    fmt_value,
    is_missing,
)
from .plotly_bundle import TRACE_TYPES

__all__ = ['A4_WIDTH', 'bar_chart', 'chart_html', 'chart_or_note', 'has_values', 'line_chart', 'money_axis', 'money_tick', 'no_data_note', 'set_theme', 'style_figure', 'unit_title', 'waterfall_chart', 'waterfall_levels']










A4_WIDTH = 680  # px: the printable width of an A4 page at 96 dpi with 15 mm margins


def unit_title(unit: str, currency: str = "CNY", lang: str = "zh") -> str:
    """The axis title naming a chart's unit: '金额（¥）' / 'Amount (¥)', '%', 'pp'."""
    if unit == "money":
        sym = CURRENCY_SYMBOLS.get(currency, currency).strip()
        return label("chart.amount", lang).format(unit=sym)
    if unit == "pct":
        return label("chart.percent", lang)
    if unit == "pp":
        return label("chart.points", lang)
    if unit == "count":
        return label("chart.count", lang)
    if unit == "points":
        return label("chart.score_points", lang)
    return ""


def money_tick(v: float, currency: str = "CNY", lang: str = "zh", digits: int = 0) -> str:
    """An axis tick in the words of the printed amounts: ¥600万 / ¥6M beside bars labelled ¥601.7万 / ¥6.02M
    (plotly's own ticks would read 6M in a zh report); ``digits`` for ticks under one unit apart (¥0.25)."""
    text = fmt_money(v, currency, lang, digits=digits, compact=True)
    for unit in ("万", "亿", "M", "k"):
        text = text.replace(f".0{unit}", unit).replace(f".00{unit}", unit)
    return text


def _nice_step(span: float, n: int = 5) -> float:
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def money_axis(fig: Any, extent: Sequence[Any], currency: str = "CNY", lang: str = "zh", axis: str = "y") -> Any:
    """Money ticks on ``axis`` covering ``extent`` (every level the bars or lines reach, 0 included), labelled
    by :func:`money_tick`; the axis is left to plotly when there is nothing to span."""
    vals = [float(v) for v in extent if not is_missing(v)] + [0.0]
    lo, hi = min(vals), max(vals)
    if hi - lo <= 0 or not math.isfinite(hi - lo):
        return fig
    step = _nice_step(hi - lo)
    ticks = [k * step for k in range(math.floor(lo / step), math.ceil(hi / step) + 1)]
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    digits = 0 if step >= 1 else 2
    update(tickmode="array", tickvals=ticks, ticktext=[money_tick(v, currency, lang, digits) for v in ticks])
    return fig


def waterfall_levels(values: Sequence[float], measures: Sequence[str]) -> list[float]:
    """The levels a waterfall's bars reach: an 'absolute' bar sets the running total, a 'relative' bar moves
    it, a 'total' bar shows it (plotly ignores a total's own value)."""
    level, out = 0.0, []
    for v, m in zip(values, measures):
        level = v if m == "absolute" else level if m == "total" else level + v
        out.append(level)
    return out


THEME = "plotly_white"
_THEMES: dict[int, Any] = {}


def set_theme(fig: Any) -> Any:
    """``fig.layout.template = "plotly_white"``, without plotly's per-figure deep copy and validation of
    the whole template (≈ 15 ms a chart): the registered template is validated and copied once per
    process (again when it is re-registered), and each figure gets a plain copy of its properties,
    as plotly itself assigns the default template to a new figure. The figure JSON is the same."""
    registered = pio.templates[THEME]
    theme = _THEMES.get(id(registered))
    if theme is None:
        _THEMES.clear()
        theme = _THEMES[id(registered)] = copy.deepcopy(registered)
    layout = fig.layout
    validate = layout._validate
    layout._validate = False  # the template was validated once above
    try:
        layout.template = theme
    finally:
        layout._validate = validate
    return fig


def style_figure(fig: Any, title: str | None = None, height: int = 320, y_title: str = "",
                 x_title: str = "") -> Any:
    """Apply the shared chart theme to a plotly figure (in place) and return it: the title above the
    plot, axis titles (the unit), legend below, margins that fit an A4 page."""
    set_theme(fig)
    fig.update_layout(
        colorway=PALETTE, height=height,
        margin={"l": 60, "r": 24, "t": 48 if title else 20, "b": 48},
        font={"family": FONT, "size": 12}, legend={"orientation": "h", "y": -0.22},
        title={"text": esc(title), "x": 0.01, "font": {"size": 14}} if title else None,
        uniformtext={"minsize": 9, "mode": "hide"},
    )
    if y_title:
        fig.update_yaxes(title={"text": y_title})
    if x_title:
        fig.update_xaxes(title={"text": x_title})
    return fig


_chart_seq = 0


def reset_ids() -> None:
    """Number the next report's charts from 1 again (the runner calls it before each report, so a page
    is the same whichever worker rendered it, and whatever it rendered before)."""
    global _chart_seq
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
    missing = {str(tr.get("type") or "scatter") for tr in spec.get("data", [])} - TRACE_TYPES
    if missing:
        raise RenderError(f"chart uses plotly trace type(s) {sorted(missing)} that the page's plotly.js bundle "
                          f"lacks (it has {sorted(TRACE_TYPES)}); see kpi_lib/present/static/README.md")
    payload = json.dumps({"data": spec.get("data", []), "layout": spec.get("layout", {})},
                         cls=_PlotlyEncoder, ensure_ascii=False)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = ((spec.get("layout") or {}).get("title") or {}).get("text") or ""
    # kpiPlot (defined by the page) defers drawing until plotly.js is loaded
    return (f'<figure class="chart-box"><div class="chart" id="{div_id}" data-title="{esc(title)}"></div>'
            f'<script type="text/javascript">'
            f'(window.kpiPlot||function(f){{f();}})(function(){{var s={payload};Plotly.newPlot("{div_id}",s.data,'
            f's.layout,{{displaylogo:false,responsive:true,displayModeBar:false}});}});</script></figure>')


class _PlotlyEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        try:
            return PlotlyJSONEncoder().default(o)
        except TypeError:
            return str(o)


def has_values(values: Sequence[Any]) -> bool:
    """Whether a series has anything to draw (some value present and not every value zero)."""
    vals = [float(v) for v in values if not is_missing(v)]
    return bool(vals) and any(v != 0 for v in vals)


def no_data_note(title: str, lang: str = "zh") -> str:
    """What replaces an empty chart: its title and '本期无数据' (never a flat zero line)."""
    return (f'<div class="chart-empty"><div class="chart-empty-title">{esc(title)}</div>'
            f'<p class="empty">{esc(label("chart.no_data", lang))}</p></div>')


def chart_or_note(fig: Any, values: Sequence[Any], title: str, lang: str = "zh") -> str:
    """``chart_html(fig)`` when ``values`` hold data, else the no-data note."""
    return chart_html(fig) if has_values(values) else no_data_note(title, lang)


def _vals(values: Sequence[Any]) -> list[float | None]:
    return [None if is_missing(v) else float(v) for v in values]


def line_chart(df: pd.DataFrame, x: str, ys: Mapping[str, str], title: str | None = None,
               percent: bool = False, y_title: str = "", yoy: Mapping[str, str] | None = None,
               currency: str | None = None, lang: str = "zh") -> Any:
    """A styled line chart; ``ys`` = {column: legend label}; ``yoy`` = {column: legend label} adds the
    same columns as dashed lines (e.g. the same month last year, already aligned on ``x``); ``currency``:
    money ticks (:func:`money_axis`)."""
    fig = go.Figure()
    for i, (col, name) in enumerate(ys.items()):
        if col in df:
            fig.add_trace(go.Scatter(x=list(df[x].astype(str)), y=_vals(df[col]), mode="lines+markers", name=name,
                                     line={"color": PALETTE[i % len(PALETTE)]}))
    for i, (col, name) in enumerate((yoy or {}).items()):
        if col in df and has_values(df[col]):
            fig.add_trace(go.Scatter(x=list(df[x].astype(str)), y=_vals(df[col]), mode="lines", name=name,
                                     line={"color": PALETTE[i % len(PALETTE)], "dash": "dot", "width": 1.5}))
    fig.update_xaxes(type="category")  # periods as written ('2026-03'), not a date axis in English
    if percent:
        fig.update_yaxes(tickformat=".0%")
    elif currency:
        money_axis(fig, [v for col in [*ys, *(yoy or {})] if col in df for v in _vals(df[col])], currency, lang)
    return style_figure(fig, title, y_title=y_title)


def _texts(vals: list[float | None], fmt: Callable[[Any], str] | None, percent: bool) -> list[str]:
    f = fmt or (fmt_pct if percent else (lambda v: fmt_value(v, "count")))
    return ["" if v is None else f(v) for v in vals]


def bar_chart(labels: Sequence[str], values: Sequence[float], title: str | None = None, horizontal: bool = False,
              percent: bool = False, fmt: Callable[[Any], str] | None = None, y_title: str = "",
              currency: str | None = None, lang: str = "zh") -> Any:
    """Bars with their value printed on each bar (``fmt`` formats it), negative bars red; ``currency``:
    money ticks (:func:`money_axis`)."""
    vals = _vals(values)
    colors = [PALETTE[0] if (v or 0) >= 0 else STATUS_COLORS["red"] for v in vals]
    text = _texts(vals, fmt, percent)
    if horizontal:
        fig = go.Figure(go.Bar(y=list(labels), x=vals, orientation="h", marker_color=colors, text=text,
                               textposition="auto", cliponaxis=False))
        fig.update_yaxes(autorange="reversed", automargin=True)
        if y_title:
            fig.update_xaxes(title={"text": y_title})
    else:
        fig = go.Figure(go.Bar(x=list(labels), y=vals, marker_color=colors, text=text, textposition="auto",
                               cliponaxis=False))
        fig.update_xaxes(automargin=True)
    if percent:
        (fig.update_xaxes if horizontal else fig.update_yaxes)(tickformat=".0%")
    elif currency:
        money_axis(fig, vals, currency, lang, axis="x" if horizontal else "y")
    height = max(320, 28 * len(vals) + 100) if horizontal else 340
    return style_figure(fig, title, height=height, y_title="" if horizontal else y_title)


def waterfall_chart(labels: Sequence[str], values: Sequence[float], measures: Sequence[str] | None = None,
                    title: str | None = None, fmt: Callable[[Any], str] | None = None, y_title: str = "",
                    currency: str = "CNY", lang: str = "zh", money: bool = True) -> Any:
    """A waterfall; ``measures`` per bar: 'absolute', 'relative' or 'total'; each bar's amount printed;
    ``money``: money ticks on the value axis (:func:`money_axis`), False for a waterfall of another unit."""
    vals = [0.0 if is_missing(v) else float(v) for v in values]
    measures = list(measures or ["relative"] * len(vals))
    f = fmt or (lambda v: fmt_money(v, currency, lang, compact=True))
    fig = go.Figure(go.Waterfall(
        x=list(labels), y=vals, measure=measures,
        text=[f(v) for v in vals], textposition="outside", cliponaxis=False,
        increasing={"marker": {"color": STATUS_COLORS["green"]}},
        decreasing={"marker": {"color": STATUS_COLORS["red"]}},
        totals={"marker": {"color": PALETTE[0]}}, connector={"line": {"color": "#a0aec0"}},
    ))
    fig.update_xaxes(automargin=True, tickangle=-30 if len(vals) > 6 else 0)
    fig.update_yaxes(automargin=True)
    if money:
        money_axis(fig, waterfall_levels(vals, measures), currency, lang)
    return style_figure(fig, title, height=400, y_title=y_title)
