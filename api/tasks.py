"""Tasks API: the caller's inbox, one task, completing it (review or entry), bulk approval, history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request
from sqlalchemy import select

from api.registry import api, query_param
from engine import submissions, tasks
from engine.auth import Principal
from engine.db.models import MAX_ID, Submission, WorkflowTask
from engine.errors import BadInput, Conflict, PermissionDenied, ValidationFailed
from engine.masking import report_text
from engine.review import (
    KIND_LABELS,
    REVISION_KIND_LABELS,
    SORT_LABELS,
    InboxRow,
    TaskContext,
    history_steps,
    inbox_page,
    is_late,
    parse_inbox_args,
    revision_entries,
    task_context,
)
from engine.review_comments import MAX_COMMENT_CHARS
from engine.submissions import STATUS_LABELS
from engine.workflows.vocabulary import DECISIONS
from web.auth import current_principal, login_required
from web.db import db, submit_queue

MAX_BULK = 500

# --- schemas --------------------------------------------------------------------------------------

_STR = {"type": "string"}
_INT = {"type": "integer"}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_NULL_STR = {"type": ["string", "null"]}
_COMMENTS = {"type": "object", "additionalProperties": {"type": "string"},
             "description": "逐项意见：数据路径 → 意见"}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "required": [k for k in properties if k not in optional], "properties": properties}


USER_SCHEMA = {"oneOf": [{"type": "null"}, _object({"id": _INT, "username": _STR, "display_name": _STR})]}

TASK_SCHEMA = _object({
    "id": _INT,
    "name": _STR,
    "bpmn_id": _STR,
    "kind": {"enum": list(KIND_LABELS)},
    "kind_label": _STR,
    "role": _STR,
    "state": _STR,
    "unit": _object({"code": _STR, "name": _STR}),
    "collection": _object({"id": _INT, "title": _STR}),
    "submission_id": _INT,
    "submission_status": _STR,
    "submission_status_label": _STR,
    "revision": _INT,
    "due_at": _TIME,
    "overdue": {"type": "boolean", "description": "期限计时器已触发，或截止时间已过"},
    "created_at": _TIME,
})

TASK_ROW_SCHEMA = {
    **TASK_SCHEMA,
    "required": [*TASK_SCHEMA["required"], "returned_by", "skipped"],
    "properties": {**TASK_SCHEMA["properties"], "returned_by": {
        "type": ["string", "null"],
        "description": "退回到本步的角色（如县级审核员把报表退回乡镇复核）；本步退回后村里重新提交时为本步的角色"},
        "skipped": {"type": ["string", "null"],
                    "description": "超过期限未办理、被流程跳过而使报表转到本步的上一步（任务名称，如“乡镇审核”）"}},
}
TASK_LIST_SCHEMA = _object({
    "items": {"type": "array", "items": TASK_ROW_SCHEMA},
    "total": _INT, "page": _INT, "per_page": _INT, "pages": _INT,
})

CHANGE_SCHEMA = _object({"data_path": _STR, "label": _STR, "old": {}, "new": {},
                         "kind": {"enum": ["added", "removed", "changed"]}})

TASK_DETAIL_SCHEMA = {
    **TASK_SCHEMA,
    "required": [*TASK_SCHEMA["required"], "can_act", "submission", "warnings", "diff", "returns"],
    "properties": {
        **TASK_SCHEMA["properties"],
        "can_act": {"type": "boolean", "description": "调用者现在可以处理此任务"},
        "fill_url": {"type": "string", "description": "填报任务：填报页面地址"},
        "submission": _object({"id": _INT, "status": _STR, "status_label": _STR, "revision": _INT,
                               "org_code": _STR, "data": {"type": "object"}, "explanations": {"type": "object"}}),
        "warnings": {"type": "array", "items": _object({"rule_id": _STR, "message": _STR, "explanation": _STR}),
                     "description": "调用者不能查看个人信息时，涉及个人信息字段的提示合为一条（rule_id 为 personal），说明隐藏"},
        "diff": _object({
            "first_review": {"type": "boolean", "description": "本岗位首次审核此表（无对比）"},
            "base_revision": {"type": ["integer", "null"]},
            "current_revision": _INT,
            "changes": {"type": "array", "items": CHANGE_SCHEMA},
        }),
        "returns": {"type": "array", "items": _object({"task_id": _INT, "name": _STR, "comment": _NULL_STR,
                                                       "field_comments": _COMMENTS, "at": _TIME})},
    },
}

# what a review sends: each comment at most MAX_COMMENT_CHARS (told by the engine, naming the comment)
_COMMENT_IN = {"type": "string", "maxLength": MAX_COMMENT_CHARS}
REVIEW_BODY = _object({"decision": {"enum": list(DECISIONS)}, "comment": _COMMENT_IN,
                       "field_comments": {**_COMMENTS, "additionalProperties": _COMMENT_IN,
                                          "description": "逐项意见：数据路径（须是本表的指标）→ 意见"}},
                      optional=("comment", "field_comments"))
ENTRY_BODY = _object({"data": {"type": "object"}, "revision": _INT,
                      "explanations": {"type": "object", "additionalProperties": {"type": "string"}}},
                     optional=("explanations",))
COMPLETE_REQUEST = {"oneOf": [REVIEW_BODY, ENTRY_BODY],
                    "description": "审核任务：decision/comment/field_comments；填报任务：data/revision/explanations"}

COMPLETE_RESPONSE = _object({
    "task_id": _INT,
    "submission": _object({"id": _INT, "status": _STR, "status_label": _STR, "revision": _INT,
                           "approved_level": {"type": ["integer", "null"]}}),
    "next_tasks": {"type": "array", "items": _object({"bpmn_id": _STR, "name": _STR, "role": _STR,
                                                      "kind": _STR})},
})

BULK_REQUEST = _object({"task_ids": {"type": "array", "items": {**_INT, "minimum": 1, "maximum": MAX_ID},
                                      "minItems": 1, "maxItems": MAX_BULK},
                        "comment": _COMMENT_IN}, optional=("comment",))
BULK_RESPONSE = _object({
    "results": {"type": "array", "items": _object({"task_id": _INT, "ok": {"type": "boolean"}, "message": _STR})},
    "approved": _INT,
    "failed": _INT,
})

HISTORY_RESPONSE = _object({
    "submission": _object({"id": _INT, "status": _STR, "status_label": _STR, "revision": _INT, "org_code": _STR}),
    "steps": {"type": "array", "items": _object({
        "task_id": _INT, "task": _STR, "name": _STR, "kind": _STR, "state": _STR, "state_label": _STR,
        "who": USER_SCHEMA, "created_at": _TIME, "completed_at": _TIME,
        "decision": {"enum": [*DECISIONS, None]}, "decision_label": _NULL_STR, "comment": _NULL_STR,
        "field_comments": _COMMENTS, "revision": {"type": ["integer", "null"]},
    })},
    "revisions": {"type": "array", "items": _object({
        "revision": _INT, "kind": _STR, "kind_label": _STR, "at": _TIME, "who": USER_SCHEMA,
    })},
})

INBOX_QUERY = [
    query_param("collection_id", _INT, description="采集任务编号"),
    query_param("kind", {"enum": list(KIND_LABELS)}, description="任务类型：entry 填报 / review 审核"),
    query_param("overdue", {"type": "boolean"}, description="只看逾期（true）或未逾期（false）"),
    query_param("org", {"type": "string", "pattern": "^[0-9]{12}$"}, description="只看该单位及其下级"),
    query_param("sort", {"enum": list(SORT_LABELS)}, description="due 截止时间 / created 到达时间 / unit 单位"),
    query_param("page", {"type": "integer", "minimum": 1}),
    query_param("per_page", {"type": "integer", "minimum": 1, "maximum": 200}),
]

# --- serialisation --------------------------------------------------------------------------------


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _user(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "username": user.username, "display_name": user.display_name}


def _task_json(t: WorkflowTask, unit_name: str, collection_title: str, status: str, revision: int,
               overdue: bool) -> dict[str, Any]:
    return {
        "id": t.id, "name": t.name, "bpmn_id": t.bpmn_id, "kind": t.kind, "kind_label": KIND_LABELS.get(t.kind, t.kind),
        "role": t.role, "state": t.state,
        "unit": {"code": t.subject_org_code, "name": unit_name},
        "collection": {"id": t.collection_id, "title": collection_title},
        "submission_id": t.submission_id, "submission_status": status,
        "submission_status_label": STATUS_LABELS.get(status, status), "revision": revision,
        "due_at": _time(t.due_at), "overdue": overdue, "created_at": _time(t.created_at),
    }


def _row_json(row: InboxRow) -> dict[str, Any]:
    out = _task_json(row.task, row.unit_name, row.collection_title, row.status, row.revision, row.overdue)
    return out | {"submission_status_label": row.status_label, "returned_by": row.returned_by,
                  "skipped": row.skipped}


def _detail_json(ctx: TaskContext) -> dict[str, Any]:
    sub, t = ctx.submission, ctx.task
    body = _task_json(t, ctx.unit_name, ctx.collection.title, sub.status, sub.revision, is_late(t))
    body.update(
        can_act=ctx.can_act,
        submission={"id": sub.id, "status": sub.status, "status_label": STATUS_LABELS.get(sub.status, sub.status),
                    "revision": sub.revision, "org_code": sub.org_code, "data": ctx.report.data,
                    "explanations": ctx.text.explanations(sub.explanations)},
        warnings=[{"rule_id": w.rule_id, "message": w.message, "explanation": w.explanation}
                  for w in ctx.report.warnings],
        diff={"first_review": ctx.diff.first_review, "base_revision": ctx.diff.base_revision,
              "current_revision": ctx.diff.current_revision,
              "changes": [{"data_path": c.data_path, "label": c.label, "old": c.old, "new": c.new, "kind": c.kind}
                          for c in ctx.diff.changes]},
        returns=[{"task_id": r.id, "name": r.name, "comment": ctx.text.text(r.comment),
                  "field_comments": ctx.text.field_comments(r.field_comments),
                  "at": _time(r.completed_at)} for r in ctx.returns],
    )
    if t.kind == "entry":
        body["fill_url"] = f"/submissions/{sub.id}/page/1"
    return body


def _step_json(task_id: int, sub: Submission) -> dict[str, Any]:
    """After the commit: the submission as it now is and the tasks now waiting on it."""
    ready = db().scalars(select(WorkflowTask).where(WorkflowTask.submission_id == sub.id,
                                                     WorkflowTask.state == "ready").order_by(WorkflowTask.id))
    return {
        "task_id": task_id,
        "submission": {"id": sub.id, "status": sub.status, "status_label": STATUS_LABELS.get(sub.status, sub.status),
                       "revision": sub.revision, "approved_level": sub.approved_level},
        "next_tasks": [{"bpmn_id": t.bpmn_id, "name": t.name, "role": t.role, "kind": t.kind} for t in ready],
    }


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("请求体必须是 JSON 对象（Content-Type: application/json）")
    return body


# --- routes ---------------------------------------------------------------------------------------


@api.route("/tasks", summary="我的待办任务（可筛选、排序、分页）", tags=["tasks"], query=INBOX_QUERY,
           response=TASK_LIST_SCHEMA, errors=(400,))
@login_required
def list_tasks():
    req = parse_inbox_args(request.args)
    page = inbox_page(db(), current_principal(), req)
    return jsonify({"items": [_row_json(r) for r in page.rows], "total": page.total, "page": page.page,
                    "per_page": page.per_page, "pages": page.pages})


@api.route("/tasks/<int:task_id>", summary="一个任务：报表、规则提示及说明、自上次审核以来的修改",
           tags=["tasks"], response=TASK_DETAIL_SCHEMA, errors=(404,))
@login_required
def get_task(task_id: int):
    principal = current_principal()
    return jsonify(_detail_json(task_context(db(), principal, tasks.get_task(db(), principal, task_id))))


def _complete_review(principal: Principal, task: WorkflowTask, body: dict[str, Any]) -> dict[str, Any]:
    step = tasks.complete_review(db(), principal, task.id, body)
    db().commit()
    return _step_json(task.id, step.submission)


def _complete_entry(principal: Principal, task: WorkflowTask, body: dict[str, Any]) -> dict[str, Any]:
    data, revision = body.get("data"), body.get("revision")
    explanations = body.get("explanations") or {}
    if not isinstance(data, dict):
        raise BadInput("data 必须是报表数据对象", data_path="data")
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise BadInput("revision 必须是您编辑所基于的版本号（整数）", data_path="revision")
    if not isinstance(explanations, dict):
        raise BadInput("explanations 必须是「规则编号 → 说明」的对象", data_path="explanations")
    # committed by the queue (group commit: engine.submit_queue), the draft too when invalid
    outcome = submit_queue().submit(principal, submissions.SubmitItem(task.submission_id, data, revision,
                                                                      explanations))
    sub = outcome.submission
    if not outcome.submitted:  # the draft is kept: nothing the clerk sent is lost
        problems = outcome.validation.errors + outcome.validation.unexplained
        raise ValidationFailed(f"报表有 {len(problems)} 处需要修改，已保存为草稿，未提交", problems=problems,
                               details={"submission_id": sub.id, "revision": sub.revision})
    return _step_json(task.id, sub)


COMPLETERS: dict[str, Callable[[Principal, WorkflowTask, dict[str, Any]], dict[str, Any]]] = {
    "review": _complete_review,
    "entry": _complete_entry,
}


# what a refusal lists: every problem at once, each with its place (details.problems[].data_path)
COMPLETE_ERRORS = {
    400: "审核未提交：details.problems 逐一列出每处问题（审核结论、审核意见、各逐项意见），各带 data_path；"
         "只有一处时 details.data_path 也是它的位置。请求体格式不正确时同样列出",
    422: "填报未通过校验：details.problems 逐一列出每处错误，各带 data_path；数据已保存为草稿（details.revision）",
}


@api.route("/tasks/<int:task_id>/complete", "POST", summary="完成任务：审核（通过/退回）或提交填报",
           tags=["tasks"], request=COMPLETE_REQUEST, response=COMPLETE_RESPONSE, errors=(400, 404, 409, 422),
           error_descriptions=COMPLETE_ERRORS)
@login_required
def complete_task(task_id: int):
    principal = current_principal()
    body = _body()
    task = tasks.get_task(db(), principal, task_id)
    if task.state != "ready":
        raise Conflict("该任务已处理完毕，请刷新查看最新状态", details={"task_id": task.id, "state": task.state})
    if not principal.has_role(task.role, task.assignee_org_code):
        raise PermissionDenied("您可以查看此任务，但无权处理")
    return jsonify(COMPLETERS[task.kind](principal, task, body))


@api.route("/tasks/bulk-approve", "POST", summary="批量通过审核任务（逐项检查并留痕）", tags=["tasks"],
           request=BULK_REQUEST, response=BULK_RESPONSE, errors=(400,))
@login_required
def bulk_approve():
    body = _body()
    ids, comment = body.get("task_ids"), body.get("comment") or ""
    if (not isinstance(ids, list) or not ids or len(ids) > MAX_BULK
            or not all(isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID for i in ids)):
        raise BadInput(f"task_ids 必须是 1–{MAX_BULK} 个任务编号（整数）的列表", data_path="task_ids")
    if not isinstance(comment, str):
        raise BadInput("审核意见必须是文本", data_path="comment")
    results = tasks.bulk_approve(db(), current_principal(), list(dict.fromkeys(ids)), comment.strip())
    db().commit()
    ok = sum(r.ok for r in results)
    return jsonify({"results": [{"task_id": r.task_id, "ok": r.ok, "message": r.message} for r in results],
                    "approved": ok, "failed": len(results) - ok})


@api.route("/submissions/<int:submission_id>/history", summary="一份报表的审批经过与修订版本",
           tags=["tasks"], response=HISTORY_RESPONSE, errors=(404,))
@login_required
def submission_history(submission_id: int):
    principal = current_principal()
    sub = submissions.get_submission(db(), principal, submission_id, record=True)
    text = report_text(db(), principal, sub, submissions.model_for(db(), sub))
    steps = [{
        "task_id": s.task.id, "task": s.task.bpmn_id, "name": s.task.name, "kind": s.task.kind,
        "state": s.task.state, "state_label": s.state_label, "who": _user(s.actor),
        "created_at": _time(s.task.created_at), "completed_at": _time(s.task.completed_at),
        "decision": s.task.decision, "decision_label": DECISIONS.get(s.task.decision or ""),
        "comment": text.text(s.task.comment), "revision": s.task.revision,
        "field_comments": text.field_comments(s.task.field_comments),
    } for s in history_steps(db(), sub.id)]
    revisions = [{
        "revision": e.row.revision, "kind": e.row.kind, "kind_label": REVISION_KIND_LABELS.get(e.row.kind, e.row.kind),
        "at": _time(e.row.created_at), "who": _user(e.author),
    } for e in revision_entries(db(), submissions.revisions(db(), principal, sub.id))]
    return jsonify({"submission": {"id": sub.id, "status": sub.status,
                                   "status_label": STATUS_LABELS.get(sub.status, sub.status),
                                   "revision": sub.revision, "org_code": sub.org_code},
                    "steps": steps, "revisions": revisions})
