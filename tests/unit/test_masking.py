"""Masking holds whatever shape a stored draft has: a draft saves what was sent (nothing lost), so a
section sent as a list must not carry a personal value past the mask."""

from __future__ import annotations

from engine.definitions import load_indicator_file
from engine.masking import MASK, MASKED_COMMENT, MASKED_EXPLANATION, FreeText, mask_document, personal_values
from tests.conftest import ROOT

V1 = load_indicator_file(ROOT / "definitions/indicators/village_basic/v1.json")


def test_personal_fields_are_masked_in_the_shape_the_definition_gives():
    masked = mask_document(V1, {"filler": {"filler_name": "陈芳", "filler_phone": "13900001234"}})
    assert masked["filler"]["filler_phone"] == MASK


def test_a_section_stored_in_another_shape_is_masked_whole():
    for odd in ([{"filler_phone": "13900001234"}], "13900001234", [["13900001234"]]):
        assert mask_document(V1, {"filler": odd})["filler"] == MASK


def test_a_section_without_personal_fields_is_shown_in_any_shape():
    assert mask_document(V1, {"population": [1, 2]})["population"] == [1, 2]


# --- free text about a report (engine.masking.FreeText) ------------------------------------------------

ELDERLY = load_indicator_file(ROOT / "definitions/indicators/elderly_allowance/v1.json")
ROSTER = {"header": {"filler_name": "陈芳", "filler_phone": "0571-88001234"},
          "elders": [{"seq": 1, "name": "赵大山", "gender": "男", "monthly_amount": 200},
                     {"seq": 2, "name": "赵大", "health_note": "行动不便"}]}


def _masked(*documents: dict) -> FreeText:
    return FreeText(ELDERLY, True, personal_values(ELDERLY, documents))


def test_every_personal_value_of_the_report_is_masked_in_free_text_longest_first():
    text = _masked(ROSTER).text("赵大山与赵大同住，行动不便；经办人陈芳 0571-88001234；月发放 200 元")
    assert text == "***与***同住，***；经办人*** ***；月发放 200 元"


def test_one_character_values_and_values_of_other_fields_are_left():
    assert _masked(ROSTER).text("男，第1行，200 元") == "男，第1行，200 元"


def test_numbers_shaped_like_personal_ones_are_masked_wherever_they_occur():
    text = _masked().text("身份证39012119291009002X、电话 139-1234-5678、卡号 6228 4800 1234 5678 901，"
                          "共 1350 人，2024-10-11，编号 390121101201")
    assert text == "身份证***、电话 ***、卡号 ***，共 1350 人，2024-10-11，编号 390121101201"


def test_text_about_a_personal_field_or_rule_is_hidden_whole():
    text = _masked(ROSTER)
    assert text.field_comments({"elders.0.name": "写错", "elders.0": "整行", "elders.0.monthly_amount": "赵大山 多发"}) == {
        "elders.0.name": MASKED_COMMENT, "elders.0": MASKED_COMMENT, "elders.0.monthly_amount": "*** 多发"}
    # age_over_105 is shown on the ID number; amount_matches_band reads no personal field; no_such_rule is unknown
    assert text.explanations({"age_over_105": "已核实", "amount_matches_band": "赵大山 已核对", "no_such_rule": "x"}) == {
        "age_over_105": MASKED_EXPLANATION, "amount_matches_band": "*** 已核对", "no_such_rule": MASKED_EXPLANATION}


def test_a_reader_who_may_see_personal_data_reads_free_text_as_written():
    text = FreeText(ELDERLY)
    assert text.text("赵大山 39012119291009002X") == "赵大山 39012119291009002X"
    assert text.explanations({"age_over_105": "已核实"}) == {"age_over_105": "已核实"}


# --- a personal section: every field inside it is personal ---------------------------------------------

def _set_with_personal_section() -> object:
    from engine.definitions import load_indicator_set

    return load_indicator_set({
        "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "title": "困难户名单",
        "properties": {
            "household": {"type": "object", "title": "户主", "x-sensitive": "personal", "properties": {
                "name": {"type": "string", "title": "姓名"},
                "contact": {"type": "object", "title": "联系方式", "properties": {
                    "phone": {"type": "string", "title": "电话", "x-sensitive": "contact"},
                    "address": {"type": "string", "title": "住址"}}}}},
            "members": {"type": "array", "title": "家庭成员", "x-sensitive": "personal",
                        "items": {"type": "object", "properties": {"name": {"type": "string", "title": "姓名"}}}},
            "subsidy": {"type": "integer", "title": "补助金额"},
        },
    }, "memory:personal_section", code="hardship", version=1)


def test_a_personal_section_or_table_makes_every_field_inside_it_personal():
    ind = _set_with_personal_section()
    assert ind.fields["household.name"].sensitive == "personal"
    assert ind.fields["household.contact.address"].sensitive == "personal"
    assert ind.fields["household.contact.phone"].sensitive == "contact"  # its own category is kept
    assert ind.fields["members.name"].sensitive == "personal"
    assert ind.fields["subsidy"].sensitive is None
    masked = mask_document(ind, {"household": {"name": "王五", "contact": {"address": "溪口村 3 组"}},
                                 "members": [{"name": "王小五"}], "subsidy": 300})
    assert masked == {"household": {"name": MASK, "contact": {"address": MASK}},
                      "members": [{"name": MASK}], "subsidy": 300}
