"""A raw text table's columns as typed Arrow/numpy columns, with the readers' parsing rules.

The readers' pandas column parsers (``parse.col_text`` / ``col_number`` / ``col_int`` /
``col_datetime``) cost a few pandas steps each per column; these do the common case in one Arrow
compute step and hand anything else to those parsers (the rules keep one definition):

- ``text``: the stripped cells (``utf8_trim_whitespace``, what pandas' ``.str.strip()`` runs);
- ``numbers``: plain numbers in one Arrow cast, as ``col_number`` tries first; a column with any
  other cell (symbols, separators, a comma decimal mark) goes through ``col_number`` itself;
- ``datetimes``: ``col_datetime`` on the column's distinct texts (dictionary-encoded), spread back;
- ``FirstBad``: the first failing check and its reason per row, as ``BadRows`` collects them.

``tests/test_ingest_settlement_fast.py`` compares them (through the settlement reader) with the
pandas parsers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .parse import arrow_floats, col_datetime, col_number, whole

_EMPTY = pa.scalar("", pa.large_string())
_NS_PER_DAY = 86_400 * 10**9


def arrow_text_frame(df: pd.DataFrame) -> bool:
    """True when every column but the line numbers is Arrow-backed text (what ``frames`` reads)."""
    return all(
        isinstance(df[c].dtype, pd.StringDtype) and df[c].dtype.storage == "pyarrow"
        for c in df.columns if c != "__line"
    )


def as_arrow(s: pd.Series) -> pa.ChunkedArray:
    """An Arrow-backed text column's data, without a copy."""
    arr = pa.array(s.array)
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def text(df: pd.DataFrame, col: str | None) -> pa.ChunkedArray:
    """A column's cells stripped of surrounding white space ('' when the column is missing), as
    ``parse.col_text`` gives them."""
    if col is None or col not in df.columns:
        return pa.chunked_array([pa.repeat(_EMPTY, len(df))], pa.large_string())
    return pc.utf8_trim_whitespace(pc.fill_null(as_arrow(df[col]), _EMPTY))


def text_at(df: pd.DataFrame, col: str | None, positions: np.ndarray) -> pa.ChunkedArray:
    """``text`` of the rows at ``positions`` only (stripping is per cell: take, then strip)."""
    if col is None or col not in df.columns:
        return pa.chunked_array([pa.repeat(_EMPTY, len(positions))], pa.large_string())
    return pc.utf8_trim_whitespace(pc.fill_null(as_arrow(df[col]).take(pa.array(positions)), _EMPTY))


def filled_anywhere_but(df: pd.DataFrame, col: str, rows: np.ndarray) -> bool:
    """True when a cell of ``col`` outside the rows marked in ``rows`` holds any character (white
    space included): the column is then not only the marked rows' own."""
    if col not in df.columns:
        return False
    lengths = pc.binary_length(pc.fill_null(as_arrow(df[col]), _EMPTY))
    return bool((np.asarray(lengths) > 0)[~rows].any())


def series(arr: pa.ChunkedArray | pa.Array) -> pd.Series:
    """Arrow text as a pandas ``string[pyarrow]`` column on a RangeIndex (no copy)."""
    if arr.type != pa.large_string():
        arr = pc.cast(arr, pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(arr))


def filled(arr: pa.ChunkedArray) -> np.ndarray:
    """Boolean mask of the non-empty cells."""
    return np.asarray(pc.not_equal(arr, _EMPTY))


def numbers(arr: pa.ChunkedArray, decimal: str = ".") -> tuple[np.ndarray, np.ndarray]:
    """Numbers of stripped text (NaN for an empty cell) and the mask of cells that are not numbers,
    as ``parse.col_number`` gives them: plain numbers in one Arrow cast; any other column (a cell
    with a symbol or separator, a comma decimal mark, an infinite value) goes through ``col_number``."""
    vals = arrow_floats(arr) if decimal != "," else None
    if vals is not None:
        return vals, np.zeros(len(vals), dtype=bool)
    v, bad = col_number(series(arr), decimal)
    return v.to_numpy(dtype="float64"), bad.to_numpy(dtype=bool)


def whole_numbers(arr: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Whole numbers as ``parse.col_int`` gives them: rounded floats (NaN = missing) and the mask of
    cells that are not numbers or have a fraction."""
    v, bad = numbers(arr, ".")
    r, wrong = whole(v)
    return r, bad | wrong


#: what Amazon's settlement dates look like: ISO 8601 to the second with a numeric offset (25 ASCII bytes)
_ISO_SECONDS_OFFSET = r"^(?:19|20)\d{2}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-](?:0\d|1[0-4]):[0-5]\d$"
_ISO_LEN = 25


def _iso_offset_local(u: pa.Array, tz: str | None) -> np.ndarray | None:
    """Naive local ``datetime64[ns]`` of distinct texts when every non-empty one is a valid
    ``YYYY-MM-DDTHH:MM:SS±HH:MM`` ('' → NaT); None otherwise (the caller then runs
    ``col_datetime``). The same instants as its ISO 8601 path (``pd.to_datetime(format="ISO8601",
    utc=True)``), converted to ``tz`` by the same pandas call. The fields are read from the cells'
    bytes (25 per cell); a value out of range (month 13, 30 February, 24:00, second 60) declines the
    whole column, so only texts pandas reads the same way are converted here."""
    filled_ = pc.not_equal(u, _EMPTY)
    cells = u.filter(filled_)
    n = len(cells)
    if not n or not pc.all(pc.match_substring_regex(cells, _ISO_SECONDS_OFFSET)).as_py():
        return None
    cells = pc.cast(cells, pa.large_string())
    offsets = np.frombuffer(cells.buffers()[1], dtype=np.int64)[cells.offset: cells.offset + n + 1]
    if not (np.diff(offsets) == _ISO_LEN).all():  # (the pattern is ASCII: 25 bytes; kept as a guard)
        return None
    raw = np.frombuffer(cells.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]].reshape(n, _ISO_LEN)
    d = raw.astype(np.int64) - 48

    def num(a: int, b: int) -> np.ndarray:
        out = np.zeros(n, dtype=np.int64)
        for k in range(a, b):
            out = out * 10 + d[:, k]
        return out

    year, month, day = num(0, 4), num(5, 7), num(8, 10)
    hour, minute, second = num(11, 13), num(14, 16), num(17, 19)
    if ((month < 1) | (month > 12)).any():
        return None
    first = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    day0 = first.astype("datetime64[D]").astype(np.int64)
    month_len = (first + 1).astype("datetime64[D]").astype(np.int64) - day0
    if ((day < 1) | (day > month_len) | (hour > 23) | (minute > 59) | (second > 59)).any():
        return None
    sign = np.where(raw[:, 19] == ord("-"), -1, 1)
    utc_s = (day0 + day - 1) * 86_400 + hour * 3600 + minute * 60 + second - sign * (num(20, 22) * 3600 + num(23, 25) * 60)
    conv = pd.Series((utc_s * 10**9).view("datetime64[ns]")).dt.tz_localize("UTC")
    if tz:
        conv = conv.dt.tz_convert(tz)
    out = np.full(len(u), np.datetime64("NaT", "ns"))
    out[np.asarray(filled_)] = conv.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    return out


def datetimes(arr: pa.ChunkedArray, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    """Naive local ``datetime64[ns]`` values of stripped text and the mask of unparseable cells:
    ``parse.col_datetime`` on the column's distinct texts, spread back to the rows (every rule of
    it is per distinct value; its day-first test sees the same distinct values). Distinct texts
    that are all ISO 8601 to the second with an offset are converted from their bytes (``_iso_offset_local``)."""
    enc = pc.dictionary_encode(arr).combine_chunks()
    uniq = enc.dictionary
    if len(uniq) == 0:
        return np.full(len(arr), np.datetime64("NaT", "ns")), np.zeros(len(arr), dtype=bool)
    idx = enc.indices.to_numpy()
    fast = _iso_offset_local(uniq, tz)
    if fast is not None:
        return fast[idx], np.zeros(len(arr), dtype=bool)
    v, b = col_datetime(series(uniq), tz)
    return v.to_numpy(dtype="datetime64[ns]")[idx], b.to_numpy(dtype=bool)[idx]


def floor_day(v: np.ndarray) -> np.ndarray:
    """``datetime64[ns]`` values floored to their day, as ``datetime64[ms]`` (a canonical DATE)."""
    i = v.view("int64")
    nat = np.isnat(v)
    out = (np.floor_divide(i, _NS_PER_DAY) * _NS_PER_DAY).view("datetime64[ns]")
    out = out.astype("datetime64[ms]")
    out[nat] = np.datetime64("NaT", "ms")
    return out


class FirstBad:
    """The first failing check per row (column and reason), like ``readers.amazon.common.BadRows``:
    the reason text is only built for the rows that fail."""

    def __init__(self, n: int) -> None:
        self.which = np.full(n, -1, dtype=np.int32)
        self.checks: list[tuple[str, str, pa.ChunkedArray | None, str]] = []

    def add(self, mask: np.ndarray, column: str, reason: str, raw: pa.ChunkedArray | None = None,
            suffix: str = "") -> None:
        """Mark rows of ``mask`` (unless already bad); the reason is ``reason + raw cell + suffix``."""
        hit = mask & (self.which < 0)
        if hit.any():
            self.which[hit] = len(self.checks)
            self.checks.append((column, reason, raw, suffix))

    def cannot_parse(self, mask: np.ndarray, column: str, raw: pa.ChunkedArray, expected: str) -> None:
        self.add(mask, column, f"cannot parse {column}: '", raw, f"' (expected {expected})")

    @property
    def mask(self) -> np.ndarray:
        return self.which >= 0

    def reasons(self) -> tuple[pd.Series, pd.Series]:
        """(reason, column) per row as object Series on a RangeIndex, missing where the row is good."""
        n = len(self.which)
        reason = pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="object")
        column = pd.Series(pd.NA, index=pd.RangeIndex(n), dtype="object")
        for k, (col, why, raw, suffix) in enumerate(self.checks):
            rows = np.flatnonzero(self.which == k)
            if raw is None:
                reason.iloc[rows] = why
            else:
                cells = raw.take(pa.array(rows)).to_pylist()
                reason.iloc[rows] = [f"{why}{'' if v is None else v}{suffix}" for v in cells]
            column.iloc[rows] = col
        return reason, column
