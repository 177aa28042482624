"""Submissions over the API: read, save a draft, validate, submit, submit many at once, list revisions.

A submission outside the caller's scope is 404 (``engine.submissions.get_submission``). A save over a
newer revision is 409 with ``details.current_revision``; an invalid submit is 422 listing every
problem, and its data stays saved as a draft (committed before the error is raised). A report beyond
what a form holds (``engine.report_limits``) is 400 and stored nowhere.

The batch submit (``engine.submissions.submit_many``) answers 200 with one result per report: a refused
or invalid report is reported, not stored (the caller keeps its source data and sends it again).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask import jsonify, request
from jsonschema import Draft202012Validator, ValidationError

from api.registry import api
from engine.db.models import MAX_ID, Submission
from engine.definitions import IndicatorSet
from engine.errors import BadInput, Problem, ValidationFailed
from engine.masking import readable, readable_problems, report_text
from engine.submissions import (
    STATUS_LABELS,
    SubmitItem,
    get_submission,
    model_for,
    revisions,
    save_draft,
    submit_many,
    validate,
)
from web.auth import current_principal, login_required
from web.db import db, submit_queue

TAGS = ["submissions"]

SUBMISSION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "collection_id", "org_code", "status", "revision", "data", "indicator_set"],
    "properties": {
        "id": {"type": "integer"},
        "collection_id": {"type": "integer"},
        "org_code": {"type": "string", "pattern": "^[0-9]{12}$"},
        "status": {"type": "string", "enum": list(STATUS_LABELS)},
        "status_label": {"type": "string"},
        "revision": {"type": "integer", "minimum": 0},
        "data": {"type": "object"},
        "explanations": {"type": "object", "additionalProperties": {"type": "string"}},
        "masked": {"type": "boolean",
                   "description": "涉及个人信息的值已替换为 ***（说明中的个人信息同样替换，涉及个人信息字段的说明整条隐藏）"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "indicator_set": {
            "type": "object",
            "required": ["code", "version"],
            "properties": {"code": {"type": "string"}, "version": {"type": "integer"}},
        },
    },
}
SUBMIT_RESULT_SCHEMA: dict[str, Any] = {
    **SUBMISSION_SCHEMA,
    "required": [*SUBMISSION_SCHEMA["required"], "submitted"],
    "properties": {**SUBMISSION_SCHEMA["properties"], "submitted": {"const": True}},
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["data_path", "message", "code", "rule_id", "severity"],
    "properties": {
        "data_path": {"type": ["string", "null"], "description": "如 population.pop_total、elders.2.id_number"},
        "message": {"type": "string", "description": "中文说明"},
        "code": {"type": "string",
                 "description": "失败的 JSON Schema 关键字或 rule；personal：个人信息字段有问题，调用者的角色不能查看详情"},
        "rule_id": {"type": ["string", "null"]},
        "severity": {"type": "string", "enum": ["hard", "soft"]},
    },
}
VALIDATION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["ok", "errors", "warnings"],
    "properties": {
        "ok": {"type": "boolean", "description": "没有错误，且每条核实性提示都已说明"},
        "errors": {"type": "array", "items": PROBLEM_SCHEMA},
        "warnings": {
            "type": "array",
            "items": {**PROBLEM_SCHEMA, "properties": {**PROBLEM_SCHEMA["properties"], "explained": {"type": "boolean"}}},
        },
    },
}
REVISIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "properties": {
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["revision", "kind", "created_at", "created_by"],
                "properties": {
                    "revision": {"type": "integer"},
                    "kind": {"type": "string", "enum": ["prefill", "draft", "submit"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "created_by": {"type": ["integer", "null"], "description": "用户 id"},
                },
            },
        }
    },
}
EXPLANATIONS = {"type": "object", "additionalProperties": {"type": "string"},
                "description": "核实性审核规则 id -> 说明"}
SAVE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["data", "revision"],
    "additionalProperties": False,
    "properties": {
        "data": {"type": "object", "description": "整张表的数据"},
        "revision": {"type": "integer", "minimum": 0, "description": "所编辑的版本号（读取时的 revision）"},
        "explanations": EXPLANATIONS,
    },
}
VALIDATE_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "可为 {}：校验已保存的数据",
    "properties": {"data": {"type": "object"}, "explanations": EXPLANATIONS},
}

# At most this many reports per batch submit. The whole batch is one transaction and its workflow
# steps one lock batch (every instance and submission row locked until the commit), so a bigger batch
# holds more locks for longer and makes concurrent reviewers and other batches wait; 500 is also the
# batch the benchmark measures (bench/figures/submission.py) and stays far below MAX_CONTENT_LENGTH.
MAX_BATCH_ITEMS = 500

SUBMIT_BATCH_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["items"],
    "additionalProperties": False,
    "properties": {
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_BATCH_ITEMS,
            "description": f"要提交的填报，1 至 {MAX_BATCH_ITEMS} 份；submission_id 在同一批中不得重复",
            "items": {
                "type": "object",
                "required": ["submission_id", "revision", "data"],
                "additionalProperties": False,
                "properties": {
                    "submission_id": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                    "revision": {"type": "integer", "minimum": 0,
                                 "description": "所编辑的版本号（读取时的 revision）"},
                    "data": {"type": "object", "description": "整张表的数据"},
                    "explanations": EXPLANATIONS,
                },
            },
        }
    },
}
# each body's check compiled once, not per request
SAVE_CHECK, VALIDATE_CHECK, SUBMIT_BATCH_CHECK = (Draft202012Validator(schema) for schema in
                                                  (SAVE_BODY, VALIDATE_BODY, SUBMIT_BATCH_BODY))
SUBMIT_BATCH_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["submitted", "refused", "items"],
    "properties": {
        "submitted": {"type": "integer", "minimum": 0, "description": "已提交的份数"},
        "refused": {"type": "integer", "minimum": 0, "description": "被拒绝或未通过校验的份数（均未保存）"},
        "items": {
            "type": "array",
            "description": "每份一条，顺序与请求相同",
            "items": {
                "type": "object",
                "required": ["submission_id", "submitted", "message", "problems"],
                "properties": {
                    "submission_id": {"type": "integer"},
                    "submitted": {"type": "boolean"},
                    "message": {"type": "string", "description": "未提交的中文原因；已提交时为空"},
                    "problems": {"type": "array", "items": PROBLEM_SCHEMA,
                                 "description": "未通过校验时的每处错误（及未说明的核实性提示）；否则为空"},
                },
            },
        },
    },
}

# jsonschema keyword -> Chinese reason, for a malformed request body.
BODY_REASONS = {
    "required": "缺少必填字段",
    "type": "类型不正确",
    "additionalProperties": "包含不支持的字段",
    "minimum": "数值不能小于 0",
    "maximum": "数值太大",
    "minItems": "至少需要 1 项",
    "maxItems": f"最多 {MAX_BATCH_ITEMS} 项",
}


def _reason(err: ValidationError) -> str:
    reason = BODY_REASONS.get(str(err.validator), "格式不正确")
    if err.validator == "required" and isinstance(err.instance, dict):  # name the missing fields
        missing = [name for name in err.validator_value if name not in err.instance]
        reason += f"（{'、'.join(missing)}）" if missing else ""
    return reason


def _body(check: Draft202012Validator, *, optional: bool = False) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and optional and not request.get_data():
        body = {}
    if not isinstance(body, dict):
        raise BadInput("请求体必须是 JSON 对象")
    problems = [
        Problem(f"{'/'.join(str(p) for p in err.absolute_path) or '请求体'}：{_reason(err)}",
                data_path=".".join(str(p) for p in err.absolute_path) or None, code=str(err.validator))
        for err in check.iter_errors(body)
    ]
    problems = list(dict.fromkeys(problems))  # "required" reports each missing field with the same message
    if problems:
        raise BadInput("请求体格式不正确", problems=problems)
    return body


def _submission_json(sub: Submission, ind: IndicatorSet | None = None) -> dict[str, Any]:
    """``ind``: the submission's indicator-set model when the caller has it (a submit's outcome)."""
    principal = current_principal()
    ind = ind or model_for(db(), sub)
    return {
        "id": sub.id,
        "collection_id": sub.collection_id,
        "org_code": sub.org_code,
        "status": sub.status,
        "status_label": STATUS_LABELS.get(sub.status, sub.status),
        "revision": sub.revision,
        "data": readable(principal, ind, sub.org_code, sub.data),
        "explanations": report_text(db(), principal, sub, ind).explanations(sub.explanations),
        "masked": not principal.sees_sensitive(sub.org_code),
        "updated_at": sub.updated_at.isoformat() if sub.updated_at else None,
        "indicator_set": {"code": ind.code, "version": ind.version},
    }


def _problem_json(problem: Problem) -> dict[str, Any]:
    body = problem.to_json()
    return {key: body[key] for key in PROBLEM_SCHEMA["required"]}


@api.route("/submissions/<int:submission_id>", summary="一份填报的数据与状态", tags=TAGS,
           response=SUBMISSION_SCHEMA, errors=(404,))
@login_required
def get_one(submission_id: int):
    return jsonify(_submission_json(get_submission(db(), current_principal(), submission_id)))


@api.route("/submissions/<int:submission_id>", "PUT", summary="保存草稿（不校验；revision 过期时 409；与已保存的相同时不新增版本）", tags=TAGS,
           request=SAVE_BODY, response=SUBMISSION_SCHEMA, errors=(400, 404, 409), view_checks_body=True)
@login_required
def save(submission_id: int):
    body = _body(SAVE_CHECK)
    sub = save_draft(db(), current_principal(), submission_id, body["data"], revision=body["revision"],
                     explanations=body.get("explanations"))
    saved = _submission_json(sub)  # before the commit: afterwards it would open a transaction again
    db().commit()
    return jsonify(saved)


@api.route("/submissions/<int:submission_id>/validate", "POST", summary="校验已保存的数据或请求体中的数据（不保存）",
           tags=TAGS, request=VALIDATE_BODY, response=VALIDATION_SCHEMA, errors=(400, 404), view_checks_body=True)
@login_required
def validate_one(submission_id: int):
    body = _body(VALIDATE_CHECK, optional=True)
    principal = current_principal()
    sub = get_submission(db(), principal, submission_id)
    result = validate(db(), sub, body.get("data"), body.get("explanations"))
    unexplained = {id(p) for p in result.unexplained}
    # for a reader who may not see personal data, a problem on a personal field says only that it has one
    shown = readable_problems(principal, model_for(db(), sub), sub.org_code, [*result.errors, *result.warnings])
    errors, warnings = shown[:len(result.errors)], shown[len(result.errors):]
    return jsonify({
        "ok": result.ok,
        "errors": [_problem_json(p) for p in errors],
        "warnings": [{**_problem_json(p), "explained": id(found) not in unexplained}
                     for p, found in zip(warnings, result.warnings, strict=True)],
    })


@api.route("/submissions/<int:submission_id>/submit", "POST", summary="提交：先保存，校验通过则交下一环节（否则 422）",
           tags=TAGS, request=SAVE_BODY, response=SUBMIT_RESULT_SCHEMA, errors=(400, 404, 409, 422), view_checks_body=True)
@login_required
def submit_one(submission_id: int):
    body = _body(SAVE_CHECK)
    # committed by the queue, written together with the submits that arrive meanwhile (group commit)
    outcome = submit_queue().submit(current_principal(), SubmitItem(submission_id, body["data"], body["revision"],
                                                                    body.get("explanations")))
    if not outcome.submitted:  # stored as a draft: nothing sent is lost
        problems = outcome.validation.errors + outcome.validation.unexplained
        raise ValidationFailed(f"提交未通过校验（{len(problems)} 处），数据已保存为草稿", problems=problems,
                               details={"revision": outcome.submission.revision})
    return jsonify({**_submission_json(outcome.submission, outcome.indicator_set), "submitted": True})


def _batch_items() -> list[SubmitItem]:
    """The batch's reports from the request body; every shape problem is one 400 before anything runs."""
    raw = request.get_json(silent=True)
    items = raw.get("items") if isinstance(raw, dict) else None
    # the count first: a body of thousands of reports gets one clear error, not thousands of item problems
    if isinstance(items, list) and not items:
        raise BadInput("items 不能为空：至少需要提交 1 份填报", details={"count": 0, "max_items": MAX_BATCH_ITEMS})
    if isinstance(items, list) and len(items) > MAX_BATCH_ITEMS:
        raise BadInput(f"一次最多提交 {MAX_BATCH_ITEMS} 份填报，本次为 {len(items)} 份，请分批提交",
                       details={"count": len(items), "max_items": MAX_BATCH_ITEMS})
    body = _body(SUBMIT_BATCH_CHECK)
    counts = Counter(int(item["submission_id"]) for item in body["items"])
    duplicates = sorted(sid for sid, n in counts.items() if n > 1)
    if duplicates:
        raise BadInput(f"同一批中 submission_id 不能重复：{'、'.join(map(str, duplicates))}",
                       details={"duplicate_submission_ids": duplicates})
    return [SubmitItem(int(item["submission_id"]), item["data"], int(item["revision"]), item.get("explanations"))
            for item in body["items"]]


@api.route("/submissions/submit-batch", "POST",
           summary=f"批量提交（每批 1–{MAX_BATCH_ITEMS} 份，逐份校验与答复；被拒绝或未通过校验的不保存）",
           tags=TAGS, request=SUBMIT_BATCH_BODY, response=SUBMIT_BATCH_RESULT_SCHEMA, errors=(400,), view_checks_body=True)
@login_required
def submit_batch():
    """Submit many reports in one transaction (keying in many villages' paper forms, an import job).

    Each report is checked like a single submit (scope, the caller's ready entry task, open collection,
    revision, schema and rules); the valid ones are stored and handed on as one locked batch. A refused
    or invalid report is answered in its item (200 for the batch) and NOT stored, unlike the single
    submit, which keeps an invalid report as a draft: the caller keeps its source data and sends it again.
    A report outside the caller's scope reads exactly like one that does not exist.
    """
    items = _batch_items()
    results = submit_many(db(), current_principal(), items)
    answer = [
        {
            "submission_id": r.submission_id,
            "submitted": bool(r.submitted),
            "message": "" if r.submitted else (r.message or "未提交"),
            "problems": [] if r.submitted else [_problem_json(p) for p in r.problems or []],
        }
        for r in results
    ]
    db().commit()
    submitted = sum(1 for a in answer if a["submitted"])
    return jsonify({"submitted": submitted, "refused": len(answer) - submitted, "items": answer})


@api.route("/submissions/<int:submission_id>/revisions", summary="一份填报的全部保存版本", tags=TAGS,
           response=REVISIONS_SCHEMA, errors=(404,))
@login_required
def list_revisions(submission_id: int):
    rows = revisions(db(), current_principal(), submission_id)
    return jsonify({"items": [
        {"revision": r.revision, "kind": r.kind, "created_at": r.created_at.isoformat(), "created_by": r.created_by}
        for r in rows
    ]})
