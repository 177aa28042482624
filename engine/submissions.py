"""Submissions: drafts, submit, revisions and history. Every function takes the caller's Session.

- Scope: a submission is found only where the caller may read it (``readable_clause``): one it may
  not read is not found, by a save or a submit too (never a 403 or a status that betrays it).
- Editing: only the holders of the ready *entry* task's role at its org unit, while the collection
  is open. Two browsers saving at once: the revision number in the UPDATE's WHERE decides, the later
  save is refused with a Conflict (never silently overwritten).
- Submit reads and locks the submission with its process instance and ready tasks in one statement,
  then validates. An invalid report is saved as a draft (nothing the user entered is lost); a valid one
  becomes a new revision, cleaned, written with its workflow step in one statement. A save in another
  tab meanwhile waits for the lock, then finds the revision moved on (a Conflict, never an overwrite).
- ``submit_together`` does that for the submits of several callers at once, each judged as if alone,
  in one read and one write (group commit: ``engine.submit_queue``); ``submit`` is the case of one.
- Filled fields (``x-fill``: the unit's code and name, the period): every save, check and submit sets
  them from the report's context before validating and storing, whatever the client sent. Only a
  version that has such fields pays for it, with one read of the batch's unit names and periods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, String, and_, any_, bindparam, or_, select, text
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value

from engine.auth import Principal
from engine.db.batch_writes import ByCount, json_text
from engine.db.models import (
    Collection,
    IndicatorSetVersion,
    OrgUnit,
    ProcessInstance,
    Submission,
    SubmissionRevision,
    WorkflowTask,
)
from engine.definitions import IndicatorSet
from engine.definitions.fill import FillContext, fill_document
from engine.errors import (
    BadInput,
    Conflict,
    GrassrootsError,
    NotFound,
    PermissionDenied,
    Problem,
    RevisionMoved,
)
from engine.publishing import Head, head_columns, indicator_set_model
from engine.report_limits import MAX_REPORT_BYTES, Findings, findings
from engine.roles import APPROVED_READERS, IN_PROGRESS_READERS
from engine.tasks import EDITABLE, Held, Report, _run_many, read_locked, step_read
from engine.validation import ValidationResult, validate_submission
from engine.workflows.payloads import require_json_native

STATUS_LABELS: dict[str, str] = {
    "not_started": "未开始",
    "draft": "草稿",
    "submitted": "已提交待审核",
    "returned": "已退回",
    "approved": "已审核（待终审）",  # approved at some level, the flow not finished: not yet final
    "final": "终审通过",
}
APPROVED_STATUSES = ("approved", "final")

# Why a report its clerk opens cannot be edited, where its status alone would mislead. A flow that ended
# without approval keeps the status the report had (only a version published before the checker required
# every ending to approve can end so); a running flow may have no entry task ready while the report
# reads as a draft (such a version's interrupting deadline on the entry task cancels it).
ENDED_UNAPPROVED = ("此表的审批流程已经结束，但没有经过终审通过（所用流程版本的设计有误），不能再修改或提交；"
                    "请联系上级管理员处理")
NO_ENTRY_STEP = ("此表的审批流程中目前没有填报环节（所用流程版本的设计有误，或流程已转到其他环节），"
                 "暂时不能修改；如一直如此，请联系上级管理员处理")


def not_editable_message(status: str, flow_status: str | None, entry_ready: bool) -> str:
    """Why a report with ``status``, whose flow is ``flow_status`` ("running" | "completed") and has an
    entry task ready or not, cannot be edited by the caller."""
    if flow_status == "completed" and status != "final":
        return ENDED_UNAPPROVED
    if flow_status == "running" and status in EDITABLE and not entry_ready:
        return NO_ENTRY_STEP
    return f"当前状态为“{STATUS_LABELS.get(status, status)}”，不能修改"


def not_editable_reason(session: Session, sub: Submission) -> str:
    """``not_editable_message`` for a report read on its own (a page that found it not editable)."""
    flow_status = session.scalar(select(ProcessInstance.status).where(ProcessInstance.submission_id == sub.id))
    return not_editable_message(sub.status, flow_status, ready_entry_task(session, sub.id) is not None)


def readable_clause(principal: Principal, *, record: bool = False) -> ColumnElement[bool]:
    """Reports the caller may read: every report in the subtrees where it takes part in the flow; only
    approved ones where it reads approved data only (a line department's viewer). ``record``: the
    report's revisions, history and comments too, which are the flow's and not approved data."""
    following = principal.scope_clause(Submission.org_code, IN_PROGRESS_READERS)
    if record:
        return following
    approved = principal.scope_clause(Submission.org_code, APPROVED_READERS)
    return or_(following, and_(Submission.status.in_(APPROVED_STATUSES), approved))


def get_submission(session: Session, principal: Principal, submission_id: int, *, lock: bool = False,
                   record: bool = False) -> Submission:
    query = select(Submission).where(Submission.id == submission_id, readable_clause(principal, record=record))
    if lock:
        query = query.with_for_update()
    sub = session.scalar(query)
    if sub is None:
        raise NotFound("填报记录不存在或无权查看")
    return sub


def ready_entry_task(session: Session, submission_id: int) -> WorkflowTask | None:
    return session.scalar(
        select(WorkflowTask).where(
            WorkflowTask.submission_id == submission_id, WorkflowTask.state == "ready", WorkflowTask.kind == "entry"
        )
    )


def can_edit(session: Session, principal: Principal, sub: Submission) -> bool:
    task = ready_entry_task(session, sub.id)
    return task is not None and principal.has_role(task.role, task.assignee_org_code)


# ``readable_clause`` for a statement built once: the subtrees where the caller follows the flow
# (``scope``), and those where it reads approved reports only (``approved_scope``), given by
# ``_reader_params``. A report the caller may not read is not found by a write either: a 403 or a 409
# naming its status would tell a department's viewer that a report in progress exists, and its status.
_READABLE = or_(
    Submission.org_code.like(any_(bindparam("scope", type_=ARRAY(String)))),
    and_(Submission.status.in_(APPROVED_STATUSES),
         Submission.org_code.like(any_(bindparam("approved_scope", type_=ARRAY(String))))),
)


def _reader_params(principals: Sequence[Principal]) -> dict[str, list[str]]:
    """``_READABLE``'s parameters for the callers (several: a submit batch reads under their union)."""
    def prefixes(roles: frozenset[str]) -> list[str]:
        return sorted({prefix for principal in principals for prefix in principal.scope_prefixes(roles)})
    return {"scope": prefixes(IN_PROGRESS_READERS), "approved_scope": prefixes(APPROVED_READERS)}


def _reads(principal: Principal, sub: Submission) -> bool:
    """``readable_clause`` in Python, for a report read under several callers' scopes."""
    return principal.can_see(sub.org_code, IN_PROGRESS_READERS) or (
        sub.status in APPROVED_STATUSES and principal.can_see(sub.org_code, APPROVED_READERS))

# Built once (the read of every save): the submission if the caller may read it, its collection's status
# and its ready entry task if any.
_EDITABLE = (
    select(Submission, Collection.status, WorkflowTask, ProcessInstance.status)
    .join(Collection, Collection.id == Submission.collection_id)
    .outerjoin(WorkflowTask, and_(WorkflowTask.submission_id == Submission.id, WorkflowTask.state == "ready",
                                  WorkflowTask.kind == "entry"))
    .outerjoin(ProcessInstance, ProcessInstance.submission_id == Submission.id)
    .where(Submission.id == bindparam("id"), _READABLE)
    .options(defer(Submission.data))  # a save replaces the stored report: not decoded only to be dropped
)

# The read of every submit, one report or a batch: the submissions the callers may read with their
# collection's status, indicator-set version, process instance and all its ready tasks; instances and
# submissions locked, in instance id order (instance first, as every batch locks them:
# engine.tasks.step_read), so the workflow step needs no read of its own; read again when an instance was
# written while this waited for its lock (engine.tasks.read_locked). Built for one id (an HTTP submit) and
# for a batch (ByCount).
_SUBMITTABLE = ByCount.build(lambda match: step_read(
    select(Submission, Collection.status, ProcessInstance, *head_columns(IndicatorSetVersion))
    .select_from(ProcessInstance)
    .join(Submission, Submission.id == ProcessInstance.submission_id)
    .join(Collection, Collection.id == Submission.collection_id)
    .join(IndicatorSetVersion, IndicatorSetVersion.id == Submission.indicator_set_version_id)
    .where(match(Submission.id, "ids"), _READABLE)
    .options(defer(Submission.data))  # replaced by the report handed in, or by the draft when it is invalid
))


@dataclass
class _Locked:
    """One submission as ``_SUBMITTABLE`` read and locked it."""

    sub: Submission
    collection_status: str
    instance: ProcessInstance
    version: Head  # its indicator-set version
    process: Head  # its process version
    ready: list[WorkflowTask]

    @property
    def entry(self) -> WorkflowTask | None:
        """Its ready entry task, if any."""
        return next((t for t in self.ready if t.kind == "entry"), None)


def _lock_submittable(session: Session, readers: Sequence[Principal], ids: list[int]) -> dict[int, _Locked]:
    """``ids`` that one of ``readers`` may read, read and locked (``_SUBMITTABLE``)."""
    statement, params = _SUBMITTABLE.pick(ids=ids)
    params.update(_reader_params(readers))
    found: dict[int, _Locked] = {}
    for sub, collection_status, instance, *rest in read_locked(session, statement, params):
        version, (task, _, *process) = rest[:4], rest[4:]  # its version's identity, then step_read's columns
        locked = found.get(sub.id)
        if locked is None:
            locked = found[sub.id] = _Locked(sub, collection_status, instance, Head(*version), Head(*process), [])
        if task is not None:
            locked.ready.append(task)
    return found


def _held(found: list[_Locked]) -> Held:
    return Held.gather((f.instance, f.sub, f.process, f.ready) for f in found)


def _may_edit(principal: Principal, sub: Submission, collection_status: str, task: WorkflowTask | None,
              flow_status: str | None) -> None:
    if collection_status != "open":
        raise Conflict("本次采集已关闭，不能再修改")
    if task is None or sub.status not in EDITABLE:
        raise Conflict(not_editable_message(sub.status, flow_status, task is not None))
    if not principal.has_role(task.role, task.assignee_org_code):
        raise PermissionDenied("只有本单位的填报人员可以修改此表")


def _editable(session: Session, principal: Principal, submission_id: int) -> Submission:
    """The submission (one the caller may read), when the caller may edit it now. One round trip."""
    found = session.execute(_EDITABLE, {"id": submission_id, **_reader_params([principal])}).first()
    if found is None:
        raise NotFound("填报记录不存在或无权查看")
    sub, collection_status, task, flow_status = found
    _may_edit(principal, sub, collection_status, task, flow_status)
    return sub


# The context the filled fields (x-fill) of these submissions are taken from: their units' names and
# their collections' periods. Read only for reports whose version fills fields.
_FILL_CONTEXTS = ByCount.build(lambda match: (
    select(Submission.id, Submission.org_code, OrgUnit.name, Collection.period)
    .join(Collection, Collection.id == Submission.collection_id)
    .outerjoin(OrgUnit, OrgUnit.code == Submission.org_code)
    .where(match(Submission.id, "ids"))
))


def fill_contexts(session: Session, ids: Sequence[int]) -> dict[int, FillContext]:
    """Submission id -> the context its filled fields are set from (one statement; none for no ids)."""
    if not ids:
        return {}
    statement, params = _FILL_CONTEXTS.pick(ids=list(ids))
    return {row.id: FillContext(row.org_code, row.name or row.org_code, row.period)
            for row in session.execute(statement, params)}


def _with_context(model: IndicatorSet, data: Any, context: FillContext | None) -> Any:
    """``data`` with the model's filled fields set from ``context`` (as it is when nothing is filled)."""
    return fill_document(model.filled, data, context) if model.filled and context is not None else data


def with_filled(session: Session, model: IndicatorSet, sub: Submission, data: Any) -> Any:
    """``data`` with ``sub``'s filled fields (x-fill) as they are stored: one read of its context, none
    when the version fills nothing. For one report (a save, a check, a fill page's post)."""
    if not model.filled:
        return data
    return _with_context(model, data, fill_contexts(session, [sub.id]).get(sub.id))


def _filled_contexts(session: Session, found: Mapping[int, _Locked]) -> dict[int, FillContext]:
    """The fill contexts of the locked submissions whose version fills fields (no read when none does)."""
    return fill_contexts(session, [
        sub_id for sub_id, f in found.items()
        if indicator_set_model(session, f.sub.indicator_set_version_id, f.version).filled
    ])


def within_limits(model: IndicatorSet, data: Any, explanations: Mapping[str, Any] | None) -> None:
    """Refuse a report that holds what no form holds (``engine.report_limits``): keys its version does not
    have, a string far beyond its field's maxLength, more than 4 MiB in all. The one decision for every
    report before it is stored: a draft save (API and fill page), a submit, a batch submit. Refused,
    nothing is stored; a value too long by a little is not refused (validation tells the clerk). A value
    jsonb cannot hold (NaN, U+0000, a lone surrogate, in a value or a key) is refused first, by name."""
    require_json_native(data)
    require_json_native(explanations or {}, "explanations")
    found = findings(model, data, explanations)
    if found:
        raise BadInput(_limits_message(found), problems=found.problems, details={
            "unknown_keys": found.unknown_keys, "too_long": found.too_long, "size": found.size,
            "max_size": MAX_REPORT_BYTES})


def _limits_message(found: Findings) -> str:
    if found.size > MAX_REPORT_BYTES:
        return f"本次未保存：{found.problems[0].message}"
    parts = []
    if found.unknown_keys:
        named = [p.data_path for p in found.problems if p.code == "unknown_key"][:3]
        more = " 等" if found.unknown_keys > len(named) else ""
        parts.append(f"有 {found.unknown_keys} 项不是此表的数据项（{'、'.join(map(str, named))}{more}），请删去")
    if found.too_long:
        parts.append(f"有 {found.too_long} 项内容过长，请删减")
    return f"本次未保存：{'；'.join(parts)}"


def save_draft(
    session: Session,
    principal: Principal,
    submission_id: int,
    data: Mapping[str, Any],
    *,
    revision: int,
    explanations: Mapping[str, str] | None = None,
) -> Submission:
    """Store ``data`` as a new revision without validating it. ``revision`` is the one the user edited.
    Filled fields are stored as the report's context gives them, not as sent. A report beyond what any
    form holds is refused (``within_limits``); one equal to the stored report writes nothing."""
    sub = _editable(session, principal, submission_id)
    model = indicator_set_model(session, sub.indicator_set_version_id)
    data = with_filled(session, model, sub, data)
    within_limits(model, data, explanations)
    return _store_draft(session, principal, sub, data, revision=revision, explanations=explanations)


def _store_draft(
    session: Session,
    principal: Principal,
    sub: Submission,
    data: Mapping[str, Any],
    *,
    revision: int,
    explanations: Mapping[str, str] | None,
) -> Submission:
    """Store ``data`` (which passed ``within_limits``) as it is, as the next revision (kind ``draft``),
    unless the revision moved on, or unless data and explanations equal the stored ones (then nothing is
    written and the revision stays: a client saving on a timer must not add a revision each time).
    (A submitted report is stored with its workflow step: ``engine.tasks.Report``.)"""
    data = dict(data)
    explanations = explanations_for(sub, explanations)
    stored = session.execute(_WRITE_DRAFT, {"id": sub.id, "rev": revision, "uid": principal.user_id,
                                            "data": json_text(data), "explanations": json_text(explanations)}).first()
    if stored is None:
        session.refresh(sub)
        raise RevisionMoved(sub.revision, revision)
    # mirror what the UPDATE wrote (or found equal) instead of reading the row back
    for name, value in (("data", data), ("explanations", explanations), ("revision", stored.revision),
                        ("status", stored.status), ("updated_at", stored.updated_at),
                        ("updated_by", stored.updated_by)):
        set_committed_value(sub, name, value)
    return sub


# One statement: the UPDATE guarded by the revision the user edited and by a change, and the INSERT of
# the new revision (the report goes to the server once). When nothing changed, the row as it is (jsonb's
# equality: key order and 1 vs 1.0 are no change); no row at all: the revision moved on. The unchanged
# branch reads the statement's snapshot, so a save equal to it that raced another counts as made first.
_WRITE_DRAFT = text(
    "WITH stored AS ("
    "  UPDATE submissions SET data = CAST(:data AS jsonb), explanations = CAST(:explanations AS jsonb),"
    "   revision = revision + 1, status = CASE WHEN status = 'not_started' THEN 'draft' ELSE status END,"
    "   updated_at = now(), updated_by = :uid"
    "  WHERE id = :id AND revision = :rev AND (data IS DISTINCT FROM CAST(:data AS jsonb)"
    "   OR explanations IS DISTINCT FROM CAST(:explanations AS jsonb))"
    "  RETURNING id, revision, status, updated_at, updated_by, data),"
    " added AS ("
    "  INSERT INTO submission_revisions (submission_id, revision, kind, data, created_by)"
    "  SELECT id, revision, 'draft', data, :uid FROM stored)"
    " SELECT revision, status, updated_at, updated_by FROM stored"
    " UNION ALL SELECT revision, status, updated_at, updated_by FROM submissions"
    "  WHERE NOT EXISTS (SELECT FROM stored) AND id = :id AND revision = :rev"
    "   AND data IS NOT DISTINCT FROM CAST(:data AS jsonb)"
    "   AND explanations IS NOT DISTINCT FROM CAST(:explanations AS jsonb)"
).columns(*(Submission.__table__.c[name] for name in ("revision", "status", "updated_at", "updated_by")))


@dataclass
class SubmitOutcome:
    submission: Submission
    validation: ValidationResult
    submitted: bool
    indicator_set: IndicatorSet  # the model of the submission's version (to render the answer with)


def explanations_for(sub: Submission, sent: Mapping[str, str] | None) -> dict[str, str]:
    """The explanations a save or submit goes by: those sent, or, when none were sent, the stored ones
    (a form or client that leaves them out must not lose them)."""
    return dict(sent if sent is not None else sub.explanations or {})


def validate(session: Session, sub: Submission, data: Mapping[str, Any] | None = None,
             explanations: Mapping[str, str] | None = None) -> ValidationResult:
    ind = indicator_set_model(session, sub.indicator_set_version_id)
    data = with_filled(session, ind, sub, data if data is not None else sub.data)  # checked as it would be stored
    return validate_submission(ind, data, explanations=explanations_for(sub, explanations))


def submit(
    session: Session,
    principal: Principal,
    submission_id: int,
    data: Mapping[str, Any],
    *,
    revision: int,
    explanations: Mapping[str, str] | None = None,
) -> SubmitOutcome:
    """Validate, store, and when valid hand the report on (the entry task completes).

    An invalid report is stored as a draft exactly as entered (nothing lost); the caller commits and
    shows ``validation``'s errors. A valid one is stored cleaned (calculations recomputed, values of
    fields that are not relevant dropped). Refusals raise (not found, not editable now, revision moved).
    """
    [outcome] = submit_together(session, [(principal, SubmitItem(submission_id, data, revision, explanations))])
    if isinstance(outcome, GrassrootsError):
        raise outcome
    return outcome


def submit_together(session: Session,
                    requests: Sequence[tuple[Principal, SubmitItem]]) -> list[SubmitOutcome | GrassrootsError]:
    """``submit`` for several callers' reports at once, each judged exactly as if it came alone: its
    caller's scope and role, its revision, its own validation. One locked read and one write for all
    (the per-statement and per-commit costs are most of a submit's). Returns, in order, each request's
    outcome or the error ``submit`` would raise for it; an invalid report is stored as a draft. One
    request per submission (the queue sends a second one in the next batch).
    """
    ids = [item.submission_id for _, item in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("submit_together: one request per submission")
    # read under the union of the callers' scopes; each request is held to its own below
    found = _lock_submittable(session, [principal for principal, _ in requests], ids)
    contexts = _filled_contexts(session, found)
    outcomes: list[SubmitOutcome | GrassrootsError | None] = [None] * len(requests)
    valid: list[tuple[int, _Locked, Report, ValidationResult, IndicatorSet]] = []
    for i, (principal, item) in enumerate(requests):
        locked = found.get(item.submission_id)
        try:
            if locked is None or not _reads(principal, locked.sub):
                raise NotFound("填报记录不存在或无权查看")
            _may_edit(principal, locked.sub, locked.collection_status, locked.entry, locked.instance.status)
            model = indicator_set_model(session, locked.sub.indicator_set_version_id, locked.version)
            explanations = explanations_for(locked.sub, item.explanations)
            data = _with_context(model, item.data, contexts.get(locked.sub.id))
            within_limits(model, data, item.explanations)
            result = validate_submission(model, data, explanations=explanations)
            if not result.ok:
                sub = _store_draft(session, principal, locked.sub, data, revision=item.revision,
                                   explanations=item.explanations)
                outcomes[i] = SubmitOutcome(sub, result, False, model)
                continue
            require_json_native(result.data)
            require_json_native(explanations, "explanations")
        except GrassrootsError as err:
            outcomes[i] = err
            continue
        valid.append((i, locked, Report(result.data, explanations, item.revision, actor_id=principal.user_id),
                      result, model))
    if valid:  # stored with their steps, in the batch's one statement (with their revisions and audit rows)
        steps: list[tuple[WorkflowTask, Mapping[str, Any]]] = []
        reports: dict[int, Report] = {}
        for _, locked, report, _, _ in valid:
            entry = locked.entry
            assert entry is not None  # _may_edit refuses a submission without one
            steps.append((entry, {"revision": report.revision + 1}))
            reports[entry.id] = report
        held = _held([locked for _, locked, _, _, _ in valid])
        caller = requests[valid[0][0]][0]  # the actor of each report is its own (Report.actor_id)
        for (i, locked, _, result, model), step in zip(valid, _run_many(session, caller, steps, reports, held),
                                                       strict=True):
            outcomes[i] = SubmitOutcome(locked.sub, result, True, model) if step.ok else step.refusal()
    done = [outcome for outcome in outcomes if outcome is not None]
    assert len(done) == len(requests)
    return done


def revisions(session: Session, principal: Principal, submission_id: int) -> list[SubmissionRevision]:
    sub = get_submission(session, principal, submission_id, record=True)
    return list(
        session.scalars(
            select(SubmissionRevision)
            .where(SubmissionRevision.submission_id == sub.id)
            .order_by(SubmissionRevision.revision)
        )
    )


def revision_data(session: Session, principal: Principal, submission_id: int, revision: int) -> dict[str, Any]:
    sub = get_submission(session, principal, submission_id, record=True)
    row = session.scalar(
        select(SubmissionRevision).where(
            SubmissionRevision.submission_id == sub.id, SubmissionRevision.revision == revision
        )
    )
    if row is None:
        raise NotFound(f"第 {revision} 版不存在")
    return row.data


def model_for(session: Session, sub: Submission) -> IndicatorSet:
    return indicator_set_model(session, sub.indicator_set_version_id)


@dataclass
class SubmitItem:
    submission_id: int
    data: Mapping[str, Any]
    revision: int
    explanations: Mapping[str, str] | None = None


@dataclass
class ItemResult:
    submission_id: int
    submitted: bool
    message: str = ""
    problems: list[Problem] | None = None


def submit_many(session: Session, principal: Principal, items: list[SubmitItem]) -> list[ItemResult]:
    """Submit many reports at once (a township keying in its villages' paper forms, an import).

    Each report is checked exactly like ``submit`` (scope, entry task, open collection, schema, rules);
    the entry tasks of the valid ones complete as one locked batch, each report stored with its step in
    the batch's one statement. Invalid or refused ones are reported, not stored.
    """
    found = _lock_submittable(session, [principal], [item.submission_id for item in items])
    subs = {sub_id: f.sub for sub_id, f in found.items()}
    entry = {sub_id: task for sub_id, f in found.items()  # the caller's to act on (tasks.actionable)
             if (task := f.entry) is not None and principal.has_role(task.role, task.assignee_org_code)}
    results: dict[int, ItemResult] = {}
    valid: list[tuple[SubmitItem, Submission, dict[str, Any]]] = []
    # One model per version for the batch, looked up before the loop.
    models = {f.sub.indicator_set_version_id: indicator_set_model(session, f.sub.indicator_set_version_id, f.version)
              for f in found.values()}
    contexts = _filled_contexts(session, found)
    for item in items:
        sub = subs.get(item.submission_id)
        refusal = (
            "填报记录不存在或无权查看" if sub is None else
            "本次采集已关闭，不能再修改" if found[sub.id].collection_status != "open" else
            "此表当前不在您的填报环节" if sub.id not in entry or sub.status not in EDITABLE else
            "此表已被他人修改" if sub.revision != item.revision else None
        )
        if refusal:
            results[item.submission_id] = ItemResult(item.submission_id, False, refusal)
            continue
        model = models[sub.indicator_set_version_id]
        try:
            data = _with_context(model, item.data, contexts.get(sub.id))
            within_limits(model, data, item.explanations)
            item = replace(item, explanations=explanations_for(sub, item.explanations), data=data)
        except BadInput as err:
            results[item.submission_id] = ItemResult(item.submission_id, False, err.message, err.problems or [
                Problem(err.message, data_path=err.data_path, code="format")])
            continue
        result = validate_submission(models[sub.indicator_set_version_id], item.data, explanations=item.explanations)
        if not result.ok:
            results[item.submission_id] = ItemResult(item.submission_id, False, "未通过校验",
                                                     result.errors + result.unexplained)
            continue
        valid.append((item, sub, result.data))
    # Each report is stored with its step, in the batch's one statement: a report whose step is refused,
    # or which someone changed meanwhile, is not stored at all.
    batch = [(entry[sub.id], {"revision": item.revision + 1}) for item, sub, _ in valid]
    handed_in = {entry[sub.id].id: Report(data, item.explanations or {}, item.revision, {"bulk": True})
                 for item, sub, data in valid}
    held = _held([found[sub.id] for _, sub, _ in valid])
    for (_, sub, _), outcome in zip(valid, _run_many(session, principal, batch, handed_in, held), strict=True):
        results[sub.id] = ItemResult(sub.id, True) if outcome.ok else ItemResult(
            sub.id, False, "此表已被他人修改" if isinstance(outcome.error, RevisionMoved) else outcome.message)
    return [results[item.submission_id] for item in items]
