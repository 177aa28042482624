"""The multiple-choice field kind (可多选, ODK's select_multiple, rjsf's array of enum items with
uniqueItems) end to end: definition and checker, expressions, form, validation, reading, exports,
roll-ups and the workbench's type table. The example set is docs/examples/village_facilities/v1.json."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from werkzeug.datastructures import MultiDict

from engine.definitions import check_indicator_set, load_indicator_file, load_indicator_set
from engine.diffs import diff_documents
from engine.draft_edits import FIELD_TYPES, apply_operation, outline, walk
from engine.exports.tables import Record, RowContext, tables_for
from engine.forms import (
    find_field,
    form_for,
    form_to_data,
    formdata_for,
    page_for,
    page_view,
    update_from_page,
)
from engine.masking import MASK, mask_changes, mask_document
from engine.review import path_value_text, value_text
from engine.rollups.measures import combine, document_stats, measures_of, plan_of, report_values
from engine.rollups.read import figure_specs, values_of
from engine.validation import validate_submission
from engine.validation.coercion import BLANK, coerce_value

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "village_facilities"
TEMPLATES = ROOT / "admin_ui" / "templates"

OPTIONS = [{"const": "clinic", "title": "卫生室"}, {"const": "culture_hall", "title": "文化礼堂"},
           {"const": "fitness", "title": "健身场地"}, {"const": "other", "title": "其他"}]


@pytest.fixture(scope="module")
def ind():
    return load_indicator_file(EXAMPLE / "v1.json")


def example(name: str) -> dict[str, Any]:
    return json.loads((EXAMPLE / "examples" / "v1" / f"{name}.json").read_text(encoding="utf-8"))


def valid() -> dict[str, Any]:
    return example("valid-xikou-2025")


def small(field: dict[str, Any], *, required: bool = False, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A one-section set holding ``field`` as ``s.facilities`` (and ``extra`` fields next to it)."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "设施", "type": "object",
            "properties": {"s": {"type": "object", "title": "公共服务设施",
                                 "properties": {"facilities": field, **(extra or {})},
                                 **({"required": ["facilities"]} if required else {})}}}


def facilities(**kw: Any) -> dict[str, Any]:
    return {"type": "array", "title": "村内公共设施", "uniqueItems": True,
            "items": {"type": "string", "oneOf": copy.deepcopy(OPTIONS)}, **kw}


def problems_of(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(p.code, p.definition.pointer, p.message) for p in check_indicator_set(doc, "t/v1.json", code="t", version=1)]


# --- definition ------------------------------------------------------------------------------------


def test_an_array_of_labelled_options_is_a_multiple_choice(ind):
    spec = ind.fields["facilities.available"]
    assert (spec.kind, spec.multiple, spec.is_container, spec.children) == ("multichoice", True, False, ())
    assert spec.options[:2] == (("clinic", "卫生室"), ("culture_hall", "文化礼堂"))
    assert spec.aggregate == "count_each"  # the default: how many units chose each option
    assert ind.fields["facilities.broadband"].options[0] == ("电信", "电信")  # enum: labelled by the value
    assert ind.fields["facilities.heating"].options[0] == (1, "电取暖")  # integer options
    assert ind.fields["settlements.hazards"].options[-1] == ("none", "无")  # items through $ref, in a repeat
    assert ind.resolve("available") is spec  # a leaf: expressions name it by its bare name


def test_uniqueitems_may_be_left_out_it_is_implied():
    spec = load_indicator_set(small({k: v for k, v in facilities().items() if k != "uniqueItems"}),
                              code="t", version=1).fields["s.facilities"]
    assert spec.kind == "multichoice"
    result = validate_submission(load_indicator_set(small(facilities()), code="t", version=1),
                                 {"s": {"facilities": ["clinic", "clinic"]}})
    assert [(p.code, p.message) for p in result.errors] == [("uniqueItems", "同一选项不能选择两次")]


BAD = "/properties/s/properties/facilities"
CHECKS = [
    ("uniqueItems false", facilities(uniqueItems=False), f"{BAD}/uniqueItems", "uniqueItems 必须为 true"),
    ("items without options", facilities(items={"type": "string"}), f"{BAD}/items",
     "或带 enum/oneOf 选项的 string/integer（多选"),
    ("number options", facilities(items={"type": "number", "enum": [1.5, 2.5]}), f"{BAD}/items/type",
     "type 为 string（文字选项）或 integer（整数选项）"),
    ("options without a type", facilities(items={"enum": ["a", "b"]}), f"{BAD}/items",
     "须写明 type 为 string"),
    ("a constraint on the items", facilities(items={"type": "string", "enum": ["a"], "minLength": 1}),
     f"{BAD}/items/minLength", "items 只能写 type 和选项"),
    ("row rules on the items", facilities(items={"type": "string", "enum": ["a"], "x-rules": []}),
     f"{BAD}/items/x-rules", "不能有「x-rules」"),
    ("minItems beyond the options", facilities(minItems=5), f"{BAD}/minItems", "minItems（5）大于选项个数（4）"),
    ("maxItems below minItems", facilities(minItems=2, maxItems=1), f"{BAD}/maxItems", "maxItems（1）小于minItems（2）"),
    ("a numeric aggregate", facilities(**{"x-aggregate": "sum"}), f"{BAD}/x-aggregate", "只能用于数值字段，字段「村内公共设施」（s.facilities）是多选字段"),
    ("a unit", facilities(**{"x-unit": "个"}), f"{BAD}/x-unit", "单位（x-unit）只能用于数值字段"),
    ("a widget", facilities(**{"x-widget": "radio"}), BAD, "不支持的字段类型组合"),
    ("count_each on text", {"type": "string", "title": "名称", "x-aggregate": "count_each"}, f"{BAD}/x-aggregate",
     "count_each」（按选项分别计数）只能用于单选或多选字段，字段「名称」（s.facilities）是单行文本字段"),
    ("filled from the unit", facilities(**{"x-fill": "unit.code"}), f"{BAD}/x-fill", "只能用于单行文本字段"),
]


@pytest.mark.parametrize(("label", "field", "pointer", "text"), CHECKS, ids=[c[0] for c in CHECKS])
def test_the_checker_refuses_every_other_shape_at_its_pointer(label, field, pointer, text):
    found = problems_of(small(field))
    assert any(p == pointer and text in m for _, p, m in found), found
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for _, _, m in found)


def test_a_required_multiple_choice_that_allows_no_box_is_refused():
    found = problems_of(small(facilities(maxItems=0), required=True))
    assert any(p == f"{BAD}/maxItems" and "小于必填要求的 1 项" in m for _, p, m in found), found


def test_a_multiple_choice_cannot_be_a_grid_cell():
    doc = small({"type": "integer", "title": "x"})
    doc["properties"]["grid"] = {"type": "object", "title": "表", "x-grid": {"row_total": False, "column_total": False},
                                 "properties": {"a": {"type": "object", "title": "甲", "properties": {"f": facilities()}}}}
    found = problems_of(doc)
    assert ("definition", "/properties/grid/properties/a/properties/f",
            "表格单元格「grid.a.f」不能是多选字段：请放在表格外") in found


def test_a_repeat_turned_into_a_multiple_choice_under_the_same_key_is_a_meaning_change(ind):
    old = load_indicator_set(small({"type": "array", "title": "设施", "items": {
        "type": "object", "title": "设施", "properties": {"name": {"type": "string", "title": "名称"}}}}),
        code="t", version=1)
    new = small(facilities())
    new["x-mappings"] = {"from_version": 1, "fields": []}
    found = [p.message for p in check_indicator_set(new, "t/v2.json", code="t", version=2, previous=old)]
    assert any("由「列表 […]」改为「多选（字符串）」" in m for m in found), found


def test_the_workbench_comparison_names_the_change_of_type():
    from engine.definition_diff import diff_indicator_sets

    old = load_indicator_set(small({"type": "array", "title": "设施", "items": {
        "type": "object", "title": "设施", "properties": {"name": {"type": "string", "title": "名称"}}}}),
        code="t", version=1)
    new = load_indicator_set(small(facilities()), code="t", version=2)
    (item,) = [i for i in diff_indicator_sets(old, new).fields if i.key == "s.facilities"]
    assert ("类型", "列表 […]", "多选（字符串）") in {(c.label, c.old, c.new) for c in item.changes}


# --- expressions -----------------------------------------------------------------------------------


def test_in_shows_the_other_field_and_count_counts_the_ticked_boxes(ind):
    shown = validate_submission(ind, valid())
    assert "facilities.available_other" not in shown.hidden and shown.data["facilities"]["facility_kinds"] == 4
    data = valid()
    data["facilities"]["available"] = ["clinic", "fitness"]  # no 其他: its text is hidden and dropped
    result = validate_submission(ind, data)
    assert "facilities.available_other" in result.hidden
    assert "available_other" not in result.data["facilities"] and result.data["facilities"]["facility_kinds"] == 2
    data["facilities"]["available"] = ["fitness"]  # no 卫生室: its doctors are not asked for
    result = validate_submission(ind, data)
    assert "facilities.clinic_doctors" in result.hidden and result.ok is False  # soft: 原则上应设卫生室
    assert [p.rule_id for p in result.warnings] == ["clinic_expected"]
    assert validate_submission(ind, data, explanations={"clinic_expected": "与邻村共用卫生室"}).ok


def test_a_row_rule_reads_the_rows_choices(ind):
    data = valid()
    data["settlements"][1]["hazards"] = ["none", "flash_flood"]
    assert [(p.data_path, p.rule_id) for p in validate_submission(ind, data).errors] == [
        ("settlements.1.hazards", "none_alone")]


EXPRESSIONS = [
    ("an option the field does not have", ("available_other", "x-relevant", "'otehr' in available"),
     "「'otehr'」不是多选字段「facilities.available」的选项", "永远不会成立"),
    ("not in an option it does not have", ("clinic_doctors", "x-relevant", "'surgery' not in available"),
     "「'surgery'」不是多选字段", "永远成立"),
    ("text for an integer option", ("clinic_doctors", "x-relevant", "'1' in heating"), "可选：1、2、3、4", ""),
    ("the list compared with one value", ("clinic_doctors", "x-relevant", "available == 'clinic'"),
     "永远不会相等", "请写「'clinic' in available」"),
    ("per row inside an aggregate", ("facility_kinds", "x-calculate", "count(settlements, 'mud' in hazards)"),
     "多选字段「settlements.hazards」的选项", ""),
]


@pytest.mark.parametrize(("label", "change", "text", "more"), EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expressions_over_a_multiple_choice_are_checked_against_its_options(label, change, text, more):
    doc = json.loads((EXAMPLE / "v1.json").read_text(encoding="utf-8"))
    name, keyword, source = change
    doc["properties"]["facilities"]["properties"][name][keyword] = source
    found = problems_of_file(doc)
    pointer = f"/properties/facilities/properties/{name}/{keyword}"
    assert any(c == "expression" and p == pointer and text in m and more in m for c, p, m in found), found


def problems_of_file(doc):
    return [(p.code, p.definition.pointer, p.message)
            for p in check_indicator_set(doc, "village_facilities/v1.json", code="village_facilities", version=1)]


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "code", "message"), [
    (None, "required", "至少选择一项"),
    ([], "minItems", "至少选择一项"),
    (["clinic", "library"], "oneOf", "选项「library」不在可选范围内"),
    (["clinic", "clinic"], "uniqueItems", "同一选项不能选择两次"),
    ("clinic", "type", "请从选项中选择（可多选）"),
    (["clinic", "culture_hall", "fitness"], "maxItems", "最多选择 2 项"),
    ([7], "type", "选项「7」不在可选范围内"),
])
def test_chinese_messages_on_the_field(value, code, message):
    ind = load_indicator_set(small(facilities(maxItems=2), required=True), code="t", version=1)
    data = {"s": {} if value is None else {"facilities": value}}
    problems = validate_submission(ind, data).errors
    assert (problems[0].data_path, problems[0].code, problems[0].message) == ("s.facilities", code, message)


def test_min_items_in_words():
    ind = load_indicator_set(small(facilities(minItems=2)), code="t", version=1)
    assert [p.message for p in validate_submission(ind, {"s": {"facilities": ["clinic"]}}).errors] == ["至少选择 2 项"]
    assert validate_submission(ind, {"s": {}}).ok  # not required: no answer is allowed


def test_a_shown_required_multiple_choice_needs_a_box_ticked():
    doc = small(facilities(**{"x-relevant": "has_any == True"}), required=True,
                extra={"has_any": {"type": "boolean", "title": "有无公共设施"}})
    ind = load_indicator_set(doc, code="t", version=1)
    assert [p.message for p in validate_submission(ind, {"s": {"has_any": True}}).errors] == ["至少选择一项"]
    assert [p.message for p in validate_submission(ind, {"s": {"has_any": True, "facilities": []}}).errors] == [
        "至少选择一项"]
    assert validate_submission(ind, {"s": {"has_any": False, "facilities": ["clinic"]}}).ok  # hidden: dropped


def test_the_shipped_style_examples_give_their_findings(ind):
    for name in ("invalid-choices", "invalid-other-unexplained"):
        result = validate_submission(ind, example(name))
        expected = json.loads((EXAMPLE / "examples" / "v1" / f"{name}.expected.json").read_text(encoding="utf-8"))
        assert sorted((p.data_path, p.code) for p in result.errors + result.warnings) == sorted(
            (e["data_path"], e["code"]) for e in expected)


def test_posted_strings_become_the_option_values(ind):
    spec = ind.fields["facilities.heating"]
    assert coerce_value(spec, ["1", " 3 ", "", "1"]) == [1, 3]
    assert coerce_value(spec, []) is BLANK and coerce_value(spec, [""]) is BLANK
    assert coerce_value(spec, ["9"]) == ["9"]  # kept as typed, for the schema to name
    assert coerce_value(ind.fields["facilities.available"], "clinic") == ["clinic"]


# --- the form ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def macros():
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    return env.get_template("forms/macros.html").module


def test_checkboxes_with_the_titles(ind):
    field = find_field(form_for(ind, valid()), "facilities.available")
    assert field.type == "CheckboxesInput"
    boxes = [str(option) for option in field]
    assert len(boxes) == 7 and all('type="checkbox"' in b and 'name="facilities-available"' in b for b in boxes)
    assert 'checked' in boxes[0] and 'value="clinic"' in boxes[0] and 'checked' not in boxes[3]
    assert [option.label.text for option in field][:2] == ["卫生室", "文化礼堂"]


def test_round_trip_posts_one_value_per_box(ind):
    data = valid()
    posted = formdata_for(ind, data)
    assert posted.getlist("facilities-available") == ["clinic", "culture_hall", "fitness", "other"]
    assert posted.getlist("facilities-heating") == ["1", "3"]
    assert posted.getlist("settlements-0-hazards") == ["landslide", "flash_flood"]
    back = form_to_data(ind, posted)
    assert back["facilities"]["available"] == data["facilities"]["available"]
    assert back["facilities"]["heating"] == [1, 3] and back["settlements"][1]["hazards"] == ["none"]


def test_no_box_ticked_clears_the_field(ind):
    page = page_for(ind, "facilities")
    posted = MultiDict([("facilities-broadband", "联通")])  # every other box unticked: nothing posted for them
    updated = update_from_page(ind, valid(), page, posted)
    assert updated["facilities"] == {"broadband": ["联通"]}


def test_posted_boxes_come_back_ticked_with_the_error(ind, macros):
    data = valid()
    data["facilities"]["broadband"] = ["电信", "移动", "联通", "广电"]
    result = validate_submission(ind, data)
    html = str(macros.render_page(page_view(ind, data, "facilities", result=result)))
    assert "最多选择 3 项" in html and 'id="facilities-broadband-error"' in html
    ticked = [line for line in html.splitlines() if 'name="facilities-broadband"' in line]
    assert len(ticked) == 4 and all("checked" in line and 'aria-invalid="true"' in line for line in ticked)
    assert all('aria-describedby="facilities-broadband-error"' in line for line in ticked)


def test_rendered_as_a_labelled_group(ind, macros):
    html = str(macros.render_page(page_view(ind, valid(), "facilities")))
    start = html.index("村内公共设施")
    group = html[html.rindex("<fieldset", 0, start):html.index("</fieldset>", start)]
    assert 'class="gr-field gr-choices gr-checkboxes"' in group
    assert "<legend>村内公共设施" in group and "（可多选）" in group and "（必填）" in group
    assert group.count('<label class="gr-option"><input') == 7  # each box inside its own label
    assert 'checked data-refresh="1" id="facilities-available-0"' in group  # 其他 shows a field: refresh
    assert "最多 3 项" in html  # broadband's maxItems told in its legend
    assert 'id="facilities-available-help"' in group  # the description, linked from each box
    assert "其他设施（请注明）" in html  # 'other' is ticked: the text field shows


def test_a_calculated_multiple_choice_is_not_clickable():
    doc = small(facilities(**{"x-calculate": "['clinic'] if n > 0 else []", "readOnly": True}),
                extra={"n": {"type": "integer", "title": "n"}})
    ind = load_indicator_set(doc, code="t", version=1)
    field = find_field(form_for(ind, {"s": {"n": 1}}), "s.facilities")
    assert all("disabled" in str(option) for option in field)
    assert validate_submission(ind, {"s": {"n": 1}}).data["s"]["facilities"] == ["clinic"]


# --- reading: review, history, masking --------------------------------------------------------------


def test_titles_joined_with_the_chinese_comma(ind):
    spec = ind.fields["facilities.available"]
    assert value_text(spec, ["clinic", "other"]) == "卫生室、其他"
    assert value_text(spec, ["clinic", "library"]) == "卫生室、library"  # not an option: as stored
    assert value_text(spec, None) == value_text(spec, []) == "（未填）"
    assert path_value_text(ind, "settlements.1.hazards", ["none"]) == "无"
    assert path_value_text(ind, "facilities.heating", [1, 3]) == "电取暖、集中供热"


def test_history_diff_and_masking():
    doc = small(facilities(**{"x-sensitive": "health"}))
    ind = load_indicator_set(doc, code="t", version=1)
    old, new = {"s": {"facilities": ["clinic"]}}, {"s": {"facilities": ["clinic", "fitness"]}}
    changes = diff_documents(ind, old, new)
    assert [(c.data_path, c.label, c.old, c.new) for c in changes] == [
        ("s.facilities", "村内公共设施", ["clinic"], ["clinic", "fitness"])]
    assert path_value_text(ind, "s.facilities", changes[0].new) == "卫生室、健身场地"
    assert mask_document(ind, new) == {"s": {"facilities": MASK}}
    assert [(c.old, c.new) for c in mask_changes(ind, changes)] == [(MASK, MASK)]
    assert value_text(ind.fields["s.facilities"], ["clinic"], masked=True) == MASK


# --- exports -----------------------------------------------------------------------------------------


def test_exports_one_readable_column_and_a_0_1_column_per_option(ind):
    main, rows = tables_for(ind)
    headers = main.headers
    at = headers.index("村内公共设施")
    assert headers[at + 1:at + 8] == [f"村内公共设施：{t}" for t in
                                      ("卫生室", "文化礼堂", "健身场地", "综合服务中心", "养老服务站", "幼儿园", "其他")]
    ctx = RowContext("云溪县", "溪口镇", "终审通过", True)
    (row,) = main.rows(Record(1, "390121201202", "溪口村", "final", None, valid()), ctx)
    assert row[at:at + 8] == ["卫生室、文化礼堂、健身场地、其他", 1, 1, 1, 0, 0, 0, 1]
    heating = headers.index("清洁取暖方式")
    assert row[heating:heating + 5] == ["电取暖、集中供热", 1, 0, 1, 0]
    unanswered = valid()
    del unanswered["facilities"]["broadband"]
    (row,) = main.rows(Record(2, "390121201203", "岭下村", "final", None, unanswered), ctx)
    broadband = headers.index("宽带接入运营商")
    assert row[broadband:broadband + 5] == [None] * 5  # not answered: blank, not 0
    assert rows.headers[-5:] == ["地质灾害隐患", "地质灾害隐患：滑坡", "地质灾害隐患：泥石流", "地质灾害隐患：山洪",
                                 "地质灾害隐患：无"]
    assert [r[-5:] for r in rows.rows(Record(1, "390121201202", "溪口村", "final", None, valid()), ctx)] == [
        ["滑坡、山洪", 1, 0, 1, 0], ["无", 0, 0, 0, 1]]


def test_sensitive_multiple_choice_columns_leave_together():
    ind = load_indicator_set(small(facilities(**{"x-sensitive": "health"})), code="t", version=1)
    (main,) = tables_for(ind)
    assert len([c for c in main.columns if c.sensitive]) == 5
    assert main.without_sensitive().columns == ()


# --- roll-ups --------------------------------------------------------------------------------------


def test_one_count_per_option_labelled_field_and_option(ind):
    measures = measures_of(ind)
    figures = {f.key: f for f in figure_specs(ind, measures)}
    clinic = figures["facilities.available=clinic"]
    assert (clinic.label, clinic.aggregate_label, clinic.section) == ("村内公共设施：卫生室", "选择个数", "公共服务设施")
    assert (clinic.field, clinic.option) == ("facilities.available", "clinic")
    assert figures["facilities.heating"].aggregate == "count"  # x-aggregate count: units that answered
    assert "facilities.heating=1" not in figures and "facilities.available" not in figures
    assert figures["settlements.hazards=none"].label == "地质灾害隐患：无"

    other = valid()
    other["facilities"]["available"] = ["clinic", "kindergarten"]
    other["facilities"]["heating"] = []
    other["settlements"] = [{"name": "岭头", "hazards": ["landslide"]}]
    stats = [document_stats(measures, d) for d in (valid(), other, {"facilities": {}})]
    plan = plan_of(measures)
    merged = combine(plan, [report_values(plan, d) for d in (valid(), other, {"facilities": {}})])
    values = values_of(measures, merged)
    assert values["facilities.available=clinic"] == 2  # two villages chose 卫生室
    assert values["facilities.available=kindergarten"] == 1 and values["facilities.available=elderly_care"] == 0
    assert values["facilities.heating"] == 1  # [] is no answer
    assert values["settlements.hazards=landslide"] == 2  # rows: one in each village
    assert merged["@units"].count == 3
    one_by_one = {}
    for s in stats:
        for key, stat in s.items():
            one_by_one[key] = stat if key not in one_by_one else one_by_one[key]._replace(
                sum=one_by_one[key].sum + stat.sum, count=one_by_one[key].count + stat.count)
    assert merged == one_by_one


def test_count_each_on_a_single_choice():
    doc = small({"type": "string", "title": "村庄类型", "x-aggregate": "count_each",
                 "oneOf": [{"const": "220", "title": "村庄"}, {"const": "210", "title": "镇乡结合区"}]})
    ind = load_indicator_set(doc, code="t", version=1)
    measures = measures_of(ind)
    assert [f.label for f in figure_specs(ind, measures)] == ["村庄类型：村庄", "村庄类型：镇乡结合区"]
    plan = plan_of(measures)
    merged = combine(plan, [report_values(plan, {"s": {"facilities": v}}) for v in ("220", "220", "210", None)])
    assert values_of(measures, merged) == {"s.facilities=220": 2, "s.facilities=210": 1}


# --- workbench: the structured editor's type table ---------------------------------------------------


def test_the_editor_offers_checkboxes_with_options():
    assert FIELD_TYPES["checkboxes"].label == "多选（复选框）"
    doc = small({"type": "integer", "title": "户数"})
    doc.update({"x-code": "tt", "x-version": 1})
    apply_operation(doc, {"op": "add_field", "parent": "s", "name": "halls", "title": "文化设施", "type": "checkboxes",
                          "options": "hall=文化礼堂\nlibrary=农家书屋", "required": "1"})
    node = doc["properties"]["s"]["properties"]["halls"]
    assert node["type"] == "array" and node["uniqueItems"] is True
    assert node["items"] == {"type": "string", "oneOf": [{"const": "hall", "title": "文化礼堂"},
                                                         {"const": "library", "title": "农家书屋"}]}
    assert check_indicator_set(doc) == []
    shown = next(n for n in walk(outline(doc)) if n.key == "s.halls")
    assert (shown.type, shown.is_container) == ("checkboxes", False)
    node["maxItems"] = 1  # written in the JSON editor: kept by a structured save
    apply_operation(doc, {"op": "update_field", "key": "s.halls", "title": "文化设施", "type": "checkboxes",
                          "options": "hall=文化礼堂\nlibrary=农家书屋\ngym=健身房"})
    assert node["maxItems"] == 1 and len(node["items"]["oneOf"]) == 3
    apply_operation(doc, {"op": "update_field", "key": "s.halls", "title": "文化设施", "type": "radio"})
    assert node["oneOf"][2] == {"const": "gym", "title": "健身房"} and "items" not in node and "maxItems" not in node
    apply_operation(doc, {"op": "update_field", "key": "s.halls", "title": "文化设施", "type": "checkboxes"})
    assert node["items"]["oneOf"][0]["const"] == "hall" and "oneOf" not in node
    assert check_indicator_set(doc) == []


def test_a_comparison_across_versions_follows_the_fields_correspondence():
    from engine.definitions import Correspondence
    from engine.rollups.compare import _option_correspondence
    from engine.rollups.read import FigureSpec

    spec = FigureSpec("s.new=clinic", "设施", "公共设施：卫生室", None, "count_each", False, "s.new", "clinic")
    renamed = Correspondence(("s.old",), 1.0, True, None)
    assert _option_correspondence(renamed, spec) == Correspondence(("s.old=clinic",), 1.0, True, None)
    merged = _option_correspondence(Correspondence(("s.a", "s.b"), 1.0, True, None), spec)
    assert merged.comparable is False and merged.old_keys == ("s.a=clinic", "s.b=clinic") and merged.note
    declared = _option_correspondence(Correspondence(("s.old",), 1.0, False, "口径改变"), spec)
    assert (declared.comparable, declared.note) == (False, "口径改变")
    assert _option_correspondence(None, spec) is None  # a new field: not compared
