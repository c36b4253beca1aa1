"""The reconciliation's own xlsx reader (``ingest.sheetxml``, zipfile + XML streaming) gives the
values openpyxl's read-only mode gives (issue 15.2: it replaced openpyxl, a fifth of the ingest):

- workbooks written by openpyxl (shared strings, numbers, dates and times, booleans, blanks, gaps
  between rows and columns) and hand-written sheet XML (inline and rich-text strings, a ``x:``
  namespace prefix, cells and rows without ``r``, formula results, errors, the 1904 date system, a
  first sheet that is not ``sheet1.xml``), compared cell by cell and type by type with openpyxl;
- the same at every chunk size (a piece cut anywhere in the XML);
- the demo's Shopee reconciliation total equals openpyxl's Decimal sum of the same columns;
- unlike openpyxl, rows past a wrong ``<dimension>`` are read (openpyxl stops at it).
"""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from kpi_lib.ingest import independent, sheetxml
from kpi_lib.ingest.readers.shopee import ORDER_FEES, shopee_expected

# openpyxl notes that the hand-written workbooks have no default cell style (they need none)
pytestmark = pytest.mark.filterwarnings("ignore:Workbook contains no default style")


def _openpyxl_rows(path: Path) -> list[tuple[int, list[object]]]:
    """The reference: openpyxl read-only values, trailing blanks and blank rows left out."""
    wb = load_workbook(path, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    ws.reset_dimensions()  # read every row, as sheetxml does
    out = []
    for i, vals in enumerate(ws.iter_rows(values_only=True), start=1):
        v = list(vals)
        while v and v[-1] is None:
            v.pop()
        if v:
            out.append((i, v))
    wb.close()
    return out


def _ours(path: Path, chunk: int = sheetxml.CHUNK) -> list[tuple[int, list[object]]]:
    out = []
    for i, vals in sheetxml.rows(path, chunk=chunk):
        v = list(vals)
        while v and v[-1] is None:
            v.pop()
        if v:
            out.append((i, v))
    return out


def _typed(rows: list[tuple[int, list[object]]]) -> list[tuple[int, list[tuple[str, object]]]]:
    return [(i, [(type(x).__name__, x) for x in r]) for i, r in rows]


def _zip(path: Path, sheet_xml: str, *, sheet_part: str = "sheet1.xml", shared: str | None = None,
         workbook_pr: str = "", styles: str | None = None) -> Path:
    """A minimal xlsx around hand-written sheet XML (two sheets: ``sheet_part`` is listed first)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    other = "sheet1.xml" if sheet_part != "sheet1.xml" else "sheet2.xml"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/>'
                   f'<Override PartName="/xl/worksheets/{sheet_part}" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.worksheet+xml"/>'
                   f'<Override PartName="/xl/worksheets/{other}" ContentType="application/vnd.openxmlformats-'
                   'officedocument.spreadsheetml.worksheet+xml"/>'
                   + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                      'officedocument.spreadsheetml.sharedStrings+xml"/>' if shared else "")
                   + ('<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-'
                      'officedocument.spreadsheetml.styles+xml"/>' if styles else "") + "</Types>")
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook xmlns="{main}" xmlns:r="{rel}">{workbook_pr}'
                   '<sheets><sheet name="Data" sheetId="1" r:id="rId7"/><sheet name="Other" sheetId="2" r:id="rId8"/>'
                   '</sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships">'
                   f'<Relationship Id="rId8" Type="{rel}/worksheet" Target="worksheets/{other}"/>'
                   f'<Relationship Id="rId7" Type="{rel}/worksheet" Target="/xl/worksheets/{sheet_part}"/>'
                   + ('<Relationship Id="rId9" Type="' + rel + '/sharedStrings" Target="sharedStrings.xml"/>'
                      if shared else "")
                   + ('<Relationship Id="rId10" Type="' + rel + '/styles" Target="styles.xml"/>' if styles else "")
                   + "</Relationships>")
        z.writestr(f"xl/worksheets/{sheet_part}", sheet_xml)
        z.writestr(f"xl/worksheets/{other}", f'<worksheet xmlns="{main}"><sheetData><row r="1"><c r="A1" t="inlineStr">'
                   '<is><t>WRONG SHEET</t></is></c></row></sheetData></worksheet>')
        if shared:
            z.writestr("xl/sharedStrings.xml", shared)
        if styles:
            z.writestr("xl/styles.xml", styles)
    return path


MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STYLES = (f'<styleSheet xmlns="{MAIN}"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd hh:mm"/>'
          '<numFmt numFmtId="165" formatCode="&quot;day&quot;0.00"/></numFmts>'
          '<cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="164"/><xf numFmtId="165"/></cellXfs>'
          '</styleSheet>')


def test_openpyxl_written_workbook(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["Order ID", "Amount", "When", "Paid", "Note", None, "Wide"])
    ws.append(["A&B <1>", 12.5, dt.datetime(2026, 3, 1, 13, 45), True, None, None, "x"])
    ws.append([123456789012, -0.01, dt.date(2026, 2, 28), False, "  spaced  ", None, None])
    ws.append([])
    ws.append(["中文 订单", 1e-7, dt.datetime(2026, 1, 1), None, "ok", 7, 1234567890123456789])
    ws["J9"] = "far away"
    ws["B10"] = 3
    ws.cell(row=11, column=2, value="=B10*2")  # a formula without a cached value: None in both
    p = tmp_path / "w.xlsx"
    wb.save(p)
    want = _openpyxl_rows(p)
    assert any(isinstance(x, dt.datetime) for _, r in want for x in r)  # the dates are dates
    assert _typed(_ours(p)) == _typed(want)
    for chunk in (7, 64, 1000):
        assert _typed(_ours(p, chunk=chunk)) == _typed(want)


def test_hand_written_sheet_xml(tmp_path: Path) -> None:
    shared = (f'<sst xmlns="{MAIN}" count="3" uniqueCount="3"><si><t>plain</t></si>'
              '<si><r><rPr><b/></rPr><t>bold </t></r><r><t xml:space="preserve">and not</t></r>'
              '<rPh sb="0" eb="1"><t>PHONETIC</t></rPh></si><si><t/></si></sst>')
    sheet = (f'<x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1:B2"/><x:sheetData>'
             '<x:row r="2"><x:c r="A2" t="s"><x:v>0</x:v></x:c><x:c r="C2" t="s"><x:v>1</x:v></x:c>'
             '<x:c r="D2" t="s"><x:v>2</x:v></x:c></x:row>'
             '<x:row r="3"><x:c t="inlineStr"><x:is><x:r><x:t>in</x:t></x:r><x:r><x:t>line</x:t></x:r></x:is></x:c>'
             '<x:c t="str"><x:f>A1&amp;"x"</x:f><x:v>formula text</x:v></x:c><x:c t="e"><x:v>#DIV/0!</x:v></x:c>'
             '<x:c t="b"><x:v>1</x:v></x:c><x:c><x:f>1+1</x:f><x:v>2</x:v></x:c><x:c s="1"><x:v>45000</x:v></x:c>'
             '<x:c s="2"><x:v>45000.5</x:v></x:c><x:c s="3"><x:v>1.5</x:v></x:c><x:c><x:v>1E3</x:v></x:c>'
             '<x:c><x:v></x:v></x:c><x:c t="inlineStr"/></x:row>'
             '<x:row><x:c r="B4"><x:v>-7</x:v></x:c></x:row>'
             '<x:row r="9"><x:c r="AA9" t="inlineStr"><x:is><x:t>a &lt;/x:row&gt; in text</x:t></x:is></x:c></x:row>'
             '</x:sheetData></x:worksheet>')
    p = _zip(tmp_path / "h.xlsx", sheet, sheet_part="sheet5.xml", shared=shared, styles=STYLES)
    want = _openpyxl_rows(p)
    assert want[0] == (2, ["plain", None, "bold and not", ""])  # openpyxl reads the listed first sheet, shared strings
    for chunk in (1, 5, 33, 100, sheetxml.CHUNK):
        assert _typed(_ours(p, chunk=chunk)) == _typed(want), chunk
    assert _ours(p)[1][1][5] == dt.datetime(2023, 3, 15)  # serial 45000 with a date style
    assert _ours(p)[1][1][6] == dt.datetime(2023, 3, 15, 12, 0)


def test_1904_dates_and_no_rows(tmp_path: Path) -> None:
    sheet = (f'<worksheet xmlns="{MAIN}"><sheetData><row r="1"><c r="A1" s="1"><v>1</v></c><c r="B1" s="2">'
             '<v>0.25</v></c><c r="C1" s="4"><v>1.5</v></c></row></sheetData></worksheet>')
    styles = STYLES.replace('<xf numFmtId="165"/>', '<xf numFmtId="165"/><xf numFmtId="46"/>')
    p = _zip(tmp_path / "d.xlsx", sheet, workbook_pr='<workbookPr date1904="1"/>', styles=styles)
    assert _typed(_ours(p)) == _typed(_openpyxl_rows(p)) == [
        (1, [("datetime", dt.datetime(1904, 1, 2)), ("time", dt.time(6)), ("timedelta", dt.timedelta(hours=36))])]
    empty = _zip(tmp_path / "e.xlsx", f'<worksheet xmlns="{MAIN}"><sheetData/></worksheet>')
    assert _ours(empty) == []


def test_rows_past_a_wrong_dimension_are_read(tmp_path: Path) -> None:
    sheet = (f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/><sheetData>'
             + "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>{i * 10}</v></c></row>' for i in (1, 2, 3))
             + "</sheetData></worksheet>")
    p = _zip(tmp_path / "dim.xlsx", sheet)
    wb = load_workbook(p, read_only=True, data_only=True)
    assert [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)] == [[1]]  # openpyxl trusts the dimension
    wb.close()
    assert _ours(p) == [(1, [1, 10]), (2, [2, 20]), (3, [3, 30])]


def test_not_an_xlsx_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "fake.xlsx"
    p.write_text("Order ID,Amount\n1,2\n")
    with pytest.raises(sheetxml.XlsxError, match="fake.xlsx"):
        list(sheetxml.rows(p))


def test_shopee_expected_matches_an_openpyxl_decimal_sum(tmp_path: Path) -> None:
    """The reconciliation total of an order report, recomputed here from openpyxl's cells."""
    wb = Workbook()
    ws = wb.active
    head = ["Order ID", "Order Status", "Product Subtotal", "Deal Price", "Returned quantity", *ORDER_FEES]
    ws.append(["Shopee order report"])  # a title row above the header
    ws.append(head)
    lines = [["O1", "Completed", 12.5, 6.25, 0, 1.1, 0.5, 0.25, 2],
             ["O1", "Completed", 3, 3, 1, 1.1, 0.5, 0.25, 2],  # same order: fees once
             ["O2", "Cancelled", 9.99, 9.99, 1, 4, 4, 4, 4],   # cancelled: subtotal only
             ["O3", "To ship", "1,234.56", "1,234.56", 2, -3.3, 0, 0, 0]]
    for r in lines:
        ws.append(r)
    p = tmp_path / "shopee.xlsx"
    wb.save(p)
    total, seen = Decimal(0), set()
    for oid, status, sub, deal, ret, *fees in [r for _, r in _openpyxl_rows(p)[2:]]:
        total += Decimal(repr(sub)) if not isinstance(sub, str) else Decimal(sub.replace(",", ""))
        if status == "Cancelled":
            continue
        if oid not in seen:
            seen.add(oid)
            total += sum(abs(Decimal(repr(f))) for f in fees)
        total += abs((Decimal(repr(deal)) if not isinstance(deal, str) else Decimal(deal.replace(",", ""))) * ret)
    # by hand: subtotals 12.5 + 3 + 9.99 + 1234.56 = 1260.05; fees O1 1.1+.5+.25+2 = 3.85, O3 |-3.3|;
    # returns 6.25*0 + 3*1 + 1234.56*2 = 2472.12 → 1260.05 + 3.85 + 3.3 + 2472.12 = 3739.32
    assert total == Decimal("3739.32")
    assert shopee_expected(p) == float(total)
    assert [line for line, _ in independent.rows(p, header_has="Order ID")] == [3, 4, 5, 6]
