"""Generated forms: kind -> field mapping, caching, round trips, row actions, problems, pages, macros."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from werkzeug.datastructures import MultiDict

from engine.definitions import load_indicator_file
from engine.forms import (
    apply_row_action,
    attach_problems,
    data_path_for,
    explanations_from,
    find_field,
    first_error_page,
    form_class_for,
    form_for,
    form_to_data,
    formdata_for,
    grid_totals,
    html_name,
    navigation,
    page_for,
    page_view,
    pages,
    update_from_page,
)
from engine.validation import validate_submission
from engine.validation.coercion import BLANK
from tests.unit.test_forms_definition import sample, valid_data

TEMPLATES = Path(__file__).resolve().parents[2] / "admin_ui" / "templates"


@pytest.fixture(scope="module")
def ind():
    return sample()


def test_form_class_is_cached_per_version(ind):
    assert form_class_for(ind) is form_class_for(sample())
    assert form_class_for(sample(title="村级基本情况（第二版）")) is not form_class_for(ind)


def test_building_a_form_does_not_touch_the_class(ind):
    cls = form_class_for(ind)
    before = dict(vars(cls))
    form = form_for(ind, valid_data())
    attach_problems(form, validate_submission(ind, {**valid_data(), "report_year": 1}).errors)
    assert dict(vars(cls)) == before


@pytest.mark.parametrize(
    "path,field_type,html",
    [
        ("report_year", "IntegerInput", 'type="text"'),  # not type="number": forms/fields.py says why
        ("report_year", "IntegerInput", 'inputmode="numeric"'),
        ("land.cultivated.owned", "NumberInput", 'inputmode="decimal"'),
        ("division_code", "TextInput", 'type="text"'),
        ("note", "TextAreaInput", 'rows="3"'),  # no maxlength: it would cut a pasted text short
        ("report_date", "DateInput", 'type="date"'),
        ("filler_email", "EmailInput", 'type="email"'),
        ("has_dibao", "RadioInput", 'value="true"'),
        ("unit_kind", "RadioInput", 'type="radio"'),
        ("urban_rural_class", "SelectInput", '<option value="">请选择</option>'),
        ("elders.0.status", "RadioInput", 'value="死亡核减"'),
    ],
)
def test_field_type_per_kind(ind, path, field_type, html):
    field = find_field(form_for(ind, valid_data()), path)
    assert field.type == field_type
    assert html in field()


def test_containers(ind):
    form = form_for(ind, valid_data())
    assert form["population"].type == "SectionField"
    assert form["land"].type == "SectionField" and form["land"].spec.kind == "grid"
    assert form["elders"].type == "RowsField" and len(form["elders"].entries) == 2
    assert form["elders"][1]["name"].name == "elders-1-name"
    assert form["land"]["cultivated"]["owned"].name == "land-cultivated-owned"


def test_labels_options_required_unit_help(ind):
    form = form_for(ind, valid_data())
    assert form["unit_kind"].label.text == "村/社区"
    assert [(c[0], c[1]) for c in form["unit_kind"].iter_choices()][:2] == [("village", "村"), ("community", "社区")]
    assert [c[1] for c in form["has_dibao"].iter_choices()] == ["是", "否"]
    assert form["report_year"].spec.required and form["report_year"].spec.unit == "年"
    assert form["division_code"].description == "12 位数字，村级代码"
    assert "required" not in form["report_year"]()  # a draft must save half-filled


def test_calculated_field_is_read_only_and_never_read_back(ind):
    form = form_for(ind, {**valid_data(), "population": {**valid_data()["population"], "avg_size": 7}})
    assert "readonly" in form["population"]["avg_size"]()
    assert "avg_size" not in form_to_data(ind, form)["population"]


def test_round_trip_data_form_data(ind):
    data = valid_data()
    data["elders"].append({})  # a blank row survives until it is deleted
    assert form_to_data(ind, form_for(ind, data)) == data
    assert form_to_data(ind, formdata_for(ind, data)) == data


def test_blank_means_absent_and_bad_input_is_kept_for_the_user(ind):
    formdata = formdata_for(ind, valid_data())
    formdata["report_date"] = ""
    formdata["population-pop_total"] = "一百"
    data = form_to_data(ind, formdata)
    assert "report_date" not in data
    assert data["population"]["pop_total"] == "一百"
    form = form_for(ind, data)
    assert 'value="一百"' in form["population"]["pop_total"]()
    errors = validate_submission(ind, data).errors
    assert [(p.data_path, p.message) for p in errors] == [("population.pop_total", "请输入整数")]


def test_names_map_both_ways():
    assert html_name("elders.2.id_number") == "elders-2-id_number"
    assert data_path_for("elders-2-id_number") == "elders.2.id_number"


def test_add_row_keeps_everything_entered(ind):
    formdata = formdata_for(ind, valid_data())
    formdata["__add__elders"] = "1"
    formdata["population-pop_male"] = "60"
    data, action = apply_row_action(ind, formdata)
    assert (action.kind, action.path) == ("add", "elders")
    assert len(data["elders"]) == 3 and data["elders"][2] == {}
    assert data["population"]["pop_male"] == 60
    assert len(form_for(ind, data)["elders"].entries) == 3


def test_remove_row(ind):
    formdata = formdata_for(ind, valid_data())
    formdata["__remove__elders__0"] = "1"
    data, action = apply_row_action(ind, formdata)
    assert (action.kind, action.path, action.index) == ("remove", "elders", 0)
    assert [row["name"] for row in data["elders"]] == ["李秀英"]


def test_row_action_on_one_page_merges_into_stored_data(ind):
    page = page_for(ind, "elders")
    posted = MultiDict([(k, v) for k, v in formdata_for(ind, valid_data()).items(multi=True) if k.startswith("elders-")])
    posted["__add__elders"] = "1"
    stored = valid_data()
    data, action = apply_row_action(ind, posted, data=stored, page=page)
    assert data["population"] == stored["population"] and len(data["elders"]) == 3
    assert apply_row_action(ind, MultiDict(), data=stored, page=page)[1] is None


def test_pages(ind):
    found = pages(ind)
    assert [(p.number, p.id, p.title) for p in found] == [
        (1, "basic", "基本信息"), (2, "population", "人口"), (3, "land", "集体农用地"), (4, "elders", "高龄老人花名册")
    ]
    assert "report_year" in found[0].keys and "cutoff_date" in found[0].keys


def test_update_from_page_replaces_only_that_page(ind):
    stored = valid_data()
    posted = MultiDict({"population-pop_total": "101", "population-pop_male": "53", "population-pop_female": "48"})
    data = update_from_page(ind, stored, page_for(ind, 2), posted)
    assert data["population"] == {"pop_total": 101, "pop_male": 53, "pop_female": 48}
    assert data["elders"] == stored["elders"] and stored["population"]["pop_total"] == 100


def test_attach_problems(ind):
    data = valid_data()
    data["elders"][1]["name"] = "李"
    data["population"]["household_total"] = 500
    result = validate_submission(ind, data)
    form = form_for(ind, result.data)
    unplaced = attach_problems(form, [*result.errors, *result.warnings])
    assert unplaced == []
    assert form["elders"][1]["name"].errors == ["至少填写 2 个字"]
    assert form["population"]["household_total"].warnings == ["总户数一般不超过户籍总人口，请核实"]


def test_grid_totals(ind):
    totals = grid_totals(ind.fields["land"], valid_data())
    assert totals.rows == {"cultivated": 15.75, "forest": 1}
    assert totals.columns == {"owned": 13.5, "leased": 3.25}
    assert totals.total == 16.75


def test_explanations_from_formdata():
    posted = MultiDict({"explain__hh_le_pop": " 已核实 ", "explain__other": ""})
    assert explanations_from(posted, {"other": "旧说明", "kept": "保留"}) == {"hh_le_pop": "已核实", "kept": "保留"}


@pytest.fixture(scope="module")
def macros():
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    return env.get_template("forms/macros.html").module


def test_rendered_page_links_errors_to_fields(ind, macros):
    data = valid_data()
    data["population"]["pop_total"] = -1
    result = validate_submission(ind, data)
    assert first_error_page(ind, result) == 2
    html = str(macros.render_form(page_view(ind, data, 2, result=result), action="/save", csrf_token="t"))
    assert "第 2 / 4 页" in html
    assert 'aria-describedby="population-pop_total-error"' in html
    assert 'id="population-pop_total-error"' in html and "不能小于 0 人" in html
    assert 'aria-invalid="true"' in html
    assert '<span class="gr-unit">人</span>' in html
    assert "自动计算" in html and "novalidate" in html


def test_rendered_basic_page_hides_irrelevant_fields_and_marks_refresh(ind, macros):
    data = {**valid_data(), "has_dibao": False}
    html = str(macros.render_page(page_view(ind, data, 1)))
    assert "dibao_households" not in html
    assert 'data-refresh="1"' in html  # has_dibao decides whether dibao_households is shown
    assert 'class="gr-req"' in html and "（必填）" in html
    assert 'aria-describedby="division_code-help"' in html


def test_rendered_rows_and_grid(ind, macros):
    html = str(macros.render_page(page_view(ind, valid_data(), "elders")))
    assert 'name="__add__elders"' in html and "添加一行" in html
    assert 'name="__remove__elders__1"' in html and "删除第 2 行" in html
    grid = str(macros.render_page(page_view(ind, valid_data(), "land")))
    assert "<table" in grid and 'data-total-row="cultivated">15.75<' in grid
    assert 'data-total-all>16.75<' in grid and 'aria-label="耕地 自营"' in grid


def test_rendered_soft_warning_asks_for_explanation(ind, macros):
    data = valid_data()
    data["population"]["household_total"] = 500
    result = validate_submission(ind, data)
    html = str(macros.render_page(page_view(ind, data, 2, result=result, explanations={"hh_le_pop": "已核实"})))
    assert 'name="explain__hh_le_pop"' in html and "已核实</textarea>" in html
    assert "请核实以下情况" in html


SHIPPED = sorted((TEMPLATES.parents[1] / "definitions" / "indicators").glob("*/v*.json"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_shipped_definition_renders_every_page(path, macros):
    ind = load_indicator_file(path)
    examples = sorted(path.parent.glob(f"examples/{path.stem}/valid-*.json"))
    data = json.loads(examples[0].read_text(encoding="utf-8")) if examples else {}
    result = validate_submission(ind, data)
    assert form_to_data(ind, form_for(ind, result.data)) == _without_calculated(ind, result.data)
    for page in pages(ind):
        html = str(macros.render_form(page_view(ind, data, page.number, result=result)))
        assert f"第 {page.number} / {len(pages(ind))} 页" in html


def _without_calculated(ind, data):
    """What a form posts back: everything but calculated and filled (x-fill: set by the server from the
    report's unit and period) values, and sections left empty by that."""
    def strip(specs, obj):
        out = {}
        for spec in specs:
            value = obj.get(spec.name, BLANK) if isinstance(obj, dict) else BLANK
            if value is BLANK or spec.calculate or spec.fill:
                continue
            if spec.kind == "array":
                value = [strip(spec.children, row) for row in value]
            elif spec.is_container:
                value = strip(spec.children, value)
                if not value:
                    continue
            out[spec.name] = value
        return out

    return strip(ind.sections, data)


@pytest.mark.parametrize(
    "button,value,expected",
    [("__next__", "1", ("next", 3)), ("__prev__", "1", ("prev", 1)), ("__goto__", "4", ("goto", 4)),
     ("__goto__", "99", ("goto", 2)), ("__save__", "1", ("save", 2)), ("__submit__", "1", ("submit", 2)),
     ("__add__elders", "1", ("row", 2))],
)
def test_navigation_buttons(button, value, expected):
    nav = navigation(MultiDict({button: value}), current=2, total=4)
    assert (nav.kind, nav.page) == expected


def test_text_fields_carry_no_maxlength():
    """A limit is shown and counted on the page, never enforced by the browser: maxlength cuts a pasted
    text short without a word (the clerk's input is lost)."""
    form = form_for(sample(), valid_data())
    assert "maxlength" not in str(find_field(form, "note")()) and "maxlength" not in str(find_field(form, "division_code")())
