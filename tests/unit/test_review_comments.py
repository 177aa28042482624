"""A review is checked against the indicator set it is about, every problem at once (engine/review_comments.py)."""

from __future__ import annotations

import pytest

from engine.definitions import load_indicator_file
from engine.errors import BadInput
from engine.review_comments import MAX_COMMENT_CHARS, check_review, names_a_place, review_problems
from tests.conftest import ROOT

BASIC = load_indicator_file(ROOT / "definitions/indicators/village_basic/v1.json")
ELDERS = load_indicator_file(ROOT / "definitions/indicators/elderly_allowance/v1.json")


@pytest.mark.parametrize(("ind", "path"), [
    (BASIC, "basic.villager_group_count"), (BASIC, "basic"), (BASIC, "land_transfer.cultivated"),
    (ELDERS, "elders.0.name"), (ELDERS, "elders.12"), (ELDERS, "elders"),
])
def test_places_the_indicator_set_has(ind, path):
    assert names_a_place(ind, path)


@pytest.mark.parametrize(("ind", "path"), [
    (BASIC, "basic.nope"), (BASIC, "nope"), (BASIC, ""), (BASIC, "basic..villager_group_count"),
    (BASIC, "basic.villager_group_count.0"), (BASIC, "0.basic"),
    (ELDERS, "elders.name"), (ELDERS, "elders.x.name"), (ELDERS, "elders.０.name"), (ELDERS, "elders.0.0.name"),
])
def test_places_it_does_not_have(ind, path):
    assert not names_a_place(ind, path)


def refusal(payload: dict) -> BadInput:
    with pytest.raises(BadInput) as caught:
        check_review(BASIC, {"decision": "approve", **payload})
    return caught.value


def test_an_unknown_place_is_refused_naming_it():
    err = refusal({"decision": "return", "comment": "请核实", "field_comments": {"basic.nope": "???"}})
    assert err.message == "逐项意见所指的指标在本表中不存在：basic.nope"
    assert err.data_path == "field_comments.basic.nope"


def test_every_comment_is_limited_and_named_as_the_page_names_it():
    at_limit = "核" * MAX_COMMENT_CHARS
    check_review(BASIC, {"decision": "approve", "comment": at_limit + "  ",
                         "field_comments": {"basic.village_name": at_limit}})
    err = refusal({"comment": "核" * (MAX_COMMENT_CHARS + 1)})
    assert (err.message, err.data_path) == ("审核意见最多 1000 字，现有 1001 字，请精简后再提交", "comment")
    err = refusal({"comment": "请核实", "field_comments": {"basic.villager_group_count": "核" * 1500}})
    assert err.message.startswith("对“村民小组数”的意见最多 1000 字，现有 1500 字")
    assert err.data_path == "field_comments.basic.villager_group_count"


def test_a_nul_is_named_in_chinese_not_by_its_key():
    assert refusal({"comment": "a\x00b"}).message == "「审核意见」含有空字符（\\u0000），不能保存"
    err = refusal({"comment": "请核实", "field_comments": {"basic.report_year": "a\x00"}})
    assert err.message == "「对“报告年度”的意见」含有空字符（\\u0000），不能保存"
    assert err.data_path == "field_comments.basic.report_year"
    assert refusal({"field_comments": {"basic.report\x00": "x"}}).message == "「逐项意见」的键含有空字符（\\u0000），不能保存"


def test_wrong_types_are_named_at_their_place():
    problems = review_problems(BASIC, {"decision": "return", "comment": 5, "field_comments": ["not", "a", "map"]})
    assert [(p.data_path, p.message) for p in problems] == [
        ("comment", "审核意见必须是文本"), ("field_comments", "逐项意见必须是「字段路径 → 意见」的对象")]


def test_every_problem_is_listed_each_at_its_place():
    """Not only the first: the reviewer (or an API client) fixes them all in one round."""
    payload = {"decision": "return", "comment": "  ", "field_comments": {
        "basic.nope": "?", "basic.villager_group_count": "核" * 1001, "land.nope": "??", "basic.report_year": 7}}
    problems = review_problems(BASIC, payload)
    assert [(p.data_path, p.message) for p in problems] == [
        ("comment", "退回时必须填写审核意见，说明需要修改的内容"),
        ("field_comments.basic.nope", "逐项意见所指的指标在本表中不存在：basic.nope"),
        ("field_comments.basic.villager_group_count", "对“村民小组数”的意见最多 1000 字，现有 1001 字，请精简后再提交"),
        ("field_comments.land.nope", "逐项意见所指的指标在本表中不存在：land.nope"),
        ("field_comments.basic.report_year", "字段「basic.report_year」的逐项意见必须是文本"),
    ]
    err = refusal(payload)
    assert err.problems == problems and err.data_path is None
    assert err.message.startswith("审核结论未提交，有 5 处需要修改：退回时必须填写审核意见")
    # a decision that is none, and a comment too long: both
    assert [p.data_path for p in review_problems(BASIC, {"decision": "maybe", "comment": "核" * 1001})] == [
        "decision", "comment"]


def test_one_problem_is_also_the_message_and_the_place():
    err = refusal({"decision": "return", "comment": ""})
    assert (err.message, err.data_path) == ("退回时必须填写审核意见，说明需要修改的内容", "comment")
    assert [p.data_path for p in err.problems] == ["comment"]
    assert review_problems(BASIC, {"decision": "approve"}) == []
