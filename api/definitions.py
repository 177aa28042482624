"""Definition workbench over the API (provincial administrators): drafts of indicator sets and
approval flows — create, update (whole document or structured operations), check, compare, publish,
retire, discard, export — the same services as the pages in ``admin_ui/workbench_pages.py``.

Problems carry where they are: ``pointer`` (JSON pointer into an indicator set) or ``element_id``
(a BPMN element). A draft with problems is saved (200) and reported; publishing it is 422. A draft of
an indicator set lists its open ``proposals`` — fields of the previous version it moved, removed or
retitled without saying how they correspond — each settled by ``POST …/proposals`` (accept or dismiss);
publishing while one is open is 422 with them in ``details.proposals``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from api.registry import DEFINING, api, query_param
from engine import drafts
from engine.bpmn_svg import render_svg
from engine.definition_diff import diff_indicator_sets, diff_processes
from engine.draft_edits import OPERATIONS
from engine.errors import BadInput, Problem
from web.auth import current_principal, login_required
from web.db import db

TAGS = ["definitions"]


def _route(path: str, method: str = "GET", **declared: Any) -> Any:
    """``api.route`` for the workbench: every operation needs the provincial administrator, checked
    before anything else (its body's shape included)."""
    return api.route(path, method, needs=DEFINING, **declared)

PROBLEM = {
    "type": "object",
    "required": ["code", "message", "pointer", "element_id"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string", "description": "中文说明"},
        "file": {"type": ["string", "null"]},
        "pointer": {"type": ["string", "null"], "description": "指标集定义中的 JSON Pointer"},
        "element_id": {"type": ["string", "null"], "description": "BPMN 元素 id"},
        "severity": {"type": "string"},
    },
}
VERSION_FIELDS = {
    "id": {"type": "integer"},
    "code": {"type": "string"},
    "version": {"type": "integer"},
    "title": {"type": "string"},
    "status": {"type": "string", "enum": ["draft", "published", "retired"]},
    "content_hash": {"type": "string"},
    "change_note": {"type": ["string", "null"]},
    "created_at": {"type": ["string", "null"], "format": "date-time"},
    "published_at": {"type": ["string", "null"], "format": "date-time"},
    "collections": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "period": {"type": "string"}}}},
    "submissions": {"type": "integer", "description": "指标集：填报数；流程：流程实例数"},
}
SUMMARY = {"type": "object", "required": ["id", "code", "version", "status"], "properties": VERSION_FIELDS}
LIST = {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": SUMMARY}}}
CHECKED_PROPERTIES = {"ok": {"type": "boolean"}, "problems": {"type": "array", "items": PROBLEM}}
MAPPING = {"type": "object", "required": ["kind"], "description": "x-mappings.fields 的一项",
           "properties": {"kind": {"enum": ["rename", "split", "merge", "unit", "not_comparable", "removed",
                                            "added", "same"]},
                          "from": {"type": ["string", "array"]}, "to": {"type": ["string", "array"]},
                          "factor": {"type": "number"}, "note": {"type": "string"}}}
PROPOSAL = {
    "type": "object",
    "required": ["id", "change", "mapping", "reason", "advice", "dismiss", "blocking", "pointer"],
    "description": "上一版本的一个字段在本版本中的去向未声明：采用（accept）写入 mapping，"
                   "确认不对应（dismiss）写入 dismiss；未处理完不能发布",
    "properties": {
        "id": {"type": "string", "description": "上一版本的字段键"},
        "change": {"enum": ["moved", "removed", "retitled", "retyped", "unit"]},
        "mapping": MAPPING,
        "reason": {"type": "string", "description": "中文：比较发现了什么"},
        "advice": {"type": "string", "description": "中文：怎样处理"},
        "accept_label": {"type": "string"},
        "dismiss": {"type": "array", "items": MAPPING, "description": "为空：只能采用或另行声明映射"},
        "dismiss_label": {"type": "string"},
        "blocking": {"type": "boolean", "description": "未处理时不能发布（现在总是 true）"},
        "pointer": {"type": "string", "description": "在本版本定义中处理它的位置（JSON Pointer）"},
    },
}
INDICATOR = {"type": "object", "required": ["id", "code", "version", "status", "content", "problems", "proposals"],
             "properties": {**VERSION_FIELDS, **CHECKED_PROPERTIES,
                            "content": {"type": "object", "description": "JSON Schema 2020-12 及 x- 扩展"},
                            "proposals": {"type": "array", "items": PROPOSAL,
                                          "description": "草稿与上一版本之间待确认的对应关系（已发布版本为空）"}}}
RESOLVE = {"type": "object", "required": ["proposal", "decision"],
           "properties": {"proposal": {"type": "string", "description": "建议的 id（上一版本的字段键）"},
                          "decision": {"enum": ["accept", "dismiss"],
                                       "description": "accept：采用建议；dismiss：确认不对应（或口径未变）"},
                          "expected_hash": {"type": "string", "description": "所基于的 content_hash，不一致时 409"}}}
PROCESS = {"type": "object", "required": ["id", "code", "version", "status", "bpmn", "problems"],
           "properties": {**VERSION_FIELDS, **CHECKED_PROPERTIES, "bpmn": {"type": "string"}}}
CHECK = {"type": "object", "required": ["ok", "problems"], "properties": CHECKED_PROPERTIES}
NOTE = {"type": "object", "required": ["change_note"],
        "properties": {"change_note": {"type": "string", "minLength": 1, "description": "变更/停用说明"}}}
PUBLISHED = {"type": "object", "required": ["id", "code", "version", "status"], "properties": VERSION_FIELDS}
CREATE_INDICATOR = {
    "type": "object", "required": ["code"],
    "properties": {"code": {"type": "string", "pattern": "^[a-z][a-z0-9_]{1,62}$"},
                   "start": {"enum": ["latest", "scratch"], "default": "latest",
                             "description": "基于最新发布版，或从空白开始"},
                   "title": {"type": "string"}},
}
OPERATION = {"type": "object", "required": ["op"],
             "properties": {"op": {"enum": sorted(OPERATIONS)}}, "additionalProperties": True,
             "description": "结构化编辑操作；参数见 engine/draft_edits.py（如 add_field: parent, name, title, type …）"}
UPDATE_INDICATOR = {
    "type": "object",
    "properties": {"content": {"type": "object", "description": "完整定义（JSON 编辑）"},
                   "operations": {"type": "array", "items": OPERATION},
                   "expected_hash": {"type": "string", "description": "编辑所基于的 content_hash，不一致时 409"}},
    "oneOf": [{"required": ["content"]}, {"required": ["operations"]}],
}
UPLOAD_PROCESS = {"type": "object", "required": ["bpmn"],
                  "properties": {"bpmn": {"type": "string", "description": "BPMN 2.0 XML（UTF-8）"},
                                 "code": {"type": "string", "description": "默认取 process id"}}}
UPDATE_PROCESS = {"type": "object", "required": ["bpmn"], "properties": {"bpmn": {"type": "string"}}}
ITEM = {"type": "object", "properties": {"key": {"type": "string"}, "title": {"type": "string"},
                                         "status": {"enum": ["added", "removed", "changed"]},
                                         "changes": {"type": "array", "items": {"type": "object"}}}}
INDICATOR_DIFF = {
    "type": "object", "required": ["from_version", "to_version", "fields", "rules", "mappings", "proposals"],
    "properties": {"from_version": {"type": "integer"}, "to_version": {"type": "integer"},
                   "fields": {"type": "array", "items": ITEM}, "rules": {"type": "array", "items": ITEM},
                   "mappings": {"type": "array", "items": {"type": "object"}},
                   "proposals": {"type": "array", "items": PROPOSAL}},
}
PROCESS_DIFF = {"type": "object", "required": ["steps", "flows"],
                "properties": {"steps": {"type": "array", "items": ITEM}, "flows": {"type": "array", "items": ITEM}}}
DIFF_QUERY = [query_param("from", {"type": "integer"}, required=True, description="较早版本的 id"),
              query_param("to", {"type": "integer"}, required=True, description="较新版本的 id")]


def problem_json(p: Problem) -> dict[str, Any]:
    ref = p.definition
    return {"code": p.code, "message": p.message, "file": ref.file if ref else None,
            "pointer": ref.pointer if ref and not ref.element_id else None,
            "element_id": ref.element_id if ref else None, "severity": p.severity}


def _time(value: Any) -> str | None:
    return value.isoformat() if value else None


def _summary(use: drafts.VersionUse) -> dict[str, Any]:
    row = use.row
    return {"id": row.id, "code": row.code, "version": row.version, "title": row.title, "status": row.status,
            "content_hash": row.content_hash, "change_note": row.change_note,
            "created_at": _time(row.created_at), "published_at": _time(row.published_at),
            "collections": [{"id": c.id, "title": c.title, "period": c.period} for c in use.collections],
            "submissions": use.submissions}


def _use(kind: str, row: drafts.Row) -> drafts.VersionUse:
    uses = drafts.catalogue(db(), kind).get(row.code, [])
    return next((u for u in uses if u.row.id == row.id), drafts.VersionUse(row, (), 0))


def _full(kind: str, checked: drafts.Checked) -> dict[str, Any]:
    body = _summary(_use(kind, checked.row))
    body.update(ok=checked.ok, problems=[problem_json(p) for p in checked.problems])
    if kind == "indicator_set":
        body["content"] = checked.row.content
        body["proposals"] = [p.to_json() for p in drafts.indicator_proposals(db(), checked.row)]
    else:
        body["bpmn"] = checked.row.bpmn
    return body


def _json() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("请求体必须是 JSON 对象")
    return body


def _actor() -> int:
    return current_principal().user_id


def _pair(kind: str) -> tuple[drafts.Row, drafts.Row]:
    ids = [request.args.get(name, type=int) for name in ("from", "to")]
    if None in ids:
        raise BadInput("请用 from 和 to 指定要比较的两个版本 id")
    old, new = (drafts.get_version(db(), kind, i) for i in ids)
    if old.code != new.code:
        raise BadInput("只能比较同一定义的两个版本")
    return old, new


# --- indicator sets ------------------------------------------------------------------------------


@_route("/definitions/indicator-sets", summary="全部指标集版本（含草稿、停用）及其使用情况", tags=TAGS,
        response=LIST)
@login_required
def list_indicator_versions():
    uses = drafts.catalogue(db(), "indicator_set")
    return jsonify({"items": [_summary(u) for versions in uses.values() for u in versions]})


@_route("/definitions/indicator-sets", "POST", summary="新建指标集草稿（基于最新发布版或从空白开始）",
        tags=TAGS, request=CREATE_INDICATOR, response=INDICATOR, status=201, errors=(400, 409))
@login_required
def create_indicator_draft():
    body = _json()
    checked = drafts.create_indicator_draft(db(), str(body.get("code", "")), start=body.get("start", "latest"),
                                            title=body.get("title"), actor_id=_actor())
    db().commit()
    return jsonify(_full("indicator_set", checked)), 201


@_route("/definitions/indicator-sets/diff", summary="比较指标集的两个版本（字段、规则、映射与映射建议）",
        tags=TAGS, query=DIFF_QUERY, response=INDICATOR_DIFF, errors=(400, 404, 422))
@login_required
def diff_indicator_versions():
    old, new = _pair("indicator_set")
    return jsonify(diff_indicator_sets(drafts.preview_model(db(), old), drafts.preview_model(db(), new)).to_json())


@_route("/definitions/indicator-sets/<int:version_id>", summary="一个指标集版本：定义与检查结果", tags=TAGS,
        response=INDICATOR, errors=(404,))
@login_required
def get_indicator_version(version_id: int):
    return jsonify(_full("indicator_set", drafts.check_version(db(), "indicator_set", version_id)))


@_route("/definitions/indicator-sets/<int:version_id>", "PUT",
        summary="修改草稿：完整定义（content）或结构化操作（operations）；有错误也会保存并列出",
        tags=TAGS, request=UPDATE_INDICATOR, response=INDICATOR, errors=(400, 404, 409))
@login_required
def update_indicator_draft(version_id: int):
    body = _json()
    operations = body.get("operations")
    if operations is not None and not (isinstance(operations, list) and all(isinstance(o, dict) for o in operations)):
        raise BadInput("operations 必须是操作对象的数组")
    checked = drafts.update_indicator_draft(db(), version_id, content=body.get("content"), operations=operations,
                                            expected_hash=body.get("expected_hash"), actor_id=_actor())
    db().commit()
    return jsonify(_full("indicator_set", checked))


@_route("/definitions/indicator-sets/<int:version_id>", "DELETE", summary="删除未发布的草稿", tags=TAGS,
        status=204, errors=(404, 409))
@login_required
def discard_indicator_draft(version_id: int):
    drafts.discard_draft(db(), "indicator_set", version_id, actor_id=_actor())
    db().commit()
    return "", 204


@_route("/definitions/indicator-sets/<int:version_id>/check", "POST",
        summary="用与 grassroots definitions check 相同的检查器检查", tags=TAGS, response=CHECK, errors=(404,))
@login_required
def check_indicator_version(version_id: int):
    checked = drafts.check_version(db(), "indicator_set", version_id)
    return jsonify({"ok": checked.ok, "problems": [problem_json(p) for p in checked.problems]})


@_route("/definitions/indicator-sets/<int:version_id>/proposals", "POST",
        summary="处理一项待确认的对应关系：采用建议（accept）或确认不对应（dismiss），写入草稿的 x-mappings 并记入审计日志",
        tags=TAGS, request=RESOLVE, response=INDICATOR, errors=(400, 404, 409))
@login_required
def resolve_indicator_proposal(version_id: int):
    body = _json()
    checked = drafts.resolve_proposal(db(), version_id, str(body["proposal"]), str(body["decision"]),
                                      expected_hash=body.get("expected_hash"), actor_id=_actor())
    db().commit()
    return jsonify(_full("indicator_set", checked))


@_route("/definitions/indicator-sets/<int:version_id>/publish", "POST",
        summary="发布草稿（此后不可修改）；有错误或待确认的对应关系时 422，details.problems 与 details.proposals 逐项列出",
        tags=TAGS, request=NOTE, response=PUBLISHED, errors=(400, 404, 409, 422))
@login_required
def publish_indicator_draft(version_id: int):
    drafts.publish_draft(db(), "indicator_set", version_id, change_note=_json().get("change_note"),
                         actor_id=_actor())
    db().commit()
    return jsonify(_summary(_use("indicator_set", drafts.get_version(db(), "indicator_set", version_id))))


@_route("/definitions/indicator-sets/<int:version_id>/retire", "POST",
        summary="停用已发布版本（不再用于新的采集任务）", tags=TAGS, request=NOTE, response=PUBLISHED,
        errors=(400, 404, 409))
@login_required
def retire_indicator_version(version_id: int):
    drafts.retire_version(db(), "indicator_set", version_id, change_note=_json().get("change_note"),
                          actor_id=_actor())
    db().commit()
    return jsonify(_summary(_use("indicator_set", drafts.get_version(db(), "indicator_set", version_id))))


@_route("/definitions/indicator-sets/<int:version_id>/export", summary="导出为 definitions/ 下的文件",
        tags=TAGS, response={"type": "object"}, errors=(404,))
@login_required
def export_indicator_version(version_id: int):
    return export_response("indicator_set", drafts.get_version(db(), "indicator_set", version_id))


# --- processes -----------------------------------------------------------------------------------


@_route("/definitions/processes", summary="全部流程版本（含草稿、停用）及其使用情况", tags=TAGS, response=LIST)
@login_required
def list_process_versions():
    uses = drafts.catalogue(db(), "process")
    return jsonify({"items": [_summary(u) for versions in uses.values() for u in versions]})


@_route("/definitions/processes", "POST", summary="上传 BPMN 文件作为新草稿（已有草稿则替换其内容）",
        tags=TAGS, request=UPLOAD_PROCESS, response=PROCESS, status=201, errors=(400,))
@login_required
def upload_process_draft():
    body = _json()
    checked = drafts.upload_process_draft(db(), str(body.get("bpmn", "")).encode("utf-8"), code=body.get("code"),
                                          actor_id=_actor())
    db().commit()
    return jsonify(_full("process", checked)), 201


@_route("/definitions/processes/diff", summary="比较流程的两个版本（步骤与连线的增删改）", tags=TAGS,
        query=DIFF_QUERY, response=PROCESS_DIFF, errors=(400, 404))
@login_required
def diff_process_versions():
    old, new = _pair("process")
    return jsonify(diff_processes(old.bpmn.encode("utf-8"), new.bpmn.encode("utf-8")).to_json())


@_route("/definitions/processes/<int:version_id>", summary="一个流程版本：BPMN 与检查结果（按元素 id）",
        tags=TAGS, response=PROCESS, errors=(404,))
@login_required
def get_process_version(version_id: int):
    return jsonify(_full("process", drafts.check_version(db(), "process", version_id)))


@_route("/definitions/processes/<int:version_id>", "PUT", summary="替换流程草稿的 BPMN", tags=TAGS,
        request=UPDATE_PROCESS, response=PROCESS, errors=(400, 404, 409))
@login_required
def update_process_draft(version_id: int):
    checked = drafts.update_process_draft(db(), version_id, str(_json().get("bpmn", "")).encode("utf-8"),
                                          actor_id=_actor())
    db().commit()
    return jsonify(_full("process", checked))


@_route("/definitions/processes/<int:version_id>", "DELETE", summary="删除未发布的流程草稿", tags=TAGS,
        status=204, errors=(404, 409))
@login_required
def discard_process_draft(version_id: int):
    drafts.discard_draft(db(), "process", version_id, actor_id=_actor())
    db().commit()
    return "", 204


@_route("/definitions/processes/<int:version_id>/check", "POST", summary="检查流程（与命令行相同，按元素 id）",
        tags=TAGS, response=CHECK, errors=(404,))
@login_required
def check_process_version(version_id: int):
    checked = drafts.check_version(db(), "process", version_id)
    return jsonify({"ok": checked.ok, "problems": [problem_json(p) for p in checked.problems]})


@_route("/definitions/processes/<int:version_id>/publish", "POST", summary="发布流程草稿（此后不可修改）",
        tags=TAGS, request=NOTE, response=PUBLISHED, errors=(400, 404, 409, 422))
@login_required
def publish_process_draft(version_id: int):
    drafts.publish_draft(db(), "process", version_id, change_note=_json().get("change_note"), actor_id=_actor())
    db().commit()
    return jsonify(_summary(_use("process", drafts.get_version(db(), "process", version_id))))


@_route("/definitions/processes/<int:version_id>/retire", "POST", summary="停用已发布的流程版本", tags=TAGS,
        request=NOTE, response=PUBLISHED, errors=(400, 404, 409))
@login_required
def retire_process_version(version_id: int):
    drafts.retire_version(db(), "process", version_id, change_note=_json().get("change_note"), actor_id=_actor())
    db().commit()
    return jsonify(_summary(_use("process", drafts.get_version(db(), "process", version_id))))


@_route("/definitions/processes/<int:version_id>/diagram.svg", summary="流程图（SVG，按 BPMN 自带的图形信息绘制）",
        tags=TAGS, query=[query_param("highlight", {"type": "string"}, description="要突出显示的元素 id，逗号分隔")],
        response={"type": "string"}, content_type="image/svg+xml", errors=(400, 404))
@login_required
def process_diagram(version_id: int):
    row = drafts.get_version(db(), "process", version_id)
    highlight = [i for i in (request.args.get("highlight") or "").split(",") if i]
    return Response(render_svg(row.bpmn.encode("utf-8"), highlight), mimetype="image/svg+xml")


@_route("/definitions/processes/<int:version_id>/export", summary="导出为 definitions/ 下的 BPMN 文件",
        tags=TAGS, response={"type": "string"}, content_type="application/xml", errors=(404,))
@login_required
def export_process_version(version_id: int):
    return export_response("process", drafts.get_version(db(), "process", version_id))


def export_response(kind: str, row: drafts.Row) -> Response:
    """The version as the file ``grassroots definitions export`` writes (attachment named by its path)."""
    text, mimetype = drafts.export_text(row)
    filename = drafts.source_of(row).rsplit("/", 1)[-1]
    resp = Response(text, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["X-Definition-Path"] = drafts.KINDS[kind].source.format(code=row.code, version=row.version)
    return resp
