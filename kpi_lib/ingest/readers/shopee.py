"""Shopee Seller Centre order report (Malaysia/Singapore layout, xlsx or CSV), as a built-in mapping.

One row per order item. ``Product Subtotal`` is the deal price × quantity (gross sales);
``Seller Discount`` is the seller-funded line discount and ``Seller Voucher`` a per-order voucher.
Commission, transaction and service fees are order-level amounts repeated on every line, so they
are taken once per order. Returned quantity × deal price is the line's refund. Cancelled orders may have no creation date:
they are dated by their estimated ship-out date (they count in no GMV, only in cancellation rates).
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
            "Completed": "delivered", "Shipping": "shipped", "Shipped": "shipped", "To ship": "pending",
            "To Ship": "pending", "Unpaid": "pending", "Cancelled": "cancelled", "To return": "returned",
            "Return/Refund": "returned"}},
        "ship_date": "Ship Time",
        "promised_ship_date": "Estimated Ship Out Date",
        "fulfillment_channel": {"default": "seller"},
    },
    "order_level": ["shipping_charged"],
    "fees": [
        {"column": "Commission Fee", "fee_type": "referral", "level": "order"},
        {"column": "Transaction Fee", "fee_type": "payment", "level": "order"},
        {"column": "Service Fee", "fee_type": "other", "level": "order"},
        {"column": "Seller Voucher", "fee_type": "promotion", "level": "order"},
    ],
    "refunds": {"amount": "Deal Price", "multiply_by": "Returned quantity", "quantity": "Returned quantity", "level": "line"},
}

READER = register_builtin(SHOPEE)
