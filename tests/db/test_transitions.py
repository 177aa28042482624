"""Reused workflow steps (engine/transitions.py): identical steps run the engine once, what they store
is what running the engine for each would have stored, and who acted is still recorded per person."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from engine import tasks
from engine.auth import create_user
from engine.db.models import AuditEntry, ProcessInstance, Submission, WorkflowState, WorkflowTask
from engine.instances import lock_and_load
from engine.submissions import SubmitItem, submit_many
from engine.tasks import InboxFilter, bulk_approve, inbox_query
from engine.transitions import MEMO, state_digest, step_key
from engine.workflows import ready_tasks, task_data
from tests.conftest import PASSWORD, principal_of, valid_report

YUNXI = "390121101000"


@pytest.fixture
def engine_runs(monkeypatch):
    """Counts real SpiffWorkflow steps; the memo starts empty."""
    MEMO.clear()
    calls = []
    real = tasks._step

    def counting(*args, **kwargs):
        calls.append(args[2].id)
        return real(*args, **kwargs)

    monkeypatch.setattr(tasks, "_step", counting)
    return calls


def submit_all(db, collection, username="clerk_all"):
    subs = list(db.scalars(select(Submission).where(Submission.collection_id == collection.id)
                           .order_by(Submission.id)))
    create_user(db, username, PASSWORD, roles=[("village_clerk", s.org_code) for s in subs])
    db.commit()
    items = [SubmitItem(s.id, valid_report(), s.revision) for s in subs]
    results = submit_many(db, principal_of(db, username), items)
    db.commit()
    assert all(r.submitted for r in results), [(r.message, r.problems) for r in results if not r.submitted]
    return subs


def check_consistent(db, instance: ProcessInstance) -> None:
    """The state row's digest is its content's, and the task index holds exactly the workflow's READY tasks."""
    db.refresh(instance)
    stored = db.get(WorkflowState, instance.state_digest)
    assert stored.digest == state_digest(stored.state)
    assert stored.process_version_id == instance.process_version_id
    loaded = lock_and_load(db, instance.id)
    indexed = set(db.scalars(select(WorkflowTask.spiff_task_id).where(
        WorkflowTask.instance_id == instance.id, WorkflowTask.state == "ready")))
    assert indexed == {t.task_id for t in ready_tasks(loaded.definition, loaded.workflow)}
    db.rollback()


def test_identical_entry_steps_run_the_engine_once(collection, db, engine_runs):
    subs = submit_all(db, collection)
    assert len(subs) == 10
    assert len(engine_runs) == 1  # the other nine reports took the remembered step
    instances = list(db.scalars(select(ProcessInstance).where(ProcessInstance.collection_id == collection.id)))
    assert len({i.state_digest for i in instances}) == 1
    # one row for the collection's initial state, one for "submitted": ten instances share them
    assert db.scalar(select(func.count()).select_from(WorkflowState)) == 2
    for instance in instances:
        check_consistent(db, instance)
    statuses = {s.status for s in db.scalars(select(Submission).where(Submission.collection_id == collection.id))}
    assert statuses == {"submitted"}


def test_reviewers_share_steps_and_each_is_recorded_as_who_acted(collection, db, engine_runs):
    submit_all(db, collection)
    second = create_user(db, "rev_yunxi_2", PASSWORD, roles=[("township_reviewer", YUNXI)])
    db.commit()
    inbox = [row[0] for row in db.execute(inbox_query(principal_of(db, "rev_yunxi"), InboxFilter(kind="review")))]
    assert len(inbox) >= 2
    first, rest = inbox[:1], inbox[1:]
    runs_before = len(engine_runs)
    assert all(r.ok for r in bulk_approve(db, principal_of(db, "rev_yunxi_2"), [t.id for t in first]))
    assert all(r.ok for r in bulk_approve(db, principal_of(db, "rev_yunxi"), [t.id for t in rest]))
    db.commit()
    assert len(engine_runs) - runs_before == 1  # the state records the role, so both share one step

    for task in inbox:
        check_consistent(db, db.get(ProcessInstance, task.instance_id))
        loaded = lock_and_load(db, task.instance_id)
        [county] = ready_tasks(loaded.definition, loaded.workflow)
        seen = task_data(loaded.definition, loaded.workflow, county.task_id)
        assert seen["township_review"]["actor"] == "township_reviewer"
        db.rollback()
    # the person is the task row's completed_by and the audit entry's actor
    people = {t.id: (db.get(WorkflowTask, t.id).completed_by) for t in inbox}
    rev_yunxi = principal_of(db, "rev_yunxi").user_id
    assert people == {t.id: second.id if t in first else rev_yunxi for t in inbox}
    audited = dict(db.execute(select(AuditEntry.object_id, AuditEntry.actor_id)
                              .where(AuditEntry.action == "review_approve")).all())
    assert audited == {str(t.submission_id): people[t.id] for t in inbox}


def test_a_return_with_its_comment_is_not_shared_with_an_approval(collection, db, engine_runs):
    submit_all(db, collection)
    inbox = [row[0] for row in db.execute(inbox_query(principal_of(db, "rev_yunxi"), InboxFilter(kind="review")))]
    returned, approved = inbox[0], inbox[1]
    tasks.complete_review(db, principal_of(db, "rev_yunxi"), returned.id,
                          {"decision": "return", "comment": "人口数有误", "field_comments": {}})
    assert all(r.ok for r in bulk_approve(db, principal_of(db, "rev_yunxi"), [approved.id]))
    db.commit()
    back, forward = db.get(Submission, returned.submission_id), db.get(Submission, approved.submission_id)
    assert (back.status, forward.status) == ("returned", "approved")
    for task in (returned, approved):
        check_consistent(db, db.get(ProcessInstance, task.instance_id))


def test_step_keys():
    now = dt.datetime(2026, 11, 22, 8, 0, 30, tzinfo=dt.UTC)
    key = step_key(1, "d" * 32, "t", {"decision": "approve", "comment": ""}, "rev", now)
    same = step_key(1, "d" * 32, "t", {"comment": "", "decision": "approve"}, "rev", now + dt.timedelta(seconds=20))
    assert key == same  # key order of the payload does not matter; the same minute
    assert step_key(1, "d" * 32, "t", {"decision": "approve", "comment": ""}, "rev",
                    now + dt.timedelta(minutes=1)) != key  # clock readings in the state age at most a minute
    assert step_key(1, "d" * 32, "t", {"decision": "approve", "comment": ""}, "other", now) != key
    assert step_key(1, "d" * 32, "t", {"x": object()}, "rev", now) is None


def test_steps_of_a_flow_that_reads_the_report_are_shared_only_by_reports_alike_in_what_it_reads(
        published, db, engine_runs):
    """QA's small-village flow: its gateway reads pop_total, so a step is remembered per value read:
    villages of one size share it, a village of another size never takes it."""
    from tests.db.test_flow_service import small_report, small_village_collection

    collection = small_village_collection(db, published)
    subs = list(db.scalars(select(Submission).where(Submission.collection_id == collection.id)
                           .order_by(Submission.id)))
    create_user(db, "clerk_all", PASSWORD, roles=[("village_clerk", s.org_code) for s in subs])
    db.commit()
    small = {s.id for s in subs[::2]}
    items = [SubmitItem(s.id, small_report() if s.id in small else valid_report(), s.revision) for s in subs]
    assert all(r.submitted for r in submit_many(db, principal_of(db, "clerk_all"), items))
    db.commit()
    assert len(engine_runs) == 2  # one entry step per size
    inbox = [row[0] for row in db.execute(inbox_query(principal_of(db, "rev_yunxi"), InboxFilter(kind="review")))]
    assert {t.submission_id in small for t in inbox} == {True, False}
    runs_before = len(engine_runs)
    assert all(r.ok for r in bulk_approve(db, principal_of(db, "rev_yunxi"), [t.id for t in inbox]))
    db.commit()
    assert len(engine_runs) - runs_before == 2  # one approval per size
    for task in inbox:
        status = db.get(Submission, task.submission_id).status
        assert status == ("final" if task.submission_id in small else "approved"), task.subject_org_code
        check_consistent(db, db.get(ProcessInstance, task.instance_id))
