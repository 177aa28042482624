"""Mistakes an official makes when authoring a set (a QA pass): each is refused at load time, in Chinese
that names the place and says what to write instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from engine.definitions import check_indicator_set, load_all

Doc = dict[str, Any]


def village() -> Doc:
    """A small housing/population set as an official writes one: text options, a 是/否 field, counts."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "村情简表",
        "type": "object",
        "x-period": "year",
        "properties": {
            "housing": {
                "type": "object",
                "title": "住房与饮水",
                "properties": {
                    "water_source": {"type": "string", "title": "饮用水来源", "x-widget": "radio",
                                     "oneOf": [{"const": "1", "title": "自来水"}, {"const": "2", "title": "井水"},
                                               {"const": "3", "title": "其他"}]},
                    "water_other": {"type": "string", "title": "其他水源说明"},
                    "has_danger": {"type": "boolean", "title": "是否有危房"},
                    "danger_count": {"type": "integer", "title": "危房户数", "minimum": 0, "x-unit": "户"},
                },
            },
            "population": {
                "type": "object",
                "title": "人口",
                "properties": {
                    "household_total": {"type": "integer", "title": "户籍户数", "minimum": 0, "x-unit": "户"},
                    "pop_total": {"type": "integer", "title": "户籍人口", "minimum": 0, "x-unit": "人"},
                },
            },
        },
        "x-rules": [
            {"id": "pop_vs_households", "expr": "pop_total >= household_total", "message": "户籍人口不应少于户籍户数",
             "severity": "soft", "fields": ["population.pop_total"]},
        ],
    }  # fmt: skip


def housing(doc: Doc) -> Doc:
    return doc["properties"]["housing"]["properties"]


def findings(change: Callable[[Doc], Any]) -> list[tuple[str, str, str]]:
    doc = village()
    change(doc)
    return [
        (p.code, p.definition.pointer, p.message)
        for p in check_indicator_set(doc, "v1.json", code="t", version=1)
    ]


def rule(expr: str) -> Callable[[Doc], Any]:
    return lambda d: d["x-rules"][0].update(expr=expr)


def test_the_village_set_is_valid() -> None:
    assert findings(lambda d: None) == []


# -- 1. comparisons that can never hold, in relevance and in rules ----------------------------------------


RELEVANCE = "/properties/housing/properties/{}/x-relevant"


@pytest.mark.parametrize(("field", "condition", "says", "suggests"), [
    ("water_other", "water_source == 3", "「饮用水来源」（housing.water_source）是文本字段，而 3 是数字",
     "请写 water_source == '3'（选项是文本，要加引号）"),
    ("danger_count", "has_danger == '是'", "「是否有危房」（housing.has_danger）是「是/否」字段",
     "请写 has_danger == True（True、False 首字母大写，不加引号），或直接写 has_danger"),
    ("danger_count", "has_danger == 1 and household_total > 0", "而 1 是数字", "请写 has_danger == True"),
    ("water_other", "water_source == '4'", "只能取 '1'（自来水）、'2'（井水）、'3'（其他）", ""),
    ("water_other", "danger_count < 0", "的取值范围是 ≥0", ""),
])  # fmt: skip
def test_a_relevance_that_can_never_hold_is_refused(
    field: str, condition: str, says: str, suggests: str
) -> None:
    """Relevance hides a field unless it is true: one that never is would never show, require or keep it."""
    [(code, pointer, message)] = findings(lambda d: housing(d)[field].update({"x-relevant": condition}))
    assert (code, pointer) == ("relevance", RELEVANCE.format(field))
    assert "永远不成立，该字段永远不会显示" in message and says in message and suggests in message


def test_a_relevance_of_the_right_kind_passes() -> None:
    def change(d: Doc) -> None:
        housing(d)["water_other"]["x-relevant"] = "water_source == '3'"
        housing(d)["danger_count"]["x-relevant"] = "has_danger == True"

    assert findings(change) == []
    assert findings(lambda d: housing(d)["danger_count"].update({"x-relevant": "has_danger"})) == []


@pytest.mark.parametrize(("expr", "outcome", "suggests"), [
    ("has_danger == '是'", "永远不成立", "请写 has_danger == True"),
    ("household_total == '100'", "永远不成立", "请写 household_total == 100（数字不加引号）"),
    ("household_total >= '100'", "无法计算，填报时会出错", "请写 household_total >= 100"),
    ("water_source != 3", "永远成立，起不到检查作用", "请写 water_source != '3'"),
    ("water_source in [1, 2]", "永远不成立", "请写 water_source in ['1', '2']"),
    ("has_danger != '否'", "永远成立", "请写 has_danger != False（True、False 首字母大写，不加引号），或直接写 has_danger"),
    ("water_source == True", "永远不成立", "请与选项值比较：'1'（自来水）"),
])  # fmt: skip
def test_a_rule_comparing_a_field_with_a_constant_of_another_kind_is_refused(
    expr: str, outcome: str, suggests: str
) -> None:
    [(code, pointer, message)] = findings(rule(expr))
    assert (code, pointer) == ("rule", "/x-rules/0/expr")
    assert f"规则「pop_vs_households」中的比较「{expr}」{outcome}" in message and suggests in message


def test_options_that_are_text_are_shown_quoted() -> None:
    """「只能取 1、2、3」 beside 「water_source == 1」 read as a contradiction: the options are text."""
    [(_, _, message)] = findings(rule("water_source == '5'"))
    assert "只能取 '1'（自来水）、'2'（井水）、'3'（其他）" in message


def test_a_column_of_rows_is_not_judged_as_one_value() -> None:
    def change(d: Doc) -> None:
        d["properties"]["rooms"] = {
            "type": "array",
            "title": "危房名单",
            "items": {"type": "object", "properties": {"owner": {"type": "string", "title": "户主"}}},
        }
        d["x-rules"][0]["expr"] = "count(rooms, owner == '张三') >= 0 and pop_total >= 0"

    assert findings(change) == []


def test_the_shipped_sets_still_load_without_findings() -> None:
    assert {code: [v.version for v in versions] for code, versions in load_all().items()} == {
        "elderly_allowance": [1, 2],
        "village_basic": [1, 2, 3],
    }


# -- 2. bounds that leave no value ----------------------------------------------------------------------


def population(doc: Doc) -> Doc:
    return doc["properties"]["population"]["properties"]


@pytest.mark.parametrize(("bounds", "keyword", "says"), [
    ({"minimum": 100, "maximum": 10}, "minimum", "最小值（100）大于最大值（10）"),
    ({"exclusiveMinimum": 10, "exclusiveMaximum": 10}, "exclusiveMinimum", "取值须大于 10 且小于 10"),
    ({"minimum": 5, "exclusiveMaximum": 5}, "minimum", "取值须不小于 5 且小于 5"),
    ({"exclusiveMinimum": 7.5, "maximum": 7}, "exclusiveMinimum", "取值须大于 7.5 且不大于 7"),
])  # fmt: skip
def test_contradictory_bounds_are_refused(bounds: Doc, keyword: str, says: str) -> None:
    [(code, pointer, message)] = findings(lambda d: population(d)["pop_total"].update(bounds))
    assert (code, pointer) == ("bounds", f"/properties/population/properties/pop_total/{keyword}")
    assert message.startswith(f"字段「户籍人口」（population.pop_total）的{says}，任何取值都通不过校验")


def test_contradictory_lengths_and_row_counts_are_refused() -> None:
    def change(d: Doc) -> None:
        housing(d)["water_other"].update(minLength=20, maxLength=5)
        d["properties"]["rooms"] = {"type": "array", "title": "危房名单", "minItems": 3, "maxItems": 1,
                                    "items": {"type": "object", "properties": {"owner": {"type": "string", "title": "户主"}}}}  # fmt: skip

    found = findings(change)
    assert [(c, p) for c, p, _ in found] == [
        ("bounds", "/properties/housing/properties/water_other/minLength"),
        ("bounds", "/properties/rooms/minItems"),
    ]
    assert (
        "最少字数（20）大于最多字数（5）" in found[0][2] and "最少行数（3）大于最多行数（1）" in found[1][2]
    )
    assert "请改正最少字数（minLength）或最多字数（maxLength）" in found[0][2]


def test_bounds_that_meet_are_one_allowed_value() -> None:
    assert findings(lambda d: population(d)["pop_total"].update(minimum=10, maximum=10)) == []


def test_bounds_of_a_shared_definition_are_reported_once_where_they_are_written() -> None:
    def change(d: Doc) -> None:
        d["$defs"] = {"count": {"type": "integer", "title": "数", "minimum": 9, "maximum": 1}}
        population(d)["a"] = {"$ref": "#/$defs/count", "title": "甲"}
        population(d)["b"] = {"$ref": "#/$defs/count", "title": "乙"}

    assert [(c, p) for c, p, _ in findings(change)] == [("bounds", "/$defs/count/minimum")]


# -- 3. one option value twice --------------------------------------------------------------------------


def test_an_option_value_given_twice_is_refused_with_both_places() -> None:
    options = "/properties/housing/properties/water_source/oneOf"
    [(code, pointer, message)] = findings(
        lambda d: housing(d)["water_source"]["oneOf"].append({"const": "1", "title": "自来水（集中供水）"})
    )
    assert (code, pointer) == ("options", f"{options}/3/const")
    assert f"选项值 '1' 出现了两次：{options}/0/const 与 {options}/3/const" in message
    assert "字段「饮用水来源」（housing.water_source）的选项（oneOf）" in message


def test_an_enum_value_given_twice_is_refused_but_one_and_true_are_different() -> None:
    def change(d: Doc) -> None:
        housing(d)["water_other"]["enum"] = ["河水", "塘水", "河水"]
        population(d)["flag"] = {"type": "integer", "title": "标志", "enum": [1, 0]}

    assert [(c, p) for c, p, _ in findings(change)] == [
        ("options", "/properties/housing/properties/water_other/enum/2")
    ]


# -- 4. what a roll-up adds up by default ---------------------------------------------------------------


def test_a_filled_number_is_not_summed_by_default() -> None:
    from engine.definitions import load_indicator_set

    doc = village()
    population(doc)["report_year"] = {"type": "integer", "title": "统计年度", "x-fill": "period.year"}
    population(doc)["year_sum"] = {"type": "integer", "title": "年度（求和）", "x-fill": "period.year",
                                   "x-aggregate": "sum"}  # fmt: skip
    fields = load_indicator_set(doc, code="t", version=1).fields
    assert fields["population.report_year"].aggregate == "none"  # 统计年度 合计 2,025 × villages: nonsense
    assert fields["population.year_sum"].aggregate == "sum"  # declared: the author's choice
    assert fields["population.pop_total"].aggregate == "sum"


def test_a_calculated_ratio_must_declare_how_it_rolls_up() -> None:
    avg = {"type": "number", "title": "户均人口", "x-calculate": "round(pop_total / household_total, 2)"}
    [(code, pointer, message)] = findings(lambda d: population(d).update(avg_size=dict(avg)))
    assert (code, pointer) == ("aggregate", "/properties/population/properties/avg_size/x-calculate")
    assert "计算公式（x-calculate）含除法" in message and "请写明汇总方式（x-aggregate）" in message
    for aggregate in ("none", "avg", "max"):
        assert findings(lambda d, a=aggregate: population(d).update(avg_size={**avg, "x-aggregate": a})) == []
    total = {"type": "integer", "title": "人户合计", "x-calculate": "pop_total + household_total"}
    assert findings(lambda d: population(d).update(total=total)) == []  # a sum sums up


# -- 5. what a value that reads wrong belongs to, and what it should be ----------------------------------


def test_a_bad_rule_message_or_id_says_which_rule_and_what_is_wanted_not_a_regular_expression() -> None:
    def change(d: Doc) -> None:
        d["x-rules"][0]["message"] = "x"
        d["x-rules"].append({"id": "人口规则", "expr": "pop_total >= 0", "message": "人口不能为负",
                             "severity": "hard", "fields": ["pop_total"]})  # fmt: skip

    found = findings(change)
    assert [(c, p) for c, p, _ in found] == [
        ("x-keyword", "/x-rules/0/message"),
        ("x-keyword", "/x-rules/1/id"),
    ]
    assert found[0][2] == (
        "审核规则（x-rules）第 1 条规则「pop_vs_households」的提示信息（message）不合法：提示信息须包含中文（现在是「x」）"
    )
    assert found[1][2].startswith(
        "审核规则（x-rules）第 2 条规则「人口规则」的规则编号（id）不合法：规则编号只能用小写英文字母、数字和下划线，以字母开头"
    )
    assert not any("^[" in m or "一-" in m for _, _, m in found)


def test_every_pattern_of_the_vocabulary_says_in_chinese_what_it_wants() -> None:
    from engine.definitions.vocabulary import vocabulary

    def patterns(node: Any, at: str = "") -> list[tuple[str, Any]]:
        if isinstance(node, list):
            return [p for i, item in enumerate(node) for p in patterns(item, f"{at}/{i}")]
        if not isinstance(node, dict):
            return []
        own = [(at, node.get("x-pattern-message"))] if "pattern" in node else []
        return own + [p for k, v in node.items() for p in patterns(v, f"{at}/{k}")]

    found = patterns(vocabulary())
    assert len(found) == 4 and all(isinstance(m, str) and "\u4e00" <= m[0] <= "\u9fff" for _, m in found), (
        found
    )


def test_a_bad_x_value_names_the_field_by_its_title() -> None:
    [(code, pointer, message)] = findings(
        lambda d: population(d)["pop_total"].update({"x-aggregate": "summ"})
    )
    assert (code, pointer) == ("x-keyword", "/properties/population/properties/pop_total/x-aggregate")
    assert message.startswith("字段「户籍人口」的汇总方式（x-aggregate）不合法：取值「summ」无效")


def test_a_value_that_only_reads_wrong_does_not_hide_the_other_findings() -> None:
    """A rule's message without Chinese leaves the set's shape sound: the misspelt name in the other rule
    is reported in the same round, not after the author fixed the first."""

    def change(d: Doc) -> None:
        d["x-rules"][0]["message"] = "x"
        d["x-rules"].append({"id": "danger", "expr": "danger_cnt >= 0", "message": "危房户数不能为负",
                             "severity": "hard", "fields": ["danger_count"]})  # fmt: skip

    assert [(c, p) for c, p, _ in findings(change)] == [
        ("x-keyword", "/x-rules/0/message"),
        ("expression", "/x-rules/1/expr"),
    ]
    # an unsupported keyword still stops the checks that read the shape (only syntax goes on beside it)
    found = findings(lambda d: (change(d), population(d)["pop_total"].update(minimun=0)))
    assert [c for c, _, _ in found] == ["keyword", "x-keyword"]


# -- 6. keywords by the labels of the workbench, types in Chinese ----------------------------------------


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: housing(d)["water_other"].update({"x-unit": "户"}),
     "单位（x-unit）只能用于数值字段，字段「其他水源说明」（housing.water_other）是单行文本字段"),
    (lambda d: housing(d)["water_other"].update({"x-aggregate": "sum"}),
     "汇总方式（x-aggregate）「sum」只能用于数值字段，字段「其他水源说明」（housing.water_other）是单行文本字段"),
    (lambda d: population(d).update(year={"type": "integer", "title": "年度", "x-fill": "period.year",
                                          "x-calculate": "2025"}),
     "不能同时有取值来源（x-fill）和计算公式（x-calculate）"),
    (lambda d: d["x-rules"][0].update(fields=["pop_totl"]), "规则「pop_vs_households」的显示在哪些字段（fields）引用错误"),
    (lambda d: (population(d)["pop_total"].update({"x-calculate": "household_total"}),
                population(d)["household_total"].update({"x-calculate": "pop_total"})),
     "字段「户籍户数」（population.household_total）的计算公式（x-calculate）存在循环依赖"),
    (lambda d: (housing(d)["water_source"].update({"x-relevant": "water_other == '无'"}),
                housing(d)["water_other"].update({"x-relevant": "water_source == '3'"})),
     "的显示条件（x-relevant）存在循环依赖"),
])  # fmt: skip
def test_keywords_are_named_by_their_workbench_label_first(change: Callable[[Doc], Any], says: str) -> None:
    messages = [m for _, _, m in findings(change)]
    assert any(says in m for m in messages), messages
    assert not any(m.startswith("x-") or " string" in m or "相关性/计算字段" in m for m in messages)


def test_a_type_change_is_named_with_chinese_type_names() -> None:
    from engine.definitions import load_indicator_set

    v1 = load_indicator_set(village(), code="t", version=1)
    doc = village()
    population(doc)["household_total"] = {"type": "string", "title": "户籍户数"}
    [problem] = check_indicator_set(doc, "v2.json", code="t", version=2, previous=v1)
    assert (
        "字段「population.household_total」的类型（type）由「整数」改为「字符串」，但版本映射（x-mappings）没有声明映射"
        in (problem.message)
    )


def test_every_x_keyword_and_rule_part_has_a_label() -> None:
    from engine.definitions.labels import KEYWORD_LABELS
    from engine.definitions.vocabulary import vocabulary

    defs = vocabulary()["$defs"]
    declared = {k for context in ("root", "field", "row", "definition") for k in defs[context]["properties"]}
    assert declared | set(defs["rule"]["properties"]) <= set(KEYWORD_LABELS)


# -- 7. the usual expression mistakes of someone who is not a programmer ----------------------------------


@pytest.mark.parametrize(("expr", "says"), [
    ("户籍人口 >= 户籍户数",
     "「户籍人口」不是本指标集的字段；「户籍人口」是字段 population.pop_total 的标题，表达式中请写 pop_total"),
    ("has_danger == true", "「true」不是本指标集的字段；真假值和空值请写 True、False、None（首字母大写），此处应写 True"),
    ("pop_totl >= household_total", "「pop_totl」不是本指标集的字段；是不是 pop_total？"),
    ("（pop_total ＞＝ household_total）", "请把「（」换成「(」、「＞」换成「>」、「＝」换成「=」、「）」换成「)」"),
    ("pop_total ≥ household_total", "请把「≥」换成「>=」"),
    ("pop_total => household_total", "请把「=>」换成「>=」"),
    ("pop_total <> household_total", "请把「<>」换成「!=」"),
    ("water_source == “3”", "请把「“」换成「'」、「”」换成「'」"),
    ("pop_total = household_total",
     "表达式不能包含语句（赋值），只能写一个表达式；判断相等请写 ==（两个等号），如 pop_total == household_total"),
])  # fmt: skip
def test_a_typical_expression_mistake_says_what_to_write(expr: str, says: str) -> None:
    found = findings(rule(expr))
    assert found and all((c, p) == ("expression", "/x-rules/0/expr") for c, p, _ in found)
    assert says in found[0][2], found


def test_symbols_inside_text_constants_are_data_not_mistakes() -> None:
    from engine.errors import ExpressionError
    from engine.expressions import compile_expression

    with pytest.raises(ExpressionError) as caught:
        compile_expression("water_source == '（其他）' and")
    assert "换成" not in caught.value.message
    assert findings(rule("water_other != '含“自备井”（≥1 处）'")) == []
