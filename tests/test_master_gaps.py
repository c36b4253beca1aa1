"""Master-data gaps never drop money: rows with SKUs missing from reference/skus.csv load, the SKUs
are registered (sku_registry) and the gap is reported with its share of sales (data_gaps).

Real exports (shared/real-exports) are read in place; the expected totals are computed from the
files independently of the readers (plain pandas / csv over the raw columns).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from conftest import REAL_EXPORTS, needs
from ingest_helpers import HEADER, write_reference

from kpi_lib.ingest.pipeline import ingest
from kpi_lib.warehouse import Warehouse

SHOPIFY = REAL_EXPORTS / "shopify" / "orders_export (9).csv"
SETTLEMENTS = REAL_EXPORTS / "amazon-settlement"
needs_real = needs(SHOPIFY.is_file(), "real exports not available")


def _reference(d: Path, stores: list[dict], fx: list[tuple[str, str, float]], skus: list[str] | None) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(stores).to_csv(d / "stores.csv", index=False)
    pd.DataFrame([{"month": m, "currency": c, "rate": r} for m, c, r in fx]).to_csv(d / "fx_rates.csv", index=False)
    if skus is not None:  # a master that knows none of the store's SKUs (a new seller's first run)
        pd.DataFrame({"sku": skus, "category": "c", "unit_cogs": 1.0, "first_leg_cost": 0.0, "duty_rate": 0.0}).to_csv(
            d / "skus.csv", index=False)
    return d


def _link(raw: Path, store: str, src: Path) -> None:
    (raw / store).mkdir(parents=True, exist_ok=True)
    (raw / store / src.name).symlink_to(src)  # read in place, never copied into the project


@needs_real
@pytest.mark.parametrize("skus", [None, ["UNRELATED-1"]], ids=["no-skus-csv", "skus-csv-without-these"])
def test_shopify_store_without_sku_master_loads_everything(project: Path, skus: list[str] | None) -> None:
    ref = _reference(project / "data" / "reference", [
        {"store_id": "SFY-BD", "store_name": "bd", "platform": "shopify", "marketplace": "BD", "currency": "BDT",
         "timezone": "Asia/Dhaka", "launch_date": "2025-01-01", "team_id": "T1"},
    ], [(m, "BDT", 0.06) for m in ("2026-03", "2026-04", "2026-05")] + [("2026-04", "CNY", 1.0)], skus)
    raw = project / "data" / "raw"
    _link(raw, "SFY-BD", SHOPIFY)
    wh = Warehouse(project / "data" / "warehouse")
    f = ingest(raw, wh, reference=ref).files[0]
    with SHOPIFY.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert f.error is None
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined) == (len(lines), len(lines), 0)
    o = wh.read("orders")
    # gross equals the file's own item total (price × quantity over its lines), nothing dropped
    own_total = sum(float(r["Lineitem price"]) * float(r["Lineitem quantity"]) for r in lines)
    assert o["gross_sales"].sum() == pytest.approx(own_total, abs=0.005)
    assert own_total == pytest.approx(92430.04, abs=0.005)
    # every SKU is registered as discovered, without master data and without cost
    reg = wh.read("sku_registry")
    assert set(reg["sku"]) == set(o["sku"]) and len(reg) > 0
    assert not reg["in_master"].any() and not reg["has_cost"].any()
    assert set(reg["first_file"]) == {"SFY-BD/" + SHOPIFY.name}
    # the gap report names the SKUs and their share of the month's sales: all of it
    g = wh.read("data_gaps")
    assert set(g["gap"]) == {"no_master"} and set(g["sku"]) == set(o["sku"])
    live = o[o["status"] != "cancelled"]
    by_month = live.groupby(live["order_date"].dt.strftime("%Y-%m"))["gross_sales_rc"].sum()
    share = g.groupby("month")["share"].sum()
    for m, total in by_month.items():
        if total:
            assert share[m] == pytest.approx(1.0)
    # the coverage says costs are missing for those months (share 0), never "zero cost"
    cov = wh.read("coverage")
    cost = cov[cov["source"] == "costs"]
    assert len(cost) and (cost["share"] == 0).all()


@needs_real
def test_real_amazon_settlements_reconcile_to_the_cent_without_sku_master(project: Path) -> None:
    months = [f"2025-{m:02d}" for m in range(5, 10)]
    ref = _reference(project / "data" / "reference", [
        {"store_id": "AMZ-CA", "store_name": "ca", "platform": "amazon", "marketplace": "CA", "currency": "CAD",
         "timezone": "America/Los_Angeles", "launch_date": "2024-01-01", "team_id": "T1"},
    ], [(m, "CAD", 5.2) for m in months], ["UNRELATED-1"])
    raw = project / "data" / "raw"
    for p in sorted(SETTLEMENTS.glob("*.txt")):
        _link(raw, "AMZ-CA", p)
    wh = Warehouse(project / "data" / "warehouse")
    s = ingest(raw, wh, reference=ref)
    assert len(s.files) == 3
    for f in s.files:
        assert f.error is None and f.rows_quarantined == 0, f
        # the file's own total-amount, read straight from its first data line
        with (SETTLEMENTS / Path(f.path).name).open(encoding="utf-8") as fh:
            first = next(iter(csv.DictReader(fh, delimiter="\t")))
        assert f.reconciliation["expected"] == pytest.approx(float(first["total-amount"]), abs=0.005)
        assert f.reconciliation["difference"] == 0.0, f
    # refunds for SKUs not sold in the same file (and not in skus.csv) are loaded
    refunds = wh.read("refunds")
    assert len(refunds) >= 2
    reg = wh.read("sku_registry").set_index("sku")
    assert set(refunds["sku"].dropna()) <= set(reg.index)
    assert not reg["in_master"].any()


def test_gap_share_against_hand_worked_numbers(project: Path) -> None:
    """Known SKU A (with cost), unknown Z: January sales 30 + 10 (A) and 60 (Z) → Z is 60 %."""
    ref = write_reference(project / "data" / "reference", skus=["A"])
    raw = project / "data" / "raw"
    (raw / "S1").mkdir(parents=True)
    (raw / "S1" / "jan.csv").write_text(f"{HEADER}\no1,A,2026-01-05,1,30,USD\no2,A,2026-01-06,1,10,USD\no3,Z,2026-01-07,2,60,USD\no4,Z,2026-02-01,1,5,USD" + "\n")
    wh = Warehouse(project / "data" / "warehouse")
    s = ingest(raw, wh, reference=ref)
    assert s.files[0].rows_loaded == 4 and s.files[0].rows_quarantined == 0
    g = wh.read("data_gaps").sort_values("month").reset_index(drop=True)
    assert list(g["sku"]) == ["Z", "Z"] and list(g["gap"]) == ["no_master", "no_master"]
    assert list(g["share"]) == pytest.approx([0.6, 1.0])
    assert list(g["sales_rc"]) == pytest.approx([60 * 7.0, 5 * 7.0])  # USD × 7
    assert list(g["units"]) == [2, 1]
    reg = wh.read("sku_registry").set_index("sku")
    assert str(reg.loc["Z", "first_seen"])[:10] == "2026-01-07" and str(reg.loc["Z", "last_seen"])[:10] == "2026-02-01"
    assert bool(reg.loc["A", "in_master"]) and bool(reg.loc["A", "has_cost"]) and not bool(reg.loc["Z", "in_master"])
    # the summary carries the per-store gap, shares over the whole period: 65 / 105
    gap = {d["store_id"]: d for d in s.data_gaps}["S1"]
    assert gap["skus_no_master"] == 1 and gap["sales_share_no_master"] == pytest.approx(65 / 105)
