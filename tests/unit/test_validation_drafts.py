"""What a saved draft is told (validate_submission(..., draft=True)): a cross-field rule waits until
every field it reads is filled or hidden; the submit's check (draft=False) reports it as before."""

from __future__ import annotations

import json
from pathlib import Path

from engine.definitions import load_indicator_set
from engine.validation import validate_submission
from tests.unit.test_forms_definition import SAMPLE, sample, valid_data

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("hh_pure_farm", "hh_farm_part_time", "hh_nonfarm_part_time", "hh_nonfarm")
SUM_MESSAGE = "纯农户、农业兼业户、非农业兼业户、非农户之和应等于总户数"


def village():
    path = ROOT / "definitions/indicators/village_basic/v1.json"
    return load_indicator_set(json.loads(path.read_text(encoding="utf-8")), str(path))


def rules_of(result):
    return [(p.data_path, p.rule_id) for p in [*result.errors, *result.warnings] if p.code == "rule"]


def test_a_rule_with_a_blank_operand_waits_on_save_and_fails_on_submit():
    ind = village()
    only_total = {"households": {"household_total": 100}}
    assert rules_of(validate_submission(ind, only_total, draft=True)) == []
    submitted = validate_submission(ind, only_total)
    assert ("households.household_total", "hh_type_sum") in rules_of(submitted)
    assert SUM_MESSAGE in [p.message for p in submitted.errors]

    three_parts = {"households": {"household_total": 100, **dict.fromkeys(PARTS[:3], 10)}}
    assert rules_of(validate_submission(ind, three_parts, draft=True)) == []

    wrong = {"households": {"household_total": 100, **dict.fromkeys(PARTS, 10)}}
    found = validate_submission(ind, wrong, draft=True)
    assert rules_of(found) == [("households.household_total", "hh_type_sum")]
    assert [p.message for p in found.errors] == [SUM_MESSAGE]
    assert found.errors[0].definition.pointer == "/x-rules/3"

    right = {"households": {"household_total": 40, **dict.fromkeys(PARTS, 10)}}
    assert rules_of(validate_submission(ind, right, draft=True)) == []


def test_a_draft_drops_only_the_not_yet_filled_schema_problems():
    data = valid_data()
    del data["population"]["pop_male"]  # required: waits
    data["report_year"] = 1999  # a value typed wrong: shown
    draft = validate_submission(sample(), data, draft=True)
    assert [(p.data_path, p.code) for p in draft.errors] == [("report_year", "minimum")]
    submitted = validate_submission(sample(), data)
    assert {(p.data_path, p.code) for p in submitted.errors} == {("report_year", "minimum"),
                                                                 ("population.pop_male", "required")}


def test_a_hidden_operand_needs_no_value():
    rule = {"id": "hh_within", "expr": "household_total <= pop_total + coalesce(dibao_households, 0)",
            "message": "总户数不应超过户籍总人口与低保户数之和", "severity": "hard",
            "fields": ["population.household_total"]}
    ind = sample(**{"x-rules": [rule]})
    data = valid_data()
    data["population"]["household_total"] = 120
    del data["dibao_households"]
    # 低保户数 shown (has_dibao) and blank: the rule waits
    assert rules_of(validate_submission(ind, data, draft=True)) == []
    assert [(p.data_path, p.code) for p in validate_submission(ind, data).errors] == [("dibao_households", "required")]
    # hidden by its relevance: it needs no value, so the rule is checked on save
    data["has_dibao"] = False
    assert rules_of(validate_submission(ind, data, draft=True)) == [("population.household_total", "hh_within")]


def test_a_row_rule_waits_per_row_and_a_column_waits_for_every_shown_row():
    young = {"name": "张小明", "id_number": "390121199001010012", "status": "续发"}
    data = valid_data()
    data["elders"] = [young, {"name": "李大", "status": "续发"}]  # the second row's ID (so age) not typed yet
    ind = sample()
    # the row rule reads age, computed from the ID: the first row is checked, the second waits
    assert rules_of(validate_submission(ind, data, draft=True)) == [("elders.0.age", "elder_age")]
    del data["cutoff_date"]  # age needs the cutoff date, a document field: every row waits
    assert rules_of(validate_submission(ind, data, draft=True)) == []

    unique = {"id": "unique_id", "expr": "unique(elders.id_number)", "message": "公民身份号码重复",
              "severity": "hard", "fields": ["elders"]}
    ind = sample(**{"x-rules": [*SAMPLE["x-rules"], unique]})
    data = valid_data()
    data["elders"] = [*data["elders"], dict(data["elders"][0]), {"name": "赵三", "status": "续发"}]
    assert "unique_id" not in [rule for _path, rule in rules_of(validate_submission(ind, data, draft=True))]
    assert ("elders", "unique_id") in rules_of(validate_submission(ind, data))
    data["elders"][3]["id_number"] = "390121193001010015"
    assert ("elders", "unique_id") in rules_of(validate_submission(ind, data, draft=True))
