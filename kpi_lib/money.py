"""Money in cents: the one rounding rule for every amount a report shows, a waterfall adds up or a
contract settles (``costs``, ``settlement``, ``scorecard``).

Amounts are rounded to cents ROUND_HALF_UP (halves away from zero). A float is read through its
shortest repr and first rounded to a millionth: the engine sums floats, and the same figure summed in
another order (``metrics.compute`` against ``compute_long``, one store against a store set) can land
on either side of a half cent (``15438.204999999998`` against ``15438.205``). Without that step the
two would show different cents; a real amount is never within a millionth of a half cent by more than
such noise. A Decimal is exact and rounded as it is.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
#: float noise below this is not money (see the module docstring)
NOISE = Decimal("0.000001")


def decimal(x: float) -> Decimal:
    """A float as a Decimal: its shortest repr, to the millionth (float noise dropped)."""
    return Decimal(repr(float(x))).quantize(NOISE, rounding=ROUND_HALF_EVEN)


def cents(x: Any) -> Decimal:
    """``x`` rounded to cents ROUND_HALF_UP; None and NaN are 0 (callers that must tell unknown from 0
    check before)."""
    if isinstance(x, Decimal):
        return x.quantize(CENT, rounding=ROUND_HALF_UP)
    if x is None or math.isnan(float(x)):
        return Decimal("0.00")
    return decimal(x).quantize(CENT, rounding=ROUND_HALF_UP)


def money_sum(expr: str, where: str | None = None) -> str:
    """SQL ``sum(expr)`` of a money expression, exact and order-independent: each row is cast to
    DECIMAL(38,10) before summing, so the total does not depend on how DuckDB's threads split the rows
    (a DOUBLE sum does: the same month's duties came out 3765.39 in one run and 3765.40 in the next; an
    ingest's ``data_gaps`` month totals differed in their last bits between two runs of the same files)."""
    agg = f"sum(CAST({expr} AS DECIMAL(38,10)))" + (f" FILTER (WHERE {where})" if where else "")
    return f"CAST({agg} AS DOUBLE)"
