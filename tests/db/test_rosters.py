"""Roster queries against PostgreSQL: 重阳节 counts of elderly ≥ 90 per township, listing rights, errors,
the API and the page."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter

import pytest
from sqlalchemy import select

from engine.auth import create_api_token, create_user
from engine.db.models import User
from engine.errors import BadInput, NotFound
from engine.rosters import count_rows
from tests.conftest import PASSWORD, login, principal_of
from tests.db.test_exports import (
    BAISHI,
    COUNTY,
    ELDERLY_EXAMPLE,
    ELDERLY_PLAN,
    SHANGJIE,
    XIKOU,
    YUNXI_TOWN,
    elderly_report,
    fill_elderly,
    start_elderly,
    submit,
)

DOUBLE_NINTH = "age(birth_date, date(\"2024-10-11\")) >= 90"
BAISHI_TOWN = "390121201000"
LINGXIA = "390121201202"


@pytest.fixture
def elderly(published, db):
    collection = start_elderly(db, published)
    subs = fill_elderly(db, collection)
    # 岭下村 submits its full roster but nobody approves it: it must not be counted.
    create_user(db, "clerk_lingxia", PASSWORD, roles=[("village_clerk", LINGXIA)])
    db.commit()
    submit(db, collection, LINGXIA, "clerk_lingxia", elderly_report(LINGXIA, (1, 2, 3, 4, 5)))
    return collection, subs


def independent_counts(cutoff: dt.date, min_age: int) -> Counter:
    """Counted from the example file's birth dates with plain date arithmetic, per township code."""
    births = {row["seq"]: dt.date.fromisoformat(row["birth_date"])
              for row in json.loads(ELDERLY_EXAMPLE.read_text(encoding="utf-8"))["elders"]}

    def age(born: dt.date) -> int:
        return cutoff.year - born.year - ((cutoff.month, cutoff.day) < (born.month, born.day))

    counts: Counter = Counter()
    for org, seqs in ELDERLY_PLAN.items():  # the approved villages
        counts[org[:9] + "000"] += sum(1 for s in seqs if age(births[s]) >= min_age)
    return counts


def test_double_ninth_count_per_township_equals_an_independent_count(elderly, db):
    collection, _ = elderly
    result = count_rows(db, principal_of(db, "rev_county"), collection.id, "elders", DOUBLE_NINTH, "township",
                        COUNTY)
    expected = independent_counts(dt.date(2024, 10, 11), 90)
    assert {g.code: g.count for g in result.groups} == dict(expected) == {YUNXI_TOWN: 4, BAISHI_TOWN: 4}
    assert result.total == 8
    by_code = {g.code: g for g in result.groups}
    assert (by_code[YUNXI_TOWN].name, by_code[YUNXI_TOWN].rows) == ("云溪镇", 5)
    assert (by_code[BAISHI_TOWN].approved_units, by_code[BAISHI_TOWN].units) == (1, 5)
    assert result.rows is None  # not asked for


def test_other_cutoffs_and_group_levels(elderly, db):
    collection, _ = elderly
    p = principal_of(db, "rev_county")
    later = count_rows(db, p, collection.id, "elders", 'age(birth_date, date("2026-10-29")) >= 90', 4, COUNTY)
    assert {g.code: g.count for g in later.groups} == dict(independent_counts(dt.date(2026, 10, 29), 90))
    villages = count_rows(db, p, collection.id, "elders", "age >= 95", "村", COUNTY)
    assert {g.code: g.count for g in villages.groups if g.count} == {SHANGJIE: 2, BAISHI: 2}
    assert len(villages.groups) == 10  # every village of the county, zero where nothing matches
    county = count_rows(db, p, collection.id, "elders", "status == '新增'", "county")
    assert [(g.code, g.count) for g in county.groups] == [(COUNTY, 2)]


def test_listing_only_for_roles_that_see_personal_data(elderly, db):
    collection, subs = elderly
    allowed = count_rows(db, principal_of(db, "rev_county"), collection.id, "elders", DOUBLE_NINTH,
                         org_unit=COUNTY, list_rows=True)
    assert allowed.rows_allowed and len(allowed.rows) == 8
    first = allowed.rows[0]
    assert (first.org_code, first.unit_name, first.index, first.submission_id) == (
        XIKOU, "溪口村委会", 1, subs[XIKOU].id)
    assert first.values["id_number"] == "390121193205120013" and first.values["name"] == "赵大山"
    # the viewer counts by a field it may read (age at the report's cutoff, not the birth date)
    readable = count_rows(db, principal_of(db, "rev_county"), collection.id, "elders", "age >= 90", org_unit=COUNTY)
    viewer = count_rows(db, principal_of(db, "viewer"), collection.id, "elders", "age >= 90",
                        org_unit=COUNTY, list_rows=True)
    assert not viewer.rows_allowed and viewer.rows is None
    assert viewer.total == readable.total > 0  # the count itself is statistical


@pytest.mark.parametrize(("condition", "named"), [
    ('id_number == "390121193205120013"', "「公民身份号码」（id_number）"),  # a yes/no question about one person
    ('name == "钱秀英" and id_number > "390121192910090020"', "「姓名」（name）、「公民身份号码」（id_number）"),
    ('health_note == "行动不便，需轮椅"', "「健康/失能情况」（health_note）"),
    (DOUBLE_NINTH, "「出生日期」（birth_date）"),  # scanning the cutoff day by day finds the birthdays
])
def test_a_condition_reads_only_what_its_caller_may_read(elderly, db, condition, named):
    collection, _ = elderly
    with pytest.raises(BadInput) as refused:
        count_rows(db, principal_of(db, "viewer"), collection.id, "elders", condition, org_unit=COUNTY)
    assert refused.value.message.startswith(f"条件引用了个人信息字段{named}，")
    assert refused.value.data_path == "condition"
    # roles that read personal data of the whole subtree may filter on it
    assert count_rows(db, principal_of(db, "rev_county"), collection.id, "elders", condition, org_unit=COUNTY)
    count_rows(db, principal_of(db, "rev_yunxi"), collection.id, "elders", condition, org_unit=YUNXI_TOWN)


def test_scope_limits_the_count(elderly, db):
    collection, _ = elderly
    township = count_rows(db, principal_of(db, "rev_yunxi"), collection.id, "elders", DOUBLE_NINTH,
                          "village", COUNTY)
    assert {g.code[:9] for g in township.groups} == {YUNXI_TOWN[:9]}
    assert township.total == 4
    with pytest.raises(NotFound, match="单位不存在或无权查看"):  # a unit beside the caller's reads as unknown
        count_rows(db, principal_of(db, "rev_baishi"), collection.id, "elders", DOUBLE_NINTH, "village",
                   YUNXI_TOWN)


def test_personal_conditions_need_personal_access_to_every_unit_counted(elderly, db):
    collection, _ = elderly
    # reviewer at 云溪镇 (personal data) and viewer at 白石乡 (counts only): a county-wide count reads both
    create_user(db, "mixed", PASSWORD, roles=[("township_reviewer", YUNXI_TOWN), ("department_viewer", BAISHI_TOWN)])
    db.commit()
    mixed = principal_of(db, "mixed")
    with pytest.raises(BadInput, match="条件引用了个人信息字段「出生日期」"):
        count_rows(db, mixed, collection.id, "elders", DOUBLE_NINTH, "township", COUNTY)
    assert count_rows(db, mixed, collection.id, "elders", DOUBLE_NINTH, "village", YUNXI_TOWN).total == 4
    assert count_rows(db, mixed, collection.id, "elders", "age >= 90", "township", COUNTY).total > 4


@pytest.mark.parametrize(("condition", "message"), [
    ("age >=", "无效"),
    ("weight > 3", "「weight」不是本指标集的字段"),
    ("__import__('os')", "条件"),
    ("", "请填写条件"),
    ("age + 1", "结果应为“是/否”"),
])
def test_bad_conditions_get_chinese_errors(elderly, db, condition, message):
    collection, _ = elderly
    with pytest.raises(BadInput, match=re.escape(message)):
        count_rows(db, principal_of(db, "rev_county"), collection.id, "elders", condition, "township", COUNTY)


def test_bad_repeat_and_level(elderly, db):
    collection, _ = elderly
    p = principal_of(db, "rev_county")
    with pytest.raises(BadInput, match="不是指标集《高龄津贴发放花名册》的明细表"):
        count_rows(db, p, collection.id, "header", "age >= 90", "township", COUNTY)
    with pytest.raises(BadInput, match="分组层级"):
        count_rows(db, p, collection.id, "elders", "age >= 90", "city", COUNTY)
    with pytest.raises(BadInput, match="分组层级"):
        count_rows(db, p, collection.id, "elders", "age >= 90", "parish", COUNTY)


# --- API and page -----------------------------------------------------------------------------------


def _bearer(db, username: str) -> dict[str, str]:
    token = create_api_token(db, db.scalar(select(User).where(User.username == username)), "test")
    db.commit()
    return {"Authorization": f"Bearer {token}"}


def test_api_roster_query(client, elderly, db):
    collection, _ = elderly
    url = f"/api/v1/collections/{collection.id}/roster-query"
    resp = client.post(url, json={"array_key": "elders", "condition": DOUBLE_NINTH, "group_level": "township",
                                  "org_unit": COUNTY, "list": True}, headers=_bearer(db, "rev_county"))
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    body = resp.get_json()
    assert body["total"] == 8 and [g["count"] for g in body["groups"]] == [4, 4]
    assert len(body["rows"]) == 8 and body["rows"][0]["values"]["name"] == "赵大山"
    viewer = client.post(url, json={"array_key": "elders", "condition": "age >= 90", "list": True},
                         headers=_bearer(db, "viewer")).get_json()
    assert viewer["total"] > 0 and viewer["rows"] is None and viewer["rows_allowed"] is False
    masked = client.post(url, json={"array_key": "elders", "condition": 'name == "赵大山"'},
                         headers=_bearer(db, "viewer"))
    assert masked.status_code == 400
    assert masked.get_json()["error"]["details"]["fields"] == ["elders.name"]
    bad = client.post(url, json={"array_key": "elders", "condition": "weight > 1"}, headers=_bearer(db, "viewer"))
    assert bad.status_code == 400 and "不是本指标集的字段" in bad.get_json()["error"]["message"]
    assert client.post(url, data="x", headers=_bearer(db, "viewer")).status_code == 400
    assert client.post(url, json={"array_key": "elders", "condition": "age > 1"}).status_code == 401


def test_roster_page(client, elderly, db):
    collection, _ = elderly
    login(client, "rev_county")
    page = client.get(f"/collections/{collection.id}/roster-query", query_string={
        "org_unit": COUNTY, "array_key": "elders", "condition": DOUBLE_NINTH, "group_level": "4", "list": "1"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'data-code="390121101000">.*?<td class="num count">4</td>', html, re.S)
    assert "共 8 行符合条件" in html and "赵大山" in html
    bad = client.get(f"/collections/{collection.id}/roster-query",
                     query_string={"org_unit": COUNTY, "array_key": "elders", "condition": "age >="})
    assert bad.status_code == 200 and "条件「age &gt;=」无效" in bad.get_data(as_text=True)
    login(client, "viewer")
    html = client.get(f"/collections/{collection.id}/roster-query", query_string={
        "array_key": "elders", "condition": "age >= 90", "list": "1"}).get_data(as_text=True)
    assert "行符合条件" in html and "赵大山" not in html and "只显示人数" in html
    refused = client.get(f"/collections/{collection.id}/roster-query", query_string={
        "array_key": "elders", "condition": DOUBLE_NINTH}).get_data(as_text=True)
    assert "条件引用了个人信息字段「出生日期」（birth_date）" in refused  # on the form, the condition kept
    assert "date(&#34;2024-10-11&#34;)" in refused or "date(&quot;2024-10-11&quot;)" in refused
