"""The ingest's fast paths give what the paths they short-cut give (issue 15.2):

- ``independent.money``: a plain number skips the cleaning, with the same Decimal;
- ``independent.column_total`` of an unquoted text file reads the cell by position, with the same
  total, row count and unreadable cells as the dict-per-row path (repeated header names, short and
  long rows, blank lines, currency text, a header matched without regard to case);
- ``pipeline._schema_may_fail``: pandera is skipped only when it would find nothing;
- ``textio.detect_decimal`` counts each distinct text once, weighted: the same decision.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pytest

from kpi_lib.ingest import independent, pipeline, textio
from kpi_lib.schemas import TABLES, conform, pandera_schema

CELLS = ["12", "-3", "0", "12.50", "-0.01", "1,234.56", "$1,234.56", "(3.00)", "USD 4", "1_000", "12.", ".5",
         "+7", "007", "1e3", "", "  ", "abc", "12.3.4", "-", "NaN", "٣", "1 234", "9" * 30 + ".123456789"]


def _money_before(text: str, decimal: str = ".") -> Decimal | None:
    """``independent.money`` as it was before the fast path (copied), the reference."""
    s = independent._CURRENCY.sub("", str(text)).replace("\u00a0", "").replace(" ", "").strip()
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


@pytest.mark.parametrize("text", CELLS)
@pytest.mark.parametrize("decimal", [".", ","])
def test_money_fast_path_equals_the_cleaning_path(text: str, decimal: str) -> None:
    def outcome(f, t: str) -> Decimal | None | str:
        try:
            return f(t, decimal)
        except ValueError:
            return "unreadable"

    got, want = outcome(independent.money, text), outcome(_money_before, text)
    assert str(got) == str(want) and type(got) is type(want)  # str: Decimal NaN != NaN


def _column(path: Path, column: str, **kw: object) -> tuple:
    c = independent.column_total(path, column, **kw)
    return c.total, c.rows, c.unreadable


@pytest.mark.parametrize("column", ["item-price", "Item-Price", "shipping", "missing", "sku"])
def test_unquoted_column_total_equals_the_row_path(tmp_path: Path, column: str) -> None:
    f = tmp_path / "orders.txt"
    f.write_text(
        "amazon-order-id\tsku\titem-price\tshipping\titem-price\n"  # a repeated header: the last one counts
        "1\tA\t9.99\t1\t10.01\n"
        "\n"
        "2\tB\t$5\t2\tUSD 5.50\n"
        "\t\t\t\t\n"  # a row of empty cells is blank
        "3\tC\t1\t(2.00)\n"  # short row: no last item-price
        "4\tD\t1\t3\tabc\textra\n"  # unreadable cell, long row
        "5\tE\t1\t1,234.50\t-0.5\r\n",
        encoding="utf-8",
    )
    fast = _column(f, column, sep="\t", quoted=False)
    slow = _column(f, column, keep=lambda r: True, sep="\t", quoted=False)  # keep= takes the row path
    assert fast == slow
    if column == "shipping":  # worked: 1 + 2 + (2.00) → -2 + 3 + 1,234.50 = 1238.50 over 5 rows
        assert fast == (Decimal("1238.50"), 5, [])
    if column == "item-price":  # the last item-price, or the first where a short row lacks it (a dict
        # keeps the last key present): 10.01 + 5.50 + 1 + (abc unreadable) - 0.5
        assert fast == (Decimal("16.01"), 5, [(7, "abc")])


def _frame(table: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    cols = dict(TABLES[table].columns) | {"source_file": "string", "source_row": "int64"}
    data: dict[str, object] = {}
    for c, kind in cols.items():
        if kind == "int64":
            data[c] = rng.integers(0, 5, n)
        elif kind == "float64":
            data[c] = rng.random(n)
        elif kind in ("date", "timestamp"):
            data[c] = pd.Timestamp("2026-01-01")
        else:
            data[c] = "x"
    df = pd.DataFrame(data)
    if table == "orders":
        df["status"] = "shipped"
    if table == "fees":
        df["fee_type"] = "referral"
    return conform(df, cols)


@pytest.mark.parametrize("table", ["orders", "fees", "refunds", "settlement_lines", "traffic"])
def test_schema_precheck_skips_pandera_only_when_pandera_finds_nothing(table: str) -> None:
    rng = np.random.default_rng(3)
    schema = pandera_schema(table)
    clean = _frame(table, 50, rng)
    schema.validate(clean, lazy=True)  # the clean frame passes
    assert not pipeline._schema_may_fail(schema, clean)
    t = TABLES[table]
    breaks = [(c, None) for c in t.required] + [(c, -1) for c in t.non_negative]
    breaks += [("status", "lost"), ("quantity", 100001)] if table == "orders" else []
    breaks += [("fee_type", "bribe")] if table == "fees" else []
    assert breaks
    for col, value in breaks:
        df = clean.copy()
        df.loc[7, col] = value
        with pytest.raises(pa_errors.SchemaErrors):
            schema.validate(df, lazy=True)
        assert pipeline._schema_may_fail(schema, df), (col, value)


def _detect_decimal_before(cells: list[object]) -> str | None:
    """``textio.detect_decimal`` as it was before it counted each distinct text once (copied)."""
    comma = point = 0
    for v in cells:
        if not isinstance(v, str):
            continue
        s = v.strip().strip('"')
        if "," not in s and "." not in s:
            continue
        if not s or not any(ch.isdigit() for ch in s) or len(s) > 40:
            continue
        s = textio._CURRENCY.sub("", s).replace("\u00a0", "").strip()
        if s.startswith(("-", "+")):
            s = s[0] + s[1:].strip()
        if textio._COMMA_DEC.match(s):
            comma += 1
        elif textio._POINT_DEC.match(s):
            point += 1
    if comma == point:
        return None if comma == 0 else "."
    return "," if comma > point else "."


DECIMAL_CELLS = ["1,5", "1.5", "1.234,56", "1,234.56", "12,50 €", "$3.99", "EUR 4,20", "(1,00)", "-  2,5",
                 "1.234", "1,234", "12%", "²,5", "v1.2", "", " ", "abc", '"7,25"', "2026-01-05", "05.01.2026",
                 "1 234,5", "0.0001", "0,0001", "+3.50", "x" * 41 + ",5", None, 3.5, 7]


def test_detect_decimal_counting_distinct_texts_once_decides_the_same() -> None:
    """Random multisets of locale cells (ties, one-sided, mixed, none): same decision as the
    cell-by-cell count, which is what the weighting by occurrences must reproduce."""
    rng = np.random.default_rng(11)
    decided = set()
    for _ in range(400):
        n = int(rng.integers(0, 60))
        cells = [DECIMAL_CELLS[int(i)] for i in rng.integers(0, len(DECIMAL_CELLS), n)]
        want = _detect_decimal_before(cells)
        assert textio.detect_decimal(cells) == want, cells
        decided.add(want)
    assert decided == {",", ".", None}  # every outcome was exercised
    # a tie broken by one repeated cell: weights must count repeats
    assert textio.detect_decimal(["1,5", "2,5", "1.5"]) == ","
    assert textio.detect_decimal(["1,5", "1.5", "1.5"]) == "."
