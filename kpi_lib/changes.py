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
"""

from __future__ import annotations

import math

from .definitions import Catalog, load_catalog
from .metrics import period_kind, shift_period

_YEAR = {"day": None, "week": None, "month": 12, "quarter": 4, "year": 1}


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
    kind = period_kind(period)
    lag = _YEAR[kind]
    return {"mom": shift_period(period, -1), "yoy": shift_period(period, -lag) if lag else None}


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


__all__ = ["change", "format_change", "is_good", "prior_periods"]
