"""The snapshot hash a settlement quotes identifies the data, also for a warehouse written without `kpi ingest`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from kpi_lib.warehouse import Warehouse


def _wh(path: Path, amount: float) -> Warehouse:
    wh = Warehouse(path)
    with wh.transaction("fixture") as w:
        w.write("stores", pd.DataFrame({"store_id": ["S1"], "currency": ["CNY"]}), partition_by=())
        w.write("orders", pd.DataFrame({"store_id": ["S1"], "order_id": ["O1"], "gross_sales_rc": [amount],
                                        "order_date": pd.to_datetime(["2026-11-05"])}), partition_by=())
    return wh


def test_fixture_warehouses_quote_their_content_not_the_empty_hash(tmp_path: Path) -> None:
    empty = hashlib.sha256(b"").hexdigest()[:16]
    a, b, c = _wh(tmp_path / "a", 100.0), _wh(tmp_path / "b", 100.0), _wh(tmp_path / "c", 100.01)
    assert a.snapshot_hash() and a.snapshot_hash() != empty
    assert a.snapshot_hash() == b.snapshot_hash()  # the same data built twice
    assert a.snapshot_hash() != c.snapshot_hash()  # one cent apart
