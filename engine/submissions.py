"""Submissions: drafts, submit, revisions and history. Every function takes the caller's Session.

- Scope: a submission is found only through ``principal.scope_clause`` (out of scope = not found).
- Editing: only the holders of the ready *entry* task's role at its org unit, while the collection
  is open. Two browsers saving at once: the revision number in the UPDATE's WHERE decides, the later
  save is refused with a Conflict (never silently overwritten).
- Submit saves first (nothing the user entered is lost), then validates; when valid, the cleaned data
  becomes a new revision and the entry task completes in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.audit import record
from engine.auth import Principal
from engine.db.models import Collection, Submission, SubmissionRevision, WorkflowTask
from engine.definitions import IndicatorSet
from engine.errors import Conflict, NotFound, PermissionDenied
from engine.publishing import indicator_set_model
from engine.validation import ValidationResult, validate_submission
from engine.workflows.payloads import require_json_native

EDITABLE = frozenset({"not_started", "draft", "returned"})

STATUS_LABELS: dict[str, str] = {
    "not_started": "未开始",
    "draft": "草稿",
    "submitted": "已提交待审核",
    "returned": "已退回",
    "approved": "已审核通过",
    "final": "终审通过",
}


def get_submission(session: Session, principal: Principal, submission_id: int, *, lock: bool = False) -> Submission:
    query = select(Submission).where(Submission.id == submission_id, principal.scope_clause(Submission.org_code))
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


def _require_editable(session: Session, principal: Principal, sub: Submission) -> WorkflowTask:
    collection = session.get(Collection, sub.collection_id)
    if collection is None or collection.status != "open":
        raise Conflict("本次采集已关闭，不能再修改")
    task = ready_entry_task(session, sub.id)
    if task is None or sub.status not in EDITABLE:
        raise Conflict(f"当前状态为“{STATUS_LABELS.get(sub.status, sub.status)}”，不能修改")
    if not principal.has_role(task.role, task.assignee_org_code):
        raise PermissionDenied("只有本单位的填报人员可以修改此表")
    return task


def save_draft(
    session: Session,
    principal: Principal,
    submission_id: int,
    data: Mapping[str, Any],
    *,
    revision: int,
    explanations: Mapping[str, str] | None = None,
) -> Submission:
    """Store ``data`` as a new revision without validating it. ``revision`` is the one the user edited."""
    sub = get_submission(session, principal, submission_id)
    _require_editable(session, principal, sub)
    return _store(session, principal, sub, data, revision=revision, explanations=explanations, kind="draft")


def _store(
    session: Session,
    principal: Principal,
    sub: Submission,
    data: Mapping[str, Any],
    *,
    revision: int,
    explanations: Mapping[str, str] | None,
    kind: str,
) -> Submission:
    data = dict(data)
    require_json_native(data)
    new_revision = session.scalar(
        update(Submission)
        .where(Submission.id == sub.id, Submission.revision == revision)
        .values(
            data=data,
            explanations=dict(explanations or {}),
            revision=Submission.revision + 1,
            status=_draft_status(sub.status),
            updated_at=dt.datetime.now(dt.UTC),
            updated_by=principal.user_id,
        )
        .returning(Submission.revision)
    )
    if new_revision is None:
        session.refresh(sub)
        raise Conflict(
            f"此表已被他人修改（当前第 {sub.revision} 版，您编辑的是第 {revision} 版）。"
            "为避免覆盖，本次保存未生效：请复制您的修改，刷新后再保存。",
            details={"current_revision": sub.revision, "your_revision": revision},
        )
    session.add(SubmissionRevision(submission_id=sub.id, revision=new_revision, kind=kind, data=data,
                                   created_by=principal.user_id))
    session.flush()
    session.refresh(sub)
    return sub


def _draft_status(status: str) -> str:
    return "draft" if status == "not_started" else status


@dataclass
class SubmitOutcome:
    submission: Submission
    validation: ValidationResult
    submitted: bool


def validate(session: Session, sub: Submission, data: Mapping[str, Any] | None = None,
             explanations: Mapping[str, str] | None = None) -> ValidationResult:
    ind = indicator_set_model(session, sub.indicator_set_version_id)
    return validate_submission(ind, data if data is not None else sub.data,
                               explanations=explanations if explanations is not None else sub.explanations)


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
    fields that are not relevant dropped).
    """
    from engine.tasks import complete_entry  # the task service also imports this module

    sub = get_submission(session, principal, submission_id)
    _require_editable(session, principal, sub)
    result = validate(session, sub, data, explanations)
    if not result.ok:
        sub = _store(session, principal, sub, data, revision=revision, explanations=explanations, kind="draft")
        return SubmitOutcome(sub, result, submitted=False)
    sub = _store(session, principal, sub, result.data, revision=revision, explanations=explanations, kind="submit")
    complete_entry(session, principal, sub)
    record(session, principal.user_id, "submit", "submission", str(sub.id), {"revision": sub.revision})
    return SubmitOutcome(sub, result, submitted=True)


def revisions(session: Session, principal: Principal, submission_id: int) -> list[SubmissionRevision]:
    sub = get_submission(session, principal, submission_id)
    return list(
        session.scalars(
            select(SubmissionRevision)
            .where(SubmissionRevision.submission_id == sub.id)
            .order_by(SubmissionRevision.revision)
        )
    )


def revision_data(session: Session, principal: Principal, submission_id: int, revision: int) -> dict[str, Any]:
    sub = get_submission(session, principal, submission_id)
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
