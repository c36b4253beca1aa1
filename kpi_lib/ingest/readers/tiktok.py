"""TikTok Shop order export (CSV, 53 columns), as a built-in mapping.

Real exports carry a second line of column descriptions under the header ("Platform unique order
ID."): it is not a data row (and an export without it loses no row). Ids end with a tab (kept
as text by Excel): cells are trimmed. Times are local (``07/16/2026 10:23:45 AM``).

- ``gross_sales`` = SKU Subtotal Before Discount; ``discounts`` = SKU Seller Discount (platform-funded
  discounts are not the seller's); ``line_id`` = SKU ID (or the line's index in the order).
- Shipping Fee After Discount and Taxes are order-level amounts repeated on every line: taken once.
- Order Refund Amount is order-level too: one ``refunds`` row per order (not for cancelled orders,
  whose money back is a cancellation, already out of GMV). A line whose Cancelation/Return Type is
  Return/Refund is ``returned``.
- A trailing totals row (``Total`` in Order ID) is quarantined as ``totals row``.
- Reconciliation: expected money = the Total row's SKU Subtotal (or, without one, the column read a
  second way) + refunds once per non-cancelled order, parsed by ``ingest.independent``.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ..base import ReadResult, Store
from ..independent import fields, try_money
from ..registry import register_instance
from .mapping import Mapping, MappingReader, register_builtin

TIKTOK = {
    "name": "tiktok_orders",
    "description": "TikTok Shop order export (Order ID, Seller SKU, SKU Subtotal Before Discount…)",
    "platforms": ["tiktok"],
    "priority": 20,
    "description_row": True,
    "detect": {"required_columns": ["Order ID", "Seller SKU", "SKU Subtotal Before Discount", "Created Time"]},
    "date_format": "%m/%d/%Y %I:%M:%S %p",
    "decimal": ".",
    "columns": {
        "order_id": "Order ID",
        "line_id": "SKU ID",
        "sku": "Seller SKU",
        "order_date": "Created Time",
        "quantity": "Quantity",
        "gross_sales": "SKU Subtotal Before Discount",
        "discounts": "SKU Seller Discount",
        "shipping_charged": "Shipping Fee After Discount",
        "tax": "Taxes",
        "status": {"column": "Order Status", "map": {
            # matched without regard to case or spacing
            "Completed": "delivered", "Delivered": "delivered", "Shipped": "shipped", "In transit": "shipped",
            "Partially shipping": "shipped", "To ship": "pending", "Awaiting shipment": "pending",
            "Awaiting collection": "pending", "On hold": "pending", "Unpaid": "pending", "Cancelled": "cancelled"}},
        "ship_date": "Shipped Time",
        "fulfillment_channel": {"column": "Fulfillment Type", "default": "merchant", "map": {
            "Fulfillment by seller": "merchant", "Fulfilled by seller": "merchant",
            "Fulfillment by TikTok Shop": "platform", "Fulfilled by TikTok Shop": "platform",
            "Fulfilled by TikTok": "platform", "FBT": "platform"}},
    },
    "status_overrides": [{"column": "Cancelation/Return Type", "map": {"Return/Refund": "returned", "Return": "returned"}}],
    "order_level": ["shipping_charged", "tax"],
    "skip_cancelled_refunds": True,  # a cancelled order's money back is no refund (it never was GMV)
    "refunds": {"amount": "Order Refund Amount", "level": "order", "reason": "Cancelation/Return Type"},
    "totals_row": {"column": "Order ID", "values": ["Total", "total", "TOTAL", "合计"]},
}


class TikTokOrders(MappingReader):
    """The TikTok mapping, with the reconciliation's expected money from an independent parse."""

    own_expected = True

    def read(self, path: Path, store: Store) -> ReadResult:
        res = super().read(path, store)
        res.expected_money = tiktok_expected(path)
        return res


def tiktok_expected(path: Path) -> float:
    """Money the file holds, read a second way (csv module + Decimal, not the mapping's pandas parse).

    Gross: the file's own Total row when it has one, else the sum of SKU Subtotal Before Discount over
    its order rows; plus Order Refund Amount once per order that is not cancelled.
    """
    gross, own_total = Decimal(0), None
    refunds: dict[str, Decimal] = {}
    names = ["Order ID", "SKU Subtotal Before Discount", "Order Status", "Order Refund Amount"]
    for _line, (oid, subtotal, status, refund) in fields(path, names, sep=",", quoted=True):
        oid = "" if oid is None else str(oid).strip()
        if oid in TIKTOK["totals_row"]["values"]:  # type: ignore[index]
            own_total = try_money(subtotal)
            continue
        if any(ch.isspace() for ch in oid):  # the column-description line under the header
            continue
        gross += try_money(subtotal)
        if ("" if status is None else str(status).strip()).lower() != "cancelled":
            refunds.setdefault(oid, abs(try_money(refund)))
    return float((own_total if own_total is not None else gross) + sum(refunds.values(), Decimal(0)))


READER = TikTokOrders(Mapping.model_validate(TIKTOK), "built-in")
register_instance(READER)

# ---- TikTok Shop statement (fees), TikTok Ads (ads), shop analytics (traffic) -----------------
# Source: TikTok Shop Seller Center → Finance → Statements → Export (one row per order or adjustment):
# Order/adjustment ID, Type, Order created time, Order settled time, Currency, Total settlement amount,
# Total revenue, …, Total fees, Transaction fee, TikTok Shop commission fee, Seller shipping fee,
# Affiliate commission, Affiliate Shop Ads commission, SFP service fee, … (column names as in public
# sellers' tools, e.g. ComaGear/shopeesalescoverter IncomeTikTokSettlementColumn). Fees are negative
# numbers (a positive cell is a credit); dated by the settlement. Reconciled against the file's own
# ``Total fees`` column.
TIKTOK_STATEMENT = {
    "name": "tiktok_statement",
    "description": "TikTok Shop finance statement export (Order/adjustment ID, Total fees, commission…)",
    "platforms": ["tiktok"],
    "priority": 20,
    "table": "fees",
    "detect": {"required_columns": ["Order/adjustment ID", "Order settled time", "Total fees", "TikTok Shop commission fee"]},
    "date_format": "%Y/%m/%d",
    "decimal": ".",
    "currency_column": "Currency",
    "amount_sign": "negate",
    "columns": {"date": "Order settled time", "order_id": "Order/adjustment ID"},
    "fees": [
        {"column": "TikTok Shop commission fee", "fee_type": "referral"},
        {"column": "Transaction fee", "fee_type": "payment"},
        {"column": "Seller shipping fee", "fee_type": "shipping_label"},
        {"column": "Affiliate commission", "fee_type": "other", "optional": True},
        {"column": "Affiliate Shop Ads commission", "fee_type": "other", "optional": True},
        {"column": "SFP service fee", "fee_type": "other", "optional": True},
    ],
    "reconcile": {"columns": {"Total fees": -1}},
}
# Source: TikTok Ads Manager → Reporting → custom report, breakdown "By Day" (Campaign name, Campaign ID,
# Ad group name, Ad group ID, By Day, Currency, Cost, Impressions, Clicks (destination), CTR
# (destination), CPC (destination), Conversions, Cost per conversion, Total purchase value, Purchase
# ROAS; metric names as in TikTok's reporting metrics glossary).
TIKTOK_ADS = {
    "name": "tiktok_ads",
    "description": "TikTok Ads Manager report by day (Campaign name, By Day, Cost, Total purchase value…)",
    "platforms": ["tiktok"],
    "priority": 20,
    "table": "ads",
    "detect": {"required_columns": ["Campaign name", "By Day", "Cost", "Impressions", "Total purchase value"]},
    "decimal": ".",
    "currency_column": "Currency",
    "columns": {
        "date": "By Day", "campaign": "Campaign name", "ad_group": "Ad group name", "spend": "Cost",
        "impressions": "Impressions", "clicks": "Clicks (destination)", "ad_orders": "Conversions",
        "ad_sales": "Total purchase value",
    },
}
# Source: TikTok Shop Seller Center → Data Compass / Analytics → shop overview export by day (Date, GMV,
# Orders, Items sold, Visitors, Page views, Conversion rate, Customers).
TIKTOK_TRAFFIC = {
    "name": "tiktok_traffic",
    "description": "TikTok Shop analytics by day (Date, GMV, Items sold, Visitors, Page views…)",
    "platforms": ["tiktok"],
    "priority": 20,
    "table": "traffic",
    "detect": {"required_columns": ["Date", "GMV", "Items sold", "Visitors", "Page views"]},
    "date_format": "%m/%d/%Y",
    "decimal": ".",
    "columns": {"date": "Date", "sessions": "Visitors", "page_views": "Page views", "units_ordered": "Items sold",
                "ordered_sales": "GMV"},
}

STATEMENT_READER = register_builtin(TIKTOK_STATEMENT)
ADS_READER = register_builtin(TIKTOK_ADS)
TRAFFIC_READER = register_builtin(TIKTOK_TRAFFIC)
