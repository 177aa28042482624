"""Completeness counts against an independent computation from the raw submissions, tasks and instances."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

from sqlalchemy import select, update

from engine.collections import start_collection
from engine.completeness import CHINA, STATUS_COLUMNS, completeness
from engine.db.models import Collection, OrgUnit, ProcessInstance, Submission, WorkflowTask
from engine.orgs import ancestor_at, generate_province, import_units, level_of
from engine.roles import Level
from tests.db.test_rollups import XIKOU, _approve_mix, sub_of


def independent(db, collection: Collection, today: dt.date) -> dict[str, dict[str, int]]:
    """Per unit (every level, the reporting units included): the counts, from the raw rows in Python."""
    now = dt.datetime.now(dt.UTC)
    overdue_tasks = {sub_id for sub_id, flagged, due in db.execute(
        select(WorkflowTask.submission_id, WorkflowTask.overdue, WorkflowTask.due_at).where(
            WorkflowTask.collection_id == collection.id, WorkflowTask.state == "ready"))
        if flagged or (due is not None and due < now)}
    finished = dict(db.execute(select(ProcessInstance.submission_id, ProcessInstance.updated_at).where(
        ProcessInstance.collection_id == collection.id, ProcessInstance.status == "completed")).all())
    cutoff = dt.datetime(*(collection.deadline + dt.timedelta(days=1)).timetuple()[:3], tzinfo=CHINA)
    late = today > collection.deadline
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sub_id, org, status in db.execute(select(Submission.id, Submission.org_code, Submission.status)
                                          .where(Submission.collection_id == collection.id)):
        for lv in range(Level.PROVINCE, level_of(org) + 1):
            c = counts[ancestor_at(org, Level(lv))]
            c["expected"] += 1
            c[status] += 1
            c["overdue"] += status != "final" and (late or sub_id in overdue_tasks)
            c["on_time"] += status == "final" and sub_id in finished and finished[sub_id] < cutoff
    return counts


def assert_agrees(db, collection: Collection, today: dt.date) -> int:
    want = independent(db, collection, today)
    checked = 0
    for code in want:
        report = completeness(db, collection, code, today=today)
        for counts in [report.unit, *report.children]:
            expected = want[counts.code]
            assert counts.expected == expected["expected"], counts.code
            assert counts.by_status == {s: expected[s] for s in STATUS_COLUMNS}, counts.code
            assert (counts.overdue, counts.on_time) == (expected["overdue"], expected["on_time"]), counts.code
            checked += 1
        if level_of(code) < collection.reporting_level:
            assert sorted(c.code for c in report.children) == sorted(
                c for c in want if len(c) == 12 and level_of(c) == level_of(code) + 1 and
                c.startswith(code[: {1: 2, 2: 4, 3: 6, 4: 9}[level_of(code)]]))
            assert sum(c.expected for c in report.children) == report.unit.expected
    return checked


def test_sample_province_agrees_with_the_submissions(collection, db):
    _approve_mix(db, collection)
    task = db.scalar(select(WorkflowTask).where(WorkflowTask.collection_id == collection.id,
                                               WorkflowTask.state == "ready", WorkflowTask.kind == "entry"))
    task.overdue = True  # its deadline timer has fired
    review = db.scalar(select(WorkflowTask).where(WorkflowTask.collection_id == collection.id,
                                                 WorkflowTask.state == "ready", WorkflowTask.kind == "review"))
    review.due_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)  # its shown deadline passed, no timer
    db.commit()
    for today in (dt.date(2025, 2, 1), dt.date(2025, 3, 31), dt.date(2025, 4, 1)):
        assert assert_agrees(db, collection, today) > 20
    county = completeness(db, collection, "390121000000", today=dt.date(2025, 2, 1))
    assert county.unit.expected == 10
    assert county.unit.by_status == {"not_started": 1, "draft": 0, "submitted": 2, "returned": 1,
                                     "approved": 2, "final": 4}
    assert county.unit.overdue == 2  # before the deadline: the task marked overdue and the review past due
    assert completeness(db, collection, "390121000000", today=dt.date(2025, 4, 1)).unit.overdue == 6
    assert [c.name for c in county.children] == ["云溪镇", "白石乡"]
    village = completeness(db, collection, XIKOU)
    assert village.children == [] and village.unit.by_status["final"] == 1


def test_on_time_is_final_by_the_end_of_the_deadline_day_in_china(collection, db):
    _approve_mix(db, collection)
    xikou = sub_of(db, collection, XIKOU)
    last_minute = dt.datetime(2025, 3, 31, 23, 59, tzinfo=CHINA)
    db.execute(update(ProcessInstance).where(ProcessInstance.submission_id == xikou.id)
               .values(updated_at=last_minute))
    db.execute(update(ProcessInstance).where(ProcessInstance.submission_id == sub_of(db, collection,
                                                                                     "390121101203").id)
               .values(updated_at=last_minute + dt.timedelta(minutes=2)))
    db.commit()
    report = completeness(db, collection, "390121101000", today=dt.date(2025, 5, 1))
    assert report.unit.on_time == 1 and report.unit.by_status["final"] == 2
    assert report.unit.on_time_rate == 1 / 5
    assert assert_agrees(db, collection, dt.date(2025, 5, 1)) > 0


def test_generated_province_agrees(published, db):
    import_units(db, list(generate_province(province="37", cities=3, counties=5, townships=15, villages=400,
                                            seed=3)))
    db.commit()
    collection = start_collection(
        db, title="生成省年报", period="2025", scope_org_code="370000000000",
        indicator_set_version_id=published[("indicator_set", "village_basic", 1)],
        process_version_id=published[("process", "village_report", 1)],
        opens_on=dt.date(2026, 1, 1), deadline=dt.date(2026, 3, 31),
    ).collection
    db.commit()
    rng = random.Random(2)
    for sub in db.scalars(select(Submission).where(Submission.collection_id == collection.id)):
        sub.status = rng.choice(list(STATUS_COLUMNS))
        if sub.status == "final":
            done = dt.datetime(2026, 3, rng.randint(20, 31), rng.randint(0, 23), tzinfo=CHINA)
            done += dt.timedelta(days=rng.choice([0, 0, 1, 5]))
            db.execute(update(ProcessInstance).where(ProcessInstance.submission_id == sub.id)
                       .values(status="completed", updated_at=done))
        elif rng.random() < 0.2:
            db.execute(update(WorkflowTask).where(WorkflowTask.submission_id == sub.id).values(overdue=True))
    db.commit()
    assert db.scalar(select(OrgUnit.code).where(OrgUnit.code == "370000000000"))
    for today in (dt.date(2026, 2, 1), dt.date(2026, 4, 2)):
        assert assert_agrees(db, collection, today) > 400


def test_a_unit_closed_during_a_collection_still_reports_marked_closed(collection, db):
    from engine.orgs import close_unit

    shangao = "390121201203"
    before = completeness(db, collection, "390121201000")
    close_unit(db, shangao, on=dt.date(2025, 1, 15))  # while the collection runs
    db.commit()
    after = completeness(db, collection, "390121201000", today=dt.date(2025, 2, 1))
    # the collection's units were fixed when it started: the count is the same, the unit is marked
    assert after.unit.expected == before.unit.expected
    names = {c.code: c.name for c in after.children}
    assert names[shangao].endswith(" [已撤销]") and not names["390121201201"].endswith("[已撤销]")
    assert "[已撤销]" not in {c.code: c.name for c in completeness(
        db, collection, "390121201000", today=dt.date(2025, 1, 14)).children}[shangao]


def test_a_closed_unit_is_marked_on_roll_ups_and_exports_too(collection, db):
    """The same mark wherever the unit is listed: roll-up breakdown and exports, not only completeness."""
    from engine.exports import plan_export
    from engine.orgs import close_unit
    from engine.rollups import rollup_report
    from tests.conftest import principal_of

    shangao = "390121201203"
    close_unit(db, shangao, on=dt.date(2025, 1, 15))
    db.commit()
    report = rollup_report(db, collection, "390121201000")
    names = {u.code: u.name for u in report.breakdown}
    assert names[shangao].endswith(" [已撤销]") and not names["390121201201"].endswith("[已撤销]")
    assert rollup_report(db, collection, shangao).unit.name.endswith(" [已撤销]")
    plan = plan_export(db, principal_of(db, "admin"), collection.id, "390121201000", all_units=True)
    exported = {r.org_code: r.unit_name for batch in plan.selection.batches(db) for r in batch}
    assert exported[shangao].endswith(" [已撤销]") and not exported["390121201201"].endswith("[已撤销]")
