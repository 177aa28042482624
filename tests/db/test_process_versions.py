"""A new process version while instances run: old instances finish on v1, new ones take v2's extra
step, and every saved state loads again after the round trip through PostgreSQL. Plus the timers:
``engine.tasks.tick`` and the ``grassroots tick`` command against the test database."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import submissions, tasks
from engine.collections import start_collection
from engine.db.models import ProcessInstance, ProcessVersion, Submission, WorkflowTask
from engine.instances import lock_and_load
from engine.workflows import ready_tasks
from tests.conftest import principal_of, valid_report

XIKOU, SHANGJIE = "390121101201", "390121101202"
CLERKS = {XIKOU: "clerk_xikou", SHANGJIE: "clerk_shangjie"}


def sub_of(db, collection_id: int, org: str) -> Submission:
    return db.scalar(select(Submission).where(Submission.collection_id == collection_id, Submission.org_code == org))


def ready_of(db, sub: Submission) -> list[WorkflowTask]:
    return list(db.scalars(select(WorkflowTask).where(WorkflowTask.submission_id == sub.id,
                                                      WorkflowTask.state == "ready")))


def submit(db, collection_id: int, org: str) -> Submission:
    sub = sub_of(db, collection_id, org)
    out = submissions.submit(db, principal_of(db, CLERKS[org]), sub.id, valid_report(), revision=sub.revision)
    assert out.submitted
    db.commit()
    return sub


def act(db, username: str, sub: Submission, decision: str = "approve", comment: str = "") -> list[str]:
    """Complete the submission's ready task as ``username``; returns the bpmn ids now ready."""
    [task] = ready_of(db, sub)
    step = tasks.complete_review(db, principal_of(db, username), task.id, {"decision": decision, "comment": comment})
    db.commit()
    return [t.bpmn_id for t in step.ready]


@pytest.fixture
def collection_v2(published, collection, db):
    """Next year's collection over the same county, on village_report v2 (adds 县级业务部门核查)."""
    started = start_collection(
        db, title="2025年村级基本情况年报", period="2025", scope_org_code="390121000000",
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)],
        process_version_id=published[("process", "village_report", 2)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31),
    )
    db.commit()
    return started.collection


def completed_steps(db, sub: Submission) -> list[str]:
    return [t.bpmn_id for t in tasks.history(db, sub.id) if t.state == "completed"]


def test_old_instances_finish_on_v1_and_new_ones_take_the_department_step(
        collection, collection_v2, published, db, session_factory):
    # collection A (v1) is mid-flow when B (v2) starts: one report waits for the county, one for the township
    a_xikou = submit(db, collection.id, XIKOU)
    assert act(db, "rev_yunxi", a_xikou) == ["county_review"]
    a_shangjie = submit(db, collection.id, SHANGJIE)

    # A finishes on v1: township approval goes straight to the county, nothing for the department
    assert act(db, "rev_yunxi", a_shangjie) == ["county_review"]
    assert act(db, "rev_county", a_xikou) == []
    assert act(db, "rev_county", a_shangjie) == []
    for sub in (a_xikou, a_shangjie):
        db.refresh(sub)
        assert sub.status == "final"
        assert completed_steps(db, sub) == ["village_entry", "township_review", "county_review"]

    # B runs v2: township approval goes to 县级业务部门核查, which dept_county approves
    b_xikou = submit(db, collection_v2.id, XIKOU)
    assert act(db, "rev_yunxi", b_xikou) == ["department_check"]
    [check] = ready_of(db, b_xikou)
    assert (check.name, check.role, check.assignee_org_code) == ("县级业务部门核查", "county_department", "390121000000")
    assert act(db, "dept_county", b_xikou) == ["county_review"]
    assert act(db, "rev_county", b_xikou) == []
    db.refresh(b_xikou)
    assert b_xikou.status == "final"
    assert completed_steps(db, b_xikou) == ["village_entry", "township_review", "department_check", "county_review"]
    # a department return goes back to the township, and stays on v2
    b_shangjie = submit(db, collection_v2.id, SHANGJIE)
    act(db, "rev_yunxi", b_shangjie)
    assert act(db, "dept_county", b_shangjie, "return", "低保人数与民政台账不一致") == ["township_review"]
    assert act(db, "rev_yunxi", b_shangjie) == ["department_check"]

    # every stored instance loads again from a fresh session, on the version it started with
    versions = {pv.id: pv.version for pv in db.scalars(select(ProcessVersion))}
    with session_factory() as fresh:
        rows = fresh.scalars(select(ProcessInstance).order_by(ProcessInstance.id)).all()
        assert len(rows) == 20
        for row in rows:
            loaded = lock_and_load(fresh, row.id)
            expected = 1 if row.collection_id == collection.id else 2
            assert versions[row.process_version_id] == expected == loaded.definition.version
            index = {t.spiff_task_id for t in fresh.scalars(
                select(WorkflowTask).where(WorkflowTask.instance_id == row.id, WorkflowTask.state == "ready"))}
            assert {t.task_id for t in ready_tasks(loaded.definition, loaded.workflow)} == index
        fresh.rollback()


def test_tick_fires_deadlines_on_both_versions(collection, collection_v2, db):
    submit(db, collection.id, XIKOU)  # a submitted report has no entry deadline any more
    now = dt.datetime.now(dt.UTC)
    assert tasks.tick(db, now) == 0
    later = now + dt.timedelta(days=15)
    assert tasks.tick(db, later, limit=7) == 7
    assert tasks.tick(db, later) == 12
    assert tasks.tick(db, later) == 0
    db.commit()
    entries = db.scalars(select(WorkflowTask).where(WorkflowTask.kind == "entry", WorkflowTask.state == "ready")).all()
    assert len(entries) == 19 and all(t.overdue for t in entries)
    for row in db.scalars(select(ProcessInstance)).all():
        assert lock_and_load(db, row.id).workflow is not None
    db.rollback()


def test_grassroots_tick_command(collection, database_url, tmp_path, monkeypatch, db):
    import cli.tasks as tick_module
    from cli.main import cli

    env = {"DATABASE_URL": database_url, "GRASSROOTS_INSTANCE": str(tmp_path)}
    runner = CliRunner()
    quiet = runner.invoke(cli, ["tick"], env=env)
    assert quiet.exit_code == 0, quiet.output
    assert "没有到期的计时器" in quiet.output

    monkeypatch.setattr(tick_module, "now_utc", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=15))
    fired = runner.invoke(cli, ["tick", "--batch", "3"], env=env)  # 3 + 3 + 3 + 1
    assert fired.exit_code == 0, fired.output
    assert "已触发 10 个流程实例的到期计时器" in fired.output
    db.expire_all()
    assert all(t.overdue for t in db.scalars(select(WorkflowTask).where(WorkflowTask.state == "ready")))
    again = runner.invoke(cli, ["tick"], env=env)
    assert "没有到期的计时器" in again.output
    assert runner.invoke(cli, ["tick", "--batch", "0"], env=env).exit_code == 2


def test_a_broken_instance_does_not_starve_tick_and_fails_the_run(collection, database_url, tmp_path,
                                                                  monkeypatch, db):
    """The instance that sorts first stays due when it cannot fire: the run still fires every other
    one (in every batch, not batch size − 1 per cron run), names the broken one and exits 1."""
    import cli.tasks as tick_module
    from cli.main import cli
    from engine.errors import BadInput

    first = db.scalars(select(ProcessInstance.id).order_by(ProcessInstance.next_timer_at,
                                                           ProcessInstance.id)).first()
    loaded_ids: list[int] = []
    real_load, real_fire = tasks.lock_and_load, tasks.fire_due_timers

    def load(session, instance_id):
        loaded_ids.append(instance_id)
        return real_load(session, instance_id)

    def fire(definition, workflow, now, report=None):
        if loaded_ids[-1] == first:
            raise BadInput("状态损坏")
        return real_fire(definition, workflow, now, report)

    monkeypatch.setattr(tasks, "lock_and_load", load)
    monkeypatch.setattr(tasks, "fire_due_timers", fire)
    monkeypatch.setattr(tick_module, "now_utc", lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=15))
    result = CliRunner().invoke(cli, ["tick", "--batch", "3"],
                                env={"DATABASE_URL": database_url, "GRASSROOTS_INSTANCE": str(tmp_path)})
    assert result.exit_code == 1, result.output
    assert f"已触发 9 个流程实例的到期计时器，1 个失败（实例 {first}）" in result.output
    assert "Traceback" not in result.output and "could not fire" not in result.output
    assert loaded_ids.count(first) == 1  # tried once, then left out of the run's later batches


def test_closed_collections_timers_do_not_fire(collection, db):
    from engine.collections import close_collection

    close_collection(db, collection.id)
    db.commit()
    assert tasks.tick(db, dt.datetime.now(dt.UTC) + dt.timedelta(days=15)) == 0
    db.commit()
    assert not any(t.overdue for t in db.scalars(select(WorkflowTask).where(WorkflowTask.state == "ready")))
