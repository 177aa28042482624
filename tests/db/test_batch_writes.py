"""Set-based batch reads and writes (engine/db/batch_writes.py) on real PostgreSQL: what ``write_together``
stores is what the unit of work would have stored, and the session does not write it a second time."""

import datetime as dt

import pytest
from sqlalchemy import event, func, inspect, select, text

from engine.db.batch_writes import ByCount, Insert, Update, any_of, write_together
from engine.db.models import Submission, WorkflowTask
from engine.tasks import TASK_COLUMNS


def _statements(db):
    seen: list[str] = []

    def log(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.get_bind(), "before_cursor_execute", log)
    return seen, lambda: event.remove(db.get_bind(), "before_cursor_execute", log)


def test_an_update_stores_changed_columns_and_leaves_nothing_to_flush(collection, db):
    tasks = list(db.scalars(select(WorkflowTask).where(WorkflowTask.collection_id == collection.id)
                            .order_by(WorkflowTask.id)))
    assert len(tasks) >= 2
    when = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    first, second = tasks[0], tasks[1]
    first.state, first.completed_at, first.field_comments, first.comment = "completed", when, {"/a": "请核实"}, "好"
    second.state, second.overdue, second.decision = "cancelled", True, None
    seen, stop = _statements(db)
    try:
        write_together(db, Update([first, second], TASK_COLUMNS))
        db.flush()
    finally:
        stop()
    assert len(seen) == 1 and seen[0].startswith("UPDATE workflow_tasks"), seen  # the flush wrote nothing
    assert not db.dirty
    assert not inspect(first).modified and not inspect(second).modified  # later flushes skip them
    db.commit()
    db.expire_all()
    first, second = db.get(WorkflowTask, first.id), db.get(WorkflowTask, second.id)
    assert (first.state, first.completed_at, first.field_comments, first.comment) == (
        "completed", when, {"/a": "请核实"}, "好")
    assert (second.state, second.overdue, second.decision, second.field_comments) == ("cancelled", True, None, None)
    # untouched rows keep their values
    third = db.get(WorkflowTask, tasks[2].id) if len(tasks) > 2 else None
    assert third is None or third.state == "ready"


def test_nothing_to_write_sends_nothing(db, clean_db):
    seen, stop = _statements(db)
    try:
        write_together(db, Update([], TASK_COLUMNS))
    finally:
        stop()
    assert seen == []


def test_any_of_matches_exactly_the_given_ids(collection, db):
    ids = list(db.scalars(select(Submission.id).where(Submission.collection_id == collection.id).limit(3)))
    assert db.scalar(select(func.count()).select_from(Submission).where(any_of(Submission.id, ids))) == len(ids)
    assert db.scalar(select(func.count()).select_from(Submission).where(any_of(Submission.id, []))) == 0


def test_an_object_with_other_changes_is_still_flushed(collection, db):
    task = db.scalars(select(WorkflowTask).where(WorkflowTask.collection_id == collection.id)).first()
    task.state, task.name = "cancelled", "改过的名称"  # name is not among the written columns
    write_together(db, Update([task], TASK_COLUMNS))
    assert inspect(task).modified
    db.commit()
    db.expire_all()
    assert (db.get(WorkflowTask, task.id).state, db.get(WorkflowTask, task.id).name) == ("cancelled", "改过的名称")


def test_an_insert_inserts_all_rows_in_one_statement_and_keeps_defaults(collection, db):
    template = db.scalars(select(WorkflowTask).where(WorkflowTask.collection_id == collection.id)).first()
    due = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    rows = [{"spiff_task_id": f"t-{n}", "instance_id": template.instance_id, "submission_id": template.submission_id,
             "collection_id": collection.id, "subject_org_code": template.subject_org_code,
             "assignee_org_code": template.assignee_org_code, "role": template.role, "lane": None,
             "bpmn_id": "review", "name": f"审核“{n}”", "kind": "review", "state": "ready", "overdue": False,
             "due_at": due if n else None} for n in range(3)]
    seen, stop = _statements(db)
    try:
        write_together(db, Insert(WorkflowTask.__table__, rows))
    finally:
        stop()
    assert len(seen) == 1
    stored = db.scalars(select(WorkflowTask).where(WorkflowTask.spiff_task_id.like("t-%"))
                        .order_by(WorkflowTask.spiff_task_id)).all()
    assert [(t.name, t.due_at, t.lane) for t in stored] == [("审核“0”", None, None), ("审核“1”", due, None),
                                                           ("审核“2”", due, None)]
    assert all(t.created_at is not None for t in stored)  # the server default applied


def test_an_insert_refuses_rows_naming_different_columns(db, clean_db):
    with pytest.raises(ValueError):
        write_together(db, Insert(WorkflowTask.__table__, [{"name": "a"}, {"role": "b"}]))
    seen, stop = _statements(db)
    try:
        write_together(db, Insert(WorkflowTask.__table__, []), Update([], TASK_COLUMNS))
    finally:
        stop()
    assert seen == []


def test_rows_json_carries_what_a_clerk_can_type_and_timestamps():
    import json

    from engine.db.batch_writes import rows_json

    when = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC)
    rows = [{"id": 1, "name": "张\"三'", "at": when, "on": dt.date(2026, 3, 2), "none": None, "x": 1.5},
            {"id": 2, "big": 10**30}]  # beyond 64 bits: the fast encoder refuses it, the standard one carries it
    assert json.loads(rows_json(rows)) == [
        {"id": 1, "name": "张\"三'", "at": "2026-03-01T08:30:00+00:00", "on": "2026-03-02", "none": None, "x": 1.5},
        {"id": 2, "big": 10**30}]


def test_several_writes_go_as_one_statement(collection, db):
    tasks = list(db.scalars(select(WorkflowTask).where(WorkflowTask.collection_id == collection.id)
                            .order_by(WorkflowTask.id).limit(2)))
    sub = db.get(Submission, tasks[0].submission_id)
    tasks[0].state, sub.status = "cancelled", "draft"
    new = {"spiff_task_id": "t-new", "instance_id": tasks[1].instance_id, "submission_id": tasks[1].submission_id,
           "collection_id": collection.id, "subject_org_code": tasks[1].subject_org_code,
           "assignee_org_code": tasks[1].assignee_org_code, "role": tasks[1].role, "lane": None,
           "bpmn_id": "review", "name": "审核", "kind": "review", "state": "ready", "overdue": False, "due_at": None}
    seen, stop = _statements(db)
    try:
        write_together(db, Update([tasks[0]], TASK_COLUMNS), Update([sub], ("status",)), Update([], TASK_COLUMNS),
                       Insert(WorkflowTask.__table__, [new]))
        db.flush()
    finally:
        stop()
    assert len(seen) == 1 and seen[0].startswith("WITH "), seen
    db.commit()
    db.expire_all()
    assert db.get(WorkflowTask, tasks[0].id).state == "cancelled" and db.get(Submission, sub.id).status == "draft"
    assert db.scalar(select(func.count()).select_from(WorkflowTask).where(WorkflowTask.spiff_task_id == "t-new")) == 1


def test_an_insert_can_skip_rows_already_there(collection, db):
    from engine.db.models import WorkflowState

    rows = [{"digest": f"test-{n}", "process_version_id": collection.process_version_id, "state": {"n": n}}
            for n in (2, 1)]
    write_together(db, Insert(WorkflowState.__table__, rows[:1], skip_existing=("digest",)))
    write_together(db, Insert(WorkflowState.__table__, rows, skip_existing=("digest",)))  # test-2 is there
    stored = db.execute(select(WorkflowState.digest, WorkflowState.state)
                        .where(WorkflowState.digest.like("test-%")).order_by(WorkflowState.digest)).all()
    assert [tuple(r) for r in stored] == [("test-1", {"n": 1}), ("test-2", {"n": 2})]


def test_an_update_can_copy_the_rows_it_wrote_to_a_history_table(collection, db, role_users):
    from engine.db.batch_writes import Copy
    from engine.db.models import SubmissionRevision

    subs = list(db.scalars(select(Submission).where(Submission.collection_id == collection.id)
                           .order_by(Submission.id).limit(2)))
    for n, sub in enumerate(subs):
        sub.data, sub.revision, sub.updated_by = {"n": n, "名": "张\"三'"}, 7 + n, role_users["clerk_xikou"]
    history = Copy(SubmissionRevision.__table__,
                   {"submission_id": "id", "revision": "revision", "data": "data", "created_by": "updated_by"},
                   {"kind": "submit"})
    seen, stop = _statements(db)
    try:
        write_together(db, Update(subs, ("data", "revision", "updated_by"), history))
        db.flush()
    finally:
        stop()
    assert len(seen) == 1, seen  # the update and its copy: one statement, the data sent once
    db.commit()
    db.expire_all()
    copied = db.execute(select(SubmissionRevision.submission_id, SubmissionRevision.revision, SubmissionRevision.kind,
                               SubmissionRevision.data, SubmissionRevision.created_by)
                        .order_by(SubmissionRevision.submission_id)).all()
    assert [tuple(r) for r in copied] == [
        (sub.id, 7 + n, "submit", {"n": n, "名": "张\"三'"}, role_users["clerk_xikou"]) for n, sub in enumerate(subs)]
    assert [db.get(Submission, sub.id).revision for sub in subs] == [7, 8]


def test_by_count_picks_the_one_row_shape_only_when_every_list_has_one_id():
    shapes = ByCount.build(lambda match: match(Submission.id, "ids"))
    assert shapes.pick(ids=[7]) == (shapes.one, {"ids": 7})
    assert shapes.pick(ids=(7, 8)) == (shapes.many, {"ids": [7, 8]})
    assert shapes.pick(ids=[]) == (shapes.many, {"ids": []})
    assert shapes.pick(a=[1], b=[2, 3])[0] is shapes.many


def _plans(db, start: str) -> tuple[int, int]:
    """(generic, custom) plans PostgreSQL made for this connection's prepared statement starting so."""
    row = db.execute(text("SELECT generic_plans, custom_plans FROM pg_prepared_statements"
                          " WHERE statement LIKE :start"), {"start": start + "%"}).first()
    assert row is not None, f"no prepared statement starts with {start!r}"
    return row.generic_plans, row.custom_plans


def test_one_row_writes_and_reads_keep_postgresqls_generic_plan(collection, db):
    """A statement run once per HTTP request must not be planned again each time (see ByCount): after
    psycopg prepares it and PostgreSQL has tried five custom plans, the plan is reused."""
    task = db.scalars(select(WorkflowTask).where(WorkflowTask.collection_id == collection.id)).first()
    shapes = ByCount.build(lambda match: select(Submission.id).where(match(Submission.id, "ids"))
                           .with_for_update())
    for n in range(12):
        task.comment = f"第 {n} 次"
        write_together(db, Update([task], TASK_COLUMNS))
        assert db.execute(*shapes.pick(ids=[task.submission_id])).scalar_one() == task.submission_id
    assert _plans(db, "UPDATE workflow_tasks")[0] > 0
    assert _plans(db, "SELECT submissions.id")[0] > 0
    db.rollback()
