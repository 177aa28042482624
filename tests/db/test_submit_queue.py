"""Group commit (engine.submit_queue, engine.submissions.submit_together) against PostgreSQL: submits
of several clerks written together, each judged and answered as if it came alone."""

import threading
import time

import pytest
from sqlalchemy import select

from engine.auth import create_user
from engine.db.models import AuditEntry, Submission, SubmissionRevision, WorkflowTask
from engine.errors import Conflict, NotFound, PermissionDenied, RevisionMoved
from engine.submissions import SubmitItem, SubmitOutcome, submit_together
from engine.submit_queue import SubmitQueue
from tests.conftest import PASSWORD, principal_of, statements_sent, valid_report

XIKOU, SHANGJIE, ZHULIN, CHAYUAN = "390121101201", "390121101202", "390121101203", "390121101204"
BAISHI, LINGXIA = "390121201201", "390121201202"


def subs_by_org(db, collection) -> dict[str, Submission]:
    rows = db.scalars(select(Submission).where(Submission.collection_id == collection.id))
    return {s.org_code: s for s in rows}


def test_each_request_is_judged_as_if_alone_in_one_read_and_one_write(collection, db, db_engine):
    subs = subs_by_org(db, collection)
    create_user(db, "clerk_lingxia", PASSWORD, roles=[("village_clerk", LINGXIA)])
    db.commit()
    invalid = valid_report()
    invalid["population"]["pop_male"] += 1  # no longer adds up to the total
    names = ("clerk_xikou", "clerk_shangjie", "clerk_baishi", "clerk_lingxia", "rev_yunxi")
    who = {name: principal_of(db, name) for name in names}
    requests = [
        (who["clerk_xikou"], SubmitItem(subs[XIKOU].id, valid_report(), 0)),
        (who["clerk_shangjie"], SubmitItem(subs[SHANGJIE].id, invalid, 0)),   # invalid: kept as a draft
        (who["clerk_baishi"], SubmitItem(subs[BAISHI].id, valid_report(), 3)),  # edited a revision gone by
        # in the township reviewer's scope, which the batch reads under, but not in xikou's clerk's
        (who["clerk_xikou"], SubmitItem(subs[ZHULIN].id, valid_report(), 0)),
        (who["rev_yunxi"], SubmitItem(subs[CHAYUAN].id, valid_report(), 0)),  # sees it, may not fill it in
        (who["clerk_lingxia"], SubmitItem(subs[LINGXIA].id, valid_report(), 0)),
    ]
    with statements_sent(db_engine) as seen:
        outcomes = submit_together(db, requests)
        db.commit()
    xikou, shangjie, baishi, zhulin, chayuan, lingxia = outcomes
    assert isinstance(xikou, SubmitOutcome) and xikou.submitted
    assert isinstance(lingxia, SubmitOutcome) and lingxia.submitted
    assert isinstance(shangjie, SubmitOutcome) and not shangjie.submitted
    assert any(p.rule_id for p in shangjie.validation.errors)
    assert isinstance(baishi, RevisionMoved) and baishi.details == {"current_revision": 0, "your_revision": 3}
    assert isinstance(zhulin, NotFound) and zhulin.message == "填报记录不存在或无权查看"
    assert isinstance(chayuan, PermissionDenied) and chayuan.message == "只有本单位的填报人员可以修改此表"
    # one locked read for all, the invalid one's draft, one write for both valid reports with their steps
    assert sum("FOR UPDATE" in s for s in seen) == 1, seen
    assert len([s for s in seen if not s.lstrip().startswith("SELECT")]) == 2, seen

    db.expire_all()
    stored = subs_by_org(db, collection)
    assert [(stored[org].status, stored[org].revision) for org in (XIKOU, LINGXIA)] == [("submitted", 1)] * 2
    assert (stored[SHANGJIE].status, stored[SHANGJIE].revision, stored[SHANGJIE].data) == ("draft", 1, invalid)
    assert {(stored[org].status, stored[org].revision) for org in (BAISHI, ZHULIN, CHAYUAN)} == {("not_started", 0)}
    # each report is its own clerk's: the row, its revision, its audit entry and its completed task
    for org, name in ((XIKOU, "clerk_xikou"), (LINGXIA, "clerk_lingxia")):
        user_id, sub_id = who[name].user_id, stored[org].id
        assert stored[org].updated_by == user_id
        assert db.scalar(select(SubmissionRevision.created_by).where(SubmissionRevision.submission_id == sub_id,
                                                                     SubmissionRevision.kind == "submit")) == user_id
        assert db.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "submit",
                                                           AuditEntry.object_id == str(sub_id))) == user_id
        assert db.scalar(select(WorkflowTask.completed_by).where(WorkflowTask.submission_id == sub_id,
                                                                 WorkflowTask.kind == "entry")) == user_id


def test_one_request_per_submission(collection, db):
    sub = subs_by_org(db, collection)[XIKOU]
    clerk = principal_of(db, "clerk_xikou")
    with pytest.raises(ValueError, match="one request per submission"):
        submit_together(db, [(clerk, SubmitItem(sub.id, valid_report(), 0))] * 2)


class HeldFirstBatch:
    """``on_batch`` for a queue: records each batch's size and holds the first batch until ``count`` more
    submits wait behind it, so the test knows which batches form."""

    def __init__(self, count: int) -> None:
        self.count, self.sizes, self.queue = count, [], None

    def __call__(self, size: int) -> None:
        self.sizes.append(size)
        if len(self.sizes) == 1:
            deadline = time.monotonic() + 30
            while self.queue.waiting < self.count:
                assert time.monotonic() < deadline, "the other submits never arrived"
                time.sleep(0.01)


def run_together(queue: SubmitQueue, calls: list) -> list:
    """Each call in a thread of its own, the first one started before the others; returns each call's
    outcome or the exception it raised, in order."""
    results: list = [None] * len(calls)

    def run(i, principal, item):
        try:
            results[i] = queue.submit(principal, item)
        except BaseException as err:  # the request's own error, as its view would see it
            results[i] = err

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    threads[0].start()
    while not queue._writer.locked():  # the first one is writing its batch
        time.sleep(0.005)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()
    return results


def test_submits_that_arrive_while_a_batch_is_written_form_the_next_batch(collection, db, session_factory):
    subs = subs_by_org(db, collection)
    held = HeldFirstBatch(2)
    queue = held.queue = SubmitQueue(session_factory, on_batch=held)
    calls = [(principal_of(db, name), SubmitItem(subs[org].id, valid_report(), 0))
             for name, org in (("clerk_xikou", XIKOU), ("clerk_shangjie", SHANGJIE), ("clerk_baishi", BAISHI))]
    results = run_together(queue, calls)
    db.expire_all()  # the test's own session read them before
    assert held.sizes == [1, 2]
    assert all(isinstance(r, SubmitOutcome) and r.submitted for r in results), results
    # committed, and each answer is complete without its (closed) session
    assert [(r.submission.status, r.submission.revision, r.indicator_set.code) for r in results] == [
        ("submitted", 1, "village_basic")] * 3
    assert results[0].submission.data == db.get(Submission, subs[XIKOU].id).data
    stored = subs_by_org(db, collection)
    assert {stored[org].updated_by for org in (XIKOU, SHANGJIE, BAISHI)} == {c[0].user_id for c in calls}


def test_a_second_submit_of_the_same_report_waits_for_the_next_batch_and_is_refused(collection, db,
                                                                                    session_factory):
    subs = subs_by_org(db, collection)
    held = HeldFirstBatch(2)
    queue = held.queue = SubmitQueue(session_factory, on_batch=held)
    xikou = principal_of(db, "clerk_xikou")
    results = run_together(queue, [
        (principal_of(db, "clerk_baishi"), SubmitItem(subs[BAISHI].id, valid_report(), 0)),
        (xikou, SubmitItem(subs[XIKOU].id, valid_report(), 0)),
        (xikou, SubmitItem(subs[XIKOU].id, valid_report(), 0)),  # the same report from a second tab
    ])
    db.expire_all()
    assert held.sizes == [1, 1, 1]  # never twice in one batch
    first, second = sorted(results[1:], key=lambda r: isinstance(r, Exception))
    assert isinstance(first, SubmitOutcome) and first.submitted
    assert isinstance(second, Conflict) and second.message == "当前状态为“已提交待审核”，不能修改"
    assert db.scalar(select(Submission.revision).where(Submission.id == subs[XIKOU].id)) == 1


def test_a_batch_that_fails_is_written_again_one_submit_at_a_time(collection, db, session_factory, monkeypatch,
                                                                   caplog):
    import engine.submit_queue as queue_module

    subs = subs_by_org(db, collection)
    broken = subs[SHANGJIE].id

    def fails_with_shangjie(session, requests):
        if any(item.submission_id == broken for _, item in requests):
            raise RuntimeError("database went away")  # what a failed statement or commit raises
        return submit_together(session, requests)

    monkeypatch.setattr(queue_module, "submit_together", fails_with_shangjie)
    held = HeldFirstBatch(2)
    queue = held.queue = SubmitQueue(session_factory, on_batch=held)
    results = run_together(queue, [
        (principal_of(db, "clerk_baishi"), SubmitItem(subs[BAISHI].id, valid_report(), 0)),
        (principal_of(db, "clerk_xikou"), SubmitItem(subs[XIKOU].id, valid_report(), 0)),
        (principal_of(db, "clerk_shangjie"), SubmitItem(broken, valid_report(), 0)),
    ])
    db.expire_all()
    assert held.sizes == [1, 2, 1, 1]  # the failed pair, then each of it alone
    assert "a batch of 2 submits failed (database went away)" in caplog.text  # the operator is told
    assert results[0].submitted and results[1].submitted
    assert isinstance(results[2], RuntimeError)
    stored = subs_by_org(db, collection)
    assert [stored[org].status for org in (BAISHI, XIKOU, SHANGJIE)] == ["submitted", "submitted", "not_started"]


class Interrupted(BaseException):
    """What a worker being stopped raises in the thread that leads a batch."""


def test_an_interrupted_batch_never_leaves_a_request_waiting(collection, db, session_factory):
    subs = subs_by_org(db, collection)
    held = HeldFirstBatch(2)

    def interrupt_the_second(size: int) -> None:
        held(size)
        if len(held.sizes) == 2:
            raise Interrupted

    queue = held.queue = SubmitQueue(session_factory, on_batch=interrupt_the_second)
    results = run_together(queue, [
        (principal_of(db, "clerk_baishi"), SubmitItem(subs[BAISHI].id, valid_report(), 0)),
        (principal_of(db, "clerk_xikou"), SubmitItem(subs[XIKOU].id, valid_report(), 0)),
        (principal_of(db, "clerk_shangjie"), SubmitItem(subs[SHANGJIE].id, valid_report(), 0)),
    ])
    db.expire_all()
    assert held.sizes == [1, 2]
    assert results[0].submitted
    # the leader's own request carries the interruption; the other one is answered, not left waiting
    assert sorted(type(r).__name__ for r in results[1:]) == ["Interrupted", "RuntimeError"]
    stored = subs_by_org(db, collection)
    assert [stored[org].status for org in (XIKOU, SHANGJIE)] == ["not_started", "not_started"]
