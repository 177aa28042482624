"""Every kind of definition error is caught, with a Chinese message and the JSON pointer to fix."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from engine.definitions import (
    IndicatorSet,
    carry_forward,
    check_indicator_set,
    content_hash,
    correspondence,
    load_indicator_set,
)
from engine.errors import DefinitionError

Doc = dict[str, Any]


def tiny() -> Doc:
    """A small but complete set: a section, a repeat with a per-row rule, a root rule."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "测试指标集",
        "type": "object",
        "x-code": "tiny",
        "x-version": 1,
        "x-period": "year",
        "properties": {
            "pop": {
                "type": "object",
                "title": "人口",
                "properties": {
                    "total": {"type": "integer", "title": "总人口", "minimum": 0, "maximum": 100000, "x-unit": "人"},
                    "male": {"type": "integer", "title": "男", "minimum": 0, "x-unit": "人"},
                    "female": {"type": "integer", "title": "女", "minimum": 0, "x-unit": "人"},
                    "area": {"type": "number", "title": "面积", "minimum": 0, "x-unit": "亩"},
                },
                "required": ["total"],
            },
            "other": {
                "type": "object",
                "title": "其他",
                "properties": {"male": {"type": "integer", "title": "男性党员", "minimum": 0, "x-unit": "人"}},
            },
            "people": {
                "type": "array",
                "title": "名册",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "title": "姓名", "x-sensitive": "personal"},
                        "age": {"type": "integer", "title": "年龄", "minimum": 0, "x-unit": "岁"},
                    },
                    "x-rules": [
                        {"id": "adult", "expr": "age >= 18", "message": "须年满18岁", "severity": "hard",
                         "fields": ["people.age"]},
                    ],
                },
            },
        },
        "x-rules": [
            {"id": "sex_sum", "expr": "pop.male + pop.female == total", "message": "男女之和应等于总人口",
             "severity": "hard", "fields": ["pop.total"]},
        ],
    }  # fmt: skip


def problems_of(doc: Doc, **kw: Any) -> list[tuple[str, str, str]]:
    return [(p.code, p.definition.pointer, p.message) for p in check_indicator_set(doc, "tiny/v1.json", **kw)]


def mutate(change: Callable[[Doc], Any]) -> Doc:
    doc = tiny()
    change(doc)
    return doc


def pop(doc: Doc) -> Doc:
    return doc["properties"]["pop"]["properties"]


def test_the_tiny_set_is_valid() -> None:
    ind = load_indicator_set(tiny())
    assert [r.id for r in ind.rules] == ["adult", "sex_sum"]
    assert ind.fields["people.age"].array_key == "people"


CASES: list[tuple[str, Callable[[Doc], Any], str, str, str]] = [
    ("unknown keyword", lambda d: pop(d)["total"].update(minimun=0),
     "keyword", "/properties/pop/properties/total/minimun", "不支持的关键字「minimun」"),
    ("unsupported JSON Schema keyword", lambda d: pop(d)["total"].update(anyOf=[{"type": "integer"}]),
     "keyword", "/properties/pop/properties/total/anyOf", "不支持的关键字「anyOf」"),
    ("typo'd x- keyword", lambda d: pop(d)["total"].update({"x-unti": "人"}),
     "x-keyword", "/properties/pop/properties/total/x-unti", "未声明的扩展关键字「x-unti」"),
    ("bad x- value", lambda d: pop(d)["total"].update({"x-aggregate": "summ"}),
     "x-keyword", "/properties/pop/properties/total/x-aggregate", "summ"),
    ("x- keyword in the wrong place", lambda d: pop(d)["total"].update({"x-period": "year"}),
     "x-keyword", "/properties/pop/properties/total/x-period", "只能用在：根节点"),
    ("bad rule severity", lambda d: d["x-rules"][0].update(severity="warning"),
     "x-keyword", "/x-rules/0/severity", "warning"),
    ("unsupported format", lambda d: pop(d)["total"].update(type="string", format="uri"),
     "keyword", "/properties/pop/properties/total/format", "format 只支持 date 和 email"),
    ("oneOf that is not labelled options", lambda d: pop(d)["total"].update(oneOf=[{"type": "integer"}]),
     "keyword", "/properties/pop/properties/total/oneOf/0/type", "不支持的关键字「type」"),
    ("meta-schema violation", lambda d: pop(d)["total"].update(minimum="0"),
     "metaschema", "/properties/pop/properties/total/minimum", "元模式"),
    ("dangling $ref", lambda d: pop(d)["total"].update({"$ref": "#/$defs/missing"}),
     "ref", "/properties/pop/properties/total/$ref", "指向的定义不存在"),
    ("bad expression", lambda d: d["x-rules"][0].update(expr="total +"),
     "expression", "/x-rules/0/expr", "无效"),
    ("forbidden function", lambda d: d["x-rules"][0].update(expr="open(total)"),
     "expression", "/x-rules/0/expr", "open"),
    ("unknown field in a rule", lambda d: d["x-rules"][0].update(expr="totl > 0"),
     "expression", "/x-rules/0/expr", "「totl」不是本指标集的字段"),
    ("ambiguous bare name", lambda d: d["x-rules"][0].update(expr="male <= total"),
     "expression", "/x-rules/0/expr", "名称「male」不唯一"),
    ("row field outside its rows", lambda d: d["x-rules"][0].update(expr="age > 0"),
     "expression", "/x-rules/0/expr", "数组的行字段"),
    ("unknown field in a relevance", lambda d: pop(d)["area"].update({"x-relevant": "nobody > 0"}),
     "expression", "/properties/pop/properties/area/x-relevant", "「nobody」"),
    ("unknown field in rule.fields", lambda d: d["x-rules"][0].update(fields=["pop.totl"]),
     "rule", "/x-rules/0/fields/0", "pop.totl"),
    ("duplicate rule id", lambda d: d["x-rules"].append(dict(d["x-rules"][0])),
     "rule", "/x-rules/1/id", "规则编号「sex_sum」重复"),
    ("rule on constants only", lambda d: d["x-rules"][0].update(expr="1 == 1"),
     "rule", "/x-rules/0/expr", "只引用计算字段或常量"),
    ("rule on a calculated field without inputs", lambda d: (
        pop(d)["area"].update({"x-calculate": "3"}), d["x-rules"][0].update(expr="area > 2")),
     "rule", "/x-rules/0/expr", "只引用计算字段或常量"),
    ("comparison outside the declared range", lambda d: d["x-rules"][0].update(expr="total > 200000 and pop.male >= 0"),
     "rule", "/x-rules/0/expr", "永远不成立"),
    ("comparison below minimum", lambda d: d["x-rules"][0].update(expr="pop.female < 0"),
     "rule", "/x-rules/0/expr", "≥0"),
    ("calculation cycle", lambda d: (pop(d)["male"].update({"x-calculate": "pop.female"}),
                                     pop(d)["female"].update({"x-calculate": "pop.male"})),
     "cycle", "/properties/pop/properties/male/x-calculate", "循环依赖"),
    ("section hidden by its own field", lambda d: d["properties"]["pop"].update({"x-relevant": "total > 0"}),
     "cycle", "/properties/pop/x-relevant", "pop → pop.total → pop"),
    ("x-rules on a plain field", lambda d: pop(d)["total"].update({"x-rules": []}),
     "x-keyword", "/properties/pop/properties/total/x-rules", "不能用在字段上"),
    ("missing title", lambda d: pop(d)["area"].pop("title"),
     "definition", "/properties/pop/properties/area", "缺少中文标题"),
    ("unit on text", lambda d: d["properties"]["people"]["items"]["properties"]["name"].update({"x-unit": "人"}),
     "definition", "/properties/people/items/properties/name/x-unit", "单位（x-unit）只能用于数值字段，字段「姓名」（people.name）是单行文本字段"),
    ("grid rows with different columns", lambda d: d["properties"].update(grid={
        "type": "object", "title": "表", "x-grid": {"row_total": True, "column_total": False},
        "properties": {"a": {"type": "object", "title": "甲", "properties": {"x": {"type": "integer", "title": "X"}}},
                       "b": {"type": "object", "title": "乙", "properties": {"y": {"type": "integer", "title": "Y"}}}}}),
     "definition", "/properties/grid/properties/b", "列与第一行相同"),
    ("x-version disagrees with the path", lambda d: d.update({"x-version": 3}),
     "identity", "/x-version", "x-version"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "change", "code", "pointer", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_kind_of_error_is_reported_at_its_pointer(
    label: str, change: Callable[[Doc], Any], code: str, pointer: str, text: str
) -> None:
    found = problems_of(mutate(change), version=1)
    assert any(c == code and p == pointer and text in m for c, p, m in found), found


def test_load_raises_one_error_listing_every_problem() -> None:
    doc = mutate(
        lambda d: (pop(d)["total"].update({"x-unti": "人"}), pop(d)["male"].update({"x-sensitive": "x"}))
    )
    with pytest.raises(DefinitionError) as caught:
        load_indicator_set(doc, "tiny/v1.json")
    pointers = {p.definition.pointer for p in caught.value.problems}
    assert pointers == {
        "/properties/pop/properties/total/x-unti",
        "/properties/pop/properties/male/x-sensitive",
    }
    assert all(p.definition.file == "tiny/v1.json" for p in caught.value.problems)


def test_ref_siblings_override_the_target() -> None:
    doc = tiny()
    doc["$defs"] = {"count": {"type": "integer", "title": "数量", "minimum": 0, "x-unit": "户"}}
    pop(doc)["households"] = {"$ref": "#/$defs/count", "title": "户数", "description": "户籍户数"}
    field = load_indicator_set(doc).fields["pop.households"]
    assert (field.title, field.description, field.unit, field.kind) == ("户数", "户籍户数", "户", "integer")
    assert "$ref" not in field.schema and field.schema["minimum"] == 0


def test_content_hash_ignores_whitespace_but_not_key_order() -> None:
    doc = tiny()
    spaced = json.loads(json.dumps(doc, indent=4))
    assert content_hash(doc) == content_hash(spaced) == load_indicator_set(spaced).content_hash
    assert content_hash(doc) != content_hash(mutate(lambda d: d.update(title="另一个")))
    # key order is the order of fields and sections on the form: another order is another content
    pop = doc["properties"]["pop"]
    moved = {**doc, "properties": {**doc["properties"], "pop": {
        **pop, "properties": dict(reversed(list(pop["properties"].items())))}}}
    assert moved == doc  # equal as data ...
    assert content_hash(moved) != content_hash(doc)  # ... but not the same form
    assert [f.name for f in load_indicator_set(moved).sections[0].children] == ["area", "female", "male", "total"]
    # a JSON number keeps its spelling's type: 1 and 1.0 are different content
    assert content_hash({"minimum": 1}) != content_hash({"minimum": 1.0})


# -- versions ---------------------------------------------------------------------------------------------


def v2_of(change: Callable[[Doc], Any]) -> Doc:
    doc = mutate(change)
    doc["x-version"] = 2
    return doc


@pytest.fixture
def v1() -> IndicatorSet:
    return load_indicator_set(tiny())


def test_type_change_under_the_same_key_needs_a_mapping(v1: IndicatorSet) -> None:
    doc = v2_of(lambda d: pop(d)["total"].update(type="number"))
    found = problems_of(doc, previous=v1)
    assert [(c, p) for c, p, _ in found] == [("mapping", "/properties/pop/properties/total")]
    assert "同名字段含义改变" in found[0][2]
    doc["x-mappings"] = {"from_version": 1, "fields": [
        {"kind": "not_comparable", "from": "pop.total", "to": "pop.total", "note": "口径改变"}]}  # fmt: skip
    assert problems_of(doc, previous=v1) == []


def test_unit_change_under_the_same_key_needs_a_mapping(v1: IndicatorSet) -> None:
    found = problems_of(v2_of(lambda d: pop(d)["area"].update({"x-unit": "公顷"})), previous=v1)
    assert [(c, p) for c, p, _ in found] == [("mapping", "/properties/pop/properties/area")]


def test_mapping_to_missing_fields(v1: IndicatorSet) -> None:
    doc = v2_of(lambda d: d.update({"x-mappings": {"from_version": 1, "fields": [
        {"kind": "rename", "from": "pop.totl", "to": "pop.total2"},
        {"kind": "removed", "from": "pop.area"}]}}))  # fmt: skip
    found = {(c, p) for c, p, _ in problems_of(doc, previous=v1)}
    assert found == {
        ("mapping", "/x-mappings/fields/0/from"),
        ("mapping", "/x-mappings/fields/0/to"),
        ("mapping", "/x-mappings/fields/1/from"),  # removed, yet still there under the same key
    }


def test_mapping_shape_is_checked_by_the_meta_schema() -> None:
    doc = v2_of(lambda d: d.update({"x-mappings": {"from_version": 1, "fields": [
        {"kind": "split", "from": "pop.total", "to": "pop.male"},
        {"kind": "unit", "from": "pop.area", "to": "pop.area"}]}}))  # fmt: skip
    found = {(c, p) for c, p, _ in problems_of(doc)}
    assert found == {("x-keyword", "/x-mappings/fields/0/to"), ("x-keyword", "/x-mappings/fields/1")}


def test_mapping_from_a_different_version(v1: IndicatorSet) -> None:
    doc = v2_of(lambda d: d.update({"x-mappings": {"from_version": 2, "fields": []}}))
    messages = [m for _, p, m in problems_of(doc, previous=v1) if p == "/x-mappings/from_version"]
    assert len(messages) == 2  # not older than itself, and not the previous version


def test_unit_mapping_converts_when_carrying_forward(v1: IndicatorSet) -> None:
    def hectares(d: Doc) -> None:
        area = pop(d).pop("area")
        pop(d)["area_ha"] = {**area, "title": "面积（公顷）", "x-unit": "公顷"}
        d["x-mappings"] = {"from_version": 1, "fields": [
            {"kind": "unit", "from": "pop.area", "to": "pop.area_ha", "factor": 1 / 15},
            {"kind": "merge", "from": ["pop.male", "other.male"], "to": "pop.female", "note": "示例：合并"}]}  # fmt: skip

    v2 = load_indicator_set(v2_of(hectares), previous=v1)
    old = {"pop": {"total": 10, "male": 4, "female": 6, "area": 30}, "other": {"male": 1},
           "people": [{"name": "甲", "age": 30}]}  # fmt: skip
    new = carry_forward(v1, old, v2)
    assert new["pop"] == {"total": 10, "area_ha": 2.0}  # merge target not carried; male/female mentioned
    assert new["people"] == [{"name": "甲", "age": 30}]
    table = correspondence(v1, v2)
    assert (table["pop.area_ha"].old_keys, table["pop.area_ha"].factor) == (("pop.area",), 1 / 15)
    assert table["pop.female"].old_keys == ("pop.male", "other.male") and table["pop.female"].comparable


def test_unit_conversion_is_exact_and_keeps_an_integer_field_whole(v1: IndicatorSet) -> None:
    """万元 -> 元 (×10000) into a number field and an integer one: exact decimals, no 856000.0."""
    def yuan(d: Doc) -> None:
        area = pop(d).pop("area")
        pop(d)["area_yuan"] = {**area, "x-unit": "元"}
        pop(d)["total"]["x-unit"] = "万人"
        d["x-mappings"] = {"from_version": 1, "fields": [
            {"kind": "unit", "from": "pop.area", "to": "pop.area_yuan", "factor": 10000},
            {"kind": "unit", "from": "pop.total", "to": "pop.total", "factor": 0.0001}]}  # fmt: skip

    v2 = load_indicator_set(v2_of(yuan), previous=v1)
    carried = [carry_forward(v1, {"pop": {"total": total, "area": area}}, v2)["pop"]
               for total, area in ((10000, 85.6), (45000, 0.57), (14999, 1.23456))]
    # a whole result is an integer (JSON 856000, not 856000.0); 0.57 × 10000 is 5700, not 5699.999999999999;
    # an integer field stays an integer, rounded half up (4.5 -> 5), a number field keeps its fraction
    assert [json.dumps(c, sort_keys=True) for c in carried] == [
        '{"area_yuan": 856000, "total": 1}', '{"area_yuan": 5700, "total": 5}',
        '{"area_yuan": 12345.6, "total": 1}']


def test_load_works_on_a_copy(v1: IndicatorSet) -> None:
    doc = tiny()
    ind = load_indicator_set(doc)
    doc["title"] = "改了"
    assert ind.title == "测试指标集" and ind.schema is not doc


def test_shipped_file_with_a_typo_names_the_file(tmp_path: Path) -> None:
    from engine.definitions import load_indicator_file

    target = tmp_path / "tiny" / "v1.json"
    target.parent.mkdir()
    doc = copy.deepcopy(tiny())
    pop(doc)["total"]["x-aggregate"] = "summ"
    target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_indicator_file(target)
    (problem,) = caught.value.problems
    assert problem.definition.file == str(target)
    assert problem.definition.pointer == "/properties/pop/properties/total/x-aggregate"


@pytest.mark.parametrize(("change", "pointer", "message"), [
    (lambda d: pop(d)["area"].update(type="float"), "/properties/pop/properties/area/type",
     "取值「float」无效，应为以下之一：array、boolean、integer、null、number、object、string"),
    (lambda d: pop(d)["area"].update(minimum="零"), "/properties/pop/properties/area/minimum", "「零」的类型应为 数字"),
    (lambda d: pop(d)["area"].update(title=5), "/properties/pop/properties/area/title", "「5」的类型应为 字符串"),
])  # fmt: skip
def test_meta_schema_findings_are_in_chinese(change: Callable[[Doc], Any], pointer: str, message: str) -> None:
    [(code, at, text)] = [f for f in problems_of(mutate(change)) if f[0] == "metaschema"]
    assert (code, at) == ("metaschema", pointer)
    assert text == f"不符合 JSON Schema 2020-12 元模式：{message}"


def test_one_ambiguous_name_is_one_finding() -> None:
    """A new households.pop_total makes the bare name in 户均人口's calculation ambiguous: that is the
    finding, not also "a rule reading 户均人口 is beyond the user's influence"."""
    doc = json.loads((Path(__file__).resolve().parents[2] / "definitions/indicators/village_basic/v2.json")
                     .read_text(encoding="utf-8"))
    doc["properties"]["households"]["properties"]["pop_total"] = {
        "type": "integer", "title": "户内人口", "minimum": 0, "x-unit": "人"}
    found = check_indicator_set(doc, "village_basic/v2.json")
    assert found and all(p.code == "expression" and "名称「pop_total」不唯一" in p.message for p in found)
    assert found[0].definition.pointer.endswith("/avg_household_size/x-calculate")
    assert not any("household_size_range" in p.message for p in found)  # it reads 户均人口, broken above


def test_expression_syntax_is_reported_beside_structural_problems() -> None:
    """An unsupported keyword stops the name checks, not the syntax checks: the author sees the typo in
    the rule and in the relevance in the same round as the keyword (names still wait: no field tree)."""
    def change(d: Doc) -> None:
        pop(d)["total"].update(minimun=0)
        pop(d)["area"]["x-relevant"] = "total >"
        d["x-rules"][0]["expr"] = "pop.male + + == total"
        d["properties"]["people"]["items"]["x-rules"][0]["expr"] = "nosuchfield >= 18"

    found = problems_of(mutate(change), version=1)
    assert {(c, p) for c, p, _ in found} == {
        ("keyword", "/properties/pop/properties/total/minimun"),
        ("expression", "/properties/pop/properties/area/x-relevant"),
        ("expression", "/x-rules/0/expr"),
    }
    assert all("无效" in m for c, _, m in found if c == "expression")
