"""The Amazon settlement V1 reader's Arrow path (``_read_arrow``) gives exactly what its pandas path
(``AmazonSettlementV1._read_pandas``, the reader before issue 15.2's fifth round) gives: every table
(values, dtypes, row order, ``source_row``), the quarantined rows (reason, row, column, raw cells),
rows read, the reconciliation total and the export time. On the settlement fixture, the three real
Amazon.ca exports, the demo company's settlement files, and seeded random files with missing,
blank, unparseable, negative, comma-decimal, symbol, fractional and repeated cells, bad dates and
blank lines. The Arrow column helpers (``ingest.arrowcols``) are compared with the pandas parsers.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import REAL_EXPORTS

from kpi_lib.errors import IngestError
from kpi_lib.generate.amazon import SETTLEMENT_HEADER
from kpi_lib.ingest import arrowcols
from kpi_lib.ingest.base import QuarantineRow, ReadResult, Store
from kpi_lib.ingest.frames import read_delimited
from kpi_lib.ingest.parse import col_datetime, col_int, col_number
from kpi_lib.ingest.readers.amazon import settlement
from kpi_lib.ingest.readers.amazon.settlement import AmazonSettlementV1

FIX = Path(__file__).parent / "fixtures" / "exports" / "amazon"
REAL = REAL_EXPORTS / "amazon-settlement"
US = Store("AMZ-US-01", "amazon", "US", "USD", "America/Los_Angeles")
DE = Store("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin")
CA = Store("AMZ-CA-01", "amazon", "CA", "CAD", "America/Toronto")
IN = Store("AMZ-IN-01", "amazon", "IN", "INR", "Asia/Kolkata")
READER = AmazonSettlementV1()


def pandas_path(path: Path, store: Store) -> ReadResult:
    return READER._read_pandas(path, store)


def arrow_path(path: Path, store: Store) -> ReadResult:
    return settlement._read_arrow(read_delimited(path, "\t", quoted=False), path, store)


def quarantine_key(q: QuarantineRow) -> tuple:
    return (q.source_row, q.reason, q.column, q.raw)


def assert_same(path: Path, store: Store) -> ReadResult:
    """Both paths on one file: equal in every table (dtypes and order included) and every count."""
    try:
        want = pandas_path(path, store)
    except IngestError as e:
        with pytest.raises(IngestError) as got:
            arrow_path(path, store)
        assert str(got.value) == str(e)
        return None
    got = arrow_path(path, store)
    assert list(got.tables) == list(want.tables)
    for name, frame in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], frame, check_exact=True, obj=f"{path.name}: {name}")
    assert [quarantine_key(q) for q in got.quarantine] == [quarantine_key(q) for q in want.quarantine]
    assert (got.rows_read, got.expected_money, got.money_columns, got.exported_at) == (
        want.rows_read, want.expected_money, want.money_columns, want.exported_at)
    return got


# ----------------------------------------------------------------------------- files that exist

@pytest.mark.parametrize("path, store", [
    (FIX / "settlement_v1_de.txt", DE),
    *[(p, CA) for p in sorted(REAL.glob("*.txt"))],
])
def test_fixture_and_real_exports_read_the_same(path: Path, store: Store) -> None:
    res = assert_same(path, store)
    assert len(res.tables["settlement_lines"]) > 0


def test_the_real_exports_are_three() -> None:
    assert len(sorted(REAL.glob("*.txt"))) == 3  # the parametrisation above saw them all


def _demo_stores(project: Path) -> dict[str, Store]:
    with open(project / "data" / "reference" / "stores.csv", newline="") as fh:
        return {r["store_id"]: Store(r["store_id"], r["platform"], r["marketplace"], r["currency"], r["timezone"])
                for r in csv.DictReader(fh)}


def test_demo_settlement_files_read_the_same(demo_project: Path) -> None:
    """Every sixth settlement file of each demo store, and every re-export (both paths on all 128 files
    take ~10 CPU s: too slow for the suite; ``bench/ingest_same.py`` compares whole trees)."""
    stores = _demo_stores(demo_project)
    every = sorted((demo_project / "data" / "raw").glob("*/settlements/*.txt"))
    assert len(every) > 20
    files = [p for i, p in enumerate(every) if i % 6 == 0 or p.name.startswith("re-export")]
    stores_seen = set()
    for path in files:
        assert_same(path, stores[path.parent.parent.name])
        stores_seen.add(path.parent.parent.name)
    assert {"AMZ-US-01", "AMZ-DE-01"} <= stores_seen


def test_read_takes_the_arrow_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):
        raise AssertionError("the pandas path was taken")

    monkeypatch.setattr(AmazonSettlementV1, "_read_pandas", refuse)
    res = READER.read(FIX / "settlement_v1_de.txt", DE)
    assert len(res.tables["settlement_lines"]) == 14


def test_a_frame_that_is_not_arrow_text_takes_the_pandas_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame whose columns are not Arrow text (no reader makes one today) is declined: the pandas path
    reads it, with the same result."""
    path = FIX / "settlement_v1_de.txt"
    want = pandas_path(path, DE)

    def object_frame(p: Path, sep: str, quoted: bool) -> pd.DataFrame:
        df = read_delimited(p, sep, quoted)
        return df.astype({c: object for c in df.columns if c != "__line"})

    def refuse(*a, **k):
        raise AssertionError("the Arrow path was taken")

    monkeypatch.setattr(settlement, "read_delimited", object_frame)
    monkeypatch.setattr(settlement, "_read_arrow", refuse)
    got = READER.read(path, DE)
    for name, frame in want.tables.items():
        pd.testing.assert_frame_equal(got.tables[name], frame, check_exact=True)


# ---------------------------------------------------------------------------- generated files

HEADER = list(SETTLEMENT_HEADER)  # the 36 columns of the real exports 50018020314.txt and 50034020328.txt
NO_PROMOTION = [h for h in HEADER if h not in ("promotion-id", "promotion-type", "promotion-amount")]
TYPED = {  # amount column → its type column and type values
    "price-amount": ("price-type", ["Principal", "Tax", "Shipping", "GiftWrap", "ShippingTax", ""]),
    "item-related-fee-amount": ("item-related-fee-type",
                                ["Commission", "FBAPerUnitFulfillmentFee", "RefundCommission", "ShippingChargeback",
                                 "FBAWeightBasedFee", "VariableClosingFee", ""]),
    "shipment-fee-amount": ("shipment-fee-type", ["FBA Inbound Placement Fee", ""]),
    "order-fee-amount": ("order-fee-type", ["Subscription Fee", ""]),
    "promotion-amount": ("promotion-type", ["Shipping", "Principal", ""]),
    "misc-fee-amount": (None, []),
    "other-fee-amount": ("other-fee-reason-description", ["Cost of Advertising", "Storage fee", "", "FBA Removal"]),
    "direct-payment-amount": ("direct-payment-type", ["Payment", ""]),
    "other-amount": (None, []),
}
TX_TYPES = ["Order", "Order", "Refund", "Storage Fee", "ServiceFee", "Previous Reserve Amount Balance",
            "Current Reserve Amount", "REVERSAL_REIMBURSEMENT", "Chargeback Refund", "A-to-z Guarantee Claim",
            "StorageRenewalBilling", "FBA Inventory Reimbursement", "other-transaction", ""]
DOT_AMOUNTS = ["12.34", "-5.62", "0", "0.00", "-0.00", " 7.10 ", "19.99", "-19.99", "3", "1e3", "100"]
ODD_AMOUNTS = ["abc", "$5.00", "1,234.56", "(3.00)", "--", "nan", "inf", "12%", "USD 4.00", "1.234,56", "3,80"]
COMMA_AMOUNTS = ["3,80", "-5,62", "1.234,56", "12,5", "0,00", "-19,99", " 7,10 ", "100"]
QUANTITIES = ["1", "1", "2", "", " 3 ", "-1", "1.5", "x", "2.0", "1,000", "0"]
POSTED_GOOD = ["2025-07-31T20:13:08+00:00", "2025-07-31T20:13:08-07:00", "2025-08-01T06:30:00+00:00",
               "2025-07-15T23:59:59+05:30", "2025-11-02T08:30:00+00:00", "2025-03-30T00:30:00+00:00"]
POSTED_ODD = ["05.07.2025", "2025-02-30T10:00:00+00:00", "2025-07-31T24:00:00+00:00", "31.02.2025",
              "07/15/2025", "15/07/2025", "2025-07-31", "2025-07-31T20:13:08Z", "garbage",
              "2025-07-31 20:13:08 UTC", "12.07.2025 08:12:33 UTC", "2025-07-31T20:13:08.5+00:00",
              "2025-07-31T20:13:08+0000", "1899-07-31T20:13:08+00:00", ""]
#: ISO 8601 to the second with an offset, but not a real time: Arrow's strptime would roll them over
ISO_ROLLED = ["2025-02-30T10:00:00+00:00", "2025-07-31T24:00:00+00:00", "2025-07-31T23:59:60+00:00",
              "2025-13-01T10:00:00+00:00", "2025-04-31T10:00:00-07:00", "2025-00-10T10:00:00+00:00",
              "2025-07-00T10:00:00+00:00", "2025-07-31T10:60:00+00:00", "2023-02-29T10:00:00+00:00"]
SUMMARY_DATES = ["2025-07-01T22:07:18+00:00", "01.07.2025 08:12:33 UTC", "2025-07-31", "31.13.2025", "05/07/2025", ""]


def _file(rng: random.Random, comma: bool, odd: bool, header: list[str]) -> str:
    """One random settlement V1 file: a summary row (sometimes two, sometimes bad), then transaction
    rows with 0–3 amounts, quantities, repeated orders and items, blank lines."""
    amounts = COMMA_AMOUNTS if comma else DOT_AMOUNTS
    amounts = amounts + (ODD_AMOUNTS if odd else [])
    posted = POSTED_GOOD + (POSTED_ODD if odd else ISO_ROLLED if rng.random() < 0.5 else [])
    sid = rng.choice(["2387439", "2387440"])
    rows: list[dict[str, str]] = []
    for _ in range(rng.choice([1, 1, 1, 2])):
        rows.append({
            "settlement-id": sid,
            "settlement-start-date": rng.choice(SUMMARY_DATES[:1] * 4 + (SUMMARY_DATES if odd else [])),
            "settlement-end-date": rng.choice(["2025-07-31T22:07:18+00:00"] * 4 + (SUMMARY_DATES if odd else [])),
            "deposit-date": rng.choice(["2025-08-02T22:07:18+00:00"] * 4 + (SUMMARY_DATES if odd else [])),
            "total-amount": rng.choice(amounts[:4]) if not odd else rng.choice(amounts),
            "currency": "USD",
            "quantity-purchased": rng.choice([""] * 8 + QUANTITIES),
        })
    orders = [f"111-{rng.randrange(10**6):07d}-0000001" for _ in range(4)]
    for _ in range(rng.randrange(5, 60)):
        row = {"settlement-id": sid, "transaction-type": rng.choice(TX_TYPES), "order-id": rng.choice(orders + [""]),
               "sku": rng.choice(["SKU-1", "SKU-2", " SKU-3 ", ""]), "posted-date": rng.choice(posted + POSTED_GOOD * 3),
               "order-item-code": rng.choice(["111", "222", ""]), "merchant-adjustment-item-id": rng.choice(["", "", "99"])}
        if rng.random() < 0.35:
            row["quantity-purchased"] = rng.choice(QUANTITIES)
        if odd and rng.random() < 0.03:  # a summary column filled on a transaction row
            row[rng.choice(["settlement-start-date", "deposit-date"])] = rng.choice(SUMMARY_DATES + ["15/07/2025", " "])
        for acol in rng.sample([a for a in TYPED if a in header], rng.choice([0, 1, 1, 1, 2, 3])):
            tcol, types = TYPED[acol]
            row[acol] = rng.choice(amounts)
            if tcol and tcol in header:
                row[tcol] = rng.choice(types)
        rows.append(row)
        if rng.random() < 0.15:  # the quantity row of the item just written, or a repeated row
            rows.append(dict(row) if rng.random() < 0.5 else {**{k: v for k, v in row.items() if "amount" not in k},
                                                               "quantity-purchased": rng.choice(QUANTITIES)})
    lines = ["\t".join(header)]
    for row in rows:
        lines.append("\t".join(row.get(h, "") for h in header))
        if rng.random() < 0.05:
            lines.append(rng.choice(["", "\t" * (len(header) - 1), "  "]))
    return "\n".join(lines) + rng.choice(["\n", "", "\n\n"])


@pytest.mark.parametrize("seed", range(40))
def test_random_files_read_the_same(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    comma, odd = seed % 4 == 1, seed % 2 == 0
    header = NO_PROMOTION if seed % 5 == 3 else list(HEADER)
    if seed % 7 == 6:
        header = [("posted-date-time" if h == "posted-date" else h) for h in header]
    path = tmp_path / f"s{seed}.txt"
    text = _file(rng, comma, odd, header)
    if seed % 7 == 6:
        text = text.replace("\tposted-date\t", "\tposted-date-time\t")
    path.write_text(text)
    for store in (US, (DE, IN)[seed % 2]):
        assert_same(path, store)


def test_random_files_reach_every_check(tmp_path: Path) -> None:
    """The random files are not all clean: their quarantine covers every check of the reader."""
    columns: set[str] = set()
    for seed in range(0, 40, 2):
        path = tmp_path / f"s{seed}.txt"
        path.write_text(_file(random.Random(seed), seed % 4 == 1, True, list(HEADER)))
        try:
            res = arrow_path(path, US)
        except IngestError:
            continue
        columns |= {q.column for q in res.quarantine}
    assert {"total-amount", "posted-date", "quantity-purchased", "price-amount", "other-amount", ""} <= columns
    assert columns & {"settlement-start-date", "settlement-end-date", "deposit-date"}


def test_a_summary_date_column_filled_elsewhere_is_parsed_whole(tmp_path: Path) -> None:
    """A start date on a transaction row ("15/07/2025") makes the column day-first, so the summary's
    "05/07/2025" is 5 July: the Arrow path parses the summary rows alone only when no other row fills
    the column."""
    summary = {"settlement-id": "1", "settlement-start-date": "05/07/2025", "settlement-end-date": "2025-07-31T22:07:18+00:00",
               "deposit-date": "2025-08-02T22:07:18+00:00", "total-amount": "1.00", "currency": "USD"}
    tx = {"settlement-id": "1", "settlement-start-date": "15/07/2025", "transaction-type": "Order",
          "posted-date": "2025-07-20T10:00:00+00:00", "price-type": "Principal", "price-amount": "1.00"}
    path = tmp_path / "s.txt"
    path.write_text("\n".join("\t".join(r.get(h, "") for h in HEADER) for r in (dict(zip(HEADER, HEADER)), summary, tx)))
    res = assert_same(path, US)
    assert str(res.tables["payouts"]["start_date"].iloc[0].date()) == "2025-07-05"


def test_a_file_without_a_summary_row_fails_the_same(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("\t".join(HEADER) + "\n" + "\t".join("x" if h == "transaction-type" else "" for h in HEADER) + "\n")
    with pytest.raises(IngestError, match="no settlement summary row"):
        arrow_path(path, US)
    assert_same(path, US)


@pytest.mark.parametrize("text", ["", "\t".join(HEADER), "\t".join(HEADER) + "\n\n  \n"])
def test_an_empty_or_header_only_file_fails_the_same(tmp_path: Path, text: str) -> None:
    path = tmp_path / "s.txt"
    path.write_text(text)
    with pytest.raises(IngestError, match="no settlement summary row"):
        arrow_path(path, US)
    assert_same(path, US)


def test_a_currency_mismatch_fails_the_same() -> None:
    with pytest.raises(IngestError) as got:
        arrow_path(FIX / "settlement_v1_de.txt", US)
    with pytest.raises(IngestError) as want:
        pandas_path(FIX / "settlement_v1_de.txt", US)
    assert str(got.value) == str(want.value)


# -------------------------------------------------------------------- the Arrow column helpers

CELLS = ["12.34", " -5.62 ", "", "0", "1e3", "abc", "$5.00", "1,234.56", "(3.00)", "--", "nan", "inf", "12%",
         "3,80", "1.234,56", "  ", "1.5", "-1", "2.0"]


def _arr(values: list[str]) -> pa.ChunkedArray:
    return pa.chunked_array([pa.array(values[: len(values) // 2], pa.large_string()),
                             pa.array(values[len(values) // 2:], pa.large_string())])


@pytest.mark.parametrize("decimal", [".", ","])
@pytest.mark.parametrize("cells", [CELLS, ["1.5", "", "2", " 3 "], ["", ""], ["7"] * 3 + ["inf"]])
def test_numbers_equal_col_number(cells: list[str], decimal: str) -> None:
    stripped = [c.strip() for c in cells]
    v, b = arrowcols.numbers(_arr(stripped), decimal)
    want_v, want_b = col_number(pd.Series(stripped, dtype="string[pyarrow]"), decimal)
    np.testing.assert_array_equal(v, want_v.to_numpy(dtype="float64"))
    np.testing.assert_array_equal(b, want_b.to_numpy(dtype=bool))
    r, rb = arrowcols.whole_numbers(_arr(stripped + ["1e30", "-inf", "9007199254740992"]))
    stripped = stripped + ["1e30", "-inf", "9007199254740992"]
    want_r, want_rb = col_int(pd.Series(stripped, dtype="string[pyarrow]"))
    np.testing.assert_array_equal(r, want_r.to_numpy(dtype="float64", na_value=np.nan))
    np.testing.assert_array_equal(rb, want_rb.to_numpy(dtype=bool))


@pytest.mark.parametrize("tz", ["America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", None])
@pytest.mark.parametrize("cells", [POSTED_GOOD + [""], POSTED_GOOD + POSTED_ODD, SUMMARY_DATES, POSTED_GOOD + ISO_ROLLED,
                                   *[POSTED_GOOD + [bad] for bad in ISO_ROLLED],
                                   ["2025-03-09T10:30:00+00:00", "2025-10-26T00:59:59+00:00", "2025-10-26T01:00:00+00:00",
                                    "2026-12-31T23:59:59-14:00", "2000-02-29T12:00:00+14:00", "2025-07-31T20:13:08+14:59",
                                    "1969-12-31T23:30:00-01:00", "1900-03-01T00:00:00+00:00", "2024-02-29T12:00:00+00:00",
                                    "2099-12-31T23:59:59-00:30"]])
def test_datetimes_equal_col_datetime(cells: list[str], tz: str | None) -> None:
    rows = cells * 3
    v, b = arrowcols.datetimes(_arr(rows), tz)
    want_v, want_b = col_datetime(pd.Series(rows, dtype="string[pyarrow]"), tz)
    np.testing.assert_array_equal(v, want_v.to_numpy(dtype="datetime64[ns]"))
    np.testing.assert_array_equal(b, want_b.to_numpy(dtype=bool))


def test_rolled_over_iso_dates_are_left_to_pandas() -> None:
    """Arrow's strptime reads 2025-02-30 as 2 March: the round trip declines it, pandas marks it bad."""
    v, b = arrowcols.datetimes(_arr(["2025-02-30T10:00:00+00:00", "2025-07-31T20:13:08+00:00"]), "UTC")
    assert b.tolist() == [True, False] and np.isnat(v[0])


def test_floor_day_equals_pandas_floor() -> None:
    v = pd.Series(np.array(["2025-07-31T20:13:08", "NaT", "1969-12-31T23:00:00", "2025-01-01"], dtype="datetime64[ns]"))
    got = arrowcols.floor_day(v.to_numpy(dtype="datetime64[ns]"))
    want = v.dt.floor("D").astype("datetime64[ms]").to_numpy()
    np.testing.assert_array_equal(got, want)
    assert got.dtype == np.dtype("datetime64[ms]")


@pytest.mark.parametrize("quantity", ["inf", "1e30", "-Infinity"])
def test_an_impossible_quantity_is_quarantined_by_row_and_column(tmp_path: Path, quantity: str) -> None:
    """An infinite or astronomically large quantity (beyond the whole numbers a float holds, 2**53) is a bad
    cell of its row, named by column, on both paths (it crashed ``col_int`` converting to Int64); an
    infinite amount too. Every other row is loaded as before."""
    lines = (FIX / "settlement_v1_de.txt").read_text(encoding="utf-8").split("\n")
    header = lines[0].split("\t")
    row = next(i for i, ln in enumerate(lines) if "\tOrder\t" in ln and ln.split("\t")[header.index("quantity-purchased")])
    cells = lines[row].split("\t")
    cells[header.index("quantity-purchased")] = quantity
    lines[row] = "\t".join(cells)
    money = next(i for i, ln in enumerate(lines) if 0 < i != row and ln.split("\t")[header.index("price-amount")].strip())
    cells = lines[money].split("\t")
    cells[header.index("price-amount")] = "-inf"
    lines[money] = "\t".join(cells)
    f = tmp_path / "s.txt"
    f.write_text("\n".join(lines), encoding="utf-8")
    got = assert_same(f, DE)
    bad = {q.source_row: q for q in got.quarantine}
    assert bad[row + 1].column == "quantity-purchased" and quantity in str(bad[row + 1].raw)
    assert bad[money + 1].column == "price-amount"
    clean = pandas_path(FIX / "settlement_v1_de.txt", DE)
    assert got.rows_read == clean.rows_read and len(got.quarantine) == len(clean.quarantine) + 2
