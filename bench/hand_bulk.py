"""The bulk floor: a hand-written bulk submit that keeps what the engine guarantees, for comparison.

What any implementation of the engine's bulk submit has to do at least, written without the engine's
layers (no ORM, no SQLAlchemy, no workflow engine: the entry step, the same for every village, is
computed once by the engine beforehand and applied as data):

- the same checks of each report: scope, the clerk's role at the village, an open collection, a ready
  entry task, the revision the clerk edited, that JSON can carry it unchanged, and the engine's own
  validation (relevance, calculations, JSON Schema, rules), whose cleaned document is what is stored;
- the same lock (instances and submissions, ``FOR UPDATE``) and the same rows, in one statement per
  batch like the engine's: the state row, the instance, the completed entry task, the submission with
  its report, the revision, the township's review task and the audit row.

``COPY`` writes one row into a bare table; this writes what the guarantees need. Measured next to the
engine (bench/figures/submission.py), it says how much of the gap to ``COPY`` is the engine's own and
how much is the work itself. tests/db/test_bench_floor.py checks that it writes what the engine writes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg

from engine.definitions import IndicatorSet
from engine.errors import BadInput
from engine.orgs import ancestor_at
from engine.roles import Level
from engine.submissions import EDITABLE
from engine.validation import validate_submission
from engine.workflows.payloads import require_json_native


@dataclass(frozen=True)
class EntryStep:
    """The entry step as the engine made it once: the state it leads to and the review task it opens."""

    process_version_id: int
    state_digest: str
    state: Any  # the workflow_states row's JSON, sent with every batch as the engine sends its states
    serializer_version: str
    review: dict[str, Any]  # spiff_task_id, role, lane, bpmn_id, name, kind of the task it opens
    review_days: float  # the review task's due date, days after the step


@dataclass(frozen=True)
class FloorBatch:
    actor_id: int  # the clerk handing the batch in
    role: str  # the role the clerk holds at ``villages``
    villages: frozenset[str]
    items: list[tuple[int, int, dict[str, Any]]]  # (submission id, revision, report)


# One row per submission: what the checks need, read under the same locks as the engine's read.
_LOCK = """
SELECT s.id, s.revision, s.status, s.collection_id, s.org_code, s.approved_level, c.status,
       pi.id, t.id, t.role, t.due_at, t.overdue
FROM process_instances pi
JOIN submissions s ON s.id = pi.submission_id
JOIN collections c ON c.id = s.collection_id
LEFT JOIN workflow_tasks t ON t.instance_id = pi.id AND t.state = 'ready' AND t.kind = 'entry'
WHERE s.id = ANY(%(ids)s) AND s.org_code LIKE ANY(%(scope)s)
ORDER BY pi.id
FOR UPDATE OF pi, s
"""

_WRITE = """
WITH states AS (
  INSERT INTO workflow_states (digest, process_version_id, state)
  SELECT digest, process_version_id, state FROM jsonb_to_recordset(%(states)s::jsonb)
    AS r(digest varchar(32), process_version_id integer, state jsonb)
  ON CONFLICT (digest) DO NOTHING),
instances AS (
  UPDATE process_instances AS t SET state_digest = r.state_digest, serializer_version = r.serializer_version,
    status = r.status, next_timer_at = r.next_timer_at, updated_at = r.updated_at
  FROM jsonb_to_recordset(%(instances)s::jsonb) AS r(id bigint, state_digest varchar(32),
    serializer_version varchar(16), status varchar(16), next_timer_at timestamptz, updated_at timestamptz)
  WHERE t.id = r.id AND t.id = ANY(%(instance_ids)s)),
entry_tasks AS (
  UPDATE workflow_tasks AS t SET state = r.state, completed_at = r.completed_at, completed_by = r.completed_by,
    revision = r.revision, decision = r.decision, comment = r.comment, field_comments = r.field_comments,
    due_at = r.due_at, overdue = r.overdue
  FROM jsonb_to_recordset(%(tasks)s::jsonb) AS r(id bigint, state varchar(16), completed_at timestamptz,
    completed_by integer, revision integer, decision varchar(16), comment text, field_comments jsonb,
    due_at timestamptz, overdue boolean)
  WHERE t.id = r.id AND t.id = ANY(%(task_ids)s)),
reports AS (
  UPDATE submissions AS t SET data = r.data, explanations = r.explanations, revision = r.revision,
    updated_at = r.updated_at, updated_by = r.updated_by, status = r.status, approved_level = r.approved_level,
    submitted_at = r.submitted_at
  FROM jsonb_to_recordset(%(reports)s::jsonb) AS r(id bigint, data jsonb, explanations jsonb, revision integer,
    updated_at timestamptz, updated_by integer, status varchar(16), approved_level smallint,
    submitted_at timestamptz)
  WHERE t.id = r.id AND t.id = ANY(%(submission_ids)s)
  RETURNING t.id, t.revision, t.data, t.updated_by),
revisions AS (
  INSERT INTO submission_revisions (submission_id, revision, data, created_by, kind)
  SELECT *, 'submit' FROM reports),
review_tasks AS (
  INSERT INTO workflow_tasks (spiff_task_id, instance_id, submission_id, collection_id, subject_org_code,
    assignee_org_code, role, lane, bpmn_id, name, kind, state, overdue, due_at)
  SELECT * FROM jsonb_to_recordset(%(new_tasks)s::jsonb) AS r(spiff_task_id varchar(36), instance_id bigint,
    submission_id bigint, collection_id integer, subject_org_code varchar(12), assignee_org_code varchar(12),
    role varchar(32), lane varchar(64), bpmn_id varchar(100), name varchar(200), kind varchar(16),
    state varchar(16), overdue boolean, due_at timestamptz))
INSERT INTO audit_log (actor_id, action, object_type, object_id, details)
SELECT * FROM jsonb_to_recordset(%(audit)s::jsonb)
  AS r(actor_id integer, action varchar(64), object_type varchar(32), object_id varchar(64), details jsonb)
"""

def entry_step(conn: psycopg.Connection) -> EntryStep:
    """The entry step the engine made in this database (at least one report submitted through it)."""
    row = conn.execute(
        "SELECT pi.process_version_id, pi.state_digest, ws.state, pi.serializer_version, t.spiff_task_id, t.role,"
        " t.lane, t.bpmn_id, t.name, t.kind, extract(epoch FROM t.due_at - t.created_at) / 86400"
        " FROM workflow_tasks t JOIN process_instances pi ON pi.id = t.instance_id"
        " JOIN workflow_states ws ON ws.digest = pi.state_digest"
        " WHERE t.state = 'ready' AND t.kind = 'review' ORDER BY t.id LIMIT 1"
    ).fetchone()
    if row is None:
        raise RuntimeError("no entry step made by the engine to copy")
    pv, digest, state, serializer, *review, days = row
    names = ("spiff_task_id", "role", "lane", "bpmn_id", "name", "kind")
    return EntryStep(pv, digest, state, serializer, dict(zip(names, review, strict=True)), float(days or 0))


def submit_floor_batch(conn: psycopg.Connection, ind: IndicatorSet, step: EntryStep, batch: FloorBatch) -> list[str]:
    """Check and store one batch in one transaction; returns the refusals (submission id: reason)."""
    refused: list[str] = []
    valid: list[tuple[int, dict[str, Any]]] = []
    for sid, _, doc in batch.items:
        try:
            require_json_native(doc)  # storable as sent: no NaN turned into null, no U+0000 at the INSERT
        except BadInput as err:
            refused.append(f"{sid}: {err.message}")
            continue
        result = validate_submission(ind, doc)
        if result.ok:
            valid.append((sid, result.data))
        else:
            refused.append(f"{sid}: 未通过校验")
    edited = {sid: rev for sid, rev, _ in batch.items}
    scope = [f"{code}%" for code in sorted(batch.villages)]
    locked = {row[0]: row for row in conn.execute(_LOCK, {"ids": [sid for sid, _ in valid], "scope": scope})}
    now = dt.datetime.now(dt.UTC)
    stamp, due = now.isoformat(), (now + dt.timedelta(days=step.review_days)).isoformat()
    instances, tasks, reports, new_tasks, audit = [], [], [], [], []
    for sid, data in valid:
        row = locked.get(sid)
        if row is None:
            refused.append(f"{sid}: 不存在或无权查看")
            continue
        _, revision, status, collection_id, org, level, collection_status, iid, tid, role, due_at, overdue = row
        allowed = role == batch.role and org in batch.villages
        if collection_status != "open" or tid is None or status not in EDITABLE or not allowed:
            refused.append(f"{sid}: 不在填报环节")
            continue
        if revision != edited[sid]:
            refused.append(f"{sid}: 已被他人修改")
            continue
        new_revision = revision + 1
        instances.append({"id": iid, "state_digest": step.state_digest, "serializer_version": step.serializer_version,
                          "status": "running", "next_timer_at": None, "updated_at": stamp})
        tasks.append({"id": tid, "state": "completed", "completed_at": stamp, "completed_by": batch.actor_id,
                      "revision": new_revision, "decision": None, "comment": None, "field_comments": None,
                      "due_at": due_at, "overdue": overdue})
        reports.append({"id": sid, "data": data, "explanations": {}, "revision": new_revision, "updated_at": stamp,
                        "updated_by": batch.actor_id, "status": "submitted", "approved_level": level,
                        "submitted_at": stamp})
        new_tasks.append({**step.review, "instance_id": iid, "submission_id": sid, "collection_id": collection_id,
                          "subject_org_code": org, "assignee_org_code": ancestor_at(org, Level.TOWNSHIP), "state": "ready",
                          "overdue": False, "due_at": due})
        audit.append({"actor_id": batch.actor_id, "action": "submit", "object_type": "submission",
                      "object_id": str(sid), "details": {"revision": new_revision, "bulk": True}})
    if reports:
        states = [{"digest": step.state_digest, "process_version_id": step.process_version_id, "state": step.state}]
        conn.execute(_WRITE, {
            "states": _json(states), "instances": _json(instances), "instance_ids": [r["id"] for r in instances],
            "tasks": _json(tasks), "task_ids": [r["id"] for r in tasks], "reports": _json(reports),
            "submission_ids": [r["id"] for r in reports], "new_tasks": _json(new_tasks), "audit": _json(audit),
        })
    conn.commit()
    return refused


def _json(rows: list[dict[str, Any]]) -> str:
    return orjson.dumps(rows).decode()  # timestamps as RFC 3339, as the engine's batch writes send them
