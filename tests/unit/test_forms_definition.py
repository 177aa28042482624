"""A small indicator set covering every field kind, shared by the forms and validation tests."""

from __future__ import annotations

import copy
from typing import Any

from engine.definitions import load_indicator_set

SAMPLE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "村级基本情况（测试）",
    "x-code": "village_test",
    "x-version": 1,
    "x-period": "year",
    "type": "object",
    "required": ["report_year", "division_code", "has_dibao", "dibao_households", "population"],
    "properties": {
        "report_year": {"type": "integer", "title": "报告年度", "x-unit": "年", "minimum": 2000, "maximum": 2100},
        "division_code": {"type": "string", "title": "统计用区划代码", "description": "12 位数字，村级代码",
                          "pattern": "^[0-9]{12}$"},
        "unit_kind": {"type": "string", "title": "村/社区",
                      "oneOf": [{"const": "village", "title": "村"}, {"const": "community", "title": "社区"}]},
        "urban_rural_class": {"type": "string", "title": "城乡分类代码",
                              "enum": ["111", "112", "121", "122", "123", "210", "220"]},
        "report_date": {"type": "string", "format": "date", "title": "报出日期"},
        "filler_email": {"type": "string", "format": "email", "title": "电子邮箱"},
        "has_dibao": {"type": "boolean", "title": "是否有低保户"},
        "dibao_households": {"type": "integer", "title": "低保户数", "x-unit": "户", "minimum": 0,
                             "x-relevant": "has_dibao == True"},
        "note": {"type": "string", "title": "备注", "x-widget": "textarea", "maxLength": 20},
        "population": {
            "type": "object",
            "title": "人口",
            "required": ["pop_total", "pop_male", "pop_female"],
            "properties": {
                "pop_total": {"type": "integer", "title": "户籍总人口", "x-unit": "人", "minimum": 0},
                "pop_male": {"type": "integer", "title": "男", "x-unit": "人", "minimum": 0},
                "pop_female": {"type": "integer", "title": "女", "x-unit": "人", "minimum": 0},
                "household_total": {"type": "integer", "title": "总户数", "x-unit": "户", "minimum": 0},
                "avg_size": {"type": "number", "title": "平均每户人数", "x-unit": "人", "multipleOf": 0.01,
                             "x-calculate": "round(pop_total / household_total, 2)", "x-aggregate": "avg"},
            },
        },
        "land": {
            "type": "object",
            "title": "集体农用地",
            "x-grid": {"row_total": True, "column_total": True},
            "properties": {
                "cultivated": {"type": "object", "title": "耕地", "properties": {
                    "owned": {"type": "number", "title": "自营", "x-unit": "亩", "minimum": 0, "multipleOf": 0.01},
                    "leased": {"type": "number", "title": "流转", "x-unit": "亩", "minimum": 0, "multipleOf": 0.01},
                }},
                "forest": {"type": "object", "title": "林地", "properties": {
                    "owned": {"type": "number", "title": "自营", "x-unit": "亩", "minimum": 0, "multipleOf": 0.01},
                    "leased": {"type": "number", "title": "流转", "x-unit": "亩", "minimum": 0, "multipleOf": 0.01},
                }},
            },
        },
        "cutoff_date": {"type": "string", "format": "date", "title": "年龄计算截止日"},
        "elders": {"type": "array", "title": "高龄老人花名册", "maxItems": 50, "items": {"$ref": "#/$defs/elder"}},
    },
    "$defs": {
        "elder": {
            "type": "object",
            "title": "老人",
            "required": ["name", "id_number", "status", "change_date"],
            "properties": {
                "name": {"type": "string", "title": "姓名", "minLength": 2, "maxLength": 20, "x-sensitive": "personal"},
                "id_number": {"type": "string", "title": "公民身份号码", "pattern": "^[0-9]{17}[0-9X]$",
                              "x-sensitive": "id_number"},
                "age": {"type": "integer", "title": "年龄", "x-unit": "岁",
                        "x-calculate": "age(id_birth_date(id_number), cutoff_date)"},
                "status": {"type": "string", "title": "状态", "enum": ["新增", "续发", "死亡核减", "迁出"],
                           "x-widget": "radio"},
                "change_date": {"type": "string", "format": "date", "title": "变动日期", "x-relevant": "status != '续发'"},
            },
            "x-rules": [
                {"id": "elder_age", "expr": "age >= 80", "message": "年龄须满 80 周岁", "severity": "hard",
                 "fields": ["elders.age", "elders.id_number"]},
            ],
        },
    },
    "x-rules": [
        {"id": "pop_sex_sum", "expr": "pop_male + pop_female == pop_total", "message": "男、女人数之和应等于户籍总人口",
         "severity": "hard", "fields": ["population.pop_total", "population.pop_male"]},
        {"id": "hh_le_pop", "expr": "household_total <= pop_total", "message": "总户数一般不超过户籍总人口，请核实",
         "severity": "soft", "fields": ["population.household_total"]},
    ],
}

VALID: dict[str, Any] = {
    "report_year": 2024,
    "division_code": "390121201201",
    "unit_kind": "village",
    "urban_rural_class": "210",
    "report_date": "2025-01-15",
    "has_dibao": True,
    "dibao_households": 3,
    "population": {"pop_total": 100, "pop_male": 52, "pop_female": 48, "household_total": 40},
    "land": {"cultivated": {"owned": 12.5, "leased": 3.25}, "forest": {"owned": 1, "leased": 0}},
    "cutoff_date": "2024-10-11",
    "elders": [
        {"name": "王大山", "id_number": "390121193205120013", "status": "续发"},
        {"name": "李秀英", "id_number": "39012119291009002X", "status": "新增", "change_date": "2024-03-01"},
    ],
}


def sample(**changes: Any):
    """The sample set, optionally with top-level keys replaced (a new content hash each time it differs)."""
    doc = copy.deepcopy(SAMPLE)
    doc.update(changes)
    return load_indicator_set(doc, "tests/village_test/v1.json")


def valid_data() -> dict[str, Any]:
    return copy.deepcopy(VALID)


def test_sample_covers_every_kind():
    kinds = {f.kind for f in sample().fields.values()}
    assert kinds == {"section", "grid", "array", "integer", "number", "string", "text", "date", "email",
                     "boolean", "choice"}
