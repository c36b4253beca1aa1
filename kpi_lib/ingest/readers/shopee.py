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
"""

from __future__ import annotations

from .mapping import register_builtin

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

READER = register_builtin(SHOPEE)
