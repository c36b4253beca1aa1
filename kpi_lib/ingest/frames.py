"""Raw tabular files → string DataFrames with physical line numbers (``__line``).

Delimited text goes through pyarrow's CSV reader (string columns, no type guessing) with physical
1-based line numbers computed from the newline positions, so a quarantined row can be found in the
original file; files whose quoting spans lines, ragged rows or non-UTF-8 bytes fall back to the
exact ``csv`` module path. The encoding, delimiter, header line and decimal mark come from
``textio`` (decided once per file). xlsx workbooks are read with calamine.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import python_calamine

from ..errors import IngestError
from .base import csv_frame, normalize_header, unique_names
from .textio import TextLocale, decode_bytes, detect_encoding, text_locale

LINE = "__line"


def _utf8_bytes(path: Path, marketplace: str | None = None) -> bytes:
    """The file as UTF-8 bytes (BOM removed): the encoding is detected once (``textio``) and any
    other encoding (UTF-16, cp1252, GB18030, Shift-JIS) is re-encoded."""
    return _utf8_from_raw(path.read_bytes(), marketplace)[0]


def _utf8_from_raw(raw: bytes, marketplace: str | None = None) -> tuple[bytes, str]:
    """(UTF-8 bytes, detected encoding) of a file's bytes."""
    enc, skip = detect_encoding(raw, marketplace)
    if enc == "utf-8":
        return raw, enc
    if enc == "utf-8-sig":
        return raw[skip:], enc
    return decode_bytes(raw, marketplace)[0].encode("utf-8"), enc


def _utf8_text(raw: bytes) -> tuple[bytes, str]:
    """Valid UTF-8 bytes and text (other encodings, detected by ``textio``, are re-encoded)."""
    try:
        return raw, raw.decode("utf-8")
    except UnicodeDecodeError:
        text = decode_bytes(raw)[0]
        return text.encode("utf-8"), text


def read_delimited(path: Path, sep: str, quoted: bool) -> pd.DataFrame:
    """The file as string columns (header = first line) plus ``__line`` (physical 1-based line).

    Blank lines and rows whose cells are all empty are not rows. ``quoted=False`` reads ``"`` as an
    ordinary character (Amazon's tab-separated flat files do not quote: a title may hold ``12"``).
    """
    return read_utf8_table(_utf8_bytes(path), sep, quoted)


def read_delimited_locale(
    path: Path, quoted: bool, marketplace: str | None = None, sep: str | None = None
) -> tuple[pd.DataFrame, TextLocale]:
    """Like ``read_delimited``, with the file's locale (encoding, delimiter, header line after a
    preamble, decimal mark) decided once by ``textio`` and returned for the reconciliation too.
    ``__line`` stays the physical line number of the original file."""
    raw = path.read_bytes()
    data, enc = _utf8_from_raw(raw, marketplace)
    head = data[: 1 << 20].decode("utf-8", errors="ignore")
    loc = text_locale(head, enc, enc.endswith("-sig") or raw[:2] in (b"\xff\xfe", b"\xfe\xff"), sep)
    body = data
    for _ in range(loc.header_line):
        nl = body.find(b"\n")
        body = body[nl + 1:] if nl >= 0 else b""
    df = read_utf8_table(body, loc.delimiter, quoted)
    if loc.header_line:
        df[LINE] = df[LINE] + loc.header_line
    return df, loc


def _empty_lines(raw: bytes) -> tuple[int, np.ndarray]:
    """Number of lines, and the 1-based numbers of empty lines (a lone ``\r`` is empty too).

    One vectorised pass over the newline positions (searching the bytes for ``\n\n`` and
    ``\n\r\n`` cost 2.5× more on a 5 MB settlement file); ``tests/test_ingest_fastpaths_s7.py``
    compares it with that search."""
    n_lines = raw.count(b"\n") + (0 if raw.endswith(b"\n") or not raw else 1)
    if not n_lines:
        return 0, np.zeros(0, dtype="int64")
    buf = np.frombuffer(raw, dtype=np.uint8)
    nl = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], nl + 1))[:n_lines]
    ends = np.concatenate((nl, [len(raw)]))[:n_lines]
    length = ends - starts
    cr = np.zeros(len(ends), dtype=bool)
    cr[length > 0] = buf[ends[length > 0] - 1] == 13
    return n_lines, (np.flatnonzero(length - cr == 0) + 1).astype("int64")


def read_utf8_table(raw: bytes, sep: str, quoted: bool) -> pd.DataFrame:
    n_lines, empty = _empty_lines(raw)
    if n_lines == 0:
        return pd.DataFrame({LINE: pd.Series([], dtype="int64")})
    first_nl = raw.find(b"\n")
    header_text = (raw if first_nl < 0 else raw[:first_nl]).decode("utf-8", errors="replace").rstrip("\r")
    header = next(csv.reader([header_text], delimiter=sep)) if quoted else header_text.split(sep)
    names = unique_names([h.replace("\ufeff", "") for h in header])
    lines = np.arange(2, n_lines + 1, dtype="int64")
    data_lines = lines[~np.isin(lines, empty)] if len(empty) else lines
    df: pd.DataFrame | None = None
    if len(data_lines) == 0:
        df = pd.DataFrame({n: pd.Series([], dtype="string[pyarrow]") for n in names})
        df[LINE] = pd.Series([], dtype="int64")
        return df
    try:
        tbl = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(
                delimiter=sep,
                quote_char='"' if quoted else False,
                newlines_in_values=False,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},  # what pandas' arrow strings hold
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        if tbl.num_rows == len(data_lines):
            # rows of empty cells only (e.g. a line of tabs) are blank lines too
            total = None
            for col in tbl.columns:
                n = pc.binary_length(col)
                total = n if total is None else pc.add(total, n)
            short = np.flatnonzero(np.asarray(pc.less_equal(total, 8)))  # a few spaces at most
            keep = np.ones(tbl.num_rows, dtype=bool)
            if len(short):
                sub = tbl.take(pa.array(short))
                blank = np.ones(len(short), dtype=bool)
                for col in sub.columns:
                    blank &= np.asarray(pc.equal(pc.utf8_trim_whitespace(col), ""))
                keep[short[blank]] = False
            if not keep.all():
                tbl = tbl.filter(pa.array(keep))
                data_lines = data_lines[keep]
            df = tbl.to_pandas(types_mapper={pa.large_string(): pd.StringDtype("pyarrow")}.get)
            df[LINE] = data_lines
    except Exception:  # noqa: BLE001 - ragged rows, quoted newlines, not UTF-8: the exact slow path handles them
        df = None
    if df is None:
        raw2, text = _utf8_text(raw)
        if raw2 is not raw:  # not UTF-8: start again on the re-encoded bytes
            return read_utf8_table(raw2, sep, quoted)
        df = csv_frame(text, sep) if quoted else _split_unquoted(text, sep, names)
        for c in df.columns:
            if c != LINE:
                df[c] = df[c].fillna("").astype("string[pyarrow]")
        df[LINE] = df[LINE].astype("int64")
    return df.reset_index(drop=True)


def _split_unquoted(text: str, sep: str, names: list[str]) -> pd.DataFrame:
    """Tab-separated text without quoting, tolerant of short/long rows (extra cells dropped)."""
    rows, lines = [], []
    for i, line in enumerate(text.split("\n")[1:], start=2):  # str.splitlines also splits on \x0c, \x85…
        line = line.rstrip("\r")
        cells = line.split(sep)
        if not "".join(cells).strip():
            continue
        cells = (cells + [""] * len(names))[: len(names)]
        rows.append(cells)
        lines.append(i)
    df = pd.DataFrame(rows, columns=names, dtype="object")
    df[LINE] = lines
    return df


def read_xlsx(path: Path, header_pred) -> tuple[pd.DataFrame, int]:
    """First sheet as object columns plus ``__line`` (sheet row number); header = first row matching.

    Read with calamine (Rust), about 30× faster than openpyxl on order exports; it also ignores a
    wrong ``<dimension>`` record (the real Amazon ads workbook declares ``A1:A1``).
    """
    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
        values = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # noqa: BLE001 - any reader failure is an unreadable file
        raise IngestError(f"{path}: cannot open the xlsx workbook ({exc})") from None
    header: list[str] | None = None
    header_row = 0
    rows: list[list[object]] = []
    lines: list[int] = []
    for r, row in enumerate(values, start=1):
        row = [None if (isinstance(v, str) and v == "") else v for v in row]
        if header is None:
            if header_pred([normalize_header(v) for v in row]):
                header = ["" if v is None else str(v) for v in row]
                header_row = r
            continue
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        rows.append(row)
        lines.append(r)
    if header is None:
        raise IngestError(f"{path}: no header row found in the first sheet")
    n = len(header)
    rows = [(list(r) + [None] * n)[:n] for r in rows]
    df = pd.DataFrame(rows, columns=unique_names(header), dtype="object")
    df[LINE] = pd.Series(lines, dtype="int64")
    return df, header_row
