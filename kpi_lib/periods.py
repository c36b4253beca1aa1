"""Period labels: the one home of period arithmetic (a leaf module: imports nothing from kpi_lib but errors).

Labels are strings: ``2026-11-07`` (day), ``2026-W45`` (ISO week), ``2026-11`` (month), ``2026-Q4``
(quarter), ``2026`` (year). :func:`period_kind` names a label's kind, :func:`period_bounds` gives its
inclusive first and last day, :func:`period_label` the label of a date, :func:`shift_period` moves
``n`` periods, :func:`last_year` is the same period one year earlier (the lag every "vs last year"
and growth target uses), :func:`months_of` / :func:`months_between` list YYYY-MM months.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from .errors import DefinitionError

PERIODS = ("day", "week", "month", "quarter", "year")

_RX = [
    ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")),
    ("week", re.compile(r"^(\d{4})-W(\d{2})$")),
    ("month", re.compile(r"^(\d{4})-(\d{2})$")),
    ("quarter", re.compile(r"^(\d{4})-Q([1-4])$")),
    ("year", re.compile(r"^(\d{4})$")),
]
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
#: periods of each kind in one year: the lag of "same period last year"
YEAR_LAG = {"week": 52, "month": 12, "quarter": 4, "year": 1}


def period_kind(label: str) -> str:
    """The period kind of a label (DefinitionError when it is not a period label)."""
    for kind, rx in _RX:
        if rx.match(str(label)):
            return kind
    raise DefinitionError(
        f"{label!r} is not a period label (expected 2026-11-07, 2026-W45, 2026-11, 2026-Q4 or 2026)"
    )


def period_label(date: Any, period: str = "month") -> str:
    """The label of the ``period`` (day, week, month, quarter, year) holding ``date``."""
    d = pd.Timestamp(date)
    if period == "day":
        return d.strftime("%Y-%m-%d")
    if period == "week":
        y, w, _ = d.isocalendar()
        return f"{y}-W{w:02d}"
    if period == "month":
        return d.strftime("%Y-%m")
    if period == "quarter":
        return f"{d.year}-Q{(d.month - 1) // 3 + 1}"
    if period == "year":
        return f"{d.year}"
    raise DefinitionError(f"unknown period {period!r}; use one of {', '.join(PERIODS)}")


def period_bounds(label: str) -> tuple[dt.date, dt.date]:
    """Inclusive first and last day of a period label."""
    kind = period_kind(label)
    m = dict(_RX)[kind].match(str(label))
    assert m
    g = [int(x) for x in m.groups()]
    try:
        return _bounds(kind, g)
    except ValueError:
        raise DefinitionError(f"{label!r} is not a valid {kind} label") from None


def _bounds(kind: str, g: list[int]) -> tuple[dt.date, dt.date]:
    if kind == "day":
        d = dt.date(*g)
        return d, d
    if kind == "week":
        s = dt.date.fromisocalendar(g[0], g[1], 1)
        return s, s + dt.timedelta(days=6)
    if kind == "month":
        s = dt.date(g[0], g[1], 1)
    elif kind == "quarter":
        s = dt.date(g[0], 3 * (g[1] - 1) + 1, 1)
    else:
        s = dt.date(g[0], 1, 1)
    return s, _add_months(s, _MONTHS[kind]) - dt.timedelta(days=1)


def _add_months(first: dt.date, n: int) -> dt.date:
    """The first day of the month ``n`` months after ``first``'s month."""
    k = first.year * 12 + first.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


def shift_period(label: str, n: int) -> str:
    """The label ``n`` periods later (negative: earlier)."""
    kind = period_kind(label)
    s, _ = period_bounds(label)
    if kind == "day":
        return period_label(s + dt.timedelta(days=n), "day")
    if kind == "week":
        return period_label(s + dt.timedelta(weeks=n), "week")
    return period_label(_add_months(s, _MONTHS[kind] * n), kind)


def last_year(label: str) -> str:
    """The same period one year earlier (``2026-11`` → ``2025-11``, ``2026-Q4`` → ``2025-Q4``,
    ``2026-W45`` → 52 weeks earlier, a day → the same date last year, 29 Feb → 28 Feb)."""
    kind = period_kind(label)
    if kind == "day":
        d = period_bounds(label)[0]
        try:
            return period_label(d.replace(year=d.year - 1), "day")
        except ValueError:  # 29 February
            return period_label(d.replace(year=d.year - 1, day=28), "day")
    return shift_period(label, -YEAR_LAG[kind])


def to_date(x: Any, end: bool = False) -> dt.date | None:
    """A date from a date, timestamp, ISO string or period label (its first day, or last when ``end``)."""
    if x is None:
        return None
    if isinstance(x, str):
        try:
            period_kind(x)
        except DefinitionError:
            return pd.Timestamp(x).date()
        s, e = period_bounds(x)
        return e if end else s
    return pd.Timestamp(x).date()


def month_of(date: Any) -> str:
    """The YYYY-MM month of a date."""
    return period_label(date, "month")


def months_between(first: Any, last: Any) -> list[str]:
    """Every YYYY-MM month from the month of ``first`` to the month of ``last`` (inclusive; [] when
    either is missing or ``last`` is before ``first``)."""
    if first is None or last is None:
        return []
    a, b = to_date(first), to_date(last, end=True)
    assert a is not None and b is not None
    out, m = [], dt.date(a.year, a.month, 1)
    while m <= b:
        out.append(f"{m.year:04d}-{m.month:02d}")
        m = _add_months(m, 1)
    return out


def months_of(period: str) -> list[str]:
    """The months (YYYY-MM) of a month, quarter or year label (DefinitionError for other labels)."""
    kind = period_kind(period)
    if kind not in _MONTHS:
        raise DefinitionError(f"{period!r} is not a month, quarter or year label (expected 2026-11, 2026-Q4 or 2026)")
    s, e = period_bounds(period)
    return months_between(s, e)


def month_end(month: str) -> dt.date:
    """The last day of a YYYY-MM month."""
    return period_bounds(month)[1]


def previous_month(month: str) -> str:
    """The month before a YYYY-MM month."""
    return shift_period(month, -1)


def previous_full_month(today: dt.date | None = None) -> str:
    """The month before ``today``'s month (the default when there is no data at all)."""
    return month_of((today or dt.date.today()).replace(day=1) - dt.timedelta(days=1))


def roll_up(month: str, kind: str) -> str:
    """The ``kind`` (month, quarter, year) label holding a YYYY-MM month."""
    if kind not in _MONTHS:
        raise DefinitionError(f"period kind {kind!r}: expected month, quarter or year")
    return period_label(f"{month}-01", kind)
