from collections import Counter

import pytest

from engine.orgs import code_problem, generate_province, level_of, parent_of, prefix_of
from engine.roles import Level


@pytest.mark.parametrize(
    ("code", "level", "parent", "prefix"),
    [
        ("390000000000", Level.PROVINCE, None, "39"),
        ("390100000000", Level.CITY, "390000000000", "3901"),
        ("390121000000", Level.COUNTY, "390100000000", "390121"),
        ("390121101000", Level.TOWNSHIP, "390121000000", "390121101"),
        ("390121101201", Level.VILLAGE, "390121101000", "390121101201"),
        ("390102001001", Level.VILLAGE, "390102001000", "390102001001"),
    ],
)
def test_levels_parents_and_prefixes(code, level, parent, prefix):
    assert level_of(code) == level
    assert parent_of(code) == parent
    assert prefix_of(code) == prefix


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("39012110120", "12位数字"),
        ("39012110120X", "12位数字"),
        ("000000000000", "前两位"),
        ("390121601000", "乡级代码"),
        ("390121101601", "村级代码"),
        ("390121000201", "必须属于一个乡级单位"),
    ],
)
def test_bad_codes_are_explained_in_chinese(code, reason):
    assert reason in code_problem(code)


def test_good_code_has_no_problem():
    assert code_problem("390121101201") is None


def test_generator_produces_province_scale_counts():
    rows = list(generate_province())
    levels = Counter(level_of(r.code) for r in rows)
    assert levels == {
        Level.PROVINCE: 1,
        Level.CITY: 11,
        Level.COUNTY: 90,
        Level.TOWNSHIP: 1500,
        Level.VILLAGE: 35065,
    }
    assert all(code_problem(r.code) is None for r in rows)
    assert len({r.code for r in rows}) == len(rows)
    # every parent is generated before its children
    seen = set()
    for r in rows:
        parent = parent_of(r.code)
        assert parent is None or parent in seen
        seen.add(r.code)


def test_generator_is_deterministic():
    assert list(generate_province(villages=50, townships=5, counties=2, cities=1)) == list(
        generate_province(villages=50, townships=5, counties=2, cities=1)
    )
