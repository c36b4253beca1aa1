"""The first worksheet of an xlsx file as rows of cell values, with the standard library only.

For the reconciliation's second parse (``ingest.independent``): it must not share a library with
the readers (calamine), and openpyxl's read-only mode builds several Python objects per cell, which
made it a fifth of the whole ingest. This reads the zip with ``zipfile`` and streams the sheet's XML
with ``xml.etree.ElementTree.iterparse`` one ``<row>`` at a time (memory: one row), giving the
values openpyxl gives with ``data_only=True, values_only=True``:

- numbers as ``int`` (no ``.``/``e`` in the stored text) or ``float``; a number whose style is a
  date or time format as ``datetime`` (``time`` below one day, ``timedelta`` for ``[h]:mm``), in the
  1900 date system or the 1904 one when the workbook says so;
- shared and inline strings as text (rich-text runs joined, phonetic runs left out), ``t="str"``
  formula results as text, booleans as ``bool``, errors as their text (``#DIV/0!``), ``t="d"`` as
  ``datetime``; a formula cell gives its cached value;
- a row as a list as wide as its last cell, missing cells ``None``; rows the file leaves out are
  not yielded (a blank row has no data either way).

Unlike openpyxl's read-only mode, rows and columns beyond the sheet's ``<dimension>`` are read, not
cut off: some exporters write a wrong dimension, and the reconciliation must see every row.
"""

from __future__ import annotations

import datetime as dt
import posixpath
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO
from xml.etree.ElementTree import Element, fromstring, iterparse

from ..errors import KpiError

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# built-in number formats that are dates or times (ECMA-376 §18.8.30)
_DATE_IDS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})
_DURATION_IDS = frozenset({46})  # [h]:mm:ss
# the format-code rules openpyxl applies (so the two readers agree on which cells are dates)
_STRIP = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_CODE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_DURATION = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?")


class XlsxError(KpiError):
    """An xlsx file whose parts cannot be found or read."""


def is_date_format(code: str) -> bool:
    """True when an Excel number-format code shows a date or time (d, m, y, h, s outside quotes and brackets)."""
    return bool(_DATE_CODE.search(_STRIP.sub("", code.split(";")[0])))


def is_duration_format(code: str) -> bool:
    """True when a number-format code shows elapsed time (``[h]:mm``, ``[mm]:ss``…)."""
    return bool(_DURATION.search(code.split(";")[0]))


def column_index(ref: str) -> int:
    """0-based column of a cell reference ('A1' → 0, 'AB12' → 27)."""
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        elif "a" <= ch <= "z":
            n = n * 26 + ord(ch) - 96
        else:
            break
    return n - 1


def _text_of(node: Element, ns: str = _MAIN) -> str:
    """A string item's text: its ``<t>`` and the ``<t>`` of its rich-text runs (not phonetic runs)."""
    parts = []
    for ch in node:
        if ch.tag == ns + "t":
            parts.append(ch.text or "")
        elif ch.tag == ns + "r":
            parts.append(ch.findtext(ns + "t") or "")
    return "".join(parts)


def _first_sheet(z: zipfile.ZipFile, names: set[str]) -> str:
    """The part name of the workbook's first sheet (workbook order, resolved through its relationships)."""
    if "xl/workbook.xml" in names and "xl/_rels/workbook.xml.rels" in names:
        wb = _parse(z, "xl/workbook.xml")
        sheet = wb.find(f"{_MAIN}sheets/{_MAIN}sheet")
        rels = _parse(z, "xl/_rels/workbook.xml.rels")
        if sheet is not None:
            rid = sheet.get(f"{_REL}id")
            for rel in rels.iter(f"{_PKG_REL}Relationship"):
                if rel.get("Id") == rid:
                    target = rel.get("Target", "")
                    part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
                    if part in names:
                        return part
    sheets = sorted(n for n in names if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
    if not sheets:
        raise XlsxError(f"{z.filename}: no worksheet in the xlsx file (expected xl/worksheets/sheet1.xml)")
    return min(sheets, key=lambda n: int(re.sub(r"\D", "", n)))


def _parse(z: zipfile.ZipFile, name: str) -> Element:
    return fromstring(z.read(name))


def _shared_strings(z: zipfile.ZipFile, names: set[str]) -> list[str]:
    if "xl/sharedStrings.xml" not in names:
        return []
    out: list[str] = []
    with z.open("xl/sharedStrings.xml") as src:
        for _ev, el in iterparse(src, events=("end",)):
            if el.tag.endswith("}si") or el.tag == "si":
                out.append(_text_of(el, el.tag[: el.tag.index("}") + 1] if el.tag.startswith("{") else ""))
                el.clear()
    return out


def _date_styles(z: zipfile.ZipFile, names: set[str]) -> tuple[frozenset[int], frozenset[int]]:
    """Indexes of the cell styles (``s=``) whose number format is a date or time, and of those
    that are durations."""
    if "xl/styles.xml" not in names:
        return frozenset(), frozenset()
    st = _parse(z, "xl/styles.xml")
    custom = {int(f.get("numFmtId", "-1")): f.get("formatCode", "") for f in st.iter(f"{_MAIN}numFmt")}
    xfs = st.find(f"{_MAIN}cellXfs")
    dates, durations = set(), set()
    for i, xf in enumerate(xfs.iterfind(f"{_MAIN}xf") if xfs is not None else ()):
        fid = int(xf.get("numFmtId", "0"))
        code = custom.get(fid)
        if (code is None and fid in _DATE_IDS) or (code is not None and is_date_format(code)):
            dates.add(i)
            if (code is None and fid in _DURATION_IDS) or (code is not None and is_duration_format(code)):
                durations.add(i)
    return frozenset(dates), frozenset(durations)


def _epoch(z: zipfile.ZipFile, names: set[str]) -> dt.datetime:
    if "xl/workbook.xml" in names:
        pr = _parse(z, "xl/workbook.xml").find(f"{_MAIN}workbookPr")
        if pr is not None and pr.get("date1904", "false").lower() in ("1", "true"):
            return dt.datetime(1904, 1, 1)
    return dt.datetime(1899, 12, 30)


def _number(text: str) -> int | float:
    return float(text) if ("." in text or "e" in text or "E" in text) else int(text)


def _serial(value: float, epoch: dt.datetime, duration: bool) -> object:
    """An Excel serial day number as openpyxl gives it: a ``timedelta`` for a duration format, a
    ``time`` for a time of day (0 ≤ value < 1), else a ``datetime`` (to the millisecond)."""
    if duration:
        td = dt.timedelta(days=value)
        if td.microseconds:
            td = dt.timedelta(seconds=td.total_seconds() // 1, microseconds=round(td.microseconds, -3))
        return td
    day, fraction = divmod(value, 1)
    diff = dt.timedelta(milliseconds=round(fraction * 86_400_000))
    if 0 <= value < 1 and diff.days == 0:
        minutes, seconds = divmod(diff.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return dt.time(hours, minutes, seconds, diff.microseconds)
    if 0 < value < 60 and epoch.year == 1899:
        day += 1  # the 1900 system counts the 29 February 1900 that never was
    return epoch + dt.timedelta(days=day) + diff


_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData\b[^>]*?(/?)>")
CHUNK = 1 << 20


def _row_batches(src: IO[bytes], chunk: int) -> Iterator[Element]:
    """The sheet's ``<row>`` elements, parsed a batch at a time.

    The XML is read in pieces of ``chunk`` bytes (1 MB); each piece is cut after its last ``</row>`` (a literal ``</row>``
    can only be a tag: text holds ``&lt;``) and parsed with ``fromstring`` inside the sheet's own
    opening tags (so namespace prefixes resolve as in the file), which builds the elements in C
    instead of handing every element to Python as ``iterparse`` does.
    """
    buf = b""
    head: bytes | None = None
    close = b""
    tail = b""
    eof = False
    while not eof:
        piece = src.read(chunk)
        eof = not piece
        buf += piece
        if head is None:
            m = _SHEET_DATA.search(buf)
            if m is None:
                if eof:
                    return
                continue
            if m.group(2):  # <sheetData/>: no rows
                return
            prefix = m.group(1)
            head = buf[: m.end()]
            close = b"</" + prefix + b"row>"
            tail = b"</" + prefix + b"sheetData></" + prefix + b"worksheet>"
            buf = buf[m.end():]
        cut = buf.rfind(close)
        if cut < 0:
            continue
        cut += len(close)
        root = fromstring(head + buf[:cut] + tail)
        buf = buf[cut:]
        ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
        yield from root.iter(ns + "row")


def rows(path: Path, chunk: int = CHUNK) -> Iterator[tuple[int, list[object]]]:
    """(1-based sheet row, cell values) for every row of the first worksheet the file writes down.

    ``chunk``: bytes of XML parsed at a time (memory: about ten times that while a piece is parsed).
    """
    path = Path(path)
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise XlsxError(f"{path}: not a readable xlsx file (a zip archive was expected): {e}") from None
    with z:
        names = set(z.namelist())
        sheet = _first_sheet(z, names)
        strings = _shared_strings(z, names)
        dates, durations = _date_styles(z, names)
        epoch = _epoch(z, names)
        row_no = 0
        cols: dict[str, int] = {}
        with z.open(sheet) as src:
            for el in _row_batches(src, chunk):
                ns = el.tag[: el.tag.index("}") + 1] if el.tag.startswith("{") else ""
                tag_v, tag_is = ns + "v", ns + "is"
                r = el.get("r")
                row_no = int(r) if r else row_no + 1
                values: list[object] = []
                col = -1
                for c in el:
                    ref = c.get("r")
                    if ref:
                        letters = ref.rstrip("0123456789")
                        col = cols.get(letters, -1)
                        if col < 0:
                            col = cols[letters] = column_index(letters)
                    else:
                        col += 1
                    t = c.get("t", "n")
                    v: object = None
                    if t == "inlineStr":
                        for ch in c:
                            if ch.tag == tag_is:
                                v = _text_of(ch, ns)
                    else:
                        raw = None
                        for ch in c:
                            if ch.tag == tag_v:
                                raw = ch.text
                        if raw:
                            if t == "n":
                                v = _number(raw)
                                s = c.get("s")
                                if s and dates and int(s) in dates:
                                    v = _serial(v, epoch, int(s) in durations)
                            elif t == "s":
                                v = strings[int(raw)]
                            elif t == "b":
                                v = bool(int(raw))
                            elif t == "d":
                                v = dt.datetime.fromisoformat(raw.rstrip("Z"))
                            else:  # "str" (a formula's text), "e" (an error such as #DIV/0!)
                                v = raw
                    if col >= len(values):
                        values.extend([None] * (col + 1 - len(values)))
                    values[col] = v
                yield row_no, values
