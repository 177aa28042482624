"""Structured edit operations on a definition document (the editor's lookup table of operations)."""

from __future__ import annotations

import copy
import json

import pytest

from engine.definitions import check_indicator_set
from engine.draft_edits import OPERATIONS, apply_operation, outline, place_problems, type_code
from engine.errors import BadInput
from tests.conftest import ROOT

V2 = json.loads((ROOT / "definitions/indicators/village_basic/v2.json").read_text(encoding="utf-8"))


def _doc() -> dict:
    doc = copy.deepcopy(V2)
    doc.pop("x-mappings")
    doc["x-version"] = 3
    return doc


def _households(doc: dict) -> dict:
    return doc["properties"]["households"]


def test_add_update_move_remove_a_field():
    doc = _doc()
    apply_operation(doc, {"op": "add_field", "parent": "households", "name": "fiber", "title": "光纤户数",
                          "type": "integer", "unit": "户", "minimum": "0", "required": True})
    assert _households(doc)["properties"]["fiber"] == {"title": "光纤户数", "type": "integer", "x-unit": "户", "minimum": 0}
    assert "fiber" in _households(doc)["required"]
    apply_operation(doc, {"op": "move_field", "key": "households.fiber", "direction": "up"})
    assert list(_households(doc)["properties"])[-2:] == ["fiber", "avg_household_size"]
    apply_operation(doc, {"op": "update_field", "key": "households.fiber", "type": "radio",
                          "options": "yes=有\nno=没有", "required": "0"})
    field = _households(doc)["properties"]["fiber"]
    assert field == {"title": "光纤户数", "type": "string", "x-widget": "radio",
                     "oneOf": [{"const": "yes", "title": "有"}, {"const": "no", "title": "没有"}]}
    assert "fiber" not in _households(doc)["required"]
    apply_operation(doc, {"op": "remove_field", "key": "households.fiber"})
    assert "fiber" not in _households(doc)["properties"]
    assert check_indicator_set(doc, "v3.json", code="village_basic", version=3) == []


def test_calculation_makes_a_field_read_only_and_sections_can_be_added():
    doc = _doc()
    apply_operation(doc, {"op": "add_section", "name": "digital", "title": "数字乡村"})
    apply_operation(doc, {"op": "add_field", "parent": "digital", "name": "rate", "title": "宽带入户率",
                          "type": "number", "unit": "%", "calculate": "broadband_households / household_total * 100",
                          "aggregate": "none"})  # a ratio: summed over villages it would mean nothing
    assert doc["properties"]["digital"]["properties"]["rate"]["readOnly"] is True
    assert check_indicator_set(doc, "v3.json", code="village_basic", version=3) == []


def test_the_value_source_is_chosen_from_the_fill_table_and_makes_the_field_read_only():
    doc = _doc()
    apply_operation(doc, {"op": "update_field", "key": "basic.division_code", "fill": "unit.code"})
    apply_operation(doc, {"op": "update_field", "key": "basic.report_year", "fill": "period.year"})
    basic = doc["properties"]["basic"]["properties"]
    assert (basic["division_code"]["x-fill"], basic["division_code"]["readOnly"]) == ("unit.code", True)
    assert check_indicator_set(doc, "v3.json", code="village_basic", version=3) == []
    apply_operation(doc, {"op": "update_field", "key": "basic.division_code", "fill": ""})  # 由填报人填写
    assert "x-fill" not in basic["division_code"] and "readOnly" not in basic["division_code"]
    apply_operation(doc, {"op": "update_field", "key": "basic.village_name", "fill": "period.year"})
    [problem] = check_indicator_set(doc, "v3.json", code="village_basic", version=3)
    assert problem.definition.pointer == "/properties/basic/properties/village_name/x-fill"
    assert "只能用于整数字段" in problem.message


@pytest.mark.parametrize(("operation", "message"), [
    ({"op": "add_field", "parent": "households", "name": "if", "title": "x"}, None),
    ({"op": "add_field", "parent": "households", "name": "9x", "title": "x"}, "不合法"),
    ({"op": "add_field", "parent": "households", "name": "hh_nonfarm", "title": "x"}, "已有键名"),
    ({"op": "add_field", "parent": "nowhere", "name": "x", "title": "x"}, "找不到字段"),
    ({"op": "add_field", "parent": "households", "name": "x", "title": ""}, "请填写字段名称"),
    ({"op": "update_field", "key": "households.hh_nonfarm", "minimum": "abc"}, "最小值必须是数字"),
    ({"op": "update_field", "key": "households.hh_nonfarm", "type": "radio", "options": ""}, "至少需要一个选项"),
    ({"op": "move_field", "key": "households.hh_nonfarm", "direction": "sideways"}, "移动方向"),
    ({"op": "add_rule", "id": "x", "expr": "", "message": "m", "fields": ""}, "表达式、显示在哪些字段"),
    ({"op": "add_rule", "id": "pop_sex_sum", "expr": "1 == 1", "message": "重复", "fields": "pop_total"}, "已有编号"),
    ({"op": "remove_rule", "id": "nope"}, "找不到规则"),
    ({"op": "launch_rocket"}, "未知的编辑操作"),
])
def test_bad_operations_are_refused_in_chinese(operation, message):
    doc = _doc()
    if message is None:  # a Python keyword is a valid property name here; the checker refuses it
        apply_operation(doc, operation)
        problems = check_indicator_set(doc, "v3.json", code="village_basic", version=3)
        assert [p.definition.pointer for p in problems] == ["/properties/households/properties/if"]
        return
    with pytest.raises(BadInput, match=message):
        apply_operation(doc, operation)


def test_rules_and_mappings():
    doc = _doc()
    apply_operation(doc, {"op": "add_rule", "id": "fiber_rule", "expr": "broadband_households >= 0",
                          "message": "通宽带户数不能为负", "severity": "soft", "fields": "households.broadband_households"})
    apply_operation(doc, {"op": "update_rule", "original_id": "fiber_rule", "id": "fiber_rule2",
                          "expr": "broadband_households >= 1", "message": "请核实通宽带户数", "severity": "soft",
                          "fields": ["households.broadband_households"]})
    assert doc["x-rules"][-1]["id"] == "fiber_rule2" and doc["x-rules"][-1]["expr"] == "broadband_households >= 1"
    apply_operation(doc, {"op": "remove_rule", "id": "fiber_rule2"})
    assert "fiber_rule2" not in {r["id"] for r in doc["x-rules"]}
    apply_operation(doc, {"op": "add_mapping", "kind": "unit", "from": "land.land_cultivated",
                          "to": "land.land_cultivated", "factor": "0.0666667", "from_version": 2})
    assert doc["x-mappings"] == {"from_version": 2, "fields": [
        {"kind": "unit", "from": "land.land_cultivated", "to": "land.land_cultivated", "factor": 0.0666667}]}
    apply_operation(doc, {"op": "remove_mapping", "index": 0})
    assert "x-mappings" not in doc
    assert set(OPERATIONS) >= {"add_field", "update_field", "remove_field", "move_field", "add_section",
                               "add_rule", "update_rule", "remove_rule", "add_mapping", "remove_mapping", "set_meta"}


def test_outline_places_problems_on_fields_and_rules_even_through_refs():
    doc = _doc()
    doc["properties"]["households"]["properties"]["hh_nonfarm"]["minimun"] = 0
    doc["$defs"]["transfer_modes"]["properties"]["lease"]["x-unit"] = "英亩"
    tree = outline(doc)
    problems = check_indicator_set(doc, "v3.json", code="village_basic", version=3)
    rules, general = place_problems(tree, problems)
    by_key = {n.key: n for n in _walk(tree)}
    assert [p.code for p in by_key["households.hh_nonfarm"].problems] == ["keyword"]
    for row in ("cultivated", "garden", "forest"):  # the problem sits in $defs: shown on each use
        assert [p.code for p in by_key[f"land_transfer.{row}.lease"].problems] == ["x-keyword"]
    assert general == [] and rules == {}
    assert type_code(by_key["basic.unit_kind"].schema) == "radio"
    assert type_code(by_key["land_transfer"].schema) is None  # a grid: raw editor only


def _walk(nodes):
    for n in nodes:
        yield n
        yield from _walk(n.children)


@pytest.mark.parametrize("typed", ["1＝燃煤\n2＝管道气", "1=燃煤\n2=管道气", "1：燃煤\n2: 管道气", " 1 = 燃煤 \n\n2=管道气"])
def test_options_take_the_full_width_equals_sign_and_colons(typed):
    doc = _doc()
    apply_operation(doc, {"op": "update_field", "key": "households.hh_nonfarm", "type": "radio", "options": typed})
    assert doc["properties"]["households"]["properties"]["hh_nonfarm"]["oneOf"] == [
        {"const": "1", "title": "燃煤"}, {"const": "2", "title": "管道气"}]


def test_an_option_label_keeps_a_colon_after_the_equals_sign():
    doc = _doc()
    apply_operation(doc, {"op": "update_field", "key": "households.hh_nonfarm", "type": "select",
                          "options": "a=其中：经营性\nb"})
    assert doc["properties"]["households"]["properties"]["hh_nonfarm"]["oneOf"] == [
        {"const": "a", "title": "其中：经营性"}, {"const": "b", "title": "b"}]


@pytest.mark.parametrize(("typed", "message"), [
    ("1=管道气\n1=罐装气", "选项值「1」重复：第 1 个和第 2 个"),
    ("1=管道气\n2=罐装气\n 1 ＝燃煤", "选项值「1」重复：第 1 个和第 3 个"),
    ("=燃煤", "缺少值"),
])
def test_duplicate_or_missing_option_values_are_refused(typed, message):
    with pytest.raises(BadInput, match=message):
        apply_operation(_doc(), {"op": "update_field", "key": "households.hh_nonfarm", "type": "radio",
                                 "options": typed})


def test_bare_enum_values_become_labelled_options_when_the_field_is_saved():
    elderly = json.loads((ROOT / "definitions/indicators/elderly_allowance/v1.json").read_text(encoding="utf-8"))
    apply_operation(elderly, {"op": "update_field", "key": "elders.status", "title": "状态", "type": "radio",
                              "options": "新增=新增\n续发=续发\n死亡核减=死亡核减\n迁出=迁出"})
    status = elderly["$defs"]["elder"]["properties"]["status"]
    assert "enum" not in status and [o["const"] for o in status["oneOf"]] == ["新增", "续发", "死亡核减", "迁出"]
    assert check_indicator_set(elderly, "v1.json", code="elderly_allowance", version=1) == []


def test_a_type_change_drops_what_the_new_type_does_not_take_and_says_so():
    doc = _doc()
    # the edit form posts every box: the unit and minimum come back with the new type
    notes = apply_operation(doc, {"op": "update_field", "key": "households.hh_nonfarm", "title": "非农户",
                                  "type": "string", "unit": "户", "minimum": "0", "maximum": "", "aggregate": "sum"})
    field = doc["properties"]["households"]["properties"]["hh_nonfarm"]
    assert field == {"title": "非农户", "type": "string"}
    assert notes == ["类型已改为「单行文本」，去掉了不适用于该类型的设置：单位（户）、最小值（0）、汇总方式（求和）"]
    assert check_indicator_set(doc, "v3.json", code="village_basic", version=3) == []
    # options go when the type no longer takes them; an unchanged type drops nothing
    apply_operation(doc, {"op": "update_field", "key": "households.hh_nonfarm", "type": "radio", "options": "1=是"})
    assert apply_operation(doc, {"op": "update_field", "key": "households.hh_nonfarm", "type": "radio",
                                 "options": "1=是\n2=否"}) == []
    notes = apply_operation(doc, {"op": "update_field", "key": "households.hh_nonfarm", "type": "integer",
                                  "options": "1=是\n2=否", "unit": "户"})
    assert notes == ["类型已改为「整数」，去掉了不适用于该类型的设置：选项"]
    assert doc["properties"]["households"]["properties"]["hh_nonfarm"] == {"title": "非农户", "type": "integer",
                                                                          "x-unit": "户"}


def test_a_new_text_field_ignores_a_unit_and_says_so():
    doc = _doc()
    notes = apply_operation(doc, {"op": "add_field", "parent": "households", "name": "note", "title": "备注",
                                  "type": "string", "unit": "户", "minimum": ""})
    assert doc["properties"]["households"]["properties"]["note"] == {"title": "备注", "type": "string"}
    assert notes == ["「单行文本」字段不用这些设置，未保存：单位（户）"]


def test_the_outline_names_grids_rows_columns_and_repeat_groups_and_what_is_shared():
    by_key = {n.key: n for n in _walk(outline(_doc()))}
    assert (by_key["households"].kind, by_key["households"].label) == ("page", "分组（一页）")
    assert (by_key["land_transfer"].kind, by_key["land_transfer"].label) == ("grid", "表格")
    row = by_key["land_transfer.cultivated"]
    assert (row.kind, row.label, row.takes_fields, row.shared_by) == ("grid_row", "表格的一行", False, 1)
    cell = by_key["land_transfer.garden.lease"]
    assert (cell.in_grid, cell.shared_by, cell.shared_at) == (True, 3, "/$defs/transfer_modes")
    assert not by_key["households.hh_nonfarm"].in_grid and by_key["households.hh_nonfarm"].shared_by == 1
    elderly = json.loads((ROOT / "definitions/indicators/elderly_allowance/v1.json").read_text(encoding="utf-8"))
    by_key = {n.key: n for n in _walk(outline(elderly))}
    assert (by_key["elders"].kind, by_key["elders"].label, by_key["elders"].takes_fields) == \
        ("repeat", "可重复的明细表", True)
    assert by_key["elders.name"].shared_by == 1  # $defs/elder is used once: editing it changes nothing else


def test_a_column_added_to_a_grid_goes_into_every_row_and_one_added_to_a_repeat_group_into_its_row():
    doc = _doc()
    apply_operation(doc, {"op": "add_field", "parent": "land_transfer", "name": "swap", "title": "互换",
                          "type": "number", "unit": "亩", "minimum": "0"})
    assert doc["$defs"]["transfer_modes"]["properties"]["swap"]["title"] == "互换"
    assert check_indicator_set(doc, "v3.json", code="village_basic", version=3) == []
    # rows written out in full (no shared $defs): the column goes into each of them
    inline = _doc()
    grid = inline["properties"]["land_transfer"]["properties"]
    for row in grid.values():
        row.update(copy.deepcopy(inline["$defs"]["transfer_modes"]))
        del row["$ref"]
    del inline["$defs"]
    apply_operation(inline, {"op": "add_field", "parent": "land_transfer", "name": "swap", "title": "互换",
                             "type": "number", "unit": "亩"})
    assert all("swap" in row["properties"] for row in grid.values())
    with pytest.raises(BadInput, match="已有键名"):
        apply_operation(inline, {"op": "add_field", "parent": "land_transfer", "name": "lease", "title": "x"})
    elderly = json.loads((ROOT / "definitions/indicators/elderly_allowance/v1.json").read_text(encoding="utf-8"))
    apply_operation(elderly, {"op": "add_field", "parent": "elders", "name": "phone", "title": "联系电话",
                              "type": "string"})
    assert elderly["$defs"]["elder"]["properties"]["phone"] == {"title": "联系电话", "type": "string"}


def test_a_new_repeat_group_starts_with_its_first_column():
    doc = _doc()
    apply_operation(doc, {"op": "add_repeat", "name": "poor_households", "title": "脱贫户明细",
                          "description": "每户一行", "column_name": "head_name", "column_title": "户主姓名",
                          "column_type": "string", "column_required": True, "column_sensitive": "personal"})
    assert doc["properties"]["poor_households"] == {
        "type": "array", "title": "脱贫户明细", "description": "每户一行",
        "items": {"type": "object", "required": ["head_name"], "properties": {
            "head_name": {"type": "string", "title": "户主姓名", "x-sensitive": "personal"}}}}
    apply_operation(doc, {"op": "add_field", "parent": "poor_households", "name": "members", "title": "家庭人口",
                          "type": "integer", "unit": "人", "minimum": "1"})
    assert check_indicator_set(doc, "v3.json", code="village_basic", version=3) == []
    by_key = {n.key: n for n in _walk(outline(doc))}
    assert by_key["poor_households"].label == "可重复的明细表" and "poor_households.members" in by_key
    for params, message in (({"column_name": "9x", "column_title": "x"}, "第一列的键名"),
                            ({"column_name": "x", "column_title": ""}, "第一列的名称"),
                            ({"column_name": "x", "column_title": "x", "column_type": "section"}, "不能是分组")):
        with pytest.raises(BadInput, match=message):
            apply_operation(_doc(), {"op": "add_repeat", "name": "t", "title": "t", **params})


def test_an_array_of_plain_values_is_a_field_not_a_repeat_group():
    doc = _doc()
    doc["properties"]["households"]["properties"]["fuels"] = {
        "type": "array", "title": "燃料", "items": {"type": "string", "enum": ["煤", "气"]}}
    node = next(n for n in _walk(outline(doc)) if n.key == "households.fuels")
    assert node.kind == "field" and not node.takes_fields
