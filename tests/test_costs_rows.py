"""The precomputed cost rows and the basis bridge where the eighth session's survivors showed them untested
(issue 11, ninth session): ``waterfall_grain_rows`` and ``unit_rows`` with their default basis, a date range,
a quarter and the KPIs they carry; a store whose sources are missing is unknown in the unit rows, not its
raw sales; the bridge's discount line when the posted basis has discounts and when an uncovered store has
them; the bridge's labels and number type. Numbers: ``tests/cost_fixtures.py`` (its docstring), by hand below.

October: S1 sells O7 (A-1, 3 × 50 = 150, referral fee 22.5 on 10-10, ads 10 on 10-05) and O6 (B-1, 80, ordered
10-30, posted 11-03 with its referral fee 12 dated 11-02); S2 sells O8 (B-1, 2 × 80 = 160) but has no fee and
no ads row in October, so it lacks sources net profit and contribution need (not covered: unknown).
November: S1 O1 (A-1, 2 units, 100) and O2 (B-1, 80, posted 12-01), S2 O4 and O5; both stores covered.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from cost_fixtures import ORDER_NOV, POSTED_NOV, build_tables, make_project, make_warehouse

from kpi_lib import costs
from kpi_lib.labels import label

UE_COLUMNS = ["units", "gmv", "refunds", "cogs", "first_leg", "duties", "referral_fees", "payment_fees",
              "other_platform_fees", "fulfillment_fees", "monthly_storage_fees", "long_term_storage_fees",
              "promotions", "ad_spend", "ad_sales", "return_processing", "uncosted_share"]


@pytest.fixture()
def wh(cost_wh):
    return cost_wh


def _month(d0: str, d1: str) -> dict:
    return {"start": dt.date.fromisoformat(d0), "end": dt.date.fromisoformat(d1)}


def test_grain_rows_default_basis_range_kpis_and_quarter(wh) -> None:
    """The default basis is the order date; a range keeps only its months (the rows of one month equal that
    month's rows of the whole span); every period has exactly the waterfall's KPIs and discounts; a quarter's
    company rows give the quarter's waterfall: Q4 GMV 410 = S1's 150 + 80 (October) + 100 + 80 (November; O3
    is cancelled), S2 left out (not covered in October, so not over the quarter)."""
    whole = costs.waterfall_grain_rows("month", warehouse=wh)
    order = costs.waterfall_grain_rows("month", basis="order", warehouse=wh)
    for name in costs.WATERFALL_GRAINS:
        pd.testing.assert_frame_equal(whole[name], order[name])
    kpis = whole["company"].groupby("period")["kpi"].apply(sorted)
    assert all(k == sorted(costs.COST_ROW_KPIS) for k in kpis), kpis
    for month, (d0, d1) in {"2026-10": ("2026-10-01", "2026-10-31"), "2026-11": ("2026-11-01", "2026-11-30")}.items():
        one = costs.waterfall_grain_rows("month", warehouse=wh, **_month(d0, d1))
        for name in costs.WATERFALL_GRAINS:
            assert set(one[name]["period"]) == {month}, (name, month)
        mine = whole["company"][whole["company"]["period"] == month].reset_index(drop=True)
        pd.testing.assert_frame_equal(one["company"].reset_index(drop=True), mine)
    q = costs.waterfall_grain_rows("quarter", warehouse=wh)
    assert set(q["company"]["period"]) == {"2026-Q4"} and set(q["store"]["period"]) == {"2026-Q4"}
    gmv = q["company"].set_index("kpi")["value"]["gmv"]
    assert gmv == pytest.approx(410.0)
    pd.testing.assert_frame_equal(costs.waterfall("company", None, "2026-Q4", warehouse=wh, rows=q["company"]),
                                  costs.waterfall("company", None, "2026-Q4", warehouse=wh))


def test_unit_rows_range_columns_unknown_store_and_quarter(wh) -> None:
    """October's unit rows: only October; the unit-economics KPIs and nothing else; S1 A-1 = O7 (3 units,
    150, referral 22.5, ads 10); S2 B-1 (O8) unknown — S2 has no October fees or ads, which contribution
    needs — not its raw 160. The quarter: S1 A-1 sold 3 (October) + 2 (O1) = 5 units for 250."""
    oct_ = costs.unit_rows("month", "2026-10", "2026-10", wh)
    assert set(oct_["period"]) == {"2026-10"}
    assert list(oct_.columns) == ["store_id", "sku", "period", *UE_COLUMNS]
    got = oct_.set_index(["store_id", "sku"])
    assert got.loc[("S1", "A-1"), ["units", "gmv", "referral_fees", "ad_spend"]].tolist() == [3.0, 150.0, 22.5, 10.0]
    assert math.isnan(got.loc[("S2", "B-1"), "gmv"]) and math.isnan(got.loc[("S2", "B-1"), "units"])
    q = costs.unit_rows("quarter", warehouse=wh).set_index(["store_id", "sku", "period"])
    assert set(q.index.get_level_values("period")) == {"2026-Q4"}
    assert q.loc[("S1", "A-1", "2026-Q4"), ["units", "gmv"]].tolist() == [5.0, 250.0]


def _bridge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, discounts: dict[str, float], period: str) -> dict:
    make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    t = build_tables()
    for oid, d in discounts.items():
        t["orders"].loc[t["orders"]["order_id"] == oid, ["discounts", "discounts_rc"]] = d
    wh = make_warehouse(tmp_path / "wh", tables=t)
    br = costs.basis_bridge(period=period, warehouse=wh)
    return dict(zip(br["item"], br["amount_rc"]))


def test_bridge_posted_discounts_move_with_their_sales(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """O6 carries a seller discount of 5 and posts on 11-03: November's posted basis has it, the order basis not.
    Order-basis November net profit stays 52.40; posted 81.40 − 5 = 76.40. The discount moves with its sales:
    sales timing 0 − 5 = −5 (GMV and landed cost already balance: O6 in, O2 out); the fee lines (promotions −5)
    give it back: fee timing −12 (O6's referral) − 5 + 5 = −12."""
    got = _bridge(tmp_path, monkeypatch, {"O6": 5.0}, "2026-11")
    assert got["net_profit_order"] == pytest.approx(ORDER_NOV["net_profit"])
    assert got["net_profit_posted"] == pytest.approx(POSTED_NOV["net_profit"] - 5.0)
    assert got["sales_timing"] == pytest.approx(-5.0)
    assert got["fee_timing"] == pytest.approx(-12.0)
    assert got["refund_timing"] == pytest.approx(30.0) and got["ads_invoicing"] == pytest.approx(11.0)


def test_bridge_leaves_out_the_discounts_of_a_store_not_covered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """October with O6's discount 5 (S1) and O8's discount 7 (S2, not covered in October on either basis): both
    waterfalls leave S2 out, so its discount is in no line of the bridge. Sales timing −80 + 23 + 5 = −52
    (O6 leaves with its landed cost and discount), fee timing +12 (O6's referral), as without O8's discount."""
    got = _bridge(tmp_path, monkeypatch, {"O6": 5.0, "O8": 7.0}, "2026-10")
    assert got["sales_timing"] == pytest.approx(-52.0)
    assert got["fee_timing"] == pytest.approx(12.0)
    assert sum(list(got.values())[:-1]) == pytest.approx(got["net_profit_posted"], abs=1e-9)


def test_bridge_labels_come_from_the_catalog_and_amounts_are_numbers(wh) -> None:
    """Every row's zh and en label is the catalog's ``cost.bridge.<item>`` (what a reader sees); the amounts are
    floats like the waterfall's ``amount_rc``."""
    br = costs.basis_bridge(period="2026-11", warehouse=wh)
    for r in br.itertuples():
        key = f"cost.bridge.{r.item}"
        assert (r.label_zh, r.label_en) == (label(key, "zh"), label(key, "en")) and r.label_en != key
    assert br["amount_rc"].dtype == "float64"


def test_loss_makers_of_a_store_in_a_month_before_the_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """S1's October ads on A-1 raised from 10 to 100 and S2's November ads on A-1 from 5 to 30.
    S1 A-1 October: 150 − COGS 3 × 8 − first leg 3 × 2 − duty 2.4 − referral 22.5 − ads 100 = −4.90: a loss maker
    (November, the last month, it is not: 25.90). S2 A-1 November: 60 − refund 30 − 8 − 2 − 0.8 − payment 1.2
    − label 2 − ads 30 = −14.00. The company's A-1 in November (25.90 − 14.00 = 11.90) is no loss maker."""
    make_project(tmp_path / "proj")
    monkeypatch.setenv("KPI_ROOT", str(tmp_path / "proj"))
    t = build_tables()
    ads = t["ads"]
    for store, day, spend in (("S1", "2026-10-05", 100.0), ("S2", "2026-11-07", 30.0)):
        hit = (ads["store_id"] == store) & (ads["date"] == pd.Timestamp(day))
        assert hit.sum() == 1
        ads.loc[hit, ["spend", "spend_rc"]] = spend
    wh = make_warehouse(tmp_path / "wh", tables=t)
    s1 = costs.loss_makers("store", "S1", "2026-10", warehouse=wh)
    assert s1["sku"].tolist() == ["A-1"] and s1["contribution"].iloc[0] == pytest.approx(-4.9)
    s2 = costs.loss_makers("store", "S2", "2026-11", warehouse=wh)
    assert s2["sku"].tolist() == ["A-1"] and s2["contribution"].iloc[0] == pytest.approx(-14.0)
    assert costs.loss_makers("company", None, "2026-11", warehouse=wh).empty


def test_margin_change_from_a_later_month_to_an_earlier_one(wh) -> None:
    """The period need not be the last month: S1 from November (prior) back to October. COGS share
    36 / 170 in November, 44 / 230 in October → −(44 / 230 − 36 / 170) × 100 = +2.0460 points."""
    back = costs.explain_margin_change("store", "S1", "2026-10", "2026-11", warehouse=wh).set_index("step")
    assert back.loc["cogs", "share_prior"] == pytest.approx(36 / 170)
    assert back.loc["cogs", "share_current"] == pytest.approx(44 / 230)
    assert back.loc["cogs", "margin_points"] == pytest.approx(-(44 / 230 - 36 / 170) * 100, abs=1e-9)


def test_bridge_of_an_entity_without_a_covered_store_is_unknown(wh) -> None:
    """S2 in October has no fee and no ads row: its net profit is unknown on both bases (the waterfalls are NaN),
    so is every line of its bridge — not 0.00 (missing is not zero). The same for the company in September,
    a month before the data. S1 in December has no order (order basis unknown) but O2 posts on 12-01 (posted
    net profit 80 − 23 = 57): a bridge from an unknown figure is unknown too, not 0.00 + 57 of timing."""
    posted = costs.waterfall("store", "S1", "2026-12", basis="posted", warehouse=wh).set_index("step")["amount_rc"]
    assert posted["net_profit"] == pytest.approx(57.0)
    for args in (("store", "S2", "2026-10"), ("company", None, "2026-09"), ("store", "S1", "2026-12")):
        assert costs.waterfall(*args, warehouse=wh)["amount_rc"].isna().all()
        br = costs.basis_bridge(*args, warehouse=wh)
        assert len(br) == 7 and br["amount_rc"].isna().all(), (args, br["amount_rc"].tolist())


def test_an_unknown_entity_kind_names_the_kinds_a_user_can_give(wh) -> None:
    """The user error lists every entity kind, comma-separated, so the reader can pick one."""
    from kpi_lib.errors import KpiError

    with pytest.raises(KpiError) as err:
        costs.waterfall("region", "EU", "2026-11", warehouse=wh)
    assert str(err.value) == f"unknown entity kind 'region'; expected one of {', '.join(costs.ENTITY_KINDS)}"
    assert "company, " in str(err.value)


def test_a_report_shows_no_bridge_when_the_posted_basis_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Order-basis net profit known (52.40) but the posted basis unknown: the bridge's lines are NaN
    (``costs.basis_bridge``), and the report's section gets an empty frame (its "no data" note), as when the
    order basis is unknown — not a bridge table of blanks."""
    from types import SimpleNamespace

    from kpi_lib import report_data as rd

    known = pd.DataFrame({"amount": [52.4], "complete": [True], "missing": [""], "stores_covered": [2],
                          "stores_total": [2]})
    monkeypatch.setattr(rd, "waterfall", lambda ctx, basis="order": known)
    monkeypatch.setattr(rd, "_cost_rows", lambda ctx, name: None)
    unknown = pd.DataFrame({"item": ["start", "sales_timing", "end"], "amount_rc": [52.4, float("nan"), float("nan")],
                            "kind": ["start", "timing", "end"], "label_zh": ["a", "b", "c"], "label_en": ["a", "b", "c"]})
    unknown.loc[0, "amount_rc"] = float("nan")
    monkeypatch.setattr(rd.costs_mod, "basis_bridge", lambda *a, **k: unknown)
    ctx = SimpleNamespace(kind="company", engine_id=None, period="2026-11", warehouse=None, lang="en", fx=1.0)
    assert rd.basis_bridge(ctx).empty
    half = unknown.assign(amount_rc=[52.4, -5.0, 47.4])
    monkeypatch.setattr(rd.costs_mod, "basis_bridge", lambda *a, **k: half)
    assert rd.basis_bridge(ctx)["amount"].tolist() == [52.4, -5.0, 47.4]
