"""The ingest pipeline's guarantees, with a minimal test reader (platform readers are tested apart)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import HEADER, write_reference
from typer.testing import CliRunner

from kpi_lib.cli import app
from kpi_lib.ingest.pipeline import ingest
from kpi_lib.warehouse import Warehouse


def _write(p: Path, lines: list[str], header: str = HEADER) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return p


@pytest.fixture()
def env(project: Path) -> dict:
    ref = write_reference(project / "data" / "reference", skus=["A", "B", "C"])
    return {"raw": project / "data" / "raw", "wh": Warehouse(project / "data" / "warehouse"), "ref": ref}


def test_loads_rows_with_fx_and_lineage(env: dict) -> None:
    _write(env["raw"] / "S2" / "jan.csv", ["o1,A,2026-01-05,2,10.50,EUR", "o2,B,2026-02-01,1,3.00,"])
    s = ingest(env["raw"], env["wh"])
    f = s.files[0]
    assert (f.rows_read, f.rows_loaded, f.rows_quarantined, f.rows_duplicate) == (2, 2, 0, 0)
    assert f.reconciliation == {"expected": 13.5, "loaded": 13.5, "difference": 0.0}
    o = env["wh"].read("orders").sort_values("order_id")
    assert list(o["gross_sales_rc"]) == [84.0, 24.0]  # EUR × 8.0
    assert list(o["fx_rate"]) == [8.0, 8.0]
    assert list(o["source_row"]) == [2, 3]
    assert set(o["store_id"]) == {"S2"} and set(o["marketplace"]) == {"DE"}
    man = env["wh"].read("manifest")
    assert man.loc[0, "path"] == "S2/jan.csv" and len(man.loc[0, "sha256"]) == 64


def test_dirty_rows_quarantined_with_reason_and_counts_add_up(env: dict) -> None:
    _write(env["raw"] / "S1" / "a.csv", [
        "o1,A,2026-01-05,2,10",
        "o2,A,31/02/2026,1,5",     # bad date
        "o3,B,2026-01-06,-1,5",    # negative quantity
        "o4,ZZZ,2026-01-06,1,5",   # unknown SKU: a master-data gap, not a bad row: it loads
        "o5,C,2099-01-01,1,5",     # future date
        "",                        # blank line: not a row
        "Total,,,3,30",            # the file's own totals row
    ])
    f = ingest(env["raw"], env["wh"]).files[0]
    assert f.rows_read == 6
    assert (f.rows_loaded, f.rows_quarantined, f.rows_duplicate) == (2, 4, 0)
    q = env["wh"].read("quarantine").sort_values("source_row")
    assert list(q["source_row"]) == [3, 4, 6, 8]
    reasons = " | ".join(q["reason"])
    for word in ("date", "quantity", "future", "totals row"):
        assert word in reasons
    assert "SKU" not in reasons
    reg = env["wh"].read("sku_registry").set_index("sku")
    assert not reg.loc["ZZZ", "in_master"] and reg.loc["A", "in_master"] and reg.loc["A", "has_cost"]
    raw = json.loads(q.iloc[0]["raw"])
    assert raw["date"] == "31/02/2026"


def test_overlapping_exports_deduplicated_but_repeated_lines_kept(env: dict) -> None:
    _write(env["raw"] / "S1" / "w1.csv", ["o1,A,2026-01-05,1,10", "o1,A,2026-01-05,1,10", "o2,B,2026-01-06,1,5"])
    _write(env["raw"] / "S1" / "w2.csv", ["o2,B,2026-01-06,1,5", "o3,C,2026-01-07,1,7"])
    s = ingest(env["raw"], env["wh"])
    a, b = s.files
    # within one file an identical line twice is two lines (occurrence number is part of the key)
    assert (a.rows_read, a.rows_loaded, a.rows_duplicate) == (3, 3, 0)
    assert (b.rows_read, b.rows_loaded, b.rows_duplicate) == (2, 1, 1)
    assert len(env["wh"].read("orders")) == 4


def test_reingest_changes_nothing(env: dict) -> None:
    _write(env["raw"] / "S1" / "a.csv", ["o1,A,2026-01-05,1,10"])
    first = ingest(env["raw"], env["wh"])
    snap = env["wh"].current_id()
    second = ingest(env["raw"], env["wh"])
    assert env["wh"].current_id() == snap == second.snapshot
    f = second.files[0]
    assert f.unchanged and f.rows_read == f.rows_duplicate == 1 and f.rows_loaded == 0
    assert first.files[0].rows_loaded == 1
    # a new file later is added on top, the old rows stay
    _write(env["raw"] / "S1" / "b.csv", ["o2,A,2026-01-06,1,10"])
    ingest(env["raw"], env["wh"])
    assert len(env["wh"].read("orders")) == 2
    assert len(env["wh"].read("manifest")) == 2


def test_crash_mid_write_leaves_previous_warehouse(env: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(env["raw"] / "S1" / "a.csv", ["o1,A,2026-01-05,1,10"])
    ingest(env["raw"], env["wh"])
    before = env["wh"].current_id()
    _write(env["raw"] / "S1" / "b.csv", ["o2,A,2026-01-06,1,10"])
    from kpi_lib import warehouse as whmod

    real = whmod.WarehouseWriter.write

    def dying(self, name, df, partition_by=None):  # the process "dies" while writing the manifest
        if name == "manifest":
            raise KeyboardInterrupt("simulated crash")
        return real(self, name, df, partition_by)

    monkeypatch.setattr(whmod.WarehouseWriter, "write", dying)
    with pytest.raises(KeyboardInterrupt):
        ingest(env["raw"], env["wh"])
    monkeypatch.setattr(whmod.WarehouseWriter, "write", real)
    wh = Warehouse(env["wh"].path)
    assert wh.current_id() == before
    assert list(wh.read("orders")["order_id"]) == ["o1"]
    assert not list(wh.snapshots_dir.glob(".staging-*"))
    # and the next run completes normally
    ingest(env["raw"], env["wh"])
    assert sorted(Warehouse(env["wh"].path).read("orders")["order_id"]) == ["o1", "o2"]


BAD_FILES = {
    "empty.csv": b"",
    "header_only.csv": (HEADER + "\n").encode(),
    "wrong_delimiter.csv": HEADER.replace(",", ";").encode() + b"\no1;A;2026-01-05;1;10\n",
    "garbage.bin": bytes(range(256)) * 20,
    "missing_column.csv": b"kpitest-order,sku,date,qty\no1,A,2026-01-05,1\n",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_corpus(env: dict, name: str) -> None:
    p = env["raw"] / "S1" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(BAD_FILES[name])
    _write(env["raw"] / "S1" / "good.csv", ["o1,A,2026-01-05,1,10"])
    s = ingest(env["raw"], env["wh"])
    res = {f.path: f for f in s.files}
    bad, good = res[f"S1/{name}"], res["S1/good.csv"]
    assert good.rows_loaded == 1 and good.error is None  # the other files are still ingested
    if name == "header_only.csv":
        assert bad.error is None and bad.rows_read == 0
        return
    assert bad.error and name in bad.error and "Traceback" not in bad.error
    assert s.exit_code() == 2


def test_currency_contradicting_store_is_an_error(env: dict) -> None:
    _write(env["raw"] / "S1" / "a.csv", ["o1,A,2026-01-05,1,10,GBP"])
    f = ingest(env["raw"], env["wh"]).files[0]
    assert f.error and "GBP" in f.error and "USD" in f.error and "S1" in f.error


def test_missing_fx_rate_names_currency_and_month(env: dict) -> None:
    _write(env["raw"] / "S2" / "a.csv", ["o1,A,2025-03-05,1,10"])
    f = ingest(env["raw"], env["wh"]).files[0]
    assert f.error and "EUR 2025-03" in f.error


def test_unknown_store_folder_is_an_error(env: dict) -> None:
    _write(env["raw"] / "NOPE" / "a.csv", ["o1,A,2026-01-05,1,10"])
    f = ingest(env["raw"], env["wh"]).files[0]
    assert f.error and "'NOPE'" in f.error and "stores.csv" in f.error


def test_cli_json_and_exit_codes(env: dict) -> None:
    _write(env["raw"] / "S1" / "a.csv", ["o1,A,2026-01-05,1,10", "o2,A,bad,1,1"])
    r = CliRunner().invoke(app, ["ingest", str(env["raw"]), "--json", "--warehouse", str(env["wh"].path)])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    f = data["files"][0]
    assert set(f) >= {"path", "store_id", "reader", "rows_read", "rows_loaded", "rows_quarantined",
                      "rows_duplicate", "reconciliation", "error"}
    assert f["rows_read"] == 2 and f["rows_quarantined"] == 1
    (env["raw"] / "S1" / "c.csv").write_text(HEADER + "\no3,A,2026-01-07,1,1\n")
    r = CliRunner().invoke(app, ["ingest", str(env["raw"]), "--strict", "--warehouse", str(env["wh"].path)])
    assert r.exit_code == 0  # --strict judges the rows of this run: c.csv is clean
    (env["raw"] / "S1" / "e.csv").write_text(HEADER + "\no4,A,2026-01-07,-3,1\n")
    r = CliRunner().invoke(app, ["ingest", str(env["raw"]), "--strict", "--warehouse", str(env["wh"].path)])
    assert r.exit_code == 1
    (env["raw"] / "S1" / "d.bin").write_bytes(b"\x00\x01\x02garbage")
    r = CliRunner().invoke(app, ["ingest", str(env["raw"]), "--warehouse", str(env["wh"].path)])
    assert r.exit_code == 2 and "Traceback" not in r.output


cell = st.sampled_from(["2026-01-05", "2026-02-30", "x", "", "2026-03-01"])
row = st.tuples(
    st.sampled_from(["o1", "o2", "o3", "Total"]), st.sampled_from(["A", "B", "ZZ", ""]), cell,
    st.sampled_from(["1", "2", "-1", "1.5", "", "abc"]), st.sampled_from(["10", "1,234.5", "x", ""]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.lists(st.lists(row, min_size=0, max_size=12), min_size=1, max_size=3))
def test_counts_always_add_up(tmp_path_factory: pytest.TempPathFactory, files: list, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path_factory.mktemp("fuzz")
    monkeypatch.setenv("KPI_ROOT", str(d))
    ref = write_reference(d / "ref", skus=["A", "B"])
    raw = d / "raw"
    for i, rows in enumerate(files):
        _write(raw / "S1" / f"f{i}.csv", [",".join(f'"{c}"' if "," in c else c for c in r) + ",USD" for r in rows])
    wh = Warehouse(d / "wh")
    s = ingest(raw, wh, reference=ref)
    loaded = 0
    for f in s.files:
        assert f.error is None
        assert f.rows_read == f.rows_loaded + f.rows_quarantined + f.rows_duplicate + f.rows_superseded
        loaded += f.rows_loaded
    n_orders = len(wh.read("orders")) if wh.exists() else 0
    assert n_orders == loaded
    if wh.exists() and wh.has("quarantine"):
        assert len(wh.read("quarantine").drop_duplicates(["source_file", "source_row"])) == sum(f.rows_quarantined for f in s.files)


def test_cli_prints_coverage_after_summary_and_json_has_it(env: dict) -> None:
    _write(env["raw"] / "S1" / "a.csv", ["o1,A,2026-01-05,1,10", "o2,Q,2026-03-05,1,30"])
    r = CliRunner().invoke(app, ["ingest", str(env["raw"]), "--warehouse", str(env["wh"].path)],
                           env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    out = r.output
    assert out.index(" files: read ") < out.index("coverage: months")  # after the ingest summary
    line = next(ln for ln in out.splitlines() if "S1" in ln and " mo " in ln)
    assert "2 mo 2026-01…2026-03" in line  # orders: January and March
    assert "—" in line  # no fees, ads, traffic, inventory
    assert "master-data gaps" in out and "75.0%" in out  # Q: 30 of 40 not in skus.csv
    (env["raw"] / "S1" / "b.csv").write_text(HEADER + "\no3,A,2026-02-07,1,1\n")
    r = CliRunner().invoke(app, ["ingest", str(env["raw"]), "--json", "--warehouse", str(env["wh"].path)])
    data = json.loads(r.stdout)
    cov = pd.DataFrame(data["coverage"])
    orders = cov[cov["source"] == "orders"].sort_values("month")
    assert list(orders["month"]) == ["2026-01", "2026-02", "2026-03"] and list(orders["rows"]) == [1, 1, 1]
    assert set(cov["source"]) == {"orders", "costs"}
    assert data["data_gaps"][0]["skus_no_master"] == 1
    assert all("rows_superseded" in f for f in data["files"])
