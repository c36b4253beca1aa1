"""The one cent rule (``kpi_lib.money``): halves away from zero, float noise does not decide the cent."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kpi_lib.money import cents, decimal


@pytest.mark.parametrize(("x", "want"), [
    (15438.204999999998, D("15438.21")),  # the same contribution summed in another order (found in the engine)
    (15438.205, D("15438.21")),
    (15438.205000000002, D("15438.21")),
    (-15438.204999999998, D("-15438.21")),  # halves away from zero
    (0.125, D("0.13")), (-0.125, D("-0.13")), (0.124999, D("0.12")), (2.675, D("2.68")),
    (D("0.0049999999"), D("0.00")),  # a Decimal is exact: no noise to drop
    (D("0.005"), D("0.01")), (None, D("0.00")), (float("nan"), D("0.00")), (3, D("3.00")),
])
def test_cents_rounds_halves_up_and_drops_float_noise(x, want) -> None:
    assert cents(x) == want and str(cents(x)) == str(want)


def test_decimal_keeps_a_millionth_and_drops_what_is_below() -> None:
    assert decimal(0.1) == D("0.100000") and decimal(1e-7) == D("0.000000") and decimal(2.0000005) == D("2.000000")
    assert decimal(-341126.38499999996) == D("-341126.385000")
