"""A flow whose last review is the province's own (报省: after the county, 省级审核 in the 省级管理员 lane):
published, found in the administrator's inbox, returned and approved on the review page, and counted like
any other approval. Before, the province's approval left the county's level on the report, and the
administrator had no link to the inbox the task was in."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, text

from engine import tasks
from engine.collections import start_collection
from engine.db.models import ProcessInstance, Submission, WorkflowTask
from engine.publishing import publish_process
from engine.roles import Level
from engine.rollups.stages import collection_stages
from tests.conftest import ROOT, login, principal_of
from tests.db.test_flow_service import submit_valid

PROVINCE_REVIEW = (ROOT / "tests/fixtures/processes/village_report_province_review.bpmn").read_bytes()
PROVINCE, COUNTY = "390000000000", "390121000000"


def page(client, path: str) -> str:
    resp = client.get(path)
    assert resp.status_code == 200, path
    return resp.get_data(as_text=True)


def decide(client, task_id: int, decision: str, comment: str = "") -> None:
    form = page(client, f"/tasks/{task_id}")
    assert 'name="decision" value="approve"' in form and "您可以查看此任务" not in form  # the admin may act
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    resp = client.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "decision": decision, "comment": comment})
    assert resp.status_code == 302, resp.get_data(as_text=True)


def county_approves(db, sub: Submission) -> WorkflowTask:
    """The county's review (after the township's on the first round): the report goes up to the province."""
    for username in ("rev_yunxi", "rev_county"):
        mine = [t for t in db.execute(tasks.inbox_query(principal_of(db, username))).scalars()
                if t.submission_id == sub.id]
        if mine:
            tasks.complete_review(db, principal_of(db, username), mine[0].id, {"decision": "approve"})
            db.commit()
    return db.scalar(select(WorkflowTask).where(WorkflowTask.submission_id == sub.id, WorkflowTask.state == "ready"))


def test_a_provincial_review_is_published_run_and_counted(app, published, db):
    version = publish_process(db, PROVINCE_REVIEW, code="village_report", version=3)  # the checker takes it
    collection = start_collection(
        db, title="2025年村级基本情况年报（报省审核）", period="2025", scope_org_code=COUNTY,
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)], process_version_id=version.id,
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31)).collection
    db.commit()
    sub = submit_valid(db, collection)
    task = county_approves(db, sub)
    db.refresh(sub)
    assert (task.bpmn_id, task.role, task.assignee_org_code) == ("province_review", "province_admin", PROVINCE)
    assert (sub.status, sub.approved_level) == ("approved", Level.COUNTY)

    admin = app.test_client()
    assert login(admin, "admin").status_code == 302
    assert 'href="/tasks"' in page(admin, "/")  # the administrator's home page leads to the inbox
    inbox = page(admin, "/tasks")
    assert f'data-task-id="{task.id}"' in inbox and "省级审核" in inbox and "溪口村委会" in inbox

    decide(admin, task.id, "return", "请县级复核耕地面积")  # back to the county, every approval withdrawn
    db.expire_all()
    assert (sub.status, sub.approved_level) == ("submitted", None)
    assert [t.bpmn_id for t in db.scalars(select(WorkflowTask).where(
        WorkflowTask.submission_id == sub.id, WorkflowTask.state == "ready"))] == ["county_review"]

    task = county_approves(db, sub)
    decide(admin, task.id, "approve")
    db.expire_all()
    # approved at the province's level, final, and in both roll-up stages
    assert (sub.status, sub.approved_level) == ("final", Level.PROVINCE)
    assert db.scalar(select(ProcessInstance.status).where(ProcessInstance.submission_id == sub.id)) == "completed"
    members = db.execute(text("SELECT stage FROM rollup_members WHERE submission_id = :id"), {"id": sub.id})
    assert sorted(members.scalars()) == ["approved", "final"]
    stages = collection_stages(db, collection)
    assert (stages["approved"].label, stages["final"].label) == ("含乡镇审核通过", "仅省级终审通过")
    done = db.get(WorkflowTask, task.id)
    assert (done.state, done.decision, done.completed_by) == ("completed", "approve", principal_of(db, "admin").user_id)
