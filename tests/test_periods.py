"""kpi_lib.periods, the one home of period arithmetic: hand-worked labels and property checks against an
independent pandas computation (the implementation it replaced used pandas offsets)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpi_lib import periods as P
from kpi_lib.errors import DefinitionError

DAYS = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31))
KINDS = st.sampled_from(P.PERIODS)


def test_hand_worked_labels():
    assert P.period_kind("2026-W45") == "week" and P.period_kind("2026") == "year"
    assert P.period_bounds("2024-02") == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert P.period_bounds("2026-Q4") == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert P.period_bounds("2026-W01") == (dt.date(2025, 12, 29), dt.date(2026, 1, 4))
    assert P.shift_period("2026-01", -1) == "2025-12" and P.shift_period("2026-Q1", -1) == "2025-Q4"
    assert P.last_year("2026-11") == "2025-11" and P.last_year("2026-Q4") == "2025-Q4"
    assert P.last_year("2026") == "2025" and P.last_year("2024-02-29") == "2023-02-28"
    assert P.last_year("2026-W45") == "2025-W45"
    assert P.months_of("2026-Q4") == ["2026-10", "2026-11", "2026-12"]
    assert P.months_between(dt.date(2025, 11, 30), "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert P.months_between(None, "2026-02") == [] and P.months_between("2026-03", "2026-02") == []
    assert P.previous_month("2026-01") == "2025-12" and P.month_end("2026-02") == dt.date(2026, 2, 28)
    assert P.roll_up("2026-11", "quarter") == "2026-Q4" and P.roll_up("2026-11", "year") == "2026"
    assert P.previous_full_month(dt.date(2026, 1, 15)) == "2025-12"


@pytest.mark.parametrize("bad", ["2026-13", "2026-Q5", "26-01", "2026-W60", "", "2026-02-30"])
def test_bad_labels_are_user_errors_naming_the_label(bad):
    with pytest.raises(DefinitionError, match="period label|valid"):
        P.period_bounds(bad)


def test_months_of_refuses_days_and_weeks():
    with pytest.raises(DefinitionError, match="month, quarter or year"):
        P.months_of("2026-W45")


@given(DAYS, KINDS)
def test_label_contains_its_date_and_matches_pandas(d, kind):
    lbl = P.period_label(d, kind)
    s, e = P.period_bounds(lbl)
    assert s <= d <= e
    # independent: pandas periods (weeks by ISO calendar, which pandas' W-SUN periods share for Mon..Sun)
    if kind in ("month", "quarter", "year"):
        pp = pd.Period(d, freq={"month": "M", "quarter": "Q", "year": "Y"}[kind])
        assert (s, e) == (pp.start_time.date(), pp.end_time.date())
    if kind == "week":
        pp = pd.Period(d, freq="W-SUN")
        assert (s, e) == (pp.start_time.date(), pp.end_time.date())


@given(DAYS, KINDS, st.integers(-40, 40))
def test_shift_is_contiguous_and_invertible(d, kind, n):
    lbl = P.period_label(d, kind)
    assert P.shift_period(P.shift_period(lbl, n), -n) == lbl
    nxt = P.shift_period(lbl, 1)
    assert P.period_bounds(nxt)[0] == P.period_bounds(lbl)[1] + dt.timedelta(days=1)
    if kind in ("month", "quarter", "year"):
        old = P.period_label(pd.Timestamp(P.period_bounds(lbl)[0]) + pd.DateOffset(
            months={"month": 1, "quarter": 3, "year": 12}[kind] * n), kind)  # the replaced pandas rule
        assert P.shift_period(lbl, n) == old


@given(DAYS, st.sampled_from(["month", "quarter", "year"]))
def test_last_year_is_twelve_months_back(d, kind):
    lbl = P.period_label(d, kind)
    s, _ = P.period_bounds(P.last_year(lbl))
    s0, _ = P.period_bounds(lbl)
    assert (s.year, s.month) == (s0.year - 1, s0.month)


@given(DAYS, DAYS)
def test_months_between_matches_pandas(a, b):
    want = [p.strftime("%Y-%m") for p in pd.period_range(a, b, freq="M")]  # month periods: same month, any order
    assert P.months_between(a, b) == want
