"""Number and date parsing (kpi_lib.ingest.parse): dash dates are dates, offsets need a time."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from kpi_lib.ingest.parse import parse_datetime


def _one(text: str, **kw: object) -> pd.Timestamp:
    v, bad = parse_datetime(pd.Series([text]), **kw)
    assert not bad.iloc[0], text
    return v.iloc[0]


def test_dash_date_is_a_date_not_an_offset() -> None:
    """``01-07-2025`` used to be read as 01-07 with a -20:25 offset; it is a date."""
    assert _one("01-07-2025") == pd.Timestamp("2025-01-07")  # month first, as for slashes
    assert _one("01-07-2025", dayfirst=True) == pd.Timestamp("2025-07-01")
    # a day above 12 in the column settles day-first for the whole column
    v, bad = parse_datetime(pd.Series(["01-07-2025", "25-12-2025"]))
    assert not bad.any()
    assert list(v) == [pd.Timestamp("2025-07-01"), pd.Timestamp("2025-12-25")]
    assert _one("31-01-2025 13:45:00") == pd.Timestamp("2025-01-31 13:45:00")


def test_offsets_after_a_time_still_convert() -> None:
    la = "America/Los_Angeles"
    assert _one("2025-07-01T10:00:00+00:00", tz=la) == pd.Timestamp("2025-07-01 03:00:00")
    assert _one("2025-07-01 10:00:00 -0700", tz=la) == pd.Timestamp("2025-07-01 10:00:00")
    assert _one("2025-07-01T17:00:00.250Z", tz=la) == pd.Timestamp("2025-07-01 10:00:00.250")
    assert _one("05.07.2025 22:07:18 UTC", tz=la) == pd.Timestamp("2025-07-05 15:07:18")
    assert _one("Jul 1, 2025 12:00:00 AM PDT", tz=la) == pd.Timestamp("2025-07-01 00:00:00")


@settings(max_examples=60, deadline=None)
@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_dash_dates_round_trip(d: dt.date) -> None:
    """Any day-first dash date parses back to itself (never shifted by a fake offset)."""
    v, bad = parse_datetime(pd.Series([d.strftime("%d-%m-%Y")]), dayfirst=True)
    assert not bad.iloc[0]
    assert v.iloc[0] == pd.Timestamp(d)
