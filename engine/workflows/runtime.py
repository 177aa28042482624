"""Running an approval flow: pure functions over a BpmnWorkflow and its ProcessDefinition.

The caller owns persistence: load the instance row (locked), ``load_state`` -> ``complete`` /
``fire_due_timers`` -> ``dump_state`` -> save, plus ``ready_tasks`` / ``next_timer`` into indexed columns.
If any call here raises, discard the workflow object and keep the saved state: a half-run engine step is
not a state worth saving.

Task data rules (pitfall 3): a completed task's payload is stored under ``data[<bpmn_id>]``; the decision
variables (``decision``, ``comment``) exist only between a review's completion and the next user task
becoming ready, so a decision from an earlier round can never drive a later gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine.errors import BadInput, Conflict, NotFound
from engine.expressions import Scope
from engine.workflows.definition import ProcessDefinition
from engine.workflows.durations import add_duration
from engine.workflows.errors import WorkflowError, engine_failure
from engine.workflows.payloads import normalise_payload, require_json_native
from engine.workflows.script_engine import SAFE_ENGINE, SafeScriptEngine
from engine.workflows.serialization import dump_state, load_state, state_definition_key
from engine.workflows.vocabulary import DECISION_VARIABLES

log = logging.getLogger(__name__)

__all__ = [
    "FiredTimer",
    "ReadyTask",
    "complete",
    "dump_state",
    "fire_due_timers",
    "is_finished",
    "load_state",
    "next_timer",
    "outcome",
    "ready_tasks",
    "start",
    "state_definition_key",
    "task_data",
]


@dataclass(frozen=True)
class ReadyTask:
    """A human task waiting for someone: one row of the inbox index."""

    task_id: str  # uuid of the SpiffWorkflow task (changes on every round of a loop)
    bpmn_id: str
    name: str
    lane: str
    role: str  # role code: who may complete it (at the org unit the instance belongs to)
    kind: str  # "entry" | "review"
    due_at: datetime | None  # aware UTC
    overdue: bool = False  # its deadline timer has fired


@dataclass(frozen=True)
class FiredTimer:
    task_id: str  # uuid of the timer event task
    bpmn_id: str  # the timer event's BPMN id
    name: str
    attached_to: str | None  # BPMN id of the user task a boundary timer sits on
    due_at: datetime


def _refusal(err: SpiffWorkflowException) -> WorkflowError:
    """The library's English stays in the log; the caller gets it in Chinese, naming the element."""
    log.warning("SpiffWorkflow refused a step: %s", err)
    return engine_failure(err)


def _advance(wf: BpmnWorkflow) -> None:
    """Run engine steps to the next human task or wait, then clear decision variables on ready tasks."""
    try:
        wf.do_engine_steps()
    except SpiffWorkflowException as err:
        raise _refusal(err) from err
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        for name in DECISION_VARIABLES:
            task.data.pop(name, None)


def start(defn: ProcessDefinition, data: Mapping[str, Any] | None = None) -> BpmnWorkflow:
    """A new instance with ``data`` (JSON-native; e.g. collection and org unit) run to its first human task."""
    data = dict(data or {})
    require_json_native(data)
    reserved = sorted(set(data) & (set(DECISION_VARIABLES) | set(defn.user_tasks)))
    if reserved:
        raise BadInput(f"启动数据不能使用保留的名称：{'、'.join(reserved)}", data_path=reserved[0])
    wf = BpmnWorkflow(defn.spec, dict(defn.subprocess_specs), script_engine=SAFE_ENGINE)
    wf.get_next_task(state=TaskState.READY).data.update(data)
    _advance(wf)
    return wf


def _timer_of(task: Any) -> TimerEventDefinition | None:
    definition = getattr(task.task_spec, "event_definition", None)
    return definition if isinstance(definition, TimerEventDefinition) else None


def _utc(value: str) -> datetime:
    return TimerEventDefinition.get_datetime(value)


def _deadline_timer(task: Any) -> Any | None:
    """The boundary timer sharing this user task's BoundaryEventSplit, if the task has one."""
    for sibling in task.parent.children if task.parent else ():
        if isinstance(sibling.task_spec, BoundaryEvent) and _timer_of(sibling) is not None:
            return sibling
    return None


def _attached_user_task(defn: ProcessDefinition, timer: Any) -> str | None:
    """A boundary timer and the task it sits on are children of the same BoundaryEventSplit."""
    if not isinstance(timer.task_spec, BoundaryEvent):
        return None
    siblings = (t.task_spec.bpmn_id for t in timer.parent.children)
    return next((bpmn_id for bpmn_id in siblings if bpmn_id in defn.user_tasks), None)


def _due(defn: ProcessDefinition, task: Any) -> tuple[datetime | None, bool]:
    timer = _deadline_timer(task)
    if timer is not None and timer.internal_data.get("event_value"):
        return _utc(timer.internal_data["event_value"]), timer.state == TaskState.COMPLETED
    due = defn.user_tasks[task.task_spec.bpmn_id].due
    if due is None:
        return None, False
    return add_duration(datetime.fromtimestamp(task.last_state_change, UTC), due), False


def ready_tasks(defn: ProcessDefinition, wf: BpmnWorkflow) -> list[ReadyTask]:
    result = []
    for task in wf.get_tasks(state=TaskState.READY, manual=True):
        info = defn.user_tasks[task.task_spec.bpmn_id]
        due_at, overdue = _due(defn, task)
        result.append(
            ReadyTask(str(task.id), info.bpmn_id, info.name, info.lane, info.role, info.kind, due_at, overdue)
        )
    return result


def _ready_user_task(defn: ProcessDefinition, wf: BpmnWorkflow, task_id: str) -> Any:
    try:
        task = wf.get_task_from_id(UUID(str(task_id)))
    except ValueError as err:
        raise BadInput(f"任务编号「{task_id}」格式不正确", data_path="task_id") from err
    except TaskNotFoundException as err:
        raise NotFound(f"流程中没有任务「{task_id}」") from err
    if task.task_spec.bpmn_id not in defn.user_tasks:
        raise Conflict(f"任务「{task_id}」不是需要人办理的任务")
    if task.state != TaskState.READY:
        raise Conflict(
            f"任务「{task.task_spec.bpmn_name}」当前状态为 {TaskState.get_name(task.state)}，不能办理（可能已被他人办理）"
        )
    return task


def task_data(defn: ProcessDefinition, wf: BpmnWorkflow, task_id: str) -> dict[str, Any]:
    """What a ready task sees: start data plus earlier tasks' records (e.g. the reviewer's field comments)."""
    task = _ready_user_task(defn, wf, task_id)
    return {key: value for key, value in task.data.items() if key not in DECISION_VARIABLES}


@contextmanager
def _reading(wf: BpmnWorkflow, report: Scope | None) -> Iterator[None]:
    """For the step in the block, conditions read ``report.<name>`` from ``report``: an engine of the step's
    own, put back afterwards (the script engine is not serialized, so the report never reaches the state)."""
    if report is None:
        yield
        return
    wf.script_engine = SafeScriptEngine(report)
    try:
        yield
    finally:
        wf.script_engine = SAFE_ENGINE


def complete(defn: ProcessDefinition, wf: BpmnWorkflow, task_id: str, payload: Any, *, actor: str,
             report: Scope | None = None) -> None:
    """Complete a ready user task with ``payload`` checked by its kind, then run to the next wait.

    ``report``: the report as stored (its indicator set's scope over it), for a flow whose gateway conditions
    read it (``defn.report_reads``); the caller hands it only then."""
    task = _ready_user_task(defn, wf, task_id)
    if not isinstance(actor, str) or not actor.strip():
        raise BadInput("必须提供办理人", data_path="actor")
    info = defn.user_tasks[task.task_spec.bpmn_id]
    record, variables = normalise_payload(info.kind, payload)
    for name in DECISION_VARIABLES:
        task.data.pop(name, None)
    task.data[info.bpmn_id] = {"kind": info.kind, "actor": actor, **record}
    task.data.update(variables)
    with _reading(wf, report):
        try:
            task.run()
        except SpiffWorkflowException as err:
            raise _refusal(err) from err
        _advance(wf)


def next_timer(wf: BpmnWorkflow) -> datetime | None:
    """When the scheduler should next call ``fire_due_timers`` (aware UTC), or None."""
    times = [
        _utc(event.value)
        for event in wf.waiting_events()
        if event.event_type.endswith("TimerEventDefinition") and isinstance(event.value, str)
    ]
    return min(times, default=None)


def fire_due_timers(defn: ProcessDefinition, wf: BpmnWorkflow, now: datetime,
                    report: Scope | None = None) -> list[FiredTimer]:
    """Fire every armed timer due at or before ``now`` and run on; returns what fired (for the audit log).
    ``report``: as for ``complete`` (a timer that skips a review may lead to a gateway reading it)."""
    if now.tzinfo is None:
        raise BadInput("now 必须带时区")
    fired = []
    for task in wf.get_tasks(state=TaskState.WAITING):
        value = task.internal_data.get("event_value") if _timer_of(task) else None
        if value is None or _utc(value) > now:
            continue
        # SpiffWorkflow compares with the wall clock; marking the timer fired lets the caller's `now` decide.
        task.internal_data["event_fired"] = True
        fired.append(
            FiredTimer(
                str(task.id),
                task.task_spec.bpmn_id,
                task.task_spec.bpmn_name or task.task_spec.bpmn_id,
                _attached_user_task(defn, task),
                _utc(value),
            )
        )
    if fired:
        with _reading(wf, report):
            wf.refresh_timers()
            _advance(wf)
    return fired


def is_finished(wf: BpmnWorkflow) -> bool:
    return wf.is_completed()


def outcome(defn: ProcessDefinition, wf: BpmnWorkflow) -> str | None:
    """The ``outcome`` of the end event the finished flow reached (e.g. "approved"); None while running."""
    if not wf.is_completed():
        return None
    ends = [t for t in wf.get_tasks(state=TaskState.COMPLETED) if t.task_spec.bpmn_id in defn.outcomes]
    if not ends:
        return None
    return defn.outcomes[max(ends, key=lambda t: t.last_state_change).task_spec.bpmn_id]
