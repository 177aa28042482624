"""Exports and roster queries over the API: ``GET …/export`` (streamed file), ``POST …/roster-query``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from flask import Response, current_app, jsonify, request
from sqlalchemy.orm import Session

from api.registry import api, query_param
from engine.errors import BadInput
from engine.exports import DEFAULT_APPROVED_AT, FORMATS, format_for, parse_level, plan_export, record_export
from engine.roles import Level
from engine.rosters import RosterResult, count_rows
from web.auth import current_principal, login_required
from web.db import EXTENSION_KEY, db
from web.params import bool_param, unit_param

_LEVEL_TEXT = {"type": "string", "description": "层级：township/county/city/province，或 4/3/2/1，或 乡镇/县/市/省"}

EXPORT_QUERY = [
    query_param("format", {"type": "string", "enum": sorted(FORMATS), "default": "xlsx"}, description="文件格式"),
    query_param("org_unit", {"type": "string", "pattern": "^[0-9]{12}$"},
                description="导出哪个单位的下辖数据（默认为采集范围）"),
    query_param("table", {"type": "string"}, description="只导出一个表：明细表（重复行）的键，如 elders。CSV 默认主表，XLSX 默认全部表"),
    query_param("approved_at", _LEVEL_TEXT,
                description="审核层级：状态为“终审通过”，或已由该层级（或更高层级）审核通过的数据；默认乡镇"),
    query_param("all_units", {"type": "boolean"}, description="列出范围内全部单位及其状态（未审核单位不含数据）"),
]

ROSTER_REQUEST = {
    "type": "object",
    "required": ["array_key", "condition"],
    "properties": {
        "array_key": {"type": "string", "description": "明细表（重复行）的键，如 elders"},
        "condition": {"type": "string", "description": "条件表达式，如 age(birth_date, date(\"2026-10-29\")) >= 90"},
        "group_level": _LEVEL_TEXT,
        "org_unit": {"type": "string", "pattern": "^[0-9]{12}$"},
        "approved_at": _LEVEL_TEXT,
        "list": {"type": "boolean", "description": "同时返回符合条件的行（仅限可查看个人信息的角色）"},
    },
}

ROSTER_RESPONSE = {
    "type": "object",
    "required": ["array_key", "condition", "group_level", "org_unit", "total", "groups", "rows_allowed"],
    "properties": {
        "array_key": {"type": "string"},
        "condition": {"type": "string"},
        "group_level": {"type": "integer"},
        "org_unit": {"type": "string"},
        "total": {"type": "integer"},
        "groups": {"type": "array", "items": {"type": "object", "required": ["code", "name", "count"], "properties": {
            "code": {"type": "string"}, "name": {"type": "string"}, "count": {"type": "integer"},
            "rows": {"type": "integer"}, "units": {"type": "integer"}, "approved_units": {"type": "integer"}}}},
        "rows_allowed": {"type": "boolean"},
        "rows": {"type": ["array", "null"], "items": {"type": "object"}},
        "truncated": {"type": "boolean"},
    },
}


def content_disposition(filename: str, fallback: str) -> str:
    """RFC 6266: an ASCII name for old clients, the Chinese one as ``filename*`` (RFC 5987)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _streamed(make_body: Callable[[Session], Iterator[bytes]]) -> Iterator[bytes]:
    """Chunks read from a session of their own, closed when the download ends or is abandoned.

    A streamed body is iterated after the request's teardown has closed ``db()``, so it cannot use it.
    The first chunk is produced here, inside the view: a failure before any byte is sent (for XLSX,
    while the workbook is written) still becomes a Chinese error response, not a cut-off download.
    """
    session: Session = current_app.extensions[EXTENSION_KEY]()
    body = make_body(session)
    try:
        first = next(body)
    except BaseException:
        session.close()
        raise

    def chunks() -> Iterator[bytes]:
        try:
            yield first
            yield from body
        finally:
            body.close()  # type: ignore[attr-defined]
            session.close()

    return chunks()


@api.route("/collections/<int:id>/export", summary="导出已审核数据（XLSX 或 CSV，流式下载）", tags=["exports"],
           query=EXPORT_QUERY, response={"type": "string", "format": "binary"}, errors=(400, 404),
           content_type=tuple(f.content_type for f in FORMATS.values()))
@login_required
def export_collection(id: int):
    args = request.args
    fmt = format_for(args.get("format"))
    table = args.get("table") or None
    plan = plan_export(
        db(), current_principal(), id, unit_param(args),
        approved_at=parse_level(args.get("approved_at"), DEFAULT_APPROVED_AT, "审核层级"),
        all_units=bool_param(args, "all_units"),
    )
    chosen = plan.table(table)
    record_export(db(), plan, fmt.code, table)
    db().commit()
    body = _streamed(lambda session: fmt.chunks(session, plan, table, None))
    resp = Response(body, content_type=fmt.content_type)
    resp.headers["Content-Disposition"] = content_disposition(
        plan.filename(fmt.extension, chosen), plan.ascii_filename(fmt.extension))
    return resp


def roster_json(result: RosterResult) -> dict[str, Any]:
    return {
        "array_key": result.array_key,
        "condition": result.condition,
        "group_level": result.group_level,
        "org_unit": result.root_code,
        "total": result.total,
        "groups": [vars(g) for g in result.groups],
        "rows_allowed": result.rows_allowed,
        "rows": None if result.rows is None else [
            {"submission_id": r.submission_id, "org_code": r.org_code, "unit_name": r.unit_name,
             "index": r.index, "values": r.values}
            for r in result.rows
        ],
        "truncated": result.truncated,
    }


@api.route("/collections/<int:id>/roster-query", "POST", summary="按条件统计明细表（花名册）行数，按单位分组",
           tags=["exports"], request=ROSTER_REQUEST, response=ROSTER_RESPONSE, errors=(400, 404))
@login_required
def roster_query(id: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("请求体应为 JSON 对象")
    result = count_rows(
        db(), current_principal(), id, str(body.get("array_key") or ""), str(body.get("condition") or ""),
        body.get("group_level") or Level.TOWNSHIP, body.get("org_unit") or None,
        list_rows=bool(body.get("list")),
        approved_at=parse_level(body.get("approved_at"), DEFAULT_APPROVED_AT, "审核层级"),
    )
    return jsonify(roster_json(result))
