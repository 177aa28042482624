"""Comparing and prefilling across a version that was published but never collected: v3's x-mappings
come from v2, last period ran on v1, and v1 -> v3 goes through v2's mappings step by step."""

from __future__ import annotations

from typing import Any

import pytest

from engine.definitions import (
    IndicatorSet,
    carry_forward_across,
    correspondence_across,
    load_indicator_set,
)
from engine.errors import BadInput
from tests.unit.test_definitions_checks import pop, tiny

Doc = dict[str, Any]


def _version(n: int, fields: dict[str, Doc], mappings: list[Doc] | None) -> Doc:
    doc = tiny()
    doc["x-version"] = n
    doc["x-rules"] = []  # the root rule names fields these versions change
    pop(doc).clear()
    pop(doc).update(fields)
    doc["properties"]["pop"]["required"] = ["total"]
    if mappings is not None:
        doc["x-mappings"] = {"from_version": n - 1, "fields": mappings}
    return doc


def _int(title: str, unit: str = "人") -> Doc:
    return {"type": "integer", "title": title, "minimum": 0, "x-unit": unit}


def _area(title: str, unit: str) -> Doc:
    return {"type": "number", "title": title, "minimum": 0, "x-unit": unit}


@pytest.fixture
def chain() -> list[IndicatorSet]:
    v1 = load_indicator_set(_version(1, {
        "total": _int("总人口"), "male": _int("男"), "female": _int("女"), "area": _area("面积", "亩"),
        "old_kind": _int("旧口径户数", "户")}, None))  # fmt: skip
    v2 = load_indicator_set(_version(2, {
        "total": _int("总人口"), "male_young": _int("男（60岁以下）"), "male_old": _int("男（60岁及以上）"),
        "women": _int("女"), "area_ha": _area("面积", "公顷"), "old_kind": _int("户数", "户")}, [
        {"kind": "split", "from": "pop.male", "to": ["pop.male_young", "pop.male_old"]},
        {"kind": "rename", "from": "pop.female", "to": "pop.women", "note": "改名"},
        {"kind": "unit", "from": "pop.area", "to": "pop.area_ha", "factor": 1 / 15},
        {"kind": "not_comparable", "from": "pop.old_kind", "to": "pop.old_kind", "note": "口径改变"},
    ]), previous=v1)  # fmt: skip
    v3 = load_indicator_set(_version(3, {
        "total": _int("总人口"), "male": _int("男"), "women_young": _int("女（60岁以下）"),
        "women_old": _int("女（60岁及以上）"), "land_ha": _area("面积", "公顷"), "old_kind": _int("户数", "户"),
        "children": _int("儿童")}, [
        {"kind": "merge", "from": ["pop.male_young", "pop.male_old"], "to": "pop.male"},
        {"kind": "split", "from": "pop.women", "to": ["pop.women_young", "pop.women_old"]},
        {"kind": "rename", "from": "pop.area_ha", "to": "pop.land_ha"},
    ]), previous=v2)  # fmt: skip
    return [v1, v2, v3]


def test_correspondence_through_a_version_between(chain: list[IndicatorSet]) -> None:
    table = correspondence_across(chain)
    assert (table["pop.total"].old_keys, table["pop.total"].comparable) == (("pop.total",), True)
    # renamed in v3, unit changed in v2: both steps, the factor kept
    land = table["pop.land_ha"]
    assert (land.old_keys, land.factor, land.comparable) == (("pop.area",), 1 / 15, True)
    # split in v2, merged back whole in v3: the same indicator as v1's
    male = table["pop.male"]
    assert (male.old_keys, male.factor, male.comparable) == (("pop.male",), 1.0, True)
    # renamed in v2, split in v3: each part alone is not comparable, their sum is, with v1's field
    young = table["pop.women_young"]
    assert (young.old_keys, young.comparable, young.split_parts) == (
        ("pop.female",), False, ("pop.women_young", "pop.women_old"))
    assert "v2：改名" in young.note
    # declared not comparable in v2: stays so, with v2's note
    kind = table["pop.old_kind"]
    assert (kind.comparable, kind.note) == (False, "v2：口径改变")
    assert not table["pop.children"].comparable and table["pop.children"].old_keys == ()


def test_a_field_new_in_the_version_between_has_nothing_to_compare(chain: list[IndicatorSet]) -> None:
    v1, v2, _ = chain
    v3 = load_indicator_set(_version(3, {
        "total": _int("总人口"), "male_young": _int("男（60岁以下）"), "male_old": _int("男（60岁及以上）"),
        "women": _int("女"), "area_ha": _area("面积", "公顷"), "old_kind": _int("户数", "户"),
        "young_all": _int("60岁以下")}, [
        {"kind": "merge", "from": ["pop.male_young", "pop.women"], "to": "pop.young_all"},
    ]), previous=v2)  # fmt: skip
    merged = correspondence_across([v1, v2, v3])["pop.young_all"]
    # a part of v2's split merged with another field: not v1's whole field any more
    assert merged.comparable is False and set(merged.old_keys) == {"pop.male", "pop.female"}


def test_prefill_through_the_version_between(chain: list[IndicatorSet]) -> None:
    last_year = {"pop": {"total": 10, "male": 4, "female": 6, "area": 30, "old_kind": 3},
                 "people": [{"name": "甲", "age": 30}]}  # fmt: skip
    draft = carry_forward_across(chain, last_year)
    assert draft["pop"] == {"total": 10, "land_ha": 2.0}  # split, merged, not comparable: not carried
    assert draft["people"] == [{"name": "甲", "age": 30}]


def test_adjacent_versions_still_checked(chain: list[IndicatorSet]) -> None:
    v1, _, v3 = chain
    with pytest.raises(BadInput, match="v3 的映射来自 v2，不能直接与 v1 对应"):
        correspondence_across([v1, v3])  # a chain that skips the version the mappings come from


def test_a_split_kept_by_the_next_version_is_still_compared_as_a_sum(chain: list[IndicatorSet]) -> None:
    v1, v2, _ = chain
    v3 = load_indicator_set(_version(3, {
        "total": _int("总人口"), "male_young": _int("男（60岁以下）"), "male_senior": _int("男（60岁及以上）"),
        "women": _int("女"), "area_ha": _area("面积", "公顷"), "old_kind": _int("户数", "户")}, [
        {"kind": "rename", "from": "pop.male_old", "to": "pop.male_senior"},
    ]), previous=v2)  # fmt: skip
    table = correspondence_across([v1, v2, v3])
    for part in ("pop.male_young", "pop.male_senior"):
        c = table[part]
        assert (c.old_keys, c.comparable, c.split_parts) == (("pop.male",), False, ("pop.male_young", "pop.male_senior"))
    assert table["pop.women"].comparable and table["pop.women"].old_keys == ("pop.female",)


def test_a_field_new_two_versions_back_is_named_by_the_version_that_added_it() -> None:
    """v1 -> v4 through v2 (adds 儿童) and v3 (changes nothing): 儿童 is new in v2, not in v3 (a v4
    collection compared with v1's was told "v3 新增指标")."""
    fields = {"total": _int("总人口")}
    chain = [load_indicator_set(_version(1, fields, None))]
    fields = {**fields, "children": _int("儿童")}
    for n in (2, 3, 4):
        chain.append(load_indicator_set(_version(n, fields, []), previous=chain[-1]))
    for end in (3, 4):
        table = correspondence_across(chain[:end])
        children = table["pop.children"]
        assert (children.old_keys, children.comparable) == ((), False)
        assert children.note == "v2 新增指标，更早的版本中没有可对比的数据", end
        assert table["pop.total"].comparable and table["pop.total"].note is None


def test_a_note_names_its_version_once_through_several_steps(chain: list[IndicatorSet]) -> None:
    """v1 -> v5 through v3 and a v4 and v5 that change nothing: v2's and v3's notes are named once
    (a v4 collection compared with v1's read "v3：v2：改名")."""
    v1, v2, v3 = chain
    fields = {"total": _int("总人口"), "male": _int("男"), "women_young": _int("女（60岁以下）"),
              "women_old": _int("女（60岁及以上）"), "land_ha": _area("面积", "公顷"), "old_kind": _int("户数", "户"),
              "children": _int("儿童")}  # fmt: skip
    v4 = load_indicator_set(_version(4, fields, []), previous=v3)
    v5 = load_indicator_set(_version(5, fields, []), previous=v4)
    for versions in ([v1, v2, v3], [v1, v2, v3, v4], [v1, v2, v3, v4, v5]):
        table = correspondence_across(versions)
        assert table["pop.old_kind"].note == "v2：口径改变", len(versions)
        assert table["pop.women_young"].note.startswith("v2：改名；v3：由 pop.women 拆分"), len(versions)
    assert correspondence_across([v1, v2, v3, v4, v5])["pop.children"].note == "v3 新增指标，更早的版本中没有可对比的数据"
