"""KPI engine paths its own tests never ran (issue 11): the posted basis (Amazon stores with settlement
lines post a sale on its first settlement, other stores on the ship date, else the order date) and
``compute_long_grains`` (one store-level query for several grains) against separate ``compute_long``
calls. Data: ``tests/cost_fixtures.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import build_tables, make_project

from kpi_lib.metrics import compute, compute_long, compute_long_grains
from kpi_lib.warehouse import Warehouse


@pytest.fixture()
def wh(cost_wh):
    return cost_wh


def _by(df: pd.DataFrame, kpi: str) -> dict[tuple[str, str], float]:
    return {(r.store_id, r.period): getattr(r, kpi) for r in df.itertuples() if pd.notna(getattr(r, kpi))}


def test_posted_basis_gmv_per_store_and_month(wh) -> None:
    # order basis: S1 Oct O6 80 + O7 150 = 230, Nov O1 100 + O2 80 = 180; S2 Oct O8 160, Nov O4 60 + O5 40
    order = compute("gmv", by=["store_id"], start="2026-10-01", end="2026-12-31", warehouse=wh)
    got = _by(order, "gmv")
    assert {k: got.get(k, 0.0) for k in [("S1", "2026-10"), ("S1", "2026-11"), ("S2", "2026-10"), ("S2", "2026-11")]} \
        == {("S1", "2026-10"): 230.0, ("S1", "2026-11"): 180.0, ("S2", "2026-10"): 160.0, ("S2", "2026-11"): 100.0}
    # posted basis: S1 (settlement lines) on the first sales posting: O7 10-12, O6 11-03, O1 11-08,
    # O2 12-01; S2 (none) on the ship date: O8 10-13, O4 11-11, O5 11-21
    posted = _by(compute("gmv", by=["store_id"], start="2026-10-01", end="2026-12-31", warehouse=wh,
                         basis="posted"), "gmv")
    assert posted.get(("S1", "2026-10")) == 150.0
    assert posted.get(("S1", "2026-11")) == 180.0
    assert posted.get(("S1", "2026-12")) == 80.0
    assert posted.get(("S2", "2026-10")) == 160.0
    assert posted.get(("S2", "2026-11")) == 100.0
    assert posted.get(("S2", "2026-12"), 0.0) == 0.0


def test_posted_basis_ship_date_order_date_and_unsettled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    monkeypatch.delenv("KPI_WAREHOUSE", raising=False)
    t = build_tables()
    o = t["orders"]
    # S2's O5 without a ship date falls back to its order date (11-20, still November); O4 shipped
    # in December moves there. S1's O2 loses its settlement line: not settled = in no posted period
    o.loc[o["order_id"] == "O5", "ship_date"] = pd.NaT
    o.loc[o["order_id"] == "O4", "ship_date"] = pd.Timestamp("2026-12-01")
    t["settlement_lines"] = t["settlement_lines"][t["settlement_lines"]["order_id"] != "O2"]
    wh = Warehouse(tmp_path / "wh")
    with wh.transaction("posted") as w:
        for name, df in t.items():
            w.write(name, df, partition_by=() if name in ("stores", "skus", "sku_costs", "fx_rates", "teams",
                                                          "people", "assignments", "listings") else None)
    posted = _by(compute("gmv", by=["store_id"], start="2026-10-01", end="2026-12-31", warehouse=wh,
                         basis="posted"), "gmv")
    assert posted.get(("S2", "2026-11")) == 40.0       # O5 on its order date
    assert posted.get(("S2", "2026-12")) == 60.0       # O4 on its December ship date
    assert posted.get(("S1", "2026-12"), 0.0) == 0.0   # O2 never settled
    assert posted.get(("S1", "2026-11")) == 180.0      # O1 + O6 unchanged
    # without any settlement lines S1 posts on ship dates too: O6 shipped 10-31 -> October 80 + 150
    t["settlement_lines"] = t["settlement_lines"].iloc[0:0]
    wh2 = Warehouse(tmp_path / "wh2")
    with wh2.transaction("no settlements") as w:
        for name, df in t.items():
            if name != "settlement_lines":
                w.write(name, df, partition_by=() if name in ("stores", "skus", "sku_costs", "fx_rates", "teams",
                                                              "people", "assignments", "listings") else None)
    p2 = _by(compute("gmv", by=["store_id"], start="2026-10-01", end="2026-12-31", warehouse=wh2,
                     basis="posted"), "gmv")
    # and O1 (shipped 11-06) + O2 (shipped 11-22) -> November 180; nothing in December
    assert p2.get(("S1", "2026-10")) == 230.0 and p2.get(("S1", "2026-11")) == 180.0
    assert p2.get(("S1", "2026-12"), 0.0) == 0.0


@pytest.mark.parametrize("basis", ["order", "posted"])
def test_compute_long_grains_equals_separate_calls(wh, basis: str) -> None:
    kpis = ["gmv", "refunds", "aov", "net_profit"]
    grains = {"company": None, "store": "store_id", "platform": "platform", "marketplace": "marketplace",
              "team": "team_id"}
    got = compute_long_grains(kpis, grains, period="month", start="2026-10-01", end="2026-11-30", warehouse=wh,
                              basis=basis)
    assert set(got) == set(grains)
    for name, d in grains.items():
        want = compute_long(kpis, by=[d] if d else [], period="month", start="2026-10-01", end="2026-11-30",
                            warehouse=wh, basis=basis)
        keys = ([d] if d else []) + ["period", "kpi"]
        a = got[name].sort_values(keys).reset_index(drop=True)
        b = want.sort_values(keys).reset_index(drop=True)
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)
    # and a number by hand: company GMV November = 280 on both bases; platform shopee (S2) = 100
    comp = got["company"].set_index(["period", "kpi"])["value"]
    assert comp[("2026-11", "gmv")] == 280.0
    plat = got["platform"].set_index(["platform", "period", "kpi"])["value"]
    assert plat[("shopee", "2026-11", "gmv")] == 100.0 and plat[("amazon", "2026-11", "gmv")] == 180.0


def test_day_labels_exclusions_and_completeness_store_set(wh) -> None:
    """Worked from cost_fixtures' orders: by day, S1 sells 100 on 11-05 and 80 on 11-20, S2 60 on 11-10
    and 40 on 11-20. Excluding S1's 20 November drops its 80 only; excluding the 20th for every store
    drops both. October with ``complete_for="net_profit"``: only S1 has fees and ads, so GMV is S1's
    230 of the 390 sold, over 1 of 2 stores."""
    day = compute("gmv", by=["store_id"], period="day", start="2026-11-01", end="2026-11-30", warehouse=wh)
    assert _by(day, "gmv") == {("S1", "2026-11-05"): 100.0, ("S1", "2026-11-20"): 80.0,
                               ("S1", "2026-11-25"): 0.0,  # O3, cancelled: a day with an order, no sales
                               ("S2", "2026-11-10"): 60.0, ("S2", "2026-11-20"): 40.0}
    nov = {"start": "2026-11", "end": "2026-11", "warehouse": wh}
    one = compute("gmv", by=["store_id"], exclude=[("S1", "2026-11-20", "2026-11-20")], **nov)
    assert _by(one, "gmv") == {("S1", "2026-11"): 100.0, ("S2", "2026-11"): 100.0}
    every = compute_long("gmv", by=["store_id"], exclude=[(None, "2026-11-20", "2026-11-20")], **nov)
    assert dict(zip(every["store_id"], every["value"])) == {"S1": 100.0, "S2": 60.0}
    octo = {"start": "2026-10", "end": "2026-10", "warehouse": wh}
    assert compute("gmv", **octo)["gmv"].tolist() == [390.0]
    assert compute("gmv", complete_for="net_profit", **octo)["gmv"].tolist() == [230.0]
    lg = compute_long("gmv", complete_for="net_profit", **octo).iloc[0]
    assert (lg["value"], lg["stores_covered"], lg["stores_total"], bool(lg["complete"])) == (230.0, 1, 2, False)
    assert "fees" in lg["missing"]
    full = compute_long("gmv", **octo).iloc[0]
    assert (full["value"], full["stores_covered"], bool(full["complete"]), full["missing"]) == (390.0, 2, True, "")


def test_long_columns_parts_types_scope_and_empty(wh, tmp_path: Path) -> None:
    """compute_long's columns: an additive KPI is its own numerator (no denominator); a ratio carries
    both parts (November net margin 52.4 / 240); start and filters bound the rows; no data → the
    columns and no rows; a catalog passed in is the one evaluated."""
    from kpi_lib.definitions import load_catalog
    from kpi_lib.metrics import LONG_COLUMNS

    df = compute_long(["gmv", "net_margin"], by=["store_id"], start="2026-11", end="2026-11", warehouse=wh)
    assert list(df.columns) == ["store_id", *LONG_COLUMNS] and list(df.index) == list(range(len(df)))
    assert str(df["value"].dtype) == "float64" and str(df["complete"].dtype) == "bool"
    g = df[df["kpi"] == "gmv"].set_index("store_id")
    assert g["numerator"].to_dict() == {"S1": 180.0, "S2": 100.0} and g["denominator"].isna().all()
    assert g["stores_covered"].tolist() == [1, 1] and g["stores_total"].tolist() == [1, 1]
    co = compute_long("net_margin", start="2026-11", end="2026-11", warehouse=wh).iloc[0]
    assert (co["numerator"], co["denominator"]) == pytest.approx((52.4, 240.0))
    assert co["value"] == pytest.approx(52.4 / 240)
    s2 = compute_long("gmv", by=["store_id"], start="2026-11", end="2026-11", filters={"store_id": "S2"}, warehouse=wh)
    assert s2[["store_id", "period", "value"]].values.tolist() == [["S2", "2026-11", 100.0]]
    later = compute_long("gmv", by=["store_id"], start="2026-11-15", end="2026-11-30", period="day", warehouse=wh)
    assert sorted(later["period"]) == ["2026-11-20", "2026-11-20", "2026-11-25"]
    none = compute_long("gmv", by=["store_id"], start="2027-03", end="2027-03", warehouse=wh)
    assert none.empty and list(none.columns) == ["store_id", *LONG_COLUMNS]
    (tmp_path / "kpis.yaml").write_text("kpis:\n  - {id: gmv_twice, zh: 两倍, en: Twice, unit: money, direction: up,"
                                        " formula: gmv * 2}\n", encoding="utf-8")
    cat = load_catalog(tmp_path / "kpis.yaml")
    tw = compute_long("gmv_twice", start="2026-11", end="2026-11", warehouse=wh, catalog=cat)
    assert tw["value"].tolist() == [560.0]


def test_completeness_reads_only_the_months_inside_the_range(wh) -> None:
    """S2 lacks fees and ads in October only. The quarter 2026-Q4 from 1 November: both stores are
    complete in the months inside the range (GMV 180 + 100 = 280, 2 of 2); the whole quarter: S2 is
    out for its October gap (S1's 230 + 180 = 410, 1 of 2, missing fees and ads)."""
    q = {"period": "quarter", "complete_for": "net_profit", "warehouse": wh}
    part = compute_long("gmv", start="2026-11-01", end="2026-12-31", **q).iloc[0]
    assert (part["value"], part["stores_covered"], part["stores_total"], bool(part["complete"]), part["missing"]) \
        == (280.0, 2, 2, True, "")
    whole = compute_long("gmv", start="2026-10-01", end="2026-12-31", **q).iloc[0]
    assert (whole["value"], whole["stores_covered"], bool(whole["complete"]), whole["missing"]) \
        == (410.0, 1, False, "fees, ads")


def test_an_unknown_filter_names_itself_and_the_dimensions(wh) -> None:
    from kpi_lib.errors import DefinitionError

    with pytest.raises(DefinitionError, match=r"^unknown filter 'colour'; filters take platform, marketplace, "
                                              r"store_id, category, sku, team_id, person_id, contract_id$"):
        compute("gmv", filters={"colour": "red"}, warehouse=wh)
    # a value, a list, a set and numbers all filter the same way
    for f in ("S2", ["S2"], {"S2"}, ("S2",)):
        assert compute("gmv", start="2026-11", end="2026-11", filters={"store_id": f}, warehouse=wh)["gmv"].tolist() == [100.0]
