"""Walmart native exports as built-in mappings: Seller Center sales & traffic by day.

Orders and fees of the demo's Walmart store come through the Chinese ERP export
(``parameters/mappings/erp_mabang_orders.yaml``: referral commission and the WFS fulfilment fee per
line, as the ERP pulls them from Walmart's reconciliation API). The demo's Walmart store has **no**
Sponsored Search export on purpose: the one source missing in the demo, so its ads-based figures show
as incomplete.
"""

from __future__ import annotations

from .mapping import register_builtin

# Source: Walmart Seller Center → Analytics & Reports → Sales/Traffic performance export by day (Date,
# GMV, Orders, Units Sold, Page Views, Unique Visitors, Conversion Rate). Walmart reports unique
# visitors, not sessions: they load as sessions (documented approximation for conversion).
WALMART_TRAFFIC = {
    "name": "walmart_traffic",
    "description": "Walmart Seller Center sales & traffic by day (GMV, Page Views, Unique Visitors…)",
    "platforms": ["walmart"],
    "priority": 20,
    "table": "traffic",
    "detect": {"required_columns": ["Date", "GMV", "Units Sold", "Page Views", "Unique Visitors"]},
    "date_format": "%m/%d/%Y",
    "decimal": ".",
    "columns": {"date": "Date", "sessions": "Unique Visitors", "page_views": "Page Views",
                "units_ordered": "Units Sold", "ordered_sales": "GMV"},
}

TRAFFIC_READER = register_builtin(WALMART_TRAFFIC)
