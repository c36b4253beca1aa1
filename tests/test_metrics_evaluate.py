"""The evaluation step of the KPI engine (``metrics._evaluate``) and its argument checks (``_prepare``),
through ``compute`` / ``compute_long`` on ``tests/cost_fixtures.py`` (issue 11: mutation survivors and
code the engine's own tests never reached). Every number is worked by hand below.

Tickets added to the fixture (``_tickets``):

| ticket | store | opened | first response | resolved | kind |
|---|---|---|---|---|---|
| T1 | S1 | 11-02 10:00 | +2 h | +48 h | message |
| T2 | S1 | 11-03 08:00 | +6 h | +72 h (3 days) | dispute |
| T3 | S1 | 11-04 00:00 | +30 h | +10 h | message |
| T4 | S2 | 12-05 09:00 | +4 h | +24 h | message |

S1 November: median first response of (2, 6, 30) = 6 h; disputes (T2) median 3 days. S2 has no ticket in
November and no order in December: its December row exists only through the ticket (a grain row with no
store-additive row), and its December dispute time is unknown (no dispute), never 0.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import build_tables, make_project, make_warehouse

from kpi_lib.definitions import load_catalog
from kpi_lib.errors import DefinitionError
from kpi_lib.metrics import compute, compute_long


@pytest.fixture()
def proj(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    return tmp_path


def _tickets() -> pd.DataFrame:
    rows = [("S1", "T1", "message", "2026-11-02 10:00", 2, 48), ("S1", "T2", "dispute", "2026-11-03 08:00", 6, 72),
            ("S1", "T3", "message", "2026-11-04 00:00", 30, 10), ("S2", "T4", "message", "2026-12-05 09:00", 4, 24)]
    return pd.DataFrame([{
        "store_id": s, "ticket_id": t, "kind": k, "opened_at": pd.Timestamp(o),
        "first_response_at": pd.Timestamp(o) + pd.Timedelta(hours=r), "resolved_at": pd.Timestamp(o) + pd.Timedelta(hours=z),
        "assignee": "P1",
    } for s, t, k, o, r, z in rows])


@pytest.fixture()
def wh(proj: Path):
    t = build_tables()
    t["tickets"] = _tickets()
    return make_warehouse(proj / "wh", tables=t)


def _wide(lg: pd.DataFrame) -> pd.DataFrame:
    return lg.pivot(index=["store_id", "period"], columns="kpi", values="value").reset_index()


def _rows(df: pd.DataFrame, col: str) -> dict[tuple[str, str], float]:
    return {(r.store_id, r.period): getattr(r, col) for r in df.itertuples()}


def test_grain_only_rows_and_medians_stay_unknown(wh) -> None:
    """A ticket KPI alone needs no store-additive row: S2's December comes from its ticket only. Medians
    of a group without rows (S1's December, S2's disputes) are NaN, not 0."""
    nov_dec = {"start": "2026-11-01", "end": "2026-12-31", "warehouse": wh}
    fr = compute("first_response_hours", by=["store_id"], **nov_dec)
    assert _rows(fr, "first_response_hours") == {("S1", "2026-11"): 6.0, ("S2", "2026-12"): 4.0}
    d = _rows(compute(["dispute_days", "first_response_hours"], by=["store_id"], **nov_dec), "dispute_days")
    assert d[("S1", "2026-11")] == 3.0
    assert math.isnan(d[("S2", "2026-12")])
    # with GMV the store-additive rows come in too: S2 November has sales but no ticket -> unknown
    # median and an unknown answered share (0 of 0 tickets); S1 answered T1 and T2 within 24 h: 2 of 3;
    # S2 December: no sales (GMV 0), T4 answered in 4 h: 1 of 1
    both = compute(["gmv", "first_response_hours", "response_24h_rate"], by=["store_id"], **nov_dec)
    got = {k: (g, f, t) for k, g, f, t in zip(zip(both["store_id"], both["period"]), both["gmv"],
                                                 both["first_response_hours"], both["response_24h_rate"])}
    assert got[("S1", "2026-11")] == pytest.approx((180.0, 6.0, 2 / 3))
    assert got[("S2", "2026-11")][0] == 100.0 and all(math.isnan(x) for x in got[("S2", "2026-11")][1:])
    assert got[("S2", "2026-12")] == (0.0, 4.0, 1.0)
    # S2's December GMV is the same whichever KPIs come with it: no order in December -> 0 (it was NaN
    # next to a median alone, 0 next to a ticket ratio)
    alone = compute(["gmv", "first_response_hours"], by=["store_id"], **nov_dec)
    assert _rows(alone, "gmv")[("S2", "2026-12")] == 0.0 == got[("S2", "2026-12")][0]
    # October has no ticket at all (the median query returns no row): response time unknown, GMV known
    octo = compute(["gmv", "first_response_hours"], start="2026-10-01", end="2026-10-31", warehouse=wh)
    assert octo["gmv"].tolist() == [390.0] and octo["first_response_hours"].isna().all()
    # a KPI that needs no coverage source counts no stores: 0 of 0, complete, nothing missing
    lg = compute_long("first_response_hours", by=["store_id"], **nov_dec)
    assert lg[["store_id", "period", "value", "stores_covered", "stores_total", "complete", "missing"]] \
        .values.tolist() == [["S1", "2026-11", 6.0, 0, 0, True, ""], ["S2", "2026-12", 4.0, 0, 0, True, ""]]


def test_unknown_store_rows_parts_and_missing_per_row(wh) -> None:
    """October: S2 sold O8 (160) but has no fee and no ad row, so its net margin is unknown (value,
    numerator and denominator NaN; 0 of 1 store; missing fees, ads). S1 October by hand:
    GMV 230 (O7 150 + O6 80), no refund; COGS O7 3 × 8 + O6 1 × 20 = 44; first leg 3 × 2 + 1 × 3 = 9;
    duties 3 × 8 × 10 % = 2.4; referral 22.5 (O7) + 12 (O6's fee of 11-02 on its order date 10-30) = 34.5;
    ads 10; overheads 30 -> net profit 230 - 44 - 9 - 2.4 - 34.5 - 10 - 30 = 100.1 over net sales 230.
    The company row is S1's alone: 1 of 2 stores, incomplete, missing fees and ads."""
    octo = {"start": "2026-10-01", "end": "2026-10-31", "warehouse": wh}
    st = compute_long(["net_margin", "gmv"], by=["store_id"], **octo).set_index(["store_id", "kpi"])
    s1, s2 = st.loc[("S1", "net_margin")], st.loc[("S2", "net_margin")]
    assert (s1["numerator"], s1["denominator"]) == pytest.approx((100.1, 230.0))
    assert s1["value"] == pytest.approx(100.1 / 230.0)
    assert (bool(s1["complete"]), s1["missing"], s1["stores_covered"], s1["stores_total"]) == (True, "", 1, 1)
    assert all(math.isnan(s2[c]) for c in ("value", "numerator", "denominator"))
    assert (bool(s2["complete"]), s2["missing"], s2["stores_covered"], s2["stores_total"]) == (False, "fees, ads", 0, 1)
    # GMV needs orders only: S2's 160 is known and complete in the same call
    g2 = st.loc[("S2", "gmv")]
    assert (g2["value"], bool(g2["complete"]), g2["missing"], g2["stores_covered"]) == (160.0, True, "", 1)
    co = compute_long("net_margin", **octo).iloc[0]
    assert (co["numerator"], co["denominator"]) == pytest.approx((100.1, 230.0))
    assert (bool(co["complete"]), co["missing"], co["stores_covered"], co["stores_total"]) == (False, "fees, ads", 1, 2)


def test_calendar_days_clipped_to_the_range_and_the_data(wh, tmp_path: Path) -> None:
    """``calendar_days`` counts the days of each period inside the requested range, or inside the data
    (first order 10-10, last 11-25) when no range is given: October from the 15th = 17 days, November
    30; without a range October 10-31 = 22 days and November 1-25 = 25. GMV per day from the 15th:
    S1 October O6 80 / 17, November 180 / 30. (Days alone give no row: a period needs data.)"""
    (tmp_path / "kpis.yaml").write_text(
        "kpis:\n"
        "  - {id: days_in, zh: 天数, en: Days, unit: count, direction: up, formula: calendar_days}\n"
        "  - {id: gmv_per_day, zh: 日均, en: Per day, unit: money, direction: up, formula: gmv / calendar_days}\n",
        encoding="utf-8")
    cat = load_catalog(tmp_path / "kpis.yaml")
    got = _wide(compute_long(["days_in", "gmv_per_day"], by=["store_id"], start="2026-10-15", end="2026-11-30",
                             warehouse=wh, catalog=cat))
    assert _rows(got, "days_in") == {("S1", "2026-10"): 17.0, ("S1", "2026-11"): 30.0, ("S2", "2026-11"): 30.0}
    per = _rows(got, "gmv_per_day")
    assert per[("S1", "2026-10")] == pytest.approx(80 / 17) and per[("S1", "2026-11")] == pytest.approx(6.0)
    whole = compute_long(["gmv", "days_in"], warehouse=wh, catalog=cat).query("kpi == 'days_in'")
    assert dict(zip(whole["period"], whole["value"])) == {"2026-10": 22.0, "2026-11": 25.0}
    q = compute_long(["gmv", "days_in"], period="quarter", start="2026-11-01", warehouse=wh, catalog=cat)
    assert q.query("kpi == 'days_in'")["value"].tolist() == [25.0]  # 11-01 .. the last order 11-25


def test_a_missing_source_table_adds_nothing(proj: Path) -> None:
    """A warehouse without a refunds table (no refund ever recorded: an empty canonical view) and without
    overhead allocations (``kpi compute`` has not allocated any: the source is absent, not empty):
    refunds and overheads are 0 and net sales equal GMV, per store and month (November: S1 180, S2 100)."""
    t = build_tables()
    del t["refunds"]
    wh = make_warehouse(proj / "norefunds", tables=t, overheads=False)
    got = compute(["gmv", "refunds", "net_sales", "overheads"], by=["store_id"], start="2026-11", end="2026-11",
                  warehouse=wh)
    assert got[["store_id", "gmv", "refunds", "net_sales", "overheads"]].values.tolist() == [
        ["S1", 180.0, 0.0, 180.0, 0.0], ["S2", 100.0, 0.0, 100.0, 0.0]]


def test_an_absent_source_skips_only_itself(proj: Path) -> None:
    """Overhead allocations absent (not allocated yet) while refunds are recorded: the query skips the absent
    source and still reads the ones after it (sources go in the order of their measures' names: orders,
    overheads, refunds). November on the order basis: refunds S1 10 (O1), S2 30 (O4's refund of 12-02 on its
    order's date, 11-10); overheads 0; GMV 180 and 100."""
    wh = make_warehouse(proj / "nooverheads", tables=build_tables(), overheads=False)
    got = compute(["refunds", "overheads", "gmv"], by=["store_id"], start="2026-11", end="2026-11", warehouse=wh)
    assert got[["store_id", "refunds", "overheads", "gmv"]].values.tolist() == [
        ["S1", 10.0, 0.0, 180.0], ["S2", 30.0, 0.0, 100.0]]


def test_argument_checks_name_the_value_and_the_choices(wh, tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match=r"^unknown dimension 'country' in by; use any of platform, marketplace, "
                                              r"store_id, category, sku, team_id, person_id, contract_id$"):
        compute("gmv", by=["country"], warehouse=wh)
    with pytest.raises(DefinitionError, match=r"^duplicate dimension in by=\['store_id', 'store_id'\]$"):
        compute("gmv", by=["store_id", "store_id"], warehouse=wh)
    with pytest.raises(DefinitionError, match=r"^unknown period 'fortnight'; use one of day, week, month, quarter, "
                                              r"year$"):
        compute("gmv", period="fortnight", warehouse=wh)
    with pytest.raises(DefinitionError, match=r"^unknown basis 'cash'; use 'order' \(order date\) or 'posted' "
                                              r"\(settlement date\)$"):
        compute("gmv", basis="cash", warehouse=wh)
    with pytest.raises(DefinitionError, match=r"^unknown KPI 'gmvv'"):
        compute("gmv", complete_for="gmvv", warehouse=wh)
    with pytest.raises(DefinitionError, match=r"^unknown KPI 'gmvv'"):
        compute(["gmv", "gmvv"], warehouse=wh)
    nov = {"start": "2026-11", "end": "2026-11", "warehouse": wh}
    # a KPI named twice is computed once; by=None is the company
    twice = compute(["gmv", "gmv"], by=None, **nov)
    assert list(twice.columns) == ["period", "gmv"] and twice["gmv"].tolist() == [280.0]
    # kpis=None: every KPI of the catalog passed in, in its order
    (tmp_path / "kpis.yaml").write_text("kpis:\n  - {id: gmv_twice, zh: 两倍, en: Twice, unit: money, direction: up,"
                                        " formula: gmv * 2}\n", encoding="utf-8")
    cat = load_catalog(tmp_path / "kpis.yaml")
    every = compute_long(None, catalog=cat, **nov)
    assert list(every["kpi"]) == cat.ids() and "gmv_twice" in cat.ids()
    v = dict(zip(every["kpi"], every["value"]))
    assert (v["gmv"], v["gmv_twice"]) == (280.0, 560.0)


def test_completeness_ignores_months_after_the_range(proj: Path) -> None:
    """S1 sells O9 (100) on 2026-12-03 with no fee and no ad row in December. The quarter up to 30 November
    reads October and November only: S1 is complete there (230 + 180 = 410), S2 is not (no fees, no ads
    in October): 1 of 2 stores. The whole quarter: S1 is out for December too -> no store covered."""
    t = build_tables()
    o = t["orders"]
    o9 = o[o["order_id"] == "O2"].assign(order_id="O9", order_date=pd.Timestamp("2026-12-03"),
                                          order_ts=pd.Timestamp("2026-12-03"), ship_date=pd.Timestamp("2026-12-04"),
                                          status="delivered", gross_sales=100.0, gross_sales_rc=100.0)
    t["orders"] = pd.concat([o, o9], ignore_index=True)
    wh = make_warehouse(proj / "dec", tables=t)
    q = {"period": "quarter", "complete_for": "net_profit", "warehouse": wh}
    part = compute_long("gmv", start="2026-10-01", end="2026-11-30", **q).iloc[0]
    assert (part["value"], part["stores_covered"], part["stores_total"], part["missing"]) == (410.0, 1, 2, "fees, ads")
    whole = compute_long("gmv", start="2026-10-01", end="2026-12-31", **q).iloc[0]
    assert math.isnan(whole["value"]) and (whole["stores_covered"], whole["stores_total"]) == (0, 2)
