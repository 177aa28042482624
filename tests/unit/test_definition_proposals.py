"""A new version that leaves its correspondences to the previous one unsaid is not published: every
open proposal is a checker finding until it is accepted (its mapping) or dismissed (确认不对应, recorded
as a mapping too), and a version published earlier still loads."""

from __future__ import annotations

import pytest

from engine.definition_diff import diff_indicator_sets
from engine.definitions import check_indicator_set, correspondence, load_indicator_set
from engine.definitions.proposals import CONFIRMED_NEW, mentioned_keys, propose
from engine.errors import DefinitionError
from tests.yearly_change import CODE, PROPOSED, version_1, version_2

V1 = load_indicator_set(version_1(), "v1.json", code=CODE, version=1)


def _check(doc: dict) -> list:
    return check_indicator_set(doc, "v2.json", code=CODE, version=2, previous=V1)


def _with(doc: dict, mappings: list[dict]) -> dict:
    doc["x-mappings"] = {"from_version": 1, "fields": mappings}
    return doc


def _proposals(doc: dict) -> dict:
    new = load_indicator_set(doc, "v2.json", code=CODE, version=2, previous=V1, stored=True)
    return {p.key: p for p in diff_indicator_sets(V1, new).proposals}


def test_every_unsaid_correspondence_is_a_finding_at_its_place():
    problems = _check(version_2())
    assert {p.data_path: p.code for p in problems} == dict.fromkeys(PROPOSED, "correspondence")
    where = {p.data_path: p.definition.pointer for p in problems}
    assert where["population.pop_age_60p"] == "/properties/elderly/properties/pop_age_60p"
    assert where["land.land_grass"] == "/x-mappings"  # settled there: the field is gone
    assert where["land.land_other"] == "/properties/land/properties/land_other/title"
    message = next(p.message for p in problems if p.data_path == "party_welfare.party_members")
    assert "「党员数」（party_welfare.party_members）" in message and "party_welfare.cpc_members" in message
    assert "请采用建议" in message and "请确认不对应" in message
    with pytest.raises(DefinitionError):
        load_indicator_set(version_2(), "v2.json", code=CODE, version=2, previous=V1)


def test_the_diff_proposes_each_and_all_of_them_block():
    proposals = _proposals(version_2())
    assert {key: p.mapping for key, p in proposals.items()} == PROPOSED
    assert all(p.blocking for p in proposals.values())
    # a move dismissed: the old field removed, the new one new; a retitle dismissed: the same indicator
    assert proposals["party_welfare.party_members"].dismiss == (
        {"kind": "removed", "from": "party_welfare.party_members"},
        {"kind": "added", "to": "party_welfare.cpc_members"})
    assert [m["kind"] for m in proposals["land.land_other"].dismiss] == ["same"]
    assert proposals["land.land_other"].change == "retitled"


def test_a_version_published_earlier_loads_without_the_judgement():
    stored = load_indicator_set(version_2(), "v2.json", code=CODE, version=2, previous=V1, stored=True)
    assert "elderly.pop_age_60p" in stored.fields


def test_accepted_proposals_leave_nothing_open_and_compare_as_the_same_indicators():
    doc = _with(version_2(), list(PROPOSED.values()))
    assert _check(doc) == []
    table = correspondence(V1, load_indicator_set(doc, "v2.json", code=CODE, version=2, previous=V1))
    moved = table["elderly.pop_age_80p"]
    assert (moved.old_keys, moved.comparable) == (("population.pop_age_80p",), True)
    assert table["land.land_other"].comparable is False  # 含草地: a new meaning, not compared


def test_dismissed_proposals_are_recorded_and_not_raised_again():
    proposals = _proposals(version_2())
    doc = _with(version_2(), [m for p in proposals.values() for m in (p.dismiss or (p.mapping,))])
    assert _check(doc) == []
    new = load_indicator_set(doc, "v2.json", code=CODE, version=2, previous=V1)
    assert propose(V1.fields, new.fields, mentioned_keys(new.mappings)) == []
    table = correspondence(V1, new)
    # confirmed new when published: said so, not guessed as 本版本新增指标
    assert (table["party_welfare.cpc_members"].comparable, table["party_welfare.cpc_members"].note) == (
        False, CONFIRMED_NEW)
    other = table["land.land_other"]  # dismissed as a wording change: still compared
    assert (other.old_keys, other.comparable) == (("land.land_other",), True)


@pytest.mark.parametrize(("mapping", "says"), [
    ({"kind": "added", "to": "land.land_other"}, "在上一版本 v1 中已有，不能声明为新增"),
    ({"kind": "same", "from": "land.land_other", "to": "land.land_water"}, "须是同一个键"),
    ({"kind": "added", "from": "land.land_grass", "to": "land.land_other"}, "不允许属性「from」"),
])
def test_a_wrong_declaration_is_a_finding(mapping, says):
    problems = _check(_with(version_2(), [mapping]))
    assert any(says in p.message for p in problems), [p.message for p in problems]


def test_same_cannot_hide_a_unit_change():
    doc = version_1()
    doc["x-version"] = 2
    doc["properties"]["land"]["properties"]["land_other"]["x-unit"] = "公顷"
    problems = _check(_with(doc, [{"kind": "same", "from": "land.land_other", "to": "land.land_other"}]))
    assert any("不能声明为同一指标（same）" in p.message for p in problems)
