"""Amazon Seller Central reports.

One reader per report, each recognised by its header (never the file name):

- ``amazon_settlement_v1``: settlement flat file, V1 layout (typed column pairs) → payouts,
  settlement_lines, and the fees / refunds derived from them;
- ``amazon_orders``: All Orders Report flat file → orders;
- ``amazon_business_report``: Business Report, Sales and Traffic by Date → traffic (store level);
- ``amazon_fba_inventory``: FBA inventory planning report → inventory.

Amazon Ads reports are read by ``amazon.ads`` (one grain table per report kind; the spend of
record is chosen by ``kpi_lib.ingest.ads_record``); they use the io and parsing helpers below.

Parsing is vectorised: delimited text goes through pyarrow's CSV reader (string columns) with
physical line numbers computed from the newline positions; files whose quoting spans lines fall
back to ``csv_frame``.

One module per report family: ``settlement`` (V1, V2), ``transactions`` (date-range transaction
report), ``orders``, ``business`` (by date, by child item), ``inventory``, ``ads`` (Amazon Ads
console reports); ``common`` holds what they share. Raw files become string frames in
``kpi_lib.ingest.frames``; cells become values with ``kpi_lib.ingest.parse``.
"""

from __future__ import annotations

from ...base import Reader
from ...frames import read_delimited
from ...parse import col_number
from .business import AmazonBusinessReport, AmazonBusinessReportChild, report_range
from .common import PLATFORM
from .inventory import AmazonFbaInventory
from .orders import AmazonOrders
from .settlement import (
    AmazonSettlementV1,
    AmazonSettlementV2,
    derive_fees_refunds,
    fee_type,
    settlement_category,
)

__all__ = [
    "PLATFORM",
    "AmazonBusinessReport",
    "AmazonBusinessReportChild",
    "AmazonFbaInventory",
    "AmazonOrders",
    "AmazonSettlementV1",
    "AmazonSettlementV2",
    "Reader",
    "col_number",
    "derive_fees_refunds",
    "fee_type",
    "read_delimited",
    "report_range",
    "settlement_category",
]
