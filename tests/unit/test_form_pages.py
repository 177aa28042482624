"""A page view holds a form of that page's fields only; it must render exactly what the whole form did."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from wtforms.fields import DecimalField, IntegerField, RadioField
from wtforms.widgets import html_params as wtforms_html_params

from engine.forms import (
    attach_problems,
    form_class_for,
    form_for,
    page_form_class,
    page_of_path,
    page_view,
    pages,
)
from engine.forms.fields import html_params
from engine.validation import validate_submission
from tests.unit.test_forms_definition import sample, valid_data

TEMPLATES = Path(__file__).resolve().parents[2] / "admin_ui" / "templates"


@pytest.fixture(scope="module")
def ind():
    return sample()


@pytest.fixture(scope="module")
def macros():
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)
    return env.get_template("forms/macros.html").module


def _documents():
    errors = valid_data()
    errors["population"]["pop_total"] = -1
    warning = valid_data()
    warning["population"]["household_total"] = 500
    return {"valid": valid_data(), "errors": errors, "warning": warning,
            "hidden": {**valid_data(), "has_dibao": False}, "empty": {}}


@pytest.mark.parametrize("case", list(_documents()))
def test_every_page_renders_as_with_the_whole_form(ind, macros, case):
    data = _documents()[case]
    result = validate_submission(ind, data)
    for page in pages(ind):
        for checked in (None, result):
            view = page_view(ind, data, page.number, result=checked, explanations={"hh_le_pop": "已核实"})
            whole = form_for(ind, view.data)  # how the page was built before: every field of the set
            problems = [*checked.errors, *checked.warnings] if checked is not None else []
            attach_problems(whole, [p for p in problems if page_of_path(ind, p.data_path) == page])
            expected = str(macros.render_page(dataclasses.replace(view, form=whole)))
            assert str(macros.render_page(view)) == expected, (case, page.id)


def test_page_form_class_is_cached_per_version_and_page(ind):
    first, second = pages(ind)[:2]
    assert page_form_class(ind, first) is page_form_class(sample(), first)
    assert page_form_class(ind, first) is not page_form_class(ind, second)
    assert page_form_class(ind, first) is not form_class_for(ind)
    assert page_form_class(sample(title="村级基本情况（第二版）"), first) is not page_form_class(ind, first)
    assert [f.name for f in page_form_class(ind, second)()] == [s.name for s in second.specs]


def test_a_page_view_does_not_touch_its_class(ind):
    data = valid_data()
    data["population"]["pop_total"] = -1
    number = page_of_path(ind, "population.pop_total").number
    cls = page_form_class(ind, pages(ind)[number - 1])
    before = dict(vars(cls))
    view = page_view(ind, data, number, result=validate_submission(ind, data))
    assert view.form["population"]["pop_total"].errors
    assert dict(vars(cls)) == before
    assert not page_view(ind, valid_data(), number).form["population"]["pop_total"].errors


@pytest.mark.parametrize("params", [
    {"name": "a-b", "id": "x", "class_": "gr-input", "value": "12a\"<b>&'", "aria-describedby": "x-help x-error"},
    {"checked": True, "readonly": False, "data_row": "r1", "aria_label": Markup('<i>"引号"</i> 户'), "value": 0},
    {"value": Markup("&amp;"), "title": None, "step": 1.5, "a<b": True, "maxlength": 10},
    {},
])
def test_html_params_is_wtforms_html_params(params):
    ours, theirs = html_params(**params), wtforms_html_params(**params)
    assert ours == theirs and type(ours) is type(theirs)


def test_faster_widgets_leave_wtforms_own_alone():
    assert IntegerField.widget.html_params is wtforms_html_params
    assert DecimalField.widget.html_params is wtforms_html_params
    assert RadioField.option_widget.html_params is wtforms_html_params
