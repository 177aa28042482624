"""Submissions over the API: read, save a draft, validate, submit, list revisions.

A submission outside the caller's scope is 404 (``engine.submissions.get_submission``). A save over a
newer revision is 409 with ``details.current_revision``; an invalid submit is 422 listing every
problem, and its data stays saved as a draft (committed before the error is raised).
"""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from jsonschema import Draft202012Validator

from api.registry import api
from engine.db.models import Submission
from engine.errors import BadInput, Problem, ValidationFailed
from engine.masking import readable
from engine.submissions import (
    STATUS_LABELS,
    get_submission,
    model_for,
    revisions,
    save_draft,
    submit,
    validate,
)
from web.auth import current_principal, login_required
from web.db import db

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
        "masked": {"type": "boolean", "description": "涉及个人信息的值已替换为 ***"},
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
        "code": {"type": "string", "description": "失败的 JSON Schema 关键字或 rule"},
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

# jsonschema keyword -> Chinese reason, for a malformed request body.
BODY_REASONS = {
    "required": "缺少必填字段",
    "type": "类型不正确",
    "additionalProperties": "包含不支持的字段",
    "minimum": "数值不能小于 0",
}


def _body(schema: dict[str, Any], *, optional: bool = False) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and optional and not request.get_data():
        body = {}
    if not isinstance(body, dict):
        raise BadInput("请求体必须是 JSON 对象")
    problems = [
        Problem(f"{'/'.join(str(p) for p in err.absolute_path) or '请求体'}：{BODY_REASONS.get(err.validator, '格式不正确')}",
                data_path=".".join(str(p) for p in err.absolute_path) or None, code=str(err.validator))
        for err in Draft202012Validator(schema).iter_errors(body)
    ]
    if problems:
        raise BadInput("请求体格式不正确", problems=problems)
    return body


def _submission_json(sub: Submission) -> dict[str, Any]:
    principal = current_principal()
    ind = model_for(db(), sub)
    return {
        "id": sub.id,
        "collection_id": sub.collection_id,
        "org_code": sub.org_code,
        "status": sub.status,
        "status_label": STATUS_LABELS.get(sub.status, sub.status),
        "revision": sub.revision,
        "data": readable(principal, ind, sub.org_code, sub.data),
        "explanations": dict(sub.explanations or {}),
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


@api.route("/submissions/<int:submission_id>", "PUT", summary="保存草稿（不校验；revision 过期时 409）", tags=TAGS,
           request=SAVE_BODY, response=SUBMISSION_SCHEMA, errors=(400, 404, 409))
@login_required
def save(submission_id: int):
    body = _body(SAVE_BODY)
    sub = save_draft(db(), current_principal(), submission_id, body["data"], revision=body["revision"],
                     explanations=body.get("explanations"))
    saved = _submission_json(sub)  # before the commit: afterwards it would open a transaction again
    db().commit()
    return jsonify(saved)


@api.route("/submissions/<int:submission_id>/validate", "POST", summary="校验已保存的数据或请求体中的数据（不保存）",
           tags=TAGS, request=VALIDATE_BODY, response=VALIDATION_SCHEMA, errors=(400, 404))
@login_required
def validate_one(submission_id: int):
    body = _body(VALIDATE_BODY, optional=True)
    sub = get_submission(db(), current_principal(), submission_id)
    result = validate(db(), sub, body.get("data"), body.get("explanations"))
    unexplained = {id(p) for p in result.unexplained}
    return jsonify({
        "ok": result.ok,
        "errors": [_problem_json(p) for p in result.errors],
        "warnings": [{**_problem_json(p), "explained": id(p) not in unexplained} for p in result.warnings],
    })


@api.route("/submissions/<int:submission_id>/submit", "POST", summary="提交：先保存，校验通过则交下一环节（否则 422）",
           tags=TAGS, request=SAVE_BODY, response=SUBMIT_RESULT_SCHEMA, errors=(400, 404, 409, 422))
@login_required
def submit_one(submission_id: int):
    body = _body(SAVE_BODY)
    outcome = submit(db(), current_principal(), submission_id, body["data"], revision=body["revision"],
                     explanations=body.get("explanations"))
    # the answer is built before the commit: afterwards it would open a transaction again
    answer = {**_submission_json(outcome.submission), "submitted": True} if outcome.submitted else None
    db().commit()  # an invalid report stays saved as a draft
    if answer is None:
        problems = outcome.validation.errors + outcome.validation.unexplained
        raise ValidationFailed(f"提交未通过校验（{len(problems)} 处），数据已保存为草稿", problems=problems,
                               details={"revision": outcome.submission.revision})
    return jsonify(answer)


@api.route("/submissions/<int:submission_id>/revisions", summary="一份填报的全部保存版本", tags=TAGS,
           response=REVISIONS_SCHEMA, errors=(404,))
@login_required
def list_revisions(submission_id: int):
    rows = revisions(db(), current_principal(), submission_id)
    return jsonify({"items": [
        {"revision": r.revision, "kind": r.kind, "created_at": r.created_at.isoformat(), "created_by": r.created_by}
        for r in rows
    ]})
