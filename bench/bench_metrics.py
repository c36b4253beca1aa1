"""Benchmark: all catalog KPIs for store × month vs one hand-written DuckDB query (the floor).

    python bench/bench_metrics.py --warehouse /tmp/kpi-bench-ingest/warehouse
    python bench/bench_metrics.py --synthetic 30        # no warehouse: fixture stores × 30

Each side runs in a fresh child process (best of --repeat runs); prints seconds, ratio and peak MB.
The floor computes the same figures (checked against ours) in a single SQL statement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

FLOOR_SQL = r"""
WITH
od AS (SELECT store_id, order_id, min(CAST(order_date AS DATE)) AS od FROM orders GROUP BY ALL),
o AS (
  SELECT o.store_id, date_trunc('month', CAST(o.order_date AS DATE)) AS period,
    sum(o.gross_sales_rc) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled') AS gmv,
    sum(coalesce(o.discounts_rc, 0)) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled') AS discounts,
    count(DISTINCT o.store_id || '|' || o.order_id) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled') AS orders,
    sum(o.quantity) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled') AS units,
    sum(o.quantity * coalesce(c.unit_cogs, k.unit_cogs, 0)) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled') AS cogs,
    sum(o.quantity * coalesce(c.first_leg_cost, k.first_leg_cost, 0)) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled') AS first_leg,
    sum(o.quantity * coalesce(c.unit_cogs, k.unit_cogs, 0) * coalesce(k.duty_rate, 0)) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled') AS duties,
    sum(o.quantity) FILTER (WHERE o.status IN ('shipped','delivered','returned')) AS shipped_units,
    sum(o.quantity) FILTER (WHERE o.status = 'returned') AS returned_units,
    count(*) FILTER (WHERE o.status IN ('shipped','delivered','returned')) AS shipped_lines,
    count(*) FILTER (WHERE o.status IN ('shipped','delivered','returned') AND o.ship_date > o.promised_ship_date) AS late_lines,
    count(DISTINCT o.store_id || '|' || o.sku) FILTER (WHERE o.status IS DISTINCT FROM 'cancelled' AND o.quantity > 0) AS skus_sold
  FROM orders o
  ASOF LEFT JOIN (SELECT sku, CAST(valid_from AS DATE) AS vf, unit_cogs, first_leg_cost FROM sku_costs) c
    ON o.sku = c.sku AND CAST(o.order_date AS DATE) >= c.vf
  LEFT JOIN skus k ON o.sku = k.sku
  GROUP BY ALL),
-- refunds and fees that carry an order id count in their order's month (the order basis)
r AS (SELECT r.store_id, date_trunc('month', coalesce(od.od, CAST(r.date AS DATE))) AS period, sum(amount_rc) AS refunds,
    coalesce(sum(quantity), 0) + count(DISTINCT r.store_id || '|' || coalesce(r.order_id, '') || '|' || coalesce(sku, '') || '|'
      || CAST(CAST(date AS DATE) AS VARCHAR)) FILTER (WHERE quantity IS NULL) AS refund_units
  FROM refunds r LEFT JOIN od ON od.store_id = r.store_id AND od.order_id = r.order_id GROUP BY ALL),
f AS (SELECT f.store_id, date_trunc('month', coalesce(od.od, CAST(f.date AS DATE))) AS period,
    sum(amount_rc) FILTER (WHERE fee_type IN ('referral','payment','subscription','refund','other')) AS platform_fees,
    sum(amount_rc) FILTER (WHERE fee_type IN ('fulfillment','shipping_label')) AS fulfillment_fees,
    sum(amount_rc) FILTER (WHERE fee_type IN ('storage','long_term_storage')) AS storage_fees,
    sum(amount_rc) FILTER (WHERE fee_type = 'return_processing') AS return_processing,
    sum(amount_rc) FILTER (WHERE fee_type = 'promotion') AS promotion_fees
  FROM fees f LEFT JOIN od ON od.store_id = f.store_id AND od.order_id = f.order_id GROUP BY ALL),
a AS (SELECT store_id, date_trunc('month', CAST(date AS DATE)) AS period, sum(spend_rc) AS ad_spend, sum(ad_sales_rc) AS ad_sales,
    sum(clicks) AS clicks, sum(impressions) AS impressions FROM ads GROUP BY ALL),
t AS (SELECT store_id, date_trunc('month', CAST(date AS DATE)) AS period, sum(sessions) AS sessions FROM traffic GROUP BY ALL),
i0 AS (SELECT i.store_id, i.sku, CAST(i.date AS DATE) AS d, i.sellable, coalesce(i.age_181_365, 0) + coalesce(i.age_365_plus, 0) AS aged,
    coalesce(c.unit_cogs, k.unit_cogs, 0) AS unit_cogs
  FROM inventory i
  ASOF LEFT JOIN (SELECT sku, CAST(valid_from AS DATE) AS vf, unit_cogs FROM sku_costs) c ON i.sku = c.sku AND CAST(i.date AS DATE) >= c.vf
  LEFT JOIN skus k ON i.sku = k.sku),
i AS (SELECT store_id, date_trunc('month', d) AS period, sum(sellable) AS sellable, count(DISTINCT d) AS inv_dates,
    sum(sellable * unit_cogs) AS inv_value, sum(sellable) FILTER (WHERE is_last) AS ending, count(*) AS sku_days,
    count(*) FILTER (WHERE sellable = 0) AS stockout, sum(aged) AS aged
  FROM (SELECT *, d = max(d) OVER (PARTITION BY store_id, sku, date_trunc('month', d)) AS is_last FROM i0) GROUP BY ALL),
rng AS (SELECT min(CAST(order_date AS DATE)) AS lo, max(CAST(order_date AS DATE)) AS hi FROM orders),
l AS (SELECT store_id, CAST(p AS DATE) AS period, count(DISTINCT store_id || '|' || sku) AS skus_listed
  FROM (SELECT l.store_id, l.sku, unnest(generate_series(
          CAST(date_trunc('month', greatest(CAST(listed_on AS DATE), rng.lo)) AS TIMESTAMP),
          CAST(date_trunc('month', least(coalesce(CAST(delisted_on AS DATE), rng.hi), rng.hi)) AS TIMESTAMP),
          INTERVAL '1 month')) AS p
        FROM listings l, rng WHERE greatest(CAST(listed_on AS DATE), rng.lo) <= least(coalesce(CAST(delisted_on AS DATE), rng.hi), rng.hi))
  GROUP BY ALL),
tk AS (SELECT store_id, date_trunc('month', CAST(opened_at AS DATE)) AS period, count(*) AS tickets,
    count(*) FILTER (WHERE date_diff('microsecond', opened_at, first_response_at) / 3600e6 <= 24) AS answered,
    median(date_diff('microsecond', opened_at, first_response_at) / 3600e6) AS first_response_hours,
    median(date_diff('microsecond', opened_at, resolved_at) / 3600e6 / 24) FILTER (WHERE kind = 'dispute') AS dispute_days,
    median(date_diff('microsecond', opened_at, resolved_at) / 3600e6) FILTER (WHERE kind = 'negative_review') AS negative_review_hours
  FROM tickets GROUP BY ALL),
ac AS (SELECT store_id, date_trunc('month', CAST(date AS DATE)) AS period,
    count(*) FILTER (WHERE kind = 'new_listing') AS new_listings,
    count(*) FILTER (WHERE kind = 'ad_group_optimization') AS ad_optimizations FROM activities GROUP BY ALL),
oh AS (SELECT store_id, CAST(CAST(month AS VARCHAR) || '-01' AS DATE) AS period, sum(amount_rc) AS overheads
  FROM {overheads} GROUP BY ALL),
-- which sources a store x month has, each by its rows' own date; costs: >= 99.5 % of the GMV carries a unit cost
has AS (SELECT store_id, date_trunc('month', CAST(order_date AS DATE)) AS period, 'orders' AS src FROM orders GROUP BY ALL
  UNION ALL SELECT store_id, date_trunc('month', CAST(date AS DATE)), 'fees' FROM fees GROUP BY ALL
  UNION ALL SELECT store_id, date_trunc('month', CAST(date AS DATE)), 'ads' FROM ads GROUP BY ALL
  UNION ALL SELECT store_id, date_trunc('month', CAST(date AS DATE)), 'traffic' FROM traffic GROUP BY ALL
  UNION ALL SELECT store_id, date_trunc('month', CAST(date AS DATE)), 'inventory' FROM inventory GROUP BY ALL
  UNION ALL SELECT o.store_id, date_trunc('month', CAST(o.order_date AS DATE)), 'costs' FROM orders o
    LEFT JOIN (SELECT sku FROM sku_costs WHERE unit_cogs IS NOT NULL UNION SELECT sku FROM skus WHERE unit_cogs IS NOT NULL) k
      ON o.sku = k.sku
    WHERE o.status IS DISTINCT FROM 'cancelled' GROUP BY ALL
    HAVING count(k.sku) > 0 AND CASE WHEN sum(abs(o.gross_sales_rc)) > 0
      THEN sum(abs(o.gross_sales_rc)) FILTER (WHERE k.sku IS NOT NULL) / sum(abs(o.gross_sales_rc)) >= 0.995
      ELSE count(*) = count(k.sku) END),
-- a store with orders in the month but without a source: every figure needing that source is unknown
miss AS (SELECT store_id, period,
    NOT bool_or(src = 'fees') AS m_fees, NOT bool_or(src = 'ads') AS m_ads, NOT bool_or(src = 'traffic') AS m_traffic,
    NOT bool_or(src = 'inventory') AS m_inv, NOT bool_or(src = 'costs') AS m_costs
  FROM has GROUP BY ALL HAVING bool_or(src = 'orders')),
keys AS (SELECT store_id, period FROM o UNION SELECT store_id, period FROM r UNION SELECT store_id, period FROM f
  UNION SELECT store_id, period FROM a UNION SELECT store_id, period FROM t UNION SELECT store_id, period FROM i
  UNION SELECT store_id, period FROM l UNION SELECT store_id, period FROM tk UNION SELECT store_id, period FROM ac
  UNION SELECT store_id, period FROM oh),
j AS (SELECT keys.store_id, keys.period,
    coalesce(gmv, 0) AS gmv, coalesce(discounts, 0) AS discounts, coalesce(refunds, 0) AS refunds,
    coalesce(orders, 0) AS orders, coalesce(units, 0) AS units,
    coalesce(sessions, 0) AS sessions, coalesce(ad_spend, 0) AS ad_spend, coalesce(ad_sales, 0) AS ad_sales,
    coalesce(clicks, 0) AS clicks, coalesce(impressions, 0) AS impressions, coalesce(cogs, 0) AS cogs,
    coalesce(first_leg, 0) AS first_leg, coalesce(duties, 0) AS duties, coalesce(platform_fees, 0) AS platform_fees,
    coalesce(fulfillment_fees, 0) AS fulfillment_fees, coalesce(storage_fees, 0) AS storage_fees,
    coalesce(return_processing, 0) AS return_processing, coalesce(promotion_fees, 0) AS promotion_fees,
    coalesce(overheads, 0) AS overheads, coalesce(shipped_units, 0) AS shipped_units, coalesce(refund_units, 0) AS refund_units,
    coalesce(shipped_lines, 0) AS shipped_lines, coalesce(late_lines, 0) AS late_lines, coalesce(skus_sold, 0) AS skus_sold,
    coalesce(skus_listed, 0) AS skus_listed, coalesce(sellable, 0) AS sellable, coalesce(inv_dates, 0) AS inv_dates,
    coalesce(inv_value, 0) AS inv_value, coalesce(ending, 0) AS ending, coalesce(sku_days, 0) AS sku_days,
    coalesce(stockout, 0) AS stockout, coalesce(i.aged, 0) AS aged, coalesce(tickets, 0) AS tickets,
    coalesce(answered, 0) AS answered, first_response_hours, dispute_days, negative_review_hours,
    coalesce(new_listings, 0) AS new_listings, coalesce(ad_optimizations, 0) AS ad_optimizations,
    coalesce(m_fees, false) AS m_fees, coalesce(m_ads, false) AS m_ads, coalesce(m_traffic, false) AS m_traffic,
    coalesce(m_inv, false) AS m_inv, coalesce(m_costs, false) AS m_costs,
    (least(CAST(keys.period + INTERVAL 1 MONTH AS DATE) - 1, rng.hi) - greatest(CAST(keys.period AS DATE), rng.lo) + 1) AS days
  FROM keys CROSS JOIN rng
  LEFT JOIN o USING (store_id, period) LEFT JOIN r USING (store_id, period) LEFT JOIN f USING (store_id, period)
  LEFT JOIN a USING (store_id, period) LEFT JOIN t USING (store_id, period) LEFT JOIN i USING (store_id, period)
  LEFT JOIN l USING (store_id, period) LEFT JOIN tk USING (store_id, period) LEFT JOIN ac USING (store_id, period)
  LEFT JOIN oh USING (store_id, period) LEFT JOIN miss USING (store_id, period)),
k AS (SELECT *, gmv - refunds - cogs - first_leg - duties AS gross_profit,
    gmv - refunds - cogs - first_leg - duties - platform_fees - fulfillment_fees - storage_fees - ad_spend
      - return_processing - promotion_fees - discounts AS contribution,
    m_fees OR m_ads OR m_costs AS m_profit FROM j)
SELECT store_id, strftime(period, '%Y-%m') AS period,
  gmv, refunds, gmv - refunds AS net_sales, orders, units, gmv / nullif(orders, 0) AS aov,
  if(m_traffic, NULL, sessions) AS sessions, if(m_traffic, NULL, orders / nullif(sessions, 0)) AS cvr,
  if(m_ads, NULL, ad_spend) AS ad_spend, if(m_ads, NULL, ad_sales) AS ad_sales,
  if(m_ads, NULL, ad_spend / nullif(ad_sales, 0)) AS acos, if(m_ads, NULL, ad_sales / nullif(ad_spend, 0)) AS roas,
  if(m_ads, NULL, ad_spend / nullif(gmv, 0)) AS tacos, if(m_ads, NULL, ad_spend / nullif(clicks, 0)) AS cpc,
  if(m_ads, NULL, clicks / nullif(impressions, 0)) AS ctr, if(m_costs, NULL, cogs) AS cogs,
  if(m_costs, NULL, first_leg) AS first_leg, if(m_fees, NULL, platform_fees) AS platform_fees,
  if(m_fees, NULL, fulfillment_fees) AS fulfillment_fees, if(m_fees, NULL, storage_fees) AS storage_fees,
  if(m_profit, NULL, contribution) AS contribution, if(m_profit, NULL, contribution - overheads) AS net_profit,
  if(m_costs, NULL, gross_profit / nullif(gmv - refunds, 0)) AS gross_margin,
  if(m_profit, NULL, (contribution - overheads) / nullif(gmv - refunds, 0)) AS net_margin,
  refund_units / nullif(shipped_units, 0) AS return_rate,
  if(m_inv, NULL, (sellable / nullif(inv_dates, 0)) / nullif(units / nullif(days, 0), 0)) AS inventory_days,
  if(m_inv OR m_costs, NULL, cogs / nullif(inv_value / nullif(inv_dates, 0), 0)) AS inventory_turnover,
  if(m_inv, NULL, units / nullif(units + ending, 0)) AS sell_through,
  if(m_inv, NULL, stockout / nullif(sku_days, 0)) AS stockout_rate,
  if(m_inv, NULL, aged / nullif(sellable, 0)) AS aged_inventory_share, skus_sold / nullif(skus_listed, 0) AS active_sku_rate,
  first_response_hours, answered / nullif(tickets, 0) AS response_24h_rate, dispute_days, negative_review_hours,
  new_listings, ad_optimizations, late_lines / nullif(shipped_lines, 0) AS late_shipment_rate
FROM k ORDER BY store_id, period
"""

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from kpi_lib.warehouse import Warehouse
wh = Warehouse({wh!r})
kind = {kind!r}
t = time.perf_counter()
if kind == "ours":
    from kpi_lib.metrics import compute
    from kpi_lib.definitions import BUILTIN_KPIS
    df = compute([k.id for k in BUILTIN_KPIS], by=["store_id"], period="month", warehouse=wh)
else:
    con = wh.connect()
    names = {{r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}}
    oh = "overhead_allocations" if "overhead_allocations" in names else "(SELECT NULL::VARCHAR store_id, '1900-01' AS month, 0.0 AS amount_rc WHERE false)"
    df = con.execute({sql!r}.replace("{{overheads}}", oh)).df()
dt = time.perf_counter() - t
if {out!r}:
    df.to_parquet({out!r})
print(json.dumps({{"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "rows": len(df)}}))
"""


def run(kind: str, wh: str, out: str = "") -> dict:
    code = CHILD.format(root=str(ROOT), wh=wh, kind=kind, sql=FLOOR_SQL, out=out)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if p.returncode:
        raise SystemExit(f"{kind} failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def synthetic(path: Path, copies: int) -> str:
    """The test fixture's stores replicated ``copies`` times (store ids suffixed)."""
    import pandas as pd

    sys.path.insert(0, str(ROOT / "tests"))
    from engine_fixtures import REFERENCE, build_tables

    from kpi_lib.warehouse import Warehouse

    base = build_tables()
    wh = Warehouse(path)
    with wh.transaction("bench synthetic") as w:
        for name, df in base.items():
            if "store_id" in df.columns and name not in ("assignments",):
                parts = []
                for c in range(copies):
                    d = df.copy()
                    d["store_id"] = d["store_id"] + f"-{c:03d}"
                    for col in ("order_id", "ticket_id", "activity_id"):
                        if col in d.columns:
                            d[col] = d[col] + f"-{c:03d}"
                    parts.append(d)
                df = pd.concat(parts, ignore_index=True)
            w.write(name, df, partition_by=() if name in REFERENCE else None)
    return str(path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--warehouse", default=None, help="warehouse directory (e.g. the scale-30 demo)")
    ap.add_argument("--synthetic", type=int, default=30, help="copies of the fixture stores when no warehouse exists")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (synthetic warehouse)")
    args = ap.parse_args()
    from kpi_lib.warehouse import Warehouse

    tmp = tempfile.mkdtemp(prefix="kpi-bench-metrics-")
    wh = args.warehouse
    source = wh
    if not wh or not Warehouse(wh).exists():
        wh = synthetic(Path(tmp) / "wh", args.synthetic)
        source = f"synthetic: fixture stores × {args.synthetic}"
    ours = min((run("ours", wh, f"{tmp}/ours.parquet" if i == 0 else "") for i in range(args.repeat)),
               key=lambda r: r["seconds"])
    floor = min((run("floor", wh, f"{tmp}/floor.parquet" if i == 0 else "") for i in range(args.repeat)),
                key=lambda r: r["seconds"])
    import numpy as np
    import pandas as pd

    a = pd.read_parquet(f"{tmp}/ours.parquet").sort_values(["store_id", "period"]).reset_index(drop=True)
    b = pd.read_parquet(f"{tmp}/floor.parquet").sort_values(["store_id", "period"]).reset_index(drop=True)
    mism = [c for c in b.columns if c not in ("store_id", "period")
            and not np.allclose(a[c].astype(float), b[c].astype(float), rtol=1e-6, atol=1e-6, equal_nan=True)]
    same = len(a) == len(b) and not mism
    sys.path.insert(0, str(HERE))
    from common import table

    rows = [{"case": "all KPIs store × month", "rows": ours["rows"], "ours s": f"{ours['seconds']:.2f}",
             "floor s": f"{floor['seconds']:.2f}", "ratio": f"{ours['seconds'] / floor['seconds']:.2f}",
             "ours peak MB": f"{ours['peak_mb']:.0f}", "floor peak MB": f"{floor['peak_mb']:.0f}",
             "same figures": "yes" if same else f"NO ({', '.join(mism)})"}]
    print(table(f"metrics ({source})", rows, list(rows[0])))
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
