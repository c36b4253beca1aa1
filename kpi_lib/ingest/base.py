"""The reader contract and registry.

A reader turns one raw export into canonical rows (source currency, marketplace-local dates). It
is chosen by looking at the file's header and content (``sniff``), never its name. Readers register
themselves in the one registry (``kpi_lib.ingest.registry``: ``@register``, ``register_instance``);
``registry.detect`` returns the first reader whose ``sniff`` accepts a file.

Contract of ``read`` (the pipeline checks it):
- every data row of the file (after any preamble and header; blank lines are not rows) is given a
  1-based ``source_row`` = the physical line number (CSV/TSV) or sheet row number (xlsx);
- each data row either yields rows in ``tables`` (carrying that ``source_row``) or appears in
  ``quarantine`` with a reason — nothing is dropped silently; a row of the file's own totals is
  quarantined with reason ``totals row``;
- ``rows_read`` is the number of data rows;
- ``expected_money``: the money the file itself says it holds (Amazon settlement: total-amount;
  other files: the sum of the money column(s) over their rows as written, each order-level amount
  counted once); ``money_column`` names the canonical (table, column) pairs whose loaded sum must
  equal it, with a sign each;
- ``exported_at`` (optional): when the platform generated the export, if the file says so (a
  report's own generation date). The pipeline uses it to decide which of two versions of a row is
  newer (latest version wins); without it the file's modification time is used.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import python_calamine

from ..errors import IngestError
from .textio import decode_bytes, detect_encoding


@dataclass
class Store:
    """A row of reference/stores.csv."""

    store_id: str
    platform: str
    marketplace: str
    currency: str
    timezone: str
    launch_date: str = ""
    team_id: str = ""
    store_name: str = ""


@dataclass
class FileHead:
    """What sniffing sees: the first bytes decoded, the first lines, and for xlsx the first rows."""

    path: Path
    raw: bytes
    text: str  # decoded head ('' for xlsx)
    encoding: str | None
    lines: list[str]
    xlsx_rows: list[list[object]] | None = None  # first rows of the first sheet, for xlsx


@dataclass
class QuarantineRow:
    source_row: int
    reason: str
    column: str = ""
    raw: dict[str, object] = field(default_factory=dict)


@dataclass
class ReadResult:
    tables: dict[str, pd.DataFrame]
    rows_read: int
    quarantine: list[QuarantineRow] = field(default_factory=list)
    expected_money: float | None = None
    # (table, column, sign): loaded money = sum(sign * sum(table.column)) over loaded rows
    money_columns: list[tuple[str, str, float]] = field(default_factory=list)
    # when the platform generated this export (report generation time), if the file says so;
    # naive = UTC. Decides which version of a row is newer; None = use the file's mtime.
    exported_at: dt.datetime | None = None
    # findings about rows that loaded but disagree with the file's own arithmetic (e.g. a transaction
    # report row whose amount columns do not add up to its total), one sentence each naming the row
    notes: list[str] = field(default_factory=list)


class Reader:
    """Base class for a platform report reader."""

    name: str = "reader"
    description: str = ""
    platforms: tuple[str, ...] = ()  # platforms whose stores may hold this report ('' = any)

    def sniff(self, head: FileHead) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def read(self, path: Path, store: Store) -> ReadResult:  # pragma: no cover - interface
        raise NotImplementedError


ENCODINGS = ("utf-8-sig", "utf-16", "gb18030", "latin-1")


def decode(raw: bytes) -> tuple[str, str]:
    """Decode bytes with the encoding ``textio.detect_encoding`` finds (BOM, UTF-16, UTF-8, cp1252,
    GB18030, Shift-JIS); a BOM is removed. A multi-byte character cut at the end of a head sample
    is dropped."""
    text, enc, _ = decode_bytes(raw)
    return text, enc


HEAD_BYTES = 64 * 1024


def file_head(path: Path) -> FileHead:
    """Read enough of a file to sniff its format."""
    with path.open("rb") as fh:
        raw = fh.read(HEAD_BYTES)
    if raw[:4] == b"PK\x03\x04" and path.suffix.lower() in (".xlsx", ".xlsm", ""):
        rows: list[list[object]] = []
        try:
            wb = python_calamine.CalamineWorkbook.from_path(str(path))
            sheet = wb.get_sheet_by_index(0)
            rows = [[None if v == "" else v for v in r] for r in sheet.to_python(skip_empty_area=False, nrows=31)]
        except Exception as exc:  # noqa: BLE001 - any reader failure means "not a readable xlsx"
            raise IngestError(f"{path}: looks like an xlsx workbook but cannot be opened ({exc})") from None
        return FileHead(path, raw, "", None, [], rows)
    if b"\x00" in raw[:4096] and not detect_encoding(raw[:4096])[0].startswith("utf-16"):
        return FileHead(path, raw, "", None, [])
    text, enc = decode(raw)
    lines = text.splitlines()
    if len(raw) == HEAD_BYTES and lines:
        lines = lines[:-1]  # last line may be cut
    return FileHead(path, raw, text, enc, lines[:200])


def read_text(path: Path) -> tuple[str, str]:
    """The whole file decoded (see ``decode``)."""
    return decode(path.read_bytes())


def normalize_header(h: object) -> str:
    """Header cell → comparable key: trimmed, lower case, single spaces, no BOM/nbsp."""
    s = "" if h is None else str(h)
    s = s.replace("\ufeff", "").replace("\xa0", " ").strip().lower()
    return " ".join(s.split())


def unique_names(cols: list[str]) -> list[str]:
    """Header cells made unique: a repeated name gets ``.1``, ``.2`` … (as pandas does)."""
    seen: dict[str, int] = {}
    out = []
    for c in cols:
        c = str(c)
        if c in seen:
            seen[c] += 1
            out.append(f"{c}.{seen[c]}")
        else:
            seen[c] = 0
            out.append(c)
    return out


def csv_frame(text: str, sep: str, header_line: int = 0) -> pd.DataFrame:
    """Parse delimited text as strings, keeping quoted newlines; adds ``__line`` (1-based line number).

    ``header_line`` is the 0-based index of the header line. Blank lines are skipped but line
    numbers stay physical, so a quarantined row can be found in the original file.
    """
    body = text.splitlines(keepends=True)[header_line:]
    reader = csv.reader(io.StringIO("".join(body)), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        return pd.DataFrame()
    rows: list[list[str]] = []
    lines: list[int] = []
    line_no = header_line + 1
    for rec in reader:
        start = line_no + 1
        line_no = header_line + reader.line_num
        if not rec or all(not c.strip() for c in rec):
            continue
        if len(rec) < len(header):
            rec = rec + [""] * (len(header) - len(rec))
        rows.append(rec[: len(header)] if len(rec) >= len(header) else rec)
        lines.append(start)
    cols = [str(h) for h in header]
    uniq = unique_names(cols)  # empty columns inserted by hand, repeated headers
    df = pd.DataFrame(rows, columns=uniq, dtype="object")
    df["__line"] = lines
    return df


def exported_at_from(local: pd.Series | pd.Timestamp | None, tz: str, end_of_day: bool = False) -> dt.datetime | None:
    """``ReadResult.exported_at`` from a date the file states (marketplace-local, naive): the latest
    of them, as naive UTC. ``end_of_day``: the values are days a report covers, so the export cannot
    be older than the end of the last one (midnight after it). None when the file states none."""
    if local is None:
        return None
    v = local.max() if isinstance(local, pd.Series) else local
    if v is None or pd.isna(v):
        return None
    ts = pd.Timestamp(v)
    if end_of_day:
        ts = ts.floor("D") + pd.Timedelta(days=1)
    if ts.tzinfo is None:
        ts = ts.tz_localize(tz or "UTC", ambiguous="NaT", nonexistent="shift_forward")
        if pd.isna(ts):
            return None
    return ts.tz_convert("UTC").tz_localize(None).to_pydatetime()


Sniffer = Callable[[FileHead], bool]


_REGISTRY_NAMES = ("register", "register_instance", "unregister", "readers", "get_reader", "detect")


def __getattr__(name: str) -> object:
    """Old home of the registry functions (``base.readers`` …): forwarded to ``registry``.

    Imported on first use because ``registry`` imports this module (the reader contract)."""
    if name in _REGISTRY_NAMES:
        from . import registry

        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
