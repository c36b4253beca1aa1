"""Meta (Facebook/Instagram) Ads Manager export with a daily breakdown, as a built-in mapping.

Direct-to-consumer stores (the demo's Shopify store) buy their ads on Meta, not on a marketplace:
Ads Manager → Reports → Export table data (CSV) with Breakdown → By time → Day. Columns (Meta's
export names): Campaign name, Ad set name, Day, Amount spent (USD), Impressions, Link clicks,
CPC (cost per link click) (USD), Purchases, Purchases conversion value, Reporting starts, Reporting
ends. The currency is in the spend header: this mapping reads USD accounts.
"""

from __future__ import annotations

from .mapping import register_builtin

META_ADS = {
    "name": "meta_ads",
    "description": "Meta Ads Manager export by day (Campaign name, Ad set name, Day, Amount spent (USD)…)",
    "platforms": [],
    "priority": 30,
    "table": "ads",
    "detect": {"required_columns": ["Campaign name", "Ad set name", "Day", "Amount spent (USD)", "Impressions"]},
    "decimal": ".",
    "currency": "USD",
    "columns": {
        "date": "Day", "campaign": "Campaign name", "ad_group": "Ad set name", "spend": "Amount spent (USD)",
        "impressions": "Impressions", "clicks": "Link clicks", "ad_orders": "Purchases",
        "ad_sales": "Purchases conversion value",
    },
}

READER = register_builtin(META_ADS)
