"""Parquet parts written once per table × store for many files (issue 15.2, ``pipeline.PendingParts``):
the warehouse is the one the part-per-file ingest writes (``PENDING_ROWS = 1`` flushes after every
file, which is the old behaviour), with far fewer parts; and the buffer flushes when a later file
replaces a buffered row (latest version wins across files of one store)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from ingest_helpers import copy_raw_subset

from kpi_lib.ingest import pipeline
from kpi_lib.ingest.content import table_digests
from kpi_lib.ingest.pipeline import ingest
from kpi_lib.warehouse import Warehouse

STORES = ("AMZ-US-01", "SHP-MY-01", "TTS-US-01")  # Amazon text readers, Shopee xlsx + ads, TikTok


@pytest.fixture()
def raw(demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KPI_ROOT", str(demo_project))
    out = tmp_path / "raw"
    return copy_raw_subset(demo_project / "data" / "raw", out, STORES, per_kind=4)


def _parts(wh: Warehouse, table: str) -> int:
    return len(list((wh.path / "snapshots" / wh.current_id() / table).rglob("*.parquet")))


def test_buffered_parts_same_warehouse(raw: Path, tmp_path: Path, demo_project: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    ref = demo_project / "data" / "reference"
    buffered = ingest(raw, tmp_path / "wh-buffered", reference=ref, jobs=1)
    monkeypatch.setattr(pipeline, "PENDING_ROWS", 1)
    per_file = ingest(raw, tmp_path / "wh-per-file", reference=ref, jobs=1)
    assert not [f.error for f in buffered.files if f.error]
    counts = [(f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_superseded,
               f.reconciliation) for f in buffered.files]
    assert counts == [(f.path, f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate,
                       f.rows_superseded, f.reconciliation) for f in per_file.files]
    a, b = Warehouse(tmp_path / "wh-buffered"), Warehouse(tmp_path / "wh-per-file")
    assert table_digests(a) == table_digests(b)
    n_orders = sum(1 for f in buffered.files if f.reader and "order" in f.reader and f.rows_loaded)
    assert n_orders >= 6
    # one part per store (3) instead of one per orders file
    assert _parts(a, "orders") == len(STORES) < _parts(b, "orders")


def test_a_later_file_replaces_a_buffered_row(raw: Path, tmp_path: Path, demo_project: Path) -> None:
    """A re-export (newer mtime) of one orders file with one changed amount, in the same run: the
    first file's row is still in the buffer when the second replaces it."""
    ref = demo_project / "data" / "reference"
    src = min((raw / "TTS-US-01" / "orders").glob("*.csv"))
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8-sig"))))
    col = rows[0].index("SKU Subtotal Before Discount")
    at = next(i for i, r in enumerate(rows) if i > 0 and r and r[0].isdigit() and float(r[col]) > 0)
    rows[at][col] = f"{float(rows[at][col]) + 1.23:.2f}"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    later = src.with_name("zz-" + src.name)
    later.write_text(buf.getvalue(), encoding="utf-8")
    st = src.stat()
    os.utime(later, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    s = ingest(raw, tmp_path / "wh", reference=ref, jobs=1)
    mine = {f.path: f for f in s.files}
    new = mine[later.relative_to(raw).as_posix()]
    old = mine[src.relative_to(raw).as_posix()]
    assert not new.error and not old.error
    # the changed source row loads from the new file (its other rows are duplicates); the old
    # file's row stays counted as loaded because its other canonical rows (fees) stay live
    assert new.rows_loaded == 1 and new.rows_duplicate == new.rows_read - 1
    wh = Warehouse(tmp_path / "wh")
    hist = wh.read("change_history")
    assert set(hist["new_file"]) == {new.path} and set(hist["old_file"]) == {old.path}
    assert "gross_sales" in set(hist["column"])
