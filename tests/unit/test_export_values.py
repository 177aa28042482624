"""CSV cells: numbers in plain digits, formulas defused."""

from __future__ import annotations

import pytest

from engine.exports.writers import _csv_value


@pytest.mark.parametrize(("value", "cell"), [
    (5e-05, "0.00005"),  # Python's str is 5e-05, which a spreadsheet may take for text
    (1e20, "100000000000000000000"),
    (0.1, "0.1"),
    (-2.5, "-2.5"),
    (1203, 1203),
    ("=1+1", "'=1+1"),
    ("溪口村", "溪口村"),
    (None, None),
])
def test_csv_cells(value, cell):
    assert _csv_value(value) == cell
