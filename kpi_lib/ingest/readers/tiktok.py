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

READER = register_builtin(TIKTOK)
