"""Free text written about a report — a clerk's explanations, a reviewer's overall and field comments —
and validation answers, through the API (each answer checked against the OpenAPI document), for readers
who may not see personal data: a line department's viewer, a city reviewer and the provincial
administrator. A township reviewer, who may, reads everything as written.

The roster: 李桂兰's ID number makes her 105 (the soft rule ``age_over_105``, shown on the ID number); the
clerk explains it quoting her name and number. The township returns the report quoting 赵大山's name and
number, the clerk corrects the name to 赵大三, the township approves it.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import select

from engine import submissions, tasks
from engine.auth import create_user
from engine.collections import start_collection
from engine.db.models import Submission, WorkflowTask
from engine.masking import MASK, MASKED_COMMENT, MASKED_EXPLANATION, MASKED_PROBLEMS
from tests.conftest import PASSWORD, login, principal_of
from tests.db.test_api_tasks import Api
from tests.db.test_exports import COUNTY, SHANGJIE, XIKOU, approve, elderly_report

CITY = "390100000000"
LI_ID = "390121191901050048"  # born 1919-01-05: 105 at the cutoff date
ZHAO_ID = "390121193205120013"
EXPLANATION = f"已核实：李桂兰 身份证{LI_ID} 与户口本一致"
OTHER_EXPLANATION = "赵大山 200 元已与存折核对"  # on a rule about the amount: masked, not hidden
COMMENT = f"总体意见：赵大山身份证{ZHAO_ID}有误，请核实"
AMOUNT_COMMENT = "月发放金额：金额… 赵大山 200"
NAME_COMMENT = "姓名应为赵大三"
HIDDEN_READERS = ("viewer", "rev_city", "admin")
PERSONAL_PATHS = {"elders.0.name", "elders.0.id_number"}


def _roster() -> dict:
    doc = elderly_report(XIKOU, (1, 2, 3, 4))
    doc["elders"][3]["id_number"] = LI_ID
    return doc


@pytest.fixture
def city_reviewer(role_users, db):
    create_user(db, "rev_city", PASSWORD, roles=[("city_reviewer", CITY)])
    db.commit()


@pytest.fixture
def returned(published, city_reviewer, db):
    """The roster of 溪口村, submitted with the explanations and returned by the township; its submission."""
    collection = start_collection(
        db, title="2024年10月高龄津贴发放", period="2024-10", scope_org_code=COUNTY,
        indicator_set_version_id=published[("indicator_set", "elderly_allowance", 1)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2024, 10, 1), deadline=dt.date(2024, 10, 31),
    ).collection
    db.commit()
    sub = db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == XIKOU))
    explanations = {"age_over_105": EXPLANATION, "amount_matches_band": OTHER_EXPLANATION}
    out = submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, _roster(), revision=sub.revision,
                             explanations=explanations)
    assert out.submitted, [p.message for p in out.validation.errors + out.validation.unexplained]
    db.commit()
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), _ready_review(db, sub.id).id, {
        "decision": "return", "comment": COMMENT,
        "field_comments": {"elders.0.monthly_amount": AMOUNT_COMMENT, "elders.0.name": NAME_COMMENT}})
    db.commit()
    return db.get(Submission, sub.id)


@pytest.fixture
def approved(returned, db):
    """The same roster with 赵大山's name corrected to 赵大三, approved by the township."""
    corrected = _roster()
    corrected["elders"][0]["name"] = "赵大三"
    assert submissions.submit(db, principal_of(db, "clerk_xikou"), returned.id, corrected,
                              revision=returned.revision).submitted
    db.commit()
    approve(db, "rev_yunxi", returned)
    db.refresh(returned)
    assert returned.status == "approved"
    return returned


def _ready_review(db, submission_id: int) -> WorkflowTask:
    return db.scalar(select(WorkflowTask).where(WorkflowTask.submission_id == submission_id,
                                                WorkflowTask.kind == "review", WorkflowTask.state == "ready"))


def _approving_review(db, sub) -> WorkflowTask:
    return db.scalar(select(WorkflowTask).where(WorkflowTask.submission_id == sub.id, WorkflowTask.decision == "approve")
                     .order_by(WorkflowTask.id.desc()).limit(1))


def _absent(body: object, *secrets: str) -> None:
    text = repr(body)
    for secret in secrets:
        assert secret not in text, (secret, text)


# --- 1. explanations ----------------------------------------------------------------------------------


def test_explanations_are_masked_for_readers_who_may_not_see_personal_data(app, approved, db):
    for name in HIDDEN_READERS:
        body = Api(app, name).get(f"/api/v1/submissions/{approved.id}")
        assert body["masked"] is True
        assert body["explanations"] == {"age_over_105": MASKED_EXPLANATION,
                                        "amount_matches_band": f"{MASK} 200 元已与存折核对"}, name
        _absent(body, "李桂兰", LI_ID, "赵大山", "赵大三")
    seen = Api(app, "rev_yunxi").get(f"/api/v1/submissions/{approved.id}")
    assert seen["explanations"] == {"age_over_105": EXPLANATION, "amount_matches_band": OTHER_EXPLANATION}


def test_the_review_of_a_task_masks_explanations_and_warnings(app, approved, db):
    task = _approving_review(db, approved)
    for name in ("rev_city", "admin"):
        body = Api(app, name).get(f"/api/v1/tasks/{task.id}")
        assert body["submission"]["explanations"]["age_over_105"] == MASKED_EXPLANATION
        # the warning on 李桂兰's ID number says only that a personal field has one
        assert body["warnings"] == [{"rule_id": "personal", "message": MASKED_PROBLEMS["soft"],
                                     "explanation": MASKED_EXPLANATION}], name
        _absent(body, "李桂兰", LI_ID, "赵大山", ZHAO_ID, "105 周岁")
    # the viewer reads approved data only: not the task
    assert Api(app, "viewer").get(f"/api/v1/tasks/{task.id}", status=404)["error"]["code"] == "not_found"
    seen = Api(app, "rev_yunxi").get(f"/api/v1/tasks/{task.id}")
    assert seen["warnings"] == [{"rule_id": "age_over_105", "message": "年龄在 105 周岁及以上，请核实身份信息",
                                 "explanation": EXPLANATION}]
    assert seen["submission"]["explanations"]["age_over_105"] == EXPLANATION


# --- 2. review comments -------------------------------------------------------------------------------


def test_review_comments_are_masked_for_readers_who_may_not_see_personal_data(app, approved, db):
    masked_steps = {"comment": f"总体意见：{MASK}身份证{MASK}有误，请核实",
                    "field_comments": {"elders.0.monthly_amount": f"月发放金额：金额… {MASK} 200",
                                       "elders.0.name": MASKED_COMMENT}}
    task = _approving_review(db, approved)
    for name in ("rev_city", "admin"):
        api = Api(app, name)
        history = api.get(f"/api/v1/submissions/{approved.id}/history")
        [step] = [s for s in history["steps"] if s["decision"] == "return"]
        # 赵大山 is 赵大三 now: the name the comment quotes is masked from the revision it was written on
        assert {k: step[k] for k in masked_steps} == masked_steps, name
        [back] = api.get(f"/api/v1/tasks/{task.id}")["returns"]
        assert {k: back[k] for k in masked_steps} == masked_steps, name
        _absent(history, "赵大山", ZHAO_ID, NAME_COMMENT)
    # the viewer does not read the record before approval at all
    assert Api(app, "viewer").get(f"/api/v1/submissions/{approved.id}/history", status=404)["error"]["code"] == "not_found"
    history = Api(app, "rev_yunxi").get(f"/api/v1/submissions/{approved.id}/history")
    [step] = [s for s in history["steps"] if s["decision"] == "return"]
    assert step["comment"] == COMMENT
    assert step["field_comments"] == {"elders.0.monthly_amount": AMOUNT_COMMENT, "elders.0.name": NAME_COMMENT}


# --- 3. validation answers ----------------------------------------------------------------------------


@pytest.fixture
def bad_draft(approved, db):
    """A draft of 上街村 with a name of 40 characters and an ID number that is no valid one."""
    sub = db.scalar(select(Submission).where(Submission.collection_id == approved.collection_id,
                                             Submission.org_code == SHANGJIE))
    doc = elderly_report(SHANGJIE, (1,))
    doc["elders"][0]["name"] = "长" * 40
    doc["elders"][0]["id_number"] = "390121193205120014"
    submissions.save_draft(db, principal_of(db, "clerk_shangjie"), sub.id, doc, revision=sub.revision)
    db.commit()
    return sub


def test_checking_a_draft_does_not_tell_a_personal_value_s_length_or_shape(app, bad_draft, db):
    for name in ("rev_city", "admin"):
        body = Api(app, name).post(f"/api/v1/submissions/{bad_draft.id}/validate", {})
        errors = {(p["data_path"], p["message"], p["code"], p["rule_id"]) for p in body["errors"]}
        # (the amount's own problem stays: its field is not personal)
        assert {e for e in errors if e[0] in PERSONAL_PATHS} == {
            ("elders.0.name", MASKED_PROBLEMS["hard"], "personal", None),
            ("elders.0.id_number", MASKED_PROBLEMS["hard"], "personal", None)}, name
        _absent(body, "40", "公民身份号码无效", "maxLength")
    seen = Api(app, "rev_yunxi").post(f"/api/v1/submissions/{bad_draft.id}/validate", {})
    messages = {p["data_path"]: p["message"] for p in seen["errors"]}
    assert "40" in messages["elders.0.name"] and "公民身份号码无效" in messages["elders.0.id_number"]


def test_the_viewer_checking_an_approved_report_reads_its_warning_without_details(app, approved, db):
    body = Api(app, "viewer").post(f"/api/v1/submissions/{approved.id}/validate", {})
    assert body["errors"] == [] and body["ok"] is True
    assert body["warnings"] == [{"data_path": "elders.3.id_number", "message": MASKED_PROBLEMS["soft"],
                                 "code": "personal", "rule_id": None, "severity": "soft", "explained": True}]
    seen = Api(app, "rev_yunxi").post(f"/api/v1/submissions/{approved.id}/validate", {})
    assert [(w["rule_id"], w["explained"]) for w in seen["warnings"]] == [("age_over_105", True)]


# --- the pages of a returned report -------------------------------------------------------------------


def test_the_return_note_of_a_returned_report_is_masked_on_its_page(client, returned, db):
    login(client, "rev_city")
    body = html.unescape(client.get(f"/submissions/{returned.id}").get_data(as_text=True))
    assert f"总体意见：{MASK}身份证{MASK}有误" in body and f"金额… {MASK} 200" in body and MASKED_COMMENT in body
    _absent(body, "赵大山", ZHAO_ID, NAME_COMMENT)
    login(client, "rev_yunxi")
    body = html.unescape(client.get(f"/submissions/{returned.id}").get_data(as_text=True))
    assert COMMENT in body and AMOUNT_COMMENT in body and NAME_COMMENT in body


def test_a_reader_who_may_not_see_personal_data_is_not_shown_the_fill_page_by_posting_to_it(client, returned, db):
    """The fill page shows the return note and the explanations as written: a city reviewer posting a
    row button to it (which stores nothing) is sent to the read-only page instead."""
    login(client, "rev_city")
    home = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', home).group(1)
    for number in (1, 2):
        resp = client.post(f"/submissions/{returned.id}/page/{number}",
                           data={"csrf_token": token, "__add__elders": "1"})
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/submissions/{returned.id}")
        _absent(resp.get_data(as_text=True), "赵大山", ZHAO_ID)
    assert db.get(Submission, returned.id).revision == returned.revision  # nothing stored either
