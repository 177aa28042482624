"""Persistence of running approval flows: lock -> load -> run -> save, and the READY-task index.

The instance row is locked (``SELECT … FOR UPDATE``) for the whole load-run-save, so two people acting
on one instance at once are serialised: the second sees the task already done and gets a Conflict.
READY human tasks are mirrored into ``workflow_tasks`` so inbox queries never deserialise workflows.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.db.batch_writes import Insert, write_together
from engine.db.models import Collection, ProcessInstance, Submission, WorkflowState, WorkflowTask
from engine.orgs import PREFIX_LENGTH, ancestor_at
from engine.publishing import process_model
from engine.roles import ROLES, Level
from engine.transitions import Transition, observe
from engine.workflows import ProcessDefinition, ReadyTask, WorkflowError, load_state
from engine.workflows.serialization import SERIALIZER_VERSION


def role_level(role: str) -> Level:
    """The org level a task of ``role`` is assigned at. A role without one (a viewer) can only be a lane
    in a version published before the checker refused that: the step is refused, in Chinese."""
    level = ROLES[role].level
    if level is None:
        raise WorkflowError(f"流程任务由「{ROLES[role].label}」办理，但该角色不属于任何层级，无法确定由哪个单位办理"
                            "（所用流程版本的泳道设置有误），请联系管理员", details={"role": role})
    return level


def assignee_org(role: str, subject_org_code: str) -> str:
    """The unit whose holders of ``role`` act on a subject unit's task: its ancestor at the role's level."""
    return ancestor_at(subject_org_code, role_level(role))


@dataclass
class LoadedInstance:
    row: ProcessInstance
    definition: ProcessDefinition
    workflow: BpmnWorkflow


_STATES: OrderedDict[str, dict[str, Any]] = OrderedDict()
_STATES_LOCK = threading.Lock()
STATE_CACHE_SIZE = 128  # states are immutable by digest; a few MiB per process


def _remember(digest: str, state: dict[str, Any]) -> None:
    with _STATES_LOCK:
        _STATES[digest] = state
        _STATES.move_to_end(digest)
        while len(_STATES) > STATE_CACHE_SIZE:
            _STATES.popitem(last=False)


def load_states(session: Session, digests: Iterable[str]) -> dict[str, dict[str, Any]]:
    """States by digest: from this process's cache, the rest in one query.

    A digest names its content, so a cached state is right whichever database asked for it.
    ``load_state`` does not modify the dict, so one copy serves every instance in that state.
    """
    found: dict[str, dict[str, Any]] = {}
    with _STATES_LOCK:
        for digest in set(digests):
            if digest in _STATES:
                _STATES.move_to_end(digest)
                found[digest] = _STATES[digest]
    missing = set(digests) - set(found)
    if missing:
        with session.no_autoflush:  # called mid-batch: pending changes are flushed together later
            rows = session.execute(select(WorkflowState.digest, WorkflowState.state)
                                   .where(WorkflowState.digest.in_(missing))).all()
        for digest, state in rows:
            _remember(digest, state)
            found[digest] = state
    return found


def state_rows(steps: Iterable[tuple[int, Transition]]) -> Insert:
    """The rows of each (process version, step) state, for ``write_together``: existing ones are
    skipped. Written with (or before) the instances pointing at them."""
    rows = {step.digest: (pvid, step.state) for pvid, step in steps}
    for digest, (_, state) in rows.items():
        _remember(digest, state)
    # the states go as one JSON document, not a jsonb[] parameter: psycopg escapes every quote of an
    # array element in Python, which cost more than the insert itself
    return Insert(WorkflowState.__table__,
                  [{"digest": digest, "process_version_id": pvid, "state": state}
                   for digest, (pvid, state) in rows.items()],
                  skip_existing=("digest",))


def lock_and_load(session: Session, instance_id: int) -> LoadedInstance:
    row = session.scalar(select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update())
    if row is None:
        raise LookupError(instance_id)
    definition = process_model(session, row.process_version_id)
    state = load_states(session, [row.state_digest])[row.state_digest]
    return LoadedInstance(row, definition, load_state(definition, state))


def save(session: Session, loaded: LoadedInstance, sub: Submission) -> Transition:
    """Write the state back and bring the task index in line with the workflow's READY tasks; returns
    the step, for the caller to bring the report's status in line too."""
    open_rows = list(session.scalars(
        select(WorkflowTask).where(WorkflowTask.instance_id == loaded.row.id, WorkflowTask.state == "ready")
    ))
    step = observe(loaded.definition, loaded.workflow)
    _ready, new_rows = apply(loaded.row, step, sub, open_rows)
    write_together(session, state_rows([(loaded.row.process_version_id, step)]),
                   Insert(WorkflowTask.__table__, new_rows))
    return step


def apply(row: ProcessInstance, step: Transition, sub: Submission,
          open_rows: list[WorkflowTask]) -> tuple[list[ReadyTask], list[dict[str, Any]]]:
    """Point the instance row at a step's state (stored by ``store_states``) and diff its READY tasks
    against the indexed ``open_rows``.

    Rows no longer READY become cancelled (a completed one was marked by the caller first); returns
    the READY tasks and the rows to insert for new ones, so a batch can insert all of them at once.
    """
    row.state_digest = step.digest
    row.serializer_version = SERIALIZER_VERSION
    row.status = "completed" if step.finished else "running"
    row.next_timer_at = step.next_timer
    row.updated_at = dt.datetime.now(dt.UTC)
    wanted = {t.task_id: t for t in step.ready}
    for task in open_rows:
        if task.state != "ready":
            continue
        current = wanted.pop(task.spiff_task_id, None)
        if current is None:
            task.state = "cancelled"
        else:
            task.due_at, task.overdue = current.due_at, current.overdue
    return list(step.ready), [task_row(row.id, sub, t) for t in wanted.values()]


def task_row(instance_id: int, sub: Submission | Any, t: ReadyTask) -> dict[str, Any]:
    return {
        "spiff_task_id": t.task_id,
        "instance_id": instance_id,
        "submission_id": sub.id,
        "collection_id": sub.collection_id,
        "subject_org_code": sub.org_code,
        "assignee_org_code": assignee_org(t.role, sub.org_code),
        "role": t.role,
        "lane": t.lane,
        "bpmn_id": t.bpmn_id,
        "name": t.name,
        "kind": t.kind,
        "state": "ready",
        "overdue": t.overdue,
        "due_at": t.due_at,
    }


def create_instances(session: Session, collection: Collection, definition: ProcessDefinition,
                     workflow: BpmnWorkflow) -> int:
    """One instance per submission of a just-launched ``collection``, sharing its initial state, plus
    the READY tasks of each — one set-based statement on the server.

    The instances' ids flow from the INSERT's RETURNING straight into the task insert (a join by
    primary key), so the plan never depends on statistics of tables filled moments earlier.
    """
    initial = observe(definition, workflow)
    write_together(session, state_rows([(collection.process_version_id, initial)]))
    ready = [
        {
            "spiff_task_id": t.task_id, "plen": PREFIX_LENGTH[role_level(t.role)], "role": t.role,
            "lane": t.lane, "bpmn_id": t.bpmn_id, "name": t.name, "kind": t.kind, "overdue": t.overdue,
            "due_at": t.due_at.isoformat() if t.due_at else None,
        }
        for t in initial.ready
    ]
    session.flush()
    session.execute(
        text(
            "WITH new AS ("
            " INSERT INTO process_instances (submission_id, process_version_id, collection_id, state_digest,"
            "  serializer_version, status, next_timer_at, updated_at)"
            " SELECT s.id, :pvid, :cid, :digest, :sv, 'running', :timer, now()"
            " FROM submissions s WHERE s.collection_id = :cid"
            " RETURNING id, submission_id)"
            " INSERT INTO workflow_tasks (spiff_task_id, instance_id, submission_id, collection_id,"
            "  subject_org_code, assignee_org_code, role, lane, bpmn_id, name, kind, state, overdue, due_at,"
            "  created_at)"
            # the assignee is the subject's ancestor at the role's level: prefix, zero-filled
            " SELECT t.spiff_task_id, new.id, s.id, s.collection_id, s.org_code,"
            "  rpad(left(s.org_code, t.plen), 12, '0'), t.role, t.lane, t.bpmn_id, t.name, t.kind, 'ready',"
            "  t.overdue, t.due_at, now()"
            " FROM new JOIN submissions s ON s.id = new.submission_id"
            " CROSS JOIN jsonb_to_recordset(CAST(:tasks AS jsonb)) AS t(spiff_task_id varchar, plen int,"
            "  role varchar, lane varchar, bpmn_id varchar, name varchar, kind varchar, overdue boolean,"
            "  due_at timestamptz)"
        ),
        {
            "cid": collection.id,
            "pvid": collection.process_version_id,
            "digest": initial.digest,
            "sv": SERIALIZER_VERSION,
            "timer": initial.next_timer,
            "tasks": json.dumps(ready, ensure_ascii=False),
        },
    )
    return session.scalar(select(func.count()).select_from(ProcessInstance)
                          .where(ProcessInstance.collection_id == collection.id)) or 0
