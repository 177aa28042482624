"""The benchmark's bulk floor (bench/hand_bulk.py) does the engine's work, no less.

The floor is a baseline of docs/performance.md: what keeping the engine's guarantees costs without the
engine's layers. It means something only while it writes what ``submit_many`` writes and refuses what
it refuses, so reports submitted by each, side by side, are compared row by row (ids, clocks and the
village aside).
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from bench.database import libpq_url
from bench.documents import load_village_report
from bench.hand_bulk import FloorBatch, entry_step, submit_floor_batch
from engine.auth import create_user
from engine.db.models import Submission
from engine.orgs import ancestor_at
from engine.roles import Level
from engine.submissions import SubmitItem, submit_many
from tests.conftest import PASSWORD, principal_of, valid_report

XIKOU, SHANGJIE, ZHULIN, CHAYUAN = "390121101201", "390121101202", "390121101203", "390121101204"
LINGXIA = "390121201202"  # 岭下, in 白石乡: the clerk holds it too
BAISHI_VILLAGE = "390121201201"  # in the county, another township; not the clerk's
CLERK_VILLAGES = (XIKOU, SHANGJIE, ZHULIN, CHAYUAN, LINGXIA)


@pytest.fixture
def clerk(collection, db) -> int:
    user = create_user(db, "clerk_multi", PASSWORD, roles=[("village_clerk", code) for code in CLERK_VILLAGES])
    db.commit()
    return user.id


def ids_of(db, collection) -> dict[str, int]:
    rows = db.execute(select(Submission.org_code, Submission.id).where(Submission.collection_id == collection.id))
    return dict(rows.tuples().all())


def through_engine(db, items: list[tuple[int, int, dict]]) -> set[int]:
    """Submit with submit_many as clerk_multi; returns the refused submission ids."""
    results = submit_many(db, principal_of(db, "clerk_multi"), [SubmitItem(s, d, r) for s, r, d in items])
    db.commit()
    return {r.submission_id for r in results if not r.submitted}


def through_floor(database_url: str, actor: int, items: list[tuple[int, int, dict]]) -> set[int]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        step = entry_step(conn)
        refused = submit_floor_batch(conn, load_village_report(), step,
                                     FloorBatch(actor, "village_clerk", frozenset(CLERK_VILLAGES), items))
    return {int(line.split(":")[0]) for line in refused}


def written(database_url: str, submission_id: int) -> dict[str, Any]:
    """Every row a submit wrote for the submission, without what differs by village, id or clock."""
    with psycopg.connect(libpq_url(database_url)) as conn:
        def rows(query: str, **more: Any) -> list[tuple]:
            return conn.execute(query, {"s": submission_id, **more}).fetchall()

        [(org, submitted_at, *submission)] = rows(
            "SELECT org_code, submitted_at, status, revision, approved_level, data, explanations, updated_by,"
            " updated_at IS NOT NULL FROM submissions WHERE id = %(s)s")
        tasks = rows(
            "SELECT t.kind, t.state, t.spiff_task_id, t.role, t.lane, t.bpmn_id, t.name,"
            " t.assignee_org_code = %(township)s, t.subject_org_code = s.org_code, t.completed_by, t.revision,"
            " t.decision, t.comment, t.field_comments, t.overdue, t.completed_at IS NULL, round(extract(epoch FROM t.due_at - s.submitted_at) / 3600)"
            " FROM workflow_tasks t JOIN submissions s ON s.id = t.submission_id"
            " WHERE t.submission_id = %(s)s AND t.kind = 'review' ORDER BY t.id", township=ancestor_at(org, Level.TOWNSHIP))
        entry = rows("SELECT state, completed_by, revision, completed_at IS NOT NULL, due_at IS NOT NULL"
                     " FROM workflow_tasks WHERE submission_id = %(s)s AND kind = 'entry'")
        return {
            "submission": submission,
            "submitted_at": submitted_at is not None,
            "revisions": rows("SELECT revision, kind, data, created_by FROM submission_revisions"
                              " WHERE submission_id = %(s)s ORDER BY revision"),
            "instance": rows("SELECT pi.state_digest, pi.status, pi.serializer_version, pi.next_timer_at,"
                             " ws.digest IS NOT NULL FROM process_instances pi"
                             " LEFT JOIN workflow_states ws ON ws.digest = pi.state_digest"
                             " WHERE pi.submission_id = %(s)s"),
            "entry_task": entry,
            "review_tasks": tasks,
            "audit": rows("SELECT actor_id, action, object_type, details FROM audit_log"
                          " WHERE object_type = 'submission' AND object_id = %(s)s::text ORDER BY id"),
        }


def sent_unclean() -> dict:
    """A valid report as a client may send it: a calculated field off, which the stored report corrects."""
    report = valid_report()
    report["households"]["avg_household_size"] = 99
    return report


def test_the_floor_writes_what_the_engine_writes(collection, clerk, db, database_url):
    ids = ids_of(db, collection)
    assert through_engine(db, [(ids[XIKOU], 0, sent_unclean()), (ids[SHANGJIE], 0, valid_report())]) == set()
    assert through_floor(database_url, clerk, [(ids[ZHULIN], 0, sent_unclean()),
                                               (ids[CHAYUAN], 0, valid_report())]) == set()

    by_engine, by_floor = written(database_url, ids[XIKOU]), written(database_url, ids[ZHULIN])
    assert by_floor == by_engine
    assert written(database_url, ids[CHAYUAN]) == written(database_url, ids[SHANGJIE])
    # and what was compared is a submit: a revision, a ready township review, one audit row
    assert by_engine["submission"][:2] == ["submitted", 1]
    assert [r[:2] for r in by_engine["revisions"]] == [(1, "submit")]
    assert [t[:2] for t in by_engine["review_tasks"]] == [("review", "ready")]
    assert by_engine["review_tasks"][0][7] is True  # routed to the village's township
    assert by_engine["review_tasks"][0][-1] > 0  # with a due date after the submit
    assert [a[1] for a in by_engine["audit"]] == ["submit"]
    # the stored report is the cleaned one (calculated fields recomputed), as the engine stores it
    assert by_engine["revisions"][0][2]["households"]["avg_household_size"] != 99


def test_the_floor_refuses_what_the_engine_refuses(collection, clerk, db, database_url):
    ids = ids_of(db, collection)
    assert through_engine(db, [(ids[XIKOU], 0, valid_report())]) == set()  # an entry step to copy
    invalid = valid_report()
    invalid["population"]["pop_male"] += 1  # breaks the hard rule pop_sex_sum
    unstorable = valid_report()
    unstorable["basic"]["village_name"] = "西口\x00村"  # jsonb cannot hold U+0000
    batch = [
        (ids[XIKOU], 1, valid_report()),  # already handed on: no ready entry task
        (ids[SHANGJIE], 0, invalid),
        (ids[LINGXIA], 0, unstorable),
        (ids[ZHULIN], 3, valid_report()),  # a revision the clerk never saw
        (ids[BAISHI_VILLAGE], 0, valid_report()),  # not the clerk's village
        (ids[CHAYUAN], 0, valid_report()),  # the one that goes through
    ]
    before = {sid: written(database_url, sid) for sid, _, _ in batch}
    refused_by_floor = through_floor(database_url, clerk, batch)
    after_floor = {sid: written(database_url, sid) for sid, _, _ in batch}
    db.rollback()

    assert refused_by_floor == {ids[XIKOU], ids[SHANGJIE], ids[LINGXIA], ids[ZHULIN], ids[BAISHI_VILLAGE]}
    assert all(after_floor[sid] == before[sid] for sid in refused_by_floor)  # nothing stored for them
    assert after_floor[ids[CHAYUAN]]["submission"][:2] == ["submitted", 1]
    # the engine refuses the same ones (CHAYUAN's revision has moved on by now, so it is left out)
    assert through_engine(db, [item for item in batch if item[0] != ids[CHAYUAN]]) == refused_by_floor


def test_a_closed_collection_refuses_the_floor_too(collection, clerk, db, database_url):
    ids = ids_of(db, collection)
    assert through_engine(db, [(ids[XIKOU], 0, valid_report())]) == set()
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute("UPDATE collections SET status = 'closed' WHERE id = %s", (collection.id,))
    items = [(ids[SHANGJIE], 0, valid_report())]
    assert through_floor(database_url, clerk, items) == {ids[SHANGJIE]}
    assert through_engine(db, items) == {ids[SHANGJIE]}
