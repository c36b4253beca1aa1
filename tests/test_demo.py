"""End to end on the small demo company: every dirty row is caught, counts add up, money reconciles."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from kpi_lib.ingest.pipeline import ingest
from kpi_lib.schemas import TABLES
from kpi_lib.warehouse import Warehouse


@pytest.fixture(scope="module")
def demo(demo_project: Path) -> dict:
    import os

    os.environ["KPI_ROOT"] = str(demo_project)
    wh = Warehouse(demo_project / "data" / "warehouse")
    man = wh.read("manifest")
    q = wh.read("quarantine")
    dirty = json.loads((demo_project / "data" / "raw" / "_dirty_rows.json").read_text())
    rows = dirty["rows"] if isinstance(dirty, dict) else dirty
    return {"wh": wh, "manifest": man, "quarantine": q, "dirty": rows, "root": demo_project}


def test_every_file_counts_add_up(demo: dict) -> None:
    m = demo["manifest"]
    assert len(m) > 50
    assert (m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"] + m["rows_duplicate"]).all()


def test_every_reader_and_store_present(demo: dict) -> None:
    m = demo["manifest"]
    readers = set(m["reader"])
    stores = set(m["store_id"]) - {""}
    assert len(stores) == 11
    for r in ("amazon_orders", "amazon_settlement_v1", "amazon_sp_advertised_product", "amazon_business_report",
              "amazon_fba_inventory", "shopee_orders", "tiktok_orders", "shopify_orders", "erp_mabang_orders"):
        assert r in readers, f"no file read by {r}"


def test_injected_dirty_rows_are_quarantined_or_deduplicated(demo: dict) -> None:
    q = demo["quarantine"]
    qkeys = set(zip(q["source_file"], q["source_row"].astype(int)))
    m = demo["manifest"].set_index("path")
    for d in demo["dirty"]:
        if d["kind"].startswith("duplicate"):
            # a listed file missing from the manifest is a failure, never a silent pass
            assert d["file"] in m.index, f"dirty file not in the manifest: {d}"
            assert m.loc[d["file"], "rows_duplicate"] > 0, d
            continue
        if d.get("line") is None:
            continue
        assert (d["file"], int(d["line"])) in qkeys, f"dirty row not quarantined: {d}"


def test_only_dirty_rows_are_quarantined(demo: dict) -> None:
    q = demo["quarantine"]
    dirty = {(d["file"], int(d["line"])) for d in demo["dirty"]
             if d.get("line") is not None and not d["kind"].startswith("duplicate")}
    extra = [k for k in zip(q["source_file"], q["source_row"].astype(int)) if k not in dirty]
    assert not extra, f"{len(extra)} clean rows quarantined, e.g. {extra[:3]}: {q.head(3).to_dict('records')}"


def test_reconciliation_is_zero_for_clean_files(demo: dict) -> None:
    m = demo["manifest"]
    clean = m[(m["rows_quarantined"] == 0) & m["expected"].notna()]
    assert len(clean) > 20
    bad = clean[clean["difference"].abs() > 0.005]
    assert bad.empty, bad[["path", "reader", "expected", "loaded", "difference"]].to_string()


def test_canonical_tables_filled_and_converted(demo: dict) -> None:
    wh = demo["wh"]
    con = wh.connect()
    for name in ("orders", "fees", "refunds", "settlement_lines", "payouts", "ads", "traffic", "inventory", "tickets", "activities"):
        n = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        assert n > 0, f"{name} is empty"
    # money converted once with the recorded rate
    bad = con.execute("SELECT count(*) FROM orders WHERE abs(gross_sales * fx_rate - gross_sales_rc) > 1e-4").fetchone()[0]
    assert bad == 0
    rates = con.execute(
        "SELECT DISTINCT o.currency, strftime(o.order_date, '%Y-%m') AS m, o.fx_rate, f.rate "
        "FROM orders o JOIN fx_rates f ON f.currency = o.currency AND f.month = strftime(o.order_date, '%Y-%m')"
    ).df()
    assert (abs(rates["fx_rate"] - rates["rate"].astype(float)) < 1e-12).all()


def test_natural_keys_unique(demo: dict) -> None:
    con = demo["wh"].connect()
    for name in ("orders", "ads", "traffic", "inventory"):
        key = ", ".join(TABLES[name].key)
        dups = con.execute(f"SELECT count(*) FROM (SELECT {key}, count(*) c FROM {name} GROUP BY ALL HAVING c > 1)").fetchone()[0]
        assert dups == 0, name


def test_reingest_of_demo_changes_nothing(demo: dict) -> None:
    wh = demo["wh"]
    before = wh.current_id()
    s = ingest(demo["root"] / "data" / "raw", wh)
    assert wh.current_id() == before
    assert all(f.unchanged for f in s.files if not f.error)
