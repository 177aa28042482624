"""Human tasks: the inbox, acting on a task, bulk approval, and firing due timers (``grassroots tick``).

Assignment: a task of role R for a village's instance belongs to the holders of R at the village's
ancestor at R's level (``workflow_tasks.assignee_org_code``). Nobody else sees or completes it: every
query here is filtered by the caller's (role, unit) pairs in SQL.

One transaction covers submission status, workflow state, task index and audit entry; the caller
commits. The instance row lock makes concurrent actions on one instance queue up; the second finds its
task no longer READY and gets a Conflict (HTTP 409).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, false, literal_column, or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

import engine.rollups  # noqa: F401  (approvals move figures: registers the roll-up listener)
from engine.audit import record, record_many
from engine.auth import Principal
from engine.db.batch_writes import Copy, Insert, Update, any_of, shape_for, write_together
from engine.db.models import (
    AuditEntry,
    Collection,
    OrgUnit,
    ProcessInstance,
    ProcessVersion,
    Submission,
    SubmissionRevision,
    WorkflowTask,
)
from engine.errors import BadInput, Conflict, GrassrootsError, NotFound, RevisionMoved
from engine.events import ApprovalChanged, approval_changed, deferred
from engine.expressions import Scope
from engine.flow_fields import report_scope, report_values
from engine.instances import apply, load_states, lock_and_load, save, state_rows
from engine.publishing import Head, head_columns, indicator_set_model, process_model
from engine.review_comments import BULK_COMMENT_LABEL, check_review, check_texts
from engine.roles import IN_PROGRESS_READERS, ROLES
from engine.transitions import MEMO, Transition, observe, step_key
from engine.workflows import ProcessDefinition, ReadyTask, complete, fire_due_timers, load_state

log = logging.getLogger(__name__)

# Statuses of a report that is with its clerk: editable while its entry task is ready.
EDITABLE = frozenset({"not_started", "draft", "returned"})

# --- queries --------------------------------------------------------------------------------------


def actionable(principal: Principal, task: Any = WorkflowTask) -> Any:
    """SQL: tasks the caller may act on (their role at exactly the task's assignee unit). ``task``: the
    entity or alias the condition is on.

    One condition per role, its units as one array: an import account holds a role at hundreds of
    villages, and a pair of conditions per assignment cost more to build than the batch's validation.
    """
    units: dict[str, list[str]] = defaultdict(list)
    for a in principal.assignments:
        units[a.role].append(a.org_code)
    clauses = [
        and_(task.role == role,
             task.assignee_org_code == codes[0] if len(codes) == 1
             else any_of(task.assignee_org_code, codes))
        for role, codes in units.items()
    ]
    return or_(*clauses) if clauses else false()


SORTS: dict[str, Any] = {
    "due": (WorkflowTask.due_at.asc().nulls_last(), WorkflowTask.id),
    "created": (WorkflowTask.created_at.desc(), WorkflowTask.id),
    "unit": (WorkflowTask.subject_org_code, WorkflowTask.id),
}


@dataclass
class InboxFilter:
    collection_id: int | None = None
    kind: str | None = None
    overdue: bool | None = None
    org_code: str | None = None  # a unit whose subtree the subject must be in
    sort: str = "due"


def inbox_query(principal: Principal, f: InboxFilter | None = None) -> Select[Any]:
    f = f or InboxFilter()
    q = (
        select(WorkflowTask, OrgUnit.name, Collection.title, Submission.status, Submission.revision,
               Collection.status)
        .join(OrgUnit, OrgUnit.code == WorkflowTask.subject_org_code)
        .join(Collection, Collection.id == WorkflowTask.collection_id)
        .join(Submission, Submission.id == WorkflowTask.submission_id)
        .where(WorkflowTask.state == "ready", actionable(principal))
    )
    if f.collection_id is not None:
        q = q.where(WorkflowTask.collection_id == f.collection_id)
    if f.kind:
        q = q.where(WorkflowTask.kind == f.kind)
    if f.overdue is not None:
        q = q.where(WorkflowTask.overdue.is_(f.overdue))
    if f.org_code:
        from engine.orgs import in_subtree

        q = q.where(in_subtree(WorkflowTask.subject_org_code, f.org_code))
    return q.order_by(*SORTS.get(f.sort, SORTS["due"]))


def visible(principal: Principal) -> Any:
    """SQL: tasks the caller may see: those they may act on, and those on submissions in the subtree of a
    role that takes part in the flow (read-only). Any other task reads as one that does not exist."""
    return or_(actionable(principal), principal.scope_clause(WorkflowTask.subject_org_code, IN_PROGRESS_READERS))


def get_task(session: Session, principal: Principal, task_id: int) -> WorkflowTask:
    """A task the caller may act on, or one on a submission in the subtree of a role that takes part in
    the flow (read-only; a task shows the report before approval); else NotFound."""
    task = session.scalar(select(WorkflowTask).where(WorkflowTask.id == task_id, visible(principal)))
    if task is None:
        raise NotFound("任务不存在或无权查看")
    return task


def history(session: Session, submission_id: int) -> list[WorkflowTask]:
    return list(
        session.scalars(
            select(WorkflowTask)
            .where(WorkflowTask.submission_id == submission_id)
            .order_by(WorkflowTask.created_at, WorkflowTask.id)
        )
    )


# --- acting on tasks ------------------------------------------------------------------------------


@dataclass
class Step:
    """What one completion did to the submission."""

    task: WorkflowTask
    submission: Submission
    ready: list[ReadyTask]


@dataclass
class Outcome:
    task_id: int
    ok: bool
    message: str
    step: Step | None = None
    error: GrassrootsError | None = None  # kept whole: its data_path tells a form which field is wrong

    def refusal(self) -> GrassrootsError:
        """What a caller of one step raises when this step was refused."""
        if self.message in DONE_MESSAGES.values():
            return Conflict(self.message, details={"task_id": self.task_id})
        return self.error or BadInput(self.message)


# Why a task no longer ready cannot be completed, by whether the caller completed it: a second tab, or a
# bulk approval posted again by a reload, must not blame a colleague for the caller's own decision.
DONE_MESSAGES: dict[bool, str] = {
    False: "该任务已由他人处理，请刷新页面查看最新状态",
    True: "该任务您已处理过（可能是在另一个窗口），请刷新页面查看最新状态",
}


def done_message(task: WorkflowTask, user_id: int | None) -> str:
    return DONE_MESSAGES[task.completed_by is not None and task.completed_by == user_id]


@dataclass(frozen=True)
class Report:
    """A validated report handed in with its entry task: stored as a new revision in the statement that
    writes the step, so a refused step leaves nothing stored and the row is written once."""

    data: Mapping[str, Any]
    explanations: Mapping[str, str]
    revision: int  # the revision the clerk edited; it must still be current under the lock
    audit: Mapping[str, Any] = field(default_factory=dict)  # more details for the "submit" audit row
    # who hands it in, when not the batch's caller (requests of several clerks written together:
    # engine.submissions.submit_together)
    actor_id: int | None = None


@dataclass
class Held:
    """What a batch steps from, read under the locks of its instances and submissions."""

    instances: dict[int, ProcessInstance]
    subs: dict[int, Submission]
    revisions: dict[int, int]  # each submission's revision as locked (objects may have been read earlier)
    heads: dict[int, Head]  # process version id -> its identity
    current: dict[int, str]  # task id -> state, for the tasks being completed
    open_rows: dict[int, list[WorkflowTask]]  # instance id -> its ready tasks (the index rows to bring in line)

    @classmethod
    def gather(cls, found: Iterable[tuple[ProcessInstance, Submission, Head, list[WorkflowTask]]]) -> Held:
        """Instances read with their submissions, process versions and ready tasks by the statement that
        locked them (``_lock_actionable``, ``submissions._lock_submittable``; see ``_INSTANCE_UNCHANGED``)."""
        held = cls({}, {}, {}, {}, {}, defaultdict(list))
        for row, sub, head, ready in found:
            held.instances[row.id], held.subs[sub.id], held.revisions[sub.id] = row, sub, sub.revision
            held.heads[row.process_version_id] = head
            held.current.update((t.id, t.state) for t in ready)
            held.open_rows[row.id] = list(ready)
        return held


@dataclass
class _Target:
    """A task the caller may act on, as ``_lock_actionable`` read it, with its collection's status."""

    task: WorkflowTask
    collection_status: str


def _lock_actionable(session: Session, principal: Principal, task_ids: list[int]) -> tuple[dict[int, _Target], Held]:
    """The tasks among ``task_ids`` that the caller may act on, with their collections' status, their
    instances and submissions locked and what the step needs read under those locks, in one statement
    (two when an instance was written while it waited for its lock: see ``_INSTANCE_UNCHANGED``)."""
    # built per call (the caller's roles are in it), in the one-id shape for one task (see ByCount)
    match, params = shape_for(ids=task_ids)
    statement = step_read(
        select(_TARGET, Collection.status, ProcessInstance, Submission)
        .select_from(_TARGET)
        .join(ProcessInstance, ProcessInstance.id == _TARGET.instance_id)
        .join(Submission, Submission.id == ProcessInstance.submission_id)  # its data: the roll-ups read it
        .join(Collection, Collection.id == _TARGET.collection_id)
        .where(match(_TARGET.id, "ids"), actionable(principal, _TARGET))
    )
    rows = read_locked(session, statement, params)
    targets: dict[int, _Target] = {}
    found: dict[int, tuple[ProcessInstance, Submission, Head, list[WorkflowTask]]] = {}
    for target, status, instance, sub, ready, _, *head in rows:  # step_read's columns last
        targets[target.id] = _Target(target, status)
        _, _, _, tasks = found.setdefault(instance.id, (instance, sub, Head(*head), []))
        if ready is not None and ready not in tasks:  # one row per (task asked for, ready task)
            tasks.append(ready)
    return targets, Held.gather(found.values())


def _run_many(session: Session, principal: Principal, items: list[tuple[WorkflowTask, Mapping[str, Any]]],
              reports: Mapping[int, Report] | None, held: Held) -> list[Outcome]:
    """Complete tasks as one locked batch, from what the caller read under the locks of their instances
    and submissions (``held``: ``_lock_actionable``, ``submissions._lock_submittable``): step each
    workflow, and write states, task index and statuses back together. A task that fails is reported and skipped;
    its workflow object is discarded, so its saved state stays as it was.

    ``reports`` (task id -> Report): entry tasks that hand in a report. Each is stored with its step in
    the same statement (report, revision and audit row), or, when its step is refused or its revision
    moved on, not at all.
    """
    if not items:
        return []
    reports = reports or {}
    instances, subs, revisions, current, open_rows = (held.instances, held.subs, held.revisions, held.current,
                                                      held.open_rows)
    # Looked up once per batch: a query inside the loop would autoflush the previous step's changes
    # (one UPDATE round trip per task instead of one batched flush at the end).
    definitions = {pid: process_model(session, pid, head) for pid, head in held.heads.items()}
    # The indicator sets of the reports whose flows route on them: none for a flow whose gateways read
    # decisions only (the shipped ones), so their steps cost nothing more.
    reading = {pid for pid, definition in definitions.items() if definition.report_reads}
    sets = {vid: indicator_set_model(session, vid) for vid in sorted({
        subs[row.submission_id].indicator_set_version_id for row in instances.values()
        if row.process_version_id in reading})} if reading else {}
    now = dt.datetime.now(dt.UTC)
    outcomes: list[Outcome] = []
    new_rows: list[dict[str, Any]] = []
    steps: list[tuple[int, Transition]] = []
    touched_tasks: list[WorkflowTask] = []
    stepped: dict[int, ProcessInstance] = {}
    changed_subs: dict[int, Submission] = {}
    stored: dict[int, Submission] = {}
    audit: list[dict[str, Any]] = []
    with deferred(session):
        for task, payload in items:
            report = reports.get(task.id)
            actor = report.actor_id if report is not None and report.actor_id is not None else principal.user_id
            if current.get(task.id) != "ready":
                outcomes.append(Outcome(task.id, False, done_message(task, actor)))
                continue
            row, sub = instances[task.instance_id], subs[task.submission_id]
            if report is not None and revisions[sub.id] != report.revision:
                err = RevisionMoved(revisions[sub.id], report.revision)
                outcomes.append(Outcome(task.id, False, err.message, error=err))
                continue
            # The state records the acting role, not the person (who acted is the task row's
            # completed_by and the audit log): every village's report then moves through the same
            # few states, and a step made for one is reused for all.
            definition = definitions[row.process_version_id]
            # what its gateways may read: the report handed in with this step, else the one stored (a
            # review's: the submission was read whole, with its data, by _lock_actionable)
            scope = None if not definition.report_reads else report_scope(
                sets[sub.indicator_set_version_id], report.data if report is not None else sub.data)
            key = step_key(row.process_version_id, row.state_digest, task.spiff_task_id, payload, task.role, now,
                           report_values(definition, scope))
            step = MEMO.get(key)
            if step is None:
                try:
                    state = load_states(session, [row.state_digest])[row.state_digest]
                    step = _step(definition, state, task, payload, task.role, report=scope)
                except GrassrootsError as err:
                    outcomes.append(Outcome(task.id, False, err.message, error=err))
                    continue
                MEMO.put(key, step)
            if report is not None:
                _hand_in(sub, report, actor, now)
                stored[sub.id] = sub
                audit.append({"actor_id": actor, "action": "submit", "object_type": "submission",
                              "object_id": str(sub.id), "details": {"revision": sub.revision, **report.audit}})
            current[task.id] = task.state = "completed"
            task.completed_at, task.completed_by, task.revision = now, actor, sub.revision
            if task.kind == "review":  # written with the completion: one UPDATE per task, not two
                task.decision, task.comment = payload.get("decision"), payload.get("comment")
                task.field_comments = payload.get("field_comments") or None
            steps.append((row.process_version_id, step))
            ready, rows = apply(row, step, sub, open_rows[row.id])
            new_rows += rows
            touched_tasks += [task, *open_rows[row.id]]
            stepped[row.id], changed_subs[sub.id] = row, sub
            _update_status(session, sub, step, task, payload)
            outcomes.append(Outcome(task.id, True, "", Step(task, sub, ready)))
        # one statement for the whole batch: new states, instances, tasks, statuses (with the reports
        # handed in, their revisions and audit rows) and the new tasks (the unit of work would send a
        # statement per row)
        write_together(session, state_rows(steps), Update(list(stepped.values()), INSTANCE_COLUMNS),
                       Update(list({t.id: t for t in touched_tasks}.values()), TASK_COLUMNS),
                       Update([s for s in changed_subs.values() if s.id not in stored], SUBMISSION_STATUS_COLUMNS),
                       Update(list(stored.values()), REPORT_COLUMNS + SUBMISSION_STATUS_COLUMNS, SUBMIT_REVISION),
                       Insert(WorkflowTask.__table__, new_rows), Insert(AuditEntry.__table__, audit))
        session.flush()
    return outcomes


def _hand_in(sub: Submission, report: Report, user_id: int | None, now: dt.datetime) -> None:
    """The report becomes the submission's next revision (written with the step)."""
    sub.data, sub.explanations = dict(report.data), dict(report.explanations)
    sub.revision, sub.updated_at, sub.updated_by = report.revision + 1, now, user_id


# Locked rows come back as they are now, but the other tables of the same statement as they were when it
# began: the reads that lock an instance (``step_read``: a submit's, an approval's) compare its
# row version (xmin) with the one their own snapshot saw ("unchanged"). Every change of a task is written
# with its instance (a step, a timer), so an unchanged instance means unchanged tasks; only otherwise must
# the statement run again, now holding the locks.
_seen = aliased(ProcessInstance, name="seen")
_INSTANCE_UNCHANGED = (
    literal_column("process_instances.xmin")
    == select(literal_column("seen.xmin")).select_from(_seen).where(_seen.id == ProcessInstance.id).scalar_subquery()
).label("unchanged")
_TARGET = aliased(WorkflowTask, name="target")  # the task asked for, beside its instance's ready tasks


def step_read(query: Select[Any]) -> Select[Any]:
    """``query``, which reads process instances with their submissions, extended by what a workflow step
    needs beside them, as its last columns: each ready task of the instance (a row each), ``unchanged``
    (``_INSTANCE_UNCHANGED``) and the process version's identity (``head_columns``). Instance and
    submission are locked in instance id order, as every batch locks them (no deadlocks)."""
    return (
        query.add_columns(WorkflowTask, _INSTANCE_UNCHANGED, *head_columns(ProcessVersion))
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .outerjoin(WorkflowTask, and_(WorkflowTask.instance_id == ProcessInstance.id, WorkflowTask.state == "ready"))
        .order_by(ProcessInstance.id)
        .with_for_update(of=(ProcessInstance, Submission))
        .execution_options(populate_existing=True)
    )


def read_locked(session: Session, statement: Any, params: Mapping[str, Any]) -> list[Any]:
    """The rows of a ``step_read`` statement as they are under its locks: read again when an instance was
    written while the statement waited for its lock."""
    rows = list(session.execute(statement, params).all())
    if not all(row.unchanged for row in rows):
        rows = list(session.execute(statement, params).all())  # holding the locks now: a fresh snapshot
    return rows


# The columns a step changes (engine.instances.apply, _update_status and the completion above).
INSTANCE_COLUMNS = ("state_digest", "serializer_version", "status", "next_timer_at", "updated_at")
TASK_COLUMNS = ("state", "completed_at", "completed_by", "revision", "decision", "comment", "field_comments",
                "due_at", "overdue")
SUBMISSION_STATUS_COLUMNS = ("status", "approved_level", "submitted_at")
REPORT_COLUMNS = ("data", "explanations", "revision", "updated_at", "updated_by")
# each report handed in is kept as a "submit" revision, copied from the row just written
SUBMIT_REVISION = Copy(SubmissionRevision.__table__,
                       {"submission_id": "id", "revision": "revision", "data": "data", "created_by": "updated_by"},
                       {"kind": "submit"})


def _step(definition: ProcessDefinition, state: Mapping[str, Any], task: WorkflowTask,
          payload: Mapping[str, Any], actor: str, report: Scope | None = None) -> Transition:
    """Run SpiffWorkflow for one completion; raises (and nothing is kept) when the engine refuses it.
    ``report``: what the flow's gateway conditions read (``engine.flow_fields``), for the step only."""
    workflow = load_state(definition, state)
    complete(definition, workflow, task.spiff_task_id, dict(payload), actor=actor, report=report)
    return observe(definition, workflow)


def _run(session: Session, principal: Principal, task: WorkflowTask, payload: Mapping[str, Any],
         report: Report | None = None, *, held: Held) -> Step:
    [outcome] = _run_many(session, principal, [(task, payload)], {task.id: report} if report else None, held)
    if outcome.step is None:
        raise outcome.refusal()
    return outcome.step


def _update_status(session: Session, sub: Submission, step: Transition, task: WorkflowTask | None = None,
                   payload: Mapping[str, Any] | None = None) -> None:
    """Bring a report in line with a step of its flow: ``task`` completed with ``payload``, or, when
    None, a timer fired (``tick``)."""
    old_level = sub.approved_level
    decision = (payload or {}).get("decision") if task is not None and task.kind == "review" else None
    if decision == "approve":
        level = ROLES[task.role].approves_at
        sub.approved_level = int(level) if level is not None else old_level
    elif decision == "return":
        sub.approved_level = None  # a return withdraws every approval of this round
    sub.status = _status_after(sub, step, decision)
    if task is not None and task.kind == "entry":
        sub.submitted_at = dt.datetime.now(dt.UTC)
    if old_level != sub.approved_level or step.final:
        approval_changed(
            session,
            ApprovalChanged(sub.id, sub.collection_id, sub.org_code, old_level, sub.approved_level, step.final),
        )


def _status_after(sub: Submission, step: Transition, decision: str | None) -> str:
    if step.final:
        return "final"
    if step.finished:
        # ended without approval (only a version published before the checker required every ending to
        # approve can): not final, and the report stays as it was (the clerk is told why: not_editable)
        return sub.status
    if any(t.kind == "entry" for t in step.ready):
        # with the clerk: a report still there (a deadline fired on it) stays as it was
        if sub.status in EDITABLE:
            return sub.status
        return "returned" if decision == "return" else "draft"
    return "approved" if sub.approved_level is not None else "submitted"


def complete_review(
    session: Session, principal: Principal, task_id: int, payload: Mapping[str, Any]
) -> Step:
    targets, held = _lock_actionable(session, principal, [task_id])
    target = targets.get(task_id)
    if target is None:
        raise NotFound("任务不存在或不属于您")
    if target.collection_status != "open":
        raise Conflict("本次采集已关闭")
    task = target.task
    if task.kind != "review":
        raise BadInput("这是填报任务，请在填报页面提交")
    decision = payload.get("decision")
    comment = payload.get("comment") or ""
    field_comments = payload.get("field_comments") or {}
    # Wrong types pass through untouched: the payload check names them (a BadInput, not a crash).
    if isinstance(comment, str):
        comment = comment.strip()
    if isinstance(field_comments, Mapping):
        field_comments = {k: v for k, v in field_comments.items() if str(v).strip()}
    payload = {"decision": decision, "comment": comment, "field_comments": field_comments}
    if held.current.get(task.id) != "ready":  # done meanwhile: that, not what was typed, is the news
        raise Conflict(done_message(task, principal.user_id), details={"task_id": task.id})
    sub = held.subs[task.submission_id]
    # every problem at once (BadInput listing them in problems), before the flow sees the step
    check_review(indicator_set_model(session, sub.indicator_set_version_id), payload)
    step = _run(session, principal, task, payload, held=held)
    record(session, principal.user_id, f"review_{decision}", "submission", str(task.submission_id),
           {"task_id": task.id, "task": task.bpmn_id, "comment": comment, "revision": task.revision})
    return step


@dataclass
class BulkResult:
    task_id: int
    ok: bool
    message: str


def bulk_approve(session: Session, principal: Principal, task_ids: list[int], comment: str = "") -> list[BulkResult]:
    """Approve many reviews in one batch; each is still checked, stepped and audited on its own."""
    comment = comment.strip()
    check_texts({"comment": comment}, {"comment": BULK_COMMENT_LABEL})
    targets, held = _lock_actionable(session, principal, task_ids)
    problems = {
        task_id: message
        for task_id, message in (
            (i, "任务不存在或不属于您" if i not in targets else
                "本次采集已关闭" if targets[i].collection_status != "open" else
                "这是填报任务，请在填报页面提交" if targets[i].task.kind != "review" else None)
            for i in task_ids
        )
        if message
    }
    payload = {"decision": "approve", "comment": comment, "field_comments": {}}
    runnable = [(targets[i].task, payload) for i in task_ids if i not in problems]
    done = {o.task_id: o for o in _run_many(session, principal, runnable, None, held)}
    results = []
    audit: list[tuple[str, dict[str, Any]]] = []
    for task_id in task_ids:
        outcome = done.get(task_id)
        if outcome is not None and outcome.ok:
            task = targets[task_id].task
            audit.append((str(task.submission_id), {"task_id": task.id, "task": task.bpmn_id, "comment": comment,
                                                    "revision": task.revision, "bulk": True}))
            results.append(BulkResult(task_id, True, "已通过"))
        else:
            results.append(BulkResult(task_id, False, problems.get(task_id) or (outcome.message if outcome else "")))
    record_many(session, principal.user_id, "review_approve", "submission", audit)
    return results


# --- timers ---------------------------------------------------------------------------------------


def tick(session: Session, now: dt.datetime | None = None, *, limit: int = 500,
         failed: set[int] | None = None) -> int:
    """Fire due timers of at most ``limit`` instances (indexed by next_timer_at) of open collections;
    returns how many fired.

    ``failed``: ids of instances that could not fire earlier in this run. They are left out, and this
    batch's failures are added: a broken instance stays due and sorts first, and would otherwise take a
    place in every batch of the run. ``SKIP LOCKED``: two ticks running at once, or a reviewer acting,
    never block each other.
    """
    now = now or dt.datetime.now(dt.UTC)
    failed = set() if failed is None else failed
    query = (
        select(ProcessInstance.id)
        .join(Collection, Collection.id == ProcessInstance.collection_id)
        # a closed collection's deadlines no longer run: nobody may enter or review there
        .where(ProcessInstance.next_timer_at.is_not(None), ProcessInstance.next_timer_at <= now,
               Collection.status == "open")
        .order_by(ProcessInstance.next_timer_at)
        .limit(limit)
        .with_for_update(of=ProcessInstance, skip_locked=True)
    )
    if failed:
        query = query.where(ProcessInstance.id.not_in(failed))
    fired_count = 0
    for instance_id in session.scalars(query).all():
        try:
            # a savepoint each: one broken instance must not hold back every other deadline
            with session.begin_nested():
                loaded = lock_and_load(session, instance_id)
                sub = session.get(Submission, loaded.row.submission_id)
                assert sub is not None
                # a timer that skips a review may lead to a gateway reading the report
                report = report_scope(indicator_set_model(session, sub.indicator_set_version_id), sub.data) \
                    if loaded.definition.report_reads else None
                fired = fire_due_timers(loaded.definition, loaded.workflow, now, report=report)
                step = save(session, loaded, sub)
                if fired:  # a timer may move the flow on, or end it: the report follows as for a person's step
                    _update_status(session, sub, step)
                for timer in fired:
                    record(session, None, "timer_fired", "submission", str(sub.id),
                           {"timer": timer.bpmn_id, "task": timer.attached_to, "due_at": timer.due_at.isoformat()})
            fired_count += 1
        except DBAPIError as err:
            if err.connection_invalidated:  # the database is gone, not this instance broken
                raise
            failed.add(instance_id)
            log.error("流程实例 %s 的到期计时器未能触发：%s", instance_id, err.orig)
        except Exception as err:  # noqa: BLE001 (a broken stored state is this instance's failure alone)
            failed.add(instance_id)
            log.error("流程实例 %s 的到期计时器未能触发：%s", instance_id,
                      err.message if isinstance(err, GrassrootsError) else repr(err))
    return fired_count
