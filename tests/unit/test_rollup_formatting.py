"""How roll-up figures read: 四舍五入 on the pages, a change's sign over a negative base, exact JSON."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.rollups import format_number, format_percent, json_number
from engine.rollups.compare import ComparisonRow


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("0.10005"), "0.1001"),  # half up; Decimal's own :.4f made it 0.1 (half to even)
    (Decimal("0.00025"), "0.0003"),
    (Decimal("0.00005"), "0.0001"),
    (Decimal("-0.00005"), "-0.0001"),
    (Decimal("1000000000012569.688"), "1,000,000,000,012,569.688"),
    (Decimal("12.3000"), "12.3"),
    (Decimal("5"), "5"),
    (1203, "1,203"),
    (None, "—"),
])
def test_format_number_rounds_half_up(value, shown):
    assert format_number(value) == shown


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("0.05"), "+0.1%"),
    (Decimal("-0.05"), "-0.1%"),
    (Decimal("50"), "+50.0%"),
    (Decimal("3333333333374385.69"), "+3333333333374385.7%"),
    (None, ""),
])
def test_format_percent(value, shown):
    assert format_percent(value) == shown


def _row(current, previous):
    return ComparisonRow(key="k", section="s", label="最低", unit=None, current=current, previous=previous,
                         comparable=True, note=None, old_keys=("k",))


@pytest.mark.parametrize(("current", "previous", "pct"), [
    (Decimal("-1"), Decimal("-2"), Decimal("50")),  # up from -2 to -1: a rise, +50 %
    (Decimal("-3.5"), Decimal("-2"), Decimal("-75")),  # down from -2 to -3.5: a fall
    (Decimal("150"), Decimal("100"), Decimal("50")),
    (Decimal("50"), Decimal("100"), Decimal("-50")),
])
def test_change_pct_follows_the_change_over_a_negative_base(current, previous, pct):
    row = _row(current, previous)
    assert row.change_pct == pct
    assert (row.change_pct > 0) == (row.change > 0)


def test_no_change_pct_from_zero():
    assert _row(Decimal("5"), Decimal("0")).change_pct is None


def test_json_number_keeps_every_digit():
    assert json_number(Decimal("999999999999999.01")) == Decimal("999999999999999.01")
    assert json_number(Decimal("7.000")) == 7 and isinstance(json_number(Decimal("7.000")), int)
    assert json_number(None) is None
