"""Dask ingest (issue 15.3): one work unit per raw file on a LocalCluster of two worker processes
writes the same warehouse as the in-process ingest (content hash = every table's sorted rows)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from ingest_helpers import copy_raw_subset

from kpi_lib.executors import make_executor
from kpi_lib.ingest.base import Store
from kpi_lib.ingest.content import content_hash, table_digests
from kpi_lib.ingest.pipeline import ingest
from kpi_lib.ingest.registry import detect_and_read
from kpi_lib.ingest.staging import StageUnit, load_staged, stage_file, store_fields
from kpi_lib.reference import load_reference
from kpi_lib.warehouse import Warehouse

STORES = ("AMZ-US-01", "LZD-TH-01", "SFY-US-01")  # Amazon text/xlsx readers, GB18030 ERP mapping, Shopify


@pytest.fixture()
def small_raw(demo_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A few stores of the demo's raw tree (Amazon text readers, built-in mappings, GB18030 ERP)."""
    monkeypatch.setenv("KPI_ROOT", str(demo_project))
    raw = tmp_path / "raw"
    return copy_raw_subset(demo_project / "data" / "raw", raw, STORES, per_kind=3)


def test_dask_ingest_matches_in_process(small_raw: Path, tmp_path: Path, demo_project: Path) -> None:
    ref = demo_project / "data" / "reference"
    local = ingest(small_raw, tmp_path / "wh-local", reference=ref, jobs=1)
    with make_executor("dask", n_workers=2) as ex:
        dask = ingest(small_raw, tmp_path / "wh-dask", reference=ref, executor=ex)
    assert not [f.error for f in local.files if f.error]
    assert not [f.error for f in dask.files if f.error]
    n_loaded = sum(f.rows_loaded for f in local.files)
    assert n_loaded > 500 and n_loaded == sum(f.rows_loaded for f in dask.files)
    a, b = Warehouse(tmp_path / "wh-local"), Warehouse(tmp_path / "wh-dask")
    assert table_digests(a) == table_digests(b)
    assert content_hash(a) == content_hash(b)
    # the staging folders are gone; only the warehouse's own entries remain
    assert not list((tmp_path / "wh-dask").glob(".ingest-staging-*"))


def test_content_hash_sees_a_missing_file(small_raw: Path, tmp_path: Path, demo_project: Path) -> None:
    """The hash is not blind: the same tree without one orders file hashes differently (and only
    the tables that file fed change)."""
    ref = demo_project / "data" / "reference"
    raw = tmp_path / "one"
    shutil.copytree(small_raw / "SFY-US-01", raw / "SFY-US-01", copy_function=shutil.copy2)
    ingest(raw, tmp_path / "wh1", reference=ref, jobs=1)
    before = table_digests(Warehouse(tmp_path / "wh1"))
    victim = max(p for p in (raw / "SFY-US-01").rglob("*") if p.is_file())
    victim.unlink()
    ingest(raw, tmp_path / "wh2", reference=ref, jobs=1)
    after = table_digests(Warehouse(tmp_path / "wh2"))
    assert after != before
    assert after["manifest"] != before["manifest"] and after["stores"] == before["stores"]


def test_stage_unit_round_trips_the_read_result(small_raw: Path, tmp_path: Path, demo_project: Path) -> None:
    """A staged file loads back as the reader's own result: same tables, dtypes, counts, quarantine."""
    ref = load_reference(demo_project / "data" / "reference")
    store = store_fields(ref.store("AMZ-US-01"))
    f = min(p for p in (small_raw / "AMZ-US-01").rglob("*") if p.is_file())
    st = stage_file(StageUnit(str(f), store, str(tmp_path / "stage" / "000001")))
    assert st.error is None and st.out_dir
    got = load_staged(st.out_dir)
    name, want, err = detect_and_read(f, Store(**store))
    assert err is None and name == st.reader
    assert got.rows_read == want.rows_read and got.expected_money == want.expected_money
    assert [q.__dict__ for q in got.quarantine] == [q.__dict__ for q in want.quarantine]
    assert got.tables.keys() == want.tables.keys()
    for t in want.tables:
        pd.testing.assert_frame_equal(got.tables[t], want.tables[t])
