"""A minimal, fast and deterministic xlsx writer (one sheet, inline strings, numbers as numbers).

openpyxl is slow for 100k+ rows and stamps the current time into docProps, which would break
byte-identical output; this writes the few XML parts a reader needs, with a fixed zip timestamp.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import textio as tx

_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
       '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/>'
       '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
       '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
         '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
         '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
         '</Relationships>')
_WB = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
       '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
       'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
       '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WB_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            '</Relationships>')


def _col_letter(i: int) -> str:
    s = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        s = chr(65 + r) + s
    return s


def _esc(a: pa.Array) -> pa.Array:
    a = pc.replace_substring(a, "&", "&amp;")
    a = pc.replace_substring(a, "<", "&lt;")
    return pc.replace_substring(a, ">", "&gt;")


def write_xlsx(path: Path, header: Sequence[str], cols: Sequence[np.ndarray], numeric: Sequence[bool],
               sheet: str = "Sheet1") -> int:
    """cols: object arrays of strings ('' = empty cell); numeric columns are written as numbers when they parse."""
    n = len(cols[0]) if cols else 0
    rownum = tx.int_str(np.arange(2, n + 2))
    cells = []
    for j, (v, isnum) in enumerate(zip(cols, numeric)):
        s = tx.to_str(np.asarray(v, dtype=object))
        ref = tx.join(_col_letter(j), rownum)
        empty = pc.equal(s, "")
        if isnum:
            ok = pc.match_substring_regex(s, r"^-?\d+(\.\d+)?$")
            numc = tx.join('<c r="', ref, '"><v>', s, "</v></c>")
            strc = tx.join('<c r="', ref, '" t="inlineStr"><is><t>', _esc(s), "</t></is></c>")
            c = pc.if_else(ok, numc, strc)
        else:
            c = tx.join('<c r="', ref, '" t="inlineStr"><is><t>', _esc(s), "</t></is></c>")
        cells.append(pc.if_else(empty, pa.scalar("", tx.LS), c))
    head = "".join(f'<c r="{_col_letter(j)}1" t="inlineStr"><is><t>{h}</t></is></c>' for j, h in enumerate(header))
    start = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
             f'<dimension ref="A1:{_col_letter(len(header) - 1)}{n + 1}"/><sheetData>'
             f'<row r="1">{head}</row>')
    body = b""
    if n:
        rows = tx.join('<row r="', rownum, '">', tx.join(*cells), "</row>")
        body = tx.lines_bytes(rows)
    xml = start.encode("utf-8") + body + b"</sheetData></worksheet>"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in (("[Content_Types].xml", _CT.encode()), ("_rels/.rels", _RELS.encode()),
                           ("xl/workbook.xml", _WB.format(name=sheet).encode()),
                           ("xl/_rels/workbook.xml.rels", _WB_RELS.encode()), ("xl/worksheets/sheet1.xml", xml)):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data, compresslevel=6)
    tx.ROWS[str(path)] = n
    return n
