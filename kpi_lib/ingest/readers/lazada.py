"""Lazada native exports as built-in mappings: Sponsored Solutions ads and Business Advisor traffic.

Orders and fees of the demo's Lazada store come through the Chinese ERP export
(``parameters/mappings/erp_mabang_orders.yaml``: commission, payment fee and Lazada's shipping fee
per line, as the ERP pulls them from Lazada's finance API). Ads and traffic are not in the ERP:
they are read from Lazada's own exports below.
"""

from __future__ import annotations

from .mapping import register_builtin

# Source: Lazada Seller Center → Sponsored Solutions (Sponsored Discovery) → Reports → campaign report
# export by day: Date, Campaign Name, Campaign ID, Campaign Type, Impression, Clicks, CTR, Spend,
# Avg. CPC, Revenue, Orders, Unit Sold, ROI (Lazada Seller Center University's Sponsored Solutions
# reporting guide).
LAZADA_ADS = {
    "name": "lazada_ads",
    "description": "Lazada Sponsored Solutions campaign report by day (Campaign Name, Impression, Spend, Revenue…)",
    "platforms": ["lazada"],
    "priority": 20,
    "table": "ads",
    "detect": {"required_columns": ["Date", "Campaign Name", "Impression", "Spend", "Revenue", "Unit Sold"]},
    "decimal": ".",
    "columns": {
        "date": "Date", "campaign": "Campaign Name", "ad_group": "Campaign ID", "impressions": "Impression",
        "clicks": "Clicks", "spend": "Spend", "ad_sales": "Revenue", "ad_orders": "Orders", "ad_units": "Unit Sold",
    },
}
# Source: Lazada Seller Center → Business Advisor → Dashboard → Key Metrics export by day (Date, Visitors,
# Page Views, Buyers, Orders, Units Sold, Revenue, Conversion Rate); dates like ``05 Oct 2026``.
LAZADA_TRAFFIC = {
    "name": "lazada_traffic",
    "description": "Lazada Business Advisor key metrics by day (Visitors, Page Views, Buyers, Revenue…)",
    "platforms": ["lazada"],
    "priority": 20,
    "table": "traffic",
    "detect": {"required_columns": ["Date", "Visitors", "Page Views", "Buyers", "Units Sold", "Revenue"]},
    "date_format": "%d %b %Y",
    "decimal": ".",
    "columns": {"date": "Date", "sessions": "Visitors", "page_views": "Page Views", "units_ordered": "Units Sold",
                "ordered_sales": "Revenue"},
}

ADS_READER = register_builtin(LAZADA_ADS)
TRAFFIC_READER = register_builtin(LAZADA_TRAFFIC)
