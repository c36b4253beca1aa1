"""Changes the way readers read them: rates in percentage points, money and counts in per cent.

- ``change(kpi, current, prior)`` → ``(delta, unit)``: for KPIs whose unit is ``pct`` (rates, margins,
  shares) or ``ratio`` (ROAS, turnover: "x") the change is the difference in **percentage points**
  (``unit = "pp"``; 26.7 % vs 22.8 % → +3.9 pp) or in x (``unit = "x"``); for money, counts, days
  and hours it is the **relative** change (``unit = "%"``, as a fraction: 0.17 = +17 %), NaN when the
  prior is 0 or missing.
- ``prior_periods(period)`` → ``{"mom": label, "yoy": label}``: the previous period of the same kind
  and the same period last year (``mom`` is the previous quarter for a quarter label, etc.).
- ``is_good(kpi, delta)`` → True / False / None following the KPI's better direction (None when the
  delta is 0 or unknown).
- ``coverage_text(kpi, stores_covered, stores_total, missing, lang)`` → "Conversion rate over 4 of 11
  stores (missing traffic data)" for a figure that does not cover every store ('' when complete).
"""

from __future__ import annotations

import math

from .definitions import Catalog, load_catalog
from .periods import last_year, period_kind, shift_period


def _num(x: object) -> float:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return v


def change(kpi: str, current: float | None, prior: float | None,
           catalog: Catalog | None = None) -> tuple[float, str]:
    """(delta, unit): ``pp`` (percentage points, e.g. 3.9) for pct KPIs, ``x`` for ratio KPIs,
    ``%`` (relative change as a fraction, e.g. 0.17) for money, counts, days and hours."""
    unit = (catalog or load_catalog()).get(kpi).unit
    c, p = _num(current), _num(prior)
    if unit == "pct":
        return (c - p) * 100.0, "pp"
    if unit == "ratio":
        return c - p, "x"
    if not math.isfinite(p) or p == 0 or not math.isfinite(c):
        return math.nan, "%"
    return (c - p) / abs(p), "%"


def prior_periods(period: str) -> dict[str, str | None]:
    """``{"mom": previous period, "yoy": same period last year}`` (yoy None for days and weeks)."""
    yoy = last_year(period) if period_kind(period) in ("month", "quarter", "year") else None
    return {"mom": shift_period(period, -1), "yoy": yoy}


def is_good(kpi: str, delta: float | None, catalog: Catalog | None = None) -> bool | None:
    """Whether a change is good for the KPI (direction up: rises are good; down: falls are good)."""
    d = _num(delta)
    if not math.isfinite(d) or d == 0:
        return None
    up = (catalog or load_catalog()).get(kpi).direction == "up"
    return (d > 0) == up


def format_change(kpi: str, delta: float, unit: str) -> str:
    """``+3.9 pp``, ``-0.42 x``, ``+17.0%``; ``–`` when unknown."""
    if not math.isfinite(_num(delta)):
        return "–"
    if unit == "pp":
        return f"{delta:+.1f} pp"
    if unit == "x":
        return f"{delta:+.2f} x"
    return f"{delta * 100:+.1f}%"


_SOURCE_NAMES = {
    "en": {"orders": "order", "fees": "fee", "ads": "ads", "traffic": "traffic", "inventory": "inventory",
           "costs": "unit-cost"},
    "zh": {"orders": "订单", "fees": "费用", "ads": "广告", "traffic": "流量", "inventory": "库存", "costs": "成本"},
}


def coverage_text(kpi: str, stores_covered: int, stores_total: int, missing: str = "", lang: str = "en",
                  catalog: Catalog | None = None) -> str:
    """How many stores a figure covers, for a page: "Conversion rate over 4 of 11 stores (missing: traffic)".

    Empty string when the figure is complete (every store covered).
    """
    if stores_total <= 0 or stores_covered >= stores_total:
        return ""
    name = (catalog or load_catalog()).name(kpi, lang)
    kinds = [m.strip() for m in str(missing or "").split(",") if m.strip()]
    names = [_SOURCE_NAMES.get(lang, _SOURCE_NAMES["en"]).get(k, k) for k in kinds]
    if lang == "zh":
        tail = f"(缺少{'、'.join(names)}数据)" if names else ""
        return f"{name}：基于{stores_total}家店铺中的{stores_covered}家{tail}"
    tail = f" (missing {', '.join(names)} data)" if names else ""
    return f"{name} over {stores_covered} of {stores_total} stores{tail}"


__all__ = ["change", "coverage_text", "format_change", "is_good", "prior_periods"]
