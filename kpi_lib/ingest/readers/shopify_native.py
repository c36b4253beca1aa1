"""Shopify exports other than orders, as built-in mappings: Shopify Payments transactions (fees) and
the "Sessions over time" analytics report (traffic). (The orders export is ``shopify.py``.)"""

from __future__ import annotations

from .mapping import register_builtin

# Source: Shopify admin → Settings → Payments → View payouts → Transactions → Export (Transaction Date,
# Type (charge / refund / adjustment / chargeback), Order, Card Brand, Card Source, Payout Status,
# Payout Date, Available On, Amount, Fee, Net, Currency; Shopify Help Center "Shopify Payments
# payouts"). Fee is the processing fee (2.9% + 0.30 on the Basic plan, US cards); Net = Amount − Fee,
# so the loaded fees reconcile against the file's own Amount − Net. A refund row has no fee: it loads
# as a zero-amount fee row (read and counted, no money).
SHOPIFY_PAYMENTS = {
    "name": "shopify_payments",
    "description": "Shopify Payments transactions export (Transaction Date, Type, Order, Amount, Fee, Net…)",
    "platforms": ["shopify"],
    "priority": 20,
    "table": "fees",
    "detect": {"required_columns": ["Transaction Date", "Type", "Order", "Amount", "Fee", "Net"]},
    "decimal": ".",
    "currency_column": "Currency",
    "amount_sign": "as_is",
    "columns": {"date": "Transaction Date", "order_id": "Order"},
    "fees": [{"column": "Fee", "fee_type": "payment"}],
    "reconcile": {"columns": {"Amount": 1, "Net": -1}},
}
# Source: Shopify admin → Analytics → Reports → "Sessions over time" export (Day, Online store visitors,
# Sessions, Sessions with cart additions, Sessions that reached checkout, Sessions that completed
# checkout, Conversion rate), as public Shopify KPI exports show (e.g. goodrsunglasses/mozartdata).
SHOPIFY_SESSIONS = {
    "name": "shopify_sessions",
    "description": "Shopify analytics Sessions over time (Day, Online store visitors, Sessions…)",
    "platforms": ["shopify"],
    "priority": 20,
    "table": "traffic",
    "detect": {"required_columns": ["Day", "Online store visitors", "Sessions"]},
    "decimal": ".",
    "columns": {"date": "Day", "sessions": "Sessions"},
}

PAYMENTS_READER = register_builtin(SHOPIFY_PAYMENTS)
SESSIONS_READER = register_builtin(SHOPIFY_SESSIONS)
