"""What a collection's approval flow does, read from its process model once per version.

Tasks go to the unit at their lane role's level above the reporting unit (``engine.instances``), and the
pages name a report's stages after the flow's own steps. Both need the same reading of the model:

- ``flow_shape(defn)``: the user tasks in the order the flow reaches them, and the reviews whose approval
  ends it; cached by (code, version, content hash), never rebuilt per request;
- ``check_fit``: refuses a launch that would create tasks nobody can act on (the entry step at another
  level than the reporting units, a review below them, a role no unit of the scope holds);
- ``StepNames``: by whom the first and the final approvals are given, for the stage and status labels.

The walk follows sequence flows, not boundary timers: a timer is the exception (a deadline, a skipped
step), not the order of the steps.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.errors import BadInput
from engine.orgs import PREFIX_LENGTH, prefix_of
from engine.roles import LEVEL_LABELS, ROLES, Level
from engine.workflows import ProcessDefinition, UserTaskInfo

# How a stage label names the role that approves: the shipped flow's "乡镇" / "县级终审通过"; a role not
# listed is named by its label ("县级业务部门终审通过").
APPROVER_NAMES: dict[str, str] = {
    "township_reviewer": "乡镇",
    "county_reviewer": "县级",
    "city_reviewer": "市级",
    "province_admin": "省级",
}


def approver_name(role: str) -> str:
    return APPROVER_NAMES.get(role) or ROLES[role].label


@dataclass(frozen=True)
class StepNames:
    """By whom a flow's approvals are given, as the labels say it. Empty: the flow has no such step, and
    the labels fall back to the words without a name ("终审通过")."""

    first: str = ""  # the first review that approves at its level (sets approved_level), e.g. 乡镇
    pending: str = ""  # the approvals a report can wait after before the final one: 乡镇, 乡镇及以上
    final: str = ""  # the review(s) whose approval ends the flow, e.g. 县级

    def words(self) -> dict[str, str]:
        """The fields label templates may use (``str.format``)."""
        return {"first": self.first, "pending": self.pending, "final": self.final,
                "first_up": f"{self.first}及以上" if self.first else "",
                "by_final": f"由{self.final}" if self.final else ""}


@dataclass(frozen=True)
class FlowShape:
    steps: tuple[UserTaskInfo, ...]  # every user task, in the order the flow reaches them (unreached last)
    finals: frozenset[str]  # bpmn ids of the reviews whose completion can end the flow

    @property
    def entries(self) -> tuple[UserTaskInfo, ...]:
        return tuple(s for s in self.steps if s.kind == "entry")

    @property
    def reviews(self) -> tuple[UserTaskInfo, ...]:
        return tuple(s for s in self.steps if s.kind == "review")

    @property
    def names(self) -> StepNames:
        approving = [s for s in self.reviews if ROLES[s.role].approves_at is not None]
        pending = _unique(approver_name(s.role) for s in approving if s.bpmn_id not in self.finals)
        finals = _unique(approver_name(s.role) for s in self.reviews if s.bpmn_id in self.finals)
        return StepNames(
            first=approver_name(approving[0].role) if approving else "",
            pending=f"{pending[0]}及以上" if len(pending) > 1 else "".join(pending),
            final="或".join(finals),
        )


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(names))


APPROVED = "approved"  # the outcome of an end that makes a report final (docs/processes.md §6)


def _next_steps(defn: ProcessDefinition, node: Any) -> tuple[set[str], bool]:
    """The user tasks reached from ``node``'s outgoing flows before any other user task, and whether an
    approving end event is (the flow can finish there with the report final)."""
    found: set[str] = set()
    ends = False
    seen: set[str] = set()
    todo = list(node.outputs)
    while todo:
        spec = todo.pop()
        if spec.name in seen or isinstance(spec, BoundaryEvent):
            continue
        seen.add(spec.name)
        if getattr(spec, "bpmn_id", None) in defn.user_tasks:
            found.add(spec.bpmn_id)
            continue
        ends = ends or (isinstance(spec, EndEvent) and defn.outcomes.get(spec.bpmn_id) == APPROVED)
        todo.extend(spec.outputs)
    return found, ends


def _shape(defn: ProcessDefinition) -> FlowShape:
    order = list(defn.user_tasks)  # definition order: ties within one round read as the file does
    specs = defn.spec.task_specs
    reached: list[str] = []
    frontier, _ = _next_steps(defn, defn.spec.start)
    while frontier:  # breadth first: a step's round is its distance from the start
        new = sorted(frontier - set(reached), key=order.index)
        reached += new
        frontier = set().union(*(_next_steps(defn, specs[b])[0] for b in new)) if new else set()
    steps = tuple(defn.user_tasks[b] for b in reached + [b for b in order if b not in reached])
    finals = frozenset(b for b, info in defn.user_tasks.items()
                       if info.kind == "review" and _next_steps(defn, specs[b])[1])
    return FlowShape(steps, finals)


_SHAPES: dict[tuple[str, int, str], FlowShape] = {}
_SHAPES_LOCK = threading.Lock()
_SHAPES_MAX = 256  # versions, not requests: a few KB in all


def flow_shape(defn: ProcessDefinition) -> FlowShape:
    key = (defn.code, defn.version, defn.content_hash)
    with _SHAPES_LOCK:
        shape = _SHAPES.get(key)
    if shape is None:
        shape = _shape(defn)
        with _SHAPES_LOCK:
            if len(_SHAPES) >= _SHAPES_MAX:
                _SHAPES.clear()
            _SHAPES[key] = shape
    return shape


def step_names(session: Session, process_version_id: int) -> StepNames:
    from engine.publishing import process_model  # publishing -> workflows; imported late to stay a leaf

    return flow_shape(process_model(session, process_version_id)).names


# --- does the flow fit the collection? ----------------------------------------------------------------


def _level(level: Level) -> str:
    return f"{LEVEL_LABELS[level]}级"


def _steps(tasks: list[UserTaskInfo]) -> str:
    return "、".join(f"「{t.name}」" for t in tasks)


@dataclass(frozen=True)
class Misfit:
    message: str
    by_level: bool  # another reporting level could fix it (else only another flow can)


def _by_lane(tasks: Iterable[UserTaskInfo]) -> dict[str, list[UserTaskInfo]]:
    lanes: dict[str, list[UserTaskInfo]] = {}
    for t in tasks:
        lanes.setdefault(t.lane, []).append(t)
    return lanes


def level_misfits(shape: FlowShape, reporting: Level) -> list[Misfit]:
    """What about the flow's lanes cannot work for reports at ``reporting`` level (no database needed)."""
    out = []
    for lane, tasks in _by_lane(shape.steps).items():
        role = ROLES[tasks[0].role]
        if role.level is None:
            out.append(Misfit(f"步骤{_steps(tasks)}在泳道「{lane}」：角色“{role.label}”不属于某一层级的单位，"
                              "不能办理流程步骤", by_level=False))
    for lane, tasks in _by_lane(shape.entries).items():
        level = ROLES[tasks[0].role].level
        if level is not None and level != reporting:
            out.append(Misfit(f"填报步骤{_steps(tasks)}在泳道「{lane}」，只能由{_level(level)}单位办理，"
                              f"而填报层级是{_level(reporting)}", by_level=True))
    for lane, tasks in _by_lane(shape.reviews).items():
        level = ROLES[tasks[0].role].level
        if level is not None and level > reporting:
            out.append(Misfit(f"审核步骤{_steps(tasks)}在泳道「{lane}」，由{_level(level)}单位办理，低于填报层级"
                              f"（{_level(reporting)}）：{_level(level)}单位不能审核上级{_level(reporting)}单位的报表",
                              by_level=True))
    return out


# a reporting unit as start_collection takes it (open on the opening day), with its ancestor at :holder
_HOLDER_EXISTS = text(
    "SELECT EXISTS (SELECT 1 FROM org_units o"
    " JOIN org_units a ON a.code = rpad(left(o.code, :plen), 12, '0') AND a.level = :holder"
    " WHERE o.level = :level AND o.code LIKE :prefix"
    " AND (o.valid_from IS NULL OR o.valid_from <= :day) AND (o.valid_to IS NULL OR o.valid_to > :day))"
)


def holder_misfits(session: Session, shape: FlowShape, scope_code: str, reporting: Level,
                   day: dt.date) -> list[Misfit]:
    """Lanes whose role no unit above the scope's reporting units holds: a task goes to the reporting unit's
    ancestor at the role's level, and a code whose segment for that level is zero (a township directly
    under a city) has none. One EXISTS per level above the reporting level."""
    params = {"level": int(reporting), "prefix": prefix_of(scope_code) + "%", "day": day}
    out = []
    for lane, tasks in _by_lane(shape.steps).items():
        level = ROLES[tasks[0].role].level
        if level is None or level >= reporting:
            continue  # no level: level_misfits; the reporting level: the unit itself
        if not session.scalar(_HOLDER_EXISTS, {**params, "plen": PREFIX_LENGTH[level], "holder": int(level)}):
            out.append(Misfit(f"步骤{_steps(tasks)}在泳道「{lane}」，要由{_level(level)}单位办理，但采集范围内的"
                              f"{_level(reporting)}填报单位都没有{_level(level)}上级单位", by_level=False))
    return out


def _reporting_units_exist(session: Session, scope_code: str, reporting: Level, day: dt.date) -> bool:
    return bool(session.scalar(_HOLDER_EXISTS, {"level": int(reporting), "prefix": prefix_of(scope_code) + "%",
                                               "day": day, "plen": PREFIX_LENGTH[reporting],
                                               "holder": int(reporting)}))


def check_fit(session: Session, defn: ProcessDefinition, *, scope_code: str, scope_level: Level,
              reporting: Level, day: dt.date) -> None:
    """Refuse (BadInput) a launch whose flow has tasks nobody could act on; one message names every lane.

    The message sits on the reporting level when another level fits the flow (its entry lane's), else on
    the process version."""
    shape = flow_shape(defn)
    misfits = level_misfits(shape, reporting)
    if not misfits and _reporting_units_exist(session, scope_code, reporting, day):
        misfits = holder_misfits(session, shape, scope_code, reporting, day)
    if not misfits:
        return
    entry_levels = {ROLES[t.role].level for t in shape.entries}
    fitting = next(iter(entry_levels)) if len(entry_levels) == 1 else None
    by_level = (all(m.by_level for m in misfits) and fitting is not None and fitting >= scope_level
                and not level_misfits(shape, fitting))
    fix = (f"请把填报层级改为{LEVEL_LABELS[fitting]}，或选择与填报层级相符的流程版本" if by_level
           else "请选择与本次采集的范围和填报层级相符的流程版本")
    raise BadInput(
        f"审批流程 {defn.code} 第 {defn.version} 版不适用于本次采集，发起后有任务没有人能办理："
        + "；".join(m.message for m in misfits) + f"。{fix}",
        data_path="reporting_level" if by_level else "process_version_id",
    )
