"""Totals people read are tonnes of CO2eq, rounded half up, never truncated (SPEC §15)."""

import pytest

from webapp.views.formatting import tonnes


@pytest.mark.parametrize(("kg", "shown"), [
    (6_719_951.4, "6,719.95"),
    (1235, "1.24"),  # half up, not to even, not truncated
    (1234.999, "1.23"),
    (1239.99, "1.24"),
    (0, "0.00"),
    (-2500, "-2.50"),
    (None, "–"),
    ("not a number", "–"),
    (float("nan"), "–"),
])
def test_tonnes(kg, shown):
    assert tonnes(kg) == shown
