"""Realistic schemas this project did not write: the react-jsonschema-form playground samples.

Each fixture in tests/fixtures/rjsf/ holds a sample's JSON schema and formData (origin in its
``$comment``; rjsf is Apache-2.0). Every sample gets exactly one of two outcomes, asserted here:
accepted — a form is generated, filled with the sample's formData (or synthetic valid data), posted
back and the result validates — or rejected with a DefinitionError that names the unsupported keyword.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.definitions import load_indicator_set
from engine.errors import DefinitionError
from engine.forms import form_class_for, form_for, form_to_data
from engine.validation import validate_submission

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "rjsf"

# sample -> data to submit when the sample's own formData is not a complete valid document
SYNTHETIC = {
    "simple": {"firstName": "Chuck"},  # rjsf fills firstName from its "default"; the engine does not
    "validation": {"firstName": "张三", "pass1": "abc", "pass2": "abc", "age": 20},
}
ACCEPTED = ["additionalProperties", "nested", "numbers", "ordering", "simple", "validation"]
REJECTED = {
    "arrays": "items",  # draft-07 tuple form of items (an array of schemas)
    "date": "date-time",  # only the date and email formats are supported
    "enumObjects": "definitions",  # draft-07 name of $defs
    "ifThenElse": "required",  # allOf may only hold if/then/else blocks
    "nullable": "type",  # type lists (["integer", "null"])
    "oneOf": "properties",  # oneOf only for labelled options
    "propertyDependencies": "dependencies",  # draft-07 keyword (2020-12: dependentRequired)
    "references": "definitions",
    "schemaDependencies": "items",
    "single": "type",  # the root must be an object
}


def _fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _load(name: str):
    return load_indicator_set(_fixture(name)["schema"], f"rjsf/{name}.json", code=f"rjsf_{name.lower()}", version=1)


def test_every_fixture_has_an_outcome_and_an_origin():
    names = {p.stem for p in FIXTURES.glob("*.json")}
    assert names == set(ACCEPTED) | set(REJECTED)
    for name in names:
        assert "rjsf-team/react-jsonschema-form" in _fixture(name)["$comment"]
        assert "Apache-2.0" in _fixture(name)["$comment"]


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted_sample_round_trips_and_validates(name: str):
    ind = _load(name)
    data = {**_fixture(name)["formData"], **SYNTHETIC.get(name, {})}
    assert form_class_for(ind) is form_class_for(ind)
    form = form_for(ind, data)
    posted = form_to_data(ind, form)
    declared = {k: v for k, v in data.items() if k in ind.fields}  # extra properties have no form field
    assert posted == declared
    result = validate_submission(ind, posted)
    assert result.errors == [], [p.to_json() for p in result.errors]
    assert result.ok
    assert validate_submission(ind, data).ok  # the formData itself, extra properties included


def test_simple_sample_without_default_reports_chinese_required():
    ind = _load("simple")
    result = validate_submission(ind, _fixture("simple")["formData"])
    assert [(p.data_path, p.code, p.message) for p in result.errors] == [("firstName", "required", "此项为必填项")]


def test_validation_sample_messages_are_chinese():
    ind = _load("validation")
    result = validate_submission(ind, {"firstName": "张三", "pass1": "ab", "age": 17})
    assert [(p.data_path, p.code, p.message) for p in result.errors] == [
        ("pass1", "minLength", "至少填写 3 个字"),
        ("age", "minimum", "不能小于 18"),
    ]


def test_numbers_sample_widgets():
    form = form_for(_load("numbers"), _fixture("numbers")["formData"])
    assert form["numberEnum"].type == "RadioInput"  # 3 options: radio buttons
    html = form["integerRangeSteps"]()  # typed as text, digits keyboard; multipleOf is checked on the server
    assert 'type="text"' in html and 'inputmode="numeric"' in html and "step=" not in html
    assert form["number"].spec.kind == "number"


@pytest.mark.parametrize("name,keyword", sorted(REJECTED.items()))
def test_rejected_sample_names_the_keyword(name: str, keyword: str):
    with pytest.raises(DefinitionError) as caught:
        _load(name)
    problems = caught.value.problems
    assert problems
    named = [p for p in problems if keyword in p.message or (p.definition and p.definition.pointer.endswith("/" + keyword))]
    assert named, [p.message for p in problems]
