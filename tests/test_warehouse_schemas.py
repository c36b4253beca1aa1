"""Whether each partitioned table has one Parquet schema is recorded when a snapshot is published, so a
process opening the snapshot reads no footers; a table whose files did not change keeps its parent's answer,
and a table whose parts differ is still read by name (union_by_name)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import kpi_lib.warehouse as W
from kpi_lib.warehouse import Warehouse


def _orders(store: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({"store_id": [store] * n, "order_id": [f"{store}-{i}" for i in range(n)],
                         "sku": ["A"] * n, "quantity": list(range(1, n + 1))})


def _schemas(wh: Warehouse) -> dict:
    return json.loads((wh.current / "snapshot.json").read_text())["schemas"]


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tables whose footers are read (``_read_one_schema`` calls), in order."""
    seen: list[str] = []
    real = W._read_one_schema

    def spy(con: duckdb.DuckDBPyConnection, loc: Path) -> bool:
        seen.append(loc.name)
        return real(con, loc)

    monkeypatch.setattr(W, "_read_one_schema", spy)
    return seen


def test_recorded_at_publish_kept_for_unchanged_tables_and_read_without_footers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    wh = Warehouse(tmp_path / "wh")
    read = _counting(monkeypatch)
    with wh.transaction("one") as w:
        w.write("orders", pd.concat([_orders("S1", 3), _orders("S2", 2)]), partition_by=("store_id",))
        w.write("ads", pd.DataFrame({"store_id": ["S1"], "campaign": ["c"], "spend": [1.5]}), partition_by=("store_id",))
    rec = _schemas(wh)
    assert {k: v["one"] for k, v in rec.items()} == {"ads": True, "orders": True}
    assert sorted(read) == ["ads", "orders"]
    # a second transaction rewrites ads only: orders' answer is the parent's, its footers are not read again
    read.clear()
    with wh.transaction("two") as w:
        w.write("ads", pd.DataFrame({"store_id": ["S1"], "campaign": ["d"], "spend": [2.0]}), partition_by=("store_id",))
    assert read == ["ads"]
    assert _schemas(wh)["orders"] == rec["orders"] and _schemas(wh)["ads"]["files"] != rec["ads"]["files"]
    # opening the published snapshot reads no footer at all
    read.clear()
    W._ONE_SCHEMA.clear()
    con = W.connect_snapshot(wh.current)
    assert con.execute("SELECT sum(quantity) FROM orders").fetchone()[0] == 1 + 2 + 3 + 1 + 2
    assert read == []


def test_parts_with_other_columns_are_recorded_and_read_by_name(tmp_path: Path) -> None:
    """S2's part has a column S1's lacks (a part written by a newer version): the record says two schemas,
    and the view reads both parts by column name (S1's missing column is null)."""
    wh = Warehouse(tmp_path / "wh")
    with wh.transaction("one") as w:
        w.write("orders", _orders("S1", 2), partition_by=("store_id",))
        extra = _orders("S2", 1).assign(row_confirmed=7)
        con = duckdb.connect()
        con.register("x", extra.drop(columns="store_id"))
        (w.path / "orders" / "store_id=S2").mkdir(parents=True)
        con.execute(f"COPY x TO '{(w.path / 'orders' / 'store_id=S2' / 'part-x.parquet').as_posix()}' (FORMAT parquet)")
        con.close()
    assert _schemas(wh)["orders"]["one"] is False
    W._ONE_SCHEMA.clear()
    got = W.connect_snapshot(wh.current).execute(
        "SELECT store_id, row_confirmed FROM orders ORDER BY store_id, order_id").fetchall()
    assert got == [("S1", None), ("S1", None), ("S2", 7)]
