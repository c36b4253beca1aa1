"""Formatting and labels: numbers, money, percentages, changes, status badges, zh/en words."""

from __future__ import annotations

import html
import math
import re
from typing import Any

import pandas as pd

from ..labels import catalog

__all__ = ['BAD_COLOR', 'CURRENCY_SYMBOLS', 'DASH', 'DASH_INCOMPLETE', 'FONT', 'GOOD_COLOR', 'LABELS', 'LANGS', 'PALETTE', 'SOURCE_LABELS', 'STATUS_COLORS', 'STATUS_LABELS', 'badge', 'change_html', 'esc', 'fmt_change', 'fmt_incomplete', 'fmt_money', 'fmt_number', 'fmt_pct', 'fmt_value', 'missing_reason', 'nz', 'pill', 'slug', 't']














LANGS = ("zh", "en")

# UI labels come from the one zh/en catalog (kpi_lib/labels/*.yaml); KPI names from the KPI catalog.
LABELS: dict[str, tuple[str, str]] = {k: (v["zh"], v["en"]) for k, v in catalog().items()
                                      if not k.startswith(("status.", "source."))}
STATUS_LABELS = {k.split(".", 1)[1]: (v["zh"], v["en"]) for k, v in catalog().items() if k.startswith("status.")}
STATUS_COLORS = {"green": "#1a7f37", "amber": "#b7791f", "red": "#c53030", "none": "#718096",
                 "incomplete": "#a0aec0"}
# what a missing source is called on the page ("缺少广告数据" / "no ads data")
SOURCE_LABELS: dict[str, tuple[str, str]] = {k.split(".", 1)[1]: (v["zh"], v["en"]) for k, v in catalog().items()
                                             if k.startswith("source.")}
GOOD_COLOR, BAD_COLOR = "#1a7f37", "#c53030"
CURRENCY_SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "SGD": "S$", "MYR": "RM",
                    "THB": "฿"}

# chart theme: one palette and layout for every plotly figure
PALETTE = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096", "#d69e2e"]
FONT = "-apple-system, 'Segoe UI', 'Noto Sans CJK SC', 'Microsoft YaHei', Helvetica, Arial, sans-serif"


def t(key: str, lang: str = "zh") -> str:
    """The UI label ``key`` in ``lang`` (falls back to the key itself)."""
    zh, en = LABELS.get(key, (key, key))
    return en if lang == "en" else zh


def esc(value: Any) -> str:
    """HTML-escape any value shown in a report (names come from data and are never trusted)."""
    return html.escape("" if value is None else str(value), quote=True)


def is_missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v)) or (isinstance(v, float) and math.isinf(v))
    except (TypeError, ValueError):
        return False


DASH = "–"
DASH_INCOMPLETE = "—"


def nz(x: float, digits: int) -> float:
    """``x``, or 0.0 when it rounds to zero at ``digits`` decimals (so a page never shows '-0.0')."""
    return 0.0 if round(x, digits) == 0 else x


def fmt_number(v: Any, digits: int = 0, lang: str = "zh") -> str:
    """Thousands-separated number (never '-0')."""
    if is_missing(v):
        return DASH
    return f"{nz(float(v), digits):,.{digits}f}"


def fmt_money(v: Any, currency: str = "CNY", lang: str = "zh", digits: int = 0, compact: bool = False) -> str:
    """Money with the currency symbol (or code); ``compact`` gives 12.3万 / 123.4k."""
    if is_missing(v):
        return DASH
    x = nz(float(v), digits)
    sym = CURRENCY_SYMBOLS.get(currency, currency + " ")
    sign = "-" if x < 0 else ""
    x = abs(x)
    if compact:
        if lang == "zh":
            if x >= 1e8:
                return f"{sign}{sym}{x / 1e8:.2f}亿"
            if x >= 1e4:
                return f"{sign}{sym}{x / 1e4:.1f}万"
        else:
            if x >= 1e6:
                return f"{sign}{sym}{x / 1e6:.2f}M"
            if x >= 1e3:
                return f"{sign}{sym}{x / 1e3:.1f}k"
    return f"{sign}{sym}{x:,.{digits}f}"


def fmt_pct(v: Any, digits: int = 1, signed: bool = False) -> str:
    """A fraction as a percentage ('12.3%', '+1.0%' when ``signed``); never '-0.0%'."""
    if is_missing(v):
        return DASH
    x = nz(float(v), digits + 2)
    return f"{x:+.{digits}%}" if signed else f"{x:.{digits}%}"


def fmt_value(v: Any, unit: str, currency: str = "CNY", lang: str = "zh", per_unit: bool = False) -> str:
    """Format a KPI value by its catalog unit (money, count, pct, ratio, days, hours).

    Money per unit (``per_unit``: CPC, average order value, profit per order) keeps two decimals
    ('¥7.23', not '¥7'); other money is shown in whole units."""
    if is_missing(v):
        return DASH
    if unit == "money":
        return fmt_money(v, currency, lang, 2 if per_unit else 0)
    if unit == "pct":
        return fmt_pct(v)
    if unit == "count":
        return fmt_number(v)
    if unit == "ratio":
        return f"{nz(float(v), 2):,.2f}×"
    if unit == "days":
        return fmt_number(v, 1) + t("unit.days_suffix", lang)
    if unit == "hours":
        return fmt_number(v, 1) + t("unit.hours_suffix", lang)
    return fmt_number(v, 2)


def missing_reason(missing: Any, lang: str = "zh") -> str:
    """'缺少广告、流量数据' / 'no ads, traffic data' for the engine's missing sources ('' when none named)."""
    if missing is None or (isinstance(missing, float) and math.isnan(missing)):
        return ""
    items = missing if isinstance(missing, (list, tuple, set)) else str(missing).replace(";", ",").split(",")
    names = [SOURCE_LABELS.get(str(m).strip(), (str(m).strip(), str(m).strip()))[1 if lang == "en" else 0]
             for m in items if str(m).strip()]
    names = list(dict.fromkeys(names))
    if not names:
        return ""
    return t("missing.sources", lang).format(sources=t("punct.list", lang).join(names))


def fmt_incomplete(missing: Any = "", lang: str = "zh") -> str:
    """An incomplete figure: a dash and the reason ("— 缺少广告数据"), never a number computed with zeros."""
    r = missing_reason(missing, lang)
    return f"{DASH_INCOMPLETE} {r}" if r else f'{DASH_INCOMPLETE} {t("missing.unknown", lang)}'


def fmt_change(delta: Any, unit: str = "%", digits: int = 1) -> str:
    """A change as kpi_lib.changes gives it: '+2.1 pp' (delta in points) for rates, '+0.42 x' for ratios,
    '+17.0%' (delta a fraction) for money and counts; never '-0.0'."""
    if is_missing(delta):
        return DASH
    d = float(delta)
    if unit == "pp":
        return f"{nz(d, digits):+.{digits}f} pp"
    if unit == "x":
        return f"{nz(d, 2):+.2f} x"
    return fmt_pct(d, digits, signed=True)


def change_html(delta: Any, unit: str, good: Any) -> str:
    """fmt_change coloured by the KPI's direction (green good, red bad, plain when unchanged/unknown)."""
    txt = esc(fmt_change(delta, unit))
    if good is None or is_missing(delta) or (isinstance(good, float) and math.isnan(good)):
        return txt
    return f'<span class="chg {"good" if good else "bad"}" style="color:{GOOD_COLOR if good else BAD_COLOR}">{txt}</span>'


def badge(status: Any, lang: str = "zh") -> str:
    """A red/amber/green pill for a status (unknown → grey 'no target')."""
    s = str(status) if str(status) in STATUS_COLORS else "none"
    zh, en = STATUS_LABELS[s]
    return (f'<span class="badge badge-{s}" style="background:{STATUS_COLORS[s]}">'
            f"{esc(en if lang == 'en' else zh)}</span>")


def pill(status: str, text: str) -> str:
    """A coloured pill in a status colour with its own words (severities: 高 / 中 / 低)."""
    s = status if status in STATUS_COLORS else "none"
    return f'<span class="badge badge-{s}" style="background:{STATUS_COLORS[s]}">{esc(text)}</span>'


def slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return s or "section"

