"""validate_submission: relevance, calculations, Chinese schema messages, rules, explanations, caching."""

from __future__ import annotations

import pytest

from engine.validation import coerce_types, compiled_schema, validate_submission
from tests.unit.test_forms_definition import sample, valid_data


def _findings(result):
    return [(p.data_path, p.code, p.rule_id) for p in [*result.errors, *result.warnings]]


def test_valid_document_passes_and_gets_calculations():
    result = validate_submission(sample(), valid_data())
    assert result.ok and result.errors == [] and result.warnings == []
    assert result.data["population"]["avg_size"] == 2.5
    assert [row["age"] for row in result.data["elders"]] == [92, 95]


def test_hidden_field_is_not_required_and_its_value_is_dropped():
    data = valid_data()
    data["has_dibao"] = False  # dibao_households is required, but only while has_dibao is true
    result = validate_submission(sample(), data)
    assert result.ok
    assert "dibao_households" not in result.data
    assert "dibao_households" in result.hidden


def test_shown_conditional_field_is_required():
    data = valid_data()
    del data["dibao_households"]
    result = validate_submission(sample(), data)
    assert _findings(result) == [("dibao_households", "required", None)]
    assert result.errors[0].message == "此项为必填项"
    assert result.errors[0].definition.pointer == "/required"


def test_row_relevance_per_row():
    data = valid_data()
    data["elders"][0]["change_date"] = "2024-01-01"  # 续发: change date hidden -> dropped
    del data["elders"][1]["change_date"]  # 新增: change date shown -> required
    result = validate_submission(sample(), data)
    assert "change_date" not in result.data["elders"][0]
    assert _findings(result) == [("elders.1.change_date", "required", None)]
    assert result.errors[0].definition.pointer == "/$defs/elder/required"


def test_calculations_overwrite_what_the_client_sent():
    data = valid_data()
    data["population"]["avg_size"] = 99
    data["elders"][0]["age"] = 10
    result = validate_submission(sample(), data)
    assert result.data["population"]["avg_size"] == 2.5
    assert result.data["elders"][0]["age"] == 92


def test_calculation_with_missing_input_leaves_the_field_absent():
    data = valid_data()
    del data["population"]["household_total"]
    data["population"]["avg_size"] = 3
    result = validate_submission(sample(), data)
    assert "avg_size" not in result.data["population"]
    assert result.ok


def test_never_visited_section_still_has_its_required_fields_checked():
    data = valid_data()
    del data["population"]
    result = validate_submission(sample(), data)
    assert {p.data_path for p in result.errors} == {
        "population.pop_total", "population.pop_male", "population.pop_female"
    }


def test_hard_rule_failure_is_one_error_on_the_first_field():
    data = valid_data()
    data["population"]["pop_male"] = 50
    result = validate_submission(sample(), data)
    assert _findings(result) == [("population.pop_total", "rule", "pop_sex_sum")]
    problem = result.errors[0]
    assert problem.message == "男、女人数之和应等于户籍总人口"
    assert problem.severity == "hard"
    assert problem.definition.pointer == "/x-rules/0"
    assert not result.ok


def test_rule_with_missing_value_is_not_applicable():
    data = valid_data()
    del data["population"]["household_total"]  # the soft rule reads it
    assert validate_submission(sample(), data).warnings == []


def test_rule_is_skipped_while_its_inputs_have_schema_errors():
    data = valid_data()
    data["population"]["pop_male"] = "五十"
    result = validate_submission(sample(), data)
    assert _findings(result) == [("population.pop_male", "type", None)]
    assert result.errors[0].message == "请输入整数"


def test_soft_rule_needs_an_explanation():
    data = valid_data()
    data["population"]["household_total"] = 120
    ind = sample()
    result = validate_submission(ind, data)
    assert result.errors == []
    assert _findings(result) == [("population.household_total", "rule", "hh_le_pop")]
    assert result.warnings[0].severity == "soft"
    assert not result.ok and result.unexplained == result.warnings
    assert not validate_submission(ind, data, explanations={"hh_le_pop": "  "}).ok
    explained = validate_submission(ind, data, explanations={"hh_le_pop": "含集体户，已核实"})
    assert explained.ok and explained.warnings and explained.unexplained == []


def test_per_row_rule_reports_the_row_path():
    data = valid_data()
    data["elders"].append({"name": "赵小", "id_number": "390121195001010014", "status": "续发"})
    result = validate_submission(sample(), data)
    assert _findings(result) == [("elders.2.age", "rule", "elder_age")]
    assert result.errors[0].definition.pointer == "/$defs/elder/x-rules/0"


@pytest.mark.parametrize(
    "change,path,code,message",
    [
        ({"report_year": 1999}, "report_year", "minimum", "不能小于 2000 年"),
        ({"report_year": 2101}, "report_year", "maximum", "不能大于 2100 年"),
        ({"report_year": 2024.5}, "report_year", "type", "请输入整数"),
        ({"division_code": "3901"}, "division_code", "pattern", "格式不正确，请检查后重新填写"),
        ({"unit_kind": "town"}, "unit_kind", "oneOf", "请选择列表中的选项"),
        ({"urban_rural_class": "999"}, "urban_rural_class", "enum", "请选择列表中的选项"),
        ({"report_date": "2025-02-30"}, "report_date", "format", "请输入正确的日期，格式如 2024-01-31"),
        ({"filler_email": "张三"}, "filler_email", "format", "请输入正确的电子邮箱地址，如 name@example.com"),
        ({"has_dibao": "是"}, "has_dibao", "type", "请选择“是”或“否”"),
        ({"note": "很" * 21}, "note", "maxLength", "最多填写 20 个字（现在 21 个字）"),
        ({"elders": [{"name": "王", "id_number": "390121193205120013", "status": "续发"}]},
         "elders.0.name", "minLength", "至少填写 2 个字"),
        ({"elders": [{"name": "王大山", "id_number": "390121193205120013", "status": "续发"}] * 51},
         "elders", "maxItems", "最多只能填写 50 行"),
        ({"land": {"cultivated": {"owned": 1.234}}}, "land.cultivated.owned", "multipleOf", "最多保留 2 位小数"),
        ({"land": {"cultivated": {"owned": -1}}}, "land.cultivated.owned", "minimum", "不能小于 0 亩"),
        ({"population": {"pop_total": 1, "pop_male": 1, "pop_female": 0, "extra": 1}}, "population",
         "additionalProperties", "包含表单中没有的数据项，请删除后再提交"),
    ],
)
def test_chinese_message_per_keyword(change, path, code, message):
    doc_changes = {}
    if code == "additionalProperties":
        schema = sample().schema
        population = dict(schema["properties"]["population"], additionalProperties=False)
        doc_changes["properties"] = dict(schema["properties"], population=population)
    ind = sample(**doc_changes)
    data = {**valid_data(), **change}
    result = validate_submission(ind, data)
    found = [(p.data_path, p.code, p.message) for p in result.errors if p.code != "rule"]
    assert (path, code, message) in found, found
    assert all("is not" not in p.message and "required property" not in p.message for p in result.errors)


def test_a_number_without_bounds_of_its_own_is_held_to_what_the_engine_computes_exactly():
    # no maximum in the definition: still no 10^30 into roll-ups (they would be wrong in the last digits)
    for value, found in ((10**30, "不能大于 1000000000000000 亩"), (-(10**16), "不能小于 0 亩"), (10**15, None)):
        data = valid_data()
        data["land"]["cultivated"]["leased"] = value
        messages = [p.message for p in validate_submission(sample(), data).errors if p.data_path == "land.cultivated.leased"]
        assert messages == ([found] if found else []), (value, messages)
    data = valid_data()
    data["report_year"] = 10**30  # a bound of its own stays the one reported
    assert [p.message for p in validate_submission(sample(), data).errors if p.data_path == "report_year"] == [
        "不能大于 2100 年"]


def test_multiple_of_uses_decimal_arithmetic():
    data = valid_data()
    data["land"] = {"cultivated": {"owned": 0.3, "leased": 12.34}, "forest": {"owned": 1.1, "leased": 0.07}}
    assert validate_submission(sample(), data).ok


def test_validator_is_compiled_once_per_version():
    first, again = sample(), sample()
    assert first is not again
    assert compiled_schema(first) is compiled_schema(again)
    changed = sample(title="村级基本情况（测试二）")
    assert compiled_schema(changed) is not compiled_schema(first)


def test_coerce_types_converts_form_strings():
    ind = sample()
    typed = coerce_types(ind, {
        "report_year": "２０２４", "division_code": " 390121201201 ", "has_dibao": "false", "unit_kind": "village",
        "report_date": "2025/1/5", "note": "   ", "dibao_households": "1,200",
        "population": {"pop_total": "12.0", "pop_male": "abc"},
        "land": {"cultivated": {"owned": "12.50"}},
        # a pattern field typed with a Chinese input method; free text keeps its full-width punctuation
        "elders": [{"name": "王大山，（长子）", "status": "续发", "id_number": "３９０１２１１９３２０５１２００１X"}, {}],
    })
    assert typed == {
        "report_year": 2024, "division_code": "390121201201", "has_dibao": False, "unit_kind": "village",
        "report_date": "2025-01-05", "dibao_households": 1200,
        "population": {"pop_total": 12, "pop_male": "abc"},
        "land": {"cultivated": {"owned": 12.5}},
        "elders": [{"name": "王大山，（长子）", "status": "续发", "id_number": "39012119320512001X"}, {}],
    }
