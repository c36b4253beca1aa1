"""The Amazon orders and FBA inventory readers' Arrow paths (``common.FAST``: ``orders._read_arrow``,
``inventory._read_arrow``) give exactly what their pandas paths (``FAST = False``, the readers before
issue 15.2's eleventh-session round) give: every table (values, dtypes, row order, ``source_row``),
the quarantined rows (reason, row, column, raw cells), rows read, the reconciliation total and the
same ``IngestError``. On the fixtures, a sample of the demo company's files (both US and DE stores) and
seeded random files with missing, blank, unparseable, negative, fractional, thousands-separated,
comma-decimal, symbol and repeated cells, bad and other-form dates (rolled over, day-first, dotted,
zone names), blank and tab-only lines, unknown statuses, repeated order lines and missing optional
columns.
"""

from __future__ import annotations

import contextlib
import csv
import io
import random
from pathlib import Path

import pytest
from conftest import REAL_EXPORTS
from ingest_helpers import FastSwitch

from kpi_lib.errors import IngestError
from kpi_lib.ingest.base import Reader, Store
from kpi_lib.ingest.readers.amazon import common, inventory, orders
from kpi_lib.ingest.readers.amazon.ads import _AdsReportReader
from kpi_lib.ingest.readers.amazon.inventory import AmazonFbaInventory
from kpi_lib.ingest.readers.amazon.orders import AmazonOrders
from kpi_lib.ingest.registry import REGISTRY

FIX = Path(__file__).parent / "fixtures" / "exports" / "amazon"
US = Store("AMZ-US-01", "amazon", "US", "USD", "America/Los_Angeles")
DE = Store("AMZ-DE-01", "amazon", "DE", "EUR", "Europe/Berlin")
IN = Store("AMZ-IN-01", "amazon", "IN", "INR", "Asia/Kolkata")
ORDERS, INVENTORY = AmazonOrders(), AmazonFbaInventory()


_SWITCH = FastSwitch(common)
fast, read, assert_same = _SWITCH.fast, _SWITCH.read, _SWITCH.assert_same


@pytest.mark.parametrize(("reader", "name", "store"), [
    (ORDERS, "all_orders_report.txt", US),
    (ORDERS, "all_orders_report_bad_rows.txt", US),
    (INVENTORY, "fba_inventory_planning.txt", US),
    (INVENTORY, "fba_inventory_planning.txt", IN),
])
def test_fixtures_read_the_same(reader: Reader, name: str, store: Store) -> None:
    assert_same(reader, FIX / name, store)


def test_the_fast_path_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``FAST`` the readers never reach their pandas paths; without it they do."""
    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("pandas path taken")

    monkeypatch.setattr(AmazonOrders, "_read_pandas", refuse)
    monkeypatch.setattr(AmazonFbaInventory, "_read_pandas", refuse)
    with fast(True):
        assert ORDERS.read(FIX / "all_orders_report.txt", US).tables["orders"].shape[0] == 6
        assert len(INVENTORY.read(FIX / "fba_inventory_planning.txt", US).tables["inventory"])
    with fast(False), pytest.raises(AssertionError):
        ORDERS.read(FIX / "all_orders_report.txt", US)


def _demo_stores(project: Path) -> dict[str, Store]:
    with open(project / "data" / "reference" / "stores.csv", newline="") as fh:
        return {r["store_id"]: Store(r["store_id"], r["platform"], r["marketplace"], r["currency"], r["timezone"])
                for r in csv.DictReader(fh)}


@pytest.mark.parametrize(("reader", "folder", "every"), [(ORDERS, "orders", 4), (INVENTORY, "inventory", 3)])
def test_demo_files_read_the_same(demo_project: Path, reader: Reader, folder: str, every: int) -> None:
    """Every fourth orders / third inventory file of each demo Amazon store (US and DE)."""
    stores = _demo_stores(demo_project)
    files = sorted((demo_project / "data" / "raw").glob(f"AMZ-*/{folder}/*.txt"))
    assert len(files) > 10
    seen = set()
    for i, path in enumerate(files):
        if i % every == 0 or "re-export" in path.name:
            res = assert_same(reader, path, stores[path.parent.parent.name])
            assert not isinstance(res, str), res
            seen.add(path.parent.parent.name)
    assert {"AMZ-US-01", "AMZ-DE-01"} <= seen


# ------------------------------------------------------------------------------------ random files

ORDER_HEADER = ["amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
                "fulfillment-channel", "sales-channel", "product-name", "sku", "item-status", "quantity", "currency",
                "item-price", "item-tax", "shipping-price", "item-promotion-discount", "ship-country"]
OPTIONAL_ORDER = ["item-tax", "fulfillment-channel", "item-status", "currency", "item-promotion-discount",
                  "shipping-price"]
TS_GOOD = ["2025-06-01T07:04:26+00:00", "2025-06-30T23:59:59-07:00", "2025-03-09T10:30:00+00:00",
           "2025-11-02T09:15:00+00:00", "2024-02-29T12:00:00+05:30", "2025-12-31T23:00:00+14:00"]
TS_ODD = ["", "  ", "2025-13-45T99:00:00+00:00", "2025-02-30T10:00:00+00:00", "2025-06-01T24:00:00+00:00",
          "2025-06-01", "06/01/2025", "13/01/2025 10:00:00", "05.07.2025 22:07:18 UTC", "2025-06-01 10:00:00 PST",
          "2025-06-01T10:00:00Z", "2025-06-01T10:00:00.123+00:00", "yesterday", "2025-06-01T10:00:60+00:00"]
QTY = ["1", "1", "2", "3", "", " 2 ", "-1", "1.5", "abc", "1,000", "inf", "1e3", "0", "9007199254740993"]
MONEY = ["12.34", "59.99", "0.00", "", "-3.00", "1,234.56", "12,5", "$4.99", "(3.00)", "abc", "inf", "1.234,56",
         " 7 ", "USD 5.00", "5%", "--"]
STATUS = ["Shipped", "Shipped - Delivered to Buyer", "Pending", "Cancelled", "canceled", "SHIPPED", "Unshipped",
          "Shipped - Returned to Seller", "Complete", "Unknown state", "", " Shipped "]
ITEM_STATUS = ["Shipped", "Shipped", "Cancelled", "cancelled", "", "Unshipped"]
FULFIL = ["Amazon", "Merchant", "AFN", "MFN", "Other", "", " Amazon ", "amazon"]
SKUS = ["HK-1001", "HK-1002", "EL-2001", "", " HK-1001 ", "BE-3#1"]


def _orders_file(rng: random.Random, odd: bool, header: list[str], currency: str) -> str:
    """One random All Orders file (tab-separated, unquoted)."""
    lines = ["\t".join(header)]
    ids = [f"11{k}-{rng.randrange(10**7):07d}-{rng.randrange(10**7):07d}" for k in range(1, 9)]
    prev: dict[str, str] | None = None
    for _ in range(rng.randrange(1, 90)):
        if prev is not None and rng.random() < 0.2:  # the order's next line: the same or another sku
            row = dict(prev)
            if rng.random() < 0.5:
                row["sku"] = rng.choice(SKUS)
        else:
            row = {
                "amazon-order-id": rng.choice(ids) if rng.random() > 0.05 or not odd else rng.choice(["", "  "]),
                "purchase-date": rng.choice(TS_ODD if odd and rng.random() < 0.2 else TS_GOOD),
                "order-status": rng.choice(STATUS if odd else STATUS[:9]),
                "fulfillment-channel": rng.choice(FULFIL),
                "sku": rng.choice(SKUS),
                "item-status": rng.choice(ITEM_STATUS),
                "quantity": rng.choice(QTY if odd else QTY[:4]),
                "currency": rng.choice([currency, currency, "", currency.lower()]),
                **{c: rng.choice(MONEY if odd else MONEY[:5]) for c in
                   ("item-price", "item-tax", "shipping-price", "item-promotion-discount")},
                "product-name": rng.choice(['Mug 12"', "Kettle, 1.7 l", "Board"]),
            }
        prev = row
        lines.append("\t".join(row.get(c, "") for c in header))
        if rng.random() < 0.04:
            lines.append(rng.choice(["", "\t" * (len(header) - 1), "  "]))
    return "\n".join(lines) + ("\n" if rng.random() < 0.7 else "")


def _header(rng: random.Random, seed: int, header: list[str], optional: list[str]) -> list[str]:
    """A random file's header: every third seed drops two optional columns; always shuffled."""
    out = list(header)
    if seed % 3 == 2:
        for c in rng.sample(optional, 2):
            out.remove(c)
    rng.shuffle(out)
    return out


@pytest.mark.parametrize("seed", range(30))
def test_random_orders_files_read_the_same(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    header = _header(rng, seed, ORDER_HEADER, OPTIONAL_ORDER)
    store = DE if seed % 4 == 3 else US
    path = tmp_path / f"orders-{seed}.txt"
    path.write_text(_orders_file(rng, seed % 5 != 0, header, store.currency))
    assert_same(ORDERS, path, store)


def test_random_orders_files_reach_every_check(tmp_path: Path) -> None:
    """The random files are not all clean: their quarantine covers every check and the repeated order
    lines are numbered."""
    reasons, line_ids = set(), set()
    for seed in range(15):
        rng = random.Random(seed)
        header = list(ORDER_HEADER)
        path = tmp_path / f"orders-{seed}.txt"
        path.write_text(_orders_file(rng, True, header, "USD"))
        with fast(True):
            res = ORDERS.read(path, US)
        reasons |= {(q.column, q.reason.split("'")[0]) for q in res.quarantine}
        line_ids |= set(res.tables["orders"]["line_id"].str.extract(r"(#\d+)$")[0].dropna())
    cols = {c for c, _ in reasons}
    assert {"amazon-order-id", "purchase-date", "quantity", "item-price", "item-tax", "shipping-price",
            "item-promotion-discount", "order-status"} <= cols
    assert {"quantity: negative value ", "quantity is empty (expected a whole number)",
            "purchase-date is empty (expected a timestamp)"} <= {r for _, r in reasons}
    assert {"#2", "#3"} <= line_ids


def test_an_orders_currency_mismatch_and_a_header_only_file_fail_the_same(tmp_path: Path) -> None:
    p = tmp_path / "o.txt"
    p.write_text((FIX / "all_orders_report.txt").read_text().replace("\tUSD\t", "\tCAD\t"))
    assert assert_same(ORDERS, p, US).startswith("IngestError")
    p.write_text("\t".join(ORDER_HEADER) + "\n")
    assert_same(ORDERS, p, US)


INV_HEADER = ["snapshot-date", "sku", "fnsku", "asin", "product-name", "condition", "available",
              "pending-removal-quantity", "inv-age-0-to-90-days", "inv-age-91-to-180-days",
              "inv-age-181-to-270-days", "inv-age-271-to-365-days", "inv-age-365-plus-days", "currency",
              "inbound-quantity", "reserved-quantity", "unfulfillable-quantity"]
OPTIONAL_INV = ["currency", "inbound-quantity", "reserved-quantity", "unfulfillable-quantity",
                "inv-age-181-to-270-days", "inv-age-271-to-365-days"]
DATE_GOOD = ["2025-06-01", "2025-10-01", "2024-02-29"]
DATE_ODD = ["", " ", "06/01/2025", "13/01/2025", "01.07.2025", "2025-13-01", "2025-02-30", "soon",
            "2025-06-01T00:00:00+00:00", "2025/06/01", "Jun 1, 2025"]
INTS = ["0", "1", "12", "", " 5 ", "-2", "1.5", "x", "1,000", "inf", "3.0"]


def _inventory_file(rng: random.Random, odd: bool, header: list[str], currency: str) -> str:
    """One random FBA inventory planning file (tab-separated, unquoted); one snapshot date per file
    mostly, as the report has."""
    day = rng.choice(DATE_GOOD)
    lines = ["\t".join(header)]
    for _ in range(rng.randrange(1, 70)):
        row = {
            "snapshot-date": rng.choice(DATE_ODD) if odd and rng.random() < 0.15 else day,
            "sku": rng.choice(SKUS) if odd else rng.choice(SKUS[:3]),
            "currency": rng.choice([currency, ""]),
            "product-name": rng.choice(['Mug 12"', "Board"]),
            **{c: rng.choice(INTS if odd else INTS[:3]) for c in header if c.startswith(("inv-age", "available"))
               or c.endswith("-quantity")},
        }
        lines.append("\t".join(row.get(c, "") for c in header))
        if rng.random() < 0.04:
            lines.append(rng.choice(["", "\t" * (len(header) - 1)]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("seed", range(30))
def test_random_inventory_files_read_the_same(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    header = _header(rng, seed, INV_HEADER, OPTIONAL_INV)
    store = DE if seed % 4 == 3 else US
    path = tmp_path / f"inv-{seed}.txt"
    path.write_text(_inventory_file(rng, seed % 5 != 0, header, store.currency))
    assert_same(INVENTORY, path, store)


def test_random_inventory_files_reach_every_check(tmp_path: Path) -> None:
    cols, reasons = set(), set()
    for seed in range(15):
        path = tmp_path / f"inv-{seed}.txt"
        path.write_text(_inventory_file(random.Random(seed), True, list(INV_HEADER), "USD"))
        with fast(True):
            res = INVENTORY.read(path, US)
        cols |= {q.column for q in res.quarantine}
        reasons |= {q.reason.split("'")[0] for q in res.quarantine}
    assert {"sku", "snapshot-date", "available", "inv-age-181-to-270-days", "unfulfillable-quantity"} <= cols
    assert "available: negative value " in reasons and "cannot parse snapshot-date: " in reasons


def test_an_inventory_currency_mismatch_and_a_header_only_file_fail_the_same(tmp_path: Path) -> None:
    p = tmp_path / "i.txt"
    text = (FIX / "fba_inventory_planning.txt").read_text()
    assert "USD" in text
    p.write_text(text.replace("USD", "GBP"))
    assert assert_same(INVENTORY, p, US).startswith("IngestError")
    p.write_text("\t".join(INV_HEADER) + "\n")
    assert_same(INVENTORY, p, US)


def test_the_arrow_functions_are_the_readers() -> None:
    """(The tests above reach them through ``read``; named here so a rename is noticed.)"""
    assert callable(orders._read_arrow) and callable(inventory._read_arrow)


# ---------------------------------------------------------------------------------------- Amazon Ads

ADS = Path(__file__).parent / "fixtures" / "exports" / "amazon-ads"
REAL_ADS = REAL_EXPORTS / "amazon-ads"
UK = Store("AMZ-UK-01", "amazon", "UK", "GBP", "Europe/London")
ADS_READERS = {r.kind: r for r in REGISTRY.readers() if isinstance(r, _AdsReportReader)}


def ads_reader(path: Path, store: Store) -> Reader:
    """The ads reader that reads ``path`` (each refuses another report kind)."""
    with fast(False):
        for r in ADS_READERS.values():
            with contextlib.suppress(IngestError):
                r.read(path, store)
                return r
    raise AssertionError(f"no ads reader reads {path}")


@pytest.mark.parametrize("name", sorted(p.name for p in ADS.glob("*.*") if p.suffix in (".csv", ".xlsx")))
def test_ads_fixtures_read_the_same(name: str) -> None:
    path = ADS / name
    store = UK if name.startswith("uk-") else DE if name.startswith("de-") else US
    assert not isinstance(assert_same(ads_reader(path, store), path, store), str)


@pytest.mark.parametrize("name", ["Sponsored Products Campaign report.csv",
                                  "Sponsored Products Advertised product report.xlsx"])
def test_real_ads_exports_read_the_same(name: str) -> None:
    path = REAL_ADS / name
    assert not isinstance(assert_same(ads_reader(path, IN), path, IN), str)


def test_demo_ads_files_read_the_same(demo_project: Path) -> None:
    stores = _demo_stores(demo_project)
    files = sorted((demo_project / "data" / "raw").glob("AMZ-*/ads/*.csv"))
    assert len(files) > 10
    for path in files[::6]:
        assert not isinstance(assert_same(ads_reader(path, stores[path.parent.parent.name]), path,
                                           stores[path.parent.parent.name]), str)


AD_DAYS = ["Oct 1, 2025", "Oct 2, 2025", "2025-10-03", "10/04/2025", "Oct 31, 2025"]
AD_DAYS_ODD = ["", " ", "Oct 32, 2025", "13/13/2025", "someday", "2025-02-30", "04.10.2025", "Total", "total"]
AD_INTS = ["0", "12", "963", "", "1,234", "-3", "1.5", "abc", " 7 "]
AD_MONEY = ["6.55", "0.00", "", "1,234.56", "-1.00", "abc", "(2.00)", "12,5", "inf", "3.5%", "--"]
AD_SYMBOLS = {"USD": ["$3.02", "USD 4.00"], "INR": ["Rs.15.5", "₹3.00", "Rs 2", "INR 7.10"]}
CAMPAIGNS = ["SP | Home | Auto", 'Mat 31\\"" x 19\\"" Pro', "", "Brand, exact", "Total"]


def _ads_file(rng: random.Random, daily: bool, odd: bool, title: bool, sep: str, currency: str = "USD") -> str:
    """One random Sponsored Products advertised product report (CSV), daily or summary layout."""
    dates = ["Date"] if daily else ["Start Date", "End Date"]
    header = [*dates, "Portfolio name", "Currency", "Campaign Name", "Ad Group Name", "Advertised SKU",
              "Advertised ASIN", "Impressions", "Clicks", "Spend", "7 Day Total Sales", "7 Day Total Orders (#)",
              "7 Day Total Units (#)"]
    if rng.random() < 0.3:
        header.remove(rng.choice(["7 Day Total Orders (#)", "7 Day Total Units (#)", "Portfolio name", "Currency"]))
    out = io.StringIO()
    w = csv.writer(out, delimiter=sep, lineterminator="\n")
    if title:
        out.write("Sponsored Products Advertised product report\n")
    w.writerow(header)
    for _ in range(rng.randrange(1, 60)):
        d = rng.choice(AD_DAYS_ODD if odd and rng.random() < 0.15 else AD_DAYS)
        row = {"Date": d, "Start Date": d, "End Date": rng.choice([d, d, rng.choice(AD_DAYS)]),
               "Portfolio name": rng.choice(["Not grouped", ""]), "Currency": rng.choice([currency, "", currency]),
               "Campaign Name": rng.choice(CAMPAIGNS), "Ad Group Name": rng.choice(["ag1", "", "auto"]),
               "Advertised SKU": rng.choice(SKUS), "Advertised ASIN": rng.choice(["B0NU92N2AA", ""])}
        for c in header:
            if c in ("Impressions", "Clicks") or "(#)" in c:
                row[c] = rng.choice(AD_INTS if odd else AD_INTS[:3])
            elif c in ("Spend", "7 Day Total Sales"):
                row[c] = rng.choice((AD_MONEY if odd else AD_MONEY[:4]) + AD_SYMBOLS[currency])
        if odd and rng.random() < 0.05:  # a totals row or a row of empty dimensions
            row = {c: "" for c in header} | {"Spend": "12.00", header[0]: rng.choice(["Total", ""])}
        w.writerow([row.get(c, "") for c in header])
    return out.getvalue()


@pytest.mark.parametrize("seed", range(24))
def test_random_ads_files_read_the_same(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    path = tmp_path / f"ads-{seed}.csv"
    store = IN if seed % 4 == 1 else US
    path.write_text(_ads_file(rng, seed % 2 == 0, seed % 5 != 0, seed % 6 == 1, ";" if seed % 7 == 3 else ",",
                              store.currency))
    res = assert_same(ADS_READERS["sp_advertised_product"], path, store)
    assert not isinstance(res, str), res


def test_random_ads_files_reach_every_check(tmp_path: Path) -> None:
    reasons = set()
    for seed in range(12):
        path = tmp_path / f"ads-{seed}.csv"
        path.write_text(_ads_file(random.Random(seed), seed % 2 == 0, True, False, ","))
        with fast(True):
            res = ADS_READERS["sp_advertised_product"].read(path, US)
        reasons |= {q.reason.split("'")[0] for q in res.quarantine}
    assert {"totals row", "cannot parse Impressions: ", "cannot parse Spend: ", "Clicks: negative value (expected >= 0)",
            "end date before start date", "cannot parse Date: "} <= reasons


def test_an_ads_currency_mismatch_fails_the_same(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text("Date,Campaign Name,Impressions,Clicks,Spend,7 Day Total Sales\n"
                 "\"Oct 1, 2025\",c1,10,1,€4.50,3.00\n\"Oct 2, 2025\",c1,10,1,1.00,Rs.3.00\n")
    assert assert_same(ADS_READERS["sp_campaign"], p, US).startswith("IngestError")
    p.write_text("Date,Campaign Name,Currency,Impressions,Clicks,Spend\n\"Oct 1, 2025\",c1,EUR,10,1,4.50\n")
    assert assert_same(ADS_READERS["sp_campaign"], p, US).startswith("IngestError")
