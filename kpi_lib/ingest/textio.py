"""A text export's locale, decided once per file: encoding, delimiter, decimal mark.

Readers call ``sniff_text`` (or ``read_locale_text``) once and use the returned ``TextLocale`` for
both the loaded values and the reconciliation, so an Excel re-save (semicolons and decimal commas,
UTF-16 "Unicode text", cp1252 "CSV") loads exactly like the file the platform wrote.

Encoding, in order: a BOM (UTF-8, UTF-16 LE/BE); UTF-16 without BOM (NUL bytes every other
byte); strict UTF-8; then the legacy code pages. Bytes ≥ 0x80 that stand alone, or short runs
inside Latin words (``Gr\xf6\xdfe``), are a single-byte Western code page (cp1252, else ISO-8859-1);
longer runs are a CJK double-byte encoding: Shift-JIS (cp932) when the store is on the Japanese marketplace or when decoding as
cp932 yields kana, else GB18030 (Chinese ERP exports).

Delimiter: tab, comma, semicolon or pipe, whichever splits the header record (the first record
of the head, or ``header_line``) into the most fields, quotes respected; a preamble of one-cell
lines (Amazon's transaction report) does not count.

Decimal mark: from the cells themselves. ``12,34`` / ``1.234,56`` are comma evidence, ``12.34`` /
``1,234.56`` point evidence; ``1,234`` or ``1.234`` (three digits) is ambiguous and ignored. The
mark with more evidence wins; no evidence either way is ``None`` (the reader's default applies).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DELIMITERS = ("\t", ",", ";", "|")
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


@dataclass(frozen=True)
class TextLocale:
    """How one text file is written (decided once, from its bytes)."""

    encoding: str  # Python codec the text was decoded with (BOM excluded)
    bom: bool
    delimiter: str  # "\t", ",", ";" or "|"
    decimal: str | None  # "." or ","; None = no evidence in the file
    header_line: int = 0  # 0-based index of the header line (after a preamble)

    def decimal_or(self, default: str) -> str:
        """The file's decimal mark, or ``default`` when the file shows none."""
        return self.decimal or default


def detect_encoding(raw: bytes, marketplace: str | None = None) -> tuple[str, int]:
    """(codec, BOM length) of a file's bytes (or of its first bytes)."""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            return enc, len(bom)
    sample = raw[:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:
            return "utf-16-le", 0
        if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
            return "utf-16-be", 0
    if _is_utf8(raw):
        return "utf-8", 0
    sample = raw[:262_144]
    runs = [m.span() for m in re.finditer(rb"[\x80-\xff]+", sample)]
    single = sum(1 for a, b in runs if b - a == 1)
    # inside a Latin word ("Gr\xf6\xdfe"): a short run with ASCII letters on both sides
    in_word = sum(1 for a, b in runs if b - a <= 2 and _ascii_letter(sample, a - 1) and _ascii_letter(sample, b))
    if runs and (single >= 0.8 * len(runs) or in_word >= 0.5 * len(runs)):
        try:
            raw.decode("cp1252")
            return "cp1252", 0
        except UnicodeDecodeError:
            return "latin-1", 0
    jp = (marketplace or "").upper() in ("JP", "JA", "JAPAN")
    ok = {enc: _decodes(raw, enc) for enc in ("cp932", "gb18030")}
    if ok["cp932"] and (jp or _kana_share(raw.decode("cp932", errors="replace")) > 0.05):
        return "cp932", 0
    if ok["gb18030"]:
        return "gb18030", 0
    if ok["cp932"]:
        return "cp932", 0
    return "latin-1", 0


def _ascii_letter(raw: bytes, i: int) -> bool:
    return 0 <= i < len(raw) and (65 <= raw[i] <= 90 or 97 <= raw[i] <= 122)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the end of a head sample is still UTF-8
        return exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data"


def _decodes(raw: bytes, enc: str) -> bool:
    try:
        raw.decode(enc)
        return True
    except UnicodeDecodeError as exc:
        return exc.start >= len(raw) - 1  # a double-byte character cut at the end of a sample


def _kana_share(text: str) -> float:
    wide = [c for c in text if ord(c) > 0x2000]
    if not wide:
        return 0.0
    return sum(1 for c in wide if 0x3040 <= ord(c) <= 0x30FF) / len(wide)


def decode_bytes(raw: bytes, marketplace: str | None = None) -> tuple[str, str, bool]:
    """(text, codec, had BOM): the bytes decoded with the detected encoding (BOM removed)."""
    enc, skip = detect_encoding(raw, marketplace)
    codec = "utf-8" if enc == "utf-8-sig" else enc
    text = raw[skip:].decode(codec, errors="replace")
    return text.lstrip("\ufeff"), enc, skip > 0


def _records(text: str, sep: str, limit: int) -> list[list[str]]:
    out: list[list[str]] = []
    try:
        for rec in csv.reader(io.StringIO(text), delimiter=sep):
            if rec and any(c.strip() for c in rec):
                out.append(rec)
                if len(out) >= limit:
                    break
    except csv.Error:
        pass
    return out


def detect_delimiter(text: str, header_line: int | None = None) -> tuple[str, int]:
    """(delimiter, 0-based header line) of delimited text.

    With ``header_line`` given, that line decides. Otherwise, per candidate, the header is the first
    of the first 40 lines nearly as wide as the widest (one-cell preamble lines are skipped), and the
    delimiter whose following records (at least 80 %) have the header's width wins; among those, the one
    whose table spans the most lines, then the widest header (a comma in the text cells or the preamble of a
    semicolon file does not make it comma-separated).
    """
    lines = text[:262_144].splitlines()[:400]
    if header_line is not None:
        line = lines[header_line] if header_line < len(lines) else ""
        best = max(DELIMITERS, key=lambda s: (len(next(csv.reader([line], delimiter=s), [])), -DELIMITERS.index(s)))
        return best, header_line
    head = text[:262_144]
    starts = [0]
    for ln in head.splitlines(keepends=True)[:400]:
        starts.append(starts[-1] + len(ln))
    best: tuple[tuple[bool, int, int, int, int], str, int] | None = None  # (consistent, lines, width, -line, -rank)
    for sep in DELIMITERS:
        counts = []
        for i, line in enumerate(lines[:40]):
            if not line.strip():
                continue
            try:
                n = len(next(csv.reader([line], delimiter=sep), []))
            except csv.Error:
                n = 1
            counts.append((i, n))
        if not counts:
            continue
        n_max = max(n for _, n in counts)
        if n_max < 2:
            continue
        # the header: the first line nearly as wide as the widest (a data row may end in a delimiter)
        first = next(i for i, n in counts if n >= max(2, 0.8 * n_max))
        # its records (quoted line breaks respected) should mostly be as wide as the header: a comma
        # inside the text cells of a pipe- or semicolon-separated file does not make it comma-separated
        recs = _records(head[starts[first]:], sep, 41)
        width = len(recs[0]) if recs else n_max
        rest = recs[1:]
        fitting = sum(1 for r in rest if len(r) in (width, width + 1))
        consistent = bool(rest) and fitting >= 0.8 * len(rest)
        # among consistent readings, the one whose table spans more lines: text cells made of commas in a
        # semicolon file (",,,;0.00;x") read as a wider comma table that starts a line later
        score = (consistent, fitting + 1, width, -first, -DELIMITERS.index(sep))
        if best is None or score > best[0]:
            best = (score, sep, first)
    return (best[1], best[2]) if best else (",", 0)


_COMMA_DEC = re.compile(r"^[-+(]?(?:\d+,\d{1,2}|\d+,\d{4,}|\d{1,3}(?:[.\s'\u00a0\u202f]\d{3})+,\d+)\)?%?$")
_POINT_DEC = re.compile(r"^[-+(]?(?:\d+\.\d{1,2}|\d+\.\d{4,}|\d{1,3}(?:[,\s'\u00a0\u202f]\d{3})+\.\d+)\)?%?$")
_CURRENCY = re.compile(r"(?i)^(?:[A-Z]{3}(?=[\s\d])|rs\.?|[$€£¥₹])\s*|\s*(?:[A-Z]{3}|[$€£¥₹])$")


def detect_decimal(cells: Iterable[object]) -> str | None:
    """``","`` or ``"."`` by the evidence in the cells (see the module doc), ``None`` without any."""
    comma = point = 0
    # each distinct text once, weighted by how often it occurs (exports repeat prices, SKUs, dates)
    for v, n in Counter(cells).items():  # (C counting; the non-text cells are skipped per distinct value)
        if not isinstance(v, str):
            continue
        s = v.strip().strip('"')
        if "," not in s and "." not in s:  # both patterns need a mark (the cleaning only removes text)
            continue
        if not s or not any(ch.isdigit() for ch in s) or len(s) > 40:
            continue
        s = _CURRENCY.sub("", s).replace("\u00a0", "").strip()
        if s.startswith(("-", "+")):
            s = s[0] + s[1:].strip()
        if _COMMA_DEC.match(s):
            comma += n
        elif _POINT_DEC.match(s):
            point += n
    if comma == point:
        return None if comma == 0 else "."
    return "," if comma > point else "."


def sniff_text(
    raw: bytes, marketplace: str | None = None, delimiter: str | None = None, header_line: int | None = None,
) -> tuple[str, TextLocale]:
    """Decode a whole file and decide its locale once: ``(text, TextLocale)``.

    ``delimiter`` / ``header_line`` fix what the caller already knows (e.g. a mapping's settings);
    the decimal mark is judged from up to 2,000 records (2 MB) after the header.
    """
    text, enc, bom = decode_bytes(raw, marketplace)
    return text, text_locale(text, enc, bom, delimiter, header_line)


def text_locale(
    text: str, encoding: str = "utf-8", bom: bool = False, delimiter: str | None = None,
    header_line: int | None = None,
) -> TextLocale:
    """The locale of already decoded text (delimiter, header line, decimal mark)."""
    sep, hl = detect_delimiter(text, header_line)
    if delimiter:
        sep = delimiter
    body_start = 0
    for _ in range(hl + 1):
        nl = text.find("\n", body_start)
        body_start = len(text) if nl < 0 else nl + 1
    cells: list[str] = []
    for rec in _records(text[body_start:body_start + 2_000_000], sep, 2_000):
        cells.extend(rec)
    return TextLocale(encoding, bom, sep, detect_decimal(cells), hl)


def read_locale_text(path: Path, marketplace: str | None = None, **kw: object) -> tuple[str, TextLocale]:
    """``sniff_text`` of a file on disk."""
    return sniff_text(path.read_bytes(), marketplace, **kw)  # type: ignore[arg-type]
