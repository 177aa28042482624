"""A synthetic 180-field indicator set (12 sections x 15 numeric fields) and documents for it.

Each section has 14 parts and a total; a hard rule per section checks the sum and another that the
first part is not larger than the total, a soft rule the second part's share: the largest form a
county department is expected to publish, with rules in the same proportion as the shipped set.
"""

from __future__ import annotations

import random
from typing import Any

from engine.definitions import IndicatorSet, load_indicator_set

SECTIONS = 12
PARTS = 14  # + 1 total per section = 15 fields; 12 x 15 = 180
CODE = "bench_synthetic_180"


def _part(section: int, part: int) -> str:
    return f"s{section:02d}_p{part:02d}"


def _total(section: int) -> str:
    return f"s{section:02d}_total"


def _is_amount(part: int) -> bool:
    return part % 2 == 0  # every other part is an amount in 万元 with two decimals, the rest are counts


def synthetic_definition(sections: int = SECTIONS, parts: int = PARTS) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    rules: list[dict[str, Any]] = []
    for s in range(1, sections + 1):
        fields: dict[str, Any] = {}
        for p in range(1, parts + 1):
            fields[_part(s, p)] = (
                {"type": "number", "title": f"第{s}部分 金额{p}", "minimum": 0, "x-unit": "万元"}
                if _is_amount(p)
                else {"type": "integer", "title": f"第{s}部分 数量{p}", "minimum": 0, "x-unit": "个"}
            )
        fields[_total(s)] = {"type": "number", "title": f"第{s}部分 合计", "minimum": 0}
        properties[f"section_{s:02d}"] = {
            "type": "object",
            "title": f"第{s}部分",
            "properties": fields,
            "required": [_total(s), _part(s, 1)],
        }
        addends = " + ".join(_part(s, p) for p in range(1, parts + 1))
        rules += [
            {"id": f"s{s:02d}_sum", "expr": f"abs({addends} - {_total(s)}) < 0.01", "severity": "hard",
             "message": f"第{s}部分各项之和应等于合计", "fields": [f"section_{s:02d}.{_total(s)}"]},
            {"id": f"s{s:02d}_first_le_total", "expr": f"{_part(s, 1)} <= {_total(s)}", "severity": "hard",
             "message": f"第{s}部分第1项不能大于合计", "fields": [f"section_{s:02d}.{_part(s, 1)}"]},
            {"id": f"s{s:02d}_second_share", "expr": f"{_part(s, 2)} <= {_total(s)} * 0.9", "severity": "soft",
             "message": f"第{s}部分第2项占合计比例过高，请核实", "fields": [f"section_{s:02d}.{_part(s, 2)}"]},
        ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "基准测试合成指标集（180项）",
        "description": "grassroots bench 生成的 180 个数值字段，用于测量大表单的校验与渲染。",
        "type": "object",
        "x-code": CODE,
        "x-version": 1,
        "x-period": "year",
        "properties": properties,
        "required": [f"section_{s:02d}" for s in range(1, sections + 1)],
        "x-rules": rules,
    }


def load_synthetic() -> IndicatorSet:
    return load_indicator_set(synthetic_definition(), source=f"bench:{CODE}")


def synthetic_document(seed: str, sections: int = SECTIONS, parts: int = PARTS) -> dict[str, Any]:
    rng = random.Random(seed)
    doc: dict[str, Any] = {}
    for s in range(1, sections + 1):
        values = {
            _part(s, p): (rng.randint(0, 500_000) / 100 if _is_amount(p) else rng.randint(0, 2000))
            for p in range(1, parts + 1)
        }
        # Sum in integer cents: the total is exact to the cent whatever the float sum rounds to.
        cents = sum(round(v * 100) for v in values.values())
        doc[f"section_{s:02d}"] = {**values, _total(s): cents / 100}
    return doc


def synthetic_documents(codes: list[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(code, synthetic_document(f"{CODE}-{code}")) for code in codes]
