"""The approval flow through the service layer against PostgreSQL: entry, reviews, loops, locks, timers."""

import datetime as dt
import hashlib
import threading

import pytest
from sqlalchemy import func, select

from engine import submissions, tasks
from engine.collections import start_collection
from engine.db.models import (
    Collection,
    ProcessInstance,
    ProcessVersion,
    Submission,
    SubmissionRevision,
    WorkflowTask,
)
from engine.errors import BadInput, Conflict, NotFound, PermissionDenied
from engine.publishing import publish_process
from engine.tasks import InboxFilter, inbox_query
from engine.workflows import WorkflowError
from tests.conftest import ROOT, principal_of, statements_sent, valid_report

XIKOU = "390121101201"
V1_BPMN = (ROOT / "definitions/processes/village_report/v1.bpmn").read_text(encoding="utf-8")


def sub_of(db, collection, org=XIKOU) -> Submission:
    return db.scalar(select(Submission).where(Submission.collection_id == collection.id, Submission.org_code == org))


def inbox(db, username, **kw):
    return [row[0] for row in db.execute(inbox_query(principal_of(db, username), InboxFilter(**kw)))]


def submit_valid(db, collection, org=XIKOU, user="clerk_xikou"):
    sub = sub_of(db, collection, org)
    out = submissions.submit(db, principal_of(db, user), sub.id, valid_report(), revision=sub.revision)
    assert out.submitted, [p.message for p in out.validation.errors + out.validation.unexplained]
    db.commit()
    return out.submission


def review(db, username, sub, decision, comment="", field_comments=None):
    task = next(t for t in inbox(db, username) if t.submission_id == sub.id)
    step = tasks.complete_review(db, principal_of(db, username), task.id,
                                 {"decision": decision, "comment": comment, "field_comments": field_comments or {}})
    db.commit()
    return step


def test_start_creates_one_submission_instance_and_entry_task_per_village(collection, db):
    assert db.scalar(select(func.count()).select_from(Submission)) == 10
    assert db.scalar(select(func.count()).select_from(ProcessInstance)) == 10
    entry = db.scalars(select(WorkflowTask)).all()
    assert len(entry) == 10 and {t.kind for t in entry} == {"entry"}
    xikou = next(t for t in entry if t.subject_org_code == XIKOU)
    assert (xikou.role, xikou.assignee_org_code) == ("village_clerk", XIKOU)
    assert xikou.due_at is not None


def test_start_is_idempotent(collection, published, db):
    from engine.collections import start_collection

    again = start_collection(
        db, title="重复", period="2024", scope_org_code="390121000000",
        indicator_set_version_id=collection.indicator_set_version_id,
        process_version_id=collection.process_version_id,
        opens_on=dt.date(2025, 1, 1), deadline=dt.date(2025, 3, 31),
    )
    db.commit()
    assert not again.created and again.collection.id == collection.id
    assert db.scalar(select(func.count()).select_from(Submission)) == 10


def test_full_approval_and_statuses(collection, db):
    assert [t.subject_org_code for t in inbox(db, "clerk_xikou")] == [XIKOU]
    sub = submit_valid(db, collection)
    assert sub.status == "submitted"
    assert inbox(db, "clerk_xikou") == []
    assert [t.bpmn_id for t in inbox(db, "rev_yunxi")] == ["township_review"]
    assert inbox(db, "rev_baishi") == []  # another township never sees it
    review(db, "rev_yunxi", sub, "approve")
    db.refresh(sub)
    assert (sub.status, sub.approved_level) == ("approved", 4)
    assert [t.bpmn_id for t in inbox(db, "rev_county")] == ["county_review"]
    assert inbox(db, "rev_other_county") == []
    review(db, "rev_county", sub, "approve")
    db.refresh(sub)
    assert (sub.status, sub.approved_level) == ("final", 3)
    assert db.get(ProcessInstance, sub.id).status == "completed"


def test_return_resubmit_and_county_return_to_township(collection, db):
    sub = submit_valid(db, collection)
    review(db, "rev_yunxi", sub, "return", "户数与人口不符，请核实", {"households.household_total": "请核对"})
    db.refresh(sub)
    assert sub.status == "returned"
    # the village edits and resubmits: a new revision
    data = valid_report()
    submissions.save_draft(db, principal_of(db, "clerk_xikou"), sub.id, data, revision=sub.revision)
    db.commit()
    sub = submit_valid(db, collection)
    assert sub.status == "submitted"
    review(db, "rev_yunxi", sub, "approve")
    review(db, "rev_county", sub, "return", "请乡镇复核")
    db.refresh(sub)
    assert (sub.status, sub.approved_level) == ("submitted", None)
    assert [t.bpmn_id for t in inbox(db, "rev_yunxi")] == ["township_review"]  # back to the township
    review(db, "rev_yunxi", sub, "approve")
    review(db, "rev_county", sub, "approve")
    db.refresh(sub)
    assert sub.status == "final"
    steps = [(t.bpmn_id, t.decision) for t in tasks.history(db, sub.id) if t.state == "completed"]
    assert steps == [
        ("village_entry", None), ("township_review", "return"), ("village_entry", None),
        ("township_review", "approve"), ("county_review", "return"), ("township_review", "approve"),
        ("county_review", "approve"),
    ]


def test_return_needs_a_comment(collection, db):
    submit_valid(db, collection)
    task = inbox(db, "rev_yunxi")[0]
    with pytest.raises(Exception, match="意见"):
        tasks.complete_review(db, principal_of(db, "rev_yunxi"), task.id, {"decision": "return", "comment": ""})
    db.rollback()
    assert db.get(WorkflowTask, task.id).state == "ready"
    assert sub_of(db, collection).status == "submitted"


def test_invalid_submit_keeps_the_draft_and_reports_field_errors(collection, db):
    sub = sub_of(db, collection)
    data = valid_report()
    data["population"]["pop_male"] += 1
    out = submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, data, revision=sub.revision)
    db.commit()
    assert not out.submitted
    assert any(p.rule_id and "population.pop_male" in (p.data_path or "") or p.data_path == "population.pop_total"
               for p in out.validation.errors)
    db.refresh(out.submission)
    assert out.submission.status == "draft"
    assert out.submission.data["population"]["pop_male"] == data["population"]["pop_male"]  # nothing lost


def test_stale_revision_is_refused_not_overwritten(collection, db):
    sub = sub_of(db, collection)
    clerk = principal_of(db, "clerk_xikou")
    submissions.save_draft(db, clerk, sub.id, {"basic": {"report_year": 2024}}, revision=0)
    db.commit()
    with pytest.raises(Conflict, match="已被他人修改"):
        submissions.save_draft(db, clerk, sub.id, {"basic": {"report_year": 2023}}, revision=0)
    db.rollback()
    assert sub_of(db, collection).data == {"basic": {"report_year": 2024}}
    assert db.scalar(select(func.count()).select_from(SubmissionRevision)) == 1


def test_only_the_village_clerk_edits_and_others_do_not_see(collection, db):
    sub = sub_of(db, collection)
    with pytest.raises(NotFound):
        submissions.get_submission(db, principal_of(db, "clerk_shangjie"), sub.id)
    with pytest.raises(NotFound):
        submissions.get_submission(db, principal_of(db, "rev_baishi"), sub.id)
    assert submissions.get_submission(db, principal_of(db, "rev_yunxi"), sub.id).id == sub.id
    with pytest.raises(PermissionDenied):
        submissions.save_draft(db, principal_of(db, "rev_yunxi"), sub.id, {}, revision=0)
    with pytest.raises(NotFound):
        task = inbox(db, "clerk_xikou")[0]
        tasks.complete_review(db, principal_of(db, "rev_other_county"), task.id, {"decision": "approve"})


def test_two_reviewers_at_once_one_wins_one_conflict(collection, db, session_factory, role_users):
    sub = submit_valid(db, collection)
    # a second township reviewer at the same township
    from engine.auth import create_user

    create_user(db, "rev_yunxi_2", "test-password-1", roles=[("township_reviewer", "390121101000")])
    db.commit()
    task_id = inbox(db, "rev_yunxi")[0].id
    barrier = threading.Barrier(2)
    outcomes = []

    def act(username):
        with session_factory() as s:
            p = principal_of(s, username)
            barrier.wait()
            try:
                tasks.complete_review(s, p, task_id, {"decision": "approve"})
                s.commit()
                outcomes.append("ok")
            except Conflict:
                s.rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=act, args=(u,)) for u in ("rev_yunxi", "rev_yunxi_2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["conflict", "ok"]
    assert len([t for t in inbox(db, "rev_county") if t.submission_id == sub.id]) == 1


def test_bulk_approve_checks_each(collection, db):
    subs = [submit_valid(db, collection, org, "clerk_xikou" if org == XIKOU else "clerk_shangjie")
            for org in (XIKOU, "390121101202")]
    ids = [t.id for t in inbox(db, "rev_yunxi")] + [999999]
    results = tasks.bulk_approve(db, principal_of(db, "rev_yunxi"), ids, "同意")
    db.commit()
    assert [r.ok for r in results] == [True, True, False]
    for s in subs:
        db.refresh(s)
        assert s.approved_level == 4


def test_tick_fires_due_deadline_and_marks_overdue(collection, db):
    sub = sub_of(db, collection)
    task = inbox(db, "clerk_xikou")[0]
    assert not task.overdue
    assert tasks.tick(db, dt.datetime.now(dt.UTC)) == 0
    later = task.due_at + dt.timedelta(minutes=1)
    assert tasks.tick(db, later) >= 1
    db.commit()
    task = inbox(db, "clerk_xikou")[0]
    assert task.overdue
    # still the same entry task, still completable
    submit_valid(db, collection)
    db.refresh(sub)
    assert sub.status == "submitted"


def test_every_saved_state_loads_again(collection, db):
    from engine.instances import lock_and_load

    sub = submit_valid(db, collection)
    review(db, "rev_yunxi", sub, "return", "退回")
    for instance in db.scalars(select(ProcessInstance)).all():
        loaded = lock_and_load(db, instance.id)
        assert loaded.workflow is not None
    db.rollback()


def test_submit_many_and_bulk_approve_at_once(collection, db):
    from engine.submissions import SubmitItem, submit_many

    villages = [XIKOU, "390121101202", "390121101203"]
    subs = [sub_of(db, collection, org) for org in villages]
    bad = valid_report()
    bad["population"]["pop_male"] += 1
    items = [SubmitItem(subs[0].id, valid_report(), 0), SubmitItem(subs[1].id, bad, 0),
             SubmitItem(subs[2].id, valid_report(), 5)]
    # a township reviewer cannot submit for villages (no entry task of theirs)
    refused = submit_many(db, principal_of(db, "rev_yunxi"), items[:1])
    assert [r.message for r in refused] == ["此表当前不在您的填报环节"]
    from engine.auth import create_user

    create_user(db, "clerk_multi", "test-password-1", roles=[("village_clerk", org) for org in villages])
    db.commit()
    results = submit_many(db, principal_of(db, "clerk_multi"), items)
    db.commit()
    assert [(r.submitted, r.message) for r in results] == [(True, ""), (False, "未通过校验"), (False, "此表已被他人修改")]
    assert any(p.rule_id for p in results[1].problems)
    statuses = [sub_of(db, collection, org).status for org in villages]
    assert statuses == ["submitted", "not_started", "not_started"]
    approvals = tasks.bulk_approve(db, principal_of(db, "rev_yunxi"), [t.id for t in inbox(db, "rev_yunxi")])
    db.commit()
    assert [a.ok for a in approvals] == [True]
    assert sub_of(db, collection).approved_level == 4
    assert db.scalar(select(func.count()).select_from(SubmissionRevision)) == 1


def test_a_role_held_at_several_units_acts_on_exactly_their_tasks(collection, db):
    from engine.auth import create_user

    # one role at two villages (one array condition) plus a role at a township (its own condition)
    create_user(db, "clerk_two", "test-password-1",
                roles=[("village_clerk", XIKOU), ("village_clerk", "390121101203"),
                       ("township_reviewer", "390121101000")])
    db.commit()
    assert {t.subject_org_code for t in inbox(db, "clerk_two")} == {XIKOU, "390121101203"}
    submit_valid(db, collection, XIKOU, user="clerk_two")
    [review_task] = [t for t in inbox(db, "clerk_two") if t.kind == "review"]
    assert (review_task.subject_org_code, review_task.assignee_org_code) == (XIKOU, "390121101000")
    assert {t.subject_org_code for t in inbox(db, "clerk_two", kind="entry")} == {"390121101203"}
    # another village of the same township stays out of reach
    other = sub_of(db, collection, "390121101202")
    with pytest.raises((NotFound, PermissionDenied)):
        submissions.submit(db, principal_of(db, "clerk_two"), other.id, valid_report(), revision=other.revision)


def test_submit_many_undoes_a_report_whose_workflow_step_is_refused(collection, db, monkeypatch):
    from engine.auth import create_user
    from engine.db.models import AuditEntry
    from engine.submissions import SubmitItem, submit_many

    villages = [XIKOU, "390121101202", "390121101203"]
    subs = [sub_of(db, collection, org) for org in villages]
    create_user(db, "clerk_three", "test-password-1", roles=[("village_clerk", org) for org in villages])
    db.commit()
    real_step = tasks._step

    def refusing(definition, state, task, payload, actor, report=None):
        if task.submission_id == subs[1].id:
            raise BadInput("流程不接受这一步")
        return real_step(definition, state, task, payload, actor, report)

    monkeypatch.setattr(tasks, "_step", refusing)
    monkeypatch.setattr(tasks.MEMO, "get", lambda key: None)  # every step runs the workflow engine
    results = submit_many(db, principal_of(db, "clerk_three"), [SubmitItem(s.id, valid_report(), 0) for s in subs])
    db.commit()
    assert [(r.submitted, r.message) for r in results] == [(True, ""), (False, "流程不接受这一步"), (True, "")]
    # the refused report is not left stored as submitted: no revision, its entry task still ready
    assert [(s.status, s.revision) for s in (sub_of(db, collection, org) for org in villages)] == [
        ("submitted", 1), ("not_started", 0), ("submitted", 1)]
    assert db.scalar(select(func.count()).select_from(SubmissionRevision)
                     .where(SubmissionRevision.submission_id == subs[1].id)) == 0
    assert {t.subject_org_code for t in inbox(db, "clerk_three")} == {"390121101202"}
    assert {t.subject_org_code for t in inbox(db, "rev_yunxi")} == {XIKOU, "390121101203"}
    audited = db.scalars(select(AuditEntry.object_id).where(AuditEntry.action == "submit")).all()
    assert sorted(audited) == sorted([str(subs[0].id), str(subs[2].id)])


def test_explanations_not_sent_again_are_kept(collection, db):
    sub = sub_of(db, collection)
    report = valid_report()
    report["population"]["resident_pop"] = 500  # breaks the soft rule resident_within_half
    note = {"resident_within_half": "已核实：外出务工人员多"}
    submissions.save_draft(db, principal_of(db, "clerk_xikou"), sub.id, report, revision=0, explanations=note)
    db.commit()
    # the form's second save and the submit leave the explanations out: they stay, and the submit passes
    # (the second save changes nothing, so it writes no revision)
    again = submissions.save_draft(db, principal_of(db, "clerk_xikou"), sub.id, report, revision=1)
    assert again.revision == 1 and again.explanations == note
    out = submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, report, revision=1)
    db.commit()
    assert out.submitted
    assert sub_of(db, collection).explanations == note


def test_a_submit_whose_workflow_step_is_refused_stores_nothing(collection, db, monkeypatch):
    from engine.db.models import AuditEntry
    from engine.errors import BadInput

    sub = sub_of(db, collection)

    def refusing(definition, state, task, payload, actor, report=None):
        raise BadInput("流程不接受这一步")

    monkeypatch.setattr(tasks, "_step", refusing)
    monkeypatch.setattr(tasks.MEMO, "get", lambda key: None)
    with pytest.raises(BadInput, match="流程不接受这一步"):
        submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=0)
    # not even inside the failed transaction: the report is written with the step or not at all
    assert db.scalar(select(func.count()).select_from(SubmissionRevision)) == 0
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "submit")) == 0
    assert db.execute(select(Submission.revision, Submission.status).where(Submission.id == sub.id)).one() == (
        0, "not_started")


def test_a_report_saved_by_someone_else_before_the_submit_is_not_overwritten(collection, db, session_factory):
    sub = sub_of(db, collection)
    # another tab of the clerk saved a draft after this one loaded the form at revision 0
    with session_factory() as other:
        submissions.save_draft(other, principal_of(other, "clerk_xikou"), sub.id, {"basic": {"report_year": 2023}},
                               revision=0)
        other.commit()
    with pytest.raises(Conflict, match="当前第 1 版，您编辑的是第 0 版") as raised:
        submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=0)
    assert raised.value.details == {"current_revision": 1, "your_revision": 0}
    db.rollback()
    # the other save stands; the entry task is still ready
    stored = sub_of(db, collection)
    assert (stored.revision, stored.status, stored.data) == (1, "draft", {"basic": {"report_year": 2023}})
    assert [t.subject_org_code for t in inbox(db, "clerk_xikou")] == [XIKOU]


def test_a_revision_the_server_never_had_is_named_so(collection, db):
    sub = sub_of(db, collection)
    with pytest.raises(Conflict, match="您提交的版本号 4 不存在（此表当前是第 0 版）") as raised:
        submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=4)
    assert raised.value.details == {"current_revision": 0, "your_revision": 4}


def test_a_save_made_while_a_submit_holds_the_report_waits_and_is_refused(collection, db, session_factory):
    sub = sub_of(db, collection)
    out = submissions.submit(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=0)
    assert out.submitted  # not committed yet: the submit holds the submission's lock
    refused: list[Exception] = []

    def save_in_another_tab():
        with session_factory() as other:
            try:
                submissions.save_draft(other, principal_of(other, "clerk_xikou"), sub.id,
                                       {"basic": {"report_year": 2023}}, revision=0)
                other.commit()
            except Conflict as err:
                refused.append(err)

    tab = threading.Thread(target=save_in_another_tab)
    tab.start()
    tab.join(1)
    assert tab.is_alive()  # waiting for the submit's lock
    db.commit()
    tab.join(30)
    assert [err.details for err in refused] == [{"current_revision": 1, "your_revision": 0}]
    db.expire_all()
    stored = sub_of(db, collection)
    assert (stored.revision, stored.status, stored.data) == (1, "submitted", out.submission.data)


def _acts_after_a_timer_held_the_lock(session_factory, sub_id: int, task_id: int, due: dt.datetime, act) -> bool:
    """What a deadline timer does, under the instance lock: mark the task overdue. ``act(session)``
    runs meanwhile in another thread, must wait for that lock, and returns whether it succeeded."""
    holder = session_factory()
    holder.execute(select(ProcessInstance).where(ProcessInstance.submission_id == sub_id).with_for_update())
    holder.get(WorkflowTask, task_id).overdue = True
    holder.get(WorkflowTask, task_id).due_at = due
    holder.scalar(select(ProcessInstance).where(ProcessInstance.submission_id == sub_id)).updated_at = due
    holder.flush()
    outcome: list[bool] = []

    def run():
        with session_factory() as s:
            outcome.append(act(s))
            s.commit()

    actor = threading.Thread(target=run)
    actor.start()
    actor.join(1)
    assert actor.is_alive()  # waiting for the instance lock
    holder.commit()
    holder.close()
    actor.join(30)
    assert len(outcome) == 1
    return outcome[0]


@pytest.mark.parametrize("batch", [False, True], ids=["submit", "submit_many"])
def test_a_submit_that_waited_for_the_lock_steps_from_the_tasks_as_they_are_then(collection, db, session_factory,
                                                                                 batch):
    """The submit reads its tasks in the statement that locks the instance; tasks written by whoever held
    the lock are newer than that statement's snapshot, so it must read them again."""
    sub = sub_of(db, collection)
    entry = db.scalar(select(WorkflowTask).where(WorkflowTask.submission_id == sub.id))
    due = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)
    db.rollback()

    def submit(s) -> bool:
        clerk = principal_of(s, "clerk_xikou")
        if batch:
            [result] = submissions.submit_many(s, clerk, [submissions.SubmitItem(sub.id, valid_report(), 0)])
            return result.submitted
        return submissions.submit(s, clerk, sub.id, valid_report(), revision=0).submitted

    assert _acts_after_a_timer_held_the_lock(session_factory, sub.id, entry.id, due, submit)
    db.expire_all()
    done = db.get(WorkflowTask, entry.id)
    # completed from the task as the timer left it: its overdue mark is not written back to what it was
    assert (done.state, done.overdue, done.due_at) == ("completed", True, due)


@pytest.mark.parametrize("batch", [False, True], ids=["complete_review", "bulk_approve"])
def test_an_approval_that_waited_for_the_lock_steps_from_the_tasks_as_they_are_then(collection, db,
                                                                                   session_factory, batch):
    """As for a submit: the approval reads its task in the statement that locks the instance, so what the
    lock holder wrote meanwhile must be read again, not written back to what it was."""
    sub = submit_valid(db, collection)
    task = inbox(db, "rev_yunxi")[0]
    due = dt.datetime(2025, 2, 1, tzinfo=dt.UTC)
    db.rollback()

    def approve(s) -> bool:
        reviewer = principal_of(s, "rev_yunxi")
        if batch:
            [result] = tasks.bulk_approve(s, reviewer, [task.id])
            return result.ok
        return tasks.complete_review(s, reviewer, task.id, {"decision": "approve", "comment": ""}).task.state == "completed"

    assert _acts_after_a_timer_held_the_lock(session_factory, sub.id, task.id, due, approve)
    db.expire_all()
    done = db.get(WorkflowTask, task.id)
    assert (done.state, done.decision, done.overdue, done.due_at) == ("completed", "approve", True, due)


@pytest.mark.parametrize("batch", [False, True], ids=["complete_review", "bulk_approve"])
def test_an_approval_reads_and_locks_in_one_statement(collection, db, db_engine, batch):

    submit_valid(db, collection)
    task = inbox(db, "rev_yunxi")[0]
    reviewer = principal_of(db, "rev_yunxi")
    with statements_sent(db_engine) as seen:
        if batch:
            assert [r.ok for r in tasks.bulk_approve(db, reviewer, [task.id])] == [True]
        else:
            tasks.complete_review(db, reviewer, task.id, {"decision": "approve", "comment": ""})
        db.commit()
    reads = [s for s in seen if s.lstrip().startswith("SELECT")]
    # the task, its collection's status, instance, submission and ready tasks, locked: one read (the
    # roll-ups' reads of the report's figures come after it)
    assert sum("FOR UPDATE" in s for s in reads) == 1, reads
    assert not any(s.lstrip().startswith(("SELECT workflow_tasks", "SELECT collections")) for s in reads), reads
    assert sub_of(db, collection).status == "approved"


def test_a_submit_writes_the_report_row_once_with_its_revision_audit_and_step(collection, db, db_engine):

    from engine.db.models import AuditEntry

    sub = sub_of(db, collection)
    clerk = principal_of(db, "clerk_xikou")
    with statements_sent(db_engine) as seen:
        out = submissions.submit(db, clerk, sub.id, valid_report(), revision=0)
        db.commit()
    assert out.submitted
    # one read, which locks and reads what the step needs, and one write
    assert sum("FOR UPDATE" in s for s in seen) == 1, seen
    assert not any(s.lstrip().startswith("SELECT workflow_tasks") for s in seen), seen
    assert sum(s.count("UPDATE submissions") for s in seen) == 1, seen
    writes = [s for s in seen if not s.lstrip().startswith("SELECT")]
    assert len(writes) == 1, writes  # report, revision, audit row and workflow step: one statement
    db.expire_all()
    stored = sub_of(db, collection)
    assert (stored.revision, stored.status, stored.updated_by) == (1, "submitted", clerk.user_id)
    assert stored.submitted_at is not None and stored.data == out.submission.data
    revision = db.scalar(select(SubmissionRevision))
    assert (revision.revision, revision.kind, revision.created_by, revision.data) == (1, "submit", clerk.user_id,
                                                                                      stored.data)
    audit = db.scalar(select(AuditEntry).where(AuditEntry.action == "submit"))
    assert (audit.actor_id, audit.object_id, audit.details) == (clerk.user_id, str(sub.id), {"revision": 1})
    entry = db.scalar(select(WorkflowTask).where(WorkflowTask.kind == "entry", WorkflowTask.submission_id == sub.id))
    assert (entry.state, entry.revision, entry.completed_by) == ("completed", 1, clerk.user_id)


# -- how a flow ends decides the report: final only when it ended approved ---------------------------------


def v1_with(*replacements: tuple[str, str]) -> bytes:
    text = V1_BPMN
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text.encode("utf-8")


def published_before_the_checks(db, bpmn: bytes, version: int) -> int:
    """A version stored as published without today's checks, as one published before they existed was."""
    row = ProcessVersion(code="village_report", version=version, title="旧版本", status="published",
                         content_hash=hashlib.sha256(bpmn).hexdigest(), bpmn=bpmn.decode("utf-8"),
                         source=f"definitions/processes/village_report/v{version}.bpmn",
                         published_at=dt.datetime.now(dt.UTC))
    db.add(row)
    db.flush()
    return row.id


def launch(db, published, process_version_id: int) -> Collection:
    started = start_collection(
        db, title="2024年村级基本情况年报", period="2024", scope_org_code="390121000000",
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)],
        process_version_id=process_version_id, opens_on=dt.date(2025, 1, 1), deadline=dt.date(2025, 3, 31),
    )
    db.commit()
    return started.collection


def flow_status(db, sub) -> str:
    return db.scalar(select(ProcessInstance.status).where(ProcessInstance.submission_id == sub.id))


def clerk_save_refusal(db, sub) -> str:
    with pytest.raises(Conflict) as refused:
        submissions.save_draft(db, principal_of(db, "clerk_xikou"), sub.id, valid_report(), revision=sub.revision)
    db.rollback()
    return refused.value.message


REJECTED_END = (
    '<bpmn:endEvent id="approved"',
    '<bpmn:endEvent id="rejected" name="县级否决"><bpmn:extensionElements><spiffworkflow:properties>'
    '<spiffworkflow:property name="outcome" value="rejected" /></spiffworkflow:properties></bpmn:extensionElements>'
    '</bpmn:endEvent>\n    <bpmn:endEvent id="approved"',
)


def test_a_flow_that_ends_without_approval_is_not_final_and_the_clerk_is_told_why(published, db):
    """QA reject_end, in a version published before the checker refused it: the county's return ends
    the flow. That is no final approval: the report keeps its status and is not counted as final."""
    bpmn = v1_with(REJECTED_END, ('sourceRef="county_decision" targetRef="township_review"',
                                  'sourceRef="county_decision" targetRef="rejected"'))
    collection = launch(db, published, published_before_the_checks(db, bpmn, 3))
    sub = submit_valid(db, collection)
    review(db, "rev_yunxi", sub, "approve")
    review(db, "rev_county", sub, "return", "数据不实")
    db.refresh(sub)
    assert flow_status(db, sub) == "completed"
    assert (sub.status, sub.approved_level) == ("approved", None)  # as it was; the return withdrew the level
    assert clerk_save_refusal(db, sub) == submissions.ENDED_UNAPPROVED


def test_a_flow_that_ends_at_a_task_without_outgoing_flow_is_not_final(published, db):
    """QA dead_end_task: completing the last review ended the flow without reaching any end event."""
    bpmn = v1_with(
        ('<bpmn:endEvent id="approved"',
         '<bpmn:userTask id="dept_check" name="县级部门备案"><bpmn:extensionElements><spiffworkflow:properties>'
         '<spiffworkflow:property name="kind" value="review" /></spiffworkflow:properties>'
         '</bpmn:extensionElements></bpmn:userTask>\n    <bpmn:endEvent id="approved"'),
        ("<bpmn:flowNodeRef>approved</bpmn:flowNodeRef>",
         "<bpmn:flowNodeRef>approved</bpmn:flowNodeRef><bpmn:flowNodeRef>dept_check</bpmn:flowNodeRef>"),
        ('sourceRef="county_decision" targetRef="approved"', 'sourceRef="county_decision" targetRef="dept_check"'),
    )
    collection = launch(db, published, published_before_the_checks(db, bpmn, 3))
    sub = submit_valid(db, collection)
    review(db, "rev_yunxi", sub, "approve")
    review(db, "rev_county", sub, "approve")
    review(db, "rev_county", sub, "approve")  # dept_check, in the county's lane: the flow just stops
    db.refresh(sub)
    assert flow_status(db, sub) == "completed"
    assert (sub.status, sub.approved_level) == ("approved", 3)


def test_a_flow_with_no_entry_step_tells_the_clerk_so(published, db):
    """QA no_entry: the report reads as not started while no entry task will ever be ready."""
    bpmn = v1_with(('sourceRef="start" targetRef="village_entry"', 'sourceRef="start" targetRef="township_review"'))
    collection = launch(db, published, published_before_the_checks(db, bpmn, 3))
    sub = sub_of(db, collection)
    assert (sub.status, flow_status(db, sub)) == ("not_started", "running")
    assert clerk_save_refusal(db, sub) == submissions.NO_ENTRY_STEP


COUNTY_TIMEOUT = (
    '<bpmn:endEvent id="approved"',
    '<bpmn:boundaryEvent id="county_timeout" name="县级逾期视为通过" attachedToRef="county_review">'
    '<bpmn:timerEventDefinition id="county_timeout_timer"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
    '"PT1H"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>\n'
    '    <bpmn:sequenceFlow id="flow_county_timeout" sourceRef="county_timeout" targetRef="approved" />\n'
    '    <bpmn:endEvent id="approved"',
)


def test_a_step_made_by_a_timer_updates_the_report_like_a_persons_step(published, db):
    """An interrupting timer on the county review (cancelActivity missing: true) ends the flow approved:
    ``grassroots tick`` must make the report final, as the county's own approval would."""
    bpmn = v1_with(COUNTY_TIMEOUT, ("<bpmn:flowNodeRef>approved</bpmn:flowNodeRef>",
                                    "<bpmn:flowNodeRef>approved</bpmn:flowNodeRef>"
                                    "<bpmn:flowNodeRef>county_timeout</bpmn:flowNodeRef>"),
                   ('<spiffworkflow:property name="due" value="P7D" />\n        </spiffworkflow:properties>\n'
                    '      </bpmn:extensionElements>\n      <bpmn:incoming>flow_township_approve',
                    '</spiffworkflow:properties>\n      </bpmn:extensionElements>\n'
                    '      <bpmn:incoming>flow_township_approve'))  # the timer is its deadline
    collection = launch(db, published, publish_process(db, bpmn, code="village_report", version=3).id)
    sub = submit_valid(db, collection)
    review(db, "rev_yunxi", sub, "approve")
    assert tasks.tick(db, dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)) == 1
    db.commit()
    db.refresh(sub)
    assert flow_status(db, sub) == "completed"
    assert (sub.status, sub.approved_level) == ("final", 4)


def test_an_interrupting_entry_deadline_of_an_old_version_leaves_the_report_not_final(published, db):
    """QA interrupting_fast: the deadline cancels the entry task and the flow ends at the overdue end."""
    bpmn = v1_with(('cancelActivity="false"', 'cancelActivity="true"'))
    collection = launch(db, published, published_before_the_checks(db, bpmn, 3))
    sub = sub_of(db, collection)
    assert tasks.tick(db, dt.datetime.now(dt.UTC) + dt.timedelta(days=15)) >= 1
    db.commit()
    db.refresh(sub)
    assert flow_status(db, sub) == "completed" and sub.status == "not_started"
    assert clerk_save_refusal(db, sub) == submissions.ENDED_UNAPPROVED


def test_a_viewer_lane_of_an_old_version_is_refused_in_chinese_not_a_crash(published, db, monkeypatch):
    """QA lane_viewer: approving into a lane of 部门查看员 (no org level) was a 500 (ValueError). A launch
    is refused now (check_fit); a collection launched before that check still meets it at run time."""
    import engine.collections

    bpmn = v1_with(('name="县级审核员"', 'name="部门查看员"'))
    version_id = published_before_the_checks(db, bpmn, 3)
    with pytest.raises(BadInput, match="部门查看员"):
        launch(db, published, version_id)  # refused before anything is written
    monkeypatch.setattr(engine.collections, "check_fit", lambda *a, **k: None)  # launched before the check
    collection = launch(db, published, version_id)
    sub = submit_valid(db, collection)
    task = next(t for t in inbox(db, "rev_yunxi") if t.submission_id == sub.id)
    with pytest.raises(WorkflowError, match="部门查看员.*不属于任何层级"):
        tasks.complete_review(db, principal_of(db, "rev_yunxi"), task.id, {"decision": "approve", "comment": ""})
    db.rollback()
    assert db.get(WorkflowTask, task.id).state == "ready"


def test_launching_an_old_version_that_starts_in_a_viewer_lane_is_refused_in_chinese(published, db):
    """QA lane_viewer_first: launching was a 500 (KeyError on the viewer's missing level)."""
    bpmn = v1_with(('name="村级填报员"', 'name="部门查看员"'))
    with pytest.raises((BadInput, WorkflowError), match="部门查看员"):
        launch(db, published, published_before_the_checks(db, bpmn, 3))
    db.rollback()


# -- routing by the report: small villages skip the county review (QA) ------------------------------------

SMALL_VILLAGE = (ROOT / "tests/fixtures/processes/village_report_small_village.bpmn").read_bytes()
SHANGJIE = "390121101202"  # beside 西口 in 云溪镇


def small_report() -> dict:
    """A valid report of a village of 300 people (the example's figures scaled down, rules still hold)."""
    data = valid_report()
    data["households"].update(household_total=100, hh_pure_farm=30, hh_farm_part_time=40, hh_nonfarm_part_time=20,
                              hh_nonfarm=10)
    data["population"].update(pop_total=300, pop_male=150, pop_female=150, pop_age_lt18=50, pop_age_18_59=170,
                              pop_age_60p=80, pop_age_80p=20, pop_age_90p=3, pop_age_100p=0, resident_pop=250)
    data["labour"].update(labour_resource=200, migrant_workers=80, migrant_year_round=50, migrant_in_county=30,
                          migrant_in_province=30, migrant_out_province=20)
    data["farm_scale"].update(farm_size_lt10=60, farm_size_10_30=15, farm_size_30_50=5, farm_size_50_100=3,
                              farm_size_100_200=1, farm_size_200p=0)
    data["party_welfare"].update(party_members=20)
    return data


def submit_report(db, collection, data, org=XIKOU, user="clerk_xikou") -> Submission:
    sub = sub_of(db, collection, org)
    out = submissions.submit(db, principal_of(db, user), sub.id, data, revision=sub.revision)
    assert out.submitted, [p.message for p in out.validation.errors + out.validation.unexplained]
    db.commit()
    return out.submission


def small_village_collection(db, published) -> Collection:
    return launch(db, published, publish_process(db, SMALL_VILLAGE, code="village_report", version=3).id)


def test_a_small_village_approved_by_the_township_is_final_without_the_county(published, db):
    collection = small_village_collection(db, published)
    sub = submit_report(db, collection, small_report())
    review(db, "rev_yunxi", sub, "approve")
    db.refresh(sub)
    assert (sub.status, sub.approved_level, flow_status(db, sub)) == ("final", 4, "completed")
    assert inbox(db, "rev_county") == []


def test_a_large_village_approved_by_the_township_goes_to_the_county(published, db):
    collection = small_village_collection(db, published)
    sub = submit_report(db, collection, valid_report())  # 1,350 people
    review(db, "rev_yunxi", sub, "approve")
    db.refresh(sub)
    assert (sub.status, sub.approved_level) == ("approved", 4)
    assert [t.bpmn_id for t in inbox(db, "rev_county")] == ["county_review"]
    review(db, "rev_county", sub, "approve")
    db.refresh(sub)
    assert (sub.status, sub.approved_level) == ("final", 3)


def test_a_return_still_goes_back_to_the_village_whatever_its_size(published, db):
    collection = small_village_collection(db, published)
    sub = submit_report(db, collection, small_report())
    review(db, "rev_yunxi", sub, "return", "请核实人口")
    db.refresh(sub)
    assert sub.status == "returned"
    assert [t.bpmn_id for t in inbox(db, "clerk_xikou")] == ["village_entry"]


def test_a_bulk_approval_routes_each_report_by_its_own_figures(published, db):
    """Both steps start from the same state with the same payload, role and minute: the step memo must
    not hand the small village's step to the large one (or the other way round)."""
    collection = small_village_collection(db, published)
    small = submit_report(db, collection, small_report())
    large = submit_report(db, collection, valid_report(), org=SHANGJIE, user="clerk_shangjie")
    ids = [t.id for t in inbox(db, "rev_yunxi")]
    assert len(ids) == 2
    assert all(r.ok for r in tasks.bulk_approve(db, principal_of(db, "rev_yunxi"), ids))
    db.commit()
    db.refresh(small)
    db.refresh(large)
    assert (small.status, large.status) == ("final", "approved")
    assert [t.subject_org_code for t in inbox(db, "rev_county")] == [SHANGJIE]


def test_the_county_return_of_a_large_village_and_a_resubmit_as_small_skips_the_county(published, db):
    """The gateway reads the report as submitted last, not as it was at an earlier round."""
    collection = small_village_collection(db, published)
    sub = submit_report(db, collection, valid_report())
    review(db, "rev_yunxi", sub, "return", "人口数有误")
    sub = submit_report(db, collection, small_report())
    review(db, "rev_yunxi", sub, "approve")
    db.refresh(sub)
    assert sub.status == "final"


def test_a_misspelt_field_is_refused_at_launch_before_anything_is_written(published, db):
    bpmn = SMALL_VILLAGE.replace(b"report.pop_total", b"report.pop_totl")
    version_id = publish_process(db, bpmn, code="village_report", version=3).id  # the flow alone is fine
    db.commit()
    with pytest.raises(BadInput) as refused:
        launch(db, published, version_id)
    db.rollback()
    assert refused.value.data_path == "process_version_id"
    message = refused.value.message
    assert "乡镇审核结论" in message and "township_decision" in message and "flow_township_small" in message
    assert "「report.pop_totl」" in message and "是不是 pop_total？" in message, message
    assert db.scalar(select(func.count()).select_from(Collection)) == 0
    assert db.scalar(select(func.count()).select_from(Submission)) == 0


def statements_of_a_submit_and_an_approval(db, db_engine, collection, batch: bool) -> tuple[list[str], list[str]]:
    """The statements a submit of the 1,350-people example, then the township's approval of it, send."""
    sub, clerk = sub_of(db, collection), principal_of(db, "clerk_xikou")
    with statements_sent(db_engine) as submit:
        assert submissions.submit(db, clerk, sub.id, valid_report(), revision=0).submitted
        db.commit()
    task = inbox(db, "rev_yunxi")[0]
    reviewer = principal_of(db, "rev_yunxi")
    with statements_sent(db_engine) as approve:
        if batch:
            assert [r.ok for r in tasks.bulk_approve(db, reviewer, [task.id])] == [True]
        else:
            tasks.complete_review(db, reviewer, task.id, {"decision": "approve", "comment": ""})
        db.commit()
    return submit, approve


@pytest.mark.parametrize("batch", [False, True], ids=["complete_review", "bulk_approve"])
def test_a_flow_that_reads_no_report_field_reads_nothing_more_for_its_steps(collection, db, db_engine, batch,
                                                                            monkeypatch):
    """The shipped flow routes on decisions only: its steps are handed no report (nothing is looked up
    or decoded for it) and send the statements they sent before conditions could read the report."""
    def never(*args, **kwargs):
        raise AssertionError("a flow that reads no report field was handed its report")

    monkeypatch.setattr(tasks, "report_scope", never)
    submit, approve = statements_of_a_submit_and_an_approval(db, db_engine, collection, batch)
    # the locked read and the write; then the locked read, (complete_review: the indicator set for the
    # comments' check), the step's write, the roll-ups' three statements and the audit row
    assert (len(submit), len(approve)) == (2, 7), (submit, approve)


@pytest.mark.parametrize("batch", [False, True], ids=["complete_review", "bulk_approve"])
def test_a_flow_that_reads_the_report_sends_no_more_statements(published, db, db_engine, batch):
    """The submit hands its report to the step (nothing read); an approval routes on the report it locked
    anyway, with the indicator set the roll-ups (or the comments' check) look up in the same transaction."""
    collection = small_village_collection(db, published)
    submit, approve = statements_of_a_submit_and_an_approval(db, db_engine, collection, batch)
    assert (len(submit), len(approve)) == (2, 7), (submit, approve)
    assert sum("FROM indicator_set_versions" in s for s in approve) == 1, approve


def test_a_deadline_that_skips_the_township_routes_on_the_stored_report(published, db):
    """``grassroots tick`` hands the stored report to the timer's step: the late township's small
    village is final, its large one goes to the county."""
    from tests.unit.test_workflows_report_conditions import TOWNSHIP_TIMEOUT

    bpmn = SMALL_VILLAGE.decode("utf-8")
    for old, new in TOWNSHIP_TIMEOUT:
        bpmn = bpmn.replace(old, new, 1)
    collection = launch(db, published, publish_process(db, bpmn.encode(), code="village_report", version=3).id)
    small = submit_report(db, collection, small_report())
    large = submit_report(db, collection, valid_report(), org=SHANGJIE, user="clerk_shangjie")
    assert tasks.tick(db, dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)) == 2
    db.commit()
    db.refresh(small)
    db.refresh(large)
    assert (small.status, large.status) == ("final", "submitted")
    assert [t.subject_org_code for t in inbox(db, "rev_county")] == [SHANGJIE]
