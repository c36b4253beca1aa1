"""A second, deliberately simple parse of an export's money, for reconciliation.

The readers parse with pandas/pyarrow/calamine and many locale rules; the reconciliation must not
compare their result with itself. This module reads the raw file again with the ``csv`` module
(CSV/TSV) or the standard library's zipfile + XML streaming (xlsx, ``ingest.sheetxml``), cleans a
money cell with one short rule (drop currency codes and symbols, spaces and thousands separators)
and adds with ``Decimal``. What it cannot read as a number counts as
unreadable (``Column.unreadable``), never as zero in silence.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from . import sheetxml

_PLAIN = re.compile(r"-?\d+(?:\.\d+)?")
_CURRENCY = re.compile(r"^[A-Z]{3}(?![A-Za-z])|[A-Z]{3}$|[$€£¥₹฿₱₫]|RM|S\$|US\$|円|元")


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def money(text: object, decimal: str = ".") -> Decimal | None:
    """A money cell as Decimal (``None`` for an empty cell); raises ValueError when not a number."""
    if text is None:
        return None
    if isinstance(text, (int, float)):
        return Decimal(repr(text))
    if decimal == "." and isinstance(text, str) and _PLAIN.fullmatch(text):
        return Decimal(text)  # a plain number: the cleaning below would leave it as it is
    s = _CURRENCY.sub("", str(text)).replace("\u00a0", "").replace(" ", "").strip()
    if s == "":
        return None
    neg = s.startswith("(") and s.endswith(")")
    s = s.strip("()")
    thousands = "," if decimal == "." else "."
    s = s.replace(thousands, "").replace(decimal, ".")
    try:
        v = Decimal(s)
    except InvalidOperation:
        raise ValueError(f"not a number: {text!r}") from None
    return -v if neg else v


def rows(path: Path, sep: str | None = None, quoted: bool = True, header_row: int | None = None,
         header_has: str | None = None) -> Iterator[tuple[int, dict[str, object]]]:
    """(1-based physical line or sheet row, {header: cell}) for every non-blank data row.

    ``header_has``: the header is the first row holding a cell equal to it (title rows above it).
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        header: list[str] | None = None
        for i, values in sheetxml.rows(path):
            cells = ["" if v is None else v for v in values]
            if header is None:
                names = [str(c).strip() for c in cells]
                if (header_has is None and (header_row is None or i == header_row)) or header_has in names:
                    header = names
                continue
            if all(str(c).strip() == "" for c in cells):
                continue
            if len(cells) < len(header):
                cells += [""] * (len(header) - len(cells))
            yield i, dict(zip(header, cells))
        return
    text = _decode(path.read_bytes())
    lines = text.splitlines(keepends=True)
    if quoted:
        reader: Iterator[list[str]] = csv.reader(io.StringIO(text), delimiter=sep or ",")
        header = None
        line = 1
        for rec in reader:
            start = line
            line = reader.line_num + 1  # type: ignore[attr-defined]
            if header is None:
                if header_has is None or header_has in [c.strip() for c in rec]:
                    header = [c.strip() for c in rec]
                continue
            if not rec or all(c.strip() == "" for c in rec):
                continue
            yield start, dict(zip(header, rec))
        return
    header = None
    for i, ln in enumerate(lines, start=1):
        cells = ln.rstrip("\r\n").split(sep or "\t")
        if header is None:
            if header_has is None or header_has in [c.strip() for c in cells]:
                header = [c.strip() for c in cells]
            continue
        if all(c.strip() == "" for c in cells):
            continue
        yield i, dict(zip(header, cells))


def fields(path: Path, names: list[str], **read: object) -> Iterator[tuple[int, list[object]]]:
    """(line, ``[cell(rec, n) for n in names]``) for every row ``rows(path, **read)`` yields, without
    a dict per row for delimited text: each name's position is resolved once per header with
    ``cell``'s rule (the exact header name, its last occurrence; else the first header equal to it
    without regard to case or spacing). A row shorter than the header takes the dict path."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx" or not read.get("quoted", True) or read.get("header_has") is not None:
        for line, rec in rows(path, **read):  # type: ignore[arg-type]
            yield line, [cell(rec, n) for n in names]
        return
    reader: Iterator[list[str]] = csv.reader(io.StringIO(_decode(path.read_bytes())), delimiter=str(read.get("sep") or ","))
    header: list[str] | None = None
    at: list[int] = []
    line = 1
    for rec in reader:
        start = line
        line = reader.line_num + 1  # type: ignore[attr-defined]
        if header is None:
            header = [c.strip() for c in rec]
            at = [_position(header, n) for n in names]
            continue
        if not rec or all(c.strip() == "" for c in rec):
            continue
        if len(rec) < len(header):
            d = dict(zip(header, rec))
            yield start, [cell(d, n) for n in names]
        else:
            yield start, [rec[i] if i >= 0 else "" for i in at]


def _position(header: list[str], name: str) -> int:
    """Where ``cell(dict(zip(header, row)), name)`` finds its value in a full row (-1: nowhere)."""
    last = {h: i for i, h in enumerate(header)}  # dict(zip(...)) keeps a repeated name's last cell
    if name in last:
        return last[name]
    want = re.sub(r"\s+", " ", name).strip().lower()
    for k, i in last.items():  # insertion order = first occurrences, as the dict iterates
        if re.sub(r"\s+", " ", str(k)).strip().lower() == want:
            return i
    return -1


def cell(rec: dict[str, object], name: str) -> object:
    """A cell by header name, without regard to case or spacing ('' when the column is absent)."""
    if name in rec:
        return rec[name]
    want = re.sub(r"\s+", " ", name).strip().lower()
    for k, v in rec.items():
        if re.sub(r"\s+", " ", str(k)).strip().lower() == want:
            return v
    return ""


def text(rec: dict[str, object], name: str) -> str:
    v = cell(rec, name)
    return "" if v is None else str(v).strip()


def try_money(v: object, decimal: str = ".") -> Decimal:
    """``money`` with empty and unreadable cells as 0 (for rows the reader quarantines anyway)."""
    try:
        return money(v, decimal) or Decimal(0)
    except ValueError:
        return Decimal(0)


@dataclass
class Column:
    """The sum of one money column over the rows kept."""

    total: Decimal = Decimal(0)
    rows: int = 0
    unreadable: list[tuple[int, str]] = field(default_factory=list)  # (row, cell)


def column_total(path: Path, column: str, keep: Callable[[dict[str, object]], bool] | None = None,
                 decimal: str = ".", **read: object) -> Column:
    """Sum of ``column`` (header matched without regard to case) over the rows ``keep`` accepts."""
    if keep is None and not read.get("quoted", True) and path.suffix.lower() != ".xlsx" and read.get("header_row") is None:
        fast = _column_total_unquoted(Path(path), column, decimal, str(read.get("sep") or "\t"), read.get("header_has"))
        if fast is not None:
            return fast
    out = Column()
    for line, rec in rows(path, **read):  # type: ignore[arg-type]
        if keep is not None and not keep(rec):
            continue
        out.rows += 1
        raw = cell(rec, column)
        try:
            v = money(raw, decimal)
        except ValueError:
            out.unreadable.append((line, str(raw)))
            continue
        if v is not None:
            out.total += v
    return out


def _column_total_unquoted(path: Path, column: str, decimal: str, sep: str, header_has: object) -> Column | None:
    """``column_total`` of an unquoted text file without a dict per row: the same lines, header and
    blank-row rules as ``rows``, the cell found by position. None when the header does not name
    the column exactly (``cell`` then matches it without regard to case: the general path)."""
    lines = _decode(path.read_bytes()).splitlines(keepends=True)
    header: list[str] | None = None
    out = Column()
    at = -1
    for i, ln in enumerate(lines, start=1):
        line = ln.rstrip("\r\n")
        if header is None:
            cells = line.split(sep)
            if header_has is None or header_has in [c.strip() for c in cells]:
                header = [c.strip() for c in cells]
                want = re.sub(r"\s+", " ", column).strip().lower()
                if column not in header or sum(re.sub(r"\s+", " ", h).strip().lower() == want for h in header) > 1:
                    return None
                at = len(header) - 1 - header[::-1].index(column)  # dict(zip(...)) keeps the last
            continue
        if not line.replace(sep, "").strip():  # every cell empty or spaces: a blank row
            continue
        out.rows += 1
        cells = line.split(sep, at + 1)  # only as far as the cell wanted
        raw = cells[at] if at < len(cells) else ""
        try:
            v = money(raw, decimal)
        except ValueError:
            out.unreadable.append((i, raw))
            continue
        if v is not None:
            out.total += v
    return out
