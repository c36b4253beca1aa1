"""`kpi generate`: a deterministic demo company whose files look like the platforms' real exports.

Same seed + scale + end → byte-identical files (numpy ``Generator`` streams seeded per store and
purpose; no wall-clock or dict-order dependence except the default ``end`` = the month before today).

Layout written under ``out/<store_id>/`` (file names are for humans; readers detect by content):

- Amazon (AMZ-*): ``orders/YYYY-MM.txt`` All Orders Report (TSV, UTC ISO dates);
  ``settlements/<settlement-id>.txt`` settlement flat file V1 (36-column layout, biweekly; the
  transaction amounts add up to total-amount to the cent; one ``ServiceFee``/``Cost of Advertising``
  row per month equal to that month's ad-report spend); ``ads/YYYY-MM.csv`` Sponsored Products
  advertised product report (7 Day attribution US, 14 Day DE; ``($)`` in the money header only for
  AMZ-US-01); ``business-report/BusinessReport-YYYY-MM.csv`` Sales and Traffic by Date (UTF-8 BOM,
  ``$1,234.56``, quoted thousands, MM/DD/YYYY for US and DD/MM/YYYY for DE, no final newline);
  ``inventory/YYYY-MM.txt`` FBA inventory planning report (TSV, one snapshot per day per listed SKU).
  The ads report carries an ``Advertised SKU`` column before ``Advertised ASIN`` (as seller-account
  reports do; the real sample in shared/real-exports is a vendor-style file without it).
- Shopee (SHP-*): ``orders/YYYY-MM.xlsx`` order report, Malaysia layout (57 columns); CSV with the
  same header when scale > 2.
- TikTok Shop (TTS-US-01): ``orders/YYYY-MM.csv`` with a second line of column descriptions.
- Shopify (SFY-US-01): ``orders/YYYY-MM.csv`` orders_export layout (order totals on the first line).
- Chinese ERP (LZD-TH-01, WMT-US-01): ``erp-orders/YYYY-MM.csv`` GB18030, Chinese header, with the
  platform fees per line (commission, payment fee, 平台履约费 = WFS fulfilment / Lazada shipping fee).
- Native fee, ads and traffic exports of every non-Amazon store (``kpi_lib.generate.native``):
  one file per calendar quarter: ``ads/YYYY-Qn.csv`` (Shopee Ads, Lazada Sponsored Solutions, TikTok
  Ads Manager, Meta Ads Manager for the Shopify store), ``traffic/YYYY-Qn.csv`` (Shopee Business Insights, Lazada Business Advisor,
  TikTok Shop analytics, Shopify Sessions over time, Walmart Seller Center), ``statements/YYYY-Qn.csv``
  (TikTok Shop finance statement) and ``payments/YYYY-Qn.csv`` (Shopify Payments transactions).
- **One deliberate gap:** WMT-US-01 has no ads export, so its ads-based figures are incomplete and the
  reports show it (docs/contracts.md, demo table). Every other store has orders, fees, ads and traffic.
- ``reference/``: stores, skus, sku_costs, fx_rates, teams, people, assignments, listings, tickets,
  activities (columns in docs/contracts.md). fx_rates covers the 18 months plus the month after
  ``end`` (the last settlement's deposit date falls into it).

Volume: scale 1 ≈ 300k order lines over the 18 months (scale 30 ≈ 9M). Everything is generated
with numpy/pyarrow vectors and written straight from Arrow buffers; no Python loop runs per order
line. Shopee files are xlsx up to scale 2 and CSV (same header) above. Existing ``out/<store_id>/``
folders of the 11 demo stores are replaced; nothing else under ``out`` is touched.

Dirty rows injected on purpose (all listed in ``out/_dirty_rows.json`` as
``{"file", "line", "kind", "detail"}``; ``line`` is the 1-based physical line, or the sheet row for
xlsx; header = line 1, TikTok's description line = line 2). Injections happen in the 6th month of
the period (days 5–20, single-line orders) unless noted:

- AMZ-US-01 orders: one ``bad_date`` (purchase-date with day 32 / hour 25), one
  ``negative_quantity``, one ``unknown_sku`` (``ZZ-9…``); and ``duplicate`` rows: the last 3 days of
  the previous month repeated at the start of the last month's file (overlapping export windows).
- AMZ-US-03 settlements: the second settlement exported twice, the copy named
  ``re-export_<id>.txt`` (every line of the copy is listed as ``duplicate_file``).
- SHP-MY-01: one ``bad_date`` (month 13) and one ``negative_quantity``.
- TTS-US-01: one ``unknown_sku`` (``ZZ-8…``), one ``bad_date`` (``13/45/…``); ``duplicate`` rows
  as for AMZ-US-01 (last month's file starts with the previous month's last 3 days).
- SFY-US-01: one ``negative_quantity``, one ``bad_date`` (day 32).
- LZD-TH-01: one ``bad_date`` (Feb 30) and one ``negative_quantity``; WMT-US-01: one
  ``unknown_sku`` (``ZZ-7…``). Both ERP stores: a trailing ``合计`` ``totals_row`` in the 7th
  month's file.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from . import amazon, marketplaces, native
from .common import DirtyLog
from .core import STORE_IDS, STORES, build_world, default_end, simulate_store
from .org import write_reference

__all__ = ["generate"]


def generate(out: Path, reference: Path, seed: int = 7, scale: float = 1.0, end: str | None = None) -> dict:
    """Write the demo exports under ``out`` and the reference tables under ``reference``.

    Returns a summary: ``files`` (relative path → data rows), ``files_written``, ``order_lines``,
    ``rows_per_store``, ``dirty_rows``, ``months``, ``end``, ``seed``, ``scale``, ``reference``.
    """
    if not (scale > 0) or scale > 1000:
        raise ConfigError(f"--scale must be > 0 and ≤ 1000 (got {scale})")
    end = end or default_end()
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", str(end)):
        raise ConfigError(f"--end must look like YYYY-MM (got {end!r})")
    out = Path(out)
    reference = Path(reference)
    out.mkdir(parents=True, exist_ok=True)
    for sid in STORE_IDS:  # only what we own: previous demo output for the same store ids
        if (out / sid).is_dir():
            shutil.rmtree(out / sid)
    world = build_world(int(seed), float(scale), str(end))
    from . import textio

    textio.ROWS.clear()
    dirty = DirtyLog(out)
    use_xlsx = scale <= 2
    files: list[Path] = []
    lines_per_store: dict[str, int] = {}
    orders_per_month: dict[str, dict[str, int]] = {}
    for sid, _name, platform, *_ in STORES:
        lines = simulate_store(world, sid)
        lines_per_store[sid] = len(lines)
        mon = lines["day"].to_numpy().astype("datetime64[M]").astype(str)
        first = lines["line_no"].to_numpy() == 1
        u, c = np.unique(mon[first], return_counts=True)
        orders_per_month[sid] = {str(a): int(b) for a, b in zip(u, c)}
        if platform == "amazon":
            lines = amazon.prepare(world, sid, lines)
            files += amazon.write_orders(world, sid, lines, out, dirty, inject=sid == "AMZ-US-01", overlap=sid == "AMZ-US-01")
            ad_files, spend = amazon.write_ads(world, sid, lines, out)
            files += ad_files
            files += amazon.write_settlements(world, sid, lines, out, spend, dirty, duplicate=sid == "AMZ-US-03")
            files += amazon.write_business(world, sid, lines, out)
            files += amazon.write_inventory(world, sid, lines, out)
        else:
            if platform == "shopee":
                files += marketplaces.write_shopee(world, sid, lines, out, dirty, inject=sid == "SHP-MY-01", use_xlsx=use_xlsx)
            elif platform == "tiktok":
                files += marketplaces.write_tiktok(world, sid, lines, out, dirty, inject=True, overlap=True)
                files += native.write_tiktok_statement(world, sid, lines, out)
            elif platform == "shopify":
                files += marketplaces.write_shopify(world, sid, lines, out, dirty, inject=True)
                files += native.write_shopify_payments(world, sid, lines, out)
            else:
                files += marketplaces.write_erp(world, sid, lines, out, dirty, inject=True, totals=True)
            files += native.write_ads(world, sid, lines, out)  # none for WMT-US-01 (the deliberate gap)
            files += native.write_traffic(world, sid, lines, out)
        del lines
    ref_rows = write_reference(world, reference, orders_per_month)
    manifest = {"seed": int(seed), "scale": float(scale), "end": str(end), "rows": dirty.rows}
    (out / "_dirty_rows.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return {
        "out": str(out), "reference": str(reference), "seed": int(seed), "scale": float(scale), "end": str(end),
        "months": world.period.months, "files_written": len(files) + len(ref_rows) + 1,
        "files": {p.relative_to(out).as_posix(): textio.ROWS.get(str(p), 0) for p in files},
        "reference_rows": ref_rows, "rows_per_store": lines_per_store,
        "order_lines": int(sum(lines_per_store.values())), "dirty_rows": len(dirty.rows),
        "shopee_format": "xlsx" if use_xlsx else "csv",
    }
