"""engine.report_limits: what a stored report may hold (round 18, a security QA pass stored five
15-million-character names and 200,000 keys the form does not have)."""

from __future__ import annotations

import copy
import json

import orjson
import pytest

from engine.definitions import load_indicator_set
from engine.report_limits import LENGTH_FLOOR, MAX_REPORT_BYTES, STRING_CAP, findings, known_only, string_cap
from tests.conftest import ROOT

ELDERLY = ROOT / "definitions/indicators/elderly_allowance/v1.json"
ROSTER = ROOT / "definitions/indicators/elderly_allowance/examples/v1/valid-lingxia-2024-10.json"


@pytest.fixture(scope="module")
def elderly():
    return load_indicator_set(json.loads(ELDERLY.read_text(encoding="utf-8")), "elderly_allowance/v1.json")


def roster(rows: int, **row_values) -> dict:
    """A roster of ``rows`` elders like the shipped example's first (values overridden)."""
    doc = json.loads(ROSTER.read_text(encoding="utf-8"))
    first = doc["elders"][0]
    doc["elders"] = [{**first, "seq": i + 1, **row_values} for i in range(rows)]
    return doc


def places(found) -> list[tuple[str | None, str]]:
    return [(p.data_path, p.code) for p in found.problems]


def test_the_largest_realistic_roster_fits_with_ample_headroom(elderly):
    """1,000 elders (a large community) as clerks fill them, and with every text at its maxLength."""
    usual = roster(1000)
    full = roster(1000, name="张" * 20, hukou_address="地" * 100, bank_account="行" * 60, health_note="健" * 200,
                  status="新增", change_date="2024-10-01")
    for doc, most in ((usual, 400_000), (full, 1_500_000)):
        found = findings(elderly, doc)
        assert not found and found.size == len(orjson.dumps(doc)) < most
    assert MAX_REPORT_BYTES >= 2.5 * len(orjson.dumps(full)) and MAX_REPORT_BYTES >= 10 * len(orjson.dumps(usual))


def test_a_report_beyond_the_size_is_refused_whole_without_a_walk(elderly):
    doc = roster(5)
    doc["header"]["filler_name"] = "x" * (MAX_REPORT_BYTES + 1)
    found = findings(elderly, doc)
    assert places(found) == [(None, "too_large")] and found.size > MAX_REPORT_BYTES
    assert "4 MB" in found.problems[0].message and str(found.problems[0].definition).endswith("#/")
    # explanations count too
    found = findings(elderly, roster(5), {"age_over_105": "说" * (MAX_REPORT_BYTES // 3)})
    assert places(found) == [(None, "too_large")]


def test_a_string_a_little_too_long_is_kept_one_far_too_long_is_refused(elderly):
    cap = string_cap(20)
    assert cap == LENGTH_FLOOR and string_cap(200) == 4_000 and string_cap(None) == STRING_CAP
    assert not findings(elderly, roster(1, name="张" * 25))  # validation's "最多填写 20 个字" tells the clerk
    assert not findings(elderly, roster(1, name="张" * cap))
    found = findings(elderly, roster(2, name="张" * (cap + 1)))
    assert places(found) == [("elders.0.name", "too_long"), ("elders.1.name", "too_long")]
    problem = found.problems[0]
    assert problem.message == f"内容过长（{cap + 1} 个字），此项最多填写 20 个字，超过 {cap} 个字的内容不能保存，请删减"
    assert str(problem.definition) == "elderly_allowance/v1.json#/$defs/elder/properties/name/maxLength"
    # a field without maxLength, text where a number belongs, a value in a list: the fixed cap
    doc = roster(1, id_number="1" * (STRING_CAP + 1), seq="9" * (STRING_CAP + 1))
    doc["header"]["filler_phone"] = ["1" * (STRING_CAP + 1)]
    assert places(findings(elderly, doc)) == [("header.filler_phone.0", "too_long"),
                                              ("elders.0.seq", "too_long"), ("elders.0.id_number", "too_long")]
    assert not findings(elderly, roster(1, id_number="1" * STRING_CAP))


def test_keys_the_definition_does_not_have_are_named(elderly):
    doc = roster(2)
    doc["header"].update({f"k{i}": i for i in range(200_000)})
    doc["elders"][1]["nickname"] = "阿公"
    doc["qa"] = {"deep": [1, 2]}
    found = findings(elderly, doc, {"age_over_105": "已核实", "no_such_rule": "x"})
    assert found.unknown_keys == 200_003 and len(found.problems) == 50  # named up to 50, all counted
    assert {p.code for p in found.problems} == {"unknown_key"}
    few = roster(2)
    few["elders"][1]["nickname"] = "阿公"
    few["qa"] = 1
    found = findings(elderly, few, {"age_over_105": "已核实", "no_such_rule": "x"})
    assert places(found) == [("elders.1.nickname", "unknown_key"), ("qa", "unknown_key"),
                             ("explanations.no_such_rule", "unknown_key")]
    assert found.problems[0].message == "「nickname」不是此表的数据项（指标集 elderly_allowance 第 1 版中没有），请删去"
    assert str(found.problems[0].definition) == "elderly_allowance/v1.json#/properties/elders/items"
    assert "审核规则" in found.problems[2].message


def test_a_value_of_the_wrong_shape_is_bounded_by_its_strings_not_refused(elderly):
    """A draft may hold what a clerk typed where the definition wants something else (validation says so)."""
    doc = roster(1)
    doc["header"] = ["a list where a section is"]
    doc["elders"][0]["name"] = {"a": "an object where a text is"}
    assert not findings(elderly, doc)


def test_a_section_that_declares_other_keys_accepts_them():
    rjsf = json.loads((ROOT / "tests/fixtures/rjsf/additionalProperties.json").read_text(encoding="utf-8"))
    ind = load_indicator_set(rjsf["schema"], "rjsf/additionalProperties.json", code="rjsf_extra", version=1)
    assert not findings(ind, rjsf["formData"])
    assert places(findings(ind, {**rjsf["formData"], "more": "x" * (STRING_CAP + 1)})) == [("more", "too_long")]


def test_the_fill_page_keeps_only_the_definitions_keys(elderly):
    doc = roster(1)
    stored = copy.deepcopy(doc)
    stored["header"]["k"] = 1
    stored["elders"][0]["nickname"] = "阿公"
    stored["qa"] = 2
    data, explanations = known_only(elderly, stored, {"age_over_105": "已核实", "no_such_rule": "x"})
    assert data == doc and explanations == {"age_over_105": "已核实"}
    assert not findings(elderly, data, explanations)
