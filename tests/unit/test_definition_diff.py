"""Comparing versions: fields, rules, declared mappings, proposals; process steps and flows."""

from __future__ import annotations

import copy
import json

import pytest

from engine.definition_diff import diff_indicator_sets, diff_processes
from engine.definitions import load_indicator_file, load_indicator_set
from tests.conftest import ROOT

INDICATORS = ROOT / "definitions/indicators/village_basic"
PROCESSES = ROOT / "definitions/processes/village_report"
V2 = load_indicator_file(INDICATORS / "v2.json")


def _v3(edit) -> object:
    doc = copy.deepcopy(V2.schema)
    doc.pop("x-mappings")
    doc["x-version"] = 3
    edit(doc)
    return load_indicator_set(doc, "v3.json", code="village_basic", version=3)


def _props(doc: dict, section: str) -> dict:
    return doc["properties"][section]["properties"]


def test_shipped_v1_to_v2_lists_changes_and_needs_no_proposal():
    v1 = load_indicator_file(INDICATORS / "v1.json")
    diff = diff_indicator_sets(v1, V2)
    status = {i.key: i.status for i in diff.fields}
    assert status["households.broadband_households"] == "added"
    assert status["labour.labour_resource"] == "removed" and status["labour.working_age_labour"] == "added"
    assert status["population.pop_age_18_59"] == "removed"
    assert {m["kind"] for m in diff.mappings} == {"rename", "split"}
    assert diff.proposals == []  # every removed field is covered by the declared mappings
    assert "broadband_le_households" in {r.key for r in diff.rules if r.status == "added"}


@pytest.mark.parametrize(("code", "old", "new", "expected"), [
    ("village_basic", 2, 3, [("basic.report_year", "报告年度", "本期所属年度，整数，如 2025"),
                             ("basic.division_code", "统计用区划代码", "本单位的 12 位统计用区划代码"),
                             ("basic.village_name", "村（社区）名称", "本单位名称")]),
    ("elderly_allowance", 1, 2, [("header.division_code", "村（居）区划代码", "本单位的 12 位统计用区划代码"),
                                 ("header.period", "发放月份", "本期期别，如 2025、2025Q3、2025-10")]),
])
def test_shipped_identity_versions_read_as_filled_fields_only(code, old, new, expected):
    """The diff an official reads before publishing: the identity fields now 取值来源 the system, nothing else."""
    folder = ROOT / "definitions/indicators" / code
    diff = diff_indicator_sets(load_indicator_file(folder / f"v{old}.json"), load_indicator_file(folder / f"v{new}.json"))
    changed = diff.fields  # only what differs is listed
    assert [(i.key, i.title, i.status) for i in changed] == [(key, title, "changed") for key, title, _ in expected]
    assert [[(c.label, c.old, c.new) for c in i.changes] for i in changed] == [
        [("取值来源", None, source)] for _, _, source in expected]
    assert (diff.rules, diff.mappings, diff.proposals) == ([], [], [])


def test_changed_aspects_are_named():
    def edit(doc):
        f = _props(doc, "households")["household_total"]
        f.update(title="户籍总户数", maximum=5000)

    diff = diff_indicator_sets(V2, _v3(edit))
    changed = next(i for i in diff.fields if i.key == "households.household_total")
    assert {(c.aspect, c.old, c.new) for c in changed.changes} == {
        ("label", "总户数（户籍）", "户籍总户数"), ("range", "0 ~ ", "0 ~ 5000")}
    proposal = next(p for p in diff.proposals if p.mapping["from"] == "households.household_total")
    # a retitle may be a changed meaning: publishing waits for a decision, either way
    assert proposal.mapping["kind"] == "not_comparable" and proposal.blocking
    assert [m["kind"] for m in proposal.dismiss] == ["same"]


def test_type_and_unit_changes_need_a_mapping_and_a_moved_field_is_a_rename():
    def edit(doc):
        _props(doc, "population")["pop_total"]["type"] = "number"
        land = _props(doc, "land")["land_cultivated"]
        land["x-unit"] = "公顷"
        moved = _props(doc, "basic").pop("villager_group_count")
        _props(doc, "households")["villager_group_count"] = moved
        _props(doc, "collective").pop("collective_operating_income")
        doc["x-rules"] = [r for r in doc["x-rules"] if "collective_operating_income" not in r["expr"]]

    diff = diff_indicator_sets(V2, _v3(edit))
    by_key = {p.mapping["from"]: p for p in diff.proposals}
    assert by_key["population.pop_total"].blocking and by_key["population.pop_total"].mapping["kind"] == "not_comparable"
    assert by_key["land.land_cultivated"].mapping == {"kind": "unit", "from": "land.land_cultivated",
                                                      "to": "land.land_cultivated", "factor": 0.0666667}
    assert by_key["basic.villager_group_count"].mapping == {"kind": "rename", "from": "basic.villager_group_count",
                                                            "to": "households.villager_group_count"}
    assert by_key["collective.collective_operating_income"].mapping == {
        "kind": "removed", "from": "collective.collective_operating_income"}
    assert "operating_le_total_income" in {r.key for r in diff.rules if r.status == "removed"}


def test_process_v1_to_v2_inserts_the_department_step():
    diff = diff_processes((PROCESSES / "v1.bpmn").read_bytes(), (PROCESSES / "v2.bpmn").read_bytes())
    assert {(s.key, s.status) for s in diff.steps} == {("department_check", "added"), ("department_decision", "added")}
    changed = next(f for f in diff.flows if f.key == "flow_township_approve")
    assert [(c.aspect, c.old, c.new) for c in changed.changes] == [("target", "county_review", "department_check")]
    assert diff_processes(b"<not xml", (PROCESSES / "v1.bpmn").read_bytes()).steps[0].status == "added"


def test_a_changed_deadline_is_a_change():
    """The only difference a timer's duration or a task's due: the diff says so, for people."""
    v2 = (PROCESSES / "v2.bpmn").read_text(encoding="utf-8")
    longer = v2.replace('"P14D"</bpmn:timeDuration>', '"P21D"</bpmn:timeDuration>')
    assert longer != v2
    [item] = diff_processes(v2.encode(), longer.encode()).steps
    assert (item.key, item.status) == ("entry_deadline", "changed")
    assert [(c.aspect, c.label, c.old, c.new) for c in item.changes] == [
        ("timer", "定时", "14天（P14D）", "21天（P21D）")]
    due = v2.replace('name="due" value="P5D"', 'name="due" value="P7D"', 1)
    assert due != v2
    [item] = diff_processes(v2.encode(), due.encode()).steps
    assert [(c.label, c.old, c.new) for c in item.changes] == [("期限", "5天（P5D）", "7天（P7D）")]


@pytest.mark.parametrize(("field", "keyword", "value", "change"), [
    ("village_name", "x-sensitive", "personal", ("敏感类别", None, "个人信息")),
    ("division_code", "x-fill", "unit.code", ("取值来源", None, "本单位的 12 位统计用区划代码")),
])
def test_vocabulary_values_are_shown_by_their_chinese_names(field, keyword, value, change):
    v1 = load_indicator_file(INDICATORS / "v1.json")
    doc = json.loads((INDICATORS / "v1.json").read_text(encoding="utf-8"))
    doc["properties"]["basic"]["properties"][field][keyword] = value
    changed = load_indicator_set(doc, "village_basic/v1.json", code="village_basic", version=1)
    [item] = [i for i in diff_indicator_sets(v1, changed).fields if i.key == f"basic.{field}"]
    assert [(c.label, c.old, c.new) for c in item.changes] == [change]
