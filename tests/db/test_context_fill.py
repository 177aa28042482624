"""x-fill against PostgreSQL: a report's unit code, unit name and year are the report's own — set for
every submission when the collection starts (over last year's carried values), and on every save,
check and submit whatever the clerk or client sent (service, API, fill page). The sets are the shipped
ones: village_basic v3 and elderly_allowance v2 are the versions that fill their identity fields."""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import re

import pytest
from sqlalchemy import select

from engine import submissions
from engine.auth import create_api_token, create_user
from engine.collections import start_collection
from engine.db.models import OrgUnit, Submission, User
from engine.forms import formdata_for, page_for
from engine.orgs import ancestor_at
from engine.roles import Level
from engine.submissions import SubmitItem, submit_many
from tests.conftest import PASSWORD, ROOT, login, principal_of, statements_sent
from tests.db.test_rollups import review, reviewer_of, sub_of, submit, variant

COUNTY = "390121000000"
XIKOU = "390121101201"
LINGXIA = "390121201202"
INDICATORS = ROOT / "definitions/indicators"
V3_EXAMPLE = INDICATORS / "village_basic/examples/v3/valid-lingxia-2025.json"
ELDERLY_V2_EXAMPLE = INDICATORS / "elderly_allowance/examples/v2/valid-lingxia-2024-10.json"
FILLED = {"division_code": "unit.code", "village_name": "unit.name", "report_year": "period.year"}


def report_of_another_unit() -> dict:
    """A valid v3 report as 岭下村 typed it for 2025 — sent for another unit, with last year's year."""
    doc = json.loads(V3_EXAMPLE.read_text("utf-8"))
    doc["basic"].update(division_code=LINGXIA, village_name="岭下村", report_year=2024)
    return doc


def unit_name(db, org: str) -> str:
    return db.get(OrgUnit, org).name


def identity(data: dict) -> tuple:
    basic = data.get("basic", {})
    return basic.get("division_code"), basic.get("village_name"), basic.get("report_year")


@pytest.fixture
def v3_collection(collection, published, db):
    """Last year's (v1, 2024) report of 溪口村 is final; this year's collection runs on the shipped v3,
    which fills them (v2, published between, was never collected: the prefill goes through it)."""
    sub = submit(db, collection, XIKOU, variant(1, XIKOU))  # variant: division_code is right, name 岭下村
    review(db, reviewer_of(db, "township_reviewer", ancestor_at(XIKOU, Level.TOWNSHIP)), sub.id)
    review(db, "rev_county", sub.id)
    assert sub_of(db, collection, XIKOU).status == "final"
    v3_id = published[("indicator_set", "village_basic", 3)]
    started = start_collection(
        db, title="2025年村级基本情况年报", period="2025", scope_org_code=COUNTY, indicator_set_version_id=v3_id,
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31))
    db.commit()
    assert started.prefilled == 1
    return started.collection


def test_collection_start_fills_every_submission_over_last_years_values(v3_collection, db):
    subs = db.scalars(select(Submission).where(Submission.collection_id == v3_collection.id)).all()
    assert len(subs) == 10
    for sub in subs:
        assert identity(sub.data) == (sub.org_code, unit_name(db, sub.org_code), 2025), sub.org_code
    carried = sub_of(db, v3_collection, XIKOU).data
    # last year's 岭下村 and 2024 are gone; the rest of last year's report is still carried
    assert carried["basic"]["unit_kind"] == "village" and carried["population"]["pop_total"] == 1350
    assert set(sub_of(db, v3_collection, "390121101202").data) == {"basic"}  # nothing to carry: only these


def test_save_and_submit_store_the_units_values_whatever_was_sent(v3_collection, db):
    clerk = principal_of(db, "clerk_xikou")
    sub = sub_of(db, v3_collection, XIKOU)
    sent = report_of_another_unit()
    saved = submissions.save_draft(db, clerk, sub.id, sent, revision=sub.revision)
    db.commit()
    expected = (XIKOU, unit_name(db, XIKOU), 2025)
    assert identity(saved.data) == expected and identity(sent) == (LINGXIA, "岭下村", 2024)  # sent: not modified
    db.expire_all()
    assert identity(sub_of(db, v3_collection, XIKOU).data) == expected

    # the check judges the report as it would be stored: a year and code out of range do not count
    result = submissions.validate(db, sub_of(db, v3_collection, XIKOU), {**sent, "basic": {
        **sent["basic"], "report_year": 1900, "division_code": "bad"}})
    assert result.ok, [p.message for p in result.errors]

    out = submissions.submit(db, clerk, sub.id, sent, revision=saved.revision)
    db.commit()
    assert out.submitted, [p.message for p in out.validation.errors]
    assert identity(out.validation.data) == expected
    db.expire_all()
    stored = sub_of(db, v3_collection, XIKOU)
    assert stored.status == "submitted" and identity(stored.data) == expected


def test_a_report_only_the_filled_values_make_valid_is_valid(v3_collection, db):
    """What a clerk cannot change cannot keep a report back: a year out of range, a malformed code."""
    clerk = principal_of(db, "clerk_xikou")
    sub = sub_of(db, v3_collection, XIKOU)
    sent = report_of_another_unit()
    sent["basic"].update(report_year=1900, division_code="岭下", village_name="")
    out = submissions.submit(db, clerk, sub.id, sent, revision=sub.revision)
    db.commit()
    assert out.submitted, [p.message for p in out.validation.errors]
    assert identity(sub_of(db, v3_collection, XIKOU).data) == (XIKOU, unit_name(db, XIKOU), 2025)


def test_an_invalid_submit_stores_the_draft_with_the_units_values(v3_collection, db):
    clerk = principal_of(db, "clerk_xikou")
    sub = sub_of(db, v3_collection, XIKOU)
    sent = report_of_another_unit()
    sent["population"]["pop_male"] += 1  # male + female != total: a hard rule
    out = submissions.submit(db, clerk, sub.id, sent, revision=sub.revision)
    db.commit()
    assert not out.submitted
    db.expire_all()
    assert identity(sub_of(db, v3_collection, XIKOU).data) == (XIKOU, unit_name(db, XIKOU), 2025)


def test_a_submit_of_a_filled_version_adds_one_read_for_the_whole_batch(v3_collection, db, db_engine):
    clerk = principal_of(db, "clerk_xikou")
    sub = sub_of(db, v3_collection, XIKOU)
    submissions.model_for(db, sub)
    with statements_sent(db_engine) as seen:
        out = submissions.submit(db, clerk, sub.id, report_of_another_unit(), revision=sub.revision)
        db.commit()
    assert out.submitted
    context_reads = [s for s in seen if "org_units" in s]
    assert len(context_reads) == 1 and "collections.period" in context_reads[0], seen
    assert sum("FOR UPDATE" in s for s in seen) == 1
    assert len([s for s in seen if not s.lstrip().startswith("SELECT")]) == 1  # one write, as without x-fill


def test_submit_many_stores_each_units_values(v3_collection, db):
    orgs = [XIKOU, "390121101202"]
    create_user(db, "clerk_two_villages", PASSWORD, roles=[("village_clerk", org) for org in orgs])
    db.commit()
    clerk = principal_of(db, "clerk_two_villages")
    items = [SubmitItem(sub_of(db, v3_collection, org).id, report_of_another_unit(), 0) for org in orgs]
    results = submit_many(db, clerk, items)
    db.commit()
    assert [r.submitted for r in results] == [True, True], [(r.message, r.problems) for r in results]
    db.expire_all()
    for org in orgs:
        assert identity(sub_of(db, v3_collection, org).data) == (org, unit_name(db, org), 2025)


def test_the_api_stores_and_checks_the_units_values(v3_collection, db, client):
    user = db.scalar(select(User).where(User.username == "clerk_xikou"))
    headers = {"Authorization": f"Bearer {create_api_token(db, user, 'test')}"}
    db.commit()
    sub = sub_of(db, v3_collection, XIKOU)
    expected = [XIKOU, unit_name(db, XIKOU), 2025]
    sent = report_of_another_unit()

    resp = client.put(f"/api/v1/submissions/{sub.id}", json={"data": sent, "revision": 0}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert list(identity(resp.get_json()["data"])) == expected

    bad = copy.deepcopy(sent)
    bad["basic"]["report_year"] = 1900
    resp = client.post(f"/api/v1/submissions/{sub.id}/validate", json={"data": bad}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["ok"], resp.get_json()

    resp = client.post(f"/api/v1/submissions/{sub.id}/submit", json={"data": bad, "revision": 1}, headers=headers)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert list(identity(resp.get_json()["data"])) == expected
    db.expire_all()
    assert list(identity(sub_of(db, v3_collection, XIKOU).data)) == expected


def _hidden(page_html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page_html).group(1)


def test_the_fill_page_shows_them_read_only_and_its_post_cannot_change_them(v3_collection, db, client):
    sub = sub_of(db, v3_collection, XIKOU)
    ind = submissions.model_for(db, sub)
    login(client, "clerk_xikou")
    url = f"/submissions/{sub.id}/page/{page_for(ind, 'basic').number}"
    page = html.unescape(client.get(url).get_data(as_text=True))
    for name, value in (("division_code", XIKOU), ("village_name", unit_name(db, XIKOU)), ("report_year", "2025")):
        tag = re.search(rf'<input[^>]*name="basic-{name}"[^>]*>', page).group(0)
        assert "readonly" in tag and f'value="{value}"' in tag, tag
        assert f'aria-describedby="basic-{name}-fill' in tag, tag
    assert page.count("由系统按本单位填写，不能修改") == 2 and page.count("按本期自动填写，不能修改") == 1
    unit_kind = re.search(r'<input[^>]*name="basic-unit_kind"[^>]*>', page).group(0)
    assert "readonly" not in unit_kind and "disabled" not in unit_kind

    # a browser whose inputs were tampered with posts other values: the unit's are stored
    posted = {k: v for k, v in formdata_for(ind, report_of_another_unit()).items() if k.startswith("basic-")}
    assert posted["basic-division_code"] == LINGXIA
    posted["basic-villager_group_count"] = "9"
    resp = client.post(url, data={"csrf_token": _hidden(page, "csrf_token"), "__revision__": "0", **posted,
                                  "__save__": "1"})
    assert resp.status_code == 302
    db.expire_all()
    stored = sub_of(db, v3_collection, XIKOU)
    assert stored.revision == 1 and identity(stored.data) == (XIKOU, unit_name(db, XIKOU), 2025)
    assert stored.data["basic"]["villager_group_count"] == 9  # what the clerk may type is stored as typed

    # moving on without a change adds no revision: the filled values the page does not post are no change
    page = client.get(url).get_data(as_text=True)
    posted = {k: v for k, v in formdata_for(ind, stored.data).items()
              if k.startswith("basic-") and k.split("-")[1] not in FILLED}
    resp = client.post(url, data={"csrf_token": _hidden(page, "csrf_token"), "__revision__": "1", **posted,
                                  "__next__": "1"})
    assert resp.status_code == 302
    db.expire_all()
    assert sub_of(db, v3_collection, XIKOU).revision == 1


# --- elderly_allowance v2: the roster's 区划代码 and 发放月份 --------------------------------------------


@pytest.fixture
def elderly_v2(published, db):
    started = start_collection(
        db, title="2024年10月高龄津贴发放", period="2024-10", scope_org_code=COUNTY,
        indicator_set_version_id=published[("indicator_set", "elderly_allowance", 2)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2024, 10, 1), deadline=dt.date(2024, 10, 31))
    db.commit()
    return started.collection


def test_the_elderly_roster_takes_its_code_and_month_from_the_unit_and_period(elderly_v2, db):
    subs = db.scalars(select(Submission).where(Submission.collection_id == elderly_v2.id)).all()
    assert subs and all(sub.data == {"header": {"division_code": sub.org_code, "period": "2024-10"}} for sub in subs)

    sent = json.loads(ELDERLY_V2_EXAMPLE.read_text("utf-8"))  # 岭下村's roster, sent by 溪口村 for September
    sent["header"].update(division_code=LINGXIA, period="2024-09")
    sub = sub_of(db, elderly_v2, XIKOU)
    out = submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, sent, revision=sub.revision)
    db.commit()
    assert out.submitted, [p.message for p in out.validation.errors]
    db.expire_all()
    stored = sub_of(db, elderly_v2, XIKOU)
    assert stored.status == "submitted"
    assert stored.data["header"] == {**sent["header"], "division_code": XIKOU, "period": "2024-10"}
    assert stored.data["elders"] == out.validation.data["elders"] and len(stored.data["elders"]) == 5
