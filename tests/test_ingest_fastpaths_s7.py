"""The seventh session's ingest fast paths give exactly what the paths they short-cut give (issue 15.2):

- ``parse.parse_datetime`` parses a text column once per distinct value: the same timestamps and
  bad-cell marks as parsing every cell (formats tried in order, the day-first test, offsets and
  zone names, missing and empty cells, unparseable text);
- ``mapping._stripped_text`` strips a text column once per distinct value: the same text as
  stripping every cell;
- ``pipeline.currency_codes`` and ``schemas.const_text`` (the constant text columns of ``prepare``
  and of the Amazon readers' ``table_frame``) are Arrow-backed: the same values and dtype ``conform``
  makes of the object columns they replace;
- ``frames._empty_lines`` finds empty lines in one vectorised pass: the same lines as searching the
  bytes (the search is kept below as the reference): CR/LF, lone ``\r``, leading and trailing newlines.

``rowkeys.KeyIndex`` now looks keys up in sorted order; ``tests/test_ingest_rowkeys.py`` compares it
with the per-row loop. The whole ingest is compared by ``bench/ingest_same.py`` (every table's digest).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kpi_lib.ingest import frames, parse, pipeline
from kpi_lib.ingest.readers import mapping
from kpi_lib.schemas import ARROW_STR, conform, const_text

DATES = ["2026-03-05 10:15", "2026-03-05 10:15", "05/03/2026", "13/03/2026", "03/05/2026", "2026-03-05T10:15:00+08:00",
         "2026-03-05T23:59:59Z", "2026-03-05 10:15:00 PST", "05.07.2025 22:07:18 UTC", "Mar 5, 2026", "20260305",
         "", "  ", "not a date", "2026-02-30", "2026/03/05 10:15:00", " 2026-03-05 ", "45000"]


def _column(seed: int, n: int = 400, with_missing: bool = True) -> list:
    rng = np.random.default_rng(seed)
    vals: list = [DATES[i] for i in rng.integers(0, len(DATES), n)]
    if with_missing:
        for i in rng.integers(0, n, n // 10):
            vals[i] = None
    return vals


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("dtype", [object, "string", "string[pyarrow]"])
@pytest.mark.parametrize("kw", [{}, {"dayfirst": True}, {"tz": "Asia/Kuala_Lumpur"},
                                {"formats": ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"], "tz": "America/Los_Angeles"}])
def test_parse_datetime_per_distinct_value_equals_per_cell(seed: int, dtype: object, kw: dict) -> None:
    s = pd.Series(_column(seed), dtype=dtype, index=pd.RangeIndex(100, 500))
    got_v, got_b = parse.parse_datetime(s, **kw)
    want_v, want_b = parse._parse_datetime_cells(s, kw.get("formats"), kw.get("tz"), kw.get("dayfirst", False))
    assert got_v.nunique() > 3 and got_b.any()  # the fixture exercises parsed and bad cells
    pd.testing.assert_series_equal(got_v, want_v, check_names=False)
    pd.testing.assert_series_equal(got_b, want_b, check_names=False)


def test_parse_datetime_dayfirst_decided_on_the_whole_column() -> None:
    """One cell with a day > 12 makes every dd/mm cell day-first, also when it is repeated many times."""
    s = pd.Series(["03/05/2026"] * 300 + ["13/05/2026"], dtype=object)
    v, b = parse.parse_datetime(s)
    assert v.iloc[0] == pd.Timestamp("2026-05-03") and not b.any()


def test_parse_datetime_numbers_in_object_columns_parsed_cell_by_cell() -> None:
    """1, 1.0 and True factorize as one value but are different text: such a column is not de-duplicated."""
    s = pd.Series([1, 1.0, True, "2026-01-01"] * 40, dtype=object)
    got_v, got_b = parse.parse_datetime(s)
    want_v, want_b = parse._parse_datetime_cells(s, None, None, False)
    pd.testing.assert_series_equal(got_v, want_v)
    pd.testing.assert_series_equal(got_b, want_b)


def _strip_before(s: pd.Series) -> pd.Series:
    return s.astype("object").fillna("").astype(str).str.strip()


TEXT_CELLS = [
    [" a ", "a", "b\t", None, np.nan, "", "  ", "\x1c x \x1f", "\u3000y\u00a0", "z"] * 20,  # repeats: per distinct value
    [f" {i} " for i in range(200)],  # all distinct: the per-cell path
    [None] * 100,
]
MIXED_CELLS = [1, 1.0, True, " t "] * 30  # not all text: the per-cell path (1, 1.0 and True are one key to factorize)


# an Arrow text column holds text only: the mixed cells go with the object dtype alone
@pytest.mark.parametrize(("cells", "dtype"), [(c, d) for c in TEXT_CELLS for d in (object, "string[pyarrow]")]
                         + [(MIXED_CELLS, object)])
def test_stripped_text_equals_strip_of_every_cell(cells: list, dtype: object) -> None:
    s = pd.Series(cells, dtype=dtype, index=pd.RangeIndex(7, 7 + len(cells)))
    got = mapping._stripped_text(s)
    pd.testing.assert_series_equal(got, _strip_before(s))
    assert all(type(v) is str for v in got)


def test_currency_codes_arrow_backed_equal_to_the_object_column_conformed() -> None:
    s = pd.Series([" usd", None, "", "EUR", "myr "] * 30, dtype=object, index=pd.RangeIndex(3, 153))
    got = pipeline.currency_codes(s, "USD")
    want = pd.Series([(str(v).strip().upper() if v is not None else "") or "USD" for v in s], index=s.index)
    assert got.dtype == ARROW_STR
    pd.testing.assert_series_equal(got, conform(pd.DataFrame({"c": want}), {"c": "string"})["c"], check_names=False)


def test_constant_text_column_equals_the_conformed_scalar() -> None:
    idx = pd.RangeIndex(5, 105)
    got = const_text("AMZ-US-01/settlements/1.txt", idx)
    want = conform(pd.DataFrame({"c": "AMZ-US-01/settlements/1.txt"}, index=idx), {"c": "string"})["c"]
    pd.testing.assert_series_equal(got, want, check_names=False)
    assert const_text(None, idx) is None  # not text: left to conform as before


def _empty_lines_search(raw: bytes) -> tuple[int, np.ndarray]:
    """``frames._empty_lines`` as it was (bytes searched for ``\\n\\n`` / ``\\n\\r\\n``), the reference."""
    n_lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") or not raw else 1)
    hits: list[int] = []
    for pat in (b"\n\n", b"\n\r\n"):
        i = raw.find(pat)
        while i != -1:
            hits.append(i)
            i = raw.find(pat, i + 1)
    if raw.endswith(b"\n\r"):
        hits.append(len(raw) - 2)
    if raw.startswith((b"\n", b"\r\n")):
        hits.append(-1)
    hits.sort()
    lines = []
    before, prev = 0, 0
    for h in hits:
        if h < 0:
            lines.append(1)
            continue
        before += raw.count(b"\n", prev, h)
        prev = h
        lines.append(before + 2)
    return n_lines, np.array(lines, dtype="int64")


@pytest.mark.parametrize("seed", range(40))
def test_empty_lines_vectorised_equals_the_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pieces = [b"a", b"\t", b"\n", b"\r\n", b"\r", b"\n\n", b"\n\r\n", b"xy\tz"]
    raw = b"".join(pieces[i] for i in rng.integers(0, len(pieces), int(rng.integers(0, 60))))
    n, got = frames._empty_lines(raw)
    n0, want = _empty_lines_search(raw)
    assert n == n0 and got.tolist() == want.tolist(), raw


@pytest.mark.parametrize("raw", [b"", b"\n", b"\r\n", b"a\n\r", b"\na\n\nb\n", b"a\r\n\r\nb", b"h\n\n\n"])
def test_empty_lines_edges(raw: bytes) -> None:
    n, got = frames._empty_lines(raw)
    n0, want = _empty_lines_search(raw)
    assert n == n0 and got.tolist() == want.tolist()
