"""Money sums are exact and order-independent (the engine's DOUBLE sums were not: a cent-rounded
waterfall line flipped between 3765.39 and 3765.40 from one run to the next)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from kpi_lib.definitions import load_catalog, money_sum

MONEY = [m for m in load_catalog().measures.values() if m.id.endswith("_rc")]


def _orders(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "gross_sales_rc": np.round(rng.uniform(0, 500, n), 2), "discounts_rc": np.round(rng.uniform(0, 9, n), 2),
        "amount_rc": np.round(rng.uniform(-80, 80, n), 2), "spend_rc": np.round(rng.uniform(0, 40, n), 2),
        "ad_sales_rc": np.round(rng.uniform(0, 90, n), 2), "quantity": rng.integers(1, 5, n),
        "unit_cogs": np.round(rng.uniform(1, 60, n), 2), "first_leg_cost": np.round(rng.uniform(0, 3, n), 2),
        "duty_rate": rng.choice([0.0, 0.05, 0.12], n), "sellable": rng.integers(0, 50, n),
        "status": rng.choice(["shipped", "cancelled", "returned"], n), "fee_type": rng.choice(["referral", "storage"], n),
    })


@pytest.mark.parametrize("measure", MONEY, ids=lambda m: m.id)
def test_money_measures_are_exact_sums_whatever_the_row_order(measure):
    df = _orders(60_000, 3)
    con = duckdb.connect()
    con.execute("SET threads = 4")
    con.register("a", df)
    con.register("b", df.sample(frac=1.0, random_state=11))  # the same rows, shuffled
    first = con.execute(f"SELECT {measure.sql} FROM a").fetchone()[0]
    again = con.execute(f"SELECT {measure.sql} FROM b").fetchone()[0]
    assert first == again  # bit for bit, not approx
    # and equal to the exact (Decimal) sum of the cent values, independent of DuckDB
    if measure.id == "gmv_rc":
        keep = df["status"] != "cancelled"
        exact = sum(round(x * 100) for x in df.loc[keep, "gross_sales_rc"]) / 100
        assert first == exact


def test_a_double_sum_would_depend_on_the_order():
    """The reason for money_sum: the same cents summed as DOUBLE in two orders differ (if this ever
    stops being true, money_sum is still harmless)."""
    v = _orders(60_000, 3)["gross_sales_rc"]
    con = duckdb.connect()
    con.register("a", v.to_frame())
    con.register("b", v.sample(frac=1.0, random_state=11).to_frame())
    plain = [con.execute(f"SELECT sum(gross_sales_rc) FROM {t}").fetchone()[0] for t in "ab"]
    exact = [con.execute(f"SELECT {money_sum('gross_sales_rc')} FROM {t}").fetchone()[0] for t in "ab"]
    assert plain[0] != plain[1] and exact[0] == exact[1]


def test_ingest_data_gaps_are_the_same_whatever_the_row_order():
    """``data_gaps`` (an ingest's derived table) holds each gap's sales and the store's month total; summed
    as DOUBLE, the total's last bits followed DuckDB's threads (two ingests of the same files gave
    1895715.6744500052 and …054), so a warehouse's content hash was not reproducible."""
    from kpi_lib.ingest.pipeline import _sku_tables

    n = 200_000
    rng = np.random.default_rng(5)
    orders = pd.DataFrame({
        "store_id": "S1", "order_date": pd.Timestamp("2026-11-03"), "source_file": "o.csv",
        "sku": rng.choice(["A", "B", "NEW-1", "NEW-2"], n), "quantity": rng.integers(1, 4, n),
        "gross_sales_rc": np.round(rng.uniform(0, 500, n), 2), "status": "shipped"})

    class Writer:
        def __init__(self) -> None:
            self.out: dict[str, pd.DataFrame] = {}

        def write_sql(self, name: str, con: duckdb.DuckDBPyConnection, select: str, partition_by=()) -> None:
            self.out[name] = con.execute(select).df()

    def gaps(frame: pd.DataFrame) -> pd.DataFrame:
        con = duckdb.connect()
        con.execute("SET threads = 4")
        con.register("orders", frame)
        empty = pd.DataFrame({"store_id": pd.Series(dtype=str), "sku": pd.Series(dtype=str),
                              "date": pd.Series(dtype="datetime64[ns]"), "source_file": pd.Series(dtype=str)})
        for t in ("refunds", "fees", "traffic", "inventory"):
            con.register(t, empty)
        con.register("ads", empty.assign(asin=pd.Series(dtype=str)))
        con.register("settlement_lines", empty.rename(columns={"date": "posted_date"}))
        con.register("skus", pd.DataFrame({"sku": ["A", "B"], "unit_cogs": [1.0, 2.0]}))
        w = Writer()
        _sku_tables(con, w)
        return w.out["data_gaps"]

    a = gaps(orders)
    b = gaps(orders.sample(frac=1.0, random_state=7))
    assert list(a["sku"]) == ["NEW-1", "NEW-2"] and (a["gap"] == "no_master").all()
    pd.testing.assert_frame_equal(a, b, check_exact=True)  # bit for bit
    keep = orders["sku"].isin(["NEW-1", "NEW-2"])
    assert a["sales_rc"].sum() == pytest.approx(orders.loc[keep, "gross_sales_rc"].sum())
    assert a["month_sales_rc"].iloc[0] == sum(round(x * 100) for x in orders["gross_sales_rc"]) / 100
