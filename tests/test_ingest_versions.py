"""Latest version wins: a later export's version of a row replaces the earlier one, history keeps both.

A small test reader (``kpiver-order`` / ``kpiver-ads`` CSVs with an optional ``# exported <ISO>``
first line giving the export's own generation time) drives the pipeline; expected values are
worked by hand or recomputed independently from the files.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ingest_helpers import write_reference

from kpi_lib.ingest.base import FileHead, Reader, ReadResult, Store, csv_frame, read_text, register_instance
from kpi_lib.ingest.parse import parse_datetime, parse_number
from kpi_lib.ingest.pipeline import ingest
from kpi_lib.warehouse import Warehouse

ORDER_HEADER = "kpiver-order,line,sku,date,status,qty,price"
ADS_HEADER = "kpiver-ads-date,campaign,spend"


def _exported(text: str) -> tuple[dt.datetime | None, int]:
    first = text.splitlines()[0] if text else ""
    if first.startswith("# exported "):
        return dt.datetime.fromisoformat(first[len("# exported "):].strip()), 1
    return None, 0


class VersionedOrdersReader(Reader):
    name = "test_versioned_orders"
    platforms = ("testshop",)
    priority = 1

    def sniff(self, head: FileHead) -> bool:
        return any(ln.startswith("kpiver-order,") for ln in head.lines[:2])

    def read(self, path: Path, store: Store) -> ReadResult:
        text, _ = read_text(path)
        exported, hdr = _exported(text)
        df = csv_frame(text, ",", header_line=hdr)
        date, _ = parse_datetime(df["date"], formats=["%Y-%m-%d"])
        price, _ = parse_number(df["price"])
        out = pd.DataFrame({
            "order_id": df["kpiver-order"], "line_id": df["line"], "sku": df["sku"], "order_date": date,
            "status": df["status"], "quantity": df["qty"].astype(int), "gross_sales": price,
            "source_row": df["__line"].astype(int),
        })
        return ReadResult({"orders": out}, rows_read=len(df), expected_money=float(price.sum()),
                          money_columns=[("orders", "gross_sales", 1.0)], exported_at=exported)


class VersionedAdsReader(Reader):
    name = "test_versioned_ads"
    platforms = ("testshop",)
    priority = 1

    def sniff(self, head: FileHead) -> bool:
        return any(ln.startswith("kpiver-ads-date,") for ln in head.lines[:2])

    def read(self, path: Path, store: Store) -> ReadResult:
        text, _ = read_text(path)
        exported, hdr = _exported(text)
        df = csv_frame(text, ",", header_line=hdr)
        date, _ = parse_datetime(df["kpiver-ads-date"], formats=["%Y-%m-%d"])
        spend, _ = parse_number(df["spend"])
        out = pd.DataFrame({"date": date, "campaign": df["campaign"], "ad_group": "", "sku": "", "spend": spend,
                            "source_row": df["__line"].astype(int)})
        return ReadResult({"ads": out}, rows_read=len(df), expected_money=float(spend.sum()),
                          money_columns=[("ads", "spend", 1.0)], exported_at=exported)


register_instance(VersionedOrdersReader())
register_instance(VersionedAdsReader())


def _orders_file(p: Path, rows: list[tuple], exported: str | None = None, mtime: float | None = None) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    lines = ([f"# exported {exported}"] if exported else []) + [ORDER_HEADER]
    lines += [",".join(str(x) for x in r) for r in rows]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if mtime is not None:
        os.utime(p, (mtime, mtime))
    return p


def _orders(wh: Warehouse) -> pd.DataFrame:
    o = wh.read("orders")
    return o.sort_values(["order_id", "line_id"]).reset_index(drop=True)


def _content(wh: Warehouse) -> pd.DataFrame:
    """The orders as data (lineage and bookkeeping columns left out)."""
    o = _orders(wh)
    return o[["order_id", "line_id", "sku", "order_date", "status", "quantity", "gross_sales"]]


@pytest.fixture()
def env(project: Path) -> dict:
    ref = write_reference(project / "data" / "reference", skus=["A", "B", "C"])
    return {"raw": project / "data" / "raw", "wh": Warehouse(project / "data" / "warehouse"), "ref": ref,
            "root": project}


T0 = 1_767_225_600.0  # 2026-01-01 UTC, as a file mtime


def test_cancelled_status_in_later_export_replaces_shipped_line(env: dict) -> None:
    raw, wh = env["raw"], env["wh"]
    # named so that discovery order (a, b) is the export order: the mtime decides here
    _orders_file(raw / "S1" / "a_week1.csv", [("o1", 1, "A", "2026-01-05", "shipped", 1, 10),
                                              ("o2", 1, "B", "2026-01-05", "shipped", 2, 6)], mtime=T0)
    _orders_file(raw / "S1" / "b_week2.csv", [("o1", 1, "A", "2026-01-05", "cancelled", 1, 10),
                                              ("o2", 1, "B", "2026-01-05", "shipped", 2, 6),
                                              ("o3", 1, "C", "2026-01-09", "shipped", 1, 7)], mtime=T0 + 7 * 86400)
    s = ingest(raw, wh)
    a, b = s.files
    assert (a.rows_read, a.rows_loaded, a.rows_duplicate, a.rows_superseded) == (2, 1, 0, 1)
    assert (b.rows_read, b.rows_loaded, b.rows_duplicate, b.rows_superseded) == (3, 2, 1, 0)
    assert a.version_basis == b.version_basis == "mtime"
    o = _orders(wh)
    assert list(o["status"]) == ["cancelled", "shipped", "shipped"]
    assert list(o["source_file"]) == ["S1/b_week2.csv", "S1/a_week1.csv", "S1/b_week2.csv"]
    # history keeps both versions and says which file changed what
    h = wh.read("change_history")
    assert len(h) == 1
    r = h.iloc[0]
    assert (r["table"], r["store_id"], r["column"], r["old_value"], r["new_value"]) == (
        "orders", "S1", "status", "shipped", "cancelled")
    assert (r["old_file"], r["new_file"]) == ("S1/a_week1.csv", "S1/b_week2.csv")
    assert '"order_id": "o1"' in r["natural_key"]
    assert pd.Timestamp(r["changed_at"]) == pd.Timestamp(T0 + 7 * 86400, unit="s")
    # manifest: counts add up, with the superseded row
    m = wh.read("manifest").set_index("path")
    assert (m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"] + m["rows_duplicate"] + m["rows_superseded"]).all()
    assert int(m.loc["S1/a_week1.csv", "rows_superseded"]) == 1
    # re-ingesting both files changes nothing
    snap, hsh = wh.current_id(), wh.snapshot_hash()
    again = ingest(raw, wh)
    assert wh.current_id() == snap and wh.snapshot_hash() == hsh
    assert all(f.unchanged for f in again.files)
    assert len(wh.read("change_history")) == 1


def test_later_file_in_a_later_run_updates_the_earlier_files_counts(env: dict, tmp_path: Path) -> None:
    """One run or two runs: same rows, same per-file counts, same snapshot hash."""
    rows1 = [("o1", 1, "A", "2026-01-05", "shipped", 1, 10), ("o2", 1, "B", "2026-01-05", "shipped", 2, 6)]
    rows2 = [("o1", 1, "A", "2026-01-05", "returned", 1, 10)]
    raw, wh = env["raw"], env["wh"]
    _orders_file(raw / "S1" / "w1.csv", rows1, mtime=T0)
    ingest(raw, wh)
    _orders_file(raw / "S1" / "w2.csv", rows2, mtime=T0 + 86400)
    ingest(raw, wh)
    raw2, wh2 = tmp_path / "raw", Warehouse(tmp_path / "wh")
    _orders_file(raw2 / "S1" / "w1.csv", rows1, mtime=T0)
    _orders_file(raw2 / "S1" / "w2.csv", rows2, mtime=T0 + 86400)
    ingest(raw2, wh2, reference=env["ref"])
    pd.testing.assert_frame_equal(_content(wh), _content(wh2))
    assert _orders(wh).set_index("order_id").loc["o1", "status"] == "returned"
    cols = ["path", "rows_read", "rows_loaded", "rows_duplicate", "rows_superseded"]
    m1 = wh.read("manifest")[cols].sort_values("path").reset_index(drop=True)
    m2 = wh2.read("manifest")[cols].sort_values("path").reset_index(drop=True)
    pd.testing.assert_frame_equal(m1, m2)
    assert list(m1["rows_superseded"]) == [1, 0]
    assert wh.snapshot_hash() == wh2.snapshot_hash()


def test_order_of_ingest_does_not_matter_when_exported_at_is_known(env: dict, tmp_path: Path) -> None:
    new = [("o1", 1, "A", "2026-01-05", "cancelled", 1, 10), ("o2", 1, "B", "2026-01-06", "shipped", 1, 4)]
    old = [("o1", 1, "A", "2026-01-05", "shipped", 1, 10), ("o2", 1, "B", "2026-01-06", "pending", 1, 4)]
    results = []
    for i, order in enumerate([("new", "old"), ("old", "new"), ("both",)]):
        raw, wh = tmp_path / f"raw{i}", Warehouse(tmp_path / f"wh{i}")
        for step in order:
            # mtimes say the opposite of exported_at: the export's own time must win
            if step in ("new", "both"):
                _orders_file(raw / "S1" / "a.csv", new, exported="2026-02-01T08:00:00+00:00", mtime=T0)
            if step in ("old", "both"):
                _orders_file(raw / "S1" / "b.csv", old, exported="2026-01-20T08:00:00", mtime=T0 + 86400 * 30)
            ingest(raw, wh, reference=env["ref"])
        results.append(wh)
        o = _orders(wh).set_index("order_id")
        assert o.loc["o1", "status"] == "cancelled" and o.loc["o2", "status"] == "shipped"
        h = wh.read("change_history").sort_values("natural_key")
        assert list(h["old_value"]) == ["shipped", "pending"] and list(h["new_value"]) == ["cancelled", "shipped"]
        assert set(h["old_file"]) == {"S1/b.csv"} and set(h["new_file"]) == {"S1/a.csv"}
        m = wh.read("manifest").set_index("path")
        assert m.loc["S1/a.csv", "version_basis"] == "exported_at"
        assert (int(m.loc["S1/a.csv", "rows_loaded"]), int(m.loc["S1/b.csv", "rows_superseded"])) == (2, 2)
    for wh in results[1:]:
        pd.testing.assert_frame_equal(_content(results[0]), _content(wh))
        assert wh.snapshot_hash() == results[0].snapshot_hash()


@pytest.mark.parametrize("runs", [1, 2, 3])
def test_an_older_export_cannot_replace_what_a_newer_export_repeated(env: dict, tmp_path: Path, runs: int) -> None:
    """Exports of Feb 1 (shipped), Feb 3 (shipped again: a duplicate) and Feb 2 (returned), ingested in that
    order: the newest export that has the line says shipped, so the Feb 2 line is superseded on arrival. In one
    run, in two (Feb 2 alone later) and in three: the same rows and counts (found by the property below)."""
    raw, wh = tmp_path / "raw", Warehouse(tmp_path / "wh")
    line = ("o1", 1, "A", "2026-01-05")
    files = [("f0.csv", "shipped", "2026-02-01T00:00:00"), ("f1.csv", "shipped", "2026-02-03T00:00:00"),
             ("f2.csv", "returned", "2026-02-02T00:00:00")]
    batches = {1: [files], 2: [files[:2], files[2:]], 3: [[f] for f in files]}[runs]
    for batch in batches:
        for name, status, stamp in batch:
            _orders_file(raw / "S1" / name, [(*line, status, 1, 10)], exported=stamp)
        ingest(raw, wh, reference=env["ref"])
    o = _orders(wh)
    assert list(o["status"]) == ["shipped"] and list(o["source_file"]) == ["S1/f0.csv"]
    m = wh.read("manifest").set_index("path")
    counts = m[["rows_loaded", "rows_duplicate", "rows_superseded"]].astype(int).to_dict("index")
    assert counts == {"S1/f0.csv": {"rows_loaded": 1, "rows_duplicate": 0, "rows_superseded": 0},
                      "S1/f1.csv": {"rows_loaded": 0, "rows_duplicate": 1, "rows_superseded": 0},
                      "S1/f2.csv": {"rows_loaded": 0, "rows_duplicate": 0, "rows_superseded": 1}}
    h = wh.read("change_history")
    assert list(zip(h["column"], h["old_value"], h["new_value"])) == [("status", "returned", "shipped")]
    # the winning version is the Feb 3 export that repeated the line, not the Feb 1 one that loaded it
    assert pd.Timestamp(h["changed_at"].iloc[0]) == pd.Timestamp("2026-02-03")


def test_ads_restatement_replaces_spend(env: dict) -> None:
    raw, wh = env["raw"], env["wh"]
    d = raw / "S1"
    d.mkdir(parents=True)
    (d / "ads_jan07.csv").write_text(f"# exported 2026-01-07T06:00:00\n{ADS_HEADER}\n"
                                     "2026-01-05,C1,10.00\n2026-01-05,C2,3.00\n2026-01-06,C1,5.00\n")
    (d / "ads_jan14.csv").write_text(f"# exported 2026-01-14T06:00:00\n{ADS_HEADER}\n"
                                     "2026-01-05,C1,12.50\n2026-01-06,C1,5.00\n2026-01-07,C1,1.25\n")
    s = ingest(raw, wh)
    for f in s.files:
        assert f.reconciliation and f.reconciliation["difference"] == 0.0  # each file reconciles to its own sum
    ads = wh.read("ads").sort_values(["date", "campaign"])
    assert list(ads["spend"]) == [12.5, 3.0, 5.0, 1.25]  # 10.00 restated as 12.50; the rest once
    assert ads["spend"].sum() == pytest.approx(21.75)
    h = wh.read("change_history")
    assert list(zip(h["column"], h["old_value"], h["new_value"])) == [("spend", "10.0", "12.5")]
    a, b = s.files
    assert (a.rows_loaded, a.rows_superseded, b.rows_loaded, b.rows_duplicate) == (2, 1, 2, 1)


# ------------------------------------------------------------------------------------- property
statuses = st.sampled_from(["shipped", "cancelled", "returned", "pending"])
one_file = st.dictionaries(st.sampled_from(["o1", "o2", "o3", "o4", "o5"]), st.tuples(statuses, st.integers(1, 3)),
                           min_size=0, max_size=5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@example(files=[{"o1": ("shipped", 1)}, {"o1": ("shipped", 1)}, {"o1": ("returned", 1)}],
         exported=[0, 2, 1, 3, 4, 5], split=3)  # an older export after a newer one that repeated the row
@given(files=st.lists(one_file, min_size=1, max_size=3),
       exported=st.permutations(list(range(6))), split=st.integers(0, 4))
def test_rows_in_equal_rows_out_over_overlapping_versions(tmp_path_factory: pytest.TempPathFactory, files: list,
                                                          exported: list, split: int,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path_factory.mktemp("versions")
    monkeypatch.setenv("KPI_ROOT", str(d))
    ref = write_reference(d / "ref", skus=["A"])
    raw, wh = d / "raw", Warehouse(d / "wh")
    paths = []
    for i, rows in enumerate(files):
        stamp = f"2026-02-{exported[i] + 1:02d}T00:00:00"
        paths.append((raw / "S1" / f"f{i}.csv", [(k, 1, "A", "2026-01-05", s, q, 10 * q) for k, (s, q) in rows.items()],
                      stamp))
    split = min(split, len(paths))
    summaries = []
    for batch in (paths[:split], paths[split:]):  # one or two runs
        if not batch:
            continue
        for p, rows, stamp in batch:
            _orders_file(p, rows, exported=stamp)
        summaries.append(ingest(raw, wh, reference=ref))
    if not wh.exists() or not wh.has("manifest"):
        assert all(not rows for rows in files)
        return
    m = wh.read("manifest")
    # every row read is loaded, quarantined, a duplicate or superseded; the live rows are the loaded ones
    assert (m["rows_read"] == m["rows_loaded"] + m["rows_quarantined"] + m["rows_duplicate"] + m["rows_superseded"]).all()
    assert int(m["rows_read"].sum()) == sum(len(r) for r in files)
    o = _orders(wh)
    assert len(o) == int(m["rows_loaded"].sum())
    # each key holds the values of the newest export that has it (independent computation)
    want = {}
    for i, rows in enumerate(files):
        for k, v in rows.items():
            if k not in want or exported[i] > want[k][0]:
                want[k] = (exported[i], v)
    got = {r.order_id: (r.status, int(r.quantity)) for r in o.itertuples()}
    assert got == {k: v for k, (_, v) in want.items()}


def test_reference_tickets_resolved_later_replace_the_open_ticket(env: dict) -> None:
    """tickets.csv is a fact table in data/reference: a newer copy with the ticket resolved wins."""
    raw, wh, ref = env["raw"], env["wh"], env["ref"]
    raw.mkdir(parents=True, exist_ok=True)
    cols = "store_id,ticket_id,kind,opened_at,first_response_at,resolved_at,assignee\n"
    t = ref / "tickets.csv"
    t.write_text(cols + "S1,T1,message,2026-01-05T09:00:00,,,P01\nS1,T2,dispute,2026-01-06T09:00:00,,,P01\n")
    os.utime(t, (T0, T0))
    ingest(raw, wh, reference=ref)
    t.write_text(cols + "S1,T1,message,2026-01-05T09:00:00,2026-01-05T10:00:00,2026-01-07T12:00:00,P01\n"
                        "S1,T2,dispute,2026-01-06T09:00:00,,,P01\n")
    os.utime(t, (T0 + 86400 * 3, T0 + 86400 * 3))
    s = ingest(raw, wh, reference=ref)
    f = next(x for x in s.files if x.path == "reference/tickets.csv" and not x.unchanged)
    assert (f.rows_read, f.rows_loaded, f.rows_duplicate) == (2, 1, 1)
    tk = wh.read("tickets").set_index("ticket_id")
    assert len(tk) == 2 and str(tk.loc["T1", "resolved_at"]) == "2026-01-07 12:00:00"
    h = wh.read("change_history").sort_values("column")
    assert list(h["column"]) == ["first_response_at", "resolved_at"]
    assert list(h["old_value"].isna()) == [True, True] and list(h["new_value"]) == ["2026-01-05T10:00:00", "2026-01-07T12:00:00"]
    m = wh.read("manifest")
    first = m[m["path"] == "reference/tickets.csv"].sort_values("version").iloc[0]
    assert (int(first["rows_loaded"]), int(first["rows_superseded"])) == (1, 1)  # T1's open version lost
