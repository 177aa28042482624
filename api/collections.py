"""Collections API: list with completeness, launch, completeness and roll-ups of any unit in scope.

Scope: a unit outside the caller's subtrees reads as 404 (no hint that it exists); launching needs the
province administrator. Roll-ups contain approved figures only; sensitive fields are left out for
callers who may not read them (department viewers).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from flask import Response, jsonify, request
from sqlalchemy import select

from api.exports import content_disposition
from api.registry import LAUNCHING, api, query_param
from engine.collections import start_collection
from engine.completeness import (
    Counts,
    completeness,
    default_unit,
    get_collection,
    require_unit,
    visible_collections_clause,
)
from engine.db.models import Collection, OrgUnit
from engine.errors import BadInput
from engine.exports import FORMATS, format_for
from engine.exports.comparison import (
    comparison_ascii_filename,
    comparison_filename,
    comparison_sheets,
    record_comparison_export,
)
from engine.publishing import find_indicator_set_version, find_process_version
from engine.rollups import (
    STAGES,
    Comparison,
    compare_units,
    json_number,
    parse_level,
    previous_collection,
    rollup_report,
)
from web.auth import current_principal, login_required
from web.db import db
from web.params import id_param, unit_param

COUNTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["org_code", "name", "expected", "final", "overdue", "on_time"],
    "properties": {
        "org_code": {"type": "string"}, "name": {"type": "string"}, "level": {"type": "integer"},
        "expected": {"type": "integer"}, "not_started": {"type": "integer"}, "draft": {"type": "integer"},
        "submitted": {"type": "integer"}, "returned": {"type": "integer"}, "approved": {"type": "integer"},
        "final": {"type": "integer"}, "overdue": {"type": "integer"}, "on_time": {"type": "integer"},
        "final_rate": {"type": ["number", "null"]}, "on_time_rate": {"type": ["number", "null"]},
    },
}
COLLECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "period", "status", "scope_org_code", "deadline"],
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "period": {"type": "string"},
        "status": {"type": "string"}, "indicator_set": {"type": "object"}, "process": {"type": "object"},
        "scope_org_code": {"type": "string"}, "reporting_level": {"type": "integer"},
        "opens_on": {"type": "string", "format": "date"}, "deadline": {"type": "string", "format": "date"},
        "completeness": {"anyOf": [COUNTS_SCHEMA, {"type": "null"}],
                         "description": "采集范围上的完成情况（发起采集任务的回答中为 null）"},
    },
}
LAUNCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["title", "indicator_set", "process", "period", "scope_org_code", "opens_on", "deadline"],
    "properties": {
        "title": {"type": "string"},
        "indicator_set": {"type": "string", "description": "指标集代码"},
        "indicator_set_version": {"type": "integer", "description": "缺省为最新发布版本"},
        "process": {"type": "string", "description": "流程代码"},
        "process_version": {"type": "integer"},
        "period": {"type": "string"},
        "scope_org_code": {"type": "string"},
        "reporting_level": {"type": ["string", "integer"], "description": "village 等，缺省 village"},
        "opens_on": {"type": "string", "format": "date"},
        "deadline": {"type": "string", "format": "date"},
        "confirm_overlap": {
            "type": "boolean", "default": False,
            "description": "确认重复发起：同一指标集（任何版本）、同一期别已有未关闭的采集任务覆盖该范围或其上下级时，"
                           "不带 true 的请求被拒绝（409，error.code 为 overlapping_collection，"
                           "details.overlapping 列出这些采集任务）；带 true 则照常发起，审计日志记下已确认",
        },
    },
}
OVERLAP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "title": {"type": "string"},
                   "indicator_set_version": {"type": "integer"}, "scope_org_code": {"type": "string"},
                   "scope_name": {"type": "string"}},
}
LAUNCHED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["collection", "created", "submissions", "prefilled", "warnings", "overlapping"],
    "properties": {
        "collection": COLLECTION_SCHEMA, "created": {"type": "boolean"},
        "submissions": {"type": "integer"}, "prefilled": {"type": "integer"},
        "warnings": {"type": "array", "items": {"type": "string"},
                     "description": "提醒（不影响发起），如所选指标集版本不是最新发布的版本"},
        "overlapping": {"type": "array", "items": OVERLAP_SCHEMA,
                        "description": "经 confirm_overlap 确认后仍发起时，与之范围重叠的未关闭采集任务"},
    },
}
FIGURE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"key": {"type": "string"}, "section": {"type": "string"}, "label": {"type": "string"},
                   "unit": {"type": ["string", "null"]}, "aggregate": {"type": "string"}},
}
ROLLUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["collection_id", "stage", "stage_description", "figures", "unit"],
    "properties": {
        "collection_id": {"type": "integer"}, "stage": {"type": "string"},
        "stage_description": {"type": "string"},
        "figures": {"type": "array", "items": FIGURE_SCHEMA},
        "unit": {"type": "object"},
        "breakdown_level": {"type": ["integer", "null"]},
        "breakdown": {"type": "array", "items": {"type": "object"}},
    },
}
_NUMBER = {"type": ["number", "null"]}
COMPARISON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["collection_id", "previous_collection_id", "stage", "org_code", "units_included",
                 "previous_units_included", "units_note", "rows"],
    "properties": {
        "collection_id": {"type": "integer"}, "previous_collection_id": {"type": "integer"},
        "stage": {"type": "string"}, "stage_description": {"type": "string"},
        "org_code": {"type": "string"}, "name": {"type": "string"},
        "units_included": {"type": "integer", "description": "本期纳入汇总的单位数"},
        "previous_units_included": {"type": "integer", "description": "对比期纳入汇总的单位数"},
        "units_note": {"type": ["string", "null"], "description": "两期单位数不同时的提示"},
        "rows": {"type": "array", "items": {
            "type": "object",
            "required": ["key", "label", "current", "previous", "comparable", "change"],
            "properties": {"key": {"type": "string"}, "section": {"type": "string"}, "label": {"type": "string"},
                           "unit": {"type": ["string", "null"]}, "current": _NUMBER, "previous": _NUMBER,
                           "comparable": {"type": "boolean"}, "note": {"type": ["string", "null"]},
                           "old_keys": {"type": "array", "items": {"type": "string"}}, "change": _NUMBER},
        }},
    },
}
ORG_PARAM = query_param("org_unit", {"type": "string", "pattern": "^[0-9]{12}$"},
                        description="单位区划代码；缺省为调用者可见的最大范围")
STAGE_PARAM = query_param("stage", {"type": "string", "enum": list(STAGES)},
                          description="approved：含流程中第一个审核环节（如乡镇）及以上审核通过的单位；"
                                      "final：仅审批流程已结束（最后一个审核环节终审通过）的单位。"
                                      "口径按该采集任务的审批流程命名，见返回的 stage_description")


def _collection_json(c: Collection, counts: Counts | None) -> dict[str, Any]:
    return {
        "id": c.id, "title": c.title, "period": c.period, "status": c.status,
        "indicator_set": {"code": c.indicator_set_version.code, "version": c.indicator_set_version.version},
        "process": {"code": c.process_version.code, "version": c.process_version.version},
        "scope_org_code": c.scope_org_code, "reporting_level": c.reporting_level,
        "opens_on": c.opens_on.isoformat(), "deadline": c.deadline.isoformat(),
        "completeness": counts.as_json() if counts is not None else None,
    }


def _unit_param(collection: Collection) -> str:
    principal = current_principal()
    code = unit_param(request.args) or default_unit(principal, collection)
    require_unit(principal, code)
    return code


@api.route("/collections", summary="采集任务列表（含完成情况汇总）", tags=["collections"],
           response={"type": "object", "properties": {"collections": {"type": "array", "items": COLLECTION_SCHEMA}}})
@login_required
def list_collections():
    principal = current_principal()
    session = db()
    out = []
    for c in session.scalars(select(Collection).where(visible_collections_clause(principal))
                             .order_by(Collection.id.desc())):
        summary = completeness(session, c, default_unit(principal, c), with_children=False).unit
        out.append(_collection_json(c, summary))
    return jsonify({"collections": out})


def _date(body: Mapping[str, Any], name: str, label: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(body.get(name) or ""))
    except ValueError:
        raise BadInput(f"{label}格式应为 YYYY-MM-DD", data_path=name) from None


@api.route("/collections", "POST", summary="发起采集任务（省级管理员）", tags=["collections"],
           request=LAUNCH_SCHEMA, response=LAUNCHED_SCHEMA, status=201, also=(200,), errors=(400, 404, 409),
           needs=LAUNCHING)
@login_required
def create_collection():
    principal = current_principal()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("请求体应为 JSON 对象")
    session = db()
    ind = find_indicator_set_version(session, str(body.get("indicator_set") or ""),
                                     id_param(body, "indicator_set_version"))
    proc = find_process_version(session, str(body.get("process") or ""), id_param(body, "process_version"))
    started = start_collection(
        session, title=str(body.get("title") or ""), indicator_set_version_id=ind.id, process_version_id=proc.id,
        period=str(body.get("period") or ""), scope_org_code=str(body.get("scope_org_code") or ""),
        opens_on=_date(body, "opens_on", "开始日期"), deadline=_date(body, "deadline", "截止日期"),
        reporting_level=parse_level(body.get("reporting_level")) or 5, actor_id=principal.user_id,
        confirm_overlap=body.get("confirm_overlap") is True,  # only an explicit true (its type is checked)
    )
    session.commit()
    payload = {"collection": _collection_json(started.collection, None), "created": started.created,
               "submissions": started.submissions, "prefilled": started.prefilled, "warnings": started.warnings,
               "overlapping": [o.as_json() for o in started.overlapping]}
    return jsonify(payload), 201 if started.created else 200


@api.route("/collections/<int:collection_id>/completeness", summary="某单位及其下级的完成情况",
           tags=["collections"], query=[ORG_PARAM, query_param("today", {"type": "string", "format": "date"})],
           response={"type": "object", "properties": {
               "unit": COUNTS_SCHEMA, "children": {"type": "array", "items": COUNTS_SCHEMA},
               "status_labels": {"type": "object", "additionalProperties": {"type": "string"},
                                 "description": "各状态列的名称，按该采集任务的审批流程命名"
                                                "（如 final：县级终审通过 或 市级终审通过）"}}},
           errors=(400, 404))
@login_required
def collection_completeness(collection_id: int):
    session = db()
    collection = get_collection(session, current_principal(), collection_id)
    code = _unit_param(collection)
    today = _date(request.args, "today", "日期") if request.args.get("today") else None
    report = completeness(session, collection, code, today=today)
    return jsonify({
        "collection_id": collection.id, "deadline": collection.deadline.isoformat(),
        "today": report.today.isoformat(), "deadline_passed": report.deadline_passed,
        "definitions": {
            "overdue": "截止日期已过仍未终审通过，或其任务已被标记逾期",
            "on_time": "在截止日（北京时间）结束前终审通过；按时率 = 按时终审数 / 应报数",
        },
        "status_labels": dict(report.statuses),
        "unit": report.unit.as_json(), "child_level": report.child_level,
        "children": [c.as_json() for c in report.children],
    })


def _figures_json(values: dict[str, Any]) -> dict[str, Any]:
    return {k: json_number(v) for k, v in values.items()}


@api.route("/collections/<int:collection_id>/rollups", summary="某单位的汇总数（可按下级层级分组）",
           tags=["collections"],
           query=[ORG_PARAM, STAGE_PARAM,
                  query_param("level", {"type": "string"}, description="分组层级：city、county、township、village"),
                  query_param("key", {"type": "array", "items": {"type": "string"}},
                              description="只返回这些指标（可重复：key=a&key=b）")],
           response=ROLLUP_SCHEMA, errors=(400, 404))
@login_required
def collection_rollups(collection_id: int):
    session = db()
    principal = current_principal()
    collection = get_collection(session, principal, collection_id)
    code = _unit_param(collection)
    report = rollup_report(session, collection, code, stage=request.args.get("stage"),
                           level=parse_level(request.args.get("level")), keys=request.args.getlist("key") or None,
                           principal=principal)
    unit = report.unit
    return jsonify({
        "collection_id": collection.id, "stage": report.stage.code, "stage_description": report.stage.description,
        "figures": [{"key": f.key, "section": f.section, "label": f.label, "unit": f.unit,
                     "aggregate": f.aggregate} for f in report.figures],
        "unit": {"org_code": unit.code, "name": unit.name, "level": unit.level,
                 "units_included": unit.units_included, "values": _figures_json(unit.values)},
        "breakdown_level": report.breakdown_level,
        "breakdown": [{"org_code": u.code, "name": u.name, "units_included": u.units_included,
                       "submission_id": u.submission_id, "values": _figures_json(u.values)}
                      for u in report.breakdown],
    })


def _comparison(collection_id: int) -> tuple[Comparison, str]:
    """The comparison asked for and its unit's name, read by the caller's rules: the JSON answer and the
    files are the same figures."""
    session = db()
    principal = current_principal()
    current = get_collection(session, principal, collection_id)
    chosen = id_param(request.args, "with")
    if chosen is None:
        raise BadInput("请用 with 参数指定对比期采集任务", data_path="with")
    code = _unit_param(current)
    other = previous_collection(session, principal, current, code, chosen)
    assert other is not None  # chosen: found or refused
    result = compare_units(session, current.id, other.id, code, stage=request.args.get("stage"), principal=principal)
    unit = session.get(OrgUnit, code)
    return result, unit.name if unit else code


COMPARISON_QUERY = [query_param("with", {"type": "integer"}, required=True, description="对比期采集任务编号"),
                    ORG_PARAM, STAGE_PARAM]


@api.route("/collections/<int:collection_id>/comparison", summary="与另一期采集按指标对比（跨版本映射）",
           tags=["collections"], query=COMPARISON_QUERY, response=COMPARISON_SCHEMA, errors=(400, 404))
@login_required
def collection_comparison(collection_id: int):
    result, name = _comparison(collection_id)
    current, other, code = result.current, result.previous, result.org_code
    return jsonify({
        "collection_id": current.id, "previous_collection_id": other.id, "stage": result.stage.code,
        "stage_description": result.stage.description, "org_code": code, "name": name,
        "units_included": result.units, "previous_units_included": result.previous_units,
        "units_note": result.units_note,
        "rows": [{"key": r.key, "section": r.section, "label": r.label, "unit": r.unit,
                  "current": json_number(r.current), "previous": json_number(r.previous),
                  "comparable": r.comparable, "note": r.note, "old_keys": list(r.old_keys),
                  "change": json_number(r.change)} for r in result.rows],
    })


@api.route("/collections/<int:collection_id>/comparison/export",
           summary="下载与另一期的对比表（CSV 或 XLSX）：指标、计量单位、本期、对比期、增减、增减%、说明",
           tags=["collections", "exports"],
           query=[*COMPARISON_QUERY,
                  query_param("format", {"type": "string", "enum": sorted(FORMATS), "default": "xlsx"},
                              description="文件格式；XLSX 另有一张“说明”工作表（单位、两期、口径、单位数）")],
           response={"type": "string", "format": "binary"}, errors=(400, 404),
           content_type=tuple(f.content_type for f in FORMATS.values()))
@login_required
def collection_comparison_export(collection_id: int):
    fmt = format_for(request.args.get("format"))
    result, name = _comparison(collection_id)
    body = fmt.sheets_bytes(comparison_sheets(result, name))
    record_comparison_export(db(), current_principal(), result, fmt.code)
    db().commit()
    resp = Response(body, content_type=fmt.content_type)
    resp.headers["Content-Disposition"] = content_disposition(
        comparison_filename(result, name, fmt.extension), comparison_ascii_filename(result, fmt.extension))
    return resp
