"""A multiple choice (可多选) through the running system: the fill page's checkboxes posted and stored,
the review page, per-option roll-ups after approvals and a withdrawal (rebuild equal), the roll-up API
and page, and the CSV export. The set is the docs example docs/examples/village_facilities/v1.json."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import re

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

import engine.rollups  # noqa: F401  (registers the approval listener)
from engine import submissions
from engine.auth import create_api_token
from engine.collections import start_collection
from engine.db.models import Submission, User, WorkflowTask
from engine.exports import FORMATS, plan_export
from engine.orgs import ancestor_at
from engine.publishing import publish_indicator_set
from engine.roles import Level
from engine.rollups import rollup_report
from tests.conftest import ROOT, login, principal_of
from tests.db.test_rollups import (
    BAISHI_V,
    COUNTY,
    SHANGJIE,
    XIKOU,
    YUNXI,
    assert_rebuild_equals_incremental,
    clerk,
    review,
    reviewer_of,
    sub_of,
)

EXAMPLE = ROOT / "docs" / "examples" / "village_facilities"


def report(available: list[str], **more) -> dict:
    data = json.loads((EXAMPLE / "examples/v1/valid-xikou-2025.json").read_text(encoding="utf-8"))
    data["facilities"]["available"] = available
    if "other" not in available:
        data["facilities"].pop("available_other")
    if "clinic" not in available:
        data["facilities"].pop("clinic_doctors")
    data["facilities"].pop("facility_kinds")
    data["facilities"].update(more)
    return data


@pytest.fixture
def facilities(published, db):
    doc = json.loads((EXAMPLE / "v1.json").read_text(encoding="utf-8"))
    version = publish_indicator_set(db, doc, code="village_facilities", version=1).id
    started = start_collection(
        db, title="2025年村级公共服务设施", period="2025", scope_org_code=COUNTY, indicator_set_version_id=version,
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31),
    )
    db.commit()
    return started.collection


def submit(db, collection, org: str, data: dict) -> Submission:
    """Submitted by the village's clerk; a village without a 卫生室 explains why (the soft rule)."""
    sub = sub_of(db, collection, org)
    out = submissions.submit(db, principal_of(db, clerk(db, org)), sub.id, data, revision=sub.revision,
                             explanations={"clinic_expected": "与邻村共用卫生室"})
    assert out.submitted, [p.message for p in out.validation.errors + out.validation.unexplained]
    db.commit()
    return out.submission


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def hidden(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def test_the_fill_page_posts_ticked_boxes_and_shows_them_back(client, facilities, db):
    login(client, "clerk_xikou")
    sub = sub_of(db, facilities, XIKOU)
    url = f"/submissions/{sub.id}/page/2"
    page = text(client.get(url))
    assert page.count('type="checkbox" value=') == 7 + 4 + 4  # 公共设施, 宽带, 取暖
    assert "<legend>村内公共设施" in page and "（可多选）" in page and "（可多选，最多 3 项）" in page
    posted = [("csrf_token", hidden(page, "csrf_token")), ("__revision__", hidden(page, "__revision__")),
              ("facilities-available", "clinic"), ("facilities-available", "other"),
              ("facilities-heating", "1"), ("facilities-heating", "3"), ("__save__", "1")]
    assert client.post(url, data=MultiDict(posted)).status_code == 302
    db.expire_all()
    stored = db.get(Submission, sub.id).data["facilities"]
    assert stored["available"] == ["clinic", "other"] and stored["heating"] == [1, 3]
    page = text(client.get(url))
    ticked = re.findall(r'<input [^>]*checked[^>]*name="facilities-available"[^>]*value="(\w+)"', page)
    assert ticked == ["clinic", "other"]
    assert "其他设施（请注明）" in page and "卫生室乡村医生人数" in page  # shown by what was ticked

    # every box unticked: the field is cleared, and submitting says what is missing, at the field
    page = text(client.get(url))
    posted = [("csrf_token", hidden(page, "csrf_token")), ("__revision__", hidden(page, "__revision__")),
              ("facilities-broadband", "电信"), ("facilities-broadband", "移动"), ("facilities-broadband", "联通"),
              ("facilities-broadband", "广电"), ("__submit__", "1")]
    resp = client.post(url, data=MultiDict(posted))
    db.expire_all()
    assert "available" not in db.get(Submission, sub.id).data["facilities"]
    shown = text(client.get(resp.location)) if resp.status_code == 302 else text(resp)
    assert "至少选择一项" in shown and "最多选择 3 项" in shown
    boxes = re.findall(r'<input [^>]*name="facilities-broadband"[^>]*>', shown)
    assert len(boxes) == 4 and all("checked" in b for b in boxes)  # what was posted comes back ticked


def test_review_page_and_history_show_the_titles(client, facilities, db):
    sub = submit(db, facilities, XIKOU, report(["clinic", "culture_hall"], clinic_doctors=1))
    task = db.scalar(select(WorkflowTask).where(WorkflowTask.submission_id == sub.id, WorkflowTask.state == "ready"))
    login(client, "rev_yunxi")
    page = text(client.get(f"/tasks/{task.id}"))
    assert "卫生室、文化礼堂" in page and "['clinic'" not in page
    assert "滑坡、山洪" in page  # a repeat row's multiple choice


def _figures(db, collection, org, principal=None):
    return rollup_report(db, collection, org, principal=principal, with_breakdown=False)


def test_per_option_counts_after_approvals_and_a_withdrawal(client, facilities, db):
    docs = {
        XIKOU: report(["clinic", "culture_hall", "other"], available_other="农家书屋", clinic_doctors=2),
        SHANGJIE: report(["clinic", "fitness"], clinic_doctors=1, heating=[]),
        BAISHI_V: report(["fitness"]),
    }
    subs = {org: submit(db, facilities, org, doc) for org, doc in docs.items()}
    for org, sub in subs.items():
        review(db, reviewer_of(db, "township_reviewer", ancestor_at(org, Level.TOWNSHIP)), sub.id)

    county = _figures(db, facilities, COUNTY)
    values = county.unit.values
    assert values["facilities.available=clinic"] == 2
    assert values["facilities.available=fitness"] == 2
    assert values["facilities.available=culture_hall"] == 1 and values["facilities.available=kindergarten"] == 0
    assert values["facilities.heating"] == 2  # units that answered ([] is no answer)
    assert values["settlements.hazards=landslide"] == 3  # rows: one per village
    labels = {f.key: f.label for f in county.figures}
    assert labels["facilities.available=clinic"] == "村内公共设施：卫生室"
    assert _figures(db, facilities, YUNXI).unit.values["facilities.available=clinic"] == 2

    review(db, "rev_county", subs[XIKOU].id, "return")  # leaves both stages
    values = _figures(db, facilities, COUNTY).unit.values
    assert values["facilities.available=clinic"] == 1 and values["facilities.available=culture_hall"] == 0
    assert_rebuild_equals_incremental(db, facilities)

    token = create_api_token(db, db.scalar(select(User).where(User.username == "rev_county")), "t")
    db.commit()
    base = f"/api/v1/collections/{facilities.id}/rollups"
    answer = client.get(f"{base}?org_unit={COUNTY}&key=facilities.available=clinic",
                        headers={"Authorization": f"Bearer {token}"}).get_json()
    (figure,) = [f for f in answer["figures"] if f["key"] == "facilities.available=clinic"]
    assert figure["label"] == "村内公共设施：卫生室"
    whole = client.get(f"{base}?org_unit={COUNTY}&key=facilities.available",
                       headers={"Authorization": f"Bearer {token}"}).get_json()
    assert "按选项分别汇总" in whole["error"]["message"] and "facilities.available=clinic" in whole["error"]["message"]

    login(client, "rev_county")
    page = text(client.get(f"/collections/{facilities.id}/rollups?org={COUNTY}"))
    assert "村内公共设施：卫生室" in page and "选择个数" in page
    drill = text(client.get(f"/collections/{facilities.id}/rollups/facilities.available=fitness?org={COUNTY}"))
    assert "村内公共设施：健身场地" in drill and "云溪镇" in drill


def test_csv_export_has_the_titles_and_a_column_per_option(facilities, db):
    submit(db, facilities, XIKOU, report(["clinic", "other"], available_other="农家书屋", clinic_doctors=2))
    sub = submit(db, facilities, SHANGJIE, report(["fitness"], broadband=["联通"]))
    for s in (sub_of(db, facilities, XIKOU), sub):
        review(db, reviewer_of(db, "township_reviewer", YUNXI), s.id)
    plan = plan_export(db, principal_of(db, "rev_county"), facilities.id)
    header, *rows = list(csv.reader(io.StringIO(b"".join(FORMATS["csv"].chunks(db, plan, None, None))
                                                .decode("utf-8-sig"))))
    by_code = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert by_code[XIKOU]["村内公共设施"] == "卫生室、其他"
    assert by_code[XIKOU]["村内公共设施：卫生室"] == "1" and by_code[XIKOU]["村内公共设施：健身场地"] == "0"
    assert by_code[SHANGJIE]["宽带接入运营商"] == "联通" and by_code[SHANGJIE]["宽带接入运营商：电信"] == "0"
    rows_csv = b"".join(FORMATS["csv"].chunks(db, plan, "settlements", None)).decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(rows_csv)))
    assert header[-5:] == ["地质灾害隐患", "地质灾害隐患：滑坡", "地质灾害隐患：泥石流", "地质灾害隐患：山洪", "地质灾害隐患：无"]
    assert rows[0][-5:] == ["滑坡、山洪", "1", "0", "1", "0"]
