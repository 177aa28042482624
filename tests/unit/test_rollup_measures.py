"""The approval listener's fast path (``report_values`` + ``combine``) against the reference
(``document_stats`` merged report by report), on random documents with every aggregate kind and every
kind of missing, blank or malformed value."""

from __future__ import annotations

import random
from functools import reduce
from typing import Any

import pytest

from engine.definitions import load_indicator_set
from engine.rollups.measures import combine, document_stats, measures_of, merge, plan_of, report_values

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "汇总快速路径测试表",
    "type": "object",
    "x-period": "year",
    "properties": {
        "stats": {
            "type": "object",
            "title": "统计",
            "properties": {
                "beds": {"type": "integer", "title": "床位数", "minimum": 0},
                "coverage": {"type": "number", "title": "覆盖率", "x-aggregate": "avg"},
                "lowest": {"type": "number", "title": "最低价", "x-aggregate": "min"},
                "highest": {"type": "number", "title": "最高价", "x-aggregate": "max"},
                "contact": {"type": "string", "title": "联系人", "x-aggregate": "count"},
                "deep": {
                    "type": "object",
                    "title": "下级",
                    "properties": {"area": {"type": "number", "title": "面积"}},
                },
            },
        },
        "people": {
            "type": "array",
            "title": "人员",
            "items": {
                "type": "object",
                "title": "人员",
                "properties": {
                    "name": {"type": "string", "title": "姓名", "x-aggregate": "count"},
                    "age": {"type": "integer", "title": "年龄", "x-aggregate": "avg"},
                    "allowance": {"type": "number", "title": "补贴"},
                    "lowest": {"type": "number", "title": "最低补贴", "x-aggregate": "min"},
                    "highest": {"type": "number", "title": "最高补贴", "x-aggregate": "max"},
                },
            },
        },
    },
}


def _value(rng: random.Random) -> Any:
    return rng.choice([
        rng.randint(-50, 500), rng.randint(0, 10**12), round(rng.uniform(-100, 1000), rng.randint(0, 3)),
        5, 5.0, 0, 0.0, 1e-7, True, False, None, "", "12", [], {},
    ])


def _doc(rng: random.Random) -> Any:
    shape = rng.random()
    if shape < 0.03:
        return rng.choice([None, {}, [], "x"])
    stats: Any = {key: _value(rng) for key in ("beds", "coverage", "lowest", "highest", "contact")
                  if rng.random() < 0.85}
    stats["deep"] = rng.choice([{"area": _value(rng)}, {}, None, 3])
    if rng.random() < 0.05:
        stats = rng.choice([None, [], "x"])
    row_keys = ("name", "age", "allowance", "lowest", "highest")
    people: Any = [
        rng.choice([{key: _value(rng) for key in row_keys if rng.random() < 0.8}, None, "row", []])
        for _ in range(rng.choice([0, 0, 1, 2, 5]))
    ]
    if rng.random() < 0.05:
        people = rng.choice([None, {}, "x", 3])
    return {"stats": stats, "people": people}


@pytest.mark.parametrize("seed", range(40))
def test_fast_path_equals_document_stats_merged_report_by_report(seed):
    measures = measures_of(load_indicator_set(SCHEMA, code="fast_path", version=1))
    assert {m.aggregate for m in measures} >= {"sum", "avg", "count", "min", "max", "rows"}
    assert any(m.rows for m in measures if m.aggregate in {"min", "max", "count"})
    plan = plan_of(measures)
    rng = random.Random(seed)
    docs = [_doc(rng) for _ in range(rng.choice([1, 2, 7, 60]))]

    expected: dict = reduce(
        lambda acc, stats: {**acc, **{k: merge(acc.get(k), s) for k, s in stats.items()}},
        (document_stats(measures, d) for d in docs), {},
    )
    got = combine(plan, [report_values(plan, d) for d in docs])
    assert got == expected
    # the same decimals, not only equal values (scale included: 5.0 stays 5.0, 3 stays 3)
    def text(stats: dict) -> dict:
        return {k: tuple(map(str, s)) for k, s in stats.items()}

    assert text(got) == text(expected)


def test_no_reports_combine_to_nothing():
    plan = plan_of(measures_of(load_indicator_set(SCHEMA, code="fast_path", version=1)))
    assert combine(plan, []) == {}
