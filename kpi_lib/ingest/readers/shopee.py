"""Shopee Seller Centre order report (Malaysia/Singapore layout, 57 columns, xlsx or CSV), as a built-in mapping.

One row per order item (→ ``orders``), plus ``fees`` and ``refunds``:

- ``gross_sales`` = ``Product Subtotal`` = Deal Price × Quantity (the real report: 6.00 × 2 = 12.00).
  ``Original Price`` is the strike-through list price the buyer never paid, so it is not used.
  ``discounts`` = ``Seller Discount`` (seller-funded, per line; ``Seller Rebate`` repeats the same
  money, so it is not added again). ``Seller Voucher`` is a per-order, seller-funded voucher: a
  ``promotion`` fee, once per order.
- Commission, Transaction and Service Fee (→ referral, payment, other) are order-level amounts
  repeated on every line of the order: taken once, on the order's first line, dated by the order.
  The report shows them on cancelled orders too, as estimates never charged, so cancelled orders
  carry no fees (and none are expected in the reconciliation).
- Status: Completed → delivered, Shipping → shipped, To ship/Unpaid → pending, Cancelled →
  cancelled; a line whose ``Return / Refund Status`` is an approved request is ``returned``.
- Refund: Returned quantity × Deal Price, per line, dated by the order.
- Cancelled orders may have no creation date: they are dated by their estimated ship-out date (they
  count in no GMV, only in cancellation rates). ``Buyer Paid Shipping Fee`` is taken once per order.
- Reconciliation: expected money is read a second way (``ingest.independent``: zipfile + XML
  streaming / csv module and Decimal) from the same columns, so a parse that loses or bends money shows as a difference.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from ..base import ReadResult, Store
from ..independent import fields, try_money
from ..registry import register_instance
from .mapping import Mapping, MappingReader, register_builtin

SHOPEE = {
    "name": "shopee_orders",
    "description": "Shopee order report (Order ID, Order Status, Product Subtotal, Commission Fee…)",
    "platforms": ["shopee"],
    "priority": 20,
    "detect": {"required_columns": ["Order ID", "Order Status", "Order Creation Date", "Product Subtotal", "Commission Fee"]},
    "date_format": "%Y-%m-%d %H:%M",
    "decimal": ".",
    "columns": {
        "order_id": "Order ID",
        "sku": {"column": "SKU Reference No.", "fallback": "Parent SKU Reference No."},
        "line_id": {"column": "SKU Reference No.", "fallback": "Parent SKU Reference No."},
        "order_date": {"column": "Order Creation Date", "fallback": "Estimated Ship Out Date"},
        "quantity": "Quantity",
        "gross_sales": "Product Subtotal",
        "discounts": "Seller Discount",
        "shipping_charged": "Buyer Paid Shipping Fee",
        "status": {"column": "Order Status", "map": {
            # matched without regard to case or spacing
            "Completed": "delivered", "Delivered": "delivered", "Shipping": "shipped", "Shipped": "shipped",
            "To receive": "shipped", "To ship": "pending", "Unpaid": "pending", "Cancelled": "cancelled",
            "To return": "returned", "Return/Refund": "returned"}},
        "ship_date": "Ship Time",
        "promised_ship_date": "Estimated Ship Out Date",
        "fulfillment_channel": {"default": "merchant"},
    },
    # a completed order whose return/refund request was approved is a returned line
    "status_overrides": [{"column": "Return / Refund Status", "map": {
        "Request Approved": "returned", "Refund Paid": "returned", "Return Approved": "returned"}}],
    "order_level": ["shipping_charged"],
    "skip_cancelled_fees": True,
    "fees": [
        {"column": "Commission Fee", "fee_type": "referral", "level": "order"},
        {"column": "Transaction Fee", "fee_type": "payment", "level": "order"},
        {"column": "Service Fee", "fee_type": "other", "level": "order"},
        {"column": "Seller Voucher", "fee_type": "promotion", "level": "order"},
    ],
    "skip_cancelled_refunds": True,  # a cancelled order's money back is no refund (it never was GMV)
    "refunds": {"amount": "Deal Price", "multiply_by": "Returned quantity", "quantity": "Returned quantity", "level": "line"},
}


class ShopeeOrders(MappingReader):
    """The Shopee mapping, with the reconciliation's expected money from an independent parse."""

    own_expected = True

    def read(self, path: Path, store: Store) -> ReadResult:
        res = super().read(path, store)
        res.expected_money = shopee_expected(path)
        return res


ORDER_FEES = [f["column"] for f in SHOPEE["fees"]]  # type: ignore[index]


def _text(v: object) -> str:
    return "" if v is None else str(v).strip()


def shopee_expected(path: Path) -> float:
    """Money the file holds, read a second way (stdlib xlsx / csv module + Decimal, not the mapping's parse).

    Product Subtotal of every line; the order-level fees (Commission, Transaction, Service, Seller
    Voucher) once per order that is not cancelled; Deal Price × Returned quantity per line of an order
    that is not cancelled.
    """
    total = Decimal(0)
    fee_orders: set[str] = set()
    read = {"header_has": "Order ID"} if path.suffix.lower() == ".xlsx" else {"sep": ",", "quoted": True}
    names = ["Order ID", "Product Subtotal", "Order Status", "Deal Price", "Returned quantity", *ORDER_FEES]
    for _line, (oid, subtotal, status, deal, returned, *fees) in fields(path, names, **read):  # type: ignore[arg-type]
        oid = _text(oid)
        total += try_money(subtotal)
        if _text(status).lower() == "cancelled":
            continue
        if oid not in fee_orders:
            fee_orders.add(oid)
            total += sum((abs(try_money(c)) for c in fees), Decimal(0))
        total += abs(try_money(deal) * try_money(returned))
    return float(total)


READER = ShopeeOrders(Mapping.model_validate(SHOPEE), "built-in")
register_instance(READER)

# ---- Shopee Ads and Business Insights (ads, traffic) ------------------------------------------
# Sources: the Shopee Ads "Product Ads" export (Seller Centre → Marketing Centre → Shopee Ads →
# Export): report lines (User Name, Shop Name, Shop ID, Report Creation Time, Time Period) and a blank
# line before the header; columns Ad Name, Status, Ads Type, Product ID, Bidding Method, Placement,
# Impression, Clicks, CTR, Conversions, Direct Conversions, Conversion Rate, Cost per Conversion,
# Items Sold, Direct Items Sold, GMV, Direct GMV, Expense, ROAS, ACOS (as listed by public sellers'
# tools, e.g. the ads-dashboard notes that translate the 31-column export, and Shopee's Seller
# Education Hub). The demo writes the daily breakdown: one row per ad per day, with a Date column.
SHOPEE_ADS = {
    "name": "shopee_ads",
    "description": "Shopee Ads product-ad report (Ad Name, Impression, Clicks, Expense, GMV…)",
    "platforms": ["shopee"],
    "priority": 20,
    "table": "ads",
    "header_row": 8,
    "detect": {"required_columns": ["Ad Name", "Impression", "Clicks", "Expense", "GMV"]},
    "date_format": "%d/%m/%Y",
    "dayfirst": True,
    "decimal": ".",
    "columns": {
        "date": "Date", "campaign": "Ad Name", "ad_group": "Product ID", "impressions": "Impression",
        "clicks": "Clicks", "spend": "Expense", "ad_sales": "GMV", "ad_orders": "Conversions", "ad_units": "Items Sold",
    },
}
# Source: Shopee Business Insights → Key Metrics export (daily rows: Date, Sales, Orders, Sales per
# Order, Product Clicks, Visitors, Order Conversion Rate, Cancelled Orders, Buyers). Visitors are the
# shop's sessions; Product Clicks its product page views; Sales reconcile against the file.
SHOPEE_TRAFFIC = {
    "name": "shopee_traffic",
    "description": "Shopee Business Insights key metrics by day (Date, Sales, Product Clicks, Visitors…)",
    "platforms": ["shopee"],
    "priority": 20,
    "table": "traffic",
    "detect": {"required_columns": ["Date", "Sales", "Product Clicks", "Visitors", "Order Conversion Rate"]},
    "date_format": "%d/%m/%Y",
    "dayfirst": True,
    "decimal": ".",
    "columns": {"date": "Date", "sessions": "Visitors", "page_views": "Product Clicks", "ordered_sales": "Sales"},
}

ADS_READER = register_builtin(SHOPEE_ADS)
TRAFFIC_READER = register_builtin(SHOPEE_TRAFFIC)
