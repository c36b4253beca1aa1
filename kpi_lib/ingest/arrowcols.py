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


# ------------------------------------------------------------------ the mapping reader's columns

def arrow_text_column(s: pd.Series) -> bool:
    """True when ``s`` is Arrow-backed text (a column ``frames`` read)."""
    return isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"


def distinct(arr: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    """(code per cell, -1 where missing; the distinct values as Python objects in order of first
    appearance), as ``pd.factorize`` gives them, from Arrow's dictionary encoding."""
    enc = pc.dictionary_encode(arr)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks else pa.DictionaryArray.from_arrays(
            pa.array([], pa.int32()), pa.array([], arr.type))
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return codes, enc.dictionary.to_pylist()


#: fixed-width fields of a ``strftime`` format as the exports write them (zero-padded)
_WIDTHS = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2, "%I": 2, "%p": 2}


def _layout(fmt: str) -> tuple[dict[str, int], dict[int, int], int] | None:
    """(field → byte position, literal byte by position, width) of a format made of zero-padded
    ``%Y %m %d %H %M %S %I %p`` and ASCII punctuation or single spaces; None for any other format."""
    fields: dict[str, int] = {}
    literal: dict[int, int] = {}
    pos = i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            f = fmt[i:i + 2]
            if f not in _WIDTHS or f in fields:
                return None
            fields[f] = pos
            pos += _WIDTHS[f]
            i += 2
            continue
        ch = fmt[i]
        if not (ch in "-/.:T " or ch == ","):
            return None
        literal[pos] = ord(ch)
        pos += 1
        i += 1
    colons = [p for p, b in literal.items() if b == ord(":")]
    if colons and any(b == ord("-") and p > min(colons) for p, b in literal.items()):
        return None  # "…1:30-0800" would be a zone offset to ``parse_datetime`` (``TZ_SUFFIX``)
    need = {"%Y", "%m", "%d"}
    if not need <= set(fields) or ("%I" in fields) != ("%p" in fields) or ("%H" in fields and "%I" in fields):
        return None
    if ("%M" in fields or "%S" in fields) and not ({"%H", "%I"} & set(fields)):
        return None
    if "%S" in fields and "%M" not in fields:
        return None
    return fields, literal, pos


def _cell_bytes(texts: list[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the texts that are ``width`` ASCII bytes, those texts as an ``(n, width)`` byte matrix)."""
    arr = pa.array(texts, pa.large_string())
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[: n + 1]
    fits = np.diff(offsets) == width
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8) if arr.buffers()[2] is not None else np.zeros(0, np.uint8)
    at = offsets[:-1][fits]
    raw = data[at[:, None] + np.arange(width)] if len(at) else np.zeros((0, width), dtype=np.uint8)
    ascii_ = (raw < 128).all(axis=1)
    fits[np.flatnonzero(fits)[~ascii_]] = False
    return fits, raw[ascii_]


def _digits(raw: np.ndarray, at: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(the number in bytes ``at … at + width`` of each row, mask of the rows where all are digits)."""
    d = raw[:, at: at + width].astype(np.int64) - 48
    ok = ((d >= 0) & (d <= 9)).all(axis=1)
    out = np.zeros(len(raw), dtype=np.int64)
    for k in range(width):
        out = out * 10 + d[:, k]
    return out, ok


def _local_ns(year: np.ndarray, month: np.ndarray, day: np.ndarray, hour: np.ndarray, minute: np.ndarray,
              second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(nanoseconds since 1970, mask of the valid rows): a row with a field out of range (month 13,
    30 February, 24:00, second 60, a year outside 1900–2199) is not valid."""
    ok = (year >= 1900) & (year <= 2199) & (month >= 1) & (month <= 12)
    y, mo = np.where(ok, year, 1970), np.where(ok, month, 1)
    first = ((y - 1970) * 12 + mo - 1).astype("datetime64[M]")
    day0 = first.astype("datetime64[D]").astype(np.int64)
    month_len = (first + 1).astype("datetime64[D]").astype(np.int64) - day0
    ok &= (day >= 1) & (day <= month_len) & (hour <= 23) & (minute <= 59) & (second <= 59)
    return ((day0 + day - 1) * 86_400 + hour * 3600 + minute * 60 + second) * 10**9, ok


def _unread(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(all-NaT values, mask of the texts read: the empty ones, positions of the others) to start a
    byte-level date read of distinct stripped texts."""
    empty = np.array([t == "" for t in texts], dtype=bool)
    return np.full(len(texts), np.datetime64("NaT", "ns")), empty, np.flatnonzero(~empty)


def fixed_datetimes(texts: np.ndarray, fmt: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(``datetime64[ns]`` values, mask of the texts read) of distinct stripped texts: '' is NaT, and
    a text written exactly in ``fmt``'s fixed-width layout (zero-padded fields, upper-case AM/PM)
    with valid fields is what ``pd.to_datetime(format=fmt)`` gives it; the other texts are not read
    (the caller gives them to ``parse.parse_datetime``, whose rules decide them). None when ``fmt``
    is not such a layout."""
    lay = _layout(fmt)
    if lay is None:
        return None
    fields, literal, width = lay
    out, read, cand = _unread(texts)
    if not len(cand):
        return out, read
    fits, raw = _cell_bytes([texts[i] for i in cand], width)
    ok = np.ones(len(raw), dtype=bool)
    for pos, b in literal.items():
        ok &= raw[:, pos] == b
    got = {}
    for f, at in fields.items():
        if f != "%p":
            got[f], o = _digits(raw, at, _WIDTHS[f])
            ok &= o
    zero = np.zeros(len(raw), dtype=np.int64)
    if "%I" in fields:
        p = fields["%p"]
        am = (raw[:, p] == ord("A")) & (raw[:, p + 1] == ord("M"))
        pm = (raw[:, p] == ord("P")) & (raw[:, p + 1] == ord("M"))
        i12 = got["%I"]
        ok &= (am | pm) & (i12 >= 1) & (i12 <= 12)
        hour = i12 % 12 + np.where(pm, 12, 0)
    else:
        hour = got.get("%H", zero)
    ns, valid = _local_ns(got["%Y"], got["%m"], got["%d"], hour, got.get("%M", zero), got.get("%S", zero))
    ok &= valid
    rows = cand[np.flatnonzero(fits)[ok]]
    out[rows] = ns[ok].view("datetime64[ns]")
    read[rows] = True
    return out, read


_OFFSET_WIDTH = 25  # YYYY-MM-DD HH:MM:SS +HHMM


def offset_datetimes(texts: np.ndarray, tz: str | None) -> tuple[np.ndarray, np.ndarray]:
    """(naive local ``datetime64[ns]`` values, mask of the texts read) of distinct stripped texts: ''
    is NaT, and ``YYYY-MM-DD HH:MM:SS ±HHMM`` (Shopify's ``Created at``) with valid fields and an
    offset up to ±14:59 is the instant ``parse.parse_datetime`` reads (ISO 8601, UTC), converted to
    ``tz`` by its own pandas calls; the other texts are not read (the caller gives them to
    ``parse_datetime``)."""
    out, read, cand = _unread(texts)
    if not len(cand):
        return out, read
    fits, raw = _cell_bytes([texts[i] for i in cand], _OFFSET_WIDTH)
    ok = np.ones(len(raw), dtype=bool)
    for pos, ch in ((4, "-"), (7, "-"), (10, " "), (13, ":"), (16, ":"), (19, " ")):
        ok &= raw[:, pos] == ord(ch)
    sign_b = raw[:, 20]
    ok &= (sign_b == ord("+")) | (sign_b == ord("-"))
    parts = []
    for a, w in ((0, 4), (5, 2), (8, 2), (11, 2), (14, 2), (17, 2), (21, 2), (23, 2)):
        v, o = _digits(raw, a, w)
        parts.append(v)
        ok &= o
    year, month, day, hour, minute, second, oh, om = parts
    ok &= (oh <= 14) & (om <= 59)
    ns, valid = _local_ns(year, month, day, hour, minute, second)
    ok &= valid
    sign = np.where(sign_b == ord("-"), -1, 1)
    utc = (ns - sign * (oh * 3600 + om * 60) * 10**9)[ok]
    conv = pd.Series(utc.view("datetime64[ns]")).dt.tz_localize("UTC")
    if tz:
        conv = conv.dt.tz_convert(tz)
    rows = cand[np.flatnonzero(fits)[ok]]
    out[rows] = conv.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    read[rows] = True
    return out, read
