"""Shopify admin orders export (CSV), as a built-in mapping.

One row per line item; order totals (shipping, taxes, discount, refunded amount, currency,
financial status) only on an order's first line. ``Created at`` carries a UTC offset
(``2026-04-04 14:49:57 +0500``) and is converted to the store's time zone.

- ``order_id`` = Name, ``line_id`` = the line's index in the order, ``sku`` = Lineitem sku (else
  Lineitem name), ``gross_sales`` = Lineitem price × Lineitem quantity; Discount Amount, Shipping and
  Taxes on the order's first line (counted once). The export has no fees.
- Status: ``Cancelled at`` → cancelled; Financial Status refunded → returned, voided → cancelled;
  otherwise the line's fulfillment status (fulfilled → shipped, pending/unfulfilled → pending).
- Refunded Amount (first line) → one ``refunds`` row per order, dated Paid at (else Created at);
  not for cancelled orders (their money back is a cancellation, already out of GMV).
"""

from __future__ import annotations

from .mapping import register_builtin

SHOPIFY = {
    "name": "shopify_orders",
    "description": "Shopify orders export (Name, Lineitem quantity, Lineitem price, Created at…)",
    "platforms": ["shopify"],
    "priority": 20,
    "detect": {"required_columns": ["Name", "Financial Status", "Lineitem quantity", "Lineitem price", "Created at"]},
    "decimal": ".",
    "currency_column": "Currency",
    "columns": {
        "order_id": "Name",
        "sku": {"column": "Lineitem sku", "fallback": "Lineitem name"},
        "order_date": "Created at",
        "quantity": "Lineitem quantity",
        "unit_price": {"column": "Lineitem price", "multiply_by": "Lineitem quantity"},
        "discounts": "Discount Amount",
        "shipping_charged": "Shipping",
        "tax": "Taxes",
        "status": {"column": "Lineitem fulfillment status", "map": {
            "fulfilled": "shipped", "pending": "pending", "unfulfilled": "pending", "partial": "shipped",
            "restocked": "returned"}, "default": "pending"},
        "ship_date": "Fulfilled at",
        "fulfillment_channel": {"default": "merchant"},
    },
    "order_level": ["discounts", "shipping_charged", "tax"],
    "cancelled_if": "Cancelled at",
    # order-level (first line only): a fully refunded order is returned, a voided one cancelled
    "status_overrides": [{"column": "Financial Status", "level": "order",
                          "map": {"refunded": "returned", "voided": "cancelled"}}],
    "skip_cancelled_refunds": True,  # a cancelled order's money back is no refund (it never was GMV)
    "refunds": {"amount": "Refunded Amount", "level": "order", "date": "Paid at"},
}

READER = register_builtin(SHOPIFY)
