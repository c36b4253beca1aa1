"""TikTok Shop order export (CSV), as a built-in mapping.

Real exports carry a second line of column descriptions under the header ("Platform unique order
ID."): it is not a data row. Times are local (``07/16/2026 10:23:45 AM``). Shipping, taxes and the
refund are order-level amounts repeated on every line of the order: taken once per order.
"""

from __future__ import annotations

from .mapping import register_builtin

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
            "Completed": "delivered", "Delivered": "delivered", "Shipped": "shipped", "In transit": "shipped",
            "To ship": "pending", "Awaiting shipment": "pending", "Awaiting collection": "pending",
            "Unpaid": "pending", "Cancelled": "cancelled"}},
        "ship_date": "Shipped Time",
        "fulfillment_channel": {"column": "Fulfillment Type", "default": "seller"},
    },
    "order_level": ["shipping_charged", "tax"],
    "refunds": {"amount": "Order Refund Amount", "level": "order", "reason": "Cancelation/Return Type"},
    "totals_row": {"column": "Order ID", "values": ["Total", "total", "TOTAL", "合计"]},
}

READER = register_builtin(TIKTOK)
