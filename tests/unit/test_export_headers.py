"""Export column headers: a field's title with its unit, said once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from engine.exports.tables import header_of


@pytest.mark.parametrize("title, unit, header", [
    ("户籍总人口", "人", "户籍总人口（人）"),
    ("年龄（周岁）", "岁", "年龄（周岁）"),  # the title already says it
    ("耕地面积（亩）", "亩", "耕地面积（亩）"),
    ("收入（万元，不含补贴）", "元", "收入（万元，不含补贴）（元）"),  # "元" inside, but the title's unit is another
    ("村（社区）名称", None, "村（社区）名称"),
])
def test_the_unit_is_said_once(title, unit, header):
    field = SimpleNamespace(path=("x", "y"), title=title, unit=unit)
    assert header_of(field, {}) == header
