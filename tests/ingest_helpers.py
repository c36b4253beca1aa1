"""A minimal reader and reference data for testing the ingest pipeline's mechanics in isolation."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from kpi_lib.errors import IngestError
from kpi_lib.ingest.base import (
    FileHead,
    QuarantineRow,
    Reader,
    ReadResult,
    Store,
    csv_frame,
    file_head,
    normalize_header,
    read_text,
)
from kpi_lib.ingest.parse import parse_datetime, parse_int, parse_number
from kpi_lib.ingest.registry import readers, register_instance

HEADER = "kpitest-order,sku,date,qty,price,currency"


class TestOrdersReader(Reader):
    """CSV ``kpitest-order,sku,date,qty,price[,currency]`` → orders (one line per row)."""

    name = "test_orders"
    platforms = ("testshop",)
    priority = 1

    def sniff(self, head: FileHead) -> bool:
        return bool(head.lines) and normalize_header(head.lines[0].split(",")[0]) == "kpitest-order"

    def read(self, path: Path, store: Store) -> ReadResult:
        text, _ = read_text(path)
        df = csv_frame(text, ",")
        need = ["kpitest-order", "sku", "date", "qty", "price"]
        missing = [c for c in need if c not in df.columns]
        if missing:
            from kpi_lib.errors import IngestError

            raise IngestError(f"{path}: missing column(s) {', '.join(missing)} (expected header {HEADER})")
        q: list[QuarantineRow] = []
        totals = df["kpitest-order"].str.strip().str.lower().isin(["total", "合计"])
        for _, r in df[totals].iterrows():
            q.append(QuarantineRow(int(r["__line"]), "totals row", "kpitest-order", r.drop("__line").to_dict()))
        df = df[~totals]
        date, bad_d = parse_datetime(df["date"], formats=["%Y-%m-%d"])
        qty, bad_q = parse_int(df["qty"])
        price, bad_p = parse_number(df["price"])
        bad = bad_d | bad_q | bad_p | date.isna()
        for i in df.index[bad]:
            col = "date" if (bad_d[i] or pd.isna(date[i])) else ("qty" if bad_q[i] else "price")
            q.append(QuarantineRow(int(df.at[i, "__line"]), f"cannot parse {col}: {df.at[i, col]!r}", col,
                                   df.loc[i].drop("__line").to_dict()))
        ok = ~bad
        out = pd.DataFrame({
            "order_id": df.loc[ok, "kpitest-order"], "line_id": df.loc[ok, "sku"], "sku": df.loc[ok, "sku"],
            "order_date": date[ok], "order_ts": date[ok], "status": "shipped", "quantity": qty[ok],
            "gross_sales": price[ok], "discounts": 0.0, "tax": 0.0, "shipping_charged": 0.0,
            "fulfillment_channel": "merchant", "source_row": df.loc[ok, "__line"].astype(int),
        })
        if "currency" in df.columns:
            out["currency"] = df.loc[ok, "currency"].replace("", store.currency)
        expected = float(price[~bad_p].fillna(0).sum())
        return ReadResult({"orders": out}, rows_read=len(df) + int(totals.sum()), quarantine=q,
                          expected_money=expected, money_columns=[("orders", "gross_sales", 1.0)])


register_instance(TestOrdersReader())


def write_reference(d: Path, skus: list[str] | None = None, months: list[str] | None = None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([
        {"store_id": "S1", "store_name": "Store one", "platform": "testshop", "marketplace": "US", "currency": "USD",
         "timezone": "America/New_York", "launch_date": "2024-01-01", "team_id": "T1"},
        {"store_id": "S2", "store_name": "Store two", "platform": "testshop", "marketplace": "DE", "currency": "EUR",
         "timezone": "Europe/Berlin", "launch_date": "2024-01-01", "team_id": "T1"},
    ]).to_csv(d / "stores.csv", index=False)
    months = months or [f"2026-{m:02d}" for m in range(1, 13)]
    rows = [{"month": m, "currency": c, "rate": r} for m in months for c, r in (("USD", 7.0), ("EUR", 8.0), ("CNY", 1.0))]
    pd.DataFrame(rows).to_csv(d / "fx_rates.csv", index=False)
    if skus is not None:
        pd.DataFrame({"sku": skus, "category": "c", "unit_cogs": 1.0, "first_leg_cost": 0.1, "duty_rate": 0.0}).to_csv(
            d / "skus.csv", index=False)
    return d


# ------------------------------------------------------------- shared by the Amazon reader tests


def reader(name: str) -> Reader:
    """The registered reader called ``name``."""
    return next(r for r in readers() if r.name == name)


def amazon_readers_accepting(path: Path) -> list[str]:
    """The Amazon readers whose sniff accepts ``path``."""
    head = file_head(path)
    return sorted(r.name for r in readers() if r.name.startswith("amazon") and r.sniff(head))


def check_accounting(res: ReadResult) -> float:
    """Every data row is in some table or quarantined (never both); returns loaded − expected money."""
    rows: set[int] = set()
    for df in res.tables.values():
        assert df["source_row"].notna().all()
        rows |= {int(x) for x in df["source_row"]}
    q = {q.source_row for q in res.quarantine}
    assert not rows & q, "a row is both loaded and quarantined"
    assert len(rows | q) == res.rows_read
    loaded = sum(sign * res.tables[t][c].fillna(0).sum() for t, c, sign in res.money_columns)
    return round(loaded - (res.expected_money or 0.0), 6)


def copy_raw_subset(src_raw: Path, dest_raw: Path, stores: tuple[str, ...], per_kind: int) -> Path:
    """A few stores of a raw tree: per folder the ``_``-prefixed files and the first ``per_kind`` exports
    (copy2 keeps the mtime, which is the export's version)."""
    import shutil

    for sid in stores:
        src = src_raw / sid
        for folder in sorted({p.parent for p in src.rglob("*") if p.is_file()}):
            files = sorted(p for p in folder.iterdir() if p.is_file())
            keep = [p for p in files if p.name.startswith("_")] + [p for p in files if not p.name.startswith("_")][:per_kind]
            dest = dest_raw / sid / folder.relative_to(src)
            dest.mkdir(parents=True, exist_ok=True)
            for p in keep:
                shutil.copy2(p, dest / p.name)
    return dest_raw


# ---- a reader's fast path against its reference path (a module's ``FAST`` switch) -----------------
def quarantine_key(q: QuarantineRow) -> tuple:
    return (q.source_row, q.reason, q.column, q.raw)


class FastSwitch:
    """The fast and the reference (pandas) paths of the readers of ``module`` (which has a ``FAST``
    switch: ``readers.mapping``, ``readers.amazon.common``), read and compared."""

    def __init__(self, module: object) -> None:
        self.module = module

    @contextlib.contextmanager
    def fast(self, on: bool) -> Iterator[None]:
        old = self.module.FAST
        self.module.FAST = on
        try:
            yield
        finally:
            self.module.FAST = old

    def read(self, reader: Reader, path: Path, store: Store, on: bool) -> ReadResult | str:
        with self.fast(on):
            try:
                return reader.read(path, store)
            except IngestError as e:
                return f"IngestError: {e}"

    def assert_same(self, reader: Reader, path: Path, store: Store) -> ReadResult | str:
        """Both paths on one file: equal in every table (dtypes and order included) and every count."""
        want = self.read(reader, path, store, False)
        got = self.read(reader, path, store, True)
        if isinstance(want, str):
            assert got == want
            return want
        assert not isinstance(got, str), got
        assert list(got.tables) == list(want.tables)
        for name, frame in want.tables.items():
            pd.testing.assert_frame_equal(got.tables[name], frame, check_exact=True, obj=f"{path.name}: {name}")
        assert [quarantine_key(q) for q in got.quarantine] == [quarantine_key(q) for q in want.quarantine]
        assert (got.rows_read, got.money_columns, got.exported_at) == (want.rows_read, want.money_columns,
                                                                       want.exported_at)
        assert repr(got.expected_money) == repr(want.expected_money)  # (an 'inf' cell can make both NaN)
        return got
